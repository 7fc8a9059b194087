package admin

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// msgLogin is the one answer to every failed login (unknown email, wrong
// password, inactive or not staff), as Django's admin words it.
const msgLogin = "Please enter the correct email and password for a staff account. Note that both fields may be case-sensitive."

// loginPage handles GET /admin/login: the form, or straight on to next for
// a user already signed in.
func (a *Admin) loginPage(c *gin.Context) error {
	next := c.Query("next")
	if u := sessionUser(c); u != nil && u.IsActive && u.IsStaff {
		return redirect(c, safeNext(next))
	}
	vm := templates.Login{Next: next}
	switch {
	case c.Query("logged_out") != "":
		vm.Info = "You have been logged out. Thanks for your work today."
	case c.Query("next") != "":
		vm.Info = "Please log in to see this page."
	}
	return a.renderLogin(c, http.StatusOK, vm)
}

func (a *Admin) renderLogin(c *gin.Context, status int, vm templates.Login) error {
	l, err := a.layout(c, "Log in", "")
	if err != nil {
		return err
	}
	vm.Layout = l
	return render(c, status, templates.LoginPage(vm))
}

// login handles POST /admin/login. Failures count against the same
// per-email lock as the API's logins; success starts a new session (new
// token, new CSRF token) and goes on to next, if it is a panel page.
func (a *Admin) login(c *gin.Context) error {
	email, password, next := c.PostForm("email"), c.PostForm("password"), c.PostForm("next")
	vm := templates.Login{Email: email, Next: next}
	if wait, ok := a.loginPerIP.Take(c.ClientIP()); !ok {
		vm.Error = throttled(wait)
		return a.renderLogin(c, http.StatusTooManyRequests, vm)
	}
	key := models.NormalizeEmail(email)
	// A locked email stays locked for the window, even with the right
	// password: otherwise the lock only slows a guesser down.
	if wait, locked := a.loginFailures.Blocked(key); locked {
		vm.Error = throttled(wait)
		return a.renderLogin(c, http.StatusTooManyRequests, vm)
	}
	ctx := c.Request.Context()
	u, err := a.store.Authenticate(ctx, email, password)
	switch {
	case models.ErrorCode(err) == models.Unauthorized:
		a.loginFailures.Add(key)
		vm.Error = msgLogin
		return a.renderLogin(c, http.StatusOK, vm)
	case err != nil:
		return err
	case !u.IsStaff:
		// The password was right, so this is no guess: not counted, but
		// recorded as a refused admin login.
		if err := a.store.AuditAdminDenied(ctx, u); err != nil {
			return err
		}
		vm.Error = msgLogin
		return a.renderLogin(c, http.StatusOK, vm)
	}
	a.loginFailures.Reset(key)
	s := session(c)
	s.Clear()
	s.Set(keyRotate, true)
	s.Set(keyUserID, u.ID)
	s.Set(keyCSRF, newCSRFToken())
	return redirect(c, safeNext(next))
}

// logout handles POST /admin/logout: the session row is deleted, so the
// cookie is worthless even if kept.
func (a *Admin) logout(c *gin.Context) error {
	if u := sessionUser(c); u != nil {
		ctx := c.Request.Context()
		who := models.ActorFrom(ctx)
		who.UserID, who.Email = u.ID, u.Email
		if err := a.store.AuditAdminLogout(models.WithActor(ctx, who)); err != nil {
			return err
		}
	}
	s := session(c)
	s.Clear()
	s.Options(sessionOptionsDelete(a.sessions))
	if err := s.Save(); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/admin/login/?logged_out=1")
	return nil
}

func throttled(wait time.Duration) string {
	minutes := int(math.Ceil(wait.Minutes()))
	if minutes <= 1 {
		return "Too many failed login attempts. Try again in a minute."
	}
	return fmt.Sprintf("Too many failed login attempts. Try again in %d minutes.", minutes)
}
