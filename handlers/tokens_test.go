package handlers

import (
	"errors"
	"testing"
	"time"

	"healthcare/models"
)

// The record a token is stored under must agree with its claims: the jti
// is what revocation looks up, and expires_at what purging and refresh
// expiry compare.
func TestAuthSignerIssueMatchesRecord(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 48, 33, 750_000_000, time.UTC)
	s := newSigner([]byte("unit-test-secret-of-at-least-32-bytes!"), 5*time.Minute, 24*time.Hour, func() time.Time { return now })
	tests := []struct {
		typ, other string
		ttl        time.Duration
	}{
		{models.AccessToken, models.RefreshToken, 5 * time.Minute},
		{models.RefreshToken, models.AccessToken, 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			token, rec, err := s.issue(tc.typ, 42)
			if err != nil {
				t.Fatalf("issue: %v", err)
			}
			c, err := s.verify(token, tc.typ)
			if err != nil {
				t.Fatalf("verify(%s token, %q): %v", tc.typ, tc.typ, err)
			}
			if c.ID == "" || rec.JTI != c.ID || rec.Type != tc.typ || rec.UserID != 42 || c.UserID != 42 || c.TokenType != tc.typ {
				t.Errorf("record %+v, claims jti %q user %d type %q: want them to agree", rec, c.ID, c.UserID, c.TokenType)
			}
			if !rec.ExpiresAt.Equal(c.ExpiresAt.Time) {
				t.Errorf("record expires_at %v, claim exp %v: want equal", rec.ExpiresAt, c.ExpiresAt.Time)
			}
			if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != tc.ttl {
				t.Errorf("exp - iat = %v, want %v", got, tc.ttl)
			}
			var me *models.Error
			if _, err := s.verify(token, tc.other); !errors.As(err, &me) || me.Code != models.Unauthorized || !me.TokenInvalid {
				t.Errorf("verify(%s token, %q) = %v, want an Unauthorized token_not_valid error", tc.typ, tc.other, err)
			}
		})
	}
	pair, recs, err := s.pair(7)
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	if len(recs) != 2 || recs[0].JTI == recs[1].JTI || pair.Access == pair.Refresh {
		t.Errorf("pair records %+v: want two tokens with distinct jtis", recs)
	}
}
