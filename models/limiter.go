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
	settled chan struct{} // closed, and replaced, when a reserved event settles
}

type window struct {
	start   time.Time
	count   int
	pending int // of count, events reserved and not settled yet (Reserve)
}

// NewLimiter returns a Limiter of l events per window, on clock now.
func NewLimiter(l Limit, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{limit: l, now: now, windows: map[string]*window{}, settled: make(chan struct{})}
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
	wait, ok, _ := w.take(key, false)
	return wait, ok
}

// Reserve is Take for an event whose outcome is not known yet (a password
// being checked): it counts until it settles, with Keep (it counts), Undo
// (it does not) or Reset. Refused while some of key's events are still
// pending, it also returns a channel closed when one of the limiter's
// reserved events settles: the refusal may be lifted then. Twelve
// concurrent right passwords for one email were otherwise refused past
// the tenth, told to wait the lock's 15 minutes, a lock no failure had
// earned.
func (w *Limiter) Reserve(key string) (wait time.Duration, ok bool, settled <-chan struct{}) {
	return w.take(key, true)
}

func (w *Limiter) take(key string, reserve bool) (time.Duration, bool, <-chan struct{}) {
	if w.limit.Events <= 0 {
		return 0, true, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	win := w.current(key, now)
	if win != nil && win.count >= w.limit.Events {
		var settled <-chan struct{}
		if win.pending > 0 {
			settled = w.settled
		}
		return win.start.Add(w.limit.Window).Sub(now), false, settled
	}
	if win == nil {
		win = &window{start: now}
		w.windows[key] = win
	}
	win.count++
	if reserve {
		win.pending++
	}
	return 0, true, nil
}

// Keep settles a reserved event of key as counted.
func (w *Limiter) Keep(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if win := w.windows[key]; win != nil && win.pending > 0 {
		win.pending--
	}
	w.announce()
}

// Undo takes back one event of key (one that turned out not to count),
// settling it if it was reserved.
func (w *Limiter) Undo(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if win := w.windows[key]; win != nil && win.count > 0 {
		win.count--
		if win.pending > 0 {
			win.pending--
		}
	}
	w.announce()
}

// Reset forgets key (a successful login clears its failures), settling
// its reserved events.
func (w *Limiter) Reset(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.windows, key)
	w.announce()
}

// announce wakes the callers that Reserve refused. Callers hold mu.
func (w *Limiter) announce() {
	close(w.settled)
	w.settled = make(chan struct{})
}
