package models

import (
	"strings"
	"testing"
)

// The per-email limiter keeps its key for a whole window: a key is never
// longer than an email can be, whatever was sent; emails that differ past
// that length stay apart, and case still does not matter.
func TestEmailLimitKeyIsBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 1<<20) + "@example.com"
	for _, email := range []string{long, strings.Repeat("é", maxEmailKey) + "@x"} {
		if key := emailLimitKey(email); len(key) > maxEmailKey {
			t.Errorf("key of a %d-byte email is %d bytes, want at most %d", len(email), len(key), maxEmailKey)
		}
	}
	if emailLimitKey(long) == emailLimitKey(long+"x") {
		t.Error("two long emails share a key")
	}
	if emailLimitKey(long) != emailLimitKey(" "+strings.ToUpper(long)+" ") {
		t.Error("the case or surrounding space of a long email changes its key")
	}
	if got := emailLimitKey(" Ann@Example.com "); got != "ann@example.com" {
		t.Errorf("key of an ordinary email = %q, want it normalised", got)
	}
}
