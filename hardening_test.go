package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// secQuick bounds requests that must be refused cheaply. It is generous
// (the race detector slows everything) and only catches work that grows
// with the input, such as quadratic validation.
const secQuick = 5 * time.Second

// Oversized values just under the body limit are refused with the field's
// length error, quickly, and are neither stored nor echoed back.
func TestSecHugeFieldsAreRefusedQuickly(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	huge := strings.Repeat("x", 900<<10)
	hugeWide := strings.Repeat("é", 300<<10) // 600 KB, 300K code points
	cases := []struct {
		name      string
		req       request
		wantField string
		want      int
	}{
		{"patient name", request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": huge}}, "name", 400},
		{"patient name, multi-byte", request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": hugeWide}}, "name", 400},
		{"medical history", request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": "A", "medical_history": huge}}, "medical_history", 400},
		{"address", request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": "A", "address": huge}}, "address", 400},
		{"patient email", request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": "A", "email": huge + "@example.com"}}, "email", 400},
		{"phone", request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": "A", "phone": huge}}, "phone", 400},
		{"register password", request{method: "POST", path: "/api/auth/register/", body: map[string]any{"name": "A", "email": "huge@example.com", "password": huge}}, "password", 400},
		{"register name", request{method: "POST", path: "/api/auth/register/", body: map[string]any{"name": huge, "email": "huge2@example.com", "password": testPassword}}, "name", 400},
		{"login password", request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": u.Email, "password": huge}}, "", 401},
		{"login email", request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": huge, "password": "x"}}, "", 401},
		{"refresh token", request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]any{"refresh": huge}}, "", 401},
		{"bearer token", request{method: "GET", path: "/api/auth/me/", token: huge[:60<<10]}, "", 401},
	}
	for _, tc := range cases {
		start := time.Now()
		r := app.do(tc.req)
		took := time.Since(start)
		if r.Code != tc.want {
			t.Errorf("%s: status = %d, want %d; body %.300s", tc.name, r.Code, tc.want, r.Body)
			continue
		}
		if took > secQuick {
			t.Errorf("%s: took %v, want under %v", tc.name, took, secQuick)
		}
		if r.Body.Len() > 2000 {
			t.Errorf("%s: response of %d bytes echoes the input", tc.name, r.Body.Len())
		}
		if tc.wantField != "" {
			var body map[string][]string
			if err := json.Unmarshal(r.Body.Bytes(), &body); err != nil || len(body[tc.wantField]) == 0 {
				t.Errorf("%s: body %s, want an error under %q", tc.name, r.Body, tc.wantField)
			}
		}
	}
	if n := app.secPatientCount(t, u); n != 0 {
		t.Errorf("%d patients stored from oversized requests", n)
	}
}

// secPatientCount counts u's patients in the database.
func (app *testApp) secPatientCount(t *testing.T, u *testUser) int64 {
	t.Helper()
	var n int64
	if err := app.store.DB().Table("patients").Where("created_by_id = ?", u.ID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// A search of very many words (as many as the header limit allows) is
// answered quickly: repeated words and words inside other words are
// dropped (they cannot change the result); more than 20 distinct words left
// is a 400, never a query the database refuses (a 500).
func TestSecSearchWithManyWords(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	app.mustPatient(t, u, map[string]any{"name": "Ann Smith"})
	app.mustPatient(t, u, map[string]any{"name": "Bob Smithers"})
	distinct := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = "w" + strconv.Itoa(i) + "x"
		}
		return strings.Join(w, "+")
	}
	cases := []struct {
		name, search string
		status       int
		count        float64
	}{
		{"20000 repeats of one word", strings.TrimSuffix(strings.Repeat("smith+", 20000), "+"), 200, 2},
		{"words inside other words", "an+ann+n+a+ANN+sm+smith", 200, 1},
		{"20 distinct words", distinct(20), 200, 0},
		{"21 distinct words", distinct(21), 400, 0},
		{"10000 distinct words", distinct(10000), 400, 0},
	}
	for _, tc := range cases {
		for _, path := range []string{"/api/patients/", "/api/doctors/"} {
			start := time.Now()
			r := app.do(request{method: "GET", path: path + "?search=" + tc.search, token: u.Access})
			who := "GET " + path + "?search=(" + tc.name + ")"
			if took := time.Since(start); took > secQuick {
				t.Errorf("%s: took %v", who, took)
			}
			if r.Code != tc.status {
				t.Errorf("%s: status = %d, want %d; body %.300s", who, r.Code, tc.status, r.Body)
				continue
			}
			body := r.json(t)
			if tc.status == 400 {
				if body["detail"] != "Too many search terms: use at most 20 words." {
					t.Errorf("%s: body %v", who, body)
				}
			} else if path == "/api/patients/" && body["count"] != tc.count {
				t.Errorf("%s: count = %v, want %v", who, body["count"], tc.count)
			}
		}
	}
}
