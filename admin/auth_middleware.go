package admin

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	gsessions "github.com/gorilla/sessions"

	"healthcare/models"
)

// Keys of values the middleware stores on the gin context.
const ctxUser = "admin.user"

// loadSession loads the session (failing with the 503 page when the
// database cannot be asked) and, if it names a user, that user.
func (a *Admin) loadSession(c *gin.Context) {
	// The registry caches the session for sessions.Default, so this is the
	// one load of the request; the session's user comes with it.
	loaded := &sessionUserHolder{}
	// In place, as gorilla's registry itself does: gin-contrib's session
	// (sessions.Default) keeps this *http.Request and must find the
	// registry that Get creates on it, or it would load the session again.
	*c.Request = *c.Request.WithContext(context.WithValue(c.Request.Context(), sessionUserKey{}, loaded))
	sess, err := gsessions.GetRegistry(c.Request).Get(a.sessions, cookieName)
	if err != nil {
		a.abort(c, err)
		return
	}
	if id := int64Value(sess.Values[keyUserID]); id > 0 {
		u := loaded.user
		if u == nil || u.ID != id {
			// The row's user_id and the values disagree (a row this code
			// never writes): the values name the user.
			if u, err = a.store.User(c.Request.Context(), id); err != nil && models.ErrorCode(err) != models.NotFound {
				a.abort(c, err)
				return
			}
		}
		// Signed in only with the password the session was opened with.
		if h, _ := sess.Values[keyAuthHash].(string); u != nil &&
			subtle.ConstantTimeCompare([]byte(h), []byte(sessionAuthHash(u))) == 1 {
			c.Set(ctxUser, u)
		}
	}
	c.Next()
}

// requireStaff lets active staff through. Anyone else is sent to the login
// page (which comes back here afterwards), except a signed-in user who is
// not staff, who gets the 403 page.
func (a *Admin) requireStaff(c *gin.Context) {
	u := sessionUser(c)
	if u == nil || !u.IsActive {
		next := ""
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			next = c.Request.URL.RequestURI()
		}
		c.Redirect(http.StatusSeeOther, loginURL(next))
		c.Abort()
		return
	}
	if !u.IsStaff {
		a.abort(c, models.Errorf(models.Forbidden, "Your account may not use the admin panel."))
		return
	}
	ctx := c.Request.Context()
	who := models.ActorFrom(ctx)
	who.UserID, who.Email = u.ID, u.Email
	c.Request = c.Request.WithContext(models.WithActor(ctx, who))
	c.Next()
}

// requireSuperuser guards user management and the audit log.
func (a *Admin) requireSuperuser(c *gin.Context) {
	if u := sessionUser(c); u == nil || !u.IsSuperuser {
		a.abort(c, models.Errorf(models.Forbidden, "Only superusers may manage users and read the audit log."))
		return
	}
	c.Next()
}

func (a *Admin) abort(c *gin.Context, err error) {
	a.fail(c, err)
	c.Abort()
}

// sessionUser returns the signed-in user, or nil.
func sessionUser(c *gin.Context) *models.User {
	u, _ := c.Get(ctxUser)
	user, _ := u.(*models.User)
	return user
}

// currentUser returns the signed-in staff user; only for handlers behind
// requireStaff.
func currentUser(c *gin.Context) *models.User { return sessionUser(c) }

// loginURL is the login page, returning to next after login.
func loginURL(next string) string {
	if next == "" || next == "/admin/" {
		return "/admin/login/"
	}
	return "/admin/login/?next=" + url.QueryEscape(next)
}

// safeNext returns next if it is a path of this panel, else the dashboard:
// the redirect after login must not leave the site (open redirect).
func safeNext(next string) string {
	const home = "/admin/"
	if next == "" || strings.ContainsAny(next, "\\\r\n\t") || !strings.HasPrefix(next, home) || strings.HasPrefix(next, "//") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, home) {
		return home
	}
	// No climbing out of /admin/ with dot segments, in plain or encoded form.
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return home
		}
	}
	if strings.Contains(strings.ToLower(u.RawPath+next), "%2e") || strings.Contains(strings.ToLower(next), "%2f") {
		return home
	}
	if strings.HasPrefix(u.Path, "/admin/login") || strings.HasPrefix(u.Path, "/admin/logout") {
		return home
	}
	return u.RequestURI()
}

// session returns the request's session.
func session(c *gin.Context) sessions.Session { return sessions.Default(c) }

// flash queues a message for the next page shown.
func (a *Admin) flash(c *gin.Context, level, text string) {
	session(c).AddFlash(level + "|" + text)
}

// saveSession writes the session if it changed.
func saveSession(c *gin.Context) error {
	return session(c).Save()
}

// redirect saves the session (with its flash messages) and answers 303
// See Other: the Post/Redirect/Get pattern.
func redirect(c *gin.Context, to string) error {
	if err := saveSession(c); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, to)
	return nil
}
