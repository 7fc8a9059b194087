package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"healthcare/models"
)

// Limit is a number of events allowed per window.
type Limit = models.Limit

// errThrottled is DRF's 429.
func errThrottled(wait time.Duration) *httpError {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return &httpError{status: http.StatusTooManyRequests, retryAfter: secs,
		detail: fmt.Sprintf("Request was throttled. Expected available in %d %s.", secs, unit)}
}

// throttled reports a rejection by the named limiter (for metrics) and
// returns DRF's 429.
func (a *API) throttled(limiter string, wait time.Duration) error {
	a.opts.OnThrottle(limiter)
	return errThrottled(wait)
}

// loginRefused answers a login the guard refused: 429 for a limit, the
// error itself otherwise.
func (a *API) loginRefused(err error) error {
	var th *models.Throttled
	if errors.As(err, &th) {
		return a.throttled(th.Limiter, th.Wait)
	}
	return err
}
