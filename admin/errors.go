package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// errorPage is how one error code is shown.
type errorPage struct {
	status           int
	heading, message string
}

// errorPages is the one table from error codes to pages. Forbidden and
// Invalid pages show the error's own message (written for users).
var errorPages = map[string]errorPage{
	models.Invalid:      {http.StatusBadRequest, "Bad request", ""},
	models.Unauthorized: {http.StatusForbidden, "Not allowed", "You are not signed in."},
	models.Forbidden:    {http.StatusForbidden, "Permission denied", ""},
	models.NotFound:     {http.StatusNotFound, "Page not found", "The page or record you asked for does not exist. It may have been deleted."},
	models.Conflict:     {http.StatusConflict, "Conflict", ""},
	models.Unavailable:  {http.StatusServiceUnavailable, "Service unavailable", "The database is not answering. Try again in a moment."},
	models.Internal:     {http.StatusInternalServerError, "Server error", "Something went wrong on our side. It has been logged; please try again."},
}

// fail renders the HTML page for err. Internal errors are logged here,
// once, with the request id, and never shown.
func (a *Admin) fail(c *gin.Context, err error) {
	code := models.ErrorCode(err)
	p, ok := errorPages[code]
	if !ok {
		p = errorPages[models.Internal]
	}
	var me *models.Error
	if p.message == "" && errors.As(err, &me) {
		p.message = me.Message
	}
	switch code {
	case models.Internal:
		a.log.ErrorContext(c.Request.Context(), "admin request failed", requestAttrs(c, slog.Any("error", err))...)
	case models.Unavailable: // as the API logs it, a client that hung up aside
		if ctx := c.Request.Context(); !models.ClientGone(ctx) {
			a.log.WarnContext(ctx, "database unavailable", requestAttrs(c, slog.Any("error", models.CauseOf(ctx, err)))...)
		}
	}
	a.renderError(c, p)
}

// methodNotAllowed is the page of a panel path asked with a method it does
// not take.
var methodNotAllowed = errorPage{http.StatusMethodNotAllowed, "Method not allowed",
	"This page exists, but not for this kind of request. Use the links and buttons of the panel."}

// MethodNotAllowed answers a panel path requested with a method it does
// not take: the HTML 405 page (gin has set the Allow header).
func (a *Admin) MethodNotAllowed(c *gin.Context) {
	setPanelHeaders(c.Writer.Header(), a.opts.SecureCookies)
	a.renderError(c, methodNotAllowed)
}

// renderError writes the HTML error page p.
func (a *Admin) renderError(c *gin.Context, p errorPage) {
	vm := templates.ErrorPage{Status: p.status, Heading: p.heading, Message: p.message}
	vm.Layout = templates.Layout{Title: p.heading, CSS: a.assets.url("admin.css"), JS: a.assets.url("admin.js")}
	if u := sessionUser(c); u != nil && u.IsActive && u.IsStaff {
		// Show the frame, but no flash messages: the session is not
		// written while failing.
		vm.User, vm.Nav = shownName(u), navFor(u, "")
		if _, ok := c.Get(sessions.DefaultKey); ok {
			vm.CSRF, _ = session(c).Get(keyCSRF).(string)
		}
	}
	c.Header("Cache-Control", "no-store")
	// The request's deadline may have passed (the error may be that it
	// did): the error page is written anyway.
	ctx := context.WithoutCancel(c.Request.Context())
	if err := writePage(ctx, c, p.status, templates.ErrorPageView(vm)); err != nil {
		a.log.WarnContext(c.Request.Context(), "render error page", slog.Any("error", err))
		if !c.Writer.Written() {
			c.String(p.status, "%s\n", p.heading) // the status, at least
		}
	}
}

// requestAttrs are the attributes that tie a log line to its request (the
// access log's request_id, method and route), then more.
func requestAttrs(c *gin.Context, more ...any) []any {
	return append([]any{slog.String("request_id", c.Writer.Header().Get("X-Request-ID")),
		slog.String("method", c.Request.Method), slog.String("route", c.FullPath())}, more...)
}
