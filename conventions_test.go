package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// convLeaks are fragments that must never appear in an error answer: Go
// errors, SQL, file paths, stack traces. convLeaksExact are matched with
// their case (DRF's own "Select a valid choice." is fine; SQL's SELECT is
// not).
var (
	convLeaks      = []string{"/work", ".go:", "sql", "gorm", "runtime", "goroutine", "panic", "store:", "pgx", "pq:", "json: cannot", "*models", "handlers."}
	convLeaksExact = []string{"SELECT", "INSERT INTO", "UPDATE ", "DELETE FROM", "WHERE "}
)

// convCheckNoLeak fails if an error response's body shows internals.
func convCheckNoLeak(t *testing.T, r *response) {
	t.Helper()
	if r.Code < 400 {
		return
	}
	body := r.Body.String()
	lower := strings.ToLower(body)
	for _, leak := range convLeaks {
		if strings.Contains(lower, leak) {
			t.Errorf("%s %s: %d body leaks %q: %s", r.req.method, r.req.path, r.Code, leak, body)
		}
	}
	for _, leak := range convLeaksExact {
		if strings.Contains(body, leak) {
			t.Errorf("%s %s: %d body leaks %q: %s", r.req.method, r.req.path, r.Code, leak, body)
		}
	}
}

// convDo is app.do with the leak check on every error answer.
func (app *testApp) convDo(t *testing.T, req request) *response {
	t.Helper()
	r := app.do(req)
	convCheckNoLeak(t, r)
	return r
}

// convServe sends an already-built request through the router.
func (app *testApp) convServe(t *testing.T, r *http.Request) *response {
	t.Helper()
	w := httptest.NewRecorder()
	app.router.ServeHTTP(w, r)
	res := &response{ResponseRecorder: w, req: request{method: r.Method, path: r.URL.Path}}
	convCheckNoLeak(t, res)
	return res
}

// convWantBody fails unless the body is exactly the JSON want (key order
// as encoding/json writes maps: sorted).
func convWantBody(t *testing.T, r *response, want string) {
	t.Helper()
	if got := strings.TrimSpace(r.Body.String()); got != want {
		t.Errorf("%s %s: body = %s, want %s", r.req.method, r.req.path, got, want)
	}
}

// convRoute is one route of the API: its methods and path ({id} is
// replaced by a real id where one is needed).
type convRoute struct {
	path    string
	methods []string
	public  bool // no token needed
}

var convRoutes = []convRoute{
	{"/api/auth/register", []string{"POST"}, true},
	{"/api/auth/login", []string{"POST"}, true},
	{"/api/auth/token/refresh", []string{"POST"}, true},
	{"/api/auth/logout", []string{"POST"}, false},
	{"/api/auth/logout/all", []string{"POST"}, false},
	{"/api/auth/me", []string{"GET"}, false},
	{"/api/patients", []string{"GET", "POST"}, false},
	{"/api/patients/{id}", []string{"GET", "PUT", "PATCH", "DELETE"}, false},
	{"/api/doctors", []string{"GET", "POST"}, false},
	{"/api/doctors/{id}", []string{"GET", "PUT", "PATCH", "DELETE"}, false},
	{"/api/mappings", []string{"GET", "POST"}, false},
	{"/api/mappings/{id}", []string{"GET"}, false},
	{"/api/mappings/delete/{id}", []string{"DELETE"}, false},
	{"/healthz", []string{"GET"}, true},
	{"/readyz", []string{"GET"}, true},
}

// convNotRouted reports statuses that mean the router did not route the
// request to its handler.
func convNotRouted(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
		http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	}
	return false
}

func TestConvEveryRouteAnswersWithAndWithoutSlash(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	for _, rt := range convRoutes {
		path := strings.ReplaceAll(rt.path, "{id}", "1")
		for _, method := range rt.methods {
			var statuses []int
			for _, p := range []string{path, path + "/"} {
				// No token: authenticated routes answer 401 from inside the
				// route, which proves it matched.
				r := app.convDo(t, request{method: method, path: p})
				if convNotRouted(r.Code) {
					t.Errorf("%s %s: status %d (not routed); body %s", method, p, r.Code, r.Body)
				}
				if loc := r.Header().Get("Location"); loc != "" {
					t.Errorf("%s %s: Location %q, want no redirect", method, p, loc)
				}
				if !rt.public && r.Code != http.StatusUnauthorized {
					t.Errorf("%s %s without a token: status %d, want 401", method, p, r.Code)
				}
				statuses = append(statuses, r.Code)
			}
			if statuses[0] != statuses[1] {
				t.Errorf("%s %s: status %d without the slash, %d with it", method, path, statuses[0], statuses[1])
			}
		}
	}
}

func TestConvIDRoutesAnswerWithAndWithoutSlash(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	patient := id(t, app.mustPatient(t, u, nil), "id")
	doctor := app.mustDoctor(t, "Dr. Slash", "Cardiology")
	var mappings []int64
	for i := 0; i < 2; i++ {
		p := id(t, app.mustPatient(t, u, map[string]any{"name": "Mapped " + strconv.Itoa(i)}), "id")
		m := app.convDo(t, request{method: "POST", path: "/api/mappings/", token: u.Access,
			body: map[string]any{"patient_id": p, "doctor_id": doctor.ID}}).want(t, http.StatusCreated).json(t)
		mappings = append(mappings, id(t, m, "id"))
	}
	pid, did := strconv.FormatInt(patient, 10), strconv.FormatInt(doctor.ID, 10)
	tests := []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/api/auth/me", u.Access, 200},
		{"GET", "/api/patients", u.Access, 200},
		{"GET", "/api/patients/" + pid, u.Access, 200},
		{"PATCH", "/api/patients/" + pid, u.Access, 200},
		{"GET", "/api/doctors", u.Access, 200},
		{"GET", "/api/doctors/" + did, u.Access, 200},
		{"PATCH", "/api/doctors/" + did, staff.Access, 200},
		{"GET", "/api/mappings", u.Access, 200},
		{"GET", "/api/mappings/" + pid, u.Access, 200},
	}
	for _, tt := range tests {
		for _, p := range []string{tt.path, tt.path + "/"} {
			var body any
			if tt.method == "PATCH" {
				body = map[string]any{}
			}
			r := app.convDo(t, request{method: tt.method, path: p, token: tt.token, body: body})
			if r.Code != tt.want {
				t.Errorf("%s %s: status %d, want %d; body %s", tt.method, p, r.Code, tt.want, r.Body)
			}
		}
	}
	// One mapping deleted through each form.
	for i, p := range []string{"/api/mappings/delete/" + strconv.FormatInt(mappings[0], 10), "/api/mappings/delete/" + strconv.FormatInt(mappings[1], 10) + "/"} {
		r := app.convDo(t, request{method: "DELETE", path: p, token: u.Access})
		if r.Code != http.StatusNoContent {
			t.Errorf("DELETE %s (mapping %d): status %d, want 204; body %s", p, i, r.Code, r.Body)
		}
	}
}

func TestConvUnknownPathIs404(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	for _, tt := range []struct{ method, path, token string }{
		{"GET", "/api/nope/", ""},
		{"GET", "/api/nope", ""},
		{"GET", "/nope", ""},
		{"POST", "/nope", ""},
		{"GET", "/", ""},
		{"GET", "/api/", ""},
		{"GET", "/api", ""},
		{"GET", "/API/patients/", u.Access},
		{"GET", "/api/patients/1/extra/", u.Access},
		{"GET", "/api//patients/", u.Access},
		{"GET", "/api/nope/", u.Access},
		{"GET", "/healthz/extra", ""},
		// A path id that is not a positive integer is 404 too.
		{"GET", "/api/patients/abc/", u.Access},
		{"GET", "/api/patients/0/", u.Access},
		{"GET", "/api/patients/-1/", u.Access},
		{"GET", "/api/patients/1.0/", u.Access},
		{"GET", "/api/patients/99999999999999999999/", u.Access},
	} {
		r := app.convDo(t, request{method: tt.method, path: tt.path, token: tt.token})
		if r.Code != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404; body %s", tt.method, tt.path, r.Code, r.Body)
			continue
		}
		convWantBody(t, r, `{"detail":"Not found."}`)
		if loc := r.Header().Get("Location"); loc != "" {
			t.Errorf("%s %s: Location %q", tt.method, tt.path, loc)
		}
		if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q, want JSON", tt.method, tt.path, ct)
		}
	}
}

// convAllow returns the methods of an Allow header, sorted.
func convAllow(h string) []string {
	var out []string
	for _, m := range strings.Split(h, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

func TestConvWrongMethodIs405(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	tests := []struct {
		method, path string
		allow        []string
	}{
		{"DELETE", "/api/patients/", []string{"GET", "POST"}},
		{"DELETE", "/api/patients", []string{"GET", "POST"}},
		{"PUT", "/api/patients/", []string{"GET", "POST"}},
		{"GET", "/api/auth/login/", []string{"POST"}},
		{"GET", "/api/auth/login", []string{"POST"}},
		{"GET", "/api/auth/register/", []string{"POST"}},
		{"POST", "/api/auth/me/", []string{"GET"}},
		{"POST", "/api/patients/1/", []string{"DELETE", "GET", "PATCH", "PUT"}},
		{"POST", "/api/mappings/1/", []string{"GET"}},
		{"GET", "/api/mappings/delete/1/", []string{"DELETE"}},
		{"POST", "/healthz", []string{"GET"}},
		{"DELETE", "/readyz/", []string{"GET"}},
	}
	for _, tt := range tests {
		r := app.convDo(t, request{method: tt.method, path: tt.path, token: u.Access})
		if r.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want 405; body %s", tt.method, tt.path, r.Code, r.Body)
			continue
		}
		convWantBody(t, r, fmt.Sprintf(`{"detail":"Method \"%s\" not allowed."}`, tt.method))
		got := convAllow(r.Header().Get("Allow"))
		// HEAD and OPTIONS may be listed too; the route's methods must be.
		var core []string
		for _, m := range got {
			if m != "HEAD" && m != "OPTIONS" {
				core = append(core, m)
			}
		}
		if fmt.Sprint(core) != fmt.Sprint(tt.allow) {
			t.Errorf("%s %s: Allow = %q, want %v", tt.method, tt.path, r.Header().Get("Allow"), tt.allow)
		}
	}
}

// convPatientCount is the number of u's patients, through the API.
func (app *testApp) convPatientCount(t *testing.T, u *testUser) int {
	t.Helper()
	m := app.convDo(t, request{method: "GET", path: "/api/patients/", token: u.Access}).want(t, http.StatusOK).json(t)
	n, ok := m["count"].(float64)
	if !ok {
		t.Fatalf("GET /api/patients/: count = %v", m["count"])
	}
	return int(n)
}

// convPadded is a valid patient body padded with white space to size bytes.
func convPadded(t *testing.T, size int) []byte {
	t.Helper()
	b := []byte(`{"name":"Edge"}`)
	if size < len(b) {
		t.Fatalf("size %d too small", size)
	}
	return append(b, bytes.Repeat([]byte(" "), size-len(b))...)
}

func TestConvBodyTooLarge(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	const limit = 1 << 20

	// At the limit exactly: accepted.
	app.convDo(t, request{method: "POST", path: "/api/patients/", token: u.Access, body: convPadded(t, limit)}).
		want(t, http.StatusCreated)

	over := convPadded(t, limit+1)
	huge := []byte(`{"name":"Big","medical_history":"` + strings.Repeat("x", 2*limit) + `"}`)
	for _, tt := range []struct {
		name    string
		body    []byte
		chunked bool
	}{
		{"one byte over, with Content-Length", over, false},
		{"2 MiB, with Content-Length", huge, false},
		{"one byte over, chunked", over, true},
		{"2 MiB, chunked", huge, true},
	} {
		var body io.Reader = bytes.NewReader(tt.body)
		if tt.chunked {
			body = io.MultiReader(bytes.NewReader(tt.body)) // length unknown
		}
		req := httptest.NewRequest(http.MethodPost, "/api/patients/", body)
		if tt.chunked {
			req.ContentLength = -1
			req.TransferEncoding = []string{"chunked"}
		} else if req.ContentLength != int64(len(tt.body)) {
			t.Fatalf("%s: ContentLength = %d", tt.name, req.ContentLength)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+u.Access)
		r := app.convServe(t, req)
		if r.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status %d, want 413; body %.200s", tt.name, r.Code, r.Body)
			continue
		}
		convWantBody(t, r, `{"detail":"Request body too large."}`)
	}
	// Also on a public route, before any token is looked at.
	req := httptest.NewRequest(http.MethodPost, "/api/auth/register/", bytes.NewReader(huge))
	req.Header.Set("Content-Type", "application/json")
	if r := app.convServe(t, req); r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST /api/auth/register/ 2 MiB: status %d, want 413", r.Code)
	}
	if n := app.convPatientCount(t, u); n != 1 {
		t.Errorf("patients after the rejected bodies = %d, want 1 (the one at the limit)", n)
	}
}

func TestConvBodyTooLargeChunkedOverTheWire(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	srv := httptest.NewServer(app.router)
	defer srv.Close()

	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"name":"Streamed","medical_history":"`))
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for i := 0; i < 40; i++ { // 2.5 MiB
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_, _ = pw.Write([]byte(`"}`))
		_ = pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/patients/", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.Access)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("POST chunked: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST chunked 2.5 MiB: status %d, want 413; body %.200s", res.StatusCode, body)
	}
	if got := strings.TrimSpace(string(body)); got != `{"detail":"Request body too large."}` {
		t.Errorf("body = %s", got)
	}
	if n := app.convPatientCount(t, u); n != 0 {
		t.Errorf("patients = %d, want 0", n)
	}
}

func TestConvMediaTypes(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	const body = `{"name":"Media"}`
	tests := []struct {
		name, ct   string
		wantStatus int
		wantBody   string
	}{
		{"text/plain", "text/plain", 415, `{"detail":"Unsupported media type \"text/plain\" in request."}`},
		// The header as sent, as DRF quotes request.content_type.
		{"text/plain with charset", "text/plain; charset=utf-8", 415, `{"detail":"Unsupported media type \"text/plain; charset=utf-8\" in request."}`},
		{"form", "application/x-www-form-urlencoded", 415, `{"detail":"Unsupported media type \"application/x-www-form-urlencoded\" in request."}`},
		{"multipart", "multipart/form-data; boundary=x", 415, `{"detail":"Unsupported media type \"multipart/form-data; boundary=x\" in request."}`},
		{"xml", "application/xml", 415, `{"detail":"Unsupported media type \"application/xml\" in request."}`},
		{"json with charset", "application/json; charset=utf-8", 201, ""},
		{"json upper case", "Application/JSON", 201, ""},
	}
	created := 0
	for _, tt := range tests {
		r := app.convDo(t, request{method: "POST", path: "/api/patients/", token: u.Access, body: body,
			header: map[string]string{"Content-Type": tt.ct}})
		if r.Code != tt.wantStatus {
			t.Errorf("%s: status %d, want %d; body %s", tt.name, r.Code, tt.wantStatus, r.Body)
			continue
		}
		if tt.wantBody != "" {
			convWantBody(t, r, tt.wantBody)
		} else {
			created++
		}
	}
	// A body with no Content-Type at all is 415 too.
	req := httptest.NewRequest(http.MethodPost, "/api/patients/", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+u.Access)
	if r := app.convServe(t, req); r.Code != http.StatusUnsupportedMediaType {
		t.Errorf("no Content-Type: status %d, want 415; body %s", r.Code, r.Body)
	}
	if n := app.convPatientCount(t, u); n != created {
		t.Errorf("patients = %d, want %d", n, created)
	}
}

func TestConvMalformedBodies(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	deep := `{"name":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`
	deepObj := strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000)
	tests := []struct {
		name      string
		body      string
		parseErr  bool   // detail must be "JSON parse error - ..."
		detail    string // and, when set, exactly this
		maxMillis int64
	}{
		{name: "syntax error", body: `{"name": }`, parseErr: true},
		{name: "truncated", body: `{"name":"a"`, parseErr: true},
		{name: "not JSON at all", body: `name=a`, parseErr: true},
		{name: "trailing garbage", body: `{"name":"a"} x`, parseErr: true},
		{name: "two objects", body: `{"a":1}{"b":2}`, parseErr: true},
		{name: "object then array", body: `{"name":"a"}[]`, parseErr: true},
		{name: "invalid UTF-8 in a string", body: "{\"name\":\"\xff\xfe\"}", parseErr: true},
		{name: "invalid UTF-8 outside strings", body: "{\"name\":\"a\"}\xff", parseErr: true},
		{name: "overlong UTF-8 encoding", body: "{\"name\":\"\xc0\xaf\"}", parseErr: true},
		{name: "UTF-16 surrogate in UTF-8", body: "{\"name\":\"\xed\xa0\x80\"}", parseErr: true},
		{name: "byte order mark", body: "\uFEFF{\"name\":\"a\"}", parseErr: true,
			detail: "JSON parse error - the body begins with a byte order mark (BOM); send JSON without it"},
		{name: "array", body: `[{"name":"a"}]`},
		{name: "empty array", body: `[]`},
		{name: "string", body: `"a"`},
		{name: "number", body: `42`},
		{name: "null", body: `null`},
		// A bound against a parse that grows with the depth, not a speed
		// target: generous for a noisy machine under -race.
		{name: "deep array", body: deep, parseErr: true, maxMillis: 5000},
		{name: "deep object", body: deepObj, parseErr: true, maxMillis: 5000},
	}
	for _, tt := range tests {
		start := time.Now()
		r := app.convDo(t, request{method: "POST", path: "/api/patients/", token: u.Access, body: tt.body})
		elapsed := time.Since(start)
		if r.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400; body %.200s", tt.name, r.Code, r.Body)
			continue
		}
		m := r.json(t)
		if tt.parseErr {
			detail, _ := m["detail"].(string)
			if !strings.HasPrefix(detail, "JSON parse error - ") {
				t.Errorf("%s: body %s, want detail \"JSON parse error - ...\"", tt.name, r.Body)
			}
			if tt.detail != "" && detail != tt.detail {
				t.Errorf("%s: detail %q, want %q", tt.name, detail, tt.detail)
			}
		} else if len(m) == 0 {
			t.Errorf("%s: empty error body", tt.name)
		}
		if tt.maxMillis > 0 && elapsed.Milliseconds() > tt.maxMillis {
			t.Errorf("%s: took %v", tt.name, elapsed)
		}
	}
	// The same checks guard updates and public routes.
	p := app.mustPatient(t, u, nil)
	path := "/api/patients/" + strconv.FormatInt(id(t, p, "id"), 10) + "/"
	for _, method := range []string{"PUT", "PATCH"} {
		app.convDo(t, request{method: method, path: path, token: u.Access, body: `{"name":"b"} x`}).want(t, http.StatusBadRequest)
	}
	app.convDo(t, request{method: "POST", path: "/api/auth/login/", body: `{"email":"a@b.co"}{}`}).want(t, http.StatusBadRequest)
	app.convDo(t, request{method: "POST", path: "/api/auth/register/", body: `["x"]`}).want(t, http.StatusBadRequest)

	if n := app.convPatientCount(t, u); n != 1 {
		t.Errorf("patients = %d, want 1", n)
	}
	got := app.convDo(t, request{method: "GET", path: path, token: u.Access}).want(t, http.StatusOK).json(t)
	if got["name"] != p["name"] {
		t.Errorf("patient renamed by a rejected body: %v", got["name"])
	}
}

func TestConvServiceEndpoints(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	for _, p := range []string{"/healthz", "/healthz/", "/readyz", "/readyz/"} {
		r := app.convDo(t, request{method: "GET", path: p}).want(t, http.StatusOK)
		convWantBody(t, r, `{"status":"ok"}`)
	}
}

func TestConvDatabaseDown(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	app.convDo(t, request{method: "GET", path: "/api/auth/me/", token: u.Access}).want(t, http.StatusOK)

	sqlDB, err := app.store.DB().DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.Close(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	r := app.convDo(t, request{method: "GET", path: "/readyz"})
	if r.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with the database closed: status %d, want 503; body %s", r.Code, r.Body)
	} else {
		convWantBody(t, r, `{"status":"unavailable"}`)
	}
	// /healthz does not depend on the database.
	app.convDo(t, request{method: "GET", path: "/healthz"}).want(t, http.StatusOK)

	for _, req := range []request{
		{method: "GET", path: "/api/auth/me/", token: u.Access},
		{method: "GET", path: "/api/patients/", token: u.Access},
		{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": u.Email, "password": u.Password}},
		{method: "POST", path: "/api/auth/register/", body: map[string]string{"name": "New", "email": "new-down@example.com", "password": testPassword}},
	} {
		r := app.convDo(t, req)
		if r.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the database closed: status %d, want 503; body %s", req.method, req.path, r.Code, r.Body)
			continue
		}
		convWantBody(t, r, `{"detail":"Service temporarily unavailable."}`)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("answers with the database down took %v, want within the request deadline", d)
	}
}

func TestConvRequestID(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	paths := []string{"/healthz", "/api/auth/me/", "/api/nope/", "/nope"}
	for _, p := range paths {
		r := app.convDo(t, request{method: "GET", path: p, header: map[string]string{"X-Request-ID": "client-id-42"}})
		if got := r.Header().Get("X-Request-ID"); got != "client-id-42" {
			t.Errorf("GET %s with X-Request-ID: echoed %q, want client-id-42", p, got)
		}
	}
	seen := map[string]bool{}
	for _, p := range paths {
		r := app.convDo(t, request{method: "GET", path: p})
		got := r.Header().Get("X-Request-ID")
		if _, err := hex.DecodeString(got); err != nil || len(got) < 16 {
			t.Errorf("GET %s without X-Request-ID: generated %q, want a random hex id", p, got)
		}
		if seen[got] {
			t.Errorf("GET %s: generated id %q repeats", p, got)
		}
		seen[got] = true
	}
	// An id that is not sane is replaced, never echoed.
	for _, bad := range []string{"has space", strings.Repeat("a", 129), "tab\there", "naïve"} {
		r := app.convDo(t, request{method: "GET", path: "/healthz", header: map[string]string{"X-Request-ID": bad}})
		got := r.Header().Get("X-Request-ID")
		if got == bad || got == "" {
			t.Errorf("X-Request-ID %q: answered %q, want a generated id", bad, got)
		}
	}
	// The id reaches the logs of a failing request.
	req := request{method: "GET", path: "/api/patients/", token: "x", header: map[string]string{"X-Request-ID": "trace-me-123"}}
	app.convDo(t, req).want(t, http.StatusUnauthorized)
	if logs := app.logs.String(); !strings.Contains(logs, "trace-me-123") {
		t.Errorf("the failing request's id is not in the log:\n%s", logs)
	}
}

func TestConvCacheControlNoStore(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	for _, req := range []request{
		{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": u.Email, "password": u.Password}},
		{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": u.Email, "password": "wrong-password-1"}},
		{method: "GET", path: "/api/auth/me/", token: u.Access},
		{method: "GET", path: "/api/auth/me/"},
		{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": "Cached"}},
		{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": ""}},
		{method: "POST", path: "/api/patients/", token: u.Access, body: "{", header: map[string]string{"Content-Type": "application/json"}},
		{method: "POST", path: "/api/patients/", token: u.Access, body: "{}", header: map[string]string{"Content-Type": "text/plain"}},
		{method: "GET", path: "/api/patients/", token: u.Access},
		{method: "GET", path: "/api/patients/999999/", token: u.Access},
		{method: "GET", path: "/api/doctors/", token: u.Access},
		// Answers no route gave: unknown paths and wrong methods.
		{method: "GET", path: "/api/nope/"},
		{method: "GET", path: "/api/nope/", token: u.Access},
		{method: "GET", path: "/api/patients/1/extra/", token: u.Access},
		{method: "DELETE", path: "/api/patients/", token: u.Access},
		{method: "GET", path: "/api/auth/login/"},
	} {
		r := app.convDo(t, req)
		if got := r.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s (%d): Cache-Control = %q, want no-store", req.method, req.path, r.Code, got)
		}
	}
}

// TestConvErrorBodiesAreJSON sweeps many failing requests and checks that
// every one answers a JSON object with no internals in it.
func TestConvErrorBodiesAreJSON(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	reqs := []request{
		{method: "GET", path: "/api/patients/", token: "not-a-jwt"},
		{method: "GET", path: "/api/patients/", header: map[string]string{"Authorization": "Bearer a b"}},
		{method: "GET", path: "/api/patients/?page=abc", token: u.Access},
		{method: "GET", path: "/api/patients/?page=999", token: u.Access},
		{method: "GET", path: "/api/patients/?cursor=!!!", token: u.Access},
		{method: "GET", path: "/api/patients/?cursor=bi4xLjA", token: u.Access},
		{method: "GET", path: "/api/mappings/?patient_id=abc", token: u.Access},
		{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": 123, "date_of_birth": "yesterday", "gender": "x"}},
		{method: "POST", path: "/api/mappings/", token: u.Access, body: map[string]any{"patient_id": "1", "doctor_id": nil}},
		{method: "POST", path: "/api/mappings/", token: u.Access, body: map[string]any{"patient_id": 999, "doctor_id": 999}},
		{method: "POST", path: "/api/doctors/", token: u.Access, body: map[string]any{"name": "x"}},
		{method: "POST", path: "/api/auth/register/", body: map[string]any{"email": "bad", "password": "123"}},
		{method: "POST", path: "/api/auth/token/refresh/", body: map[string]any{"refresh": "x.y.z"}},
		{method: "POST", path: "/api/auth/logout/", token: u.Access, body: map[string]any{}},
	}
	for _, req := range reqs {
		r := app.convDo(t, req)
		if r.Code < 400 {
			t.Errorf("%s %s: status %d, want an error", req.method, req.path, r.Code)
			continue
		}
		r.json(t)
		if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", req.method, req.path, ct)
		}
	}
	// Nothing the error answers say reached the log as a failure: they are
	// the client's errors, not bugs.
	if logs := app.logs.String(); strings.Contains(logs, "request failed") || strings.Contains(logs, "panic") {
		t.Errorf("client errors logged as failures:\n%s", logs)
	}
}

// HEAD is GET without the body wherever GET is served (as Django answers
// it, DRF's views and the admin's included): same status and headers, no
// body on the wire; where GET is not served, HEAD is a 405 like any other
// method.
func TestConvHeadIsGetWithoutBody(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	srv := httptest.NewServer(app.router)
	defer srv.Close()
	send := func(method, path string, token string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		// No redirects followed: the admin's answers are compared as they are.
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/healthz", "", 200},
		{"/readyz/", "", 200},
		{"/api/auth/me/", u.Access, 200},
		{"/api/patients/", u.Access, 200},
		{"/api/patients", "", 401},
		{"/api/patients/999999/", u.Access, 404},
		{"/api/doctors/", u.Access, 200},
		{"/api/schema/", "", 200},
		{"/api/docs/", "", 200},
		{"/admin/login/", "", 200},
		{"/admin/patients/", "", 303},
		{"/admin", "", 301},
	} {
		get, getBody := send("GET", tc.path, tc.token)
		head, _ := send("HEAD", tc.path, tc.token)
		headBody := rawHead(t, srv.Listener.Addr().String(), tc.path, tc.token)
		if get.StatusCode != tc.status || head.StatusCode != tc.status {
			t.Errorf("%s: GET %d, HEAD %d, want %d for both", tc.path, get.StatusCode, head.StatusCode, tc.status)
		}
		if len(headBody) != 0 || len(getBody) == 0 && tc.status != 301 && tc.status != 303 {
			t.Errorf("%s: HEAD sent %d bytes after its headers (want none), GET a body of %d", tc.path, len(headBody), len(getBody))
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "WWW-Authenticate", "Location"} {
			if get.Header.Get(h) != head.Header.Get(h) {
				t.Errorf("%s: %s is %q for GET, %q for HEAD", tc.path, h, get.Header.Get(h), head.Header.Get(h))
			}
		}
	}
	// The admin's login redirect keeps where a HEAD was going, as a GET's.
	if res, _ := send("HEAD", "/admin/patients/?q=x", ""); !strings.Contains(res.Header.Get("Location"), "next=") {
		t.Errorf("HEAD of an admin page: Location %q, want the page as next", res.Header.Get("Location"))
	}
	// Not a GET route: 405, with GET nowhere in Allow and HEAD named in the
	// detail (the body itself is not sent for HEAD).
	for _, path := range []string{"/api/auth/login/", "/api/mappings/delete/1/"} {
		res, _ := send("HEAD", path, u.Access)
		if res.StatusCode != http.StatusMethodNotAllowed || strings.Contains(res.Header.Get("Allow"), "GET") {
			t.Errorf("HEAD %s: %d, Allow %q; want 405 without GET", path, res.StatusCode, res.Header.Get("Allow"))
		}
	}
	r := app.convDo(t, request{method: "HEAD", path: "/api/auth/login/"})
	convWantBody(t, r, `{"detail":"Method \"HEAD\" not allowed."}`)
}

// Routes that take no body (the DELETEs, logout of every session) hold a
// body a client sends anyway to the contract's rules, and act on nothing
// malformed; without a body, or with a JSON object, they work as ever.
func TestConvBodyOnRoutesWithoutOne(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	pid := int64(app.mustPatient(t, u, nil)["id"].(float64))
	d := app.mustDoctor(t, "Dr Body", "Bodies")
	m := app.do(request{method: "POST", path: "/api/mappings/", token: u.Access,
		body: map[string]any{"patient_id": pid, "doctor_id": d.ID}}).want(t, http.StatusCreated).json(t)
	mid := int64(m["id"].(float64))

	bad := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"text", "text/plain", "hello", 415, `{"detail":"Unsupported media type \"text/plain\" in request."}`},
		{"no content type", "", "{}", 415, `{"detail":"Unsupported media type \"\" in request."}`},
		{"truncated JSON", "application/json", `{"x":`, 400, ""},
		{"an array", "application/json", `[1]`, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
		{"trailing bytes", "application/json", `{} x`, 400, ""},
	}
	for _, route := range []struct {
		method, path, token string
	}{
		{"POST", "/api/auth/logout/all/", u.Access},
		{"DELETE", fmt.Sprintf("/api/patients/%d/", pid), u.Access},
		{"DELETE", fmt.Sprintf("/api/doctors/%d/", d.ID), staff.Access},
		{"DELETE", fmt.Sprintf("/api/mappings/delete/%d/", mid), u.Access},
	} {
		for _, tc := range bad {
			r := app.do(request{method: route.method, path: route.path, token: route.token, body: tc.body,
				header: map[string]string{"Content-Type": tc.contentType}})
			if r.Code != tc.status {
				t.Errorf("%s %s with %s: %d %s, want %d", route.method, route.path, tc.name, r.Code, r.Body, tc.status)
				continue
			}
			if tc.want != "" {
				convWantBody(t, r, tc.want)
			}
		}
	}
	// Nothing was acted on.
	app.do(request{method: "GET", path: "/api/auth/me/", token: u.Access}).want(t, http.StatusOK)
	app.do(request{method: "GET", path: fmt.Sprintf("/api/patients/%d/", pid), token: u.Access}).want(t, http.StatusOK)
	app.do(request{method: "GET", path: fmt.Sprintf("/api/doctors/%d/", d.ID), token: u.Access}).want(t, http.StatusOK)
	app.do(request{method: "GET", path: fmt.Sprintf("/api/mappings/?patient_id=%d", pid), token: u.Access}).want(t, http.StatusOK)
	if n := app.convPatientCount(t, u); n != 1 {
		t.Fatalf("%d patients after the refused deletes, want 1", n)
	}
	// With a JSON object, or no body, they work.
	app.do(request{method: "DELETE", path: fmt.Sprintf("/api/mappings/delete/%d/", mid), token: u.Access, body: map[string]any{}}).
		want(t, http.StatusNoContent)
	app.do(request{method: "DELETE", path: fmt.Sprintf("/api/patients/%d/", pid), token: u.Access}).want(t, http.StatusNoContent)
	app.do(request{method: "DELETE", path: fmt.Sprintf("/api/doctors/%d/", d.ID), token: staff.Access, body: `{"why": "gone"}`}).
		want(t, http.StatusNoContent)
	app.do(request{method: "POST", path: "/api/auth/logout/all/", token: u.Access, body: map[string]any{}}).want(t, http.StatusNoContent)
	authWant401(t, app.do(request{method: "GET", path: "/api/auth/me/", token: u.Access}), "", true)
}

// A repeated query parameter counts with its last value, as Django's
// QueryDict gives it to DRF and django-filter, and the links say so.
func TestConvRepeatedQueryParameterLastWins(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	for _, name := range []string{"Ada One", "Ben Two", "Cy Three", "Di Four", "Ed Five"} {
		app.mustPatient(t, u, map[string]any{"name": name})
	}
	page := app.do(request{method: "GET", path: "/api/patients/?page=1&page_size=1&page=2&page_size=2", token: u.Access}).
		want(t, http.StatusOK).json(t)
	results := page["results"].([]any)
	if len(results) != 2 || results[0].(map[string]any)["name"] != "Cy Three" {
		t.Fatalf("page=1&page=2 with page_size=1&page_size=2: %v, want the second page of two (Cy Three first)", results)
	}
	next, _ := page["next"].(string)
	if !strings.Contains(next, "page=3") || strings.Count(next, "page=") != 1 || strings.Count(next, "page_size=") != 1 {
		t.Errorf("next = %q, want page 3 and one page_size", next)
	}
	found := app.do(request{method: "GET", path: "/api/patients/?search=nobody&search=ben", token: u.Access}).
		want(t, http.StatusOK).json(t)
	if found["count"] != float64(1) {
		t.Errorf("search=nobody&search=ben: count %v, want 1 (the last search)", found["count"])
	}
}

// As DRF authenticates before it looks at the method, a wrong method on a
// path that needs a token is a 401 without a valid one (and says nothing
// of the methods there are); on public paths it is a 405 for anyone. Once
// authenticated, a path whose id is not a positive integer names no
// object: 404 whatever the method (as Django's <int:> converter answers).
func TestConvWrongMethodWithoutTokenIs401(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	for _, tc := range []struct {
		method, path, token string
		status              int
	}{
		{"POST", "/api/auth/me/", "", 401},
		{"PUT", "/api/patients/", "", 401},
		{"POST", "/api/patients/12/", "", 401},
		{"POST", "/api/patients/12", "not-a-token", 401},
		{"GET", "/api/mappings/delete/3/", "", 401},
		{"PATCH", "/api/doctors/", u.Refresh, 401},
		{"PUT", "/api/patients/", u.Access, 405},
		{"GET", "/api/auth/login/", "", 405},
		{"GET", "/api/auth/register", "", 405},
		{"PUT", "/api/auth/token/refresh/", "", 405},
		{"POST", "/api/docs/", "", 405},
		{"POST", "/api/schema", "", 405},
		{"POST", "/api/docs/assets/swagger-ui.css", "", 405},
		{"POST", "/healthz", "", 405},
		{"POST", "/api/patients/abc/", "", 401},
		{"GET", "/api/mappings/delete/abc/", "not-a-token", 401},
		{"POST", "/api/patients/abc/", u.Access, 404},
		{"POST", "/api/patients/0", u.Access, 404},
		{"POST", "/api/patients/+1/", u.Access, 404},
		{"POST", "/api/doctors/1.5/", u.Access, 404},
		{"PUT", "/api/mappings/-3/", u.Access, 404},
		{"GET", "/api/mappings/delete/abc/", u.Access, 404},
		{"GET", "/api/mappings/delete/99999999999999999999/", u.Access, 404},
		{"POST", "/api/patients/7/", u.Access, 405},
		{"GET", "/api/mappings/delete/7", u.Access, 405},
	} {
		r := app.do(request{method: tc.method, path: tc.path, token: tc.token})
		if r.Code != tc.status {
			t.Errorf("%s %s (token sent: %v): %d %s, want %d", tc.method, tc.path, tc.token != "", r.Code, r.Body, tc.status)
			continue
		}
		switch allow := r.Header().Get("Allow"); tc.status {
		case 401:
			authWant401(t, r, "", tc.token != "")
			if allow != "" {
				t.Errorf("%s %s: a 401 names the allowed methods: %q", tc.method, tc.path, allow)
			}
		case 404:
			convWantBody(t, r, `{"detail":"Not found."}`)
			if allow != "" {
				t.Errorf("%s %s: a 404 names allowed methods: %q", tc.method, tc.path, allow)
			}
		case 405:
			convWantBody(t, r, fmt.Sprintf(`{"detail":"Method \"%s\" not allowed."}`, tc.method))
			if allow == "" {
				t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
			}
		}
	}
}

// rawHead sends HEAD path over a plain TCP connection and returns what the
// server sent after the response's headers (Go's client never reads a HEAD
// response's body, so it could not tell).
func rawHead(t *testing.T, addr, path, token string) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "HEAD " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n"
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := bytes.Cut(all, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("HEAD %s: no end of headers in %q", path, all)
	}
	return after
}

// A query parameter is read as Django reads it: a '%' that starts no
// escape and a ';' are text, never a reason to drop the parameter (Go's
// parser dropped the pair: `?page=%zz` was page 1, `?search=%zz` every
// patient).
func TestConvQueryTextIsKeptAsTyped(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	for _, name := range []string{"Ada One", "Ben; Two", "Cy 100%"} {
		app.mustPatient(t, u, map[string]any{"name": name})
	}
	for _, path := range []string{"/api/patients/?page=%zz", "/api/patients/?page=1%", "/api/patients/?page=1;2"} {
		convWantBody(t, app.do(request{method: "GET", path: path, token: u.Access}).want(t, http.StatusNotFound),
			`{"detail":"Invalid page."}`)
	}
	convWantBody(t, app.do(request{method: "GET", path: "/api/patients/?cursor=%zz", token: u.Access}).want(t, http.StatusBadRequest),
		`{"detail":"Invalid cursor."}`)
	for search, want := range map[string][]any{"%zz": {}, "ben;": {"Ben; Two"}, "100%": {"Cy 100%"}, "100%25": {"Cy 100%"}, "y%201": {"Cy 100%"}} {
		page := app.do(request{method: "GET", path: "/api/patients/?search=" + search, token: u.Access}).want(t, http.StatusOK).json(t)
		var got []any
		for _, r := range page["results"].([]any) {
			got = append(got, r.(map[string]any)["name"])
		}
		if len(got) != len(want) || len(want) > 0 && got[0] != want[0] {
			t.Errorf("search=%s: %v, want %v", search, got, want)
		}
	}
}

// A query of more than 1,000 parameters is Django's 400
// (DATA_UPLOAD_MAX_NUMBER_FIELDS) on the production router, before the
// token is looked at; 1,000 are read, the last value of a repeated key
// winning, the search among them applied (Go's parser dropped every
// parameter past 10,000, the search with them).
func TestConvTooManyQueryParameters(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	app.mustPatient(t, u, map[string]any{"name": "Ada One"})
	app.mustPatient(t, u, map[string]any{"name": "Ben Two"})
	page := app.do(request{method: "GET", path: "/api/patients/?search=nobody&" + fillerQuery(998) + "&search=ben", token: u.Access}).
		want(t, http.StatusOK).json(t)
	if page["count"] != float64(1) {
		t.Errorf("1,000 parameters: count %v, want the one patient the last search finds", page["count"])
	}
	for _, token := range []string{u.Access, ""} {
		convWantBody(t, app.do(request{method: "GET", path: "/api/patients/?search=ben&" + fillerQuery(1000), token: token}).
			want(t, http.StatusBadRequest), `{"detail":"Too many query parameters: at most 1000."}`)
	}
}
