package models

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Store runs every query of the application. Ownership rules live here, in
// the WHERE clauses, so no caller can forget them.
type Store struct {
	db     *gorm.DB
	hasher *Hasher
	// tokens caches verified access tokens while StartTokenCache runs.
	tokens atomic.Pointer[tokenCache]
	audits *auditWriter
	// lists remembers costly facts about owners' patient lists.
	lists *listMemo
	// zone is the clinic's time zone (SetTimeZone): what today is.
	zone atomic.Pointer[time.Location]
}

// NewStore returns a Store over db that hashes passwords with hasher.
func NewStore(db *gorm.DB, hasher *Hasher) *Store {
	return &Store{db: db, hasher: hasher, audits: newAuditWriter(db), lists: newListMemo()}
}

// SetTimeZone makes loc the clinic's time zone (TIME_ZONE), whose date is
// Today; UTC until it is called. Times are stored in UTC whatever it is.
func (s *Store) SetTimeZone(loc *time.Location) { s.zone.Store(loc) }

// TimeZone is the clinic's time zone (SetTimeZone), UTC by default.
func (s *Store) TimeZone() *time.Location {
	if loc := s.zone.Load(); loc != nil {
		return loc
	}
	return time.UTC
}

// DB returns the underlying handle, for tests that look at the tables
// directly (the health check uses Ping).
func (s *Store) DB() *gorm.DB { return s.db }

// Hasher returns the password hasher the store uses.
func (s *Store) Hasher() *Hasher { return s.hasher }

// Ping reports whether the database answers within ctx.
func (s *Store) Ping(ctx context.Context) error { return Ping(ctx, s.db) }

// Finishing is ctx without its cancellation but with its deadline, for
// work that must complete once a request has been received whole: a
// logout, a revocation, the record of a check that was made. A client
// that hangs up (net/http cancels its request's context) would otherwise
// roll the logout back, leaving its tokens or session live, or give a
// wrong password's failure back to the per-email lock; the deadline still
// bounds the work. Call the CancelFunc when done.
func Finishing(ctx context.Context) (context.Context, context.CancelFunc) {
	detached := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(detached, deadline)
	}
	return context.WithCancel(detached)
}

// Row lock strengths for locked, on PostgreSQL.
const (
	// lockToEdit holds rows against other writers and deletion. NO KEY
	// UPDATE: the editors change no key, so inserts that reference the rows
	// (a mapping of a doctor being edited) need not wait.
	lockToEdit = "NO KEY UPDATE"
	// lockToDelete also holds off inserts that would reference the rows.
	lockToDelete = clause.LockingStrengthUpdate
	// lockToKeep keeps others from changing or deleting the rows.
	lockToKeep = clause.LockingStrengthShare
	// lockToReference keeps the rows from being deleted while a row that
	// references them is written: what a foreign key's check takes, taken
	// earlier to keep every writer's lock order.
	lockToReference = "KEY SHARE"
)

// locked makes tx's reads lock the rows they read until tx ends, with
// strength, on PostgreSQL. SQLite has no row locks and needs none: its
// write transactions begin IMMEDIATE, holding the database's one write
// lock from the start.
func locked(tx *gorm.DB, strength string) *gorm.DB {
	if tx.Dialector.Name() == Postgres {
		return tx.Clauses(clause.Locking{Strength: strength})
	}
	return tx
}

// foundOne checks that a statement meant for one row (an UPDATE or DELETE
// by id) found it: none is NotFound.
func foundOne(res *gorm.DB) error {
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return notFound()
	}
	return nil
}

// deleteReturningIDs deletes the rows of T that where (with args) selects
// and returns the ids of those this statement removed, in id order. A
// deletion records an event per row from this list, not from ids read
// before: under PostgreSQL's READ COMMITTED a concurrent deletion can take
// some rows between a read and the DELETE, which then skips them, and
// their events would be recorded twice.
func deleteReturningIDs[T any](tx *gorm.DB, where string, args ...any) ([]int64, error) {
	var gone []T
	err := tx.Clauses(clause.Returning{Columns: []clause.Column{{Name: "id"}}}).Where(where, args...).Delete(&gone).Error
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(gone))
	for i := range gone {
		ids[i] = adminRowID(&gone[i])
	}
	slices.Sort(ids)
	return ids, nil
}

// deadlockRetries is how many more times retryDeadlock runs a transaction
// that PostgreSQL ended as a deadlock's victim; deadlockBackoff is the
// first pause before it does (doubled at each retry, plus up to as much
// again at random).
//
// Without a pause the victim ran again at once, and could lock the row
// the woken winner was waiting for before the winner's process was back
// on a CPU (PostgreSQL gives a freed row to whoever asks first), and meet
// it in the same deadlock, as its victim again: under load, three times
// in a row, a 500 (a helper reproduced it by pausing the winner's backend
// for 1 ms at each wake).
const (
	deadlockRetries = 3
	deadlockBackoff = 20 * time.Millisecond
)

// retryDeadlock runs txn (one whole transaction) and runs it again while
// PostgreSQL ends it as the victim of a deadlock (SQLSTATE 40P01), up to
// deadlockRetries more times. Writers take rows in one order (patients
// before owners and doctors, lockForDelete), but the two counters a
// patient's owner has (patient_counts, mapping_counts) are kept by
// triggers whose order a statement decides: an admin save moving a
// patient to an owner while that owner's patient is deleted can meet them
// in opposite orders. The victim was rolled back whole and the other side
// has gone on, so running it again is what PostgreSQL's manual advises;
// txn must start from the caller's state each time.
//
// A victim still after its retries is a busy database, answered 503 (try
// again: nothing changed), not a bug; a deadlock anywhere else stays an
// internal error, since there it means writers that take rows out of order.
func retryDeadlock(ctx context.Context, txn func() error) error {
	return retryDeadlockAfter(ctx, txn, func(attempt int) bool { return sleepCtx(ctx, deadlockPause(attempt)) })
}

// deadlockPause is the pause before retry attempt+1: deadlockBackoff
// doubled attempt times, plus up to as much again at random, so that two
// victims of one deadlock do not meet again in step.
func deadlockPause(attempt int) time.Duration {
	d := deadlockBackoff << attempt
	return d + rand.N(d)
}

// retryDeadlockAfter is retryDeadlock with its pause before each retry
// given: pause(attempt) reports whether to go on (tests count the pauses).
func retryDeadlockAfter(ctx context.Context, txn func() error, pause func(attempt int) bool) error {
	for attempt := 0; ; attempt++ {
		err := txn()
		if ctx.Err() != nil || !isDeadlock(err) {
			return err
		}
		if attempt == deadlockRetries || !pause(attempt) {
			return unavailable(err)
		}
	}
}

// tx runs fn in a transaction bound to ctx and translates its error.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return translate(s.db.WithContext(ctx).Transaction(fn))
}

// sleepCtx waits d or until ctx ends, and reports whether it waited d.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// WithTakenEmail adds to the validation error err of a user or doctor
// (objectType ObjectUser or ObjectDoctor) being created (id 0) or edited
// that email is taken by another, as DRF reports a unique field along with
// the others; any other err is returned as is. Only the error path asks: a
// valid request meets the unique index instead, which also decides races.
func (s *Store) WithTakenEmail(ctx context.Context, err error, objectType string, id int64, email string) error {
	return withTakenEmail(s.db.WithContext(ctx), err, objectType, id, email)
}

// withTakenEmail is WithTakenEmail on db (a transaction's, say).
func withTakenEmail(db *gorm.DB, err error, objectType string, id int64, email string) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != Invalid || e.Fields == nil || len(e.Fields["email"]) > 0 {
		return err
	}
	if email = NormalizeEmail(email); email == "" {
		return err
	}
	// Users' emails are stored folded; doctors' keep the folded one as a key.
	q, msg := db.Model(&User{}).Where("email = ?", email), msgUserEmailTaken
	if objectType == ObjectDoctor {
		q, msg = db.Model(&Doctor{}).Where("email_key = ?", email), msgDoctorEmailTaken
	}
	var taken []int64
	if qerr := q.Where("id <> ?", id).Limit(1).Pluck("id", &taken).Error; qerr != nil {
		return translate(qerr)
	}
	if len(taken) > 0 {
		e.Fields["email"] = []string{msg}
	}
	return err
}
