package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"healthcare/models"
)

func TestAdminBulkDeleteWithConfirmation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	a := app.admPatient(t, owner.ID, "Ann Archer")
	b := app.admPatient(t, owner.ID, "Bert Baker")
	keep := app.admPatient(t, owner.ID, "Cleo Carter")
	heart := app.mustDoctor(t, "Alice Heart", "Cardiology")
	app.admMapping(t, owner.ID, a.ID, heart.ID)
	app.admMapping(t, owner.ID, keep.ID, heart.ID)

	// Nothing selected.
	cl.post("/admin/patients/delete/", url.Values{}).wantRedirect(t, "/admin/patients/")
	if got := cl.get("/admin/patients/").text(t, "message-warning"); !strings.Contains(got, "Items must be selected") {
		t.Fatalf("warning = %q", got)
	}
	// The confirmation lists the patients and the mappings that go too.
	ids := url.Values{"ids": {itoa64(a.ID), itoa64(b.ID)}}
	res := cl.post("/admin/patients/delete/", ids).want(t, http.StatusOK)
	summary := res.text(t, "delete-summary")
	for _, want := range []string{"2 Patients", "Ann Archer", "Bert Baker", "1 Doctor assignment", "Ann Archer → Alice Heart"} {
		if !strings.Contains(summary, want) {
			t.Errorf("confirmation lacks %q: %s", want, summary)
		}
	}
	if strings.Contains(summary, "Cleo") {
		t.Error("confirmation lists a patient that stays")
	}
	// Nothing is deleted until confirmed.
	if _, err := app.store.AdminPatient(t.Context(), a.ID); err != nil {
		t.Fatal("deleted before confirmation")
	}
	// Confirm without the CSRF token: refused, nothing deleted.
	cl.do(http.MethodPost, "/admin/patients/delete/", url.Values{"ids": ids["ids"], "confirm": {"yes"}}, nil).want(t, http.StatusForbidden)
	ids.Set("confirm", "yes")
	cl.post("/admin/patients/delete/", ids).wantRedirect(t, "/admin/patients/")
	list := cl.get("/admin/patients/")
	if got := list.text(t, "message-success"); got != "Successfully deleted 2 patients." {
		t.Fatalf("flash = %q", got)
	}
	if got := list.text(t, "result-count"); !strings.HasPrefix(got, "1 patient") {
		t.Fatalf("left = %q", got)
	}
	ms, _ := app.store.AdminMappings(t.Context(), models.AdminMappingFilter{}, models.AdminQuery{Page: 1})
	if ms.Count != 1 {
		t.Fatalf("mappings left = %d, want 1", ms.Count)
	}
	// Each row removed is in the audit trail, cascade included.
	dels := app.admEvents(t, models.AuditFilter{Action: models.ActionDelete})
	if len(dels) != 3 {
		t.Fatalf("delete events = %d, want 3 (2 patients, 1 mapping)", len(dels))
	}
}

func TestAdminSingleDeletes(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	super, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Dina Doe")
	doc := app.mustDoctor(t, "Eli Eye", "Ophthalmology")
	app.admMapping(t, owner.ID, p.ID, doc.ID)

	// Doctor: the page lists its mappings.
	path := "/admin/doctors/" + itoa64(doc.ID) + "/delete/"
	res := cl.get(path).want(t, http.StatusOK)
	if got := res.text(t, "delete-summary"); !strings.Contains(got, "Eli Eye") || !strings.Contains(got, "Dina Doe → Eli Eye") {
		t.Fatalf("doctor delete summary = %q", got)
	}
	cl.post(path, url.Values{"confirm": {"yes"}}).wantRedirect(t, "/admin/doctors/")
	if got := cl.get("/admin/doctors/").text(t, "message-success"); !strings.Contains(got, "“Eli Eye” was deleted") {
		t.Fatalf("flash = %q", got)
	}
	cl.get(path).wantRedirect(t, "/admin/") // gone: the dashboard says so

	// User: the page lists the user's patients; deleting yourself is blocked.
	upath := "/admin/users/" + itoa64(owner.ID) + "/delete/"
	if got := cl.get(upath).want(t, http.StatusOK).text(t, "delete-summary"); !strings.Contains(got, "Dina Doe") || !strings.Contains(got, owner.Email) {
		t.Fatalf("user delete summary = %q", got)
	}
	self := cl.get("/admin/users/"+itoa64(super.ID)+"/delete/").want(t, http.StatusOK)
	self.testid(t, "delete-blocked")
	cl.post("/admin/users/"+itoa64(super.ID)+"/delete/", url.Values{"confirm": {"yes"}}).want(t, http.StatusSeeOther)
	if _, err := app.store.User(t.Context(), super.ID); err != nil {
		t.Fatal("superuser deleted themselves")
	}
	cl.post(upath, url.Values{"confirm": {"yes"}}).wantRedirect(t, "/admin/users/")
	if _, err := app.store.AdminPatient(t.Context(), p.ID); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("user's patient survived: %v", err)
	}
}
