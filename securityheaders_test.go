package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"healthcare/config"
	"healthcare/models"
	"healthcare/models/modelstest"
)

// secRouter is the production router over a fresh database with cfg
// changed by edit, logging into logs.
func secRouter(t *testing.T, store *models.Store, logs *syncBuffer, edit func(*config.Config)) *gin.Engine {
	t.Helper()
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	if store == nil {
		store = modelstest.Store(t)
	}
	if logs == nil {
		logs = &syncBuffer{}
	}
	r, err := newRouter(routerDeps{cfg: cfg, store: store, log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	return r
}

func secServe(r http.Handler, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

// Every response carries the security headers, whichever route (or none)
// answered it; HSTS only when the site is configured as HTTPS.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	plain := app.router
	https := secRouter(t, app.store, nil, func(c *config.Config) { c.SecureCookies = true })

	cases := []struct {
		name         string
		method, path string
		body         string
		token        string
		status       int
	}{
		{"health", "GET", "/healthz", "", "", 200},
		{"ready", "GET", "/readyz/", "", "", 200},
		{"api list", "GET", "/api/patients/", "", u.Access, 200},
		{"api create", "POST", "/api/patients/", `{"name":"Hdr"}`, u.Access, 201},
		{"api 401", "GET", "/api/patients/", "", "", 401},
		{"api 400", "POST", "/api/patients/", `{"name":`, u.Access, 400},
		{"unknown path 404", "GET", "/nowhere", "", "", 404},
		{"wrong method 405", "DELETE", "/healthz", "", "", 405},
		{"login 401", "POST", "/api/auth/login/", `{"email":"x@example.com","password":"nope-nope-1"}`, "", 401},
	}
	for _, tc := range cases {
		for _, variant := range []struct {
			name  string
			r     http.Handler
			hsts  bool
			token string
		}{{"http", plain, false, tc.token}, {"https", https, true, tc.token}} {
			h := map[string]string{}
			if variant.token != "" {
				h["Authorization"] = "Bearer " + variant.token
			}
			w := secServe(variant.r, tc.method, tc.path, tc.body, h)
			who := variant.name + " " + tc.method + " " + tc.path
			if w.Code != tc.status {
				t.Errorf("%s: status = %d, want %d; body %s", who, w.Code, tc.status, w.Body)
			}
			want := map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
				"X-Frame-Options":        "DENY",
			}
			if variant.hsts {
				want["Strict-Transport-Security"] = hstsValue
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %s = %q, want %q", who, k, got, v)
				}
			}
			if !variant.hsts && w.Header().Get("Strict-Transport-Security") != "" {
				t.Errorf("%s: HSTS sent over plain HTTP configuration", who)
			}
			if strings.HasPrefix(tc.path, "/api/") && w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control = %q, want no-store", who, w.Header().Get("Cache-Control"))
			}
		}
	}
}

// A header a handler chose is not overwritten by the defaults, and one set
// before the middleware runs is left alone.
func TestSecurityHeadersKeepChosenValues(t *testing.T) {
	t.Parallel()
	r := gin.New()
	r.Use(func(c *gin.Context) { c.Header("X-Frame-Options", "SAMEORIGIN"); c.Next() })
	r.Use(securityHeaders(true))
	r.GET("/page", func(c *gin.Context) {
		c.Header("Referrer-Policy", "no-referrer")
		c.String(200, "ok")
	})
	w := secServe(r, "GET", "/page", "", nil)
	for k, v := range map[string]string{
		"X-Frame-Options":           "SAMEORIGIN",
		"Referrer-Policy":           "no-referrer",
		"X-Content-Type-Options":    "nosniff",
		"Strict-Transport-Security": hstsValue,
	} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
