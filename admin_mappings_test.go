package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAdminMappings(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	alice, bob := app.admUser(t, false, false), app.admUser(t, false, false)
	ann := app.admPatient(t, alice.ID, "Ann Archer")
	bert := app.admPatient(t, bob.ID, "Bert Baker")
	heart := app.mustDoctor(t, "Alice Heart", "Cardiology")
	brain := app.mustDoctor(t, "Bob Brain", "Neurology")
	app.admMapping(t, alice.ID, ann.ID, heart.ID)

	// Staff assign any owner's patient.
	add := cl.get("/admin/mappings/add/?patient="+itoa64(bert.ID)).want(t, http.StatusOK)
	if got := add.text(t, "fk-label-patient_id"); !strings.Contains(got, "Bert Baker") {
		t.Fatalf("prefilled patient label = %q", got)
	}
	res := cl.post("/admin/mappings/add/", url.Values{"patient_id": {itoa64(bert.ID)}, "doctor_id": {"x"}}).want(t, http.StatusBadRequest)
	if got := res.text(t, "error-doctor_id"); !strings.Contains(got, "Enter a valid ID") {
		t.Fatalf("bad doctor id error = %q", got)
	}
	res = cl.post("/admin/mappings/add/", url.Values{"patient_id": {"999999"}, "doctor_id": {itoa64(brain.ID)}}).want(t, http.StatusBadRequest)
	if got := res.text(t, "error-patient_id"); got != "Patient not found." {
		t.Fatalf("unknown patient error = %q", got)
	}
	cl.post("/admin/mappings/add/", url.Values{"patient_id": {itoa64(bert.ID)}, "doctor_id": {itoa64(brain.ID)}, "notes": {"Headaches"}}).
		wantRedirect(t, "/admin/mappings/")
	res = cl.post("/admin/mappings/add/", url.Values{"patient_id": {itoa64(bert.ID)}, "doctor_id": {itoa64(brain.ID)}}).want(t, http.StatusBadRequest)
	if got := res.text(t, "form-errors"); !strings.Contains(got, "This doctor is already assigned to this patient.") {
		t.Fatalf("duplicate error = %q", got)
	}

	list := cl.get("/admin/mappings/?o=patient").want(t, http.StatusOK)
	if got := list.text(t, "result-count"); !strings.HasPrefix(got, "2 mappings") {
		t.Fatalf("count = %q", got)
	}
	rows := list.testid(t, "results").Find("tbody tr")
	if !strings.Contains(rows.First().Text(), "Ann Archer") || !strings.Contains(rows.Last().Text(), "Headaches") {
		t.Fatalf("rows = %q", rows.Text())
	}
	for _, tc := range []struct{ query, want string }{
		{"specialization=Neurology", "Bert Baker"},
		{"q=heart", "Ann Archer"},
		{"doctor=" + itoa64(heart.ID), "Ann Archer"},
		{"patient=" + itoa64(bert.ID), "Bert Baker"},
	} {
		res := cl.get("/admin/mappings/?"+tc.query).want(t, http.StatusOK)
		if n := res.testid(t, "results").Find("tbody tr").Length(); n != 1 || !strings.Contains(res.text(t, "results"), tc.want) {
			t.Errorf("?%s: %d rows: %q", tc.query, n, res.text(t, "results"))
		}
	}
}
