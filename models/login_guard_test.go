package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
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

// Reserved events count against the limit until they settle; a refusal
// while some are pending says when one settles, so that it may be tried
// again; settled as not counting, they free their slots.
func TestLimiterReservations(t *testing.T) {
	t.Parallel()
	l := models.NewLimiter(models.Limit{Events: 2, Window: time.Minute}, nil)
	var held []*models.Reservation
	for range 2 {
		r, _, _ := l.Reserve("k")
		if r == nil {
			t.Fatal("a reservation under the limit refused")
		}
		held = append(held, r)
	}
	r, wait, settled := l.Reserve("k")
	if r != nil || settled == nil || wait <= 0 {
		t.Fatalf("at the limit with two pending: reserved %v, settled %v, wait %v", r != nil, settled, wait)
	}
	held[0].Undo() // one turned out not to count
	select {
	case <-settled:
	default:
		t.Fatal("a settled reservation woke no one")
	}
	third, _, _ := l.Reserve("k")
	if third == nil {
		t.Fatal("a slot given back was not free")
	}
	held[1].Keep()
	third.Keep()
	third.Keep() // settles once
	if r, _, settled := l.Reserve("k"); r != nil || settled != nil {
		t.Fatalf("at the limit with every event counted: reserved %v, settled %v; want a plain refusal", r != nil, settled)
	}
	// Take's events are never pending.
	if r, _, settled := l.Reserve("other"); r == nil || settled != nil {
		t.Fatal("another key")
	}
	l.Take("other")
	if r, _, settled := l.Reserve("other"); r != nil || settled == nil {
		t.Fatalf("one pending of two: reserved %v, settled %v", r != nil, settled)
	}
}

// A reservation settles in the window it was counted in. After a reset (a
// success) or the window's end, its Keep must not settle another check
// still running in the new window (a right password would then be refused
// for the whole window instead of waiting for it), nor its Undo free a
// slot a wrong guess holds there (one more guess than the limit).
func TestLimiterReservationsStayInTheirWindow(t *testing.T) {
	t.Parallel()
	l := models.NewLimiter(models.Limit{Events: 2, Window: 15 * time.Minute}, nil)
	l.Reserve("k")            // a right password
	b, _, _ := l.Reserve("k") // a wrong one, slow
	l.Reset("k")              // the right password succeeded
	c, _, _ := l.Reserve("k") // a right password, still running
	x, _, _ := l.Reserve("k") // a wrong one
	x.Keep()
	b.Keep() // of the window before
	if r, _, settled := l.Reserve("k"); r != nil || settled == nil {
		t.Errorf("with c still running: reserved %v, settled %v; want to wait for c", r != nil, settled)
	}
	c.Undo()

	now := time.Unix(0, 0)
	l = models.NewLimiter(models.Limit{Events: 2, Window: 15 * time.Minute}, func() time.Time { return now })
	slow, _, _ := l.Reserve("k") // near the window's end; ends in Undo (a database error)
	now = now.Add(15 * time.Minute)
	wrong := 0
	for range 2 {
		if r, _, _ := l.Reserve("k"); r != nil {
			wrong++
			r.Keep()
		}
	}
	slow.Undo()
	if r, _, _ := l.Reserve("k"); r != nil {
		wrong++
		r.Keep()
	}
	if wrong != 2 {
		t.Errorf("%d wrong guesses checked in one window of limit 2", wrong)
	}
}

// More concurrent logins with the right password than the per-email lock
// allows all succeed: a check waits for the checks still running instead
// of being refused, 429 "available in 900 seconds", by a lock that no
// failure had earned.
func TestLoginGuardConcurrentRightPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.Store(t)
	const password = "correct-Horse-battery-9"
	u, err := s.CreateUser(ctx, models.NewUser{Name: "Shared", Email: "shared@example.com", Password: password, IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	perIP := models.NewLimiter(models.Limit{}, nil)
	perEmail := models.NewLimiter(models.Limit{Events: 2, Window: 15 * time.Minute}, nil)
	g := models.NewLoginGuard(s, perIP, perEmail, nil)
	// Each hash, once it has its slot, waits until every login has asked:
	// the later ones find the email's slots taken by checks still running.
	const logins = 6
	var asked sync.WaitGroup
	asked.Add(logins)
	s.Hasher().ShareCPUWith(func() int64 {
		asked.Wait()
		return 0
	})
	errs := make(chan error, logins)
	for range logins {
		go func() {
			checked := make(chan struct{})
			go func() {
				// Asked once its reservation is refused or taken: give it
				// the time a refusal would take, then count it as asked.
				select {
				case <-checked:
				case <-time.After(200 * time.Millisecond):
				}
				asked.Done()
			}()
			_, err := g.Check(ctx, u.Email, password, nil)
			close(checked)
			errs <- err
		}()
	}
	for range logins {
		if err := <-errs; err != nil {
			t.Errorf("a concurrent login with the right password: %v", err)
		}
	}
}
