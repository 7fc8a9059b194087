package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"healthcare/models"
)

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	super, cl := app.admSuper(t)

	// Create: the API's password rules, plus the confirmation.
	form := url.Values{"name": {"Nurse Joy"}, "email": {"joy@clinic.example"}, "password": {"12345678"}, "password2": {"12345678"},
		"is_active": {"on"}, "is_staff": {"on"}}
	res := cl.post("/admin/users/add/", form).want(t, http.StatusBadRequest)
	if got := res.text(t, "error-password"); !strings.Contains(got, "entirely numeric") {
		t.Fatalf("password error = %q", got)
	}
	if res.doc(t).Find(`input[type="password"][value]`).FilterFunction(func(_ int, s *goquerySelection) bool {
		return s.AttrOr("value", "") != ""
	}).Length() != 0 {
		t.Fatal("a password was sent back to the browser")
	}
	form.Set("password", "blue-Lagoon-horse-7")
	form.Set("password2", "blue-Lagoon-horse-8")
	if got := cl.post("/admin/users/add/", form).want(t, http.StatusBadRequest).text(t, "error-password2"); !strings.Contains(got, "didn’t match") {
		t.Fatalf("mismatch error = %q", got)
	}
	form.Set("password2", "blue-Lagoon-horse-7")
	cl.post("/admin/users/add/", form).wantRedirect(t, "/admin/users/")
	joy, err := app.store.UserByEmail(context.Background(), "joy@clinic.example")
	if err != nil || !joy.IsStaff || joy.IsSuperuser || !joy.IsActive {
		t.Fatalf("created user = %+v, %v", joy, err)
	}
	// The new staff user can log in to the panel.
	joyClient := app.admLogin(t, &testUser{Email: joy.Email, Password: "blue-Lagoon-horse-7"})

	// The change page never shows the hash.
	path := "/admin/users/" + itoa64(joy.ID) + "/"
	page := cl.get(path).want(t, http.StatusOK)
	if strings.Contains(page.Body.String(), joy.PasswordHash) || strings.Contains(page.Body.String(), "argon2") {
		t.Fatal("password hash shown")
	}
	page.testid(t, "readonly-password_info")
	// Filters.
	list := cl.get("/admin/users/?is_staff=1&is_superuser=0").want(t, http.StatusOK)
	if got := list.text(t, "results"); !strings.Contains(got, "joy@clinic.example") || strings.Contains(got, super.Email) {
		t.Fatalf("staff, not superuser filter: %q", got)
	}

	// Toggle: revoke staff. Joy's sessions end.
	cl.post(path, url.Values{"name": {"Nurse Joy"}, "email": {"joy@clinic.example"}, "is_active": {"on"}}).wantRedirect(t, "/admin/users/")
	joyClient.get("/admin/").wantRedirect(t, "/admin/login/")
	// Grant superuser (with staff).
	cl.post(path, url.Values{"name": {"Nurse Joy"}, "email": {"joy@clinic.example"}, "is_active": {"on"}, "is_staff": {"on"},
		"is_superuser": {"on"}, "_continue": {"1"}}).wantRedirect(t, path)
	joy, _ = app.store.User(context.Background(), joy.ID)
	if !joy.IsSuperuser || !joy.IsStaff {
		t.Fatalf("grant failed: %+v", joy)
	}
	// Nobody locks themselves out.
	res = cl.post("/admin/users/"+itoa64(super.ID)+"/", url.Values{"name": {super.Name}, "email": {super.Email}, "is_staff": {"on"}}).
		want(t, http.StatusBadRequest)
	if !res.has(t, "error-is_active") || !res.has(t, "error-is_superuser") {
		t.Fatal("superuser could demote themselves")
	}

	// Set password: validated; ends the user's other sessions and API tokens.
	joyClient = app.admLogin(t, &testUser{Email: joy.Email, Password: "blue-Lagoon-horse-7"})
	api := &testUser{Email: joy.Email, Password: "blue-Lagoon-horse-7"}
	app.login(t, api)
	pw := path + "password/"
	if got := cl.post(pw, url.Values{"password": {"joy"}, "password2": {"joy"}}).want(t, http.StatusBadRequest).text(t, "error-password"); !strings.Contains(got, "too short") {
		t.Fatalf("short password error = %q", got)
	}
	cl.post(pw, url.Values{"password": {"green-Meadow-fox-42"}, "password2": {"green-Meadow-fox-42"}}).wantRedirect(t, path)
	joyClient.get("/admin/").wantRedirect(t, "/admin/login/")
	app.do(request{method: "GET", path: "/api/auth/me/", token: api.Access}).want(t, http.StatusUnauthorized)
	app.admLogin(t, &testUser{Email: joy.Email, Password: "green-Meadow-fox-42"})
	// A superuser setting their own password keeps their session.
	cl.post("/admin/users/"+itoa64(super.ID)+"/password/", url.Values{"password": {"red-Canyon-owl-93"}, "password2": {"red-Canyon-owl-93"}}).
		wantRedirect(t, "/admin/users/"+itoa64(super.ID)+"/")
	cl.get("/admin/").want(t, http.StatusOK)
	evs := app.admEvents(t, models.AuditFilter{ObjectType: models.ObjectUser, ObjectID: joy.ID, Action: models.ActionUpdate})
	var sawPassword bool
	for _, ev := range evs {
		if strings.Contains(ev.Changes, `"password"`) {
			sawPassword = true
			if strings.Contains(ev.Changes, "argon2") {
				t.Fatal("hash in the audit trail")
			}
		}
	}
	if !sawPassword {
		t.Fatal("password change not audited")
	}
}

func TestAdminUserStoreRefusesGrantsByStaff(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)
	other := app.admUser(t, false, false)
	by, _ := app.store.User(context.Background(), staff.ID)
	_, err := app.store.AdminUpdateUser(context.Background(), by, other.ID,
		models.UserChanges{Name: other.Name, Email: other.Email, IsActive: true, IsStaff: true})
	if models.ErrorCode(err) != models.Forbidden {
		t.Fatalf("staff granting staff: err = %v, want Forbidden", err)
	}
	_, err = app.store.AdminCreateUser(context.Background(), by, models.NewUser{Name: "S", Email: "s@clinic.example",
		Password: testPassword, IsActive: true, IsSuperuser: true})
	if models.ErrorCode(err) != models.Forbidden {
		t.Fatalf("staff creating a superuser: err = %v, want Forbidden", err)
	}
	// Nor may staff edit a superuser at all, not even leaving every flag
	// as it is: the store refuses it whatever route calls it.
	super := app.admUser(t, true, true)
	_, err = app.store.AdminUpdateUser(context.Background(), by, super.ID,
		models.UserChanges{Name: "Renamed", Email: super.Email, IsActive: true, IsStaff: true, IsSuperuser: true})
	if models.ErrorCode(err) != models.Forbidden {
		t.Fatalf("staff editing a superuser: err = %v, want Forbidden", err)
	}
	if u, err := app.store.User(context.Background(), super.ID); err != nil || u.Name == "Renamed" {
		t.Fatalf("the superuser after a refused edit: %+v, %v", u, err)
	}
}

// Staff change their own password at /admin/password_change/ (Django
// admin's page; staff who are not superusers had no way to): the old one
// must be right, the new one passes the rules twice alike; then their other
// sessions and API tokens end, this session stays.
func TestAdminOwnPasswordChange(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u, cl := app.admStaff(t)
	other := app.admLogin(t, u) // the same user, another browser
	api := authLogin(app, u.Email, u.Password).want(t, http.StatusOK)
	access, _ := authTokens(t, api)

	page := cl.get("/admin/").want(t, http.StatusOK)
	if href, _ := page.testid(t, "password-change").Attr("href"); href != "/admin/password_change/" {
		t.Fatalf("password change link = %q", href)
	}
	form := cl.get("/admin/password_change/").want(t, http.StatusOK)
	for _, id := range []string{"#id_old_password", "#id_new_password1", "#id_new_password2"} {
		if form.doc(t).Find(id).Length() != 1 {
			t.Fatalf("password change form lacks %s", id)
		}
	}
	const next = "violet-Harbour-owl-58"
	// Every failure at once, as Django's form reports them: a wrong old
	// password does not hide what is wrong with the new one.
	for _, tc := range []struct {
		form url.Values
		want map[string]string // field: part of its message
	}{
		{url.Values{"old_password": {"wrong-" + u.Password}, "new_password1": {next}, "new_password2": {next}},
			map[string]string{"old_password": models.MsgOldPasswordWrong}},
		{url.Values{"old_password": {u.Password}, "new_password1": {next}, "new_password2": {next + "x"}},
			map[string]string{"new_password2": "didn’t match"}},
		{url.Values{"old_password": {u.Password}, "new_password1": {"12345678"}, "new_password2": {"12345678"}},
			map[string]string{"new_password2": "entirely numeric"}},
		{url.Values{"old_password": {"wrong-" + u.Password}, "new_password1": {next}, "new_password2": {next + "x"}},
			map[string]string{"old_password": models.MsgOldPasswordWrong, "new_password2": "didn’t match"}},
		{url.Values{"old_password": {"wrong-" + u.Password}, "new_password1": {"12345678"}, "new_password2": {"12345678"}},
			map[string]string{"old_password": models.MsgOldPasswordWrong, "new_password2": "entirely numeric"}},
	} {
		res := cl.post("/admin/password_change/", tc.form).want(t, http.StatusBadRequest)
		for _, field := range []string{"old_password", "new_password1", "new_password2"} {
			msg, want := tc.want[field]
			if !want {
				if res.has(t, "error-"+field) {
					t.Errorf("%v: an error for %s: %q", tc.want, field, res.text(t, "error-"+field))
				}
				continue
			}
			if got := res.text(t, "error-"+field); !strings.Contains(got, msg) {
				t.Errorf("error for %s = %q, want %q", field, got, msg)
			}
		}
		if res.doc(t).Find(`input[type="password"][value]`).FilterFunction(func(_ int, s *goquerySelection) bool {
			return s.AttrOr("value", "") != ""
		}).Length() != 0 {
			t.Fatal("a password was sent back in the form")
		}
	}
	authMe(app, access).want(t, http.StatusOK) // nothing changed yet

	stolen := &admClient{t: t, app: app, cookies: map[string]*http.Cookie{}, csrf: cl.csrf}
	for k, c := range cl.cookies {
		stolen.cookies[k] = c
	}
	cl.post("/admin/password_change/", url.Values{"old_password": {u.Password}, "new_password1": {next}, "new_password2": {next}}).
		wantRedirect(t, "/admin/")
	if got := cl.get("/admin/").want(t, http.StatusOK).text(t, "message-success"); !strings.Contains(got, "Your password was changed.") {
		t.Errorf("flash = %q", got)
	}
	if loc := other.get("/admin/").Header().Get("Location"); !strings.HasPrefix(loc, "/admin/login/") {
		t.Errorf("the user's other session still open (Location %q)", loc)
	}
	if loc := stolen.get("/admin/").Header().Get("Location"); !strings.HasPrefix(loc, "/admin/login/") {
		t.Errorf("a copy of this session's cookie from before the change still works (Location %q)", loc)
	}
	authWant401(t, authMe(app, access), "", true)
	authLogin(app, u.Email, u.Password).want(t, http.StatusUnauthorized)
	authLogin(app, u.Email, next).want(t, http.StatusOK)
	// The three wrong old passwords and the change are in the trail.
	evs := app.admEvents(t, models.AuditFilter{ObjectType: models.ObjectUser, ObjectID: u.ID, Action: models.ActionUpdate})
	last := len(evs) - 1
	if len(evs) != 4 || evs[0].Outcome != models.OutcomeFailure || !strings.Contains(evs[0].Changes, "wrong old password") ||
		evs[last].Outcome != models.OutcomeSuccess || !strings.Contains(evs[last].Changes, "password") ||
		evs[last].UserID == nil || *evs[last].UserID != u.ID {
		t.Errorf("password change events = %+v", evs)
	}
	// Only the signed-in: the page is not for visitors.
	if loc := app.admAnon(t).get("/admin/password_change/").Header().Get("Location"); !strings.HasPrefix(loc, "/admin/login/") {
		t.Errorf("anonymous password change page: Location %q", loc)
	}
}

// Wrong old passwords count against the email's login lock: a stolen
// session cannot guess the password faster than the login form could, and
// the lock holds for the login too.
func TestAdminOwnPasswordChangeIsThrottled(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u, cl := app.admStaff(t)
	const next = "violet-Harbour-owl-58"
	try := func(old string) *admResponse {
		return cl.post("/admin/password_change/", url.Values{"old_password": {old}, "new_password1": {next}, "new_password2": {next}})
	}
	for i := range 10 {
		try(fmt.Sprintf("guess-%d", i)).want(t, http.StatusBadRequest)
	}
	res := try(u.Password).want(t, http.StatusTooManyRequests)
	if got := res.text(t, "error-old_password"); !strings.Contains(got, "Too many failed") || res.Header().Get("Retry-After") == "" {
		t.Errorf("locked: error %q, Retry-After %q", got, res.Header().Get("Retry-After"))
	}
	authWant429(t, authLogin(app, u.Email, u.Password), 15*60)
	app.clock.Advance(15*time.Minute + time.Second)
	try(u.Password).wantRedirect(t, "/admin/")
}

// After a password change (their own page, or a superuser's "Set password"
// on their own account) the session goes on under a new token with its
// timeouts kept: a copy of the old cookie ends, and the absolute timeout
// still counts from the login (it restarted).
func TestAdminPasswordChangeCyclesTheSession(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u, cl := app.admSuper(t)
	sessionOf := func() models.Session {
		t.Helper()
		var rows []models.Session
		if err := app.store.DB().Where("user_id = ?", u.ID).Find(&rows).Error; err != nil || len(rows) != 1 {
			t.Fatalf("sessions of the user: %d, %v", len(rows), err)
		}
		return rows[0]
	}
	for i, change := range []func(next string){
		func(next string) {
			cl.post("/admin/password_change/", url.Values{"old_password": {u.Password}, "new_password1": {next}, "new_password2": {next}}).
				wantRedirect(t, "/admin/")
		},
		func(next string) {
			path := "/admin/users/" + itoa64(u.ID) + "/password/"
			cl.get(path).want(t, http.StatusOK)
			cl.post(path, url.Values{"password": {next}, "password2": {next}}).wantRedirect(t, "/admin/users/"+itoa64(u.ID)+"/")
		},
	} {
		before := sessionOf()
		stolen := &admClient{t: t, app: app, cookies: map[string]*http.Cookie{}}
		for k, c := range cl.cookies {
			stolen.cookies[k] = c
		}
		next := fmt.Sprintf("violet-Harbour-owl-%d", 58+i)
		app.clock.Advance(10 * time.Minute)
		change(next)
		u.Password = next
		after := sessionOf()
		if after.ID == before.ID || !after.ExpiresAt.Equal(before.ExpiresAt) || !after.CreatedAt.Equal(before.CreatedAt) {
			t.Errorf("change %d: session %s… expiring %v became %s… expiring %v; want a new token, the same timeouts",
				i, before.ID[:8], before.ExpiresAt, after.ID[:8], after.ExpiresAt)
		}
		cl.get("/admin/").want(t, http.StatusOK)
		if loc := stolen.get("/admin/").Header().Get("Location"); !strings.HasPrefix(loc, "/admin/login/") {
			t.Errorf("change %d: the old cookie still opens the session (Location %q)", i, loc)
		}
	}
}
