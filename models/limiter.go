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
	_, wait, ok, _ := w.take(key, false)
	return wait, ok
}

// Reservation is an event that Reserve counted and that has not settled:
// Keep counts it, Undo takes it back. It settles in the window it was
// counted in: once that window has ended or been Reset, settling it
// changes no count (it would have freed, or hidden, another window's slot).
type Reservation struct {
	l   *Limiter
	key string
	win *window // nil when the limit is off
}

// Reserve is Take for an event whose outcome is not known yet (a password
// being checked): it counts until it settles (Reservation.Keep, Undo, or a
// Reset of key). Refused (nil) while some of key's events are still
// pending, it also returns a channel closed when one of the limiter's
// reserved events settles: the refusal may be lifted then. Twelve
// concurrent right passwords for one email were otherwise refused past
// the tenth, told to wait the lock's 15 minutes, a lock no failure had
// earned.
func (w *Limiter) Reserve(key string) (r *Reservation, wait time.Duration, settled <-chan struct{}) {
	win, wait, ok, settled := w.take(key, true)
	if !ok {
		return nil, wait, settled
	}
	return &Reservation{l: w, key: key, win: win}, 0, nil
}

func (w *Limiter) take(key string, reserve bool) (*window, time.Duration, bool, <-chan struct{}) {
	if w.limit.Events <= 0 {
		return nil, 0, true, nil
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
		return nil, win.start.Add(w.limit.Window).Sub(now), false, settled
	}
	if win == nil {
		win = &window{start: now}
		w.windows[key] = win
	}
	win.count++
	if reserve {
		win.pending++
	}
	return win, 0, true, nil
}

// Keep settles r as counted.
func (r *Reservation) Keep() { r.settle(false) }

// Undo settles r as not counted (it turned out to be no failure).
func (r *Reservation) Undo() { r.settle(true) }

func (r *Reservation) settle(undo bool) {
	if r.win == nil {
		return
	}
	w := r.l
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.windows[r.key] == r.win && r.win.pending > 0 {
		r.win.pending--
		if undo {
			r.win.count--
		}
	}
	r.win = nil // settled once
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
