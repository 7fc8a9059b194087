package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// shutdownGrace bounds a graceful shutdown. Requests are bounded by
// REQUEST_TIMEOUT (10 s by default) and finish within it; a CSV export of
// the admin panel may run for minutes, so cancelLongRequests before the end
// the contexts of requests still running are cancelled: they end as failed
// downloads, and the database is not closed under them.
const (
	shutdownGrace      = 20 * time.Second
	cancelLongRequests = 5 * time.Second
)

// errShuttingDown is the cause with which shutdown cancels the requests
// still running (a client's hang-up has none: models.ClientGone).
var errShuttingDown = errors.New("the server is shutting down")

// requestsContext is the base of every request's context, and its cancel,
// which cancels it with errShuttingDown as its cause: the access log and
// metrics tell the server's cut from a client's hang-up
// (models.ClientGone).
func requestsContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	return ctx, func() { cancel(errShuttingDown) }
}

// shutdown stops srv gracefully within grace: drain's two steps, then
// http.Server.Shutdown. cancelRequests (the requests' base context) is
// called cancelLongRequests before grace is up.
func shutdown(srv *http.Server, drain *drainer, ln net.Listener, served <-chan error, cancelRequests context.CancelFunc, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	late := time.AfterFunc(grace-cancelLongRequests, cancelRequests)
	defer late.Stop()
	drain.drain(ctx, ln, served, drainGrace)
	if err := srv.Shutdown(ctx); err != nil {
		// Out of time: cut what is left rather than close the database
		// under running requests.
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// drainGrace bounds how long shutdown waits for open keep-alive connections
// to come back for one last response before it closes them.
const drainGrace = 2 * time.Second

// drainer lets a server shut down without resetting a connection a client
// is using. http.Server.Shutdown alone closes idle keep-alive connections at
// once, and a client that sends its next request in that instant gets a
// reset (or an EOF) with no way to know whether the server saw it. So
// shutdown runs in two steps:
//
//  1. Stop accepting (close the listener): new connections are refused at
//     connect time. Every response from now on carries "Connection: close",
//     and the server closes each connection after that response, so a
//     client on an open connection finishes its request and learns to
//     reconnect, which is refused.
//  2. When no connection is left open (or after drainGrace, for clients that
//     sit idle), http.Server.Shutdown closes what remains and waits for the
//     requests in flight.
//
// Before both, with SHUTDOWN_DELAY, the process goes on serving while
// /readyz answers 503 (notReadyFor), so that a load balancer takes it out
// before its listener closes; it stays not ready to the end.
type drainer struct {
	notReady atomic.Bool
	draining atomic.Bool
	open     atomic.Int64
}

// notReadyFor makes the process not ready and serves on for delay, unless
// the server fails first (its error from served).
func (d *drainer) notReadyFor(delay time.Duration, served <-chan error) error {
	d.notReady.Store(true)
	if delay <= 0 {
		return nil
	}
	select {
	case err := <-served:
		return err
	case <-time.After(delay):
		return nil
	}
}

// handler wraps h so responses ask clients to close once draining started.
func (d *drainer) handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.draining.Load() {
			// net/http closes the connection after a response that says so.
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// connState is the server's ConnState hook: it counts open connections.
func (d *drainer) connState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		d.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		d.open.Add(-1)
	}
}

// drain stops ln (its Serve call returns into served) and waits, at most
// until grace or ctx ends, for every open connection to close.
func (d *drainer) drain(ctx context.Context, ln net.Listener, served <-chan error, grace time.Duration) {
	d.draining.Store(true)
	_ = ln.Close()
	// Serve returns once it sees the closed listener; after that
	// Shutdown has no listener of its own left to close.
	select {
	case <-served:
	case <-ctx.Done():
		return
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for d.open.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}
