package main

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"healthcare/models"
)

// The panel shows times in the clinic's zone (TIME_ZONE), as Django's admin
// shows them in its TIME_ZONE, each column or field of times naming it; the
// audit log's days are the clinic's days. CSV exports keep UTC.
func TestAdminShowsTimesInTheClinicsZone(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	app.store.SetTimeZone(tokyo)
	superuser, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	p := app.admPatient(t, owner.ID, "Zone Zed")
	// 20:30 UTC on the 2nd of January is 05:30 on the 3rd in Tokyo (UTC+9).
	at := time.Date(2026, 1, 2, 20, 30, 0, 0, time.UTC)
	const shown, utc = "2026-01-03 05:30:00", "2026-01-02 20:30:00"
	if err := app.store.DB().Model(&models.Patient{}).Where("id = ?", p.ID).
		Updates(map[string]any{"created_at": at, "updated_at": at}).Error; err != nil {
		t.Fatal(err)
	}
	view := models.AuditEvent{At: at, Action: models.ActionView, ObjectType: models.ObjectPatient,
		ObjectID: &p.ID, Source: "api", Outcome: models.OutcomeSuccess, Changes: "{}"}
	if err := app.store.DB().Create(&view).Error; err != nil {
		t.Fatal(err)
	}

	list := cl.get("/admin/patients/?q=zone").want(t, http.StatusOK)
	if got := list.testid(t, "results").Find("thead th").Last().Text(); !strings.Contains(got, "Created (Asia/Tokyo)") {
		t.Errorf("changelist's time column = %q", got)
	}
	if got := list.text(t, "row-"+itoa64(p.ID)); !strings.Contains(got, shown) {
		t.Errorf("changelist row = %q, want the time %s", got, shown)
	}

	form := cl.get("/admin/patients/"+itoa64(p.ID)+"/").want(t, http.StatusOK).Body.String()
	for _, want := range []string{"Created (Asia/Tokyo)", "Last changed (Asia/Tokyo)", shown} {
		if !strings.Contains(form, want) {
			t.Errorf("change form lacks %q", want)
		}
	}
	if strings.Contains(form, "(UTC)") || strings.Contains(form, utc) {
		t.Error("change form shows a UTC time")
	}

	history := cl.get("/admin/patients/"+itoa64(p.ID)+"/history/").want(t, http.StatusOK)
	events := history.text(t, "events")
	if !strings.Contains(events, "When (Asia/Tokyo)") || !strings.Contains(events, shown) {
		t.Errorf("history = %q, want its times in Tokyo's zone", events)
	}

	// The dashboard's recent actions say which zone their times are in.
	change := models.AuditEvent{At: at, UserID: &superuser.ID, UserEmail: superuser.Email, Action: models.ActionUpdate,
		ObjectType: models.ObjectPatient, ObjectID: &p.ID, Source: "admin", Outcome: models.OutcomeSuccess, Changes: "{}"}
	if err := app.store.DB().Create(&change).Error; err != nil {
		t.Fatal(err)
	}
	dash := cl.get("/admin/").want(t, http.StatusOK)
	if got := dash.text(t, "recent-actions"); !strings.Contains(got, shown) || dash.text(t, "recent-zone") != "Times in Asia/Tokyo." {
		t.Errorf("dashboard's recent actions = %q, want %s and the zone named", got, shown)
	}

	// The audit log's days are Tokyo's: the view is on the 3rd there.
	for day, want := range map[string]bool{"2026-01-03": true, "2026-01-02": false} {
		res := cl.get("/admin/audit/?object_type=patient&from="+day+"&to="+day).want(t, http.StatusOK)
		if got := res.has(t, "events") && strings.Contains(res.text(t, "events"), shown); got != want {
			t.Errorf("audit log for %s lists the view at %s UTC: %v, want %v", day, utc, got, want)
		}
	}

	// An export is for programs: UTC, as before.
	res := cl.get("/admin/patients/export/?q=zone").want(t, http.StatusOK)
	records, err := csv.NewReader(strings.NewReader(res.Body.String())).ReadAll()
	if err != nil || len(records) != 2 || records[0][10] != "created_at_utc" || records[1][10] != utc {
		t.Errorf("export = %q (%v), want created_at_utc %s", records, err, utc)
	}
	for _, list := range []string{"doctors", "mappings", "users"} {
		header := cl.get("/admin/"+list+"/export/").want(t, http.StatusOK).Body.String()
		header, _, _ = strings.Cut(header, "\n")
		for _, col := range strings.Split(strings.TrimSpace(header), ",") {
			if (strings.Contains(col, "_at") || strings.Contains(col, "date_") || strings.Contains(col, "login")) && !strings.HasSuffix(col, "_utc") {
				t.Errorf("%s export: column %q holds times without saying they are UTC", list, col)
			}
		}
	}
}
