package main

import (
	"strings"

	"github.com/gin-gonic/gin"
)

// literalQuery makes the query string mean what Django reads in it. Go's
// url.ParseQuery drops a whole pair over one bad percent escape or a
// semicolon (`?page=%zz` was page 1 and `?search=a;b` every patient), where
// Django keeps the text as typed: the contract's answer to a page that is
// not a number (404) and a search for `a;b` need the pair kept. So a '%'
// that starts no escape and a ';' are escaped before anything reads the
// query.
func literalQuery(c *gin.Context) {
	c.Request.URL.RawQuery = escapeLiterally(c.Request.URL.RawQuery)
	c.Next()
}

// escapeLiterally escapes each ';' and each '%' not followed by two hex
// digits in the raw query q; a query with neither (nearly every one) is
// returned as it is, without a copy.
func escapeLiterally(q string) string {
	var b strings.Builder
	copied := 0 // q[:copied] is in b
	for i := 0; i < len(q); i++ {
		var escaped string
		switch {
		case q[i] == ';':
			escaped = "%3B"
		case q[i] == '%' && (i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2])):
			escaped = "%25"
		default:
			continue
		}
		b.WriteString(q[copied:i])
		b.WriteString(escaped)
		copied = i + 1
	}
	if copied == 0 {
		return q
	}
	b.WriteString(q[copied:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
