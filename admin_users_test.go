package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
}
