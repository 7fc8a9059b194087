package main

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"healthcare/models"
)

// End-to-end tests of the admin panel in a real headless Chromium, driven
// with chromedp over the production router on a local test server.
// Without Chromium they skip, except under CI (CI set), where a missing
// browser fails: it must never pass silently.

// admChromium returns the path of a Chromium to drive, or skips/fails.
func admChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "browser tests need Chromium: apt-get install -y chromium (Debian's package)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " — CI is set, so a missing browser is a failure, not a skip")
	}
	t.Skip(msg)
	return ""
}

// admBrowser starts a fresh headless Chromium (its own profile) and
// returns a tab's context, closed when the test ends.
func admBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path := admChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.WindowSize(width, height),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// sel selects the element with data-testid testid.
func sel(testid string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + testid + `"]`) }

// admRun runs browser actions, failing the test with step's name.
func admRun(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (page %s)", step, err, loc)
	}
}

// admClear empties the input that selector finds.
func admClear(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.querySelector(` + strconv.Quote(selector) + `).value = ""`)
}

// admText reads the text of the element with data-testid id.
func admText(t *testing.T, ctx context.Context, testid string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel(testid)))
	if err != nil {
		t.Fatalf("read %s: %v", testid, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// admSeed fills the database with a small clinic.
type admSeedData struct {
	super                *testUser
	ann, bert, cleo, dan *models.Patient
	house                *models.Doctor
}

func admSeed(t *testing.T, app *testApp) admSeedData {
	t.Helper()
	var d admSeedData
	d.super = &testUser{Email: "lisa.cuddy@clinic.example", Password: testPassword, Name: "Lisa Cuddy"}
	u, err := app.store.CreateUser(context.Background(), models.NewUser{Name: d.super.Name, Email: d.super.Email,
		Password: d.super.Password, IsActive: true, IsStaff: true, IsSuperuser: true})
	if err != nil {
		t.Fatal(err)
	}
	d.super.ID = u.ID
	owner := app.admUser(t, false, false)
	d.house = app.mustDoctor(t, "Gregory House", "Diagnostics")
	wilson := app.mustDoctor(t, "James Wilson", "Oncology")
	app.mustDoctor(t, "Allison Cameron", "Immunology")
	app.mustDoctor(t, "Robert Chase", "Intensive care")
	app.mustDoctor(t, "Eric Foreman", "Neurology")
	dob := func(y int, m time.Month, day int) func(*models.Patient) {
		return func(p *models.Patient) { d := models.NewDate(y, m, day); p.DateOfBirth = &d }
	}
	d.ann = app.admPatient(t, owner.ID, "Ann Archer", dob(1984, 3, 12), func(p *models.Patient) {
		p.Gender, p.Phone, p.Email = "female", "+1 555 0100", "ann@example.com"
		p.MedicalHistory = "Seasonal asthma. Penicillin allergy."
	})
	d.bert = app.admPatient(t, owner.ID, "Bert Baker", dob(1972, 11, 2), func(p *models.Patient) {
		p.Gender, p.Phone = "male", "+1 555 0101"
	})
	d.cleo = app.admPatient(t, owner.ID, "Cleo Carter", dob(1999, 7, 30), func(p *models.Patient) {
		p.Gender, p.Email = "female", "cleo@example.com"
	})
	d.dan = app.admPatient(t, owner.ID, "Dan Dalton", dob(1965, 1, 9), func(p *models.Patient) { p.Gender = "male" })
	app.admPatient(t, owner.ID, "Erin Ellis", dob(2001, 5, 5), func(p *models.Patient) { p.Gender = "other" })
	app.admMapping(t, owner.ID, d.bert.ID, wilson.ID)
	app.admMapping(t, owner.ID, d.cleo.ID, d.house.ID)
	return d
}

func TestAdminEndToEnd(t *testing.T) {
	ctx := admBrowser(t, 1280, 900)
	app := newTestApp(t)
	seed := admSeed(t, app)
	srv := httptest.NewServer(app.router)
	t.Cleanup(srv.Close)
	base := srv.URL

	// Log in: the panel sends us to the login page and back.
	admRun(t, ctx, "open the panel",
		chromedp.Navigate(base+"/admin/patients/"),
		chromedp.WaitVisible(sel("login-form")),
		chromedp.SendKeys(sel("login-email"), seed.super.Email),
		chromedp.SendKeys(sel("login-password"), "wrong-password-1"),
		chromedp.Click(sel("login-submit")),
		chromedp.WaitVisible(sel("login-error")),
	)
	admRun(t, ctx, "log in",
		admClear(`[data-testid="login-password"]`),
		chromedp.SendKeys(sel("login-password"), seed.super.Password),
		chromedp.Click(sel("login-submit")),
		chromedp.WaitVisible(sel("changelist-patient")),
	)
	if got := admText(t, ctx, "result-count"); !strings.HasPrefix(got, "5 patients") {
		t.Fatalf("patients after login: %q", got)
	}

	// Search.
	admRun(t, ctx, "search",
		chromedp.SendKeys(sel("search-input"), "archer"),
		chromedp.Click(sel("search-submit")),
		chromedp.WaitVisible(sel("clear-filters")),
	)
	if got := admText(t, ctx, "result-count"); !strings.HasPrefix(got, "1 patient") {
		t.Fatalf("search result count = %q", got)
	}
	if got := admText(t, ctx, "results"); !strings.Contains(got, "Ann Archer") {
		t.Fatalf("search results = %q", got)
	}

	// Filter (after clearing the search).
	admRun(t, ctx, "filter by gender",
		chromedp.Click(sel("clear-filters")),
		chromedp.WaitNotPresent(sel("clear-filters")),
		chromedp.Click(sel("filter-gender-female")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="filter-gender-female"][aria-current="page"]`)),
	)
	if got := admText(t, ctx, "result-count"); !strings.HasPrefix(got, "2 patients") {
		t.Fatalf("female patients = %q", got)
	}
	if got := admText(t, ctx, "results"); !strings.Contains(got, "Ann Archer") || !strings.Contains(got, "Cleo Carter") || strings.Contains(got, "Bert") {
		t.Fatalf("filtered results = %q", got)
	}

	// Add a doctor with a validation error, then fix it.
	admRun(t, ctx, "open the doctor form",
		chromedp.Click(sel("nav-doctors")),
		chromedp.WaitVisible(sel("changelist-doctor")),
		chromedp.Click(sel("add-link")),
		chromedp.WaitVisible(sel("form-doctor")),
		chromedp.SendKeys(chromedp.CSS("#id_name"), "Remy Hadley"),
		chromedp.SendKeys(chromedp.CSS("#id_specialization"), "Internal medicine"),
		chromedp.SendKeys(chromedp.CSS("#id_email"), "thirteen@"),
		chromedp.Click(sel("save")),
		chromedp.WaitVisible(sel("error-email")),
	)
	if got := admText(t, ctx, "error-email"); got != "Enter a valid email address." {
		t.Fatalf("email error = %q", got)
	}
	kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#id_name")))
	if err != nil {
		t.Fatal(err)
	}
	if kept != "Remy Hadley" {
		t.Fatalf("name after error = %q", kept)
	}
	admRun(t, ctx, "fix and save",
		admClear("#id_email"),
		chromedp.SendKeys(chromedp.CSS("#id_email"), "hadley@clinic.example"),
		chromedp.Click(sel("save")),
		chromedp.WaitVisible(sel("message-success")),
	)
	if got := admText(t, ctx, "message-success"); !strings.Contains(got, "“Remy Hadley” was added successfully") {
		t.Fatalf("success message = %q", got)
	}

	// Assign a doctor to a patient inline, with the search-as-you-type picker.
	annURL := base + "/admin/patients/" + itoa64(seed.ann.ID) + "/"
	admRun(t, ctx, "assign a doctor inline",
		chromedp.Navigate(annURL),
		chromedp.WaitVisible(sel("inline-empty")),
		chromedp.SendKeys(sel("fk-search-assign_doctor_id"), "hous"),
		// The option of the typed search itself: on a busy machine the
		// picker may search "h" first and replace its options meanwhile.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="fk-option"][data-id="`+itoa64(seed.house.ID)+`"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="fk-option"][data-id="`+itoa64(seed.house.ID)+`"]`)),
		chromedp.SendKeys(chromedp.CSS("#id_assign_notes"), "Unexplained fever"),
		chromedp.Click(sel("save-continue")),
		chromedp.WaitVisible(sel("message-success")),
	)
	if got := admText(t, ctx, "inline"); !strings.Contains(got, "Gregory House") || !strings.Contains(got, "Unexplained fever") {
		t.Fatalf("inline after assignment = %q", got)
	}

	// Bulk delete two patients through the confirmation page.
	admRun(t, ctx, "select two patients",
		chromedp.Navigate(base+"/admin/patients/?o=name"),
		chromedp.WaitVisible(sel("results")),
		chromedp.Click(sel("select-"+itoa64(seed.bert.ID))),
		chromedp.Click(sel("select-"+itoa64(seed.dan.ID))),
		chromedp.Click(sel("bulk-delete")),
		chromedp.WaitVisible(sel("delete-summary")),
	)
	if got := admText(t, ctx, "delete-summary"); !strings.Contains(got, "Bert Baker") || !strings.Contains(got, "Dan Dalton") ||
		!strings.Contains(got, "Bert Baker → James Wilson") {
		t.Fatalf("confirmation = %q", got)
	}
	admRun(t, ctx, "confirm",
		chromedp.Click(sel("confirm-delete")),
		chromedp.WaitVisible(sel("message-success")),
	)
	if got := admText(t, ctx, "message-success"); got != "Successfully deleted 2 patients." {
		t.Fatalf("after bulk delete: %q", got)
	}
	if got := admText(t, ctx, "result-count"); !strings.HasPrefix(got, "3 patients") {
		t.Fatalf("left: %q", got)
	}

	// History: the inline assignment's view and change are there.
	admRun(t, ctx, "read the history",
		chromedp.Navigate(annURL),
		chromedp.WaitVisible(sel("history-link")),
		chromedp.Click(sel("history-link")),
		chromedp.WaitVisible(sel("events")),
	)
	if got := admText(t, ctx, "events"); !strings.Contains(got, "Viewed") || !strings.Contains(got, seed.super.Email) ||
		!strings.Contains(got, "Added") {
		t.Fatalf("history = %q", got)
	}

	// Change my own password from the top bar's link.
	const newPassword = "violet-Harbour-owl-58"
	admRun(t, ctx, "change my password",
		chromedp.Click(sel("password-change")),
		chromedp.WaitVisible(sel("form-password-change")),
		chromedp.SendKeys(chromedp.CSS("#id_old_password"), seed.super.Password),
		chromedp.SendKeys(chromedp.CSS("#id_new_password1"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#id_new_password2"), newPassword),
		chromedp.Click(sel("save")),
		chromedp.WaitVisible(sel("message-success")),
	)
	if got := admText(t, ctx, "message-success"); got != "Your password was changed." {
		t.Fatalf("after the password change: %q", got)
	}

	// Log out.
	admRun(t, ctx, "log out",
		chromedp.Click(sel("logout")),
		chromedp.WaitVisible(sel("login-info")),
	)
	if got := admText(t, ctx, "login-info"); !strings.Contains(got, "logged out") {
		t.Fatalf("after logout: %q", got)
	}
	admRun(t, ctx, "the panel is closed again",
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(sel("login-form")),
	)
	admRun(t, ctx, "log in with the new password",
		chromedp.SendKeys(sel("login-email"), seed.super.Email),
		chromedp.SendKeys(sel("login-password"), newPassword),
		chromedp.Click(sel("login-submit")),
		chromedp.WaitVisible(sel("recent-actions")),
	)
}

// TestAdminScreenshots writes docs/screenshots/*.png of the main pages when
// UPDATE_SCREENSHOTS is set: UPDATE_SCREENSHOTS=1 go test -run TestAdminScreenshots .
func TestAdminScreenshots(t *testing.T) {
	if os.Getenv("UPDATE_SCREENSHOTS") == "" {
		t.Skip("set UPDATE_SCREENSHOTS=1 to rewrite docs/screenshots")
	}
	app := newTestApp(t)
	seed := admSeed(t, app)
	srv := httptest.NewServer(app.router)
	t.Cleanup(srv.Close)
	base := srv.URL
	dir := filepath.Join("docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shoot := func(ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		admRun(t, ctx, name, append(actions, chromedp.Sleep(150*time.Millisecond))...)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	login := func(ctx context.Context) {
		admRun(t, ctx, "log in",
			chromedp.Navigate(base+"/admin/login/"),
			chromedp.SendKeys(sel("login-email"), seed.super.Email),
			chromedp.SendKeys(sel("login-password"), seed.super.Password),
			chromedp.Click(sel("login-submit")),
			chromedp.WaitVisible(sel("nav-dashboard")),
		)
	}
	wide := admBrowser(t, 1366, 850)
	shoot(wide, "login", chromedp.Navigate(base+"/admin/login/"), chromedp.WaitVisible(sel("login-form")))
	login(wide)
	// Some history for the dashboard and the history page.
	annURL := base + "/admin/patients/" + itoa64(seed.ann.ID) + "/"
	admRun(t, wide, "make some changes",
		chromedp.Navigate(annURL),
		chromedp.WaitVisible(sel("form-patient")),
		chromedp.SetValue(chromedp.CSS("#id_phone"), "+1 555 0199"),
		chromedp.SetValue(chromedp.CSS("#id_assign_doctor_id"), itoa64(seed.house.ID)),
		chromedp.Click(sel("save-continue")),
		chromedp.WaitVisible(sel("message-success")),
	)
	shoot(wide, "dashboard", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(sel("recent-actions")))
	shoot(wide, "patients", chromedp.Navigate(base+"/admin/patients/?gender=female&o=name"), chromedp.WaitVisible(sel("results")))
	shoot(wide, "patient-change", chromedp.Navigate(annURL), chromedp.WaitVisible(sel("inline")),
		chromedp.SendKeys(sel("fk-search-assign_doctor_id"), "o"),
		chromedp.WaitVisible(sel("fk-option")))
	shoot(wide, "doctor-add-errors", chromedp.Navigate(base+"/admin/doctors/add/"), chromedp.WaitVisible(sel("form-doctor")),
		chromedp.SendKeys(chromedp.CSS("#id_name"), "Remy Hadley"), chromedp.SendKeys(chromedp.CSS("#id_email"), "thirteen@"),
		chromedp.SetValue(chromedp.CSS("#id_years_of_experience"), "99"),
		chromedp.Click(sel("save")), chromedp.WaitVisible(sel("form-errors")))
	shoot(wide, "delete-confirmation", chromedp.Navigate(base+"/admin/patients/?o=name"), chromedp.WaitVisible(sel("results")),
		chromedp.Click(sel("select-"+itoa64(seed.bert.ID))), chromedp.Click(sel("select-"+itoa64(seed.cleo.ID))),
		chromedp.Click(sel("bulk-delete")), chromedp.WaitVisible(sel("delete-summary")))
	shoot(wide, "history", chromedp.Navigate(annURL+"history/"), chromedp.WaitVisible(sel("events")))
	shoot(wide, "audit-log", chromedp.Navigate(base+"/admin/audit/"), chromedp.WaitVisible(sel("events")))
	shoot(wide, "users", chromedp.Navigate(base+"/admin/users/"), chromedp.WaitVisible(sel("results")))

	phone := admBrowser(t, 390, 844)
	// A window is at least 500 px wide in headless Chromium: a phone's
	// width needs the emulation.
	admRun(t, phone, "become a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	login(phone)
	shoot(phone, "phone-patients", chromedp.Navigate(base+"/admin/patients/"), chromedp.WaitVisible(sel("results")))
	shoot(phone, "phone-patient-change", chromedp.Navigate(annURL), chromedp.WaitVisible(sel("form-patient")))
}

// The panel fits its screen: on a laptop (1280 px) no list is wider than
// its box (the filters move above the table where beside it the table
// would lose its last columns to a scrollbar), and a 100-letter value
// wraps; on a phone (375 px, as a phone's browser lays it out) no page
// scrolls sideways and "Log out" stays on the screen; the doctor picker
// says there, as anywhere, when it lists only the first matches.
func TestAdminLayoutFitsTheScreen(t *testing.T) {
	ctx := admBrowser(t, 1280, 900)
	app := newTestApp(t)
	seed := admSeed(t, app)
	long := strings.Repeat("A", 100)
	app.mustDoctor(t, long, long)
	srv := httptest.NewServer(app.router)
	t.Cleanup(srv.Close)
	base := srv.URL
	admRun(t, ctx, "log in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/admin/login/"),
		chromedp.SendKeys(sel("login-email"), seed.super.Email),
		chromedp.SendKeys(sel("login-password"), seed.super.Password),
		chromedp.Click(sel("login-submit")),
		chromedp.WaitVisible(sel("recent-actions")),
	)
	type fit struct {
		Page, View, Table, Box, LogoutRight float64
	}
	measure := func(path string) fit {
		t.Helper()
		admRun(t, ctx, "open "+path, chromedp.Navigate(base+path), chromedp.WaitVisible(sel("logout")))
		f, err := chromedp.Run(ctx, chromedp.Evaluate[fit](`(() => {
			const table = document.querySelector("table.results"), box = document.querySelector(".table-wrap");
			return {Page: document.documentElement.scrollWidth, View: document.documentElement.clientWidth,
				Table: table ? table.scrollWidth : 0, Box: box ? box.clientWidth : 0,
				LogoutRight: document.querySelector("[data-testid=logout]").getBoundingClientRect().right};
		})()`))
		if err != nil {
			t.Fatalf("measure %s: %v", path, err)
		}
		return f
	}
	lists := []string{"/admin/patients/", "/admin/doctors/", "/admin/mappings/", "/admin/users/", "/admin/audit/"}
	for _, path := range lists {
		f := measure(path)
		if f.Table == 0 || f.Box == 0 {
			t.Fatalf("1280 px, %s: no results table to measure", path)
		}
		if f.Page > f.View {
			t.Errorf("1280 px, %s: the page is %v px wide", path, f.Page)
		}
		if f.Table > f.Box {
			t.Errorf("1280 px, %s: the table is %v px wide in a box of %v", path, f.Table, f.Box)
		}
	}
	admRun(t, ctx, "become a phone", chromedp.EmulateViewport(375, 800, chromedp.EmulateMobile))
	for _, path := range append([]string{"/admin/", "/admin/patients/" + itoa64(seed.ann.ID) + "/", "/admin/password_change/"}, lists...) {
		f := measure(path)
		if f.Page > f.View {
			t.Errorf("375 px, %s: the page is %v px wide", path, f.Page)
		}
		if f.LogoutRight > f.View {
			t.Errorf("375 px, %s: Log out ends at %v px, off the screen", path, f.LogoutRight)
		}
	}
	// The picker says when it lists only the first matches.
	for i := range 21 {
		app.mustDoctor(t, "Dr Many "+strconv.Itoa(i), "Pulmonology")
	}
	admRun(t, ctx, "search many doctors",
		chromedp.Navigate(base+"/admin/patients/"+itoa64(seed.ann.ID)+"/"),
		chromedp.SendKeys(sel("fk-search-assign_doctor_id"), "many"),
		chromedp.WaitVisible(sel("fk-more")),
	)
	// On a phone the filters are closed, unless one is in use.
	for path, want := range map[string]bool{"/admin/patients/": false, "/admin/patients/?gender=female": true} {
		admRun(t, ctx, "open "+path, chromedp.Navigate(base+path), chromedp.WaitVisible(sel("results")))
		open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(".filters details").open`))
		if err != nil {
			t.Fatal(err)
		}
		if open != want {
			t.Errorf("375 px, %s: filters open %v, want %v", path, open, want)
		}
	}
}
