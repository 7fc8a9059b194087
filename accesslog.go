package main

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/metrics"
	"healthcare/models"
)

// accessLog writes one line per request once it is answered: method, route
// template, status, duration, request id, client address and, when the
// request authenticated, the user id. Never the path's ids, the query,
// headers or bodies, where tokens, passwords and patient data travel. 5xx
// answers log at error level, a probe's or a scrape's success at debug
// (quietProbes), everything else at info. A response a handler cut short
// (panic(http.ErrAbortHandler): a CSV export that failed after its first
// rows) logs at error level with aborted=true; a request whose client went
// away before its answer at info with client_closed=true, whatever status
// was written to no one.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		client := c.Request.Context() // as the server gave it, before any deadline
		aborted := true
		defer func() {
			if aborted { // panicking: logged, and the panic goes on
				logRequest(log, c, start, true, models.ClientGone(client))
			}
		}()
		c.Next()
		aborted = false
		logRequest(log, c, start, false, models.ClientGone(client))
	}
}

// logRequest writes the access log line of c, started at start.
func logRequest(log *slog.Logger, c *gin.Context, start time.Time, aborted, clientGone bool) {
	status := c.Writer.Status()
	route := metrics.Route(c)
	level := slog.LevelInfo
	switch {
	case clientGone: // whatever was written reached nobody: no failure of ours
	case status >= 500 || aborted:
		level = slog.LevelError
	case quietProbes[route]: // a failing probe is a 5xx, above
		level = slog.LevelDebug
	}
	ctx := c.Request.Context()
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("method", metrics.Method(c.Request.Method)),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.String("request_id", c.Writer.Header().Get("X-Request-ID")),
		slog.String("client_ip", c.ClientIP()),
	)
	// The authenticated user, as the API's token check or the admin's
	// session check put it on the request (the handlers' c.Request is
	// this one's after c.Next).
	if id := models.ActorFrom(c.Request.Context()).UserID; id != 0 {
		attrs = append(attrs, slog.Int64("user_id", id))
	}
	if aborted {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	if clientGone {
		attrs = append(attrs, slog.Bool("client_closed", true))
	}
	log.LogAttrs(ctx, level, "request", attrs...)
}

// quietProbes are the routes that load balancers, orchestrators and
// Prometheus ask every few seconds: their successes would be most of the
// log (two probes every 10 s are 17,000 lines a day per instance) and say
// nothing, so they log at debug; a failing probe (a 503) logs as any 5xx.
var quietProbes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}
