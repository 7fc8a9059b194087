package models

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

const (
	wantSimilarEmail = "The password is too similar to the email address."
	wantShort        = "This password is too short. It must contain at least 8 characters."
	wantCommon       = "This password is too common."
	wantNumeric      = "This password is entirely numeric."
	wantLong         = "Ensure this field has no more than 128 characters."
)

// The expectations below were checked against Django's validators (the
// same logic run under CPython's difflib and re) over this package's list.
func TestValidatePassword(t *testing.T) {
	email := PasswordAttr{Name: "email address", Value: "alice@example.com"}
	tests := []struct {
		password string
		attrs    []PasswordAttr
		want     []string
	}{
		// Strong passwords pass.
		{"correct horse battery staple", []PasswordAttr{email, {"name", "Alice Smith"}}, nil},
		{"Tr0ub4dor&3-horse", nil, nil},
		{"Zx9#kLm2$pQ", []PasswordAttr{email, {"name", "Alice"}}, nil},

		// 1. UserAttributeSimilarityValidator.
		{"alice@example.com1", []PasswordAttr{email}, []string{wantSimilarEmail}},
		{"Alice@Example.com", []PasswordAttr{email}, []string{wantSimilarEmail}},
		{"ALICE@EXAMPLE.COM", []PasswordAttr{email}, []string{wantSimilarEmail}},
		{"moc.elpmaxe@ecila", []PasswordAttr{email}, []string{wantSimilarEmail}}, // quick_ratio ignores order
		{"exampleXYZ", []PasswordAttr{email}, []string{wantSimilarEmail}},        // a part of the value
		{"alice2024!", []PasswordAttr{email}, nil},
		{"alicealice1", []PasswordAttr{{"name", "Alice"}}, nil},
		{"jean-luc-picard", []PasswordAttr{{"name", "Jean-Luc Picard"}}, []string{"The password is too similar to the name."}},
		{"alice@example.com1", []PasswordAttr{{"name", "Alice"}, email}, []string{wantSimilarEmail}},
		{"alice@example.com1", []PasswordAttr{{"name", ""}, email}, []string{wantSimilarEmail}},
		{"alice@example.com1", []PasswordAttr{{"email address", ""}}, nil},
		// Like Django (which raises), only the first similar attribute is named.
		{"alice.smith99", []PasswordAttr{{"username", "alice.smith"}, {"email address", "alice.smith@example.com"}},
			[]string{"The password is too similar to the username."}},
		// Long password, short value: skipped by the length ratio.
		{"bobobobobobobobobobobobobobobobobobobob", []PasswordAttr{{"name", "Bob"}}, nil},
		{"bob-the-builder-is-a-very-long-passphrase!!", []PasswordAttr{{"name", "Bob"}}, nil},

		// NUL fails the field (DRF's CharField) before any rule runs.
		{"Corr3ct\x00Horse-Battery", nil, []string{"Null characters are not allowed."}},
		{"\x00", []PasswordAttr{email}, []string{"Null characters are not allowed."}},

		// 2. MinimumLengthValidator; the password is not trimmed.
		{"short", nil, []string{wantShort}},
		{"", nil, []string{wantShort}},
		{"", []PasswordAttr{email}, []string{wantShort}},
		{"xkcd936", nil, []string{wantShort}},
		{"xkcd936 ", nil, nil},

		// 3. CommonPasswordValidator: lower-cased and stripped first.
		{"password1", nil, []string{wantCommon}},
		{"qwerty123", nil, []string{wantCommon}},
		{" PassWord1 ", nil, []string{wantCommon}},
		{"ILoveYou", nil, []string{wantCommon}},

		// 4. NumericPasswordValidator.
		{"83749261", nil, []string{wantNumeric}},
		{"12345678", nil, []string{wantCommon, wantNumeric}},
		{"١٢٣٤٥٦٧٨٩", nil, []string{wantNumeric}}, // Arabic-Indic digits: str.isdigit()

		// 5. At most 128 characters, counted in code points.
		{strings.Repeat("é", 128), nil, nil},
		{strings.Repeat("é", 129), nil, []string{wantLong}},
		{strings.Repeat("a", 200), []PasswordAttr{email}, []string{wantLong}},
		{strings.Repeat("7", 129), nil, []string{wantNumeric, wantLong}},

		// Every failing validator reports, in Django's order.
		{"1234567", nil, []string{wantShort, wantCommon, wantNumeric}},
		{"1234567", []PasswordAttr{{"phone", "1234567"}},
			[]string{"The password is too similar to the phone.", wantShort, wantCommon, wantNumeric}},
	}
	for _, tt := range tests {
		got := ValidatePassword(tt.password, tt.attrs...)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ValidatePassword(%q, %v) = %q, want %q", tt.password, tt.attrs, got, tt.want)
		}
	}
}

func TestCommonPasswordList(t *testing.T) {
	set := commonPasswords()
	if len(set) < 20000 {
		t.Fatalf("common password list has %d entries, want at least 20000", len(set))
	}
	for _, pw := range []string{
		"123456", "password", "12345678", "qwerty", "123456789", "letmein",
		"iloveyou", "password1", "qwerty123", "trustno1", "abc123", "monkey",
		"dragon", "sunshine", "football",
		// Django's list, not zxcvbn's (a sequence, a repeat, a name).
		"abcdefgh", "testtest", "jennifer", "letmein!", "p@ssword", "administrator",
	} {
		if _, ok := set[pw]; !ok {
			t.Errorf("common password list lacks %q", pw)
		}
	}
	for pw := range set {
		if pw == "" || pw != strings.TrimSpace(pw) || pw != strings.ToLower(pw) {
			t.Fatalf("common password list entry %q is not lower-case and trimmed", pw)
		}
		if strings.IndexFunc(pw, unicode.IsSpace) >= 0 {
			t.Fatalf("common password list entry %q holds whitespace", pw)
		}
	}
	for _, pw := range []string{"correct horse battery staple", "Zx9#kLm2$pQ", ""} {
		if isCommonPassword(pw) {
			t.Errorf("isCommonPassword(%q) = true, want false", pw)
		}
	}
}

func TestLoadCommonPasswordsRejectsBadData(t *testing.T) {
	if _, err := loadCommonPasswords([]byte("not gzip")); err == nil {
		t.Errorf("loadCommonPasswords(not gzip) = nil error, want one")
	}
}

// Values from CPython: difflib.SequenceMatcher(a=a, b=b).quick_ratio().
func TestPasswordQuickRatio(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"", "", 1.0},
		{"abc", "", 0.0},
		{"", "abc", 0.0},
		{"abc", "abc", 1.0},
		{"abc", "cba", 1.0},
		{"aab", "abb", 0.6666666666666666},
		{"alice@example.com1", "alice@example.com", 0.9714285714285714},
		{"password", "drowssap", 1.0},
		{"hello", "world", 0.4},
		{"aaaa", "a", 0.4},
		{"é", "e", 0.0},
		{"examplexyz", "example", 0.8235294117647058},
	}
	for _, tt := range tests {
		got := difflibQuickRatio([]rune(tt.a), []rune(tt.b))
		if math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("difflibQuickRatio(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPasswordExceedsMaximumLengthRatio(t *testing.T) {
	tests := []struct {
		pwdLen, valueLen int
		want             bool
	}{
		{0, 0, false},   // 0 >= 0 but 0 < 0 is false
		{10, 1, true},   // 10 >= 10 and 1 < 3.5
		{9, 1, false},   // 9 < 10
		{40, 3, true},   // 40 >= 30 and 3 < 14
		{40, 4, true},   // 40 >= 40 and 4 < 14
		{40, 5, false},  // 40 < 50
		{100, 0, true},  // empty part of a split
		{8, 17, false},  // short password, long value
		{200, 17, true}, // 200 >= 170 and 17 < 70
	}
	for _, tt := range tests {
		if got := exceedsMaximumLengthRatio(tt.pwdLen, 0.7, tt.valueLen); got != tt.want {
			t.Errorf("exceedsMaximumLengthRatio(%d, 0.7, %d) = %v, want %v", tt.pwdLen, tt.valueLen, got, tt.want)
		}
	}
}

// Values from CPython: re.split(r"\W+", s).
func TestPasswordSplitNonWord(t *testing.T) {
	tests := []struct {
		s    string
		want []string
	}{
		{"", []string{""}},
		{"alice", []string{"alice"}},
		{"alice@example.com", []string{"alice", "example", "com"}},
		{".alice@example.com.", []string{"", "alice", "example", "com", ""}},
		{"jean-luc picard_2 é", []string{"jean", "luc", "picard_2", "é"}},
		{"a..--b", []string{"a", "b"}},
		{"@@", []string{"", ""}},
	}
	for _, tt := range tests {
		if got := splitNonWord(tt.s); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitNonWord(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// The password is compared only with the attributes that passed their own
// checks (DRF validates the object once its fields are valid): a refused
// email is no reason for a password message, and a refused 1 MB name is
// not lower-cased, split and compared.
func TestNewUserComparesThePasswordWithValidAttributesOnly(t *testing.T) {
	in := NewUser{Name: "Ada", Email: "jonathansmithers", Password: "jonathansmithers"}
	err := in.Clean()
	var e *Error
	if !errors.As(err, &e) || e.Fields["email"] == nil {
		t.Fatalf("Clean() = %v, want the email refused", err)
	}
	if msgs := e.Fields["password"]; msgs != nil {
		t.Errorf("password messages %q beside a refused email, want none", msgs)
	}
	// Valid, the same email is compared.
	in = NewUser{Name: "Ada", Email: "jonathansmithers@x.io", Password: "jonathansmithers"}
	if err := in.Clean(); !errors.As(err, &e) || !reflect.DeepEqual(e.Fields["password"], []string{wantSimilarEmail}) {
		t.Errorf("Clean() = %v, want only %q under password", err, wantSimilarEmail)
	}
}
