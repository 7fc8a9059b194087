package models

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// A deadlock's victim runs again after a pause at each retry (an immediate
// retry could take the woken winner's row first and be its victim again),
// at most deadlockRetries times; a victim still is a 503, not a 500. The
// pauses double, with jitter, and end with the request.
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
	if ErrorCode(err) != Unavailable || !isDeadlock(Cause(err)) {
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

	// A request that has ended is not run again, nor waited for.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	runs = 0
	if err := retryDeadlock(ctx, func() error { runs++; return deadlock() }); !isDeadlock(err) || runs != 1 {
		t.Errorf("an ended request: %v after %d runs, want its deadlock after 1", err, runs)
	}
	if sleepCtx(ctx, time.Hour) {
		t.Error("a pause outlasted its request")
	}

	for attempt := range deadlockRetries {
		low := deadlockBackoff << attempt
		for range 100 {
			if d := deadlockPause(attempt); d < low || d >= 2*low {
				t.Fatalf("pause before retry %d: %v, want in [%v, %v)", attempt+1, d, low, 2*low)
			}
		}
	}
}
