// Package metrics collects the server's Prometheus metrics on a registry of
// its own (never the global default one): HTTP requests by route template,
// requests in flight, the database pool, logins and rate-limit rejections.
// main builds one Metrics, wires its middleware into the router and its
// hooks into the API, and serves Handler at /metrics.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"healthcare/models"
)

// Unmatched is the route label of a request no route matched (404s, and
// gin's 405s), so arbitrary paths never become label values.
const Unmatched = "unmatched"

// Metrics are the collectors of one server.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	logins    *prometheus.CounterVec
	throttled *prometheus.CounterVec
}

// New registers the server's metrics on a fresh registry, with the Go
// runtime's and the process's, and db's pool statistics (as
// go_sql_*{db_name="healthcare"}) when db is not nil.
func New(db *sql.DB) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route template and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthcare_logins_total",
			Help: "Logins with an email and password (API and admin panel), by result (success, or failure for bad credentials).",
		}, []string{"result"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthcare_rate_limited_total",
			Help: "Requests rejected with 429, by limiter.",
		}, []string{"limiter"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.logins, m.throttled,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, "healthcare"))
	}
	// Both results exist from the start, so a rate over them is defined
	// before the first failure.
	m.logins.WithLabelValues("success")
	m.logins.WithLabelValues("failure")
	return m
}

// TokenCacheLive exports healthcare_token_cache_live: 1 while live()
// reports that verified access tokens may be answered from memory (the
// cache is on and its revocation listener connected and in sync), else 0.
// A cache that stays at 0 on PostgreSQL means every request asks the
// database again: look for the listener's warnings in the log.
func (m *Metrics) TokenCacheLive(live func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "healthcare_token_cache_live",
		Help: "1 while verified access tokens may be answered from memory (cache on, revocation listener in sync), else 0.",
	}, func() float64 {
		if live() {
			return 1
		}
		return 0
	}))
}

// Registry is the registry the metrics are on (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector (the database pool, say) leaves its metrics
		// out rather than failing the whole scrape.
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg, // promhttp_metric_handler_errors_total
		EnableOpenMetrics: true,
	})
}

// Middleware counts and times every request by its route template. A
// response a handler cut short (panic(http.ErrAbortHandler)) is counted
// with the status Aborted.
func (m *Metrics) Middleware(c *gin.Context) {
	start := time.Now()
	m.inFlight.Inc()
	defer m.inFlight.Dec()
	client := c.Request.Context() // as the server gave it, before any deadline
	aborted := true
	defer func() {
		status := Status(c.Writer.Status())
		switch {
		case models.ClientGone(client): // a download cancelled part-way too
			status = ClientClosed
		case aborted: // panicking: counted, and the panic goes on
			status = Aborted
		}
		method, route := Method(c.Request.Method), Route(c)
		m.requests.WithLabelValues(method, route, status).Inc()
		m.duration.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
	}()
	c.Next()
	aborted = false
}

// Aborted is the status label of a response cut short after it began.
const Aborted = "aborted"

// ClientClosed is the status label of a request whose client went away
// before its answer (nginx's 499): the status the handler wrote then (a
// 503 for a query cancelled with the request) reached nobody, and is no
// failure of the server's.
const ClientClosed = "client_closed"

// Login counts a login by email and password.
func (m *Metrics) Login(success bool) {
	result := "failure"
	if success {
		result = "success"
	}
	m.logins.WithLabelValues(result).Inc()
}

// Throttled counts a request the named limiter rejected.
func (m *Metrics) Throttled(limiter string) {
	m.throttled.WithLabelValues(limiter).Inc()
}

// Route is the label of the request's route: gin's template (with :id,
// never an id), one label for a path served with and without its trailing
// slash, and Unmatched when no route matched.
func Route(c *gin.Context) string {
	route := c.FullPath()
	if route == "" {
		return Unmatched
	}
	if len(route) > 1 {
		route = strings.TrimSuffix(route, "/")
	}
	return route
}

// Method is the label of a request method: the standard ones as they are,
// anything else "other", so clients cannot invent label values.
func Method(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// Status is the label of a response status: the code ("200", "404"), as
// the contract's "by route and status" asks; the server answers with a
// few codes only, so the series stay few. Anything outside 100-599 is
// "other".
func Status(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status)
}
