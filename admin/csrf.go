package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"

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
	want, _ := session(c).Get(keyCSRF).(string)
	got := c.Request.Header.Get("X-CSRF-Token")
	if got == "" {
		got = c.PostForm(csrfField)
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		a.abort(c, models.Errorf(models.Forbidden, msgCSRF))
		return
	}
	c.Next()
}

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

// csrfToken returns the session's token, creating (but not saving) one if
// it has none.
func csrfToken(c *gin.Context) string {
	s := session(c)
	if t, _ := s.Get(keyCSRF).(string); t != "" {
		return t
	}
	t := newCSRFToken()
	s.Set(keyCSRF, t)
	return t
}

func newCSRFToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
