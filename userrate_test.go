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

// A revoked token is refused before it is counted: whoever kept a copy of
// it after its user logged out cannot spend their budget and lock them out
// of the API until the copy expires.
func TestSecRevokedTokenSpendsNoBudget(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *handlers.Options) { o.UserRate = handlers.Limit{Events: 5, Window: time.Minute} })
	u := app.mustUser(t, false)
	stolen := u.Access
	app.do(request{method: "POST", path: "/api/auth/logout/", token: u.Access, body: map[string]string{"refresh": u.Refresh}}).
		want(t, http.StatusNoContent)
	for range 10 {
		app.do(request{method: "GET", path: "/api/patients/", token: stolen}).want(t, http.StatusUnauthorized)
	}
	app.login(t, u)
	for range 4 { // the logout above was one of the five
		app.do(request{method: "GET", path: "/api/patients/", token: u.Access}).want(t, http.StatusOK)
	}
	app.do(request{method: "GET", path: "/api/patients/", token: u.Access}).want(t, http.StatusTooManyRequests)
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
