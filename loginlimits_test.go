package main

import (
	"net/http"
	"testing"
	"time"

	"healthcare/config"
	"healthcare/handlers"
)

// The login limits are LOGIN_RATE_PER_IP, REGISTER_RATE_PER_IP,
// REFRESH_RATE_PER_IP (a minute each) and LOGIN_FAILURES_PER_EMAIL (in the
// contract's 15 minutes); their defaults are the API's own.
func TestLoginLimitsFromConfig(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) config.Config {
		t.Helper()
		env["DEBUG"] = "true"
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("config.Load(%v): %v", env, err)
		}
		return cfg
	}
	def := handlers.DefaultOptions()
	got := apiOptions(load(map[string]string{}))
	for name, pair := range map[string][2]handlers.Limit{
		"LoginPerIP":    {got.LoginPerIP, def.LoginPerIP},
		"RegisterPerIP": {got.RegisterPerIP, def.RegisterPerIP},
		"RefreshPerIP":  {got.RefreshPerIP, def.RefreshPerIP},
		"LoginFailures": {got.LoginFailures, def.LoginFailures},
	} {
		if pair[0] != pair[1] {
			t.Errorf("defaults: %s = %+v, want handlers.DefaultOptions' %+v", name, pair[0], pair[1])
		}
	}

	got = apiOptions(load(map[string]string{
		"LOGIN_RATE_PER_IP": "3", "REGISTER_RATE_PER_IP": "2", "REFRESH_RATE_PER_IP": "0", "LOGIN_FAILURES_PER_EMAIL": "4",
	}))
	for name, pair := range map[string][2]handlers.Limit{
		"LoginPerIP":    {got.LoginPerIP, {Events: 3, Window: time.Minute}},
		"RegisterPerIP": {got.RegisterPerIP, {Events: 2, Window: time.Minute}},
		"RefreshPerIP":  {got.RefreshPerIP, {Events: 0, Window: time.Minute}},
		"LoginFailures": {got.LoginFailures, {Events: 4, Window: 15 * time.Minute}},
	} {
		if pair[0] != pair[1] {
			t.Errorf("configured: %s = %+v, want %+v", name, pair[0], pair[1])
		}
	}
}

// The configured limits reach the router: each endpoint answers 429 once
// its configured budget is spent.
func TestLoginLimitsConfigured(t *testing.T) {
	t.Parallel()
	base := newTestApp(t)
	u := base.mustUser(t, false)
	app := authRouter(t, base, func(c *config.Config) {
		c.LoginRatePerIP, c.RegisterRatePerIP, c.RefreshRatePerIP = 2, 1, 1
	})
	app.clock.Advance(0)
	authLogin(app, "nobody@example.com", "wrong-Guess-1").want(t, http.StatusUnauthorized)
	authLogin(app, u.Email, u.Password).want(t, http.StatusOK)
	authWant429(t, authLogin(app, u.Email, u.Password), 60)

	reg := request{method: "POST", path: "/api/auth/register/", body: map[string]string{"name": "Lim", "email": "lim@example.com", "password": authStrongPassword}}
	app.do(reg).want(t, http.StatusCreated)
	authWant429(t, app.do(reg), 60)

	refresh := request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]string{"refresh": "x"}}
	app.do(refresh).want(t, http.StatusUnauthorized)
	authWant429(t, app.do(refresh), 60)

	// LOGIN_FAILURES_PER_EMAIL=2: the third attempt is locked out, the
	// right password too, for the contract's 15 minutes.
	locked := authRouter(t, base, func(c *config.Config) { c.LoginRatePerIP, c.LoginFailuresPerEmail = 0, 2 })
	for range 2 {
		authLogin(locked, u.Email, "wrong-Guess-1").want(t, http.StatusUnauthorized)
	}
	authWant429(t, authLogin(locked, u.Email, u.Password), 900)

	// 0 turns a limit off.
	open := authRouter(t, base, func(c *config.Config) { c.LoginRatePerIP, c.LoginFailuresPerEmail = 0, 0 })
	for range 12 {
		authLogin(open, u.Email, "wrong-Guess-1").want(t, http.StatusUnauthorized)
	}
	authLogin(open, u.Email, u.Password).want(t, http.StatusOK)
}

// The token lifetimes, the body limit and the request deadline the
// configuration sets are the ones the API runs with (the contract's
// "configurable").
func TestAPIOptionsFromConfig(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DEBUG": "true", "ACCESS_TOKEN_LIFETIME": "2m", "REFRESH_TOKEN_LIFETIME": "1h",
			"MAX_BODY_BYTES": "2048", "REQUEST_TIMEOUT": "7s"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	got := apiOptions(cfg)
	if got.AccessTokenTTL != 2*time.Minute || got.RefreshTokenTTL != time.Hour || got.MaxBodyBytes != 2048 || got.RequestTimeout != 7*time.Second {
		t.Errorf("apiOptions = access %v, refresh %v, body %d, timeout %v; want 2m, 1h, 2048, 7s",
			got.AccessTokenTTL, got.RefreshTokenTTL, got.MaxBodyBytes, got.RequestTimeout)
	}
	a := adminOptions(cfg)
	if a.MaxBodyBytes != 2048 || a.RequestTimeout != 7*time.Second {
		t.Errorf("adminOptions = body %d, timeout %v; want 2048, 7s", a.MaxBodyBytes, a.RequestTimeout)
	}
}
