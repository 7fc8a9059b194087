package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"healthcare/models/modelstest"
)

func TestAuthErrThrottled(t *testing.T) {
	tests := []struct {
		wait       time.Duration
		wantSecs   int
		wantDetail string
	}{
		{0, 1, "Request was throttled. Expected available in 1 second."},
		{-time.Second, 1, "Request was throttled. Expected available in 1 second."},
		{500 * time.Millisecond, 1, "Request was throttled. Expected available in 1 second."},
		{time.Second, 1, "Request was throttled. Expected available in 1 second."},
		{time.Second + time.Millisecond, 2, "Request was throttled. Expected available in 2 seconds."},
		{59*time.Second + 100*time.Millisecond, 60, "Request was throttled. Expected available in 60 seconds."},
		{15 * time.Minute, 900, "Request was throttled. Expected available in 900 seconds."},
	}
	for _, tc := range tests {
		e := errThrottled(tc.wait)
		if e.status != http.StatusTooManyRequests || e.retryAfter != tc.wantSecs || e.detail != tc.wantDetail {
			t.Errorf("errThrottled(%v) = %d, Retry-After %d, %q; want 429, %d, %q",
				tc.wait, e.status, e.retryAfter, e.detail, tc.wantSecs, tc.wantDetail)
		}
	}
}

// The per-email login lock and the per-address limits must admit at most
// Events attempts however many arrive at once: a check and a count that
// are not one atomic step let concurrent attempts slip past the limit.
// The race is probabilistic, so rounds repeat (bounded in time) until it
// shows; a correct limiter never admits more.
func TestAuthLimiterTakeIsAtomic(t *testing.T) {
	const events, goroutines = 10, 64
	deadline := time.Now().Add(2 * time.Second)
	for round := 0; round < 20000 && time.Now().Before(deadline); round++ {
		a := New(nil, Options{LoginFailures: Limit{Events: events, Window: time.Hour}},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		var admitted atomic.Int32
		modelstest.AtOnce(goroutines, func(int) {
			if _, ok := a.opts.LoginThrottle.Take("victim@example.com"); ok {
				admitted.Add(1)
			}
		})
		if n := admitted.Load(); n != events {
			t.Fatalf("round %d: %d concurrent Take calls admitted %d, want exactly %d (the limit)", round, goroutines, n, events)
		}
	}
}
