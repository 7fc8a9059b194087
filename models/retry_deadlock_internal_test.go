package models

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A deadlock's victim runs again after a pause at each retry (an immediate
// retry could take the woken winner's row first and be its victim again),
// at most deadlockRetries times; a victim still is a 503, not a 500.
func TestRetryDeadlockPausesThenGivesUpAsUnavailable(t *testing.T) {
	t.Parallel()
	deadlock := func() error { return translate(&pgconn.PgError{Code: "40P01", Message: "deadlock detected"}) }

	runs := 0
	var pauses []int
	err := retryDeadlockAfter(context.Background(), func() error { runs++; return deadlock() },
		func(attempt int) bool { pauses = append(pauses, attempt); return true })
	if runs != deadlockRetries+1 || !slices.Equal(pauses, []int{0, 1, 2}[:deadlockRetries]) {
		t.Errorf("%d runs, pauses before retries %v; want %d runs, a pause before each retry", runs, pauses, deadlockRetries+1)
	}
	if ErrorCode(err) != Unavailable || !isDeadlock(err) {
		t.Errorf("a victim after its retries: %v (code %q), want Unavailable, its cause the deadlock", err, ErrorCode(err))
	}

	// Done once a run succeeds; other errors are not retried.
	runs = 0
	err = retryDeadlockAfter(context.Background(), func() error {
		if runs++; runs == 1 {
			return deadlock()
		}
		return nil
	}, func(int) bool { return true })
	if err != nil || runs != 2 {
		t.Errorf("a deadlock then success: %v after %d runs, want nil after 2", err, runs)
	}
	runs = 0
	conflict := &Error{Code: Conflict, Message: "Duplicate value."}
	if err := retryDeadlockAfter(context.Background(), func() error { runs++; return conflict }, func(int) bool { return true }); err != conflict || runs != 1 {
		t.Errorf("another error: %v after %d runs, want it at once", err, runs)
	}

	// A request that ends during the pause is not run again.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	runs = 0
	if err := retryDeadlock(ctx, func() error { runs++; return deadlock() }); !isDeadlock(err) || runs != 1 {
		t.Errorf("an ended request: %v after %d runs, want its deadlock after 1", err, runs)
	}
}
