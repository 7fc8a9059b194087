package admin

import (
	"net/http/httptest"
	"testing"
)

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ next, want string }{
		{"", "/admin/"},
		{"/admin/", "/admin/"},
		{"/admin/patients/?q=ann&o=-name", "/admin/patients/?q=ann&o=-name"},
		{"/admin/patients/12/history/", "/admin/patients/12/history/"},
		{"//evil.example/admin/", "/admin/"},
		{"///evil.example", "/admin/"},
		{"https://evil.example/admin/", "/admin/"},
		{"http:/admin/", "/admin/"},
		{"/api/patients/", "/admin/"},
		{"/admin/../api/", "/admin/"},
		{"/admin/./", "/admin/"},
		{"/admin/%2e%2e/api/", "/admin/"},
		{"/admin/%2F%2Fevil", "/admin/"},
		{"/admin/\\\\evil.example", "/admin/"},
		{"/admin/\r\nSet-Cookie: x", "/admin/"},
		{"/admin/login/?next=/admin/", "/admin/"},
		{"/admin/logout/", "/admin/"},
		{"javascript:alert(1)", "/admin/"},
		{"/adminx/", "/admin/"},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, origin, fetchSite string
		want                    bool
	}{
		{"no headers (old browsers, tests)", "", "", true},
		{"same origin", "http://clinic.example", "same-origin", true},
		{"other host", "https://evil.example", "", false},
		{"null origin", "null", "", false},
		{"cross-site fetch", "", "cross-site", false},
		{"same-site subdomain", "", "same-site", false},
		{"user typed the URL", "", "none", true},
	} {
		r := httptest.NewRequest("POST", "http://clinic.example/admin/login/", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", tc.fetchSite)
		}
		if got := sameOrigin(r); got != tc.want {
			t.Errorf("%s: sameOrigin = %v, want %v", tc.name, got, tc.want)
		}
	}
}
