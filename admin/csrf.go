package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// csrfField is the form field (or X-CSRF-Token header) carrying the token.
const csrfField = "csrf_token"

// msgCSRF answers a POST without the session's token.
const msgCSRF = "CSRF verification failed. Reload the page and try again."

// csrf refuses every unsafe request that does not carry the session's CSRF
// token, or that a browser says comes from another site. Nothing runs
// before it, so a refused request changes nothing.
func (a *Admin) csrf(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if !sameOrigin(c.Request) {
		a.abort(c, models.Errorf(models.Forbidden, msgCSRF))
		return
	}
	// The form is read here, once: a body over the limit or one that does
	// not parse is said to be so, not taken for a form without its token.
	if err := readForm(c.Request, a.opts.MaxBodyBytes); err != nil {
		c.Abort()
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			a.renderError(c, bodyTooLarge)
			return
		}
		a.fail(c, models.Errorf(models.Invalid, "The form sent could not be read."))
		return
	}
	want, _ := session(c).Get(keyCSRF).(string)
	if want == "" {
		want = cookieCSRF(c) // a visitor not signed in (csrfToken)
	}
	got := c.Request.Header.Get("X-CSRF-Token")
	if got == "" {
		got = c.PostForm(csrfField)
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		if sessionUser(c) == nil && strings.TrimSuffix(c.FullPath(), "/") != "/admin/login" {
			signedOut(c)
			return
		}
		a.abort(c, models.Errorf(models.Forbidden, msgCSRF))
		return
	}
	c.Next()
}

// signedOut answers a form posted by nobody signed in, whose token is not
// the visitor's: most often a page left open until its session ended (idle
// timeout, a logout or a password change in another tab), whose forms
// carry the ended session's token. Django's token outlives the session, so
// such a post reaches the login page there; a 403 telling staff to reload
// left them no way on, not even to log out. Nothing is done with the post:
// a logout finds its work done, anything else goes to the login page (as
// requireStaff sends a post, without the post's path to come back to). The
// login form itself still refuses a bad token: logging a victim into the
// attacker's account is the attack there.
func signedOut(c *gin.Context) {
	to := loginURL("")
	if strings.TrimSuffix(c.FullPath(), "/") == "/admin/logout" {
		to = "/admin/login/?logged_out=1"
	}
	c.Redirect(http.StatusSeeOther, to)
	c.Abort()
}

// readForm parses the posted body, URL-encoded or multipart, kept in
// memory whole (maxMemory is the body limit, so no part is spooled to a
// temporary file). The URL's query is not the form's: a malformed one is
// left to the handlers, which ignore it, as gin does.
// (ParseMultipartForm alone would hide ParseForm's error behind
// ErrNotMultipart.)
func readForm(r *http.Request, maxMemory int64) error {
	query := r.URL.RawQuery
	r.URL.RawQuery = ""
	err := r.ParseForm()
	r.URL.RawQuery = query
	if err != nil {
		return err
	}
	if err := r.ParseMultipartForm(maxMemory); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return err
	}
	return nil
}

// bodyTooLarge is the page of a form over the body limit.
var bodyTooLarge = errorPage{http.StatusRequestEntityTooLarge, "Request too large",
	"The form sent is larger than this server accepts."}

// sameOrigin rejects requests that the browser marks as cross-site, by
// Sec-Fetch-Site or by an Origin header naming another host.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == r.Host
}

// csrfCookie holds the CSRF token of a visitor who is not signed in, as
// Django's csrftoken cookie does. The login form needs a token before
// there is a session to keep it in, and keeping it in a session row made
// every anonymous GET of the login page write a row (anyone could fill
// the table). The signed-in keep theirs in the session, created anew at
// login; this cookie is only ever compared with a form field, and the
// browser's Origin and Sec-Fetch-Site are checked as well (sameOrigin).
const csrfCookie = "admin_csrftoken"

// csrfToken returns the token the page's forms must send: the session's,
// or for a visitor not signed in the csrfCookie's (set now if missing).
// A signed-in session without one (not made by this version's login) gets
// one, saved with the session.
func (a *Admin) csrfToken(c *gin.Context) string {
	s := session(c)
	if t, _ := s.Get(keyCSRF).(string); t != "" {
		return t
	}
	if sessionUser(c) != nil {
		t := newCSRFToken()
		s.Set(keyCSRF, t)
		return t
	}
	if t := cookieCSRF(c); t != "" {
		return t
	}
	if t, ok := c.Get(csrfCookie); ok { // set earlier in this request
		return t.(string)
	}
	t := newCSRFToken()
	c.Set(csrfCookie, t)
	http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Value: t, Path: "/admin/", HttpOnly: true,
		Secure: a.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
	return t
}

// cookieCSRF returns the request's csrfCookie if it holds a token as
// newCSRFToken makes them, else "".
func cookieCSRF(c *gin.Context) string {
	ck, err := c.Request.Cookie(csrfCookie)
	if err != nil || len(ck.Value) != csrfTokenLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(ck.Value); err != nil {
		return ""
	}
	return ck.Value
}

// csrfTokenLen is the length of newCSRFToken's tokens.
var csrfTokenLen = base64.RawURLEncoding.EncodedLen(32)

func newCSRFToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
