package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"healthcare/config"
	"healthcare/metrics"
)

// The public router never serves Go's profiles, whatever is configured:
// they are on the PPROF_ADDR listener only.
func TestPprofNotOnPublicRouter(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	cfg := testConfig()
	cfg.MetricsEnabled = true
	cfg.PprofAddr = "127.0.0.1:6060"
	router, err := newRouter(routerDeps{cfg: cfg, store: app.store, log: slog.New(slog.DiscardHandler), metrics: metrics.New(nil)})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	app.router = router // as main builds it: metrics on, PPROF_ADDR set
	for _, path := range []string{"/debug/pprof/", "/debug/pprof", "/debug/pprof/heap", "/debug/pprof/cmdline",
		"/debug/pprof/profile?seconds=1", "/debug/pprof/trace?seconds=1", "/debug/pprof/goroutine?debug=2"} {
		r := app.do(request{method: "GET", path: path})
		if r.Code != http.StatusNotFound || strings.Contains(r.Body.String(), "goroutine") {
			t.Errorf("GET %s on the public router: status = %d, want 404; body: %.200s", path, r.Code, r.Body)
		}
	}
	for _, rt := range router.Routes() {
		if strings.Contains(rt.Path, "pprof") {
			t.Errorf("public router has route %s %s", rt.Method, rt.Path)
		}
	}
}

// pprofGet GETs url and returns the status and body.
func pprofGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// PPROF_ADDR starts a listener of its own serving /debug/pprof/ and
// nothing else; unset, nothing listens.
func TestServePprofListens(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))

	stop, err := servePprof(config.Config{}, log)
	if err != nil {
		t.Fatalf("servePprof with PPROF_ADDR unset: %v", err)
	}
	stop()
	if logs.String() != "" {
		t.Errorf("PPROF_ADDR unset, yet logged: %s", logs)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	stop, err = servePprof(config.Config{PprofAddr: addr}, log)
	if err != nil {
		t.Fatalf("servePprof(%s): %v", addr, err)
	}
	base := "http://" + addr
	for _, tt := range []struct {
		path, want string
		status     int
	}{
		{"/debug/pprof/", "goroutine", 200},
		{"/debug/pprof/heap?debug=1", "heap profile", 200},
		{"/debug/pprof/goroutine?debug=1", "goroutine profile", 200},
		{"/debug/pprof/cmdline", "", 200},
		{"/", "", 404},
		{"/healthz", "", 404},
		{"/api/patients/", "", 404},
		{"/metrics", "", 404},
	} {
		status, body := pprofGet(t, base+tt.path)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s on the pprof listener: %d %.200q, want %d with %q", tt.path, status, body, tt.status, tt.want)
		}
	}
	if !strings.Contains(logs.String(), "serving pprof") || strings.Contains(logs.String(), "NON-LOOPBACK") {
		t.Errorf("log of a loopback pprof listener: %s", logs)
	}
	stop()
	if _, err := http.Get(base + "/debug/pprof/"); err == nil {
		t.Errorf("the pprof listener still answers after stop")
	}

	// A taken address fails at start, naming the variable.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, err := servePprof(config.Config{PprofAddr: taken.Addr().String()}, log); err == nil || !strings.Contains(err.Error(), "PPROF_ADDR") {
		t.Errorf("servePprof on a taken address: err = %v, want a PPROF_ADDR error", err)
	}
}
