package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestRouteLabels(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	got := map[string]string{}
	r.Use(func(c *gin.Context) {
		c.Next()
		got[c.Request.URL.Path] = Route(c)
	})
	ok := func(c *gin.Context) { c.Status(http.StatusOK) }
	r.GET("/", ok)
	r.GET("/api/patients/:id", ok)
	r.GET("/api/patients/:id/", ok)
	r.GET("/metrics/", ok)
	for path, want := range map[string]string{
		"/":                 "/",
		"/api/patients/7":   "/api/patients/:id",
		"/api/patients/7/":  "/api/patients/:id",
		"/metrics/":         "/metrics",
		"/api/nope/1234567": Unmatched,
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		if got[path] != want {
			t.Errorf("Route for %s = %q, want %q", path, got[path], want)
		}
	}
}

func TestMethodAndStatusLabels(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "OPTIONS": "OPTIONS", "BREW": "other", "get": "other", "": "other"} {
		if got := Method(in); got != want {
			t.Errorf("Method(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int]string{200: "200", 204: "204", 304: "304", 404: "404", 503: "503", 0: "other", 999: "other"} {
		if got := Status(in); got != want {
			t.Errorf("Status(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestHandlerServesCountersOfThisRegistryOnly(t *testing.T) {
	t.Parallel()
	a, b := New(nil), New(nil)
	a.Login(true)
	a.Login(false)
	a.Login(false)
	a.Throttled("login_ip")
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`healthcare_logins_total{result="success"} 1`,
		`healthcare_logins_total{result="failure"} 2`,
		`healthcare_rate_limited_total{limiter="login_ip"} 1`,
		"http_requests_in_flight 0",
		"process_",
		"go_goroutines",
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("a's metrics lack %s", want)
		}
	}
	w = httptest.NewRecorder()
	b.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if strings.Contains(w.Body.String(), `healthcare_logins_total{result="success"} 1`) || strings.Contains(w.Body.String(), "login_ip") {
		t.Errorf("b's metrics show a's counts: registries are shared")
	}
	if strings.Contains(w.Body.String(), "go_sql_") {
		t.Errorf("pool statistics without a database")
	}
}

func TestTokenCacheLiveGauge(t *testing.T) {
	t.Parallel()
	m := New(nil)
	var live atomic.Bool
	m.TokenCacheLive(live.Load)
	value := func() string {
		w := httptest.NewRecorder()
		m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		for _, line := range strings.Split(w.Body.String(), "\n") {
			if strings.HasPrefix(line, "healthcare_token_cache_live ") {
				return strings.TrimPrefix(line, "healthcare_token_cache_live ")
			}
		}
		t.Fatalf("no healthcare_token_cache_live in:\n%s", w.Body.String())
		return ""
	}
	if v := value(); v != "0" {
		t.Errorf("not live: %s, want 0", v)
	}
	live.Store(true)
	if v := value(); v != "1" {
		t.Errorf("live: %s, want 1", v)
	}
}

// A response a handler cut short (panic(http.ErrAbortHandler), as a failed
// CSV export does) is counted, as aborted; it was not counted at all.
func TestAbortedResponseIsCounted(t *testing.T) {
	t.Parallel()
	m := New(nil)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(m.Middleware)
	r.GET("/export", func(c *gin.Context) {
		c.String(http.StatusOK, "partial")
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	if resp, err := srv.Client().Get(srv.URL + "/export"); err == nil {
		resp.Body.Close()
	}
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := `http_requests_total{method="GET",route="/export",status="aborted"} 1`
	if !strings.Contains(w.Body.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
	if !strings.Contains(w.Body.String(), "http_requests_in_flight 0") {
		t.Error("the aborted request is still in flight")
	}
}
