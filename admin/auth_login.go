package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
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

// login handles POST /admin/login. Attempts count against the same
// per-address limit and failures against the same per-email lock as the
// API's logins (the limiters are shared), and report to the same metrics
// hooks; success starts a new session (new token, new CSRF token) and goes
// on to next, if it is a panel page.
func (a *Admin) login(c *gin.Context) error {
	// The request is the password Hasher's own (models.Hasher.Hashing): a
	// login flood alone does not hold its own last hashing slot back.
	ctx, done := a.store.Hasher().Hashing(c.Request.Context())
	defer done()
	c.Request = c.Request.WithContext(ctx)
	email, password, next := posted(c, "email"), posted(c, "password"), posted(c, "next")
	vm := templates.Login{Email: email, Next: next}
	u, err := a.checkLogin(ctx, c.ClientIP(), email, password)
	var th *models.Throttled
	switch {
	case errors.As(err, &th):
		vm.Error = a.throttled(c, th)
		return a.renderLogin(c, http.StatusTooManyRequests, vm)
	case models.ErrorCode(err) == models.Unauthorized || errors.Is(err, errNotStaff):
		vm.Error = msgLogin
		return a.renderLogin(c, http.StatusOK, vm)
	case err != nil:
		return err
	}
	a.logins.LoggedIn()
	s := session(c)
	s.Clear()
	s.Set(keyRotate, true)
	s.Set(keyUserID, u.ID)
	s.Set(keyAuthHash, sessionAuthHash(u)) // the password just checked
	s.Set(keyCSRF, newCSRFToken())
	return redirect(c, safeNext(next))
}

// errNotStaff refuses a right password of a user who is not staff.
var errNotStaff = errors.New("not staff")

// checkLogin checks a login under the limits the API's logins count
// against too (models.LoginGuard).
func (a *Admin) checkLogin(ctx context.Context, ip, email, password string) (*models.User, error) {
	if err := a.logins.Admit(ip); err != nil {
		return nil, err
	}
	return a.logins.Check(ctx, email, password, func(u *models.User) error {
		if u.IsStaff {
			return nil
		}
		// The refusal is on record in the audit trail rather than in the
		// login metrics: it is neither a success nor bad credentials.
		if err := a.store.AuditAdminDenied(ctx, u); err != nil {
			return err
		}
		return errNotStaff
	})
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

// throttled answers an attempt a login limiter refused (a login, or the
// old password of a password change), as the API answers it: the limiter
// is reported, Retry-After set, and the message for the form returned (the
// caller renders it with 429).
func (a *Admin) throttled(c *gin.Context, th *models.Throttled) string {
	a.opts.OnThrottle(th.Limiter)
	c.Header("Retry-After", strconv.Itoa(max(int(math.Ceil(th.Wait.Seconds())), 1)))
	return throttledMessage(th.Wait)
}

func throttledMessage(wait time.Duration) string {
	minutes := int(math.Ceil(wait.Minutes()))
	if minutes <= 1 {
		return "Too many failed login attempts. Try again in a minute."
	}
	return fmt.Sprintf("Too many failed login attempts. Try again in %d minutes.", minutes)
}
