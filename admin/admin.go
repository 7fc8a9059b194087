// Package admin serves the staff panel under /admin/: server-rendered HTML
// (templ components from package templates) over the same models.Store and
// validation as the JSON API. Sessions live in the database, every POST is
// CSRF-protected, and every read of patient data and every change is
// audited through the store.
package admin

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// Options configure the admin panel.
type Options struct {
	// SecureCookies marks the session cookie Secure and sends HSTS; set it
	// when the panel is served over HTTPS.
	SecureCookies bool
	// SessionIdleTimeout ends a session unused this long;
	// SessionAbsoluteTimeout ends it this long after login regardless.
	SessionIdleTimeout     time.Duration
	SessionAbsoluteTimeout time.Duration
	// RequestTimeout bounds each request, database work included.
	RequestTimeout time.Duration
	// ExportTimeout bounds a CSV export instead: it streams every matching
	// row, a million patients in about 15 seconds. Zero or less: unbounded.
	ExportTimeout time.Duration
	// MaxBodyBytes caps form bodies.
	MaxBodyBytes int64
	// LoginThrottle counts failed logins per email and LoginIPThrottle
	// login attempts per client address: the API's limiters, so that the
	// panel and the API share one lock per email and one budget per
	// address. Both are required.
	LoginThrottle, LoginIPThrottle *models.Limiter
	// OnLogin, when set, hears of every login with an email and password
	// that is checked: success, or failure for bad credentials (the API's
	// metrics hook). OnThrottle hears of every login a limiter refuses, by
	// the limiter's name: login_ip or login_email, as the API names them.
	OnLogin    func(success bool)
	OnThrottle func(limiter string)
	// Assets holds admin.css and admin.js (package static's FS).
	Assets fs.FS
	// Now is the clock of sessions and limits; nil means time.Now.
	Now func() time.Time
}

// DefaultOptions are the panel's defaults: 30 minutes idle, 12 hours at
// most. The login limiters have none: they are the API's.
func DefaultOptions() Options {
	return Options{
		SessionIdleTimeout:     30 * time.Minute,
		SessionAbsoluteTimeout: 12 * time.Hour,
		RequestTimeout:         10 * time.Second,
		ExportTimeout:          10 * time.Minute,
		MaxBodyBytes:           1 << 20,
	}
}

// Admin is the staff panel.
type Admin struct {
	store    *models.Store
	opts     Options
	log      *slog.Logger
	sessions *sessionStore
	assets   *assets

	logins *models.LoginGuard
	// exports holds the full paths of the CSV downloads, which deadline
	// bounds by ExportTimeout; written only while the routes are registered.
	exports map[string]bool
}

// New returns the panel over store. It fails only if opts lacks the login
// limiters, or opts.Assets the stylesheet or script.
func New(store *models.Store, opts Options, log *slog.Logger) (*Admin, error) {
	def := DefaultOptions()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionIdleTimeout <= 0 {
		opts.SessionIdleTimeout = def.SessionIdleTimeout
	}
	if opts.SessionAbsoluteTimeout <= 0 {
		opts.SessionAbsoluteTimeout = def.SessionAbsoluteTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = def.MaxBodyBytes
	}
	if opts.LoginThrottle == nil || opts.LoginIPThrottle == nil {
		return nil, errors.New("admin: the login limiters are required (the API's, shared)")
	}
	if opts.OnThrottle == nil {
		opts.OnThrottle = func(string) {}
	}
	as, err := loadAssets(opts.Assets)
	if err != nil {
		return nil, err
	}
	a := &Admin{
		store: store, opts: opts, log: log, assets: as, exports: map[string]bool{},
		logins: models.NewLoginGuard(store, opts.LoginIPThrottle, opts.LoginThrottle, opts.OnLogin),
	}
	a.sessions = newSessionStore(store, opts)
	return a, nil
}

// Register adds the panel's routes to rg, the /admin group. Every path is
// served with and without its trailing slash.
func (a *Admin) Register(rg *gin.RouterGroup) {
	rg.Match(withHead(http.MethodGet), "/static/:name", a.serveAsset)
	rg.Match(withHead(http.MethodGet), "", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/admin/") })

	// deadline before recovery, as the API's before its errors: the error
	// page (and its log line) comes before the deadline's cancel.
	base := rg.Group("", a.deadline, a.recovery, securityHeaders(a.opts.SecureCookies), a.queryLimit, actor,
		bodyLimit(a.opts.MaxBodyBytes), sessions.Sessions(cookieName, a.sessions), a.loadSession, a.csrf)
	anon := routes{base}
	anon.handle(http.MethodGet, "/login", a.loginPage)
	anon.handle(http.MethodPost, "/login", a.login)
	anon.handle(http.MethodPost, "/logout", a.logout)

	staff := routes{base.Group("", a.requireStaff)}
	staff.handle(http.MethodGet, "", a.dashboard)
	staff.handle(http.MethodGet, "/lookup/:model", a.lookup)
	staff.handle(http.MethodGet, "/password_change", a.passwordChangePage)
	staff.handle(http.MethodPost, "/password_change", a.passwordChange)
	a.registerPatients(staff)
	a.registerDoctors(staff)
	a.registerMappings(staff)

	super := routes{base.Group("", a.requireStaff, a.requireSuperuser)}
	a.registerUsers(super)
	super.handle(http.MethodGet, "/users/:id/password", a.passwordPage)
	super.handle(http.MethodPost, "/users/:id/password", a.setPassword)
	super.handle(http.MethodGet, "/audit", a.auditLog)
	a.export(super, "/audit/export", a.exportAudit)
}

// NotFound answers an unknown path under /admin/ with the HTML 404 page.
func (a *Admin) NotFound(c *gin.Context) {
	setPanelHeaders(c.Writer.Header(), a.opts.SecureCookies)
	a.fail(c, models.Errorf(models.NotFound, "Not found."))
}

// routes registers each route with and without its trailing slash.
type routes struct{ *gin.RouterGroup }

func (r routes) handle(method, path string, h handlerFunc) {
	r.Match(withHead(method), path+"/", handle(h))
	if path != "" {
		r.Match(withHead(method), path, handle(h))
	}
}

// export registers GET path as a CSV download: handled as any page, but
// bounded by ExportTimeout instead of RequestTimeout.
func (a *Admin) export(r routes, path string, h handlerFunc) {
	full := r.BasePath() + path
	a.exports[full], a.exports[full+"/"] = true, true
	r.handle(http.MethodGet, path, h)
}

// withHead is method, and HEAD if method is GET: Django's admin answers
// HEAD with the GET view, net/http leaving out the body. (The API's
// handlers.WithHead; the panel does not import the API.)
func withHead(method string) []string {
	if method == http.MethodGet {
		return []string{http.MethodGet, http.MethodHead}
	}
	return []string{method}
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(c *gin.Context) error

// handle adapts h to gin; errors are rendered by the recovery middleware's
// error pages (see fail).
func handle(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			_ = c.Error(err)
			c.Abort()
		}
	}
}

// registerCommon adds the routes every model shares: bulk and single
// delete, and history.
func (a *Admin) registerCommon(r routes, res *resource) {
	seg := "/" + res.plural
	r.handle(http.MethodPost, seg+"/delete", a.bulkDelete(res))
	r.handle(http.MethodGet, seg+"/:id/delete", a.deletePage(res))
	r.handle(http.MethodPost, seg+"/:id/delete", a.deleteOne(res))
	r.handle(http.MethodGet, seg+"/:id/history", a.history(res))
}
