package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// The guard's rules, which the API and the admin panel both rely on:
// attempts per address, a failure slot per email taken before the
// password is checked, a lock that holds against the right password, slots
// given back for refusals that were no guess, and a reset on success.
func TestLoginGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.Store(t)
	const password = "correct-Horse-battery-9"
	u, err := s.CreateUser(ctx, models.NewUser{Name: "Guarded", Email: "guarded@example.com", Password: password, IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	perIP := models.NewLimiter(models.Limit{Events: 2, Window: time.Minute}, clock)
	perEmail := models.NewLimiter(models.Limit{Events: 3, Window: 15 * time.Minute}, clock)
	var reported []bool
	g := models.NewLoginGuard(s, perIP, perEmail, func(ok bool) { reported = append(reported, ok) })
	throttled := func(err error) string {
		var th *models.Throttled
		if errors.As(err, &th) {
			return th.Limiter
		}
		return ""
	}

	for i, want := range []string{"", "", "login_ip"} {
		if got := throttled(g.Admit("192.0.2.1")); got != want {
			t.Fatalf("attempt %d from one address: throttled by %q, want %q", i+1, got, want)
		}
	}
	if err := g.Admit("192.0.2.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}

	refuse := errors.New("refused")
	// Refused by accept: the right password, so the slot goes back.
	for range 5 {
		if _, err := g.Check(ctx, u.Email, password, func(*models.User) error { return refuse }); !errors.Is(err, refuse) {
			t.Fatalf("accept's refusal: %v", err)
		}
	}
	// Wrong passwords take the three slots (any case of the email).
	for i, email := range []string{u.Email, "GUARDED@example.com", u.Email} {
		if _, err := g.Check(ctx, email, "wrong", nil); models.ErrorCode(err) != models.Unauthorized {
			t.Fatalf("wrong password %d: %v", i+1, err)
		}
	}
	// Locked: even the right password is refused, and not reported.
	if _, err := g.Check(ctx, u.Email, password, nil); throttled(err) != "login_email" {
		t.Fatalf("right password while locked: %v", err)
	}
	if want := []bool{false, false, false}; len(reported) != len(want) {
		t.Fatalf("reported %v, want %v", reported, want)
	}
	// The window passes; the right password logs in and clears the count.
	now = now.Add(15*time.Minute + time.Second)
	got, err := g.Check(ctx, u.Email, password, nil)
	if err != nil || got.ID != u.ID {
		t.Fatalf("after the window: %v, %v", got, err)
	}
	// A success is the caller's to report, once the login is complete.
	if len(reported) != 3 {
		t.Errorf("Check reported a success itself: %v", reported)
	}
	g.LoggedIn()
	if len(reported) != 4 || !reported[3] {
		t.Errorf("LoggedIn: reported %v", reported)
	}
	for i := range 3 {
		if _, err := g.Check(ctx, u.Email, "wrong", nil); models.ErrorCode(err) != models.Unauthorized {
			t.Fatalf("after a success, wrong password %d: %v", i+1, err)
		}
	}
	// A check that fails for another reason (here, a cancelled request)
	// gives its slot back too.
	now = now.Add(15*time.Minute + time.Second)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for range 5 {
		if _, err := g.Check(cancelled, u.Email, password, nil); err == nil || throttled(err) != "" {
			t.Fatalf("cancelled check: %v", err)
		}
	}
	if _, err := g.Check(ctx, u.Email, password, nil); err != nil {
		t.Fatalf("after cancelled checks: %v", err)
	}
}

// An email far longer than any account's is locked like any other, and
// apart from another long one that differs only at its end.
func TestLoginGuardLongEmails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.Store(t)
	clock := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	perIP := models.NewLimiter(models.Limit{Events: 100, Window: time.Minute}, clock)
	perEmail := models.NewLimiter(models.Limit{Events: 2, Window: 15 * time.Minute}, clock)
	g := models.NewLoginGuard(s, perIP, perEmail, func(bool) {})
	long := strings.Repeat("x", 1<<20) + "@example.com"
	for i, wantLocked := range []bool{false, false, true} {
		_, err := g.Check(ctx, long, "wrong", nil)
		var th *models.Throttled
		if locked := errors.As(err, &th); locked != wantLocked || (!locked && models.ErrorCode(err) != models.Unauthorized) {
			t.Fatalf("attempt %d with a 1 MiB email: %v, want locked %v", i+1, err, wantLocked)
		}
	}
	if _, err := g.Check(ctx, long+"y", "wrong", nil); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("another long email is locked with the first: %v", err)
	}
}
