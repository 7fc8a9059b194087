package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// LoginGuard is a password login under the limits that the API and the
// admin panel share (main gives both the same Limiters): every attempt
// counts against its client address first, and takes a failure slot of
// its email before the password is checked, so concurrent guesses, through
// either door, cannot overshoot the lock. A locked email stays locked for
// its window even with the right password: otherwise the lock would only
// slow a guesser down.
type LoginGuard struct {
	store    *Store
	perIP    *Limiter
	perEmail *Limiter
	onLogin  func(success bool)
}

// NewLoginGuard returns a guard of store's logins. onLogin, if not nil,
// hears of every failure for bad credentials and every success that the
// caller reports (LoggedIn) once the login has done what it does: metrics
// count them.
func NewLoginGuard(store *Store, perIP, perEmail *Limiter, onLogin func(success bool)) *LoginGuard {
	if onLogin == nil {
		onLogin = func(bool) {}
	}
	return &LoginGuard{store: store, perIP: perIP, perEmail: perEmail, onLogin: onLogin}
}

// Throttled is the error of an attempt that a login limit refused.
type Throttled struct {
	Limiter string        // "login_ip" or "login_email", as metrics name them
	Wait    time.Duration // until the limit allows another attempt
}

func (e *Throttled) Error() string { return "login refused by the " + e.Limiter + " limit" }

// Admit counts an attempt from the client address ip: a *Throttled error
// when there were too many.
func (g *LoginGuard) Admit(ip string) error {
	if wait, ok := g.perIP.Take(ip); !ok {
		return &Throttled{Limiter: "login_ip", Wait: wait}
	}
	return nil
}

// Check returns the active user with email and password
// (Store.Authenticate), or a *Throttled error while the email is locked.
// accept, if not nil, may still refuse that user (the admin panel refuses
// non-staff): the password was right, so that was no guess; the failure
// slot goes back and accept's error is returned. A success is not reported
// yet: the caller reports it with LoggedIn once it has issued what the
// login gives (tokens, a session).
func (g *LoginGuard) Check(ctx context.Context, email, password string, accept func(*User) error) (*User, error) {
	var u *User
	err := g.guess(ctx, email, func() (bool, error) {
		var err error
		if u, err = g.store.Authenticate(ctx, email, password); err != nil {
			if ErrorCode(err) == Unauthorized {
				g.onLogin(false)
				return true, err
			}
			return false, err
		}
		if accept != nil {
			return false, accept(u)
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ChangePassword is Store.ChangeOwnPassword for the signed-in user u under
// the per-email lock of the logins: a wrong old password takes a failure
// slot, so a stolen session cannot guess the password (which may open
// other doors) faster than the login form could, and a locked email is
// refused with a *Throttled error.
func (g *LoginGuard) ChangePassword(ctx context.Context, u *User, oldPassword, newField, password, keepToken string, found FieldErrors) error {
	return g.guess(ctx, u.Email, func() (bool, error) {
		err := g.store.ChangeOwnPassword(ctx, u.ID, oldPassword, newField, password, keepToken, found)
		var e *Error
		return errors.As(err, &e) && len(e.Fields["old_password"]) > 0, err
	})
}

// guess runs attempt, a check of email's password, under the per-email
// lock: it takes a failure slot first (a *Throttled error while the email
// is locked), so concurrent guesses cannot overshoot the lock. A wrong
// password (attempt says so) keeps the slot; any other failure gives it
// back (the password was right, or never checked); a success resets the
// email's count. While the slots are full only of checks still running,
// it waits for them (within ctx): they may turn out right, and free theirs.
func (g *LoginGuard) guess(ctx context.Context, email string, attempt func() (wrongPassword bool, err error)) error {
	key := emailLimitKey(email)
	var slot *Reservation
	for {
		r, wait, settled := g.perEmail.Reserve(key)
		if r != nil {
			slot = r
			break
		}
		if settled == nil {
			return &Throttled{Limiter: "login_email", Wait: wait}
		}
		select {
		case <-settled:
		case <-ctx.Done():
			// The checks before it did not finish in time: the lock is
			// theirs, not failures', so it may lift at once.
			return &Throttled{Limiter: "login_email", Wait: time.Second}
		}
	}
	// Settled however attempt ends: a slot left pending would keep later
	// attempts waiting for it until the window ends.
	wrong, err := false, errCheckUnfinished
	defer func() {
		switch {
		case wrong:
			slot.Keep()
		case err != nil:
			slot.Undo()
		default:
			g.perEmail.Reset(key)
		}
	}()
	wrong, err = attempt()
	return err
}

// errCheckUnfinished is a password check's outcome until it returns.
var errCheckUnfinished = errors.New("the password check did not finish")

// LoggedIn reports a login that Check accepted and the caller completed.
func (g *LoginGuard) LoggedIn() { g.onLogin(true) }

// maxEmailKey is the longest email the per-email limiter keeps as its key:
// no account has a longer one (validate.go).
const maxEmailKey = 254

// emailLimitKey is the per-email limiter's key for email. The limiter keeps
// a key for the whole window, and a login body may be a megabyte: a longer
// email is kept as its SHA-256 instead, so failed logins with huge emails
// cannot pin memory (100 of 1 MiB pinned 100 MiB for 15 minutes).
func emailLimitKey(email string) string {
	key := NormalizeEmail(email)
	if len(key) <= maxEmailKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}
