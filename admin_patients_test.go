package main

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcare/models"
)

func TestAdminPatientChangelist(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.clock.Advance(0) // frozen before the patients are added: they are today's, even past a midnight
	staff, cl := app.admStaff(t)
	alice, bob := app.admUser(t, false, false), app.admUser(t, false, false)
	ann := app.admPatient(t, alice.ID, "Ann Archer", func(p *models.Patient) { p.Gender = "female"; p.Phone = "+1 555 0100" })
	app.admPatient(t, bob.ID, "Bert Baker", func(p *models.Patient) { p.Gender = "male"; p.Email = "bert@example.com" })
	app.admPatient(t, bob.ID, "Cleo Carter", func(p *models.Patient) { p.Gender = "female" })

	// Staff see every owner's patients, newest first.
	res := cl.get("/admin/patients/").want(t, http.StatusOK)
	if got := res.text(t, "result-count"); !strings.HasPrefix(got, "3 patients") {
		t.Fatalf("result count = %q", got)
	}
	rows := res.testid(t, "results").Find("tbody tr")
	if rows.Length() != 3 || !strings.Contains(rows.First().Text(), "Cleo Carter") {
		t.Fatalf("rows = %d, first %q", rows.Length(), rows.First().Text())
	}
	if !strings.Contains(res.text(t, "row-"+itoa64(ann.ID)), alice.Email) {
		t.Fatal("owner column missing")
	}

	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"search by name word", "q=arch", []string{"Ann Archer"}},
		{"search by phone", "q=0100", []string{"Ann Archer"}},
		{"search by email", "q=bert@", []string{"Bert Baker"}},
		{"search words all match", "q=cleo+carter", []string{"Cleo Carter"}},
		{"gender filter", "gender=female&o=name", []string{"Ann Archer", "Cleo Carter"}},
		{"filter and search", "gender=female&q=cleo", []string{"Cleo Carter"}},
		{"created today", "created=today&o=name", []string{"Ann Archer", "Bert Baker", "Cleo Carter"}},
		{"sort by name descending", "o=-name", []string{"Cleo Carter", "Bert Baker", "Ann Archer"}},
		{"unknown sort field ignored", "o=medical_history", []string{"Cleo Carter", "Bert Baker", "Ann Archer"}},
		{"owner", "owner=" + itoa64(bob.ID) + "&o=name", []string{"Bert Baker", "Cleo Carter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := cl.get("/admin/patients/?"+tc.query).want(t, http.StatusOK)
			var got []string
			res.testid(t, "results").Find("tbody th").Each(func(_ int, s *goquerySelection) {
				got = append(got, strings.TrimSpace(s.Text()))
			})
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("GET /admin/patients/?%s: rows %q, want %q", tc.query, got, tc.want)
			}
		})
	}

	// Sortable headers are links only for allow-listed fields; the sorted
	// one links to the reverse order and keeps the filters.
	res = cl.get("/admin/patients/?gender=female&o=name").want(t, http.StatusOK)
	href, _ := res.testid(t, "sort-name").Attr("href")
	if !strings.Contains(href, "o=-name") || !strings.Contains(href, "gender=female") {
		t.Fatalf("sort link = %q", href)
	}
	if res.has(t, "sort-phone") || res.has(t, "sort-owner") {
		t.Fatal("a column that cannot be sorted has a sort link")
	}
	if res.testid(t, "filter-gender-female").AttrOr("aria-current", "") != "page" {
		t.Fatal("chosen filter not marked")
	}
	res.testid(t, "clear-filters")
	// The search form keeps the filter.
	if v, _ := res.testid(t, "search-form").Find(`input[name="gender"]`).Attr("value"); v != "female" {
		t.Fatalf("search form drops the filter: %q", v)
	}

	// The list is an audited read of patient data, from the admin.
	evs := app.admEvents(t, models.AuditFilter{UserID: staff.ID, Action: models.ActionList, ObjectType: models.ObjectPatient})
	if len(evs) == 0 || evs[0].Source != "admin" {
		t.Fatalf("list not audited as admin: %+v", evs)
	}
}

func TestAdminPatientPagination(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	for i := range 205 {
		app.admPatient(t, owner.ID, "Patient "+itoa64(int64(1000+i)))
	}
	res := cl.get("/admin/patients/?o=name").want(t, http.StatusOK)
	if n := res.testid(t, "results").Find("tbody tr").Length(); n != 100 {
		t.Fatalf("page 1 has %d rows, want 100", n)
	}
	if got := res.text(t, "pagination"); !strings.Contains(got, "Page 1 of 3") {
		t.Fatalf("pagination = %q", got)
	}
	next, _ := res.testid(t, "page-next").Attr("href")
	if !strings.Contains(next, "p=2") || !strings.Contains(next, "o=name") {
		t.Fatalf("next link = %q", next)
	}
	res = cl.get("/admin/patients/?o=name&p=3").want(t, http.StatusOK)
	if n := res.testid(t, "results").Find("tbody tr").Length(); n != 5 {
		t.Fatalf("page 3 has %d rows, want 5", n)
	}
	// Past the end shows the last page, not an error.
	res = cl.get("/admin/patients/?o=name&p=99").want(t, http.StatusOK)
	if got := res.text(t, "pagination"); !strings.Contains(got, "Page 3 of 3") {
		t.Fatalf("pagination past the end = %q", got)
	}

	// A search is not counted past its page: page 1 of more than 100
	// matches still links the next page (it had no links at all).
	res = cl.get("/admin/patients/?q=patient&o=name").want(t, http.StatusOK)
	if got := res.text(t, "result-count"); !strings.Contains(got, "More than 100 patients") {
		t.Fatalf("count of a full searched page = %q", got)
	}
	next, _ = res.testid(t, "page-next").Attr("href")
	if !strings.Contains(next, "p=2") || !strings.Contains(next, "q=patient") {
		t.Fatalf("next link of a searched page 1 = %q", next)
	}
	res = cl.get(next).want(t, http.StatusOK)
	prev, _ := res.testid(t, "page-prev").Attr("href")
	if n := res.testid(t, "results").Find("tbody tr").Length(); n != 100 || !strings.Contains(prev, "p=1") {
		t.Fatalf("searched page 2: %d rows, previous link %q", n, prev)
	}
}

func TestAdminPatientForm(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)

	add := cl.get("/admin/patients/add/").want(t, http.StatusOK)
	if v, _ := add.testid(t, "fk-id-created_by").Attr("value"); v != itoa64(staff.ID) {
		t.Fatalf("owner defaults to %q, want the staff user %d", v, staff.ID)
	}
	// Invalid: every message next to its field, typed values kept, nothing saved.
	bad := url.Values{"name": {"   "}, "date_of_birth": {"2999-01-01"}, "gender": {"robot"}, "phone": {"call me"},
		"email": {"not-an-email"}, "address": {"1 Main St"}, "medical_history": {"Asthma"}, "created_by": {"99999"}}
	res := cl.post("/admin/patients/add/", bad).want(t, http.StatusBadRequest)
	for field, want := range map[string]string{
		"name": "This field may not be blank.", "date_of_birth": "cannot be in the future", "gender": "is not a valid choice",
		"phone": "Enter a valid phone number", "email": "Enter a valid email address.", "created_by": "User not found.",
	} {
		if got := res.text(t, "error-"+field); !strings.Contains(got, want) {
			t.Errorf("error for %s = %q, want %q", field, got, want)
		}
	}
	if v, _ := res.doc(t).Find(`#id_phone`).Attr("value"); v != "call me" {
		t.Errorf("typed phone not kept: %q", v)
	}
	if got := res.doc(t).Find(`#id_medical_history`).Text(); got != "Asthma" {
		t.Errorf("typed history not kept: %q", got)
	}
	res.testid(t, "form-errors")
	// A date that does not parse is reported with the other errors.
	res = cl.post("/admin/patients/add/", url.Values{"name": {""}, "date_of_birth": {"31/12/1990"}, "created_by": {itoa64(owner.ID)}}).
		want(t, http.StatusBadRequest)
	if !strings.Contains(res.text(t, "error-date_of_birth"), "Date has wrong format") || !res.has(t, "error-name") {
		t.Fatal("parse error and validation error not shown together")
	}

	// Valid, "Save and continue editing".
	good := url.Values{"name": {"  Dana Dale "}, "date_of_birth": {"1980-02-03"}, "gender": {"female"},
		"phone": {"+44 (0) 20 7946 0000"}, "email": {"dana@example.com"}, "created_by": {itoa64(owner.ID)}, "_continue": {"1"}}
	res = cl.post("/admin/patients/add/", good).want(t, http.StatusSeeOther)
	loc := res.Header().Get("Location")
	if !strings.HasPrefix(loc, "/admin/patients/") || loc == "/admin/patients/add/" {
		t.Fatalf("continue editing went to %q", loc)
	}
	page := cl.get(loc).want(t, http.StatusOK)
	if got := page.text(t, "message-success"); !strings.Contains(got, "“Dana Dale” was added successfully") {
		t.Fatalf("flash = %q", got)
	}
	if v, _ := page.doc(t).Find("#id_name").Attr("value"); v != "Dana Dale" {
		t.Fatalf("saved name = %q (not trimmed like the API?)", v)
	}
	page.testid(t, "readonly-created_at")
	if page.doc(t).Find(`input[name="created_at"]`).Length() != 0 {
		t.Fatal("created_at is editable")
	}
	// Flash shows once.
	if cl.get(loc).has(t, "messages") {
		t.Fatal("flash message shown twice")
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/admin/patients/"), "/")

	// The change page is an audited admin view.
	evs := app.admEvents(t, models.AuditFilter{ObjectType: models.ObjectPatient, Action: models.ActionView, UserID: staff.ID})
	if len(evs) < 2 || evs[0].Source != "admin" || evs[0].ObjectID == nil || itoa64(*evs[0].ObjectID) != id {
		t.Fatalf("views not audited: %+v", evs)
	}

	// Save and add another; then plain Save goes to the list.
	upd := url.Values{"name": {"Dana Dale-Smith"}, "gender": {"female"}, "email": {"dana@example.com"},
		"created_by": {itoa64(owner.ID)}, "_addanother": {"1"}}
	cl.post(loc, upd).wantRedirect(t, "/admin/patients/add/")
	upd.Del("_addanother")
	upd.Set("email", "dana@example.org")
	cl.post(loc, upd).wantRedirect(t, "/admin/patients/")
	list := cl.get("/admin/patients/")
	if !strings.Contains(list.text(t, "message-success"), "“Dana Dale-Smith” was changed successfully") {
		t.Fatal("no success message after save")
	}
	// The API sees the admin's change (same store, same rules).
	updates := app.admEvents(t, models.AuditFilter{ObjectType: models.ObjectPatient, Action: models.ActionUpdate})
	last := updates[len(updates)-1]
	if last.Source != "admin" || !strings.Contains(last.Changes, `"email":{"old":"dana@example.com","new":"dana@example.org"}`) {
		t.Fatalf("update audit = %+v", last)
	}
	// A patient deleted while its form was open: the save goes to the
	// dashboard, saying so (as Django's admin), and creates nothing.
	gone := app.admPatient(t, owner.ID, "Gone Soon")
	if _, err := app.store.AdminDelete(t.Context(), staff.ID, models.ObjectPatient, []int64{gone.ID}); err != nil {
		t.Fatal(err)
	}
	cl.post("/admin/patients/"+itoa64(gone.ID)+"/", url.Values{"name": {"Gone Soon"}, "gender": {"other"}, "created_by": {itoa64(owner.ID)}}).
		wantRedirect(t, "/admin/")
	if got := cl.get("/admin/").text(t, "message-warning"); !strings.Contains(got, "Patient with ID “"+itoa64(gone.ID)+"” doesn't exist") {
		t.Errorf("after saving a deleted patient: warning %q", got)
	}
}

func TestAdminPatientInlineDoctors(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Eve Evans")
	house := app.mustDoctor(t, "Gregory House", "Diagnostics")
	wilson := app.mustDoctor(t, "James Wilson", "Oncology")
	path := "/admin/patients/" + itoa64(p.ID) + "/"
	base := url.Values{"name": {"Eve Evans"}, "gender": {"unknown"}, "created_by": {itoa64(owner.ID)}, "_continue": {"1"}}

	page := cl.get(path).want(t, http.StatusOK)
	page.testid(t, "inline-empty")

	// Assign through the inline row.
	f := url.Values{}
	for k, v := range base {
		f[k] = v
	}
	f.Set("assign_doctor_id", itoa64(house.ID))
	f.Set("assign_notes", "Second opinion")
	cl.post(path, f).wantRedirect(t, path)
	page = cl.get(path).want(t, http.StatusOK)
	rows := page.testid(t, "inline").Find("tbody tr")
	if rows.Length() != 1 || !strings.Contains(rows.Text(), "Gregory House") || !strings.Contains(rows.Text(), "Second opinion") {
		t.Fatalf("inline rows = %q", rows.Text())
	}
	// The same doctor twice: an error next to the picker, nothing saved.
	f.Set("name", "Eve Changed")
	res := cl.post(path, f).want(t, http.StatusBadRequest)
	if !strings.Contains(res.text(t, "error-assign_doctor_id"), "already assigned") {
		t.Fatalf("duplicate assignment error = %q", res.text(t, "error-assign_doctor_id"))
	}
	if got, _ := app.store.AdminPatient(t.Context(), p.ID); got.Name != "Eve Evans" {
		t.Fatal("patient changed although its inline row failed")
	}
	// Unknown doctor.
	f.Set("assign_doctor_id", "999999")
	if got := cl.post(path, f).want(t, http.StatusBadRequest).text(t, "error-assign_doctor_id"); got != "Doctor not found." {
		t.Fatalf("unknown doctor error = %q", got)
	}
	// Remove House and add Wilson in one save.
	ms, _ := app.store.AdminPatientMappings(t.Context(), p.ID)
	f = url.Values{}
	for k, v := range base {
		f[k] = v
	}
	f.Set("remove_mapping", itoa64(ms[0].ID))
	f.Set("assign_doctor_id", itoa64(wilson.ID))
	cl.post(path, f).wantRedirect(t, path)
	ms, _ = app.store.AdminPatientMappings(t.Context(), p.ID)
	if len(ms) != 1 || ms[0].DoctorID != wilson.ID {
		t.Fatalf("mappings after inline edit = %+v", ms)
	}
	// The patient's history says who its doctors were and are.
	hist := cl.get(path+"history/").want(t, http.StatusOK).text(t, "events")
	for _, want := range []string{"doctors (empty) → changed to Gregory House", "doctors Gregory House → changed to James Wilson"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q: %s", want, hist)
		}
	}
	// The API's view of the patient's doctors agrees.
	got, err := app.store.PatientDoctors(t.Context(), owner.ID, p.ID)
	if err != nil || len(got) != 1 || got[0].Name != "James Wilson" {
		t.Fatalf("API doctors = %+v, %v", got, err)
	}
}

func TestAdminPatientHistoryShowsAPIAndAdminViews(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff, cl := app.admStaff(t)
	owner := app.mustUser(t, false)
	p := app.mustPatient(t, owner, map[string]any{"name": "Fay Fox", "medical_history": "none"})
	pid := id(t, p, "id")
	path := "/admin/patients/" + itoa64(pid) + "/"
	app.do(request{method: "GET", path: "/api/patients/" + itoa64(pid) + "/", token: owner.Access}).want(t, http.StatusOK)
	app.do(request{method: "PATCH", path: "/api/patients/" + itoa64(pid) + "/", token: owner.Access,
		body: map[string]any{"medical_history": "Penicillin allergy"}}).want(t, http.StatusOK)
	cl.get(path).want(t, http.StatusOK)

	res := cl.get(path+"history/").want(t, http.StatusOK)
	events := res.testid(t, "events").Find("tbody tr")
	var lines []string
	events.Each(func(_ int, s *goquerySelection) { lines = append(lines, strings.Join(strings.Fields(s.Text()), " ")) })
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"Viewed", owner.Email, staff.Email, "API", "Admin",
		"medical_history none → changed to Penicillin allergy", "Added",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("history lacks %q:\n%s", want, all)
		}
	}
	// Newest first: the history view itself is the latest view.
	if !strings.Contains(lines[0], "Viewed") || !strings.Contains(lines[0], staff.Email) {
		t.Errorf("first history row = %q", lines[0])
	}
}

// A record's history is paged: every view is an event, so its changes can
// lie far back (the page showed the newest 1,000 events and nothing older).
func TestAdminHistoryIsPaged(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Paged History")
	ctx := models.WithActor(t.Context(), models.Actor{Source: "admin", Email: "viewer@clinic.example"})
	for range 150 {
		if _, err := app.store.AdminViewPatient(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	path := "/admin/patients/" + itoa64(p.ID) + "/history/"
	res := cl.get(path).want(t, http.StatusOK)
	if n := res.testid(t, "events").Find("tbody tr").Length(); n != models.AdminPageSize {
		t.Fatalf("history page 1: %d events, want %d", n, models.AdminPageSize)
	}
	if got := res.text(t, "result-count"); got != "152 events" { // added, 150 views, this one
		t.Errorf("history count = %q", got)
	}
	next, _ := res.testid(t, "page-next").Attr("href")
	if !strings.HasPrefix(next, path+"?p=2&upto=") {
		t.Fatalf("history next link = %q", next)
	}
	// Reading page 2 is a view too, but the pages stay put: page 2 holds
	// the 52 events after page 1's hundred, none of them again.
	last := cl.get(next).want(t, http.StatusOK).testid(t, "events").Find("tbody tr")
	if last.Length() != 52 || !strings.Contains(last.Last().Text(), "Added") {
		t.Fatalf("history page 2: %d events, the oldest %q; want 52 ending with the creation", last.Length(), last.Last().Text())
	}
}

func TestAdminPatientExportCSV(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	app.admPatient(t, owner.ID, "Gil Green", func(p *models.Patient) { p.Gender = "male" })
	app.admPatient(t, owner.ID, "=HYPERLINK(\"x\")", func(p *models.Patient) { p.Gender = "female" })
	app.admPatient(t, owner.ID, "Hana Hill", func(p *models.Patient) { p.Gender = "female"; p.MedicalHistory = "line1\nline2, \"quoted\"" })

	list := cl.get("/admin/patients/?gender=female&o=name").want(t, http.StatusOK)
	href, _ := list.testid(t, "export-csv").Attr("href")
	if !strings.HasPrefix(href, "/admin/patients/export/?") || !strings.Contains(href, "gender=female") {
		t.Fatalf("export link = %q", href)
	}
	res := cl.get(href).want(t, http.StatusOK)
	if ct := res.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cd := res.Header().Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, ".csv") {
		t.Fatalf("Content-Disposition = %q", cd)
	}
	records, err := csv.NewReader(strings.NewReader(res.Body.String())).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	if len(records) != 3 || records[0][1] != "name" {
		t.Fatalf("records = %q", records)
	}
	if records[1][1] != "'=HYPERLINK(\"x\")" {
		t.Errorf("formula not defused: %q", records[1][1])
	}
	if records[2][1] != "Hana Hill" || records[2][7] != "line1\nline2, \"quoted\"" {
		t.Errorf("row = %q", records[2])
	}
	evs := app.admEvents(t, models.AuditFilter{UserID: staff.ID, Action: models.ActionExport})
	if len(evs) != 1 || evs[0].ObjectType != models.ObjectPatient {
		t.Fatalf("export not audited: %+v", evs)
	}
}

// Form bytes that are not UTF-8 read as U+FFFD (one for each run of them),
// as Django decodes a form:
// they were a 500 on PostgreSQL (which refuses them in text) and stored
// as sent on SQLite.
func TestAdminFormBytesThatAreNotUTF8(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	res := cl.post("/admin/patients/add/", url.Values{"name": {"Bad\xff\xfeName"}, "gender": {"male"},
		"address": {"1 \xc3 Road"}, "created_by": {itoa64(owner.ID)}}).want(t, http.StatusSeeOther)
	var p models.Patient
	if err := app.store.DB().Where("created_by_id = ?", owner.ID).Take(&p).Error; err != nil {
		t.Fatalf("patient not saved (%s): %v", res.Header().Get("Location"), err)
	}
	if p.Name != "Bad\uFFFDName" || p.Address != "1 \uFFFD Road" {
		t.Errorf("stored name %q, address %q: want the bad bytes as U+FFFD", p.Name, p.Address)
	}
	cl.post("/admin/users/add/", url.Values{"name": {"U\xff"}, "email": {"bytes@clinic.example"},
		"password": {"blue-Lagoon-horse-7"}, "password2": {"blue-Lagoon-horse-7"}, "is_active": {"on"}}).want(t, http.StatusSeeOther)
	var u models.User
	if err := app.store.DB().Where("email = ?", "bytes@clinic.example").Take(&u).Error; err != nil || u.Name != "U\uFFFD" {
		t.Errorf("user %q, %v: want the name with U+FFFD", u.Name, err)
	}
}

// A list narrowed to one object by a link from another page (a user's
// patients, a patient's assignments) says so, with a link that removes it;
// a value that is no id narrows it to nothing, not silently to everything.
func TestAdminListScopes(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner, other := app.admUser(t, false, false), app.admUser(t, false, false)
	mine := app.admPatient(t, owner.ID, "Scoped Patient")
	app.admPatient(t, other.ID, "Someone Else")
	doctor := app.mustDoctor(t, "Dr Scope", "Cardiology")
	app.admMapping(t, owner.ID, mine.ID, doctor.ID)

	res := cl.get("/admin/patients/?owner="+itoa64(owner.ID)+"&o=name").want(t, http.StatusOK)
	if got := res.text(t, "scopes"); !strings.Contains(got, "Owner: "+owner.Email) {
		t.Errorf("scope = %q", got)
	}
	if href, _ := res.testid(t, "scope-owner").Attr("href"); href != "/admin/patients/?o=name" {
		t.Errorf("scope removal link = %q", href)
	}
	if rows := res.testid(t, "results").Find("tbody tr"); rows.Length() != 1 || !strings.Contains(rows.Text(), "Scoped Patient") {
		t.Errorf("owner's list: %q", rows.Text())
	}
	if href, _ := res.testid(t, "clear-filters").Attr("href"); href != "/admin/patients/?o=name" {
		t.Errorf("clear link = %q", href)
	}
	for value, want := range map[string]string{"abc": "Owner: not a valid ID", "-1": "Owner: not a valid ID", "999999": "Owner: #999999 (not found)"} {
		res := cl.get("/admin/patients/?owner="+value).want(t, http.StatusOK)
		if got := res.text(t, "scopes"); !strings.Contains(got, want) || !res.has(t, "empty") {
			t.Errorf("?owner=%s: scope %q, empty list %v; want %q and no rows", value, got, res.has(t, "empty"), want)
		}
	}

	res = cl.get(fmt.Sprintf("/admin/mappings/?patient=%d&doctor=%d", mine.ID, doctor.ID)).want(t, http.StatusOK)
	if got := res.text(t, "scopes"); !strings.Contains(got, "Patient: Scoped Patient") || !strings.Contains(got, "Doctor: Dr Scope") {
		t.Errorf("mapping scopes = %q", got)
	}
	if n := res.testid(t, "results").Find("tbody tr").Length(); n != 1 {
		t.Errorf("scoped mappings: %d rows", n)
	}
	// Naming the patient is a view of patient data: audited.
	if evs := app.admEvents(t, models.AuditFilter{Action: models.ActionView, ObjectType: models.ObjectPatient, ObjectID: mine.ID}); len(evs) != 1 {
		t.Errorf("views of the scoped patient = %d, want 1", len(evs))
	}
	if !cl.get("/admin/mappings/?doctor=x").want(t, http.StatusOK).has(t, "empty") {
		t.Error("?doctor=x listed assignments")
	}
	if cl.get("/admin/patients/").want(t, http.StatusOK).has(t, "scopes") {
		t.Error("an unscoped list shows scopes")
	}
}

// A search the store refuses (more than 20 words) shows the list's page
// with the search box, the words typed and why, instead of an error page
// without the box.
func TestAdminRefusedSearchKeepsTheList(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	app.admPatient(t, owner.ID, "Word Count")
	words := make([]string, 21)
	for i := range words {
		words[i] = fmt.Sprintf("x%cy", 'a'+i)
	}
	q := strings.Join(words, " ")
	for _, list := range []string{"patients", "doctors", "mappings", "users"} {
		res := cl.get("/admin/"+list+"/?q="+url.QueryEscape(q)).want(t, http.StatusBadRequest)
		if got := res.text(t, "search-error"); got != "Too many search terms: use at most 20 words." {
			t.Errorf("%s: search error = %q", list, got)
		}
		if v, _ := res.testid(t, "search-input").Attr("value"); v != q {
			t.Errorf("%s: search box holds %q", list, v)
		}
		if !res.has(t, "empty") {
			t.Errorf("%s: rows shown for a refused search", list)
		}
		if res.has(t, "pagination") || res.has(t, "export-csv") || strings.ContainsAny(res.text(t, "result-count"), "0123456789") {
			t.Errorf("%s: a refused search shows a count, pages or an export as if it had run", list)
		}
	}
}

// TestAdminFormErrorsAreAuditedViews: a change form sent back with its
// errors names the patient (and its doctors) as the form's GET does, so it
// is an audited view of it too; a failed write records nothing else.
func TestAdminFormErrorsAreAuditedViews(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Rita Roe")
	d := app.mustDoctor(t, "Sam Sun", "Surgery")
	m := app.admMapping(t, owner.ID, p.ID, d.ID)
	views := func(objectType string, id int64) int {
		return len(app.admEvents(t, models.AuditFilter{UserID: staff.ID, Action: models.ActionView, ObjectType: objectType, ObjectID: id}))
	}

	res := cl.post("/admin/patients/"+itoa64(p.ID)+"/", url.Values{"name": {""}, "date_of_birth": {"bogus"},
		"gender": {"female"}, "created_by": {itoa64(owner.ID)}}).want(t, http.StatusBadRequest)
	if !strings.Contains(res.Body.String(), "Rita Roe") {
		t.Fatal("the form sent back does not name the patient: the test no longer shows what it audits")
	}
	if got := views(models.ObjectPatient, p.ID); got != 1 {
		t.Errorf("views of the patient after its form came back with errors = %d, want 1", got)
	}

	res = cl.post("/admin/mappings/"+itoa64(m.ID)+"/", url.Values{"patient_id": {itoa64(p.ID)}, "doctor_id": {itoa64(d.ID)},
		"notes": {strings.Repeat("n", 1001)}}).want(t, http.StatusBadRequest)
	if !strings.Contains(res.Body.String(), "Rita Roe") {
		t.Fatal("the mapping's form sent back does not name the patient")
	}
	if got := views(models.ObjectMapping, m.ID); got != 1 {
		t.Errorf("views of the mapping after its form came back with errors = %d, want 1", got)
	}
	if evs := app.admEvents(t, models.AuditFilter{UserID: staff.ID, Action: models.ActionUpdate}); len(evs) != 0 {
		t.Errorf("failed saves recorded updates: %+v", evs)
	}
}

// A record's history shows plain staff who acted, when and through what,
// but not from which address: client addresses are the audit log's, which
// is for superusers.
func TestAdminHistoryShowsAddressesToSuperusersOnly(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, staff := app.admStaff(t)
	_, super := app.admSuper(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Ivy Ip")
	path := "/admin/patients/" + itoa64(p.ID) + "/history/"
	staff.get("/admin/patients/"+itoa64(p.ID)+"/").want(t, http.StatusOK)
	const addr = "192.0.2.1" // httptest's client
	if got := super.get(path).want(t, http.StatusOK).doc(t).Find("td.source .ip").Text(); !strings.Contains(got, addr) {
		t.Fatalf("superuser's history: addresses %q, want %s", got, addr)
	}
	res := staff.get(path).want(t, http.StatusOK)
	if n := res.doc(t).Find(`[data-testid="event"]`).Length(); n < 2 {
		t.Fatalf("staff's history shows %d events, want the views", n)
	}
	if strings.Contains(res.doc(t).Find(`[data-testid="events"]`).Text(), addr) {
		t.Error("plain staff's history shows client addresses")
	}
}

// A page past the end of a list too long to count (more than 1,000 rows)
// cannot be clamped to the last page, as a counted list's is: it says so
// and links to the first page, where it said "Nothing matches." under
// "More than 1000 patients".
func TestAdminPagePastTheEndOfAnUncountedList(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	batch := make([]models.Patient, models.AdminCountLimit+1)
	for i := range batch {
		batch[i] = models.Patient{Name: fmt.Sprintf("Many %04d", i), Gender: models.GenderUnknown, CreatedByID: owner.ID}
	}
	if err := app.store.DB().CreateInBatches(batch, 500).Error; err != nil {
		t.Fatal(err)
	}
	page := cl.get("/admin/patients/?o=name&p=50").want(t, http.StatusOK)
	if page.has(t, "empty") {
		t.Error(`page 50 of 11: "Nothing matches."`)
	}
	if href, _ := page.testid(t, "past-end").Find("a").Attr("href"); href != "/admin/patients/?o=name" {
		t.Errorf("past the end: link %q, want the first page of the same list", href)
	}
	if cl.get("/admin/patients/?o=name&p=11").want(t, http.StatusOK).has(t, "past-end") {
		t.Error("page 11, the last (1,001 rows), said it is past the end")
	}
	if !cl.get("/admin/patients/?q=nobody").want(t, http.StatusOK).has(t, "empty") {
		t.Error(`a search that matches nothing: not "Nothing matches."`)
	}
}

// The same for a history and the audit log past their ends (over 1,000
// events: uncounted): not "This object has no recorded history." for a
// patient with a thousand.
func TestAdminHistoryPastTheEnd(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Much Viewed")
	views := make([]models.AuditEvent, models.AdminCountLimit+1)
	for i := range views {
		views[i] = models.AuditEvent{At: time.Now().UTC(), Action: models.ActionView, ObjectType: models.ObjectPatient,
			ObjectID: &p.ID, Source: "api", Outcome: models.OutcomeSuccess, Changes: "{}"}
	}
	if err := app.store.DB().CreateInBatches(views, 500).Error; err != nil {
		t.Fatal(err)
	}
	history := "/admin/patients/" + itoa64(p.ID) + "/history/"
	page := cl.get(history+"?p=50&upto="+strconv.FormatInt(1<<40, 10)).want(t, http.StatusOK)
	if page.has(t, "empty") {
		t.Error(`history page 50: "This object has no recorded history."`)
	}
	if href, _ := page.testid(t, "past-end").Find("a").Attr("href"); href != history {
		t.Errorf("history past the end: link %q, want %q", href, history)
	}
	log := cl.get("/admin/audit/?object_type=patient&p=50").want(t, http.StatusOK)
	if href, _ := log.testid(t, "past-end").Find("a").Attr("href"); href != "/admin/audit/?object_type=patient" {
		t.Errorf("audit log past the end: link %q", href)
	}
	if cl.get(history).want(t, http.StatusOK).has(t, "past-end") {
		t.Error("the history's first page says it is past the end")
	}
}
