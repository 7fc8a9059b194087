package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// secInternal is the only body a failure may show.
const secInternal = `{"detail":"Internal server error."}`

// secWantInternal checks that w is the contract's 500 and nothing more, with
// the security headers and a request id the log can be searched for.
func secWantInternal(t *testing.T, who string, code int, header http.Header, body string, logs *syncBuffer, secrets ...string) {
	t.Helper()
	if code != http.StatusInternalServerError || body != secInternal {
		t.Errorf("%s: %d %s, want 500 %s", who, code, body, secInternal)
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type = %q, want JSON", who, ct)
	}
	if header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: security headers missing on the 500: %v", who, header)
	}
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Errorf("%s: body leaks %q: %s", who, s, body)
		}
	}
	id := header.Get("X-Request-ID")
	if id == "" {
		t.Errorf("%s: no X-Request-ID", who)
	} else if !strings.Contains(logs.String(), id) {
		t.Errorf("%s: request id %s not in the log:\n%s", who, id, logs)
	}
}

// A panic anywhere (API or not) is the contract's 500: logged with the
// request id and its stack, never shown, and the connection is not dropped.
func TestSecPanicsBecome500(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	// A store with no database panics on first use: it stands in for any bug
	// below the handlers.
	broken := models.NewStore(nil, models.NewHasher(modelstest.CheapHash, 1))
	r := secRouter(t, broken, logs, nil)
	// A route added the way the admin panel adds its own: after the
	// router's middleware.
	r.GET("/sec-panic", func(*gin.Context) { panic("secret detail /srv/app/models/x.go: SELECT password_hash") })

	cases := []struct{ method, path, body string }{
		{"GET", "/sec-panic", ""},
		{"GET", "/readyz", ""},
		{"POST", "/api/auth/login/", `{"email":"a@example.com","password":"whatever-123"}`},
		{"POST", "/api/auth/register/", `{"name":"A","email":"a@example.com","password":"correct-Horse-battery-9"}`},
	}
	for _, tc := range cases {
		w := secServe(r, tc.method, tc.path, tc.body, nil)
		secWantInternal(t, tc.method+" "+tc.path, w.Code, w.Header(), w.Body.String(), logs,
			"secret", "/srv/", ".go", "SELECT", "runtime", "goroutine", "nil pointer")
	}
	if !strings.Contains(logs.String(), "panic") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("panics not logged with a stack:\n%.2000s", logs)
	}
}

// A database error that is not an outage (here: a table gone) is a bug:
// a generic 500, with the SQL error only in the log.
func TestSecDatabaseErrorsDoNotLeak(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	p := app.mustPatient(t, u, nil)
	if err := app.store.DB().Exec("DROP TABLE mappings").Error; err != nil {
		t.Fatal(err)
	}
	if err := app.store.DB().Exec("DROP TABLE patients").Error; err != nil {
		t.Fatal(err)
	}
	for _, req := range []request{
		{method: "GET", path: "/api/patients/", token: u.Access},
		{method: "GET", path: "/api/patients/" + jsonNumber(p["id"]) + "/", token: u.Access},
		{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": "X"}},
		{method: "DELETE", path: "/api/patients/" + jsonNumber(p["id"]) + "/", token: u.Access},
	} {
		r := app.do(req)
		secWantInternal(t, req.method+" "+req.path, r.Code, r.Header(), r.Body.String(), app.logs,
			"patients", "table", "relation", "SQL", "sqlite", "pq:", "ERROR")
	}
	if !strings.Contains(app.logs.String(), "patients") {
		t.Errorf("the SQL error is not in the log:\n%s", app.logs)
	}
}

// jsonNumber formats a decoded JSON number as an integer.
func jsonNumber(v any) string {
	f, _ := v.(float64)
	return strconv.FormatInt(int64(f), 10)
}
