package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"healthcare/config"
	"healthcare/handlers"
	"healthcare/metrics"
	"healthcare/models/modelstest"
)

// metApp is a test app whose router counts requests into fresh metrics
// (over the app database's pool); edit adjusts the configuration and opts
// the API options.
func metApp(t *testing.T, edit func(*config.Config), opts func(*handlers.Options)) (*testApp, *metrics.Metrics) {
	t.Helper()
	app := &testApp{t: t, store: modelstest.Store(t), logs: &syncBuffer{}, clock: &testClock{}}
	cfg := testConfig()
	cfg.MetricsEnabled = true
	if edit != nil {
		edit(&cfg)
	}
	m, err := newMetrics(cfg, app.store.DB())
	if err != nil {
		t.Fatalf("newMetrics: %v", err)
	}
	api := apiOptions(cfg)
	api.Now = app.clock.Now
	if opts != nil {
		opts(&api)
	}
	router, err := newRouter(routerDeps{cfg: cfg, store: app.store, api: &api, metrics: m,
		log: slog.New(slog.NewTextHandler(app.logs, nil))})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	app.router = router
	return app, m
}

// metFamilies gathers the registry's metric families by name.
func metFamilies(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// metSample finds the sample of family name with exactly labels.
func metSample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		return m
	}
	return nil
}

// metCounter is the value of a counter sample, -1 when there is none.
func metCounter(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	m := metSample(fams, name, labels)
	if m == nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func TestMetricsByRouteTemplate(t *testing.T) {
	t.Parallel()
	app, m := metApp(t, nil, nil)
	u := app.mustUser(t, false) // one login that succeeds
	app.do(request{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": u.Email, "password": "Wrong-password-1"}}).want(t, 401)
	app.do(request{method: "GET", path: "/api/patients/12345/", token: u.Access}).want(t, 404)
	app.do(request{method: "GET", path: "/api/patients/67890", token: u.Access}).want(t, 404)
	app.do(request{method: "GET", path: "/api/patients/", token: u.Access}).want(t, 200)
	app.do(request{method: "GET", path: "/api/patients", token: u.Access}).want(t, 200)
	app.do(request{method: "GET", path: "/api/no/such/path/424242"}).want(t, 404)
	app.do(request{method: "BREW", path: "/api/patients/", token: u.Access}).want(t, 405)

	scrape := app.do(request{method: "GET", path: "/metrics"}).want(t, 200)
	if ct := scrape.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type = %q, want the text format", ct)
	}
	text := scrape.Body.String()
	for _, want := range []string{
		`http_requests_total{method="GET",route="/api/patients/:id",status="404"} 2`,
		`http_requests_total{method="GET",route="/api/patients",status="200"} 2`,
		`http_requests_total{method="POST",route="/api/auth/login",status="200"} 1`,
		`http_requests_total{method="POST",route="/api/auth/login",status="401"} 1`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`http_requests_total{method="other",route="unmatched",status="405"} 1`,
		`http_request_duration_seconds_count{method="GET",route="/api/patients/:id",status="404"} 2`,
		`http_request_duration_seconds_bucket{method="GET",route="/api/patients",status="200",le="+Inf"} 2`,
		"http_requests_in_flight 1", // the scrape itself
		`healthcare_logins_total{result="success"} 1`,
		`healthcare_logins_total{result="failure"} 1`,
		`go_sql_max_open_connections{db_name="healthcare"}`,
		`go_sql_open_connections{db_name="healthcare"}`,
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("GET /metrics lacks %s", want)
		}
	}
	// No raw path, id or invented method ever becomes a label value. Only
	// the series' names and labels are searched: a sample's value (memory,
	// say) may hold any digits.
	var series strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if name, _, ok := strings.Cut(line, "} "); ok && !strings.HasPrefix(line, "#") {
			series.WriteString(name + "}\n")
		}
	}
	for _, bad := range []string{"12345", "67890", "424242", "BREW", `route="/api/patients/"`, "/api/no/such"} {
		if strings.Contains(series.String(), bad) {
			t.Errorf("GET /metrics has a series with %q", bad)
		}
	}
	if !strings.Contains(series.String(), `route="/api/patients/:id"`) {
		t.Fatal("no labelled series found in the scrape")
	}
	fams := metFamilies(t, m)
	routeLabel := regexp.MustCompile(`^(/[a-z/:_]*|unmatched)$`)
	for _, s := range fams["http_requests_total"].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == "route" && (!routeLabel.MatchString(l.GetValue()) || (len(l.GetValue()) > 1 && strings.HasSuffix(l.GetValue(), "/"))) {
				t.Errorf("route label %q is not a template", l.GetValue())
			}
		}
	}
	// After the scrape, /metrics itself is counted under its route.
	app.do(request{method: "GET", path: "/metrics/"}).want(t, 200)
	if got := metCounter(metFamilies(t, m), "http_requests_total", map[string]string{"method": "GET", "route": "/metrics", "status": "200"}); got != 2 {
		t.Errorf(`http_requests_total{route="/metrics"} = %v, want 2`, got)
	}
}

// The requests that the router's own checks answer are counted as the
// access log has them: a forged Host's 400 (ALLOWED_HOSTS) and a CORS
// preflight's 204.
func TestMetricsCountHostRefusalsAndPreflights(t *testing.T) {
	t.Parallel()
	app, m := metApp(t, func(c *config.Config) {
		c.AllowedHosts = config.AllowedHosts{"example.com"}
		c.CORSAllowedOrigins = []string{"https://app.example"}
	}, nil)
	forged := httptest.NewRequest("GET", "/api/patients/", nil)
	forged.Host = "evil.example"
	w := httptest.NewRecorder()
	if app.router.ServeHTTP(w, forged); w.Code != http.StatusBadRequest {
		t.Fatalf("GET with a forged Host = %d, want 400", w.Code)
	}
	app.do(request{method: "OPTIONS", path: "/api/patients/", header: map[string]string{
		"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}}).want(t, http.StatusNoContent)
	fams := metFamilies(t, m)
	for _, want := range []map[string]string{
		{"method": "GET", "route": "/api/patients", "status": "400"},
		{"method": "OPTIONS", "route": "unmatched", "status": "204"},
	} {
		if n := metCounter(fams, "http_requests_total", want); n != 1 {
			t.Errorf("http_requests_total%v = %v, want 1", want, n)
		}
	}
}

func TestMetricsCountRateLimits(t *testing.T) {
	t.Parallel()
	app, m := metApp(t, nil, func(o *handlers.Options) {
		o.LoginFailures = handlers.Limit{Events: 1, Window: time.Minute}
		o.RegisterPerIP = handlers.Limit{Events: 1, Window: time.Minute}
		o.RefreshPerIP = handlers.Limit{Events: 1, Window: time.Minute}
	})
	wrong := map[string]string{"email": "nobody@example.com", "password": "Wrong-password-1"}
	app.do(request{method: "POST", path: "/api/auth/login/", body: wrong}).want(t, 401)
	app.do(request{method: "POST", path: "/api/auth/login/", body: wrong}).want(t, 429)
	app.do(request{method: "POST", path: "/api/auth/login/", body: wrong}).want(t, 429)
	reg := map[string]string{"name": "Rae", "email": "rae@example.com", "password": "correct-Horse-battery-9"}
	app.do(request{method: "POST", path: "/api/auth/register/", body: reg}).want(t, 201)
	app.do(request{method: "POST", path: "/api/auth/register/", body: reg}).want(t, 429)
	app.do(request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]string{"refresh": "x"}}).want(t, 401)
	app.do(request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]string{"refresh": "x"}}).want(t, 429)

	fams := metFamilies(t, m)
	for limiter, want := range map[string]float64{"login_email": 2, "register_ip": 1, "refresh_ip": 1} {
		if got := metCounter(fams, "healthcare_rate_limited_total", map[string]string{"limiter": limiter}); got != want {
			t.Errorf(`healthcare_rate_limited_total{limiter=%q} = %v, want %v`, limiter, got, want)
		}
	}
	// A locked email is a throttled request, not another failed login.
	if got := metCounter(fams, "healthcare_logins_total", map[string]string{"result": "failure"}); got != 1 {
		t.Errorf(`healthcare_logins_total{result="failure"} = %v, want 1`, got)
	}
	for status, want := range map[string]float64{"401": 1, "429": 2} {
		if got := metCounter(fams, "http_requests_total", map[string]string{"method": "POST", "route": "/api/auth/login", "status": status}); got != want {
			t.Errorf(`http_requests_total{route="/api/auth/login",status=%q} = %v, want %v`, status, got, want)
		}
	}
}

func TestMetricsSwitchedOff(t *testing.T) {
	t.Parallel()
	app := newTestApp(t) // METRICS=false: no metrics are built
	if m, err := newMetrics(testConfig(), app.store.DB()); m != nil || err != nil {
		t.Fatalf("newMetrics with METRICS off = %v, %v; want nil, nil", m, err)
	}
	for _, path := range []string{"/metrics", "/metrics/"} {
		r := app.do(request{method: "GET", path: path}).want(t, http.StatusNotFound)
		if !strings.Contains(r.Body.String(), `"detail":"Not found."`) {
			t.Errorf("GET %s: body %s, want the API's 404", path, r.Body)
		}
	}
}

func TestMetricsOnSeparateAddress(t *testing.T) {
	t.Parallel()
	app, m := metApp(t, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" }, nil)
	app.do(request{method: "GET", path: "/metrics"}).want(t, http.StatusNotFound)
	app.do(request{method: "GET", path: "/healthz"}).want(t, http.StatusOK)

	// The metrics listener's handler: /metrics only, with the main
	// router's requests in it.
	h := metricsHandler(m)
	for _, tt := range []struct {
		path   string
		status int
	}{{"/metrics", 200}, {"/metrics/", 200}, {"/", 404}, {"/healthz", 404}, {"/api/patients/", 404}} {
		r := &response{ResponseRecorder: metRecord(h, "GET", tt.path), req: request{method: "GET", path: tt.path}}
		r.want(t, tt.status)
		if tt.status == 200 {
			if !strings.Contains(r.Body.String(), `http_requests_total{method="GET",route="/healthz",status="200"} 1`) {
				t.Errorf("GET %s on the metrics listener lacks the main router's /healthz request", tt.path)
			}
			if strings.Contains(r.Body.String(), `route="/metrics"`) {
				// The main router never served /metrics in this mode.
				t.Errorf("GET %s on the metrics listener counts /metrics on the main router", tt.path)
			}
		}
	}
}

// metRecord serves one request with h.
func metRecord(h http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func TestServeMetricsListens(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	m := metrics.New(nil)

	// On the main listener, or switched off (with an address set): nothing
	// to start, and nothing listens on that address.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	for _, tc := range []struct {
		cfg config.Config
		m   *metrics.Metrics
	}{{config.Config{MetricsAddr: ""}, m}, {config.Config{MetricsAddr: freeAddr}, nil}} {
		stop, err := serveMetrics(tc.cfg, tc.m, log)
		if err != nil {
			t.Fatalf("serveMetrics(%q, metrics %v): %v", tc.cfg.MetricsAddr, tc.m != nil, err)
		}
		if tc.cfg.MetricsAddr != "" {
			if c, err := net.DialTimeout("tcp", freeAddr, time.Second); err == nil {
				c.Close()
				t.Errorf("metrics switched off, yet %s accepts connections", freeAddr)
			}
		}
		stop()
	}

	// A free port, then the listener on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	stop, err := serveMetrics(config.Config{MetricsAddr: addr}, m, log)
	if err != nil {
		t.Fatalf("serveMetrics(%s): %v", addr, err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics on %s: %v", addr, err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "http_requests_in_flight") {
		t.Errorf("GET /metrics on %s: %d %.200s", addr, resp.StatusCode, body)
	}
	stop()
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Errorf("the metrics listener still answers after stop")
	}

	// A taken address fails at start, naming the variable.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, err := serveMetrics(config.Config{MetricsAddr: taken.Addr().String()}, m, log); err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("serveMetrics on a taken address: err = %v, want a METRICS_ADDR error", err)
	}
}
