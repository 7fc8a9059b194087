package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"healthcare/models"
)

// Preserved filters (Django's _changelist_filters): a record opened from a
// searched, ordered page of a list carries that list through its form, its
// delete page and their redirects, so every way back lands on the same
// page of the same list.
func TestAdminKeepsTheListARecordWasOpenedFrom(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admSuper(t)
	house := app.mustDoctor(t, "Gregory House", "Diagnostics")
	wilson := app.mustDoctor(t, "James Wilson", "Oncology")
	cuddy := app.mustDoctor(t, "Lisa Cuddy", "Endocrinology")
	const list = "/admin/doctors/?o=name&q=a"
	keep := "?_changelist_filters=" + url.QueryEscape("o=name&q=a")

	page := cl.get(list).want(t, http.StatusOK)
	href, _ := page.testid(t, "row-"+itoa64(house.ID)).Find("th a").Attr("href")
	if want := "/admin/doctors/" + itoa64(house.ID) + "/" + keep; href != want {
		t.Fatalf("row link %q, want %q", href, want)
	}
	if bulk, _ := page.doc(t).Find("form.changelist-form").Attr("action"); bulk != "/admin/doctors/delete/"+keep {
		t.Errorf("bulk delete form posts to %q, want it to carry the list", bulk)
	}
	if add, _ := page.testid(t, "add-link").Attr("href"); add != "/admin/doctors/add/"+keep {
		t.Errorf("add link %q, want it to carry the list", add)
	}

	change := cl.get(href).want(t, http.StatusOK)
	if action, _ := change.testid(t, "form-doctor").Attr("action"); action != "/admin/doctors/"+itoa64(house.ID)+"/"+keep {
		t.Errorf("form action %q, want it to carry the list", action)
	}
	if del, _ := change.testid(t, "delete-link").Attr("href"); del != "/admin/doctors/"+itoa64(house.ID)+"/delete/"+keep {
		t.Errorf("delete link %q, want it to carry the list", del)
	}
	history, _ := change.testid(t, "history-link").Attr("href")
	if history != "/admin/doctors/"+itoa64(house.ID)+"/history/"+keep {
		t.Errorf("history link %q, want it to carry the list", history)
	}
	// and the history page goes on carrying it, back to the record and the list.
	historyPage := cl.get(history).want(t, http.StatusOK)
	for _, want := range []string{list, href} {
		if historyPage.doc(t).Find(`.breadcrumbs a[href="`+want+`"]`).Length() != 1 {
			t.Errorf("history page: no breadcrumb to %q", want)
		}
	}
	if crumb, _ := change.doc(t).Find(`.breadcrumbs a[href^="/admin/doctors/"]`).Attr("href"); crumb != list {
		t.Errorf("breadcrumb %q, want the list %q", crumb, list)
	}

	form := url.Values{"name": {"Gregory House"}, "specialization": {"Diagnostics"}, "email": {house.Email},
		"phone": {""}, "years_of_experience": {"20"}}
	cl.post(href, form).wantRedirect(t, list)
	form.Set("_continue", "1")
	cl.post(href, form).wantRedirect(t, href)
	form.Del("_continue")
	form.Set("_addanother", "1")
	cl.post(href, form).wantRedirect(t, "/admin/doctors/add/"+keep)

	// The delete pages' own forms and Cancel links carry it, and their
	// posts go back to the list.
	deletePage := cl.get("/admin/doctors/"+itoa64(wilson.ID)+"/delete/"+keep).want(t, http.StatusOK)
	if cancel, _ := deletePage.testid(t, "cancel-delete").Attr("href"); cancel != "/admin/doctors/"+itoa64(wilson.ID)+"/"+keep {
		t.Errorf("cancel link %q, want the record carrying the list", cancel)
	}
	action, _ := deletePage.testid(t, "delete-form").Attr("action")
	if action != "/admin/doctors/"+itoa64(wilson.ID)+"/delete/"+keep {
		t.Errorf("delete form posts to %q, want it to carry the list", action)
	}
	cl.post(action, url.Values{"confirm": {"yes"}}).wantRedirect(t, list)
	bulkPage := cl.post("/admin/doctors/delete/"+keep, url.Values{"ids": {itoa64(cuddy.ID)}}).want(t, http.StatusOK)
	if cancel, _ := bulkPage.testid(t, "cancel-delete").Attr("href"); cancel != list {
		t.Errorf("bulk cancel link %q, want the list %q", cancel, list)
	}
	bulkAction, _ := bulkPage.testid(t, "delete-form").Attr("action")
	if bulkAction != "/admin/doctors/delete/"+keep {
		t.Errorf("bulk delete form posts to %q, want it to carry the list", bulkAction)
	}
	cl.post(bulkAction, url.Values{"ids": {itoa64(cuddy.ID)}, "confirm": {"yes"}}).wantRedirect(t, list)
	cl.post("/admin/doctors/delete/"+keep, url.Values{}).wantRedirect(t, list)

	// Whatever the parameter holds, the way back is the list's own path.
	form.Del("_addanother")
	for _, hostile := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "%zz", "a=1&_changelist_filters=b"} {
		r := cl.post("/admin/doctors/"+itoa64(house.ID)+"/?_changelist_filters="+url.QueryEscape(hostile), form)
		loc := r.want(t, http.StatusSeeOther).Header().Get("Location")
		if !strings.HasPrefix(loc, "/admin/doctors/") || strings.Contains(loc, "_changelist_filters") {
			t.Errorf("_changelist_filters=%q: back to %q", hostile, loc)
		}
	}
}

// A query of more than 1,000 parameters is the 400 page, as Django's
// (TooManyFieldsSent) and as the API answers it: Go's parser dropped every
// parameter past 10,000 without a word, and the changelist listed every
// patient for a search it had not read. Up to 1,000, the search applies.
func TestAdminTooManyQueryParameters(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	app.admPatient(t, owner.ID, "Ada One")
	app.admPatient(t, owner.ID, "Ben Two")
	page := cl.get("/admin/patients/?q=ben&"+fillerQuery(998)).want(t, http.StatusOK)
	if body := page.Body.String(); !strings.Contains(body, "Ben Two") || strings.Contains(body, "Ada One") {
		t.Error("1,000 parameters: the search was not applied")
	}
	for _, n := range []int{1000, 10001} {
		res := cl.get("/admin/patients/?q=ben&"+fillerQuery(n)).want(t, http.StatusBadRequest)
		if !res.has(t, "error-400") || !strings.Contains(res.Body.String(), "Too many query parameters: at most 1000.") {
			t.Errorf("%d parameters: not the 400 page saying why", n+1)
		}
	}
}

// A filter value that a list does not offer is the 400 page, for the list
// and for its export: ignored, ?gender=Female listed (and exported, medical
// histories included) every patient under a link that reads as a filter.
// The offered values still filter, and the specialization filter takes any
// value (matched in any case, as the API's).
func TestAdminRefusesFilterValuesItDoesNotOffer(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.clock.Advance(0) // frozen before the patients are added: they are today's, even past a midnight
	_, cl := app.admSuper(t)
	owner := app.admUser(t, false, false)
	app.admPatient(t, owner.ID, "Ada Female", func(p *models.Patient) { p.Gender = "female" })
	app.admPatient(t, owner.ID, "Ben Male", func(p *models.Patient) { p.Gender = "male" })
	app.mustDoctor(t, "Gregory House", "Diagnostics")

	for _, path := range []string{
		"/admin/patients/?gender=Female", "/admin/patients/export/?gender=xyz",
		"/admin/patients/?created=Today", "/admin/patients/export/?created=bogus",
		"/admin/users/?is_staff=maybe", "/admin/users/export/?is_active=true",
		"/admin/doctors/?created=yesterday", "/admin/doctors/export/?created=yesterday",
		"/admin/mappings/?created=1", "/admin/mappings/export/?created=1",
		"/admin/audit/export/?from=2026-13-01", "/admin/audit/export/?action=steal",
		"/admin/audit/export/?object_id=abc", "/admin/audit/export/?object_type=secrets",
	} {
		res := cl.get(path).want(t, http.StatusBadRequest)
		if !res.has(t, "error-400") || !strings.Contains(res.Body.String(), "Unknown value for the") {
			t.Errorf("%s: not the 400 page saying why", path)
		}
		if strings.Contains(res.Body.String(), "Ben Male") {
			t.Errorf("%s: lists a patient", path)
		}
	}

	page := cl.get("/admin/patients/?gender=female&created=today").want(t, http.StatusOK)
	if body := page.Body.String(); !strings.Contains(body, "Ada Female") || strings.Contains(body, "Ben Male") {
		t.Error("?gender=female&created=today: not filtered to the female patient")
	}
	csv := cl.get("/admin/patients/export/?gender=female").want(t, http.StatusOK).Body.String()
	if !strings.Contains(csv, "Ada Female") || strings.Contains(csv, "Ben Male") {
		t.Errorf("export ?gender=female: %q", csv)
	}
	// Blank is "All", as the sidebar's own links send it.
	if body := cl.get("/admin/patients/?gender=&created=").want(t, http.StatusOK).Body.String(); !strings.Contains(body, "Ben Male") {
		t.Error("?gender=&created=: not every patient")
	}
	doctors := cl.get("/admin/doctors/?specialization=diagnostics").want(t, http.StatusOK)
	if !strings.Contains(doctors.Body.String(), "Gregory House") {
		t.Error("?specialization=diagnostics: the doctor is not listed")
	}
	if doctors.doc(t).Find(`[data-testid="filter-specialization-Diagnostics"][aria-current]`).Length() == 0 ||
		doctors.doc(t).Find(`[data-testid="clear-filters"]`).Length() == 0 {
		t.Error("?specialization=diagnostics: the Diagnostics choice is not shown active, or no Clear link")
	}
	if body := cl.get("/admin/users/?is_staff=1&is_superuser=0&is_active=1").want(t, http.StatusOK).Body.String(); strings.Contains(body, owner.Email) {
		t.Error("?is_staff=1: lists a user who is not staff")
	}
	// The audit log's page refuses them as its export does, rather than
	// list every event under an export link that would then be refused: a
	// choice it does not offer with the 400 page; a value typed into one of
	// its fields (an id, a day) with the page itself, the message on that
	// field and the other filters kept, listing nothing.
	if res := cl.get("/admin/audit/?action=Login").want(t, http.StatusBadRequest); !strings.Contains(res.Body.String(), "Unknown value for the audit log") || !strings.Contains(res.Body.String(), "action filter") {
		t.Error("/admin/audit/?action=Login: not the 400 page saying why")
	}
	for q, want := range map[string]map[string]string{
		"from=11/27/2026":                    {"from": "Enter a valid date."},
		"object_id=0":                        {"object_id": "Ensure this value is greater than or equal to 1."},
		"object_id=1.5&to=2026-13-01":        {"object_id": "Enter a whole number.", "to": "Enter a valid date."},
		"object_id=-3&email=a%40example.com": {"object_id": "Ensure this value is greater than or equal to 1."},
	} {
		res := cl.get("/admin/audit/?"+q).want(t, http.StatusBadRequest)
		doc := res.doc(t)
		if doc.Find(`[data-testid="audit-filter"]`).Length() != 1 || doc.Find("table").Length() != 0 ||
			doc.Find(`[data-testid="export-csv"]`).Length() != 0 || !strings.HasPrefix(doc.Find("title").Text(), "Error: ") {
			t.Errorf("/admin/audit/?%s: want the filter form with no events, no export and an error title; got %s", q, res.Body.String())
			continue
		}
		for field, msg := range want {
			input := doc.Find("#id_" + field)
			if v, _ := input.Attr("aria-invalid"); v != "true" {
				t.Errorf("/admin/audit/?%s: %s is not marked invalid", q, field)
			}
			if link := doc.Find(`[data-testid="error-link-` + field + `"]`); !strings.Contains(link.Text(), msg) {
				t.Errorf("/admin/audit/?%s: %s's message %q, want %q", q, field, link.Text(), msg)
			}
		}
		if strings.Contains(q, "email=") {
			if v, _ := doc.Find("#id_email").Attr("value"); v != "a@example.com" {
				t.Errorf("/admin/audit/?%s: the email filter became %q", q, v)
			}
		}
		if exp := cl.get("/admin/audit/export/?"+q).want(t, http.StatusBadRequest); !strings.Contains(exp.Body.String(), "Unknown value for the audit log") {
			t.Errorf("/admin/audit/export/?%s: not the 400 page saying why", q)
		}
	}
	cl.get("/admin/audit/?from=&to=&object_id=&action=").want(t, http.StatusOK) // empty fields filter nothing

	// A record opened from a list whose link (an old bookmark) carries a
	// value the list now refuses: the save succeeds and returns to the
	// list without it, not to the 400 page.
	house := app.mustDoctor(t, "James Wilson", "Oncology")
	keep := "?_changelist_filters=" + url.QueryEscape("created=Today&q=wil")
	form := url.Values{"name": {"James Wilson"}, "specialization": {"Oncology"}, "email": {house.Email},
		"phone": {""}, "years_of_experience": {"20"}}
	cl.post("/admin/doctors/"+itoa64(house.ID)+"/"+keep, form).wantRedirect(t, "/admin/doctors/?q=wil")
}

// The Today filter's day is the clinic's (TIME_ZONE): in Tokyo it begins
// at 15:00 UTC the day before. A patient added a minute after Tokyo's
// midnight is today's there; one a minute before it is not. In UTC both
// fall on one day, today's or yesterday's, whatever the hour.
func TestAdminTodayFilterInTheClinicsZone(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	tokyo := time.FixedZone("JST", 9*3600)
	app.store.SetTimeZone(tokyo)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	app.clock.Advance(0) // freeze the clock
	now := app.clock.Now().In(tokyo)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, tokyo)
	for name, at := range map[string]time.Time{"After Midnight": midnight.Add(time.Minute), "Before Midnight": midnight.Add(-time.Minute)} {
		p := app.admPatient(t, owner.ID, name)
		if err := app.store.DB().Model(&models.Patient{}).Where("id = ?", p.ID).Update("created_at", at.UTC()).Error; err != nil {
			t.Fatal(err)
		}
	}
	body := cl.get("/admin/patients/?created=today").want(t, http.StatusOK).Body.String()
	if !strings.Contains(body, "After Midnight") || strings.Contains(body, "Before Midnight") {
		t.Errorf("?created=today in Tokyo at %v: want the patient added after Tokyo's midnight only", now)
	}
}

// The date filters' periods are Django's: whole days of the clinic's zone
// that end with today. Past 7 days begins at midnight seven days ago, not
// 168 hours back; a row stamped after today (a restored database, a server
// whose clock ran fast) is in no period; This month ends with the month.
func TestAdminDateFiltersAreWholeDaysEndingToday(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	app.clock.Advance(0) // freeze the clock
	now := app.clock.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	stamps := map[string]time.Time{
		"Seven Days Ago Early": today.AddDate(0, 0, -7).Add(time.Minute),
		"Eight Days Ago Late":  today.AddDate(0, 0, -7).Add(-time.Minute),
		"Stamped Tomorrow":     today.AddDate(0, 0, 1).Add(time.Minute),
		"Stamped Next Month":   time.Date(now.Year(), now.Month()+1, 1, 0, 1, 0, 0, time.UTC),
		"Stamped Next Year":    time.Date(now.Year()+1, 1, 1, 0, 1, 0, 0, time.UTC),
	}
	for name, at := range stamps {
		p := app.admPatient(t, owner.ID, name)
		if err := app.store.DB().Model(&models.Patient{}).Where("id = ?", p.ID).Update("created_at", at).Error; err != nil {
			t.Fatal(err)
		}
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	year := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	for filter, period := range map[string][2]time.Time{
		"today": {today, today.AddDate(0, 0, 1)},
		"7d":    {today.AddDate(0, 0, -7), today.AddDate(0, 0, 1)},
		"month": {month, month.AddDate(0, 1, 0)},
		"year":  {year, year.AddDate(1, 0, 0)},
	} {
		body := cl.get("/admin/patients/?created="+filter).want(t, http.StatusOK).Body.String()
		for name, at := range stamps {
			listed, wanted := strings.Contains(body, name), !at.Before(period[0]) && at.Before(period[1])
			if listed != wanted {
				t.Errorf("?created=%s at %v: %q (created %v) listed %v, want %v", filter, now, name, at, listed, wanted)
			}
		}
	}
}
