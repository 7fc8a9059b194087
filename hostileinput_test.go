package main

import (
	"strings"
	"testing"

	"healthcare/models"
)

// Bytes PostgreSQL refuses in text (NUL, invalid UTF-8) arrive in headers,
// query strings and JSON; none of them may turn into a 500.
func TestSecHostileBytesAreNotServerErrors(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	p := app.mustPatient(t, u, map[string]any{"name": "Ann"})
	path := "/api/patients/" + jsonNumber(p["id"]) + "/"
	cases := []struct {
		name string
		req  request
		want []int
	}{
		{"invalid UTF-8 user agent on a view", request{method: "GET", path: path, token: u.Access, header: map[string]string{"User-Agent": "agent \xff\xfe"}}, []int{200}},
		{"invalid UTF-8 user agent on login", request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": u.Email, "password": "wrong-password-1"}, header: map[string]string{"User-Agent": "\xc3\x28"}}, []int{401}},
		{"NUL in a login email", request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": "a\u0000@example.com", "password": "wrong-password-1"}}, []int{400, 401}},
		{"NUL in a register email", request{method: "POST", path: "/api/auth/register/", body: map[string]any{"name": "N", "email": "n\u0000@example.com", "password": testPassword}}, []int{400}},
		{"invalid UTF-8 search", request{method: "GET", path: "/api/patients/?search=%FF%FE", token: u.Access}, []int{200, 400}},
		{"NUL search", request{method: "GET", path: "/api/patients/?search=an%00", token: u.Access}, []int{200, 400}},
		{"invalid UTF-8 specialization", request{method: "GET", path: "/api/doctors/?specialization=%FF", token: u.Access}, []int{200, 400}},
		{"NUL specialization", request{method: "GET", path: "/api/doctors/?specialization=x%00", token: u.Access}, []int{200, 400}},
		{"invalid UTF-8 ordering", request{method: "GET", path: "/api/patients/?ordering=%FF", token: u.Access}, []int{200}},
	}
	for _, tc := range cases {
		r := app.do(tc.req)
		ok := false
		for _, s := range tc.want {
			ok = ok || r.Code == s
		}
		if !ok {
			t.Errorf("%s: %s %s = %d %s, want one of %v", tc.name, tc.req.method, tc.req.path, r.Code, r.Body, tc.want)
		}
	}
	// The view with a broken user agent is audited, its bytes made valid.
	evs := secAuditEvents(t, app.store, models.AuditFilter{Action: models.ActionView})
	if len(evs) != 1 || !strings.HasPrefix(evs[0].UserAgent, "agent ") {
		t.Errorf("view events = %+v, want one with the user agent kept readable", evs)
	}
}
