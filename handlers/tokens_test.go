package handlers

import (
	"errors"
	"strings"
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

// A token verified once is remembered, but only as what it is: the same
// bytes, the same type, and for as long as its claims allow.
func TestAuthSignerRemembersVerifiedTokensStrictly(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s := newSigner([]byte("unit-test-secret-of-at-least-32-bytes!"), 5*time.Minute, 24*time.Hour, func() time.Time { return now })
	token, _, err := s.issue(models.AccessToken, 42)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.verify(token, models.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	// Remembered: verifying again does not need the secret (so the HMAC
	// and the decoding are skipped), and gives the same claims.
	secret := s.secret
	s.secret = []byte("another-secret-that-would-fail-the-check!")
	again, err := s.verify(token, models.AccessToken)
	if err != nil || again.ID != first.ID || again.UserID != 42 || again == first {
		t.Fatalf("verified token again: %+v, %v; want a copy of %+v", again, err, first)
	}
	again.UserID = 7 // a caller's copy: changing it changes nothing remembered
	if c, err := s.verify(token, models.AccessToken); err != nil || c.UserID != 42 {
		t.Fatalf("after a caller changed its claims: %+v, %v", c, err)
	}
	s.secret = secret
	invalid := func(name, token, typ string) {
		t.Helper()
		var me *models.Error
		if _, err := s.verify(token, typ); !errors.As(err, &me) || !me.TokenInvalid {
			t.Errorf("%s: verify = %v, want token_not_valid", name, err)
		}
	}
	invalid("as a refresh token", token, models.RefreshToken)
	// Any other bytes are checked in full: a changed signature, a changed
	// payload, trailing bytes.
	sig := strings.LastIndexByte(token, '.') + 1
	flipped := byte('A')
	if token[sig] == 'A' {
		flipped = 'B'
	}
	invalid("signature changed", token[:sig]+string(flipped)+token[sig+1:], models.AccessToken)
	// The same signature bytes written another way (base64's unused last
	// bits set) are refused too: only the encoding the server wrote.
	last := strings.IndexByte(base64URL, token[len(token)-1])
	invalid("signature re-encoded", token[:len(token)-1]+string(base64URL[last^1]), models.AccessToken)
	invalid("trailing bytes", token+"x", models.AccessToken)
	dot := strings.IndexByte(token, '.')
	at := dot + 10
	swapped := byte('a')
	if token[at] == 'a' {
		swapped = 'b'
	}
	invalid("payload changed", token[:at]+string(swapped)+token[at+1:], models.AccessToken)
	// Time is checked on every use: the memo does not outlive the token.
	now = now.Add(5*time.Minute - time.Second)
	if _, err := s.verify(token, models.AccessToken); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	now = now.Add(time.Second)
	invalid("at expiry", token, models.AccessToken)
	// And before its issue (a clock set back).
	now = now.Add(-time.Hour)
	invalid("before its iat", token, models.AccessToken)
}

// A token issued by another process whose clock runs a few seconds ahead
// is accepted at once; one "issued" further ahead than the leeway is not,
// and exp gets no leeway at all.
func TestAuthSignerClockSkew(t *testing.T) {
	secret := []byte("unit-test-secret-of-at-least-32-bytes!")
	here := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s := newSigner(secret, 5*time.Minute, 24*time.Hour, func() time.Time { return here })
	for _, tc := range []struct {
		ahead time.Duration
		ok    bool
	}{{2 * time.Second, true}, {issuedAtLeeway, true}, {issuedAtLeeway + 2*time.Second, false}, {time.Hour, false}} {
		other := newSigner(secret, 5*time.Minute, 24*time.Hour, func() time.Time { return here.Add(tc.ahead) })
		token, _, err := other.issue(models.AccessToken, 7)
		if err != nil {
			t.Fatal(err)
		}
		// Twice: the second answer comes from the memo of verified tokens.
		for range 2 {
			if _, err := s.verify(token, models.AccessToken); (err == nil) != tc.ok {
				t.Errorf("issued by a clock %v ahead: err %v, want accepted %v", tc.ahead, err, tc.ok)
			}
		}
	}
	// Issued 5 minutes ago by a clock 10 s behind: expired 10 s ago here.
	behind := newSigner(secret, 5*time.Minute, 24*time.Hour, func() time.Time { return here.Add(-5*time.Minute - 10*time.Second) })
	token, _, err := behind.issue(models.AccessToken, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.verify(token, models.AccessToken); err == nil {
		t.Error("a token past its exp is accepted: exp must have no leeway")
	}
}

// The memo is bounded, and a full one forgets expired tokens first, then
// others, down to three quarters; refresh tokens and other spellings of a
// token never get in.
func TestAuthSignerVerifiedTokensBounded(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s := newSigner([]byte("unit-test-secret-of-at-least-32-bytes!"), 5*time.Minute, 24*time.Hour, func() time.Time { return now })
	issueAndVerify := func(typ string) string {
		t.Helper()
		token, _, err := s.issue(typ, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.verify(token, typ); err != nil {
			t.Fatal(err)
		}
		return token
	}
	refresh := issueAndVerify(models.RefreshToken)
	if s.verified.get(refresh) != nil {
		t.Error("a refresh token was remembered")
	}
	early := issueAndVerify(models.AccessToken)
	// Another spelling of the same token (newlines, which Go's base64
	// skips) is refused outright, never remembered.
	sig := strings.LastIndexByte(early, '.') + 1
	for _, spelled := range []string{early[:sig+4] + "\n" + early[sig+4:], early[:sig+4] + "\r\n" + early[sig+4:], early + strings.Repeat("=", 2000)} {
		if _, err := s.verify(spelled, models.AccessToken); err == nil {
			t.Errorf("verify(%q) accepted another spelling of a token", spelled)
		}
	}
	now = now.Add(time.Minute)
	for range maxVerifiedTokens - 1 {
		issueAndVerify(models.AccessToken)
	}
	if got := len(s.verified.m); got != maxVerifiedTokens {
		t.Fatalf("%d remembered, want %d", got, maxVerifiedTokens)
	}
	now = now.Add(4*time.Minute + time.Second) // early has expired, the others not
	last := issueAndVerify(models.AccessToken)
	if got, want := len(s.verified.m), maxVerifiedTokens*3/4+1; got != want {
		t.Fatalf("%d remembered after one more, want %d", got, want)
	}
	if s.verified.get(early) != nil || s.verified.get(last) == nil {
		t.Error("the expired token was kept, or the new one not remembered")
	}
	for range 100 {
		issueAndVerify(models.AccessToken)
	}
	if got, want := len(s.verified.m), maxVerifiedTokens*3/4+101; got != want {
		t.Errorf("%d remembered, want %d: no sweep until full again", got, want)
	}
}

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// A token longer than any this server signs is refused before it is
// decoded or its HMAC computed; one of the longest length allowed is still
// read (and refused by its signature only).
func TestWellFormedTokenLength(t *testing.T) {
	t.Parallel()
	part := func(n int) string { return strings.Repeat("a", n) }
	longest := part(10) + "." + part(maxTokenLen-22) + "." + part(10)
	if len(longest) != maxTokenLen || !wellFormedToken(longest) {
		t.Errorf("a token of %d characters is not well formed", len(longest))
	}
	if tooLong := longest + "a"; wellFormedToken(tooLong) {
		t.Errorf("a token of %d characters is well formed", len(tooLong))
	}
	if maxTokenLen > 4096 {
		t.Errorf("maxTokenLen = %d: a bound far above the 300 bytes of our tokens lets a client make each request decode that much", maxTokenLen)
	}
}
