package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// contentSecurityPolicy allows only the panel's own files: no inline
// script or style, no framing, forms posting only to this origin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// securityHeaders sets the headers every admin page carries.
func securityHeaders(secure bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		setPanelHeaders(c.Writer.Header(), secure)
		c.Next()
	}
}

// setPanelHeaders sets an admin page's headers on h: the panel's own
// policies, and the framing, sniffing and referrer rules the router's
// middleware sets too, so the panel is safe wherever it is mounted. Pages
// show patient data, so nothing is cached.
func setPanelHeaders(h http.Header, secure bool) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	h.Set("Cache-Control", "no-store")
	if secure {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
}

// recovery renders the error a handler returned, and turns a panic into
// the 500 page; internal errors are logged once with the request id.
func (a *Admin) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.log.ErrorContext(c.Request.Context(), "admin panic",
				slog.String("request_id", c.Writer.Header().Get("X-Request-ID")),
				slog.String("route", c.FullPath()), slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			if !c.Writer.Written() {
				a.fail(c, models.Errorf(models.Internal, "panic"))
			}
			c.Abort()
		}
	}()
	c.Next()
	if len(c.Errors) > 0 && !c.Writer.Written() {
		if err := c.Errors.Last().Err; !a.objectGone(c, err) {
			a.fail(c, err)
		}
	}
}

// objectGone answers a page of one object that does not exist (its change
// form, history, deletion or password page, opened from an old link or
// posted after someone deleted it) as Django's admin does: the dashboard,
// with a warning naming what is missing, rather than the 404 page. It
// reports whether it answered.
func (a *Admin) objectGone(c *gin.Context, err error) bool {
	id := c.Param("id")
	if id == "" || models.ErrorCode(err) != models.NotFound || sessionUser(c) == nil {
		return false
	}
	// The route is /admin/<plural>/:id/...
	parts := strings.Split(strings.Trim(c.FullPath(), "/"), "/")
	if len(parts) < 3 || parts[2] != ":id" {
		return false
	}
	res := resourceNamed(parts[1])
	if res == nil {
		return false
	}
	// The id is the link's text: shown as text, but without controls or
	// invisible formatting (a right-to-left override would turn the
	// sentence around), and short.
	id = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, id)
	if r := []rune(id); len(r) > 20 {
		id = string(r[:20]) + "…"
	}
	// A HEAD's client follows no redirect to show the warning: it would
	// pile up in the session.
	if c.Request.Method != http.MethodHead {
		a.flash(c, "warning", fmt.Sprintf("%s with ID “%s” doesn't exist. Perhaps it was deleted?", capitalize(res.name), isolated(id)))
	}
	if err := redirect(c, "/admin/"); err != nil {
		a.fail(c, err) // the session's store failed: its error, not the 404
	}
	return true
}

// deadline bounds the request's context, so database calls give up (and
// show the 503 page) instead of hanging: by RequestTimeout, or by
// ExportTimeout for a CSV export.
func (a *Admin) deadline(c *gin.Context) {
	timeout := a.opts.RequestTimeout
	if a.exports[c.FullPath()] {
		timeout = a.opts.ExportTimeout
		// The server's write timeout is sized for a page too. The context's
		// deadline, a little earlier, is the one that ends an export.
		var until time.Time
		if timeout > 0 {
			until = time.Now().Add(timeout + 5*time.Second)
		}
		_ = http.NewResponseController(c.Writer).SetWriteDeadline(until)
	}
	if timeout <= 0 {
		c.Next()
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// actor records where the request comes from for the audit trail;
// requireStaff adds who.
func actor(c *gin.Context) {
	ctx := models.WithActor(c.Request.Context(), models.Actor{
		IP: c.ClientIP(), UserAgent: c.Request.UserAgent(), Source: "admin",
	})
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// queryLimit answers a query too large to read whole with the 400 page,
// as the API answers it (models.CheckQuerySize).
func (a *Admin) queryLimit(c *gin.Context) {
	if err := models.CheckQuerySize(c.Request.URL.RawQuery); err != nil {
		a.fail(c, err)
		c.Abort()
		return
	}
	c.Next()
}

// bodyLimit caps request bodies (forms are small).
func bodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}
