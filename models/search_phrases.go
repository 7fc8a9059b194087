package models

import (
	"regexp"
	"strings"
	"unicode"
)

// The admin panel's search box reads a search as Django's admin does:
// smart_split keeps a quoted phrase together, so `"van der" berg` looks for
// "van der" and "berg" rather than for three words, and a quote left open
// is an ordinary character. As DRF's search_smart_split (3.15) does, an
// unquoted term is also split at its commas, as every search here was
// before phrases: `Smith,John` still finds John Smith.
//
// The API keeps API.md's rule, words split at spaces and commas
// (searchWords): a quoted phrase there is not a word.

// smartSplit is django.utils.text.smart_split's expression, in RE2, which
// picks among alternatives as a backtracking engine does, so its matches
// are Python's. Space is every character Python's \s matches (Unicode
// spaces, not only ASCII); `.` does not match a newline in either.
var smartSplit = regexp.MustCompile(
	`(?:` + notSpaceOrQuote + `*(?:(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')` + notSpaceOrQuote + `*)+)` +
		`|` + notSpace + `+`)

const (
	pySpace         = `\t\n\v\f\r\x1c-\x1f\x85\p{Z}`
	notSpace        = `[^` + pySpace + `]`
	notSpaceOrQuote = `[^` + pySpace + `'"]`
)

// isPySpace reports whether r is whitespace to Python's str.split, which
// DRF's SearchFilter splits a search with: pySpace's runes. An ideographic
// space (U+3000, what Japanese and Chinese keyboards type) or a no-break
// space separates words as a plain space does.
func isPySpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= 0x1c && r <= 0x1f, r == 0x85:
		return true
	}
	return unicode.Is(unicode.Z, r)
}

// phraseTerms are the terms of an admin search: its quoted phrases, without
// their quotes, and its other words, split at commas. Empty terms (`""`)
// are dropped: they would match every row, as no term does.
func phraseTerms(search string) []string {
	var terms []string
	for _, bit := range smartSplit.FindAllString(search, -1) {
		bit = strings.Trim(bit, ",")
		if bit != "" && (bit[0] == '"' || bit[0] == '\'') && bit[len(bit)-1] == bit[0] {
			if phrase := unquote(bit); phrase != "" {
				terms = append(terms, phrase)
			}
			continue
		}
		for _, word := range strings.Split(bit, ",") {
			// A quote spanning a comma leaves spaces at a piece's end
			// (`o'brien ,o'`): DRF strips them.
			if word = strings.TrimSpace(word); word != "" {
				terms = append(terms, word)
			}
		}
	}
	return terms
}

// unquote is Django's unescape_string_literal: the quotes go, and inside,
// only an escaped quote of the same kind and an escaped backslash lose
// their backslash.
// A lone quote is an empty phrase, as in Django.
func unquote(quoted string) string {
	if len(quoted) < 2 {
		return ""
	}
	q := quoted[:1]
	return strings.ReplaceAll(strings.ReplaceAll(quoted[1:len(quoted)-1], `\`+q, q), `\\`, `\`)
}
