package handlers

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Limit is a number of events allowed per window.
type Limit struct {
	Events int
	Window time.Duration
}

// windowCounter counts events per key in fixed windows that start at each
// key's first event. It is per process: the contract allows that for rate
// limits (revocation, by contrast, lives in the database).
type windowCounter struct {
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

func newWindowCounter(l Limit, now func() time.Time) *windowCounter {
	return &windowCounter{limit: l, now: now, windows: map[string]*window{}}
}

// current returns key's live window, or nil. Callers hold mu.
func (w *windowCounter) current(key string, now time.Time) *window {
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

// blocked reports how long key must wait, if it has used its limit.
func (w *windowCounter) blocked(key string) (time.Duration, bool) {
	if w.limit.Events <= 0 {
		return 0, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	win := w.current(key, now)
	if win == nil || win.count < w.limit.Events {
		return 0, false
	}
	return win.start.Add(w.limit.Window).Sub(now), true
}

// add counts one event for key.
func (w *windowCounter) add(key string) {
	if w.limit.Events <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	win := w.current(key, now)
	if win == nil {
		win = &window{start: now}
		w.windows[key] = win
	}
	win.count++
}

// take counts one event for key unless it is over its limit.
func (w *windowCounter) take(key string) (time.Duration, bool) {
	if wait, over := w.blocked(key); over {
		return wait, false
	}
	w.add(key)
	return 0, true
}

// reset forgets key (a successful login clears its failures).
func (w *windowCounter) reset(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.windows, key)
}

// errThrottled is DRF's 429.
func errThrottled(wait time.Duration) *httpError {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return &httpError{status: http.StatusTooManyRequests, retryAfter: secs,
		detail: fmt.Sprintf("Request was throttled. Expected available in %d %s.", secs, unit)}
}
