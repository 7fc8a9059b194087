package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"gorm.io/gorm"

	"healthcare/config"
	"healthcare/metrics"
)

// newMetrics returns the process's metrics over db's pool, or nil when
// METRICS is off.
func newMetrics(cfg config.Config, db *gorm.DB) (*metrics.Metrics, error) {
	if !cfg.MetricsEnabled {
		return nil, nil
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return metrics.New(sqlDB), nil
}

// metricsHandler serves /metrics (with or without its trailing slash) and
// nothing else: the handler of the METRICS_ADDR listener.
func metricsHandler(m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	h := m.Handler()
	mux.Handle("GET /metrics", h)
	mux.Handle("GET /metrics/", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"detail":"Not found."}`))
	})
	return mux
}

// serveMetrics starts the METRICS_ADDR listener when metrics are on and
// kept off the main one; the returned stop shuts it down. A taken address
// fails here, before the main server starts.
func serveMetrics(cfg config.Config, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	if m == nil || cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	stop, addr, err := serveAside("METRICS_ADDR", "metrics", cfg.MetricsAddr, metricsHandler(m), 30*time.Second, log)
	if err != nil {
		return nil, err
	}
	log.Info("serving metrics", slog.String("addr", "http://"+addr+"/metrics"))
	return stop, nil
}

// serveAside serves h on a listener of its own at addr (the setting
// names it in errors, name in logs), beside the main server; it returns
// the address listened on and a stop that shuts it down. A taken address
// fails here, before the main server starts.
func serveAside(setting, name, addr string, h http.Handler, writeTimeout time.Duration, log *slog.Logger) (stop func(), listening string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("%s: listen: %w", setting, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error(name+" listener stopped", slog.Any("error", err))
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, ln.Addr().String(), nil
}
