package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/admin"
	"healthcare/config"
	"healthcare/handlers"
	"healthcare/metrics"
	"healthcare/models"
	"healthcare/static"
)

// routerDeps is everything newRouter wires together.
type routerDeps struct {
	cfg   config.Config
	store *models.Store
	log   *slog.Logger
	// api overrides the API options derived from cfg (tests shorten limits).
	api *handlers.Options
	// metrics, when not nil (METRICS on), counts every request and serves
	// /metrics here unless cfg.MetricsAddr gives it a listener of its own.
	metrics *metrics.Metrics
	// admin overrides the admin panel's options derived from cfg.
	admin *admin.Options
	// notReady reports a shutdown under way (readiness 503), or is nil.
	notReady func() bool
}

// apiOptions derives the API's options from the configuration.
func apiOptions(cfg config.Config) handlers.Options {
	opts := handlers.DefaultOptions()
	opts.JWTSecret = cfg.SecretKey
	opts.AccessTokenTTL = cfg.AccessTokenTTL
	opts.RefreshTokenTTL = cfg.RefreshTokenTTL
	opts.MaxBodyBytes = cfg.MaxBodyBytes
	opts.RequestTimeout = cfg.RequestTimeout
	opts.UserRate = handlers.Limit{Events: cfg.APIRateLimit, Window: time.Minute}
	opts.LoginPerIP = handlers.Limit{Events: cfg.LoginRatePerIP, Window: time.Minute}
	opts.RegisterPerIP = handlers.Limit{Events: cfg.RegisterRatePerIP, Window: time.Minute}
	opts.RefreshPerIP = handlers.Limit{Events: cfg.RefreshRatePerIP, Window: time.Minute}
	// The lock's window (15 minutes) is the contract's; only the count is
	// configurable.
	opts.LoginFailures.Events = cfg.LoginFailuresPerEmail
	return opts
}

// adminOptions derives the admin panel's options from the configuration.
func adminOptions(cfg config.Config) admin.Options {
	opts := admin.DefaultOptions()
	opts.SecureCookies = cfg.SecureCookies
	opts.SessionIdleTimeout = cfg.SessionIdleTimeout
	opts.SessionAbsoluteTimeout = cfg.SessionAbsoluteTimeout
	opts.RequestTimeout = cfg.RequestTimeout
	opts.MaxBodyBytes = cfg.MaxBodyBytes
	opts.Assets = static.FS
	return opts
}

// newRouter builds the production router; tests build exactly this one.
func newRouter(d routerDeps) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// Every path answers with and without its trailing slash (both are
	// registered), so no redirects; a wrong method is 405, not 404.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	// gin trusts every proxy's X-Forwarded-For unless told otherwise: only
	// the configured ones are believed (none by default).
	if err := r.SetTrustedProxies(d.cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	// And only their X-Forwarded-For: gin would also believe X-Real-IP,
	// which a proxy that does not set it passes through from the client.
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	r.Use(requestID, literalQuery, accessLog(d.log))
	if d.metrics != nil {
		// Outside allowedHosts and cors, so that the requests they answer
		// (a forged Host's 400, a preflight's 204) are counted, as the
		// access log has them; outside Recovery, so a panic's 500 is too.
		r.Use(d.metrics.Middleware)
	}
	r.Use(securityHeaders(d.cfg.SecureCookies), allowedHosts(d.cfg.AllowedHosts), cors(d.cfg.CORSAllowedOrigins),
		publicScheme(d.cfg.TrustedProxies, d.cfg.SecureCookies))
	// Password hashes leave the last core to other requests while there
	// are any (models.Hasher.ShareCPUWith).
	var inFlight atomic.Int64
	r.Use(func(c *gin.Context) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		c.Next()
	})
	d.store.Hasher().ShareCPUWith(inFlight.Load)

	opts := apiOptions(d.cfg)
	if d.api != nil {
		opts = *d.api
	}
	if d.metrics != nil {
		opts.OnLogin, opts.OnThrottle = d.metrics.Login, d.metrics.Throttled
	}
	opts.NotReady = d.notReady
	// Admin panel: ONE per-email and ONE per-address login limiter shared
	// with the API, so attempts in either count against the same limits.
	if opts.LoginThrottle == nil {
		opts.LoginThrottle = models.NewLimiter(opts.LoginFailures, opts.Now)
	}
	if opts.LoginIPThrottle == nil {
		opts.LoginIPThrottle = models.NewLimiter(opts.LoginPerIP, opts.Now)
	}
	api := handlers.New(d.store, opts, d.log)
	// A panic anywhere (service endpoints, 404s, the admin panel) is the
	// contract's 500, logged with the request id; without this net/http
	// would drop the connection.
	r.Use(api.Recovery)
	if d.metrics != nil && d.cfg.MetricsAddr == "" {
		h := gin.WrapH(d.metrics.Handler())
		r.Match(handlers.WithHead(http.MethodGet), "/metrics", h)
		r.Match(handlers.WithHead(http.MethodGet), "/metrics/", h)
	}
	api.Register(&r.RouterGroup)

	aopts := adminOptions(d.cfg)
	if d.admin != nil {
		aopts = *d.admin
	}
	aopts.LoginThrottle, aopts.LoginIPThrottle = opts.LoginThrottle, opts.LoginIPThrottle
	if d.metrics != nil {
		aopts.OnLogin, aopts.OnThrottle = d.metrics.Login, d.metrics.Throttled
	}
	if aopts.Now == nil {
		aopts.Now = opts.Now
	}
	panel, err := admin.New(d.store, aopts, d.log)
	if err != nil {
		return nil, err
	}
	panel.Register(r.Group("/admin"))

	// Unknown paths and wrong methods under /admin/ get the panel's HTML
	// pages (people with browsers ask there), everything else the API's
	// JSON answers.
	r.NoRoute(func(c *gin.Context) {
		if isAdminPath(c.Request.URL.Path) {
			panel.NotFound(c)
			return
		}
		api.NotFound(c)
	})
	r.NoMethod(func(c *gin.Context) {
		if isAdminPath(c.Request.URL.Path) {
			panel.MethodNotAllowed(c)
			return
		}
		api.MethodNotAllowed(c)
	})
	return r, nil
}

// isAdminPath reports whether path is the admin panel's.
func isAdminPath(path string) bool {
	return path == "/admin" || strings.HasPrefix(path, "/admin/")
}

// requestID accepts a client's X-Request-ID (if sane) or makes one, and
// returns it on the response, where logs pick it up.
func requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !validRequestID(id) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Header("X-Request-ID", id)
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}
