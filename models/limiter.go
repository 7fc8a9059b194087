package models

import (
	"sync"
	"time"
)

// Limit is a number of events allowed per window.
type Limit struct {
	Events int
	Window time.Duration
}

// Limiter counts events per key in fixed windows that start at each
// key's first event. It is per process: the contract allows that for rate
// limits (revocation, by contrast, lives in the database).
type Limiter struct {
	limit Limit
	now   func() time.Time

	mu      sync.Mutex
	windows map[string]*window
	sweep   time.Time
}

type window struct {
	start time.Time
	count int
}

// NewLimiter returns a Limiter of l events per window, on clock now.
func NewLimiter(l Limit, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{limit: l, now: now, windows: map[string]*window{}}
}

// current returns key's live window, or nil. Callers hold mu.
func (w *Limiter) current(key string, now time.Time) *window {
	if now.Sub(w.sweep) > w.limit.Window {
		// Forget finished windows now and then, so memory follows the number
		// of recent keys, not of every key ever seen.
		for k, win := range w.windows {
			if now.Sub(win.start) >= w.limit.Window {
				delete(w.windows, k)
			}
		}
		w.sweep = now
	}
	win := w.windows[key]
	if win != nil && now.Sub(win.start) >= w.limit.Window {
		delete(w.windows, key)
		return nil
	}
	return win
}

// Take counts one event for key unless it is over its limit. The check
// and the count happen under one lock: concurrent callers never get more
// than the limit between them.
func (w *Limiter) Take(key string) (time.Duration, bool) {
	if w.limit.Events <= 0 {
		return 0, true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	win := w.current(key, now)
	if win != nil && win.count >= w.limit.Events {
		return win.start.Add(w.limit.Window).Sub(now), false
	}
	if win == nil {
		win = &window{start: now}
		w.windows[key] = win
	}
	win.count++
	return 0, true
}

// Undo takes back one event of key (one that turned out not to count).
func (w *Limiter) Undo(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if win := w.windows[key]; win != nil && win.count > 0 {
		win.count--
	}
}

// Reset forgets key (a successful login clears its failures).
func (w *Limiter) Reset(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.windows, key)
}
