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
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           metricsHandler(m),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("metrics listener stopped", slog.Any("error", err))
		}
	}()
	log.Info("serving metrics", slog.String("addr", "http://"+ln.Addr().String()+"/metrics"))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
