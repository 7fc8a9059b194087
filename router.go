package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/gin-gonic/gin"

	"healthcare/config"
	"healthcare/handlers"
	"healthcare/models"
)

// routerDeps is everything newRouter wires together.
type routerDeps struct {
	cfg   config.Config
	store *models.Store
	log   *slog.Logger
	// api overrides the API options derived from cfg (tests shorten limits).
	api *handlers.Options
}

// apiOptions derives the API's options from the configuration.
func apiOptions(cfg config.Config) handlers.Options {
	opts := handlers.DefaultOptions()
	opts.JWTSecret = cfg.SecretKey
	opts.AccessTokenTTL = cfg.AccessTokenTTL
	opts.RefreshTokenTTL = cfg.RefreshTokenTTL
	opts.MaxBodyBytes = cfg.MaxBodyBytes
	opts.RequestTimeout = cfg.RequestTimeout
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
	r.Use(requestID)

	opts := apiOptions(d.cfg)
	if d.api != nil {
		opts = *d.api
	}
	api := handlers.New(d.store, opts, d.log)
	api.Register(&r.RouterGroup)
	r.NoRoute(api.NotFound)
	r.NoMethod(api.MethodNotAllowed)
	return r, nil
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
