package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"healthcare/models"
)

func TestAdminDoctors(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff, cl := app.admStaff(t)
	app.mustDoctor(t, "Alice Heart", "Cardiology")
	app.mustDoctor(t, "Bob Brain", "Neurology")

	// Add with validation errors (the API's rules and messages), then fix.
	form := url.Values{"name": {"Carol Skin"}, "specialization": {""}, "email": {"carol@"}, "phone": {"555-0101"},
		"years_of_experience": {"81"}}
	res := cl.post("/admin/doctors/add/", form).want(t, http.StatusBadRequest)
	for field, want := range map[string]string{
		"specialization":      "This field may not be blank.",
		"email":               "Enter a valid email address.",
		"years_of_experience": "Ensure this value is less than or equal to 80.",
	} {
		if got := res.text(t, "error-"+field); got != want {
			t.Errorf("error for %s = %q, want %q", field, got, want)
		}
	}
	if v, _ := res.doc(t).Find("#id_name").Attr("value"); v != "Carol Skin" {
		t.Errorf("typed name not kept: %q", v)
	}
	form.Set("years_of_experience", "ten")
	if got := cl.post("/admin/doctors/add/", form).want(t, http.StatusBadRequest).text(t, "error-years_of_experience"); got != "Enter a whole number." {
		t.Errorf("non-number years: %q", got)
	}
	form.Set("specialization", "Dermatology")
	form.Set("email", "Carol@Clinic.example")
	form.Set("years_of_experience", "12")
	cl.post("/admin/doctors/add/", form).wantRedirect(t, "/admin/doctors/")
	list := cl.get("/admin/doctors/").want(t, http.StatusOK)
	if !strings.Contains(list.text(t, "message-success"), "“Carol Skin” was added successfully") {
		t.Fatal("no success message")
	}
	if !strings.Contains(list.text(t, "results"), "Carol@Clinic.example") {
		t.Fatal("email not kept as typed, as the API keeps it")
	}
	// The same email again is the API's duplicate error, under email.
	form.Set("email", "CAROL@clinic.example")
	if got := cl.post("/admin/doctors/add/", form).want(t, http.StatusBadRequest).text(t, "error-email"); got != "doctor with this email already exists." {
		t.Fatalf("duplicate email error = %q", got)
	}
	// Filter by specialization; the sidebar offers the ones there are.
	res = cl.get("/admin/doctors/?specialization=Neurology").want(t, http.StatusOK)
	if got := res.testid(t, "results").Find("tbody tr").Length(); got != 1 || !strings.Contains(res.text(t, "results"), "Bob Brain") {
		t.Fatalf("specialization filter: %d rows", got)
	}
	res.testid(t, "filter-specialization-Dermatology")
	// The list filters as its export does, in any case (as the API does).
	res = cl.get("/admin/doctors/?specialization=neurology").want(t, http.StatusOK)
	if got := res.testid(t, "results").Find("tbody tr").Length(); got != 1 {
		t.Fatalf("lower-case specialization filter: %d rows, want Bob Brain's", got)
	}
	csv := cl.get("/admin/doctors/export/?specialization=neurology").want(t, http.StatusOK).Body.String()
	if lines := strings.Count(strings.TrimSpace(csv), "\n"); lines != 1 || !strings.Contains(csv, "Bob Brain") {
		t.Fatalf("export with the same filter: %d rows:\n%s", lines, csv)
	}
	// Sort by experience.
	res = cl.get("/admin/doctors/?o=-years_of_experience").want(t, http.StatusOK)
	if first := res.testid(t, "results").Find("tbody th").First().Text(); !strings.Contains(first, "Carol Skin") {
		t.Fatalf("first by experience = %q", first)
	}
	// Change page: created_by shown read-only; update records a diff.
	page, _ := app.store.AdminDoctors(t.Context(), models.AdminDoctorFilter{Specialization: "Dermatology"}, models.AdminQuery{Page: 1})
	d := page.Items[0]
	path := "/admin/doctors/" + itoa64(d.ID) + "/"
	change := cl.get(path).want(t, http.StatusOK)
	if got := change.text(t, "readonly-created_by"); got != staff.Email {
		t.Fatalf("added by = %q", got)
	}
	form.Set("email", "carol@clinic.example")
	form.Set("years_of_experience", "13")
	cl.post(path, form).wantRedirect(t, "/admin/doctors/")
	hist := cl.get(path+"history/").want(t, http.StatusOK)
	if !strings.Contains(hist.text(t, "events"), "years_of_experience 12 → changed to 13") {
		t.Fatalf("history = %q", hist.text(t, "events"))
	}
}

func TestAdminLookup(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	app.mustDoctor(t, "Dora Lung", "Pulmonology")
	app.admPatient(t, owner.ID, "Ivan Ivy")
	for _, tc := range []struct{ path, want string }{
		{"/admin/lookup/doctor/?q=pulmo", "Dora Lung"},
		{"/admin/lookup/patient/?q=ivy", "Ivan Ivy"},
		{"/admin/lookup/user/?q=" + url.QueryEscape(owner.Email), owner.Email},
	} {
		res := cl.get(tc.path).want(t, http.StatusOK)
		var body struct {
			Results []models.LookupItem `json:"results"`
		}
		if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil || len(body.Results) != 1 || body.Results[0].Label != tc.want {
			t.Errorf("GET %s = %s (%v)", tc.path, res.Body.String(), err)
		}
		if strings.Contains(res.Body.String(), "argon2") {
			t.Errorf("GET %s leaks a password hash", tc.path)
		}
	}
	// The picker lists 20 and says when there are more: not at exactly 20.
	lookup := func(q string, n int, more bool) {
		t.Helper()
		var body struct {
			Results []models.LookupItem `json:"results"`
			More    bool                `json:"more"`
		}
		res := cl.get("/admin/lookup/doctor/?q="+url.QueryEscape(q)).want(t, http.StatusOK)
		if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil || len(body.Results) != n || body.More != more {
			t.Errorf("lookup of %q: %d results, more %v (%v), want %d, %v", q, len(body.Results), body.More, err, n, more)
		}
	}
	for i := range 20 {
		app.mustDoctor(t, fmt.Sprintf("Dr Many %02d", i), "Pulmonology")
	}
	lookup("many", 20, false)
	app.mustDoctor(t, "Dr Many 20", "Pulmonology")
	lookup("many", 20, true)
	lookup("dora", 1, false)
	cl.get("/admin/lookup/token/?q=x").want(t, http.StatusNotFound)
	app.admAnon(t).get("/admin/lookup/patient/?q=ivy").wantRedirect(t, "/admin/login/?next=%2Fadmin%2Flookup%2Fpatient%2F%3Fq%3Divy")
	// Searching patients is an audited read.
	if evs := app.admEvents(t, models.AuditFilter{UserID: staff.ID, Action: models.ActionList, ObjectType: models.ObjectPatient}); len(evs) != 1 {
		t.Fatalf("patient lookup audit events = %d", len(evs))
	}
}

// A form with a value that does not parse still reports a taken email with
// it, as the API does (DRF reports every failing field at once): the
// panel's doctor and user forms left it for the next try.
func TestAdminTakenEmailWithAParseError(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	super, cl := app.admSuper(t)
	taken := app.mustDoctor(t, "Dr Taken", "Cardiology")
	other := app.mustDoctor(t, "Dr Other", "Cardiology")
	for _, tc := range []struct{ path, email string }{
		{"/admin/doctors/add/", taken.Email},
		{"/admin/doctors/" + itoa64(other.ID) + "/", strings.ToUpper(taken.Email)},
	} {
		res := cl.post(tc.path, url.Values{"name": {"Dr New"}, "specialization": {"Cardiology"},
			"email": {tc.email}, "years_of_experience": {"ten"}}).want(t, http.StatusBadRequest)
		if got := res.text(t, "error-email"); got != "doctor with this email already exists." {
			t.Errorf("%s: email error = %q", tc.path, got)
		}
		if !res.has(t, "error-years_of_experience") {
			t.Errorf("%s: the parse error is not shown", tc.path)
		}
	}
	res := cl.post("/admin/users/add/", url.Values{"name": {"Someone"}, "email": {super.Email},
		"password": {"blue-Lagoon-horse-7"}, "password2": {"blue-Lagoon-horse-8"}}).want(t, http.StatusBadRequest)
	if got := res.text(t, "error-email"); got != "user with this email already exists." || !res.has(t, "error-password2") {
		t.Errorf("user form: email error %q, mismatch shown %v", got, res.has(t, "error-password2"))
	}
}
