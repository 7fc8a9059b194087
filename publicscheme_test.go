package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"healthcare/config"
)

// The API's next and previous links keep the scheme clients used: behind a
// TLS proxy in TRUSTED_PROXIES that sends X-Forwarded-Proto (with or
// without an X-Forwarded-For), or on a site marked HTTPS by SECURE_COOKIES,
// they are https; a client that is not a trusted proxy cannot make them so.
func TestNextLinksKeepTheClientsScheme(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	for range 3 {
		app.mustPatient(t, u, map[string]any{"name": "Paged"})
	}
	proxied := secRouter(t, app.store, nil, func(c *config.Config) {
		c.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7"}
		c.AllowedHosts = config.AllowedHosts{"clinic.example"}
	})
	secure := secRouter(t, app.store, nil, func(c *config.Config) { c.SecureCookies = true })
	for _, tc := range []struct {
		name    string
		router  http.Handler
		remote  string
		headers map[string]string
		want    string
	}{
		{"a direct client", app.router, "203.0.113.9:4100", nil, "http://"},
		{"a client that is not a proxy, saying https", proxied, "203.0.113.9:4100", map[string]string{"X-Forwarded-Proto": "https"}, "http://"},
		{"a trusted proxy saying https", proxied, "10.1.2.3:5000", map[string]string{"X-Forwarded-Proto": "https"}, "https://"},
		{"a trusted proxy by address", proxied, "192.0.2.7:5000", map[string]string{"X-Forwarded-Proto": "HTTPS"}, "https://"},
		{"a trusted proxy with the client's address", proxied, "10.1.2.3:5000", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}, "https://"},
		{"a chain of proxies, the first saying https", proxied, "10.1.2.3:5000", map[string]string{"X-Forwarded-Proto": "https, http"}, "https://"},
		{"a trusted proxy saying http", proxied, "10.1.2.3:5000", map[string]string{"X-Forwarded-Proto": "http"}, "http://"},
		{"a trusted proxy saying nothing", proxied, "10.1.2.3:5000", nil, "http://"},
		{"an address outside the trusted ones", proxied, "192.0.2.8:5000", map[string]string{"X-Forwarded-Proto": "https"}, "http://"},
		{"SECURE_COOKIES", secure, "203.0.113.9:4100", nil, "https://"},
	} {
		h := map[string]string{}
		for k, v := range tc.headers {
			h[k] = v
		}
		host := "example.com"
		if tc.router == proxied {
			host = "clinic.example"
		}
		w := secDoFrom(tc.router, tc.remote, request{method: "GET", path: "http://" + host + "/api/patients/?page_size=1&page=2", token: u.Access, header: h})
		var body struct{ Next, Previous string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusOK || err != nil {
			t.Fatalf("%s: %d %s", tc.name, w.Code, w.Body)
		}
		for _, link := range []string{body.Next, body.Previous} {
			if !strings.HasPrefix(link, tc.want+host+"/api/patients/") {
				t.Errorf("%s: link %q, want %s%s/api/patients/...", tc.name, link, tc.want, host)
			}
		}
	}
}
