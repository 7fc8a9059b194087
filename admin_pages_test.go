package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"healthcare/models"
)

// TestAdminEveryPageRenders opens every page of the panel as a superuser:
// each answers 200 with its main element, and a missing object's pages go
// to the dashboard with a warning.
func TestAdminEveryPageRenders(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	super, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Ida Ito")
	d := app.mustDoctor(t, "Jon Jay", "Dermatology")
	m := app.admMapping(t, owner.ID, p.ID, d.ID)
	pid, did, mid, uid := itoa64(p.ID), itoa64(d.ID), itoa64(m.ID), itoa64(owner.ID)
	for _, tc := range []struct{ path, testid string }{
		{"/admin/", "recent-actions"},
		{"/admin/patients/", "changelist-patient"},
		{"/admin/patients/add/", "form-patient"},
		{"/admin/patients/" + pid + "/", "form-patient"},
		{"/admin/patients/" + pid + "/history/", "events"},
		{"/admin/patients/" + pid + "/delete/", "delete-summary"},
		{"/admin/doctors/", "changelist-doctor"},
		{"/admin/doctors/add/", "form-doctor"},
		{"/admin/doctors/" + did + "/", "form-doctor"},
		{"/admin/doctors/" + did + "/history/", "events"},
		{"/admin/doctors/" + did + "/delete/", "delete-summary"},
		{"/admin/mappings/", "changelist-mapping"},
		{"/admin/mappings/add/", "form-mapping"},
		{"/admin/mappings/" + mid + "/", "form-mapping"},
		{"/admin/mappings/" + mid + "/history/", "events"},
		{"/admin/mappings/" + mid + "/delete/", "delete-summary"},
		{"/admin/users/", "changelist-user"},
		{"/admin/users/add/", "form-user"},
		{"/admin/users/" + uid + "/", "form-user"},
		{"/admin/users/" + uid + "/password/", "form-password"},
		{"/admin/users/" + uid + "/history/", "events"},
		{"/admin/users/" + uid + "/delete/", "delete-summary"},
		{"/admin/audit/", "audit-filter"},
		// Without the trailing slash too.
		{"/admin/patients", "changelist-patient"},
		{"/admin/doctors/" + did, "form-doctor"},
	} {
		res := cl.get(tc.path).want(t, http.StatusOK)
		res.testid(t, tc.testid)
		if got := res.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q", tc.path, got)
		}
	}
	for _, path := range []string{"/admin/patients/export/", "/admin/doctors/export/", "/admin/mappings/export/", "/admin/users/export/", "/admin/audit/export/"} {
		res := cl.get(path).want(t, http.StatusOK)
		if !strings.HasPrefix(res.Header().Get("Content-Type"), "text/csv") || strings.Count(res.Body.String(), "\n") < 2 {
			t.Errorf("GET %s: %s %q", path, res.Header().Get("Content-Type"), res.Body.String())
		}
	}
	// A page of an object that does not exist goes to the dashboard with
	// a warning naming it, as Django's admin does.
	for path, want := range map[string]string{
		"/admin/patients/0/":                              "Patient with ID “0” doesn't exist. Perhaps it was deleted?",
		"/admin/patients/abc/":                            "Patient with ID “abc” doesn't exist. Perhaps it was deleted?",
		"/admin/doctors/99999/":                           "Doctor with ID “99999” doesn't exist. Perhaps it was deleted?",
		"/admin/mappings/99999/":                          "Mapping with ID “99999” doesn't exist. Perhaps it was deleted?",
		"/admin/users/99999/":                             "User with ID “99999” doesn't exist. Perhaps it was deleted?",
		"/admin/users/99999/password/":                    "User with ID “99999” doesn't exist. Perhaps it was deleted?",
		"/admin/patients/99999/history":                   "Patient with ID “99999” doesn't exist. Perhaps it was deleted?",
		"/admin/doctors/99999/delete/":                    "Doctor with ID “99999” doesn't exist. Perhaps it was deleted?",
		"/admin/doctors/" + strings.Repeat("9", 40) + "/": "Doctor with ID “99999999999999999999…” doesn't exist. Perhaps it was deleted?",
	} {
		cl.get(path).wantRedirect(t, "/admin/")
		if got := cl.get("/admin/").text(t, "message-warning"); got != want {
			t.Errorf("GET %s, then the dashboard: warning %q, want %q", path, got, want)
		}
	}
	cl.get("/admin/lookup/nothing/").want(t, http.StatusNotFound).testid(t, "error-404")
	// The id is shown as text without controls or invisible formatting (a
	// right-to-left override would turn the sentence around); a HEAD,
	// whose client shows no page, queues no warning.
	cl.get("/admin/patients/%E2%80%AE1%0A%3Cb%3E%00/").wantRedirect(t, "/admin/")
	if got, want := cl.get("/admin/").text(t, "message-warning"), "Patient with ID “1<b>” doesn't exist. Perhaps it was deleted?"; got != want {
		t.Errorf("warning %q, want %q", got, want)
	}
	for range 3 {
		cl.do(http.MethodHead, "/admin/patients/0/", nil, nil).wantRedirect(t, "/admin/")
	}
	if cl.get("/admin/").has(t, "message-warning") {
		t.Error("HEADs of a missing object queued warnings")
	}
	app.admAnon(t).do(http.MethodGet, "/admin", nil, nil).want(t, http.StatusMovedPermanently)
	// The mapping's change page and its history name a patient: audited views.
	if evs := app.admEvents(t, models.AuditFilter{UserID: super.ID, Action: models.ActionView, ObjectType: models.ObjectMapping}); len(evs) != 2 {
		t.Errorf("mapping views audited = %d, want 2 (change page, history)", len(evs))
	}
	// A form whose patient field is filled in names the patient (and its
	// date of birth): an audited view of that patient.
	viewsOfP := func() int {
		return len(app.admEvents(t, models.AuditFilter{UserID: super.ID, Action: models.ActionView, ObjectType: models.ObjectPatient, ObjectID: p.ID}))
	}
	before := viewsOfP()
	cl.get("/admin/mappings/add/?patient="+pid).want(t, http.StatusOK).testid(t, "form-mapping")
	if got := viewsOfP(); got != before+1 {
		t.Errorf("views of the patient a new mapping's form names: %d more, want 1", got-before)
	}
}

func TestAdminMappingChange(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Kim Kane")
	q := app.admPatient(t, owner.ID, "Lou Lane")
	d := app.mustDoctor(t, "Max Mole", "Dermatology")
	m := app.admMapping(t, owner.ID, p.ID, d.ID)
	app.admMapping(t, owner.ID, q.ID, d.ID)
	path := "/admin/mappings/" + itoa64(m.ID) + "/"
	// Moving it onto an existing pair is the duplicate error.
	res := cl.post(path, url.Values{"patient_id": {itoa64(q.ID)}, "doctor_id": {itoa64(d.ID)}}).want(t, http.StatusBadRequest)
	if !strings.Contains(res.text(t, "form-errors"), "already assigned") {
		t.Fatalf("errors = %q", res.text(t, "form-errors"))
	}
	cl.post(path, url.Values{"patient_id": {itoa64(p.ID)}, "doctor_id": {itoa64(d.ID)}, "notes": {"Follow-up in May"}}).
		wantRedirect(t, "/admin/mappings/")
	got, err := app.store.AdminMapping(t.Context(), m.ID)
	if err != nil || got.Notes != "Follow-up in May" {
		t.Fatalf("mapping = %+v, %v", got, err)
	}
	hist := cl.get(path+"history/").want(t, http.StatusOK).text(t, "events")
	if !strings.Contains(hist, "notes (empty) → changed to Follow-up in May") {
		t.Fatalf("history = %q", hist)
	}
}

// Reading a page does not write the session (a database write and a
// Set-Cookie per page view otherwise); a flash message is still shown
// once, and taking it saves the session.
func TestAdminPageViewsDoNotRewriteTheSession(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	for _, path := range []string{"/admin/", "/admin/patients/", "/admin/doctors/"} {
		r := cl.get(path).want(t, http.StatusOK)
		if c := r.Header().Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("GET %s rewrote the session: Set-Cookie %v", path, c)
		}
	}
	d := app.mustDoctor(t, "Flash Gordon", "Cardiology")
	cl.post("/admin/doctors/"+itoa64(d.ID)+"/delete/", url.Values{"confirm": {"yes"}}).wantRedirect(t, "/admin/doctors/")
	if r := cl.get("/admin/doctors/").want(t, http.StatusOK); !r.has(t, "message-success") {
		t.Errorf("no success message after the delete")
	}
	if r := cl.get("/admin/doctors/").want(t, http.StatusOK); r.has(t, "message-success") {
		t.Errorf("the success message shown twice")
	}
}

// The forms tell the browser what the server will accept: the date picker
// offers no date of birth the save would refuse, the years of experience
// their range, and each of a patient's doctors has a remove box that says
// which doctor it removes (not eleven boxes all called "Remove").
func TestAdminFormsCarryTheirBounds(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Ann Archer")
	house := app.mustDoctor(t, "Gregory House", "Diagnostics")
	m := app.admMapping(t, owner.ID, p.ID, house.ID)

	before := app.store.Today().String()
	page := cl.get("/admin/patients/"+itoa64(p.ID)+"/").want(t, http.StatusOK)
	after := app.store.Today().String() // either, should a midnight pass
	dob := page.doc(t).Find("#id_date_of_birth")
	if lo, hi := dob.AttrOr("min", ""), dob.AttrOr("max", ""); lo != "1900-01-01" || (hi != before && hi != after) {
		t.Errorf("date of birth bounds %q–%q, want 1900-01-01–today (%s)", lo, hi, after)
	}
	if label := page.testid(t, "inline-remove-"+itoa64(m.ID)).AttrOr("aria-label", ""); label != "Remove Gregory House" {
		t.Errorf("remove box labelled %q", label)
	}
	years := cl.get("/admin/doctors/add/").want(t, http.StatusOK).doc(t).Find("#id_years_of_experience")
	if lo, hi := years.AttrOr("min", ""), years.AttrOr("max", ""); lo != "0" || hi != "80" {
		t.Errorf("years of experience bounds %q–%q, want 0–80", lo, hi)
	}
}

// A change page's title and a deletion's breadcrumbs name the record, so
// tabs of several records, and the page that deletes one, can be told
// apart.
func TestAdminPagesNameTheirRecord(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admSuper(t)
	house := app.mustDoctor(t, "Gregory House", "Diagnostics")
	change := cl.get("/admin/doctors/"+itoa64(house.ID)+"/").want(t, http.StatusOK)
	if title := change.doc(t).Find("title").Text(); !strings.HasPrefix(title, "Gregory House | Change doctor") {
		t.Errorf("change page title %q", title)
	}
	crumbs := func(r *admResponse) string {
		return strings.Join(r.doc(t).Find(".breadcrumbs li").Map(func(_ int, s *goquerySelection) string {
			return strings.TrimSpace(s.Text())
		}), " › ")
	}
	owner := app.admUser(t, false, false)
	ann := app.admPatient(t, owner.ID, "Ann Archer")
	m := app.admMapping(t, owner.ID, ann.ID, house.ID)
	super := app.admUser(t, true, true)
	for path, want := range map[string]string{
		"/admin/doctors/" + itoa64(house.ID) + "/delete/": "Home › Doctors › Gregory House › Delete",
		"/admin/patients/" + itoa64(ann.ID) + "/delete/":  "Home › Patients › Ann Archer › Delete",
		"/admin/mappings/" + itoa64(m.ID) + "/delete/":    "Home › Mappings › Ann Archer → Gregory House › Delete",
		"/admin/users/" + itoa64(super.ID) + "/delete/":   "Home › Users › " + super.Email + " › Delete",
	} {
		if got := crumbs(cl.get(path).want(t, http.StatusOK)); got != want {
			t.Errorf("%s: breadcrumbs %q, want %q", path, got, want)
		}
	}
	// A bulk deletion's, even of one row, names no record (as Django's).
	bulk := cl.post("/admin/doctors/delete/", url.Values{"ids": {itoa64(house.ID)}}).want(t, http.StatusOK)
	if got := crumbs(bulk); got != "Home › Doctors › Delete" {
		t.Errorf("bulk delete page breadcrumbs %q", got)
	}
}

// A record's fields, and the search box that takes patients' names, tell
// the browser not to save what is typed: on a clinic's shared workstation
// it offered one patient's name and address in the next patient's form.
// Password fields say which password they take. A checkbox, where HTML
// forbids the attribute, has none.
func TestAdminFormsKeepPatientDataOutOfTheBrowser(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Ann Archer")
	for _, path := range []string{"/admin/patients/add/", "/admin/patients/" + itoa64(p.ID) + "/", "/admin/doctors/add/",
		"/admin/mappings/add/", "/admin/users/add/", "/admin/password_change/", "/admin/patients/?q=ann"} {
		controls := cl.get(path).want(t, http.StatusOK).doc(t).Find("main input, main textarea, main select")
		checked := 0
		controls.Each(func(_ int, c *goquerySelection) {
			kind := c.AttrOr("type", "")
			if kind == "hidden" || kind == "submit" || kind == "button" {
				return // nothing typed
			}
			checked++
			want := "off"
			if kind == "checkbox" {
				want = "(none)"
			}
			if kind == "password" {
				want = "new-password"
				if c.AttrOr("name", "") == "old_password" {
					want = "current-password"
				}
			}
			if got := c.AttrOr("autocomplete", "(none)"); got != want {
				t.Errorf("%s: %s name=%q autocomplete=%q, want %q", path, c.Nodes[0].Data, c.AttrOr("name", ""), got, want)
			}
		})
		if checked == 0 {
			t.Errorf("%s: no control to check", path)
		}
	}
}
