package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/config"
	"healthcare/handlers"
	"healthcare/models"
	"healthcare/models/modelstest"
)

// testSecret signs the test app's tokens.
var testSecret = []byte("test-secret-key-of-at-least-32-bytes!!")

// testApp is the production router over a fresh database.
type testApp struct {
	t      *testing.T
	router *gin.Engine
	store  *models.Store
	logs   *syncBuffer
	clock  *testClock
}

// testClock is a settable clock for token expiry and rate-limit windows.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

// Advance moves the clock d past now (and freezes it).
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = time.Now()
	}
	c.t = c.t.Add(d)
}

// syncBuffer collects logs from concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig is the configuration tests run with.
func testConfig() config.Config {
	return config.Config{
		SecretKey:       testSecret,
		Addr:            "127.0.0.1:0",
		AccessTokenTTL:  5 * time.Minute,
		RefreshTokenTTL: 24 * time.Hour,
		MaxBodyBytes:    1 << 20,
		RequestTimeout:  10 * time.Second,
		LogLevel:        slog.LevelInfo,
		// The login limits config.Load defaults to (the contract's).
		LoginRatePerIP:        config.DefaultLoginRatePerIP,
		RegisterRatePerIP:     config.DefaultRegisterRatePerIP,
		RefreshRatePerIP:      config.DefaultRefreshRatePerIP,
		LoginFailuresPerEmail: config.DefaultLoginFailuresPerEmail,
	}
}

// newTestApp builds the production router over a fresh database; edit
// adjusts the API options (limits, clock) first.
func newTestApp(t *testing.T, edit ...func(*handlers.Options)) *testApp {
	t.Helper()
	app := &testApp{t: t, store: modelstest.Store(t), logs: &syncBuffer{}, clock: &testClock{}}
	cfg := testConfig()
	opts := apiOptions(cfg)
	opts.Now = app.clock.Now
	for _, e := range edit {
		e(&opts)
	}
	router, err := newRouter(routerDeps{
		cfg: cfg, store: app.store, api: &opts,
		log: slog.New(slog.NewTextHandler(app.logs, nil)),
	})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	app.router = router
	return app
}

// request is one HTTP request of a test.
type request struct {
	method, path, token string
	body                any // string/[]byte sent as is, anything else as JSON
	header              map[string]string
	ctx                 context.Context // nil: the background; cancelled: the client hung up
}

// response is a recorded response with helpers to read it.
type response struct {
	*httptest.ResponseRecorder
	req request
}

// do sends req through the router. A body is sent with Content-Type
// application/json unless req.header sets another.
func (app *testApp) do(req request) *response {
	app.t.Helper()
	var body io.Reader
	switch b := req.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			app.t.Fatalf("marshal body: %v", err)
		}
		body = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(req.method, req.path, body)
	if req.ctx != nil {
		r = r.WithContext(req.ctx)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	app.router.ServeHTTP(w, r)
	return &response{ResponseRecorder: w, req: req}
}

// want fails the test unless the status is status.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.Code != status {
		t.Fatalf("%s %s: status = %d, want %d; body: %s", r.req.method, r.req.path, r.Code, status, r.Body.String())
	}
	return r
}

// json decodes the body into a map.
func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v; body: %s", r.req.method, r.req.path, err, r.Body.String())
	}
	return m
}

// decode decodes the body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body.Bytes(), v); err != nil {
		t.Fatalf("%s %s: decode body: %v; body: %s", r.req.method, r.req.path, err, r.Body.String())
	}
}

// testUser is a registered user with live tokens.
type testUser struct {
	ID                    int64
	Email, Password, Name string
	Access, Refresh       string
}

const testPassword = "correct-Horse-battery-9"

var userSeq struct {
	sync.Mutex
	n int
}

// mustUser registers a fresh user (staff if asked) through the store and
// logs in through the API.
func (app *testApp) mustUser(t *testing.T, staff bool) *testUser {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	email := "user" + strconv.Itoa(n) + "@example.com"
	u, err := app.store.CreateUser(context.Background(), models.NewUser{
		Name: "User " + strconv.Itoa(n), Email: email, Password: testPassword, IsActive: true, IsStaff: staff,
	})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	tu := &testUser{ID: u.ID, Email: email, Password: testPassword, Name: u.Name}
	app.login(t, tu)
	return tu
}

// login gets fresh tokens for u through POST /api/auth/login.
func (app *testApp) login(t *testing.T, u *testUser) {
	t.Helper()
	var tokens struct{ Access, Refresh string }
	app.do(request{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": u.Email, "password": u.Password}}).
		want(t, http.StatusOK).decode(t, &tokens)
	u.Access, u.Refresh = tokens.Access, tokens.Refresh
}

// mustPatient creates a patient of u through the API and returns its JSON.
func (app *testApp) mustPatient(t *testing.T, u *testUser, fields map[string]any) map[string]any {
	t.Helper()
	if fields == nil {
		fields = map[string]any{}
	}
	if _, ok := fields["name"]; !ok {
		fields["name"] = "Patient of " + u.Name
	}
	return app.do(request{method: "POST", path: "/api/patients/", token: u.Access, body: fields}).
		want(t, http.StatusCreated).json(t)
}

// mustDoctor creates a doctor through the store (as staff would).
func (app *testApp) mustDoctor(t *testing.T, name, specialization string) *models.Doctor {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	d := &models.Doctor{Name: name, Specialization: specialization, Email: "doctor" + strconv.Itoa(n) + "@clinic.example"}
	var creator int64
	if err := app.store.DB().Model(&models.User{}).Select("COALESCE(MIN(id), 0)").Scan(&creator).Error; err != nil {
		t.Fatalf("find a creator: %v", err)
	}
	if creator == 0 {
		creator = app.mustUser(t, true).ID
	}
	if err := app.store.CreateDoctor(context.Background(), creator, d); err != nil {
		t.Fatalf("create doctor: %v", err)
	}
	return d
}

// id reads a numeric JSON field as int64.
func id(t *testing.T, m map[string]any, key string) int64 {
	t.Helper()
	f, ok := m[key].(float64)
	if !ok {
		t.Fatalf("field %q = %v (%T), want a number", key, m[key], m[key])
	}
	return int64(f)
}

// fillerQuery is n query parameters that mean nothing (x0=1&x1=1...), to
// bring a query to a size.
func fillerQuery(n int) string {
	pairs := make([]string, n)
	for i := range pairs {
		pairs[i] = "x" + strconv.Itoa(i) + "=1"
	}
	return strings.Join(pairs, "&")
}
