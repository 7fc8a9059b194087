package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"healthcare/config"
)

// With ALLOWED_HOSTS set, a request naming another Host is refused with a
// 400 that changes nothing and does not echo it, on every path but the
// probes'; an allowed Host (any port, any case, a subdomain of a "."
// entry) is served, and the API's links name it.
func TestAllowedHostsRefuseOtherHosts(t *testing.T) {
	t.Parallel()
	r := secRouter(t, nil, nil, func(c *config.Config) {
		c.AllowedHosts = config.AllowedHosts{"api.example.com", ".clinic.example"}
	})
	// send is secServe naming host in the request's Host.
	send := func(method, host, path, body, token string) *httptest.ResponseRecorder {
		t.Helper()
		var h map[string]string
		if token != "" {
			h = map[string]string{"Authorization": "Bearer " + token}
		}
		return secServe(r, method, "http://"+host+path, body, h)
	}
	refused := func(w *httptest.ResponseRecorder, what string) {
		t.Helper()
		if w.Code != http.StatusBadRequest || strings.TrimSpace(w.Body.String()) != `{"detail":"Invalid host header."}` {
			t.Errorf("%s: %d %s, want 400 Invalid host header.", what, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "evil") {
			t.Errorf("%s: the refusal echoes the Host: %s", what, w.Body)
		}
	}

	const user = `{"name":"Hosted","email":"hosted@example.com","password":"correct-Horse-battery-9"}`
	refused(send("POST", "evil.example", "/api/auth/register/", user, ""), "register from a forged Host")
	if w := send("POST", "API.example.com:8443", "/api/auth/register/", user, ""); w.Code != http.StatusCreated {
		t.Fatalf("register from an allowed Host: %d %s (the refused request must have created nothing)", w.Code, w.Body)
	}
	w := send("POST", "eu.clinic.example", "/api/auth/login/", `{"email":"hosted@example.com","password":"correct-Horse-battery-9"}`, "")
	var tokens struct{ Access string }
	if err := json.Unmarshal(w.Body.Bytes(), &tokens); w.Code != http.StatusOK || err != nil || tokens.Access == "" {
		t.Fatalf("login from a subdomain of an allowed domain: %d %s", w.Code, w.Body)
	}
	for i := range 3 {
		body := `{"name":"Patient ` + string(rune('A'+i)) + `"}`
		if w := send("POST", "api.example.com", "/api/patients/", body, tokens.Access); w.Code != http.StatusCreated {
			t.Fatalf("create patient: %d %s", w.Code, w.Body)
		}
	}
	w = send("GET", "eu.clinic.example", "/api/patients/?page_size=2", "", tokens.Access)
	var page struct{ Next string }
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || !strings.HasPrefix(page.Next, "http://eu.clinic.example/api/patients/") {
		t.Errorf("next link %q (%v), want one on the Host asked", page.Next, err)
	}
	for _, tc := range []struct{ method, host, path string }{
		{"GET", "evil.example", "/api/patients/?page_size=2"},
		{"GET", "api.example.com.evil.example", "/api/auth/me/"},
		{"GET", "evil.example", "/admin/login/"},
		{"GET", "evil.example", "/api/docs/"},
		{"GET", "evil.example", "/no/such/path/"},
		{"DELETE", "evil.example", "/api/patients/"},
	} {
		refused(send(tc.method, tc.host, tc.path, "", tokens.Access), tc.method+" "+tc.path+" from "+tc.host)
	}
	// Probes address the process by IP: served whatever the Host.
	for _, path := range []string{"/healthz", "/readyz/"} {
		if w := send("GET", "10.1.2.3:8000", path, "", ""); w.Code != http.StatusOK {
			t.Errorf("GET %s from a probe's Host: %d %s", path, w.Code, w.Body)
		}
	}
}
