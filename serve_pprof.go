package main

import (
	"log/slog"
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
	// /debug/pprof/profile and /trace take ?seconds= (30 by default) and
	// refuse durations past the write timeout.
	stop, listening, err := serveAside("PPROF_ADDR", "pprof", cfg.PprofAddr, pprofHandler(), 5*time.Minute, log)
	if err != nil {
		return nil, err
	}
	addr := "http://" + listening + "/debug/pprof/"
	if config.IsLoopback(cfg.PprofAddr) {
		log.Info("serving pprof", slog.String("addr", addr))
	} else {
		log.Warn("serving pprof on a NON-LOOPBACK address (PPROF_ALLOW_REMOTE=true): profiles are unauthenticated and can slow the server; keep this address off public networks",
			slog.String("addr", addr))
	}
	return stop, nil
}
