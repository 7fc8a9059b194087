package models

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
	"gorm.io/gorm"
)

// DRF's messages, so API clients written for the original keep working.
const (
	msgRequired = "This field is required."
	msgBlank    = "This field may not be blank."
	msgEmail    = "Enter a valid email address."
	msgPhone    = "Enter a valid phone number (digits, spaces and + - ( ) only)."
	// MsgDateFormat is DRF's message for a date that does not parse.
	MsgDateFormat = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
)

// MsgRequired is DRF's message for a required field left out.
func MsgRequired() string { return msgRequired }

func msgMaxLen(n int) string {
	return fmt.Sprintf("Ensure this field has no more than %d characters.", n)
}

// longestText is the most characters any text field holds (a patient's
// medical history).
const longestText = 10000

// msgNullCharacters is DRF's ProhibitNullCharactersValidator's message.
const msgNullCharacters = "Null characters are not allowed."

// Messages for characters a text field refuses.
const (
	msgControlCharacters = "Control characters are not allowed."
	msgHiddenCharacters  = "Invisible formatting characters are not allowed."
)

// checkText validates a trimmed multi-line string (an address, a medical
// history, notes): required means not blank; max counts code points, not
// bytes; control characters other than tab and line breaks are refused.
func checkText(f FieldErrors, field, value string, required bool, max int) {
	checkChars(f, field, value, required, max, false)
}

// checkLine is checkText for a one-line value that names someone or
// something (a name, a specialization, an email), which staff read in
// lists, pickers and the audit log: no control characters at all, and no
// invisible characters that reorder or hide text (hiddenFormatting), so
// one account cannot be made to look like another
// ("su\u200b@clinic.example").
func checkLine(f FieldErrors, field, value string, required bool, max int) {
	checkChars(f, field, value, required, max, true)
}

func checkChars(f FieldErrors, field, value string, required bool, max int, line bool) {
	if required && value == "" {
		f.Add(field, msgBlank)
		return
	}
	// DRF's ProhibitNullCharactersValidator; PostgreSQL refuses NUL in text.
	if strings.ContainsRune(value, 0) {
		f.Add(field, msgNullCharacters)
		return
	}
	// The API's JSON and the panel's forms read such bytes as U+FFFD; a
	// caller that did not would get PostgreSQL's error as a 500.
	if !utf8.ValidString(value) {
		f.Add(field, "Enter valid UTF-8 text.")
		return
	}
	// The length before the characters: a value near the body limit is
	// refused by a count, not by a walk that looks up each character.
	if utf8.RuneCountInString(value) > max {
		f.Add(field, msgMaxLen(max))
		return
	}
	visible := false
	var flag flagTags
	for _, r := range value {
		if unicode.IsControl(r) && (line || (r != '\t' && r != '\n' && r != '\r')) {
			f.Add(field, msgControlCharacters)
			return
		}
		if !line {
			continue
		}
		if tag, ok := flag.next(r); tag {
			if !ok {
				f.Add(field, msgHiddenCharacters)
				return
			}
			continue
		}
		if hiddenFormatting(r) {
			f.Add(field, msgHiddenCharacters)
			return
		}
		visible = visible || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSymbol(r) || unicode.IsPunct(r)
	}
	if line && flag.open {
		f.Add(field, msgHiddenCharacters)
		return
	}
	// Joiners, marks and spaces alone show as nothing: a name of them is
	// blank.
	if line && value != "" && !visible {
		f.Add(field, msgBlank)
	}
}

// flagTags follows the tag characters (U+E0020 to U+E007F, invisible) of
// a one-line value: they may only spell an emoji flag's tag sequence
// (U+1F3F4, tags, then the cancel tag U+E007F: Scotland, Wales, England).
type flagTags struct {
	afterFlag bool // the last rune was U+1F3F4 or a tag after it
	open      bool // a sequence has begun and not ended
	n         int  // tags in the sequence so far
}

// next reports whether r is a tag character, and if so whether it is in
// place.
func (t *flagTags) next(r rune) (tag, ok bool) {
	switch {
	case r >= 0xE0020 && r <= 0xE007E:
		// A subdivision code: two tag letters, then one to four tag
		// letters or digits (Unicode's emoji tag sequences): no room for
		// hidden text.
		letter, digit := r >= 0xE0061 && r <= 0xE007A, r >= 0xE0030 && r <= 0xE0039
		t.n++
		ok = t.afterFlag && t.n <= 6 && (letter || (digit && t.n > 2))
		t.open = ok
		return true, ok
	case r == 0xE007F:
		ok = t.open && t.n >= 3
		t.afterFlag, t.open, t.n = false, false, 0
		return true, ok
	}
	if t.open { // a sequence the cancel tag never ended
		return true, false
	}
	t.afterFlag, t.n = r == 0x1F3F4, 0
	return false, false
}

// hiddenFormatting reports whether r is an invisible character that
// reorders or hides the text around it: every format character (Unicode
// category Cf: bidirectional embeddings, overrides and isolates, zero-width
// space, word joiner, soft hyphen, BOM, tags, ...) but the joiners and
// direction marks that scripts need (U+200C to U+200F, U+061C); line and
// paragraph separators; and the blank letters and marks that render as
// nothing (Hangul fillers, the combining grapheme joiner, the blank
// Braille pattern).
func hiddenFormatting(r rune) bool {
	switch {
	case r >= 0x200C && r <= 0x200F, r == 0x061C:
		return false
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r):
		return true
	}
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x034F, 0x2800:
		return true
	}
	return false
}

// StoredCopy is the record an edit of row starts from, for CleanEdit: a
// copy of row as it is now when it was read from the database (id set),
// nil for a new record.
func StoredCopy[T any](row *T, id int64) *T {
	if id == 0 {
		return nil
	}
	c := *row
	return &c
}

// cleanEdit runs clean on edited and, for an edit of stored (nil: a new
// record), drops the messages of fields left as stored (judgeOnlyEdited);
// values are the record's audited fields.
func cleanEdit[T any](edited, stored *T, clean func(*T) error, values func(*T) map[string]any) error {
	err := clean(edited)
	if err == nil || stored == nil {
		return err
	}
	s := *stored
	_ = clean(&s) // as normalized as edited, whatever it breaks
	return judgeOnlyEdited(err, values(&s), values(edited))
}

// judgeOnlyEdited drops, from an Invalid err of an edit, the messages of
// fields whose value is the one stored (stored and edited are the record's
// values before and after the edit, as its audit diff reads them, both
// normalized by the record's Clean, whose errors on the stored copy are
// ignored: a stored "José@Clinic.Example" is the edit's
// "josé@clinic.example"): a value
// saved before a rule was added or tightened (control characters, an
// email's ASCII user part) must not make its record impossible to edit, as
// DRF's partial update judges only the fields sent. Another err is
// returned as it is; nil when no message is left.
func judgeOnlyEdited(err error, stored, edited map[string]any) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != Invalid || len(e.Fields) == 0 {
		return err
	}
	kept := FieldErrors{}
	for field, msgs := range e.Fields {
		if old, ok := stored[field]; ok && reflect.DeepEqual(old, edited[field]) {
			continue
		}
		kept[field] = msgs
	}
	return kept.Err()
}

// checkEmail validates an optional (when !required) e-mail address.
func checkEmail(f FieldErrors, field, value string, required bool) {
	checkLine(f, field, value, required, 254)
	if f.Has(field) || value == "" {
		return
	}
	if !ValidEmail(value) {
		f.Add(field, msgEmail)
	}
}

// emailDomains checks an email's domain by IDNA 2008's registration rules
// (no mapping: what a label may not hold is refused, not dropped).
var emailDomains = idna.New(idna.ValidateForRegistration(), idna.CheckHyphens(false))

// ValidEmail reports whether s is a bare address local@domain with a dotted
// domain, as Django's EmailValidator accepts (no display name, no brackets),
// and its top-level label at least two characters long as there. Django
// also allows "localhost"; this does not: a clinic's users have real
// domains.
func ValidEmail(s string) bool {
	if utf8.RuneCountInString(s) > 254 || strings.ContainsAny(s, " \t\r\n<>") {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > 64 || strings.HasPrefix(domain, "[") {
		return false
	}
	// Django's user part is ASCII (a dot-atom or a quoted string): an
	// address cannot hide a look-alike letter before the "@".
	for i := 0; i < len(local); i++ {
		if local[i] <= ' ' || local[i] > '~' {
			return false
		}
	}
	// Django checks the domain after IDNA; IDNA 2008's registration rules
	// (x/net/idna) refuse what a label may not hold, invisible characters
	// included (a joiner outside the context that needs it, a variation
	// selector, a Hangul filler), where lookup rules would drop them
	// silently. The labels' lengths are those of their ASCII form.
	// NFC first, as Django's IDNA encoding does ("bu\u0308cher" is
	// "bücher"); hyphens in the third and fourth places are allowed, as
	// there (leading and trailing ones are checked below).
	domain = norm.NFC.String(strings.ToLower(domain))
	if utf8.RuneCountInString(local)+1+utf8.RuneCountInString(domain) > 254 {
		return false // composed, as NormalizeEmail stores it, it would not fit
	}
	for _, r := range domain {
		if unicode.Is(unicode.So, r) { // emoji and other symbols: not in IDNA 2008
			return false
		}
	}
	ascii, err := emailDomains.ToASCII(domain)
	if err != nil {
		return false
	}
	labels := strings.Split(ascii, ".")
	// A dotted domain whose last label (in ASCII form) has two characters
	// or more, as Django's domain_regex: a@b.c is refused there.
	if len(labels) < 2 || len(labels[len(labels)-1]) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
	}
	return true
}

// checkPhone validates an optional phone number: at most 20 characters of
// digits, spaces and + - ( ), with at least one digit.
func checkPhone(f FieldErrors, field, value string) {
	checkText(f, field, value, false, 20)
	if f.Has(field) || value == "" {
		return
	}
	digits := 0
	for _, r := range value {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '-' || r == '(' || r == ')':
		default:
			f.Add(field, msgPhone)
			return
		}
	}
	if digits == 0 {
		f.Add(field, msgPhone)
	}
}

// NormalizeEmail trims an address and lower-cases it: emails are unique
// case-insensitively and stored lower-cased. An internationalized domain
// is also put in one form, so one mailbox is one address however it was
// typed: composed (NFC: "bu\u0308cher.de" is "bücher.de", as a Mac may
// paste it) and in Unicode ("xn--bcher-kva.de", its ASCII form, is
// "bücher.de" too). A domain IDNA refuses is left as typed, for
// ValidEmail to refuse.
func NormalizeEmail(s string) string {
	s = legacyEmail(s)
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	domain := s[at+1:]
	if isASCII(domain) && !strings.Contains(domain, "xn--") {
		return s // every address but an internationalized one: as it was
	}
	domain = norm.NFC.String(domain)
	if u, err := emailDomains.ToUnicode(domain); err == nil {
		domain = u
	}
	return s[:at+1] + domain
}

// emailSpellings are the forms an address may have been recorded in, for
// a search of records kept as they were written (the audit trail): its
// one form (NormalizeEmail), as typed lower-cased (legacyEmail: what
// releases before that form stored), and with its domain in ASCII (xn--).
func emailSpellings(s string) []string {
	spellings := []string{NormalizeEmail(s)}
	add := func(e string) {
		if !slices.Contains(spellings, e) {
			spellings = append(spellings, e)
		}
	}
	add(legacyEmail(s))
	if at := strings.LastIndexByte(spellings[0], '@'); at >= 0 {
		local, domain := spellings[0][:at+1], spellings[0][at+1:]
		if ascii, err := emailDomains.ToASCII(domain); err == nil {
			add(local + ascii)
		}
		add(local + norm.NFD.String(domain))
	}
	return spellings
}

// legacyEmail is how NormalizeEmail folded an address before it put
// internationalized domains in one form (and still its first step):
// accounts stored then keep signing in as they were typed.
func legacyEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Date is a calendar date without time of day or zone, stored as SQL DATE
// and written in JSON as "YYYY-MM-DD".
type Date struct{ time.Time }

// DateLayout is the only accepted date format.
const DateLayout = "2006-01-02"

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return Date{}, invalidField("date", MsgDateFormat)
	}
	return Date{t}, nil
}

// NewDate returns the date of y-m-d.
func NewDate(y int, m time.Month, d int) Date { return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return d.Format(DateLayout) }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	parsed, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

// GormDataType makes the column a DATE on every engine.
func (Date) GormDataType() string { return "date" }

// Value stores the date as "YYYY-MM-DD", which both engines accept for DATE.
func (d Date) Value() (driver.Value, error) { return d.String(), nil }

// Scan reads a DATE column, which drivers return as time.Time or text.
func (d *Date) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		*d = NewDate(x.Year(), x.Month(), x.Day())
		return nil
	case string:
		return d.scanText(x)
	case []byte:
		return d.scanText(string(x))
	}
	return fmt.Errorf("date: cannot scan %T", v)
}

func (d *Date) scanText(s string) error {
	if len(s) < 10 {
		return fmt.Errorf("date: cannot scan %q", s)
	}
	t, err := time.Parse(DateLayout, s[:10])
	if err != nil {
		return fmt.Errorf("date: %w", err)
	}
	*d = Date{t}
	return nil
}

// storable reports whether s can be compared with stored text: PostgreSQL
// refuses NUL bytes and invalid UTF-8 in a parameter (the query fails),
// and no stored value has them.
func storable(s string) bool { return !strings.ContainsRune(s, 0) && utf8.ValidString(s) }

// storableText is s without NUL bytes and with invalid UTF-8 replaced: text
// that can be stored or searched for.
func storableText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// textForms are the spellings of w that stored text may hold: w as typed,
// composed (NFC) and decomposed (NFD), each once. Text is stored as typed,
// as Django stores it, and keyboards and pasteboards differ: a Mac's may
// give "Jose\u0301" where another gives "José". A search or filter tries
// each, so either spelling finds either. ASCII has one form.
func textForms(w string) []string {
	forms := []string{w}
	for _, f := range []string{norm.NFC.String(w), norm.NFD.String(w)} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

// whereLowerEq narrows q to the rows whose column col equals v in any case;
// a v that no stored value can equal matches nothing.
func whereLowerEq(q *gorm.DB, col, v string) *gorm.DB {
	if !storable(v) {
		return q.Where("1 = 0")
	}
	v = strings.ToLower(v)
	forms := textForms(v)
	if strings.ContainsAny(v, greekSigmas) { // σ and ς as one letter: see applyWords
		for i, f := range forms {
			forms[i] = oneSigma(f)
		}
		return q.Where(oneSigmaSQL(col)+" IN ?", forms)
	}
	return q.Where("LOWER("+col+") IN ?", forms)
}
