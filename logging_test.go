package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"healthcare/config"
	"healthcare/metrics"
	"healthcare/models"
	"healthcare/models/modelstest"
)

// logApp is a test app whose router logs through main's newLogger with
// cfg's LOG_FORMAT and LOG_LEVEL, into app.logs.
func logApp(t *testing.T, cfg config.Config, store *models.Store) *testApp {
	t.Helper()
	if store == nil {
		store = modelstest.Store(t)
	}
	app := &testApp{t: t, store: store, logs: &syncBuffer{}, clock: &testClock{}}
	router, err := newRouter(routerDeps{cfg: cfg, store: app.store, log: newLogger(cfg, app.logs)})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	app.router = router
	return app
}

// logLines decodes the JSON log and returns its "request" lines.
func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func TestAccessLogOneJSONLinePerRequest(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.LogFormat = "json"
	app := logApp(t, cfg, nil)

	// Secrets and patient data that travel in these requests; none may
	// reach the log.
	const (
		password      = "Plaintext-Sekrit-Passw0rd"
		wrongPassword = "Wrong-Sekrit-Passw0rd-2"
		email         = "ada.lovelace.logtest@example.com"
		patientName   = "Zebulon Quixote-Patientname"
		history       = "Allergic to XYZZY-penicillin"
		patientPhone  = "+1 555 867 5309"
	)
	type sent struct {
		req    request
		status int
		authed bool
		route  string
	}
	var sends []sent
	var ids []string
	send := func(req request, status int, authed bool, route string) *response {
		t.Helper()
		r := app.do(req).want(t, status)
		sends = append(sends, sent{req, status, authed, route})
		ids = append(ids, r.Header().Get("X-Request-ID"))
		return r
	}

	user := send(request{method: "POST", path: "/api/auth/register/", body: map[string]any{"name": "Ada Lovelace", "email": email, "password": password}},
		201, false, "/api/auth/register").json(t)
	send(request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": email, "password": wrongPassword}}, 401, false, "/api/auth/login")
	var tokens struct{ Access, Refresh string }
	send(request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": email, "password": password}}, 200, false, "/api/auth/login").decode(t, &tokens)
	p := send(request{method: "POST", path: "/api/patients/", token: tokens.Access, header: map[string]string{"X-Request-ID": "req-log-test-1"},
		body: map[string]any{"name": patientName, "medical_history": history, "phone": patientPhone, "email": "zebulon@example.com"}},
		201, true, "/api/patients").json(t)
	pid := strconv.FormatInt(id(t, p, "id"), 10)
	send(request{method: "GET", path: "/api/patients/" + pid + "/", token: tokens.Access}, 200, true, "/api/patients/:id")
	send(request{method: "GET", path: "/api/patients/?search=" + strings.ReplaceAll(patientName, " ", "+"), token: tokens.Access}, 200, true, "/api/patients")
	send(request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]any{"refresh": tokens.Refresh}}, 200, false, "/api/auth/token/refresh")
	send(request{method: "GET", path: "/api/patients/" + pid + "/", token: "not-a-token"}, 401, false, "/api/patients/:id")
	send(request{method: "GET", path: "/api/no-such-thing/" + pid}, 404, false, "unmatched")
	app.do(request{method: "GET", path: "/healthz"}).want(t, http.StatusOK) // at debug: TestAccessLogProbesAtDebug

	logs := app.logs.String()
	lines := logLines(t, logs)
	if len(lines) != len(sends) {
		t.Fatalf("%d request lines for %d requests:\n%s", len(lines), len(sends), logs)
	}
	userID := float64(id(t, user, "id"))
	for i, line := range lines {
		s := sends[i]
		where := s.req.method + " " + s.req.path
		for _, f := range []string{"time", "level", "method", "route", "status", "duration_ms", "request_id", "client_ip"} {
			if _, ok := line[f]; !ok {
				t.Errorf("%s: log line lacks %q: %v", where, f, line)
			}
		}
		if line["method"] != s.req.method || line["route"] != s.route || line["status"] != float64(s.status) || line["level"] != "INFO" {
			t.Errorf("%s: log line %v, want method %s route %s status %d level INFO", where, line, s.req.method, s.route, s.status)
		}
		if d, ok := line["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("%s: duration_ms = %v", where, line["duration_ms"])
		}
		if _, ok := line["client_closed"]; ok {
			t.Errorf("%s: client_closed on a request whose client waited: %v", where, line)
		}
		if line["request_id"] != ids[i] || ids[i] == "" {
			t.Errorf("%s: request_id = %v, want the response's X-Request-ID %q", where, line["request_id"], ids[i])
		}
		if line["client_ip"] != "192.0.2.1" { // httptest's client address
			t.Errorf("%s: client_ip = %v", where, line["client_ip"])
		}
		got, ok := line["user_id"]
		if s.authed && got != userID {
			t.Errorf("%s: user_id = %v, want %v", where, got, userID)
		}
		if !s.authed && ok {
			t.Errorf("%s: user_id = %v on a request that did not authenticate", where, got)
		}
	}
	if ids[3] != "req-log-test-1" {
		t.Errorf("the client's X-Request-ID was not kept: %q", ids[3])
	}

	for _, secret := range []string{password, wrongPassword, tokens.Access, tokens.Refresh, "Bearer", email, patientName,
		"Zebulon", "Quixote", history, "XYZZY", patientPhone, "zebulon@example.com", "search=", "not-a-token", "/api/patients/" + pid} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
}

func TestAccessLogTextFormatAndLevel(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.LogFormat = "text"
	app := logApp(t, cfg, nil)
	app.do(request{method: "GET", path: "/api/auth/login/", header: map[string]string{"X-Request-ID": "text-1"}}).want(t, http.StatusMethodNotAllowed)
	logs := app.logs.String()
	if !strings.Contains(logs, "level=INFO msg=request method=GET route=unmatched status=405 duration_ms=") ||
		!strings.Contains(logs, "request_id=text-1 client_ip=192.0.2.1") {
		t.Errorf("text log line:\n%s", logs)
	}

	// LOG_LEVEL=warn: successful requests are not logged, 5xx answers
	// (here /readyz over a closed database) are, at error level.
	cfg.LogFormat, cfg.LogLevel = "json", slog.LevelWarn
	store := modelstest.Store(t)
	app = logApp(t, cfg, store)
	app.do(request{method: "GET", path: "/healthz"}).want(t, http.StatusOK)
	if err := models.Close(store.DB()); err != nil {
		t.Fatalf("close database: %v", err)
	}
	app.do(request{method: "GET", path: "/readyz"}).want(t, http.StatusServiceUnavailable)
	lines := logLines(t, app.logs.String())
	if len(lines) != 1 || lines[0]["route"] != "/readyz" || lines[0]["level"] != "ERROR" || lines[0]["status"] != float64(503) {
		t.Errorf("LOG_LEVEL=warn request lines = %v, want only the 503 at ERROR", lines)
	}
}

// Probes and scrapes that succeed log at debug (at info they would be most
// of the log); one that fails logs as any request does.
func TestAccessLogProbesAtDebug(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		cfg := testConfig()
		cfg.LogFormat, cfg.LogLevel = "json", level
		store := modelstest.Store(t)
		app := &testApp{t: t, store: store, logs: &syncBuffer{}, clock: &testClock{}}
		router, err := newRouter(routerDeps{cfg: cfg, store: store, log: newLogger(cfg, app.logs), metrics: metrics.New(nil)})
		if err != nil {
			t.Fatal(err)
		}
		app.router = router
		for _, path := range []string{"/healthz", "/readyz/", "/metrics"} {
			app.do(request{method: "GET", path: path}).want(t, http.StatusOK)
		}
		app.do(request{method: "GET", path: "/api/no-such-thing/"}).want(t, http.StatusNotFound)
		if err := models.Close(store.DB()); err != nil {
			t.Fatalf("close database: %v", err)
		}
		app.do(request{method: "GET", path: "/readyz"}).want(t, http.StatusServiceUnavailable)

		var got []string
		for _, line := range logLines(t, app.logs.String()) {
			got = append(got, fmt.Sprintf("%v %v %v", line["level"], line["route"], line["status"]))
		}
		want := []string{"INFO unmatched 404", "ERROR /readyz 503"}
		if level == slog.LevelDebug {
			want = append([]string{"DEBUG /healthz 200", "DEBUG /readyz 200", "DEBUG /metrics 200"}, want...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("LOG_LEVEL=%v: request lines %q, want %q", level, got, want)
		}
	}
}

// The admin panel's requests name their staff user in the access log too
// (the user the session check put on the request), and an anonymous page
// names none.
func TestAccessLogNamesTheAdminUser(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.LogFormat = "json"
	app := logApp(t, cfg, nil)
	staff, cl := app.admStaff(t)
	cl.get("/admin/patients/").want(t, http.StatusOK)
	app.admAnon(t).get("/admin/login/").want(t, http.StatusOK)
	var staffLine, anonLine map[string]any
	for _, line := range logLines(t, app.logs.String()) {
		switch {
		case line["method"] == "GET" && line["route"] == "/admin/patients":
			staffLine = line
		case line["method"] == "GET" && line["route"] == "/admin/login":
			anonLine = line
		}
	}
	if staffLine == nil || anonLine == nil {
		t.Fatalf("request lines missing: %s", app.logs.String())
	}
	if got := staffLine["user_id"]; got != float64(staff.ID) {
		t.Errorf("admin page: user_id = %v, want %d", got, staff.ID)
	}
	if got, ok := anonLine["user_id"]; ok {
		t.Errorf("login page: user_id = %v, want none", got)
	}
}
