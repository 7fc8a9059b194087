package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"healthcare/config"
)

// With CORS_ALLOWED_ORIGINS, a page of an allowed origin may call the API
// from a browser: its preflight is answered without a token, and the API's
// answers name it; other origins and the admin panel get no CORS headers.
// Without the setting nothing changes.
func TestCORSAllowedOrigins(t *testing.T) {
	t.Parallel()
	const app = "https://app.example.com"
	r := secRouter(t, nil, nil, func(c *config.Config) { c.CORSAllowedOrigins = []string{app} })
	// send is secServe with an Origin (none for "") and the other headers.
	send := func(r http.Handler, method, path, origin string, header map[string]string) *httptest.ResponseRecorder {
		t.Helper()
		h := map[string]string{}
		for k, v := range header {
			h[k] = v
		}
		if origin != "" {
			h["Origin"] = origin
		}
		return secServe(r, method, path, "", h)
	}
	preflight := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}

	w := send(r, "OPTIONS", "/api/patients/", "https://APP.example.com", preflight)
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://APP.example.com" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight from the allowed origin: %d %v", w.Code, w.Header())
	}
	// The actual request: answered as ever (401 without a token), naming the origin.
	w = send(r, "GET", "/api/patients/", app, nil)
	if w.Code != http.StatusUnauthorized || w.Header().Get("Access-Control-Allow-Origin") != app ||
		!strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("GET from the allowed origin: %d %v", w.Code, w.Header())
	}
	if w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed: the API's are Bearer tokens, never cookies")
	}
	for _, tc := range []struct{ method, path, origin string }{
		{"OPTIONS", "/api/patients/", "https://evil.example"},
		{"GET", "/api/patients/", "https://evil.example"},
		{"GET", "/api/patients/", "http://app.example.com"}, // another scheme is another origin
		{"OPTIONS", "/admin/login/", app},
		{"GET", "/admin/login/", app},
	} {
		w := send(r, tc.method, tc.path, tc.origin, preflight)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q, want none", tc.method, tc.path, tc.origin, got)
		}
		if tc.method == "OPTIONS" && w.Code == http.StatusNoContent {
			t.Errorf("%s %s from %s: a preflight answered 204", tc.method, tc.path, tc.origin)
		}
	}
	// Unset: no CORS headers, and a preflight is what OPTIONS always was.
	plain := secRouter(t, nil, nil, nil)
	w = send(plain, "OPTIONS", "/api/patients/", app, preflight)
	if w.Header().Get("Access-Control-Allow-Origin") != "" || w.Code == http.StatusNoContent {
		t.Errorf("without the setting: %d %v", w.Code, w.Header())
	}
}
