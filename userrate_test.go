package main

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"healthcare/config"
	"healthcare/handlers"
)

// Each signed-in user has a budget of API requests per minute: over it,
// 429 with Retry-After and DRF's body; other users are unaffected; the
// budget comes back when the window passes.
func TestSecPerUserAPILimit(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *handlers.Options) { o.UserRate = handlers.Limit{Events: 5, Window: time.Minute} })
	busy, calm := app.mustUser(t, false), app.mustUser(t, false)
	for range 5 {
		app.do(request{method: "GET", path: "/api/patients/", token: busy.Access}).want(t, http.StatusOK)
	}
	r := app.do(request{method: "GET", path: "/api/auth/me/", token: busy.Access}).want(t, http.StatusTooManyRequests)
	if ra, err := strconv.Atoi(r.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds", r.Header().Get("Retry-After"))
	}
	if d, _ := r.json(t)["detail"].(string); d == "" || d[:26] != "Request was throttled. Exp" {
		t.Errorf("429 body = %s", r.Body)
	}
	app.do(request{method: "GET", path: "/api/patients/", token: calm.Access}).want(t, http.StatusOK)
	// A new login does not reset the user's budget.
	app.login(t, busy)
	app.do(request{method: "GET", path: "/api/patients/", token: busy.Access}).want(t, http.StatusTooManyRequests)

	app.clock.Advance(61 * time.Second)
	app.do(request{method: "GET", path: "/api/patients/", token: busy.Access}).want(t, http.StatusOK)
}

// The budget is API_RATE_LIMIT per minute; 0 turns it off.
func TestSecPerUserAPILimitFromConfig(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.APIRateLimit = config.DefaultAPIRateLimit
	if got := apiOptions(cfg).UserRate; got != (handlers.Limit{Events: config.DefaultAPIRateLimit, Window: time.Minute}) {
		t.Errorf("UserRate = %+v, want %d a minute", got, config.DefaultAPIRateLimit)
	}
	cfg.APIRateLimit = 0
	if got := apiOptions(cfg).UserRate; got.Events != 0 {
		t.Errorf("API_RATE_LIMIT=0: UserRate = %+v, want off", got)
	}
}
