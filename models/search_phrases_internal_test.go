package models

import (
	"regexp"
	"slices"
	"testing"
	"unicode"
)

// smartSplit splits as Django's smart_split does: these are the cases of
// Django's own test (utils_tests.test_text.TestUtilsText.test_smart_split).
func TestSmartSplitAsDjango(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`This is "a person" test.`, []string{`This`, `is`, `"a person"`, `test.`}},
		{`This is "a person's" test.`, []string{`This`, `is`, `"a person's"`, `test.`}},
		{`This is "a person\"s" test.`, []string{`This`, `is`, `"a person\"s"`, `test.`}},
		{`"a 'one`, []string{`"a`, `'one`}},
		{`all friends' tests`, []string{`all`, `friends'`, `tests`}},
		{`url search_page words="something else"`, []string{`url`, `search_page`, `words="something else"`}},
		{`url search_page 'words="something else"'`, []string{`url`, `search_page`, `'words="something else"'`}},
		{`url search_page words="something else`, []string{`url`, `search_page`, `words="something`, `else`}},
		{`cut:","|cut:" "`, []string{`cut:","|cut:" "`}},
		{"a\u200a\nb", []string{"a", "b"}}, // Python's \s is Unicode's
	} {
		if got := smartSplit.FindAllString(tc.in, -1); !slices.Equal(got, tc.want) {
			t.Errorf("smartSplit(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// phraseTerms are what Django's admin searches for (smart_split, then
// unescape_string_literal of a quoted bit), with DRF's comma split of
// unquoted terms.
func TestPhraseTerms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`anna berg`, []string{"anna", "berg"}},
		{`"van der" berg`, []string{"van der", "berg"}},
		{`'van der' berg`, []string{"van der", "berg"}},
		{`"van der", berg`, []string{"van der", "berg"}},  // DRF strips a phrase's commas
		{`"van der",berg`, []string{`"van der"`, "berg"}}, // one bit, not quoted end to end: split at commas, as DRF does
		{`Smith,John`, []string{"Smith", "John"}},
		{`,,a,,b,,`, []string{"a", "b"}},
		{`"a \"quoted\" word"`, []string{`a "quoted" word`}},
		{`'person\'s'`, []string{`person's`}},
		{`"a\\b"`, []string{`a\b`}},
		{`"it\'s"`, []string{`it\'s`}}, // only the phrase's own quote is unescaped
		{`"open phrase`, []string{`"open`, `phrase`}},
		{`o'brien`, []string{`o'brien`}},
		{`a"b c"d`, []string{`a"b c"d`}},           // quoted inside a word: kept whole, quotes and all
		{`o'brien ,o'`, []string{`o'brien`, `o'`}}, // a quote across a comma: its pieces trimmed, as DRF strips them
		{`"" '' " '`, nil},                         // empty phrases, and lone quotes, as in Django: no term
		{`"  "`, []string{"  "}},
		{"\u00a0x\u3000y\u0085", []string{"x", "y"}},
		{``, nil},
	} {
		if got := phraseTerms(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("phraseTerms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The API's words are API.md's: split at spaces and commas, quotes kept.
func TestAPISearchHasNoPhrases(t *testing.T) {
	t.Parallel()
	got, err := searchWords(`"van der" Berg`)
	if err != nil || !slices.Equal(got, []string{`"van`, `der"`, "berg"}) {
		t.Errorf("searchWords = %q, %v", got, err)
	}
	got, err = adminSearchWords(`"VAN der" Berg "van"`)
	if err != nil || !slices.Equal(got, []string{"van der", "berg"}) {
		t.Errorf("adminSearchWords = %q, %v (want lower-cased, a phrase implied by another dropped)", got, err)
	}
}

// isPySpace is pySpace's class, rune for rune: the API's words and the
// admin's phrases split at the same spaces.
func TestIsPySpaceIsPySpaceClass(t *testing.T) {
	t.Parallel()
	class := regexp.MustCompile(`^[` + pySpace + `]$`)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r == 0xD800 {
			r = 0xE000 // surrogates are not runes a string holds
		}
		if got, want := isPySpace(r), class.MatchString(string(r)); got != want {
			t.Errorf("isPySpace(%U) = %v, pySpace matches: %v", r, got, want)
		}
	}
}

// A word inside another is dropped only when every spelling of the other
// holds a spelling of it: "jose" is not inside "josé", the composed
// spelling of "jose\u0301", so a search for both must keep both (it finds
// no "José" that lacks "jose").
func TestDecisiveWordsAcrossSpellings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{[]string{"jose", "jose\u0301"}, []string{"jose", "jose\u0301"}},
		{[]string{"jos", "josé"}, []string{"josé"}},
		{[]string{"jose\u0301", "josé kim"}, []string{"josé kim"}},
		{[]string{"smith", "smithson"}, []string{"smithson"}},
	} {
		if got, err := decisiveWords(tc.in); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("decisiveWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
