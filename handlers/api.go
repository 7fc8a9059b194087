// Package handlers serves the JSON API under /api/ and the service
// endpoints /healthz and /readyz: JWT authentication, DRF-shaped errors and
// pagination over models.Store.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// Options configure the API.
type Options struct {
	// NotReady, when not nil, reports that the process is shutting down:
	// /readyz answers 503 while the API still serves (SHUTDOWN_DELAY).
	NotReady func() bool

	JWTSecret       []byte
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	MaxBodyBytes    int64
	// RequestTimeout bounds each request, database work included.
	RequestTimeout time.Duration
	// LoginFailures locks an email after this many failed logins in the
	// window; LoginPerIP, RegisterPerIP and RefreshPerIP limit attempts per
	// client address. Zero Events disables a limit.
	LoginFailures Limit
	LoginPerIP    Limit
	RegisterPerIP Limit
	RefreshPerIP  Limit
	// UserRate limits the API requests of each authenticated user (per
	// process); zero Events disables it.
	UserRate Limit
	// LoginThrottle, when set, is used instead of a limiter built from
	// LoginFailures, so the admin panel's logins count against the same
	// per-email lock.
	LoginThrottle *models.Limiter
	// LoginIPThrottle, when set, is used instead of a limiter built from
	// LoginPerIP, so the admin panel's logins count against the same
	// per-address limit.
	LoginIPThrottle *models.Limiter
	// Now is the clock for tokens and limits; nil means time.Now.
	Now func() time.Time

	// OnLogin, when set, hears of every login with an email and password:
	// success, or failure for bad credentials (metrics count them).
	OnLogin func(success bool)
	// OnThrottle, when set, hears of every request a limiter rejects, by
	// the limiter's name: login_email, login_ip, register_ip, refresh_ip or
	// user (UserRate).
	OnThrottle func(limiter string)
}

// DefaultOptions are the contract's limits and lifetimes; the secret is
// the caller's to set.
func DefaultOptions() Options {
	return Options{
		AccessTokenTTL:  5 * time.Minute,
		RefreshTokenTTL: 24 * time.Hour,
		MaxBodyBytes:    1 << 20,
		RequestTimeout:  10 * time.Second,
		LoginFailures:   Limit{Events: 10, Window: 15 * time.Minute},
		LoginPerIP:      Limit{Events: 60, Window: time.Minute},
		RegisterPerIP:   Limit{Events: 60, Window: time.Minute},
		RefreshPerIP:    Limit{Events: 120, Window: time.Minute},
	}
}

// API is the JSON API.
type API struct {
	store  *models.Store
	opts   Options
	log    *slog.Logger
	signer *signer

	logins        *models.LoginGuard
	registerPerIP *models.Limiter
	refreshPerIP  *models.Limiter
	userRate      *models.Limiter
	// needsToken are the paths whose every method needs a token.
	needsToken pathPatterns
}

// New returns the API over store.
func New(store *models.Store, opts Options, log *slog.Logger) *API {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LoginThrottle == nil {
		opts.LoginThrottle = models.NewLimiter(opts.LoginFailures, opts.Now)
	}
	if opts.LoginIPThrottle == nil {
		opts.LoginIPThrottle = models.NewLimiter(opts.LoginPerIP, opts.Now)
	}
	if opts.OnThrottle == nil {
		opts.OnThrottle = func(string) {}
	}
	return &API{
		store: store, opts: opts, log: log,
		signer:        newSigner(opts.JWTSecret, opts.AccessTokenTTL, opts.RefreshTokenTTL, opts.Now),
		logins:        models.NewLoginGuard(store, opts.LoginIPThrottle, opts.LoginThrottle, opts.OnLogin),
		registerPerIP: models.NewLimiter(opts.RegisterPerIP, opts.Now),
		refreshPerIP:  models.NewLimiter(opts.RefreshPerIP, opts.Now),
		userRate:      models.NewLimiter(opts.UserRate, opts.Now),
	}
}

// Register adds the API's routes to r: /api/... and the service endpoints.
// Every path is served with and without its trailing slash, no redirect.
func (a *API) Register(r *gin.RouterGroup) {
	for _, p := range []string{"/healthz", "/healthz/"} {
		r.Match(WithHead(http.MethodGet), p, a.healthz)
	}
	for _, p := range []string{"/readyz", "/readyz/"} {
		r.Match(WithHead(http.MethodGet), p, a.readyz)
	}

	// deadline before errorMiddleware: an error is written while the
	// request's context is still its own, so a context cancelled by then
	// is the client's hang-up, not the deadline's cancel on the way out.
	api := r.Group("/api", a.deadline, a.errorMiddleware, actor, bodyLimit(a.opts.MaxBodyBytes), noStore, lastQueryValues)
	public := routes{RouterGroup: api}
	public.handle(http.MethodPost, "/auth/register", a.register, a.hashing)
	public.handle(http.MethodPost, "/auth/login", a.login, a.hashing)
	public.handle(http.MethodPost, "/auth/token/refresh", a.refresh)

	logouts := routes{RouterGroup: api.Group("", a.untilDone, a.authenticate), needsToken: &a.needsToken}
	logouts.handle(http.MethodPost, "/auth/logout", a.logout)
	logouts.handle(http.MethodPost, "/auth/logout/all", a.logoutAll, bodyIgnored)
	authed := routes{RouterGroup: api.Group("", a.authenticate), needsToken: &a.needsToken}
	authed.handle(http.MethodGet, "/auth/me", a.me)
	a.registerPatients(authed)
	a.registerDoctors(authed)
	a.registerMappings(authed)
	a.registerDocs(public)
}

// routes registers each route with and without its trailing slash, and a
// GET route for HEAD too; with needsToken, it records the paths as needing
// a token whatever the method (MethodNotAllowed).
type routes struct {
	*gin.RouterGroup
	needsToken *pathPatterns
}

func (r routes) handle(method, path string, h handlerFunc, pre ...gin.HandlerFunc) {
	chain := append(pre, handle(h))
	r.Match(WithHead(method), path, chain...)
	r.Match(WithHead(method), path+"/", chain...)
	if r.needsToken != nil {
		r.needsToken.add(r.BasePath() + path)
	}
}

// pathPatterns are gin route patterns ("/api/patients/:id"), matched with
// or without a trailing slash.
type pathPatterns [][]string

func (p *pathPatterns) add(pattern string) {
	*p = append(*p, strings.Split(strings.Trim(pattern, "/"), "/"))
}

// find returns the first pattern path matches (nil for none) and the
// path's segments.
func (p pathPatterns) find(path string) (pattern, segments []string) {
	segments = strings.Split(strings.Trim(path, "/"), "/")
next:
	for _, pattern := range p {
		if len(pattern) != len(segments) {
			continue
		}
		for i, s := range pattern {
			if s != segments[i] && !(strings.HasPrefix(s, ":") && segments[i] != "") {
				continue next
			}
		}
		return pattern, segments
	}
	return nil, segments
}

// namesObject reports whether every parameter of pattern (":id") is, in
// segments (the path's, which matched it), an id pathID accepts: a path
// whose id is not one names no object, whatever the method.
func namesObject(pattern, segments []string) bool {
	for i, s := range pattern {
		if _, ok := parseID(segments[i]); strings.HasPrefix(s, ":") && !ok {
			return false
		}
	}
	return true
}

// WithHead is method, and HEAD if method is GET: as Django (and so DRF)
// answer HEAD with the GET view, net/http leaving out the body. Monitors
// and `curl -I` use it.
func WithHead(method string) []string {
	if method == http.MethodGet {
		return []string{http.MethodGet, http.MethodHead}
	}
	return []string{method}
}

// deadline bounds the request's context, so database calls give up (and
// answer 503) instead of hanging.
func (a *API) deadline(c *gin.Context) {
	defer a.withDeadline(c)()
	c.Next()
}

// withDeadline bounds the request's context by RequestTimeout; call the
// function it returns when the request is done.
func (a *API) withDeadline(c *gin.Context) (cancel func()) {
	if a.opts.RequestTimeout <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.opts.RequestTimeout)
	c.Request = c.Request.WithContext(ctx)
	return cancel
}

// untilDone lets a logout finish, its token's check included, even if its
// client hangs up (models.Finishing): net/http reads ahead on a request
// without a body, so an app that sends logout-all and closes at once had
// its request cancelled before the token was checked, and stayed logged in.
// The request's deadline still bounds it. Its error is answered here, while
// its context is live: errorMiddleware, outside, would see it cancelled by
// the cancel below and take that for a hang-up (no cause logged for a 503).
func (a *API) untilDone(c *gin.Context) {
	ctx, cancel := models.Finishing(c.Request.Context())
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	a.answerError(c)
}

// hashing counts a login or a sign-up, for its whole length, as one of the
// password Hasher's own requests (models.Hasher.Hashing), so a login flood
// alone does not hold its own last hashing slot back.
func (a *API) hashing(c *gin.Context) {
	ctx, done := a.store.Hasher().Hashing(c.Request.Context())
	defer done()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// actor records where the request comes from for the audit trail;
// authenticate adds who.
func actor(c *gin.Context) {
	ctx := models.WithActor(c.Request.Context(), models.Actor{
		IP: c.ClientIP(), UserAgent: c.Request.UserAgent(), Source: "api",
	})
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// noStore keeps API answers, which carry patient data and tokens, out of
// every cache.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// lastQueryValues keeps the last value of a repeated query parameter
// (?page=1&page=2 is page 2), as Django's QueryDict gives DRF and
// django-filter; gin's Query would give the first. Links built from the
// request then carry the value that was used. It must run before anything
// reads the query (gin caches it on first use). The admin panel keeps
// gin's first value: its own links never repeat a parameter.
//
// A query too large to read whole is a 400 (models.CheckQuerySize).
func lastQueryValues(c *gin.Context) {
	if err := models.CheckQuerySize(c.Request.URL.RawQuery); err != nil {
		_ = c.Error(&httpError{status: http.StatusBadRequest, detail: models.ErrorMessage(err)})
		c.Abort()
		return
	}
	if mayRepeatKey(c.Request.URL.RawQuery) {
		q := c.Request.URL.Query()
		repeated := false
		for k, vs := range q {
			if len(vs) > 1 {
				q[k], repeated = vs[len(vs)-1:], true
			}
		}
		if repeated {
			c.Request.URL.RawQuery = q.Encode()
		}
	}
	c.Next()
}

// mayRepeatKey reports whether a raw query may name a key twice, without
// parsing it (every list request has a query; few repeat a key): keys are
// compared as written, and any escaped key sends the query to the parser.
// So does a query of more than scannedKeys pairs: comparing each key with
// every earlier one is quadratic, and this runs before authentication (a
// 60 KB query of 16,000 keys took 0.2 s of CPU); the parser's map is not.
func mayRepeatKey(raw string) bool {
	const scannedKeys = 16
	seen := make([]string, 0, 8)
	for raw != "" {
		if len(seen) == scannedKeys {
			return true
		}
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, _, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(key, "%+") {
			return true
		}
		for _, k := range seen {
			if k == key {
				return true
			}
		}
		seen = append(seen, key)
	}
	return false
}

// healthz handles GET /healthz: the process is up.
func (a *API) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz handles GET /readyz: the database answers.
func (a *API) readyz(c *gin.Context) {
	if a.opts.NotReady != nil && a.opts.NotReady() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
