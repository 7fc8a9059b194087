package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"healthcare/config"
)

// pprofHandler serves Go's profiles under /debug/pprof/ on a ServeMux of
// its own: the handler of the PPROF_ADDR listener, never mounted on the
// public router. (Importing net/http/pprof also registers them on
// http.DefaultServeMux, which nothing here serves.)
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and every named profile under it
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// servePprof starts the PPROF_ADDR listener when one is configured; the
// returned stop shuts it down. A taken address fails here, before the main
// server starts. config.Load has already refused a non-loopback address
// unless PPROF_ALLOW_REMOTE is set; then this warns at every start.
func servePprof(cfg config.Config, log *slog.Logger) (stop func(), err error) {
	if cfg.PprofAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.PprofAddr)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           pprofHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// /debug/pprof/profile and /trace take ?seconds= (30 by default)
		// and refuse durations past the write timeout.
		WriteTimeout: 5 * time.Minute,
		IdleTimeout:  2 * time.Minute,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("pprof listener stopped", slog.Any("error", err))
		}
	}()
	addr := "http://" + ln.Addr().String() + "/debug/pprof/"
	if config.IsLoopback(cfg.PprofAddr) {
		log.Info("serving pprof", slog.String("addr", addr))
	} else {
		log.Warn("serving pprof on a NON-LOOPBACK address (PPROF_ALLOW_REMOTE=true): profiles are unauthenticated and can slow the server; keep this address off public networks",
			slog.String("addr", addr))
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
