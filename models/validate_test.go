package models

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestValidEmail(t *testing.T) {
	t.Parallel()
	// 64 + 1 + 189 = 254 characters: the longest address allowed.
	local64 := strings.Repeat("a", 64)
	domain189 := strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com"
	longest := local64 + "@" + domain189
	if len(longest) != 254 {
		t.Fatalf("test setup: len(longest) = %d, want 254", len(longest))
	}
	tooLong := local64 + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".com"
	if len(tooLong) != 255 {
		t.Fatalf("test setup: len(tooLong) = %d, want 255", len(tooLong))
	}
	tests := []struct {
		email string
		want  bool
	}{
		{"a@b.co", true},
		{"first.last+tag@sub.example.org", true},
		{"o'brien@example.com", true},
		{"user_name-1@my-domain.example", true},
		{longest, true},

		{"", false},
		{"a", false},
		{"a@b", false},
		{"a@b.c", false}, // a one-letter top-level domain, as Django
		{"a@b.c1", true},
		{"a@localhost", false}, // Django allows it (domain_allowlist); a clinic's users have real domains
		{"a@localhost.", false},
		{"a@b.", false},
		{"@b.co", false},
		{"a@", false},
		{"a@.co", false},
		{"a@b..co", false},
		{"A <a@b.co>", false},
		{"<a@b.co>", false},
		{"a@-b.co", false},
		{"a@b-.co", false},
		{"a b@c.co", false},
		{" a@b.co", false},
		{"a@b.co ", false},
		{"a@b.co\n", false},
		{"a@b@c.co", false},
		{"a@[127.0.0.1]", false},
		{"a@b.co, c@d.co", false},
		{strings.Repeat("a", 65) + "@b.co", false},
		{"a@" + strings.Repeat("b", 64) + ".co", false},
		{tooLong, false},
		// The user part is ASCII, as Django's; the domain is letters of
		// any script, marks, digits and hyphens (IDNA's alphabet).
		{"ana@klinik.bücher.example", true},
		{"su\u200b@clinic.example", false},
		{"su@clinic\u200b.example", false},
		{"sü@clinic.example", false},
		{"\u212Au@clinic.example", false},
		{"a@b_c.example", false},
		{"a@bu\u0308cher.example", true}, // decomposed accent: NFC first
		{"a@r3---sn-abc.example", true},  // hyphens in the third and fourth places
		{"a@\u2615.example", false},      // an emoji
		{"a@-ab.example", false},
		{"a@b!c.example", false},
		{"a@b\u202Ec.example", false},
		{"ali@\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.example", true}, // Persian label with ZWNJ
		{"taro@\u30a2\u30fb\u30a4.example", true},                              // katakana middle dot
		{"su@clinic\u3164.example", false},                                     // Hangul filler: a blank letter
		{"su@clin\u034fic.example", false},                                     // combining grapheme joiner
		{"su@clinic\u200d.example", false},                                     // a joiner out of context
		{"su@clinic\u200c.example", false},
		{"su@clinic\ufe0f.example", false}, // variation selector
		{"su@clin\u17b4ic.example", false},
		{"li@" + strings.Repeat("\u4e2d", 22) + ".example", true}, // 66 bytes, 28 in ASCII
		// 254 characters (255 bytes): lengths count characters, as API.md's.
		{local64 + "@\u00fc" + strings.Repeat("b", 40) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 15) + ".com", true},
		{local64 + "@\u00fc" + strings.Repeat("b", 40) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 16) + ".com", false},
		// 173 characters as typed, 273 composed (each U+0958 composes to
		// two), as NormalizeEmail stores it: too long.
		{local64 + "@" + strings.Repeat(strings.Repeat("\u0958", 20)+".", 5) + "com", false},
		{"a@" + strings.Repeat("\u0958", 20) + ".com", true},
	}
	for _, tt := range tests {
		if got := ValidEmail(tt.email); got != tt.want {
			t.Errorf("ValidEmail(%q) = %v, want %v", tt.email, got, tt.want)
		}
	}
}

// One mailbox is one address however its domain was typed: composed or
// decomposed, in Unicode or in its ASCII (xn--) form, in any case.
func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{" Ann@Example.COM ", "ann@example.com"},
		{"ann@bücher.de", "ann@bücher.de"},
		{"ANN@BU\u0308CHER.DE", "ann@bücher.de"},
		{"ann@xn--bcher-kva.de", "ann@bücher.de"},
		{"ann@XN--BCHER-KVA.DE", "ann@bücher.de"},
		{"ann@mail.xn--bcher-kva.example", "ann@mail.bücher.example"},
		{"ann@\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.example", "ann@\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.example"},
		// What IDNA refuses stays as typed (lower-cased), for ValidEmail.
		{"ann@xn--zz.de", "ann@xn--zz.de"},
		{"ann@\u2615.example", "ann@\u2615.example"},
		{"no-at-sign", "no-at-sign"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := NormalizeEmail(NormalizeEmail(tt.in)); got != tt.want {
			t.Errorf("NormalizeEmail twice (%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckPhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		phone string
		want  string // "" means valid
	}{
		{"", ""},
		{"5551234", ""},
		{"+1 (555) 123-4567", ""},
		{"+44 20 7946 0958", ""},
		{strings.Repeat("1", 20), ""},

		{strings.Repeat("1", 21), "Ensure this field has no more than 20 characters."},
		{"555.123.4567", msgPhone},
		{"call me", msgPhone},
		{"555-CALL", msgPhone},
		{"+-() ", msgPhone},
		{"12\t34", msgPhone},
		{"١٢٣٤", msgPhone}, // Arabic-Indic digits are not ASCII digits
		{"555 1234 ext 5", msgPhone},
	}
	for _, tt := range tests {
		f := FieldErrors{}
		checkPhone(f, "phone", tt.phone)
		var got string
		if msgs := f["phone"]; len(msgs) > 0 {
			got = msgs[0]
		}
		if got != tt.want {
			t.Errorf("checkPhone(%q) = %q, want %q", tt.phone, got, tt.want)
		}
		if len(f["phone"]) > 1 {
			t.Errorf("checkPhone(%q) reported %d messages, want at most one: %v", tt.phone, len(f["phone"]), f["phone"])
		}
	}
}

func TestCheckTextCountsCodePoints(t *testing.T) {
	t.Parallel()
	f := FieldErrors{}
	checkText(f, "name", strings.Repeat("é", 100), true, 100) // 200 bytes, 100 code points
	if f.Has("name") {
		t.Errorf("100 two-byte characters: %v, want no error", f["name"])
	}
	checkText(f, "name", strings.Repeat("é", 101), true, 100)
	if got := f["name"]; len(got) != 1 || got[0] != msgMaxLen(100) {
		t.Errorf("101 characters: %v, want [%q]", got, msgMaxLen(100))
	}
	g := FieldErrors{}
	checkText(g, "name", "", true, 100)
	if got := g["name"]; len(got) != 1 || got[0] != msgBlank {
		t.Errorf("blank required: %v, want [%q]", got, msgBlank)
	}
}

// One-line values (names, emails) refuse every control character and the
// invisible characters that reorder or hide text; multi-line ones (an
// address, a medical history, notes) keep tabs and line breaks.
func TestCheckTextRefusesHiddenCharacters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value      string
		line, text string // the error of checkLine, of checkText ("" for none)
	}{
		{"Ana Díaz", "", ""},
		{"Anna\u200dMaria", "", ""},    // zero-width joiner: emoji, Indic scripts
		{"\u0645\u200c\u0627", "", ""}, // zero-width non-joiner: Persian
		{"\u05d3\u200f1", "", ""},      // right-to-left mark
		{"line one\nline two\ttab\r\n", msgControlCharacters, ""},
		{"bell\a", msgControlCharacters, msgControlCharacters},
		{"esc\x1b[31m", msgControlCharacters, msgControlCharacters},
		{"c1\u0085", msgControlCharacters, msgControlCharacters},
		{"del\x7f", msgControlCharacters, msgControlCharacters},
		{"admin\u202egnp.exe", msgHiddenCharacters, ""},
		{"iso\u2067late", msgHiddenCharacters, ""},
		{"zero\u200bwidth", msgHiddenCharacters, ""},
		{"word\u2060joiner", msgHiddenCharacters, ""},
		{"\ufeffbom", msgHiddenCharacters, ""},
		{"Super\u00adUser", msgHiddenCharacters, ""},                                       // soft hyphen
		{"admin\u3164", msgHiddenCharacters, ""},                                           // Hangul filler
		{"tag\U000E0041", msgHiddenCharacters, ""},                                         // tag character
		{"\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", "", ""}, // Scotland's flag
		{"Ann \U0001F3F4" + tagged("gbwls") + "\U000E007F Lee", "", ""},
		{"\U0001F3F4\U000E0067\U000E0062 admin", msgHiddenCharacters, ""}, // never cancelled
		{"admin\U000E007F", msgHiddenCharacters, ""},                      // a cancel tag alone
		{"Bob \U0001F3F4" + tagged("ignoreallprevious") + "\U000E007F", msgHiddenCharacters, ""},
		{"\U0001F3F4" + tagged("GBSCT") + "\U000E007F", msgHiddenCharacters, ""},
		{"\U0001F3F4\U000E0020\U000E007F", msgHiddenCharacters, ""},
		{"\u200d", msgBlank, ""}, // nothing visible
		{"\u0301\u200f", msgBlank, ""},
		{"line\u2028sep", msgHiddenCharacters, ""}, // line separator in a one-line value
		{"\u0627\u061c\u0628", "", ""},             // Arabic letter mark
		{"\U0001F469\u200d\u2695\ufe0f", "", ""},   // emoji with ZWJ and a variation selector
	} {
		for _, check := range []struct {
			name string
			fn   func(FieldErrors, string, string, bool, int)
			want string
		}{{"checkLine", checkLine, tc.line}, {"checkText", checkText, tc.text}} {
			f := FieldErrors{}
			check.fn(f, "v", tc.value, true, 100)
			if got := f["v"]; (check.want == "" && len(got) != 0) || (check.want != "" && (len(got) != 1 || got[0] != check.want)) {
				t.Errorf("%s(%q) = %v, want %q", check.name, tc.value, got, check.want)
			}
		}
	}
}

// A value over its limit is refused for its length, whatever characters
// it holds: the length is counted before each character is looked up.
func TestCheckTextLengthComesFirst(t *testing.T) {
	t.Parallel()
	for _, check := range []func(FieldErrors, string, string, bool, int){checkLine, checkText} {
		f := FieldErrors{}
		check(f, "v", strings.Repeat("a", 100)+"\u202e\a", true, 100)
		if got := f["v"]; len(got) != 1 || got[0] != msgMaxLen(100) {
			t.Errorf("a value over the limit with hidden characters: %v, want the length error", got)
		}
	}
}

func TestDateScan(t *testing.T) {
	t.Parallel()
	want := NewDate(1990, time.May, 6)
	tests := []struct {
		name string
		in   any
	}{
		{"time at UTC midnight", time.Date(1990, time.May, 6, 0, 0, 0, 0, time.UTC)},
		{"time with a clock and zone keeps its calendar day", time.Date(1990, time.May, 6, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))},
		{"string", "1990-05-06"},
		{"string with time (SQLite)", "1990-05-06 00:00:00+00:00"},
		{"RFC 3339 string", "1990-05-06T00:00:00Z"},
		{"bytes", []byte("1990-05-06")},
	}
	for _, tt := range tests {
		var d Date
		if err := d.Scan(tt.in); err != nil {
			t.Errorf("%s: Scan(%v) error: %v", tt.name, tt.in, err)
			continue
		}
		if !d.Equal(want.Time) || d.Location() != time.UTC {
			t.Errorf("%s: Scan(%v) = %v (%v), want %v UTC", tt.name, tt.in, d.Time, d.Location(), want)
		}
	}

	for _, bad := range []any{"", "1990-5-6", "06/05/1990", "1990-13-01", []byte("nope"), int64(19900506), nil, 3.14} {
		var d Date
		if err := d.Scan(bad); err == nil {
			t.Errorf("Scan(%#v) = %v, want an error", bad, d)
		}
	}
}

func TestDateValueAndString(t *testing.T) {
	t.Parallel()
	d := NewDate(2001, time.February, 3)
	v, err := d.Value()
	if err != nil || v != "2001-02-03" {
		t.Fatalf("Value() = %v, %v; want \"2001-02-03\"", v, err)
	}
	if d.String() != "2001-02-03" {
		t.Fatalf("String() = %q", d.String())
	}
	if _, err := ParseDate("2001-02-30"); ErrorCode(err) != Invalid {
		t.Fatalf("ParseDate(2001-02-30) error = %v, want Invalid", err)
	}
	p, err := ParseDate("2001-02-03")
	if err != nil || !p.Equal(d.Time) {
		t.Fatalf("ParseDate = %v, %v; want %v", p, err, d)
	}
}

func TestDateJSON(t *testing.T) {
	t.Parallel()
	type wrapper struct {
		Born  *Date `json:"born"`
		Other *Date `json:"other"`
	}
	d := NewDate(1990, time.May, 6)
	raw, err := json.Marshal(wrapper{Born: &d})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(raw), `{"born":"1990-05-06","other":null}`; got != want {
		t.Fatalf("Marshal = %s, want %s", got, want)
	}

	// What the API writes must read back: Date's JSON form is "YYYY-MM-DD"
	// both ways.
	var back wrapper
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("Unmarshal(%s): %v (Date marshals to YYYY-MM-DD but does not unmarshal it)", raw, err)
	}
	if back.Born == nil || !back.Born.Equal(d.Time) || back.Other != nil {
		t.Fatalf("round trip = %+v, want born %v, other nil", back, d)
	}
}

// tagged spells s in tag characters (U+E0000 + each ASCII byte).
func tagged(s string) string {
	var b strings.Builder
	for _, c := range s {
		b.WriteRune(0xE0000 + c)
	}
	return b.String()
}
