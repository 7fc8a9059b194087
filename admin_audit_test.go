package main

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAdminAuditLogAndDashboard(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	super, cl := app.admSuper(t)
	owner := app.mustUser(t, false)
	p := app.mustPatient(t, owner, map[string]any{"name": "Gus Gray"})
	pid := id(t, p, "id")
	cl.get("/admin/patients/"+itoa64(pid)+"/").want(t, http.StatusOK)
	cl.post("/admin/doctors/add/", url.Values{"name": {"Hal Hand"}, "specialization": {"Orthopedics"}, "email": {"hal@clinic.example"}}).
		wantRedirect(t, "/admin/doctors/")

	// Dashboard: counts and this user's recent actions.
	dash := cl.get("/admin/").want(t, http.StatusOK)
	if got := dash.testid(t, "model-patients").Find(`[data-testid="count"]`).Text(); got != "1" {
		t.Fatalf("patient count = %q", got)
	}
	if got := dash.text(t, "recent-actions"); !strings.Contains(got, "Added") || !strings.Contains(got, "Doctor #") {
		t.Fatalf("recent actions = %q", got)
	}

	all := cl.get("/admin/audit/").want(t, http.StatusOK)
	if n := all.testid(t, "events").Find("tbody tr").Length(); n < 4 {
		t.Fatalf("audit log rows = %d", n)
	}
	for _, tc := range []struct {
		query      string
		want, deny []string
	}{
		{"action=view&object_type=patient", []string{"Viewed", "Patient #" + itoa64(pid), super.Email}, []string{"Added"}},
		{"email=" + url.QueryEscape(owner.Email) + "&action=create", []string{"Added", owner.Email}, []string{super.Email}},
		{"object_type=doctor", []string{"Doctor #"}, []string{"Patient #"}},
		{"object_type=patient&object_id=" + itoa64(pid), []string{"Patient #" + itoa64(pid)}, []string{"Doctor #"}},
		{"from=2000-01-01&to=2000-01-31", nil, []string{"Viewed"}},
	} {
		res := cl.get("/admin/audit/?"+tc.query).want(t, http.StatusOK)
		body := res.text(t, "result-count")
		if res.has(t, "events") {
			body += " " + res.text(t, "events")
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("?%s lacks %q: %s", tc.query, w, body)
			}
		}
		for _, d := range tc.deny {
			if strings.Contains(body, d) {
				t.Errorf("?%s shows %q: %s", tc.query, d, body)
			}
		}
	}
	// The filter form keeps its values; export keeps the filter.
	res := cl.get("/admin/audit/?action=view").want(t, http.StatusOK)
	if v := res.doc(t).Find(`#id_action option[selected]`).AttrOr("value", ""); v != "view" {
		t.Fatalf("selected action = %q", v)
	}
	href, _ := res.testid(t, "export-csv").Attr("href")
	exp := cl.get(href).want(t, http.StatusOK)
	records, err := csv.NewReader(strings.NewReader(exp.Body.String())).ReadAll()
	if err != nil || len(records) < 2 {
		t.Fatalf("audit export: %d records, %v", len(records), err)
	}
	for _, r := range records[1:] {
		if r[4] != "view" {
			t.Fatalf("export row not filtered: %q", r)
		}
	}
	// That export is in the trail, and the log's object filter finds it.
	exports := cl.get("/admin/audit/?object_type=audit_log").want(t, http.StatusOK)
	if v := exports.doc(t).Find(`#id_object_type option[selected]`).Text(); v != "Audit log" {
		t.Errorf("selected object = %q, want Audit log", v)
	}
	body := exports.text(t, "events")
	if !strings.Contains(body, "Exported") || !strings.Contains(body, "Audit log") || strings.Contains(body, "Patient") {
		t.Errorf("?object_type=audit_log shows %q", body)
	}
}
