package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// reqFunc sends one request (or runs one query) and reports a transport
// error or an unexpected status as an error.
type reqFunc func(ctx context.Context, w *worker) error

// worker is one of a group's goroutines. Only it touches its fields while
// the load runs.
type worker struct {
	rng *rand.Rand
	lat []time.Duration // every measured latency, preallocated
	// errs counts the measured requests that failed.
	errs int
}

// group is a set of workers running the same request in a loop.
type group struct {
	name    string
	workers int
	fn      reqFunc
}

// loadStats summarise one group's measured window.
type loadStats struct {
	Requests     int
	Errors       int
	RPS          float64
	P50, P90     time.Duration
	P99, Max     time.Duration
	ErrorSamples []string
}

// hooks run at the start and end of the measured window (profilers).
type hooks struct {
	start, stop func()
}

// latencyCap is how many latencies each worker's slice holds before it
// grows: enough for about 1,600 requests/s per worker over 10 s.
const latencyCap = 16 << 10

// errorSamples keeps the first few distinct error messages.
type errorSamples struct {
	mu   sync.Mutex
	msgs []string
}

func (s *errorSamples) add(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := err.Error()
	if len(s.msgs) < 5 && !slices.Contains(s.msgs, msg) {
		s.msgs = append(s.msgs, msg)
	}
}

// runLoad runs every group's workers in a closed loop (each sends its next
// request when the last one has answered) for warmup, then measures for
// duration: requests started in the window count, with their whole
// latency. All groups run at once; each gets its own stats.
func runLoad(ctx context.Context, warmup, duration time.Duration, h hooks, groups ...group) []loadStats {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from := time.Now().Add(warmup)
	to := from.Add(duration)
	workers := make([][]*worker, len(groups))
	samples := make([]*errorSamples, len(groups))
	var wg sync.WaitGroup
	for gi, g := range groups {
		samples[gi] = &errorSamples{}
		for i := range g.workers {
			w := &worker{rng: rand.New(rand.NewPCG(uint64(gi)+1, uint64(i)+1)), lat: make([]time.Duration, 0, latencyCap)}
			workers[gi] = append(workers[gi], w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					t := time.Now()
					if !t.Before(to) || ctx.Err() != nil {
						return
					}
					err := g.fn(ctx, w)
					d := time.Since(t)
					if t.Before(from) {
						continue
					}
					w.lat = append(w.lat, d)
					if err != nil && ctx.Err() == nil {
						w.errs++
						samples[gi].add(err)
					}
				}
			}()
		}
	}
	sleepUntil(ctx, from)
	if h.start != nil {
		h.start()
	}
	sleepUntil(ctx, to)
	if h.stop != nil {
		h.stop()
	}
	wg.Wait()

	out := make([]loadStats, len(groups))
	for gi := range groups {
		var all []time.Duration
		st := loadStats{ErrorSamples: samples[gi].msgs}
		for _, w := range workers[gi] {
			all = append(all, w.lat...)
			st.Errors += w.errs
		}
		slices.Sort(all)
		st.Requests = len(all)
		st.RPS = float64(len(all)) / duration.Seconds()
		st.P50, st.P90, st.P99 = percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99)
		if len(all) > 0 {
			st.Max = all[len(all)-1]
		}
		out[gi] = st
	}
	return out
}

func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// newTransport is the load generator's connection pool: one keep-alive
// connection per worker.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// noRedirect makes a client answer a redirect instead of following it.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// send does req and checks its status, reading the whole body so the
// connection is reused.
func send(c *http.Client, req *http.Request, want int) error {
	resp, err := c.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the URL, so samples group by cause
		}
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, body)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
