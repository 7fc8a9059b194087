package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/handlers"
	"healthcare/models"
	"healthcare/models/modelstest"
)

func TestAdminLoginFlow(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)

	anon := app.admAnon(t)
	anon.get("/admin/").wantRedirect(t, "/admin/login/")
	anon.get("/admin/patients/?q=ann").wantRedirect(t, "/admin/login/?next=%2Fadmin%2Fpatients%2F%3Fq%3Dann")
	page := anon.get("/admin/login/?next=/admin/patients/").want(t, http.StatusOK)
	if v, _ := page.testid(t, "login-form").Find(`input[name="next"]`).Attr("value"); v != "/admin/patients/" {
		t.Fatalf("login form next = %q", v)
	}
	if anon.token() != "" || anon.cookies["admin_csrftoken"] == nil {
		t.Fatalf("login page: session %q, CSRF cookie %v; want no session, a CSRF cookie", anon.token(), anon.cookies["admin_csrftoken"])
	}
	// A session token planted before login (fixation) is not the one login
	// gives, and opens nothing after it.
	const planted = "planted-session-token-of-an-attacker"
	anon.cookies["admin_session"] = &http.Cookie{Name: "admin_session", Value: planted}
	res := anon.post("/admin/login/", url.Values{"email": {strings.ToUpper(staff.Email)}, "password": {staff.Password}, "next": {"/admin/patients/"}})
	res.wantRedirect(t, "/admin/patients/")
	after := anon.token()
	if after == "" || after == planted {
		t.Fatalf("session token not rotated at login: planted %q, after %q", planted, after)
	}
	old := app.admAnon(t)
	old.cookies["admin_session"] = &http.Cookie{Name: "admin_session", Value: planted}
	old.get("/admin/").wantRedirect(t, "/admin/login/")

	anon.get("/admin/patients/").want(t, http.StatusOK)
	anon.post("/admin/logout/", nil).wantRedirect(t, "/admin/login/?logged_out=1")
	// The cookie, even if kept, no longer opens the panel: the row is gone.
	kept := app.admAnon(t)
	kept.cookies["admin_session"] = &http.Cookie{Name: "admin_session", Value: after}
	kept.get("/admin/").wantRedirect(t, "/admin/login/")
	// Logout is POST only.
	if res := app.admLogin(t, staff).get("/admin/logout/"); res.Code == http.StatusOK || res.Code == http.StatusSeeOther {
		t.Fatalf("GET /admin/logout/: status = %d, want an error", res.Code)
	}

	// A real session planted the same way: a superuser signing in over
	// another user's live session gets a token of their own; the token the
	// first user knows opens nothing of theirs.
	super := app.admUser(t, true, true)
	shared := app.admLogin(t, staff)
	known := shared.token()
	shared.post("/admin/login/", url.Values{"email": {super.Email}, "password": {super.Password}}).wantRedirect(t, "/admin/")
	if now := shared.token(); now == "" || now == known {
		t.Fatalf("session token not rotated at a login over a live session: before %q, after %q", known, now)
	}
	shared.get("/admin/users/").want(t, http.StatusOK)
	attacker := app.admAnon(t)
	attacker.cookies["admin_session"] = &http.Cookie{Name: "admin_session", Value: known}
	attacker.get("/admin/users/").wantRedirect(t, "/admin/login/?next=%2Fadmin%2Fusers%2F")
}

func TestAdminLoginRefusals(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)
	plain := app.admUser(t, false, false)
	inactive := app.admUser(t, true, false)
	super := app.admUser(t, true, true)
	if _, err := app.store.AdminUpdateUser(t.Context(), &models.User{ID: super.ID}, inactive.ID,
		models.UserChanges{Name: inactive.Name, Email: inactive.Email, IsStaff: true}); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	for _, tc := range []struct {
		name, email, password string
	}{
		{"wrong password", staff.Email, "wrong-password-1"},
		{"unknown email", "nobody@clinic.example", testPassword},
		{"not staff", plain.Email, testPassword},
		{"inactive staff", inactive.Email, testPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := app.admAnon(t)
			cl.get("/admin/login/")
			res := cl.post("/admin/login/", url.Values{"email": {tc.email}, "password": {tc.password}}).want(t, http.StatusOK)
			if got := res.text(t, "login-error"); !strings.Contains(got, "correct email and password for a staff account") {
				t.Fatalf("login error = %q", got)
			}
			if v, _ := res.testid(t, "login-email").Attr("value"); v != tc.email {
				t.Fatalf("typed email not kept: %q", v)
			}
			if res.doc(t).Find(`input[name="password"]`).AttrOr("value", "") != "" {
				t.Fatal("password sent back to the browser")
			}
			cl.get("/admin/").wantRedirect(t, "/admin/login/")
		})
	}
	// The refused non-staff login is on record as a failure.
	evs := app.admEvents(t, models.AuditFilter{UserID: plain.ID, Action: models.ActionLoginFailed})
	if len(evs) != 1 || evs[0].Source != "admin" {
		t.Fatalf("non-staff admin login events = %+v", evs)
	}
}

func TestAdminSafeNext(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)
	for next, want := range map[string]string{
		"/admin/doctors/?o=name":   "/admin/doctors/?o=name",
		"//evil.example/admin/":    "/admin/",
		"https://evil.example/":    "/admin/",
		"/api/patients/":           "/admin/",
		"/admin/../api/patients/":  "/admin/",
		"/admin/%2e%2e/api/":       "/admin/",
		"/admin/\\evil.example":    "/admin/",
		"javascript:alert(1)":      "/admin/",
		"/admin/login/?next=//bad": "/admin/",
	} {
		cl := app.admAnon(t)
		cl.get("/admin/login/")
		cl.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}, "next": {next}}).
			wantRedirect(t, want)
	}
}

func TestAdminLoginThrottleSharedWithAPI(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)
	cl := app.admAnon(t)
	cl.get("/admin/login/")
	// Five failures in the panel and five through the API lock the email.
	for range 5 {
		cl.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {"wrong-password-1"}}).want(t, http.StatusOK)
		app.do(request{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": staff.Email, "password": "wrong-password-1"}}).
			want(t, http.StatusUnauthorized)
	}
	res := cl.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}}).want(t, http.StatusTooManyRequests)
	if !strings.Contains(res.text(t, "login-error"), "Too many failed login attempts") {
		t.Fatalf("throttled login error = %q", res.text(t, "login-error"))
	}
	app.do(request{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": staff.Email, "password": staff.Password}}).
		want(t, http.StatusTooManyRequests)
	// The window passes: the right password works again.
	app.clock.Advance(16 * time.Minute)
	cl.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}}).wantRedirect(t, "/admin/")
}

// Parallel guesses in the panel must not get past the lock: of many
// concurrent failed logins for one email, at most LoginFailures are
// checked within the window (the slot is taken before the password is).
func TestAdminLoginLockoutConcurrent(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits, func(o *handlers.Options) {
		o.LoginFailures = handlers.Limit{Events: 3, Window: 15 * time.Minute}
	})
	staff := app.admUser(t, true, false)
	const n = 16
	clients := make([]*admClient, n)
	for i := range clients {
		clients[i] = app.admAnon(t)
		clients[i].get("/admin/login/").want(t, http.StatusOK)
	}
	res := make([]*admResponse, n)
	modelstest.AtOnce(n, func(i int) {
		res[i] = clients[i].post("/admin/login/", url.Values{"email": {staff.Email}, "password": {fmt.Sprintf("wrong-Guess-%d", i)}})
	})
	checked, throttled := 0, 0
	for _, r := range res {
		switch r.Code {
		case http.StatusOK:
			checked++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("POST /admin/login/: status = %d, want 200 or 429; body: %.300s", r.Code, r.Body)
		}
	}
	if checked > 3 {
		t.Errorf("%d concurrent wrong passwords: %d were checked and %d throttled; want at most 3 checked", n, checked, throttled)
	}
	// The lock holds for the right password too, in the panel and the API.
	cl := app.admAnon(t)
	cl.get("/admin/login/")
	cl.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}}).want(t, http.StatusTooManyRequests)
	authWant429(t, authLogin(app, staff.Email, staff.Password), 0)
}

// Admin and API logins share one per-address budget: attempts in either
// count, and the panel answers its 429 with Retry-After as the API does.
func TestAdminLoginPerIPSharedWithAPI(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits, func(o *handlers.Options) {
		o.LoginPerIP = handlers.Limit{Events: 3, Window: time.Minute}
	})
	staff := app.admUser(t, true, false)
	app.clock.Advance(0)
	cl := app.admAnon(t)
	cl.get("/admin/login/").want(t, http.StatusOK)
	wrong := url.Values{"email": {staff.Email}, "password": {"wrong-password-1"}}
	cl.post("/admin/login/", wrong).want(t, http.StatusOK)
	authLogin(app, staff.Email, "wrong-password-1").want(t, http.StatusUnauthorized)
	cl.post("/admin/login/", wrong).want(t, http.StatusOK)
	// The budget of 3 is spent: both faces refuse, the right password too.
	res := cl.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}}).want(t, http.StatusTooManyRequests)
	if ra := res.Header().Get("Retry-After"); ra != "60" {
		t.Errorf("POST /admin/login/ (throttled): Retry-After = %q, want 60", ra)
	}
	if !strings.Contains(res.text(t, "login-error"), "Try again in a minute") {
		t.Errorf("throttled login error = %q", res.text(t, "login-error"))
	}
	authWant429(t, authLogin(app, staff.Email, staff.Password), 60)
	// The window passes.
	app.clock.Advance(time.Minute)
	cl.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}}).wantRedirect(t, "/admin/")
}

// Admin logins report to the API's login and rate-limit metrics.
func TestAdminLoginMetrics(t *testing.T) {
	t.Parallel()
	app, m := metApp(t, nil, func(o *handlers.Options) {
		o.LoginFailures = handlers.Limit{Events: 2, Window: 15 * time.Minute}
	})
	staff := app.admUser(t, true, false)
	plain := app.admUser(t, false, false)
	cl := app.admAnon(t)
	cl.get("/admin/login/").want(t, http.StatusOK)
	cl.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}}).wantRedirect(t, "/admin/")
	cl = app.admAnon(t)
	cl.get("/admin/login/").want(t, http.StatusOK)
	// Right password, not staff: refused, but neither a success nor bad
	// credentials, and it takes no slot of the lock.
	cl.post("/admin/login/", url.Values{"email": {plain.Email}, "password": {plain.Password}}).want(t, http.StatusOK)
	for range 2 {
		cl.post("/admin/login/", url.Values{"email": {plain.Email}, "password": {"wrong-password-1"}}).want(t, http.StatusOK)
	}
	cl.post("/admin/login/", url.Values{"email": {plain.Email}, "password": {"wrong-password-1"}}).want(t, http.StatusTooManyRequests)

	fams := metFamilies(t, m)
	for result, want := range map[string]float64{"success": 1, "failure": 2} {
		if got := metCounter(fams, "healthcare_logins_total", map[string]string{"result": result}); got != want {
			t.Errorf(`healthcare_logins_total{result=%q} = %v, want %v`, result, got, want)
		}
	}
	if got := metCounter(fams, "healthcare_rate_limited_total", map[string]string{"limiter": "login_email"}); got != 1 {
		t.Errorf(`healthcare_rate_limited_total{limiter="login_email"} = %v, want 1`, got)
	}
}

func TestAdminCSRF(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	form := url.Values{"name": {"Dr Who"}, "specialization": {"Time"}, "email": {"who@clinic.example"}, "years_of_experience": {"3"}}
	for _, tc := range []struct {
		name   string
		token  string
		header map[string]string
	}{
		{"missing token", "", nil},
		{"wrong token", "not-the-token", nil},
		{"right token from another site", cl.csrf, map[string]string{"Origin": "https://evil.example"}},
		{"right token, cross-site fetch", cl.csrf, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tc.token != "" {
				f.Set("csrf_token", tc.token)
			}
			res := cl.do(http.MethodPost, "/admin/doctors/add/", f, tc.header).want(t, http.StatusForbidden)
			res.testid(t, "error-403")
			if !strings.Contains(res.Body.String(), "CSRF verification failed") {
				t.Fatalf("403 page does not say why: %s", res.Body.String())
			}
		})
	}
	page, err := app.store.AdminDoctors(t.Context(), models.AdminDoctorFilter{}, models.AdminQuery{Page: 1})
	if err != nil || page.Count != 0 {
		t.Fatalf("a refused POST changed something: %d doctors (err %v)", page.Count, err)
	}
	// Logout and login are protected too.
	cl.do(http.MethodPost, "/admin/logout/", url.Values{}, nil).want(t, http.StatusForbidden)
	cl.get("/admin/").want(t, http.StatusOK)
	anon := app.admAnon(t)
	anon.do(http.MethodPost, "/admin/login/", url.Values{"email": {"a@b.example"}, "password": {"x"}}, nil).want(t, http.StatusForbidden)
	// With the token, the same form goes through.
	cl.post("/admin/doctors/add/", form).wantRedirect(t, "/admin/doctors/")
}

func TestAdminPermissions(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	superUser, super := app.admSuper(t)
	staffUser, staff := app.admStaff(t)
	_ = superUser
	for _, path := range []string{"/admin/users/", "/admin/users/add/", "/admin/users/" + itoa64(staffUser.ID) + "/",
		"/admin/users/" + itoa64(staffUser.ID) + "/password/", "/admin/audit/", "/admin/audit/export/", "/admin/users/export/"} {
		staff.get(path).want(t, http.StatusForbidden).testid(t, "error-403")
		super.get(path).want(t, http.StatusOK)
	}
	for _, path := range []string{"/admin/", "/admin/patients/", "/admin/doctors/", "/admin/mappings/",
		"/admin/patients/add/", "/admin/doctors/add/", "/admin/mappings/add/"} {
		staff.get(path).want(t, http.StatusOK)
	}
	// Non-superusers do not see the sections they may not open.
	dash := staff.get("/admin/").want(t, http.StatusOK)
	if dash.has(t, "nav-users") || dash.has(t, "nav-audit") || dash.has(t, "model-users") {
		t.Fatal("staff dashboard shows users or the audit log")
	}
	superDash := super.get("/admin/")
	superDash.testid(t, "nav-users")
	superDash.testid(t, "nav-audit")
	// A staff POST to a superuser page is refused before anything changes.
	staff.post("/admin/users/add/", url.Values{"name": {"X"}, "email": {"x@clinic.example"}, "password": {testPassword},
		"password2": {testPassword}, "is_staff": {"on"}, "is_superuser": {"on"}}).want(t, http.StatusForbidden)
	if _, err := app.store.UserByEmail(t.Context(), "x@clinic.example"); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("staff created a user: %v", err)
	}
	// Demoted while signed in: 403 at the next request.
	if _, err := app.store.AdminUpdateUser(t.Context(), &models.User{ID: superUser.ID}, staffUser.ID,
		models.UserChanges{Name: staffUser.Name, Email: staffUser.Email, IsActive: true}); err != nil {
		t.Fatalf("demote: %v", err)
	}
	// Demotion ended the sessions: back to the login page.
	staff.get("/admin/").wantRedirect(t, "/admin/login/")
	// A non-staff session (forged by hand) gets the 403 page.
	plain := app.admUser(t, false, false)
	tok := models.NewSessionToken()
	if err := app.store.SaveSession(t.Context(), tok, &plain.ID, admSessionData(t, app, plain.ID), time.Now().UTC(),
		models.SessionTimeouts{Idle: time.Hour, Absolute: time.Hour}); err != nil {
		t.Fatal(err)
	}
	forged := app.admAnon(t)
	forged.cookies["admin_session"] = &http.Cookie{Name: "admin_session", Value: tok}
	forged.get("/admin/patients/").want(t, http.StatusForbidden).testid(t, "error-403")
}

func TestAdminSessionTimeouts(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)
	app.clock.Advance(0) // freeze the clock
	cl := app.admLogin(t, staff)
	app.clock.Advance(29 * time.Minute)
	cl.get("/admin/").want(t, http.StatusOK) // activity renews the idle timer
	app.clock.Advance(29 * time.Minute)
	cl.get("/admin/").want(t, http.StatusOK)
	app.clock.Advance(31 * time.Minute)
	cl.get("/admin/patients/").wantRedirect(t, "/admin/login/?next=%2Fadmin%2Fpatients%2F")

	// Absolute timeout: active every 20 minutes, still out after 12 hours.
	cl = app.admLogin(t, staff)
	for range 12 * 3 {
		app.clock.Advance(20 * time.Minute)
		if cl.get("/admin/").Code != http.StatusOK {
			break
		}
	}
	cl.get("/admin/").wantRedirect(t, "/admin/login/")
}

func TestAdminSecurityHeaders(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/admin/login/", http.StatusSeeOther}, {http.MethodGet, "/admin/", http.StatusOK}, // signed in: the login page sends home
		{http.MethodGet, "/admin/patients/", http.StatusOK}, // the 404 and 405 pages too:
		{http.MethodGet, "/admin/nope/", http.StatusNotFound}, {http.MethodPut, "/admin/patients/", http.StatusMethodNotAllowed},
	} {
		path := tc.method + " " + tc.path
		res := cl.do(tc.method, tc.path, nil, nil).want(t, tc.status)
		h := res.Header()
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") ||
			strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP = %q", path, csp)
		}
		for k, want := range map[string]string{
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
			"Cache-Control": "no-store",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		if strings.Contains(res.Body.String(), "<script>") || strings.Contains(res.Body.String(), " style=\"") {
			t.Errorf("%s: inline script or style in the page", path)
		}
	}
	res := cl.get("/admin/nope/").want(t, http.StatusNotFound)
	res.testid(t, "error-404")
	// Cookie flags: the login page's CSRF cookie, then the session's.
	anon := app.admAnon(t)
	wantFlags := func(r *admResponse, name string) {
		t.Helper()
		for _, c := range r.Result().Cookies() {
			if c.Name == name {
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/admin/" {
					t.Errorf("%s cookie = %+v, want HttpOnly, SameSite=Lax, Path=/admin/", name, c)
				}
				return
			}
		}
		t.Errorf("%s %s set no %s cookie", r.method, r.path, name)
	}
	wantFlags(anon.get("/admin/login/"), "admin_csrftoken")
	u := app.admUser(t, true, false)
	wantFlags(anon.post("/admin/login/", url.Values{"email": {u.Email}, "password": {u.Password}}), "admin_session")
}

// A visitor who is not signed in gets the login form's CSRF token in a
// cookie, not in a session row: GETs of the login page and failed logins
// store nothing (anyone could otherwise fill the sessions table), and a
// login POST must carry the cookie's token.
func TestAdminAnonymousVisitorsStoreNoSession(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)
	rows := func() int64 {
		var n int64
		if err := app.store.DB().Model(&models.Session{}).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 5 {
		app.admAnon(t).get("/admin/login/").want(t, http.StatusOK)
	}
	anon := app.admAnon(t)
	anon.get("/admin/login/?next=/admin/patients/").want(t, http.StatusOK)
	token := anon.csrf
	anon.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {"wrong-Password-1"}}).want(t, http.StatusOK)
	if anon.csrf != token {
		t.Errorf("a failed login changed the visitor's CSRF token")
	}
	if n := rows(); n != 0 {
		t.Fatalf("%d session rows after visitors' GETs and a failed login, want 0", n)
	}
	// The form's token without the cookie it came with is refused.
	thief := app.admAnon(t)
	thief.csrf = token
	thief.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}}).want(t, http.StatusForbidden)
	// With the cookie, the login works and makes the one session.
	anon.post("/admin/login/", url.Values{"email": {staff.Email}, "password": {staff.Password}}).want(t, http.StatusSeeOther)
	if n := rows(); n != 1 {
		t.Fatalf("%d session rows after one login, want 1", n)
	}
}

// Browsers under /admin/ get HTML error pages for unknown paths (404) and
// wrong methods (405, with Allow), never the API's JSON.
func TestAdminUnroutedAnswersAreHTML(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/admin/nope/", http.StatusNotFound, ""},
		{http.MethodPost, "/admin/nope", http.StatusNotFound, ""},
		{http.MethodGet, "/admin/patients/1/extra/deep/", http.StatusNotFound, ""},
		{http.MethodPut, "/admin/patients/", http.StatusMethodNotAllowed, "GET"},
		{http.MethodDelete, "/admin/login/", http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodGet, "/admin/logout/", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPost, "/admin", http.StatusMethodNotAllowed, "GET"},
		{http.MethodPatch, "/admin/static/admin.css", http.StatusMethodNotAllowed, "GET"},
	} {
		for _, who := range []*admClient{cl, app.admAnon(t)} {
			res := who.do(tc.method, tc.path, nil, nil)
			where := tc.method + " " + tc.path
			if res.Code != tc.status {
				t.Errorf("%s: status = %d, want %d; body: %.200s", where, res.Code, tc.status, res.Body)
				continue
			}
			if ct := res.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("%s: Content-Type = %q, want an HTML page", where, ct)
				continue
			}
			res.testid(t, "error-"+strconv.Itoa(tc.status))
			for k, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
				if got := res.Header().Get(k); got != want {
					t.Errorf("%s: %s = %q, want %q", where, k, got, want)
				}
			}
			if tc.allow != "" {
				got := convAllow(res.Header().Get("Allow"))
				for _, m := range strings.Split(tc.allow, ", ") {
					if !slices.Contains(got, m) {
						t.Errorf("%s: Allow = %q, want %s in it", where, res.Header().Get("Allow"), tc.allow)
					}
				}
			}
		}
	}
}

func TestAdminStaticAssets(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	page := app.admAnon(t).get("/admin/login/").want(t, http.StatusOK)
	css, _ := page.doc(t).Find(`link[rel="stylesheet"]`).Attr("href")
	js, _ := page.doc(t).Find(`script[src]`).Attr("src")
	for _, tc := range []struct{ url, ctype string }{{css, "text/css"}, {js, "text/javascript"}} {
		if !strings.Contains(tc.url, "?v=") {
			t.Fatalf("asset URL %q is not versioned", tc.url)
		}
		res := app.admAnon(t).get(tc.url).want(t, http.StatusOK)
		if !strings.HasPrefix(res.Header().Get("Content-Type"), tc.ctype) {
			t.Errorf("GET %s: Content-Type = %q", tc.url, res.Header().Get("Content-Type"))
		}
		if cc := res.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control = %q", tc.url, cc)
		}
		if res.Body.Len() == 0 {
			t.Errorf("GET %s: empty", tc.url)
		}
		etag := res.Header().Get("ETag")
		cl := app.admAnon(t)
		if r := cl.do(http.MethodGet, tc.url, nil, map[string]string{"If-None-Match": etag}); r.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: status = %d, want 304", tc.url, r.Code)
		}
	}
	app.admAnon(t).get("/admin/static/nope.js").want(t, http.StatusNotFound)
}

// TestAdminSessionReadsItsUserOnce: a page reads the session and its user
// in one query (no separate read of users), and that user is still read
// fresh on every request: changes made straight in the database show at
// the next page.
func TestAdminSessionReadsItsUserOnce(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u, cl := app.admStaff(t)
	var mu sync.Mutex
	var seen []string
	name := "test:statements:" + t.Name()
	if err := app.store.DB().Callback().Query().After("gorm:query").Register(name, func(tx *gorm.DB) {
		mu.Lock()
		defer mu.Unlock()
		// Unquoted: PostgreSQL's statements quote names with ", SQLite's with `.
		seen = append(seen, strings.NewReplacer(`"`, "", "`", "").Replace(tx.Statement.SQL.String()))
	}); err != nil {
		t.Fatal(err)
	}
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
	cl.get("/admin/patients/").want(t, http.StatusOK)
	var sessionReads, userReads int
	for _, s := range taken() {
		if strings.Contains(s, "FROM sessions") {
			sessionReads++
			if !strings.Contains(s, "JOIN users") {
				t.Errorf("the session was read without its user: %s", s)
			}
		}
		if strings.Contains(s, "FROM users") {
			userReads++
		}
	}
	if sessionReads != 1 || userReads != 0 {
		t.Errorf("a page read the session %d times and users %d times, want 1 and 0", sessionReads, userReads)
	}

	db := app.store.DB().Model(&models.User{}).Where("id = ?", u.ID)
	if err := db.Update("name", "Renamed In The Database").Error; err != nil {
		t.Fatal(err)
	}
	if got := cl.get("/admin/").want(t, http.StatusOK).Body.String(); !strings.Contains(got, "Renamed In The Database") {
		t.Error("the page shows the user's old name")
	}
	// A session row without its user_id (never written so) still follows
	// the user of its values, read on its own.
	tok := models.NewSessionToken()
	if err := app.store.SaveSession(t.Context(), tok, nil, admSessionData(t, app, u.ID), time.Now().UTC(),
		models.SessionTimeouts{Idle: time.Hour, Absolute: time.Hour}); err != nil {
		t.Fatal(err)
	}
	byValues := app.admAnon(t)
	byValues.cookies["admin_session"] = &http.Cookie{Name: "admin_session", Value: tok}
	taken()
	byValues.get("/admin/patients/").want(t, http.StatusOK)
	userReads = 0
	for _, s := range taken() {
		if strings.Contains(s, "FROM users") {
			userReads++
		}
	}
	if userReads != 1 {
		t.Errorf("a session without user_id read users %d times, want 1 (the user of its values)", userReads)
	}

	if err := app.store.DB().Model(&models.User{}).Where("id = ?", u.ID).Update("is_staff", false).Error; err != nil {
		t.Fatal(err)
	}
	cl.get("/admin/patients/").want(t, http.StatusForbidden).testid(t, "error-403")
	if err := app.store.DB().Model(&models.User{}).Where("id = ?", u.ID).Updates(map[string]any{"is_staff": true, "is_active": false}).Error; err != nil {
		t.Fatal(err)
	}
	cl.get("/admin/patients/").wantRedirect(t, "/admin/login/?next=%2Fadmin%2Fpatients%2F")
}

// A form over the body limit is a 413 and one that does not parse a 400,
// each saying so: both were a 403 "CSRF verification failed" (the token
// could not be read from a body that was never parsed). Nothing is saved.
func TestAdminFormBodyErrorsAreNotCSRFFailures(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	big := url.Values{"name": {"Big"}, "created_by": {itoa64(owner.ID)}, "medical_history": {strings.Repeat("x", 1<<20)}}
	res := cl.post("/admin/patients/add/", big).want(t, http.StatusRequestEntityTooLarge)
	if !strings.Contains(res.Body.String(), "larger than this server accepts") {
		t.Errorf("413 page does not say why:\n%s", res.Body.String())
	}
	res = cl.do(http.MethodPost, "/admin/patients/add/", nil, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	res.want(t, http.StatusForbidden) // no body, so no token: still the CSRF page
	r := httptest.NewRequest(http.MethodPost, "/admin/patients/add/", strings.NewReader("csrf_token="+cl.csrf+"&name=%zz"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cl.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	app.router.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "could not be read") {
		t.Errorf("malformed form: status %d, want 400 saying the form could not be read", w.Code)
	}
	var n int64
	if err := app.store.DB().Model(&models.Patient{}).Count(&n).Error; err != nil || n != 0 {
		t.Fatalf("patients after refused forms: %d, %v", n, err)
	}

	// A multipart form is read as well.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"csrf_token": cl.csrf, "name": "Multi Part", "gender": "other", "created_by": itoa64(owner.ID)} {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	r = httptest.NewRequest(http.MethodPost, "/admin/patients/add/", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	for _, c := range cl.cookies {
		r.AddCookie(c)
	}
	w = httptest.NewRecorder()
	app.router.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("multipart form: status %d, want 303", w.Code)
	}
}

// admSessionData is the data of a signed-in session of user id, written by
// hand: its user, a CSRF token, and the digest of the user's password hash
// that ties it to the password (Django's session auth hash).
func admSessionData(t *testing.T, app *testApp, id int64) string {
	t.Helper()
	u, err := app.store.User(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("healthcare admin session\x00" + u.PasswordHash))
	return `{"uid":` + itoa64(id) + `,"csrf":"x","_auth_hash":"` + hex.EncodeToString(sum[:16]) + `"}`
}

// A session is signed in only with the password it was opened with: one
// that outlived a password change (as a login racing the change would:
// the change's deletion of the user's sessions came before it) is not.
func TestAdminSessionEndsWithItsPassword(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u, cl := app.admStaff(t)
	cl.get("/admin/").want(t, http.StatusOK)
	// The change keeps this session's row, as if it had been written after
	// the change deleted the user's sessions.
	if err := app.store.SetUserPassword(t.Context(), u.ID, "violet-Harbour-owl-58", cl.token()); err != nil {
		t.Fatal(err)
	}
	if loc := cl.get("/admin/").Header().Get("Location"); !strings.HasPrefix(loc, "/admin/login/") {
		t.Fatalf("a session of the old password is still signed in (Location %q)", loc)
	}
	// Logging in with the new password opens one again.
	u.Password = "violet-Harbour-owl-58"
	app.admLogin(t, u).get("/admin/").want(t, http.StatusOK)
}

// A form posted after its session ended (the idle timeout, a logout in
// another tab) goes to the login page, changing nothing: it was the 403
// "CSRF verification failed" page, and staff who came back to a tab left
// open could not even log out. A post from another site, a login with a
// token not the visitor's, and a signed-in session's wrong token are still
// refused.
func TestAdminPostAfterTheSessionEnded(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)
	form := url.Values{"name": {"Dr Who"}, "specialization": {"Time"}, "email": {"who@clinic.example"}, "years_of_experience": {"3"}}
	noDoctors := func(when string) {
		t.Helper()
		page, err := app.store.AdminDoctors(t.Context(), models.AdminDoctorFilter{}, models.AdminQuery{Page: 1})
		if err != nil || page.Count != 0 {
			t.Fatalf("%s: %d doctors (err %v), want none", when, page.Count, err)
		}
	}

	app.clock.Advance(0) // freeze the clock
	cl := app.admLogin(t, staff)
	cl.get("/admin/doctors/add/").want(t, http.StatusOK)
	app.clock.Advance(31 * time.Minute) // past the idle timeout
	cl.do(http.MethodPost, "/admin/doctors/add/", withToken(form, cl.csrf), map[string]string{"Origin": "https://evil.example"}).
		want(t, http.StatusForbidden)
	cl.post("/admin/doctors/add/", form).wantRedirect(t, "/admin/login/")
	noDoctors("a form posted after the idle timeout")
	cl.post("/admin/logout/", url.Values{}).wantRedirect(t, "/admin/login/?logged_out=1")

	// Logged out in another tab: this tab's forms carry the ended session's token.
	cl = app.admLogin(t, staff)
	cl.get("/admin/doctors/add/").want(t, http.StatusOK)
	stale := cl.csrf
	cl.post("/admin/logout/", url.Values{}).wantRedirect(t, "/admin/login/?logged_out=1")
	cl.get("/admin/login/").want(t, http.StatusOK) // the visitor's own token now, in its cookie
	cl.post("/admin/doctors/add/", withToken(form, stale)).wantRedirect(t, "/admin/login/")
	cl.post("/admin/logout/", withToken(url.Values{}, stale)).wantRedirect(t, "/admin/login/?logged_out=1")
	noDoctors("a form posted after a logout")
	login := url.Values{"email": {staff.Email}, "password": {staff.Password}}
	cl.post("/admin/login/", withToken(login, stale)).want(t, http.StatusForbidden).testid(t, "error-403")
	if cl.token() != "" {
		t.Fatal("a login with a token not the visitor's signed in")
	}

	// Signed in, a wrong token is still the 403 page.
	cl = app.admLogin(t, staff)
	cl.post("/admin/doctors/add/", withToken(form, stale)).want(t, http.StatusForbidden).testid(t, "error-403")
	noDoctors("a signed-in post with a wrong token")
}

// withToken is form with csrf_token set to token.
func withToken(form url.Values, token string) url.Values {
	f := url.Values{"csrf_token": {token}}
	for k, v := range form {
		f[k] = v
	}
	return f
}
