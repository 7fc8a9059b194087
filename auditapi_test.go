package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"healthcare/config"
	"healthcare/models"
)

// secAuditEvents returns the events matching f, oldest first.
func secAuditEvents(t *testing.T, store *models.Store, f models.AuditFilter) []models.AuditEvent {
	t.Helper()
	var out []models.AuditEvent
	if err := store.EachAuditEvent(context.Background(), f, func(ev models.AuditEvent) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatalf("EachAuditEvent: %v", err)
	}
	return out
}

// secDoFrom sends req to h from the socket address remote.
func secDoFrom(h http.Handler, remote string, req request) *httptest.ResponseRecorder {
	var body *strings.Reader
	if s, ok := req.body.(string); ok {
		body = strings.NewReader(s)
	}
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(req.method, req.path, body)
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(req.method, req.path, nil)
	}
	r.RemoteAddr = remote
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Reading a patient through the API records who read which record, from
// where and with what client; a forged X-Forwarded-For from a peer that is
// not a trusted proxy changes nothing, one from a trusted proxy counts.
func TestAuditAPIRecordsViews(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	p := app.mustPatient(t, u, map[string]any{"name": "Viewed"})
	pid := id(t, p, "id")
	path := "/api/patients/" + jsonNumber(p["id"]) + "/"

	proxied := secRouter(t, app.store, nil, func(c *config.Config) { c.TrustedProxies = []string{"10.0.0.0/8"} })
	cases := []struct {
		name   string
		router http.Handler
		remote string
		xff    string
		wantIP string
	}{
		{"direct client", app.router, "203.0.113.9:41000", "", "203.0.113.9"},
		{"spoofed X-Forwarded-For from an untrusted peer", app.router, "203.0.113.9:41001", "198.51.100.1", "203.0.113.9"},
		{"X-Forwarded-For from a trusted proxy", proxied, "10.1.2.3:5000", "198.51.100.77", "198.51.100.77"},
	}
	for i, tc := range cases {
		ua := "sec-audit-client/" + jsonNumber(float64(i))
		h := map[string]string{"User-Agent": ua}
		if tc.xff != "" {
			h["X-Forwarded-For"] = tc.xff
		}
		w := secDoFrom(tc.router, tc.remote, request{method: "GET", path: path, token: u.Access, header: h})
		if w.Code != http.StatusOK {
			t.Fatalf("%s: GET %s: status = %d, want 200; body %s", tc.name, path, w.Code, w.Body)
		}
		evs := secAuditEvents(t, app.store, models.AuditFilter{Action: models.ActionView, ObjectType: models.ObjectPatient, ObjectID: pid})
		if len(evs) != i+1 {
			t.Fatalf("%s: %d view events, want %d", tc.name, len(evs), i+1)
		}
		ev := evs[i]
		if ev.UserID == nil || *ev.UserID != u.ID || ev.UserEmail != u.Email || ev.IP != tc.wantIP ||
			ev.UserAgent != ua || ev.Source != "api" || ev.Outcome != models.OutcomeSuccess {
			raw, _ := json.Marshal(ev)
			t.Errorf("%s: view event = %s; want user %d (%s), ip %s, user agent %s, source api, success",
				tc.name, raw, u.ID, u.Email, tc.wantIP, ua)
		}
	}

	// Another user's id is 404 and records no view of the record.
	other := app.mustUser(t, false)
	before := len(secAuditEvents(t, app.store, models.AuditFilter{Action: models.ActionView}))
	app.do(request{method: "GET", path: path, token: other.Access}).want(t, http.StatusNotFound)
	if after := len(secAuditEvents(t, app.store, models.AuditFilter{Action: models.ActionView})); after != before {
		t.Errorf("a refused read recorded a view: %d -> %d", before, after)
	}

	// Lists are audited too.
	app.do(request{method: "GET", path: "/api/patients/", token: u.Access}).want(t, http.StatusOK)
	lists := secAuditEvents(t, app.store, models.AuditFilter{Action: models.ActionList, ObjectType: models.ObjectPatient, UserID: u.ID})
	if len(lists) != 1 {
		t.Errorf("%d list events after GET /api/patients/, want 1", len(lists))
	}
}

// An update through the API records the changed fields with old and new
// values; a rejected one records nothing.
func TestAuditAPIRecordsUpdates(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	p := app.mustPatient(t, u, map[string]any{"name": "Old Name", "phone": "555 0100"})
	path := "/api/patients/" + jsonNumber(p["id"]) + "/"
	filter := models.AuditFilter{Action: models.ActionUpdate, ObjectType: models.ObjectPatient, ObjectID: id(t, p, "id")}

	app.do(request{method: "PATCH", path: path, token: u.Access, body: map[string]any{"phone": "not a phone!"}}).want(t, http.StatusBadRequest)
	if n := len(secAuditEvents(t, app.store, filter)); n != 0 {
		t.Fatalf("rejected PATCH recorded %d update events", n)
	}
	app.do(request{method: "PATCH", path: path, token: u.Access, body: map[string]any{"name": "New Name"}}).want(t, http.StatusOK)
	evs := secAuditEvents(t, app.store, filter)
	if len(evs) != 1 {
		t.Fatalf("%d update events, want 1", len(evs))
	}
	var changes map[string]models.Change
	if err := json.Unmarshal([]byte(evs[0].Changes), &changes); err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes["name"] != (models.Change{Old: "Old Name", New: "New Name"}) {
		t.Errorf("update changes = %v, want only name Old Name -> New Name", changes)
	}
}
