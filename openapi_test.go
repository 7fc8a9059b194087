package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"

	"healthcare/config"
	"healthcare/handlers"
	"healthcare/metrics"
	"healthcare/models/modelstest"
)

// oasServicePaths are the routes outside /api/ that the document covers;
// other prefixes (the admin panel, static files) are not part of the API.
var oasServicePaths = []string{"/healthz", "/readyz", "/metrics"}

// oasParam matches a path parameter in either spelling: gin's :id or
// OpenAPI's {id}.
var oasParam = regexp.MustCompile(`:[A-Za-z_]+|\{[A-Za-z_]+\}`)

// oasKey is how a route is compared: method, path with parameters unnamed
// and without a trailing slash (every path is served both ways).
func oasKey(method, path string) string {
	path = oasParam.ReplaceAllString(path, "{}")
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return method + " " + path
}

// oasLoad fetches the document the router serves at /api/schema/ and
// returns it validated, with a router over it.
func oasLoad(t *testing.T, app *testApp) (*openapi3.T, routers.Router) {
	t.Helper()
	r := app.do(request{method: "GET", path: "/api/schema/"}).want(t, http.StatusOK)
	doc, err := openapi3.NewLoader().LoadFromData(r.Body.Bytes())
	if err != nil {
		t.Fatalf("GET /api/schema/: load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("GET /api/schema/: not a valid OpenAPI document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router over the document: %v", err)
	}
	return doc, router
}

// TestOpenAPIMatchesRouter walks the production router: every route of the
// API is in the document with its method, and every operation of the
// document is a route.
func TestOpenAPIMatchesRouter(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	doc, _ := oasLoad(t, app)

	// The router as main builds it with metrics on the main listener.
	cfg := testConfig()
	cfg.MetricsEnabled = true
	router, err := newRouter(routerDeps{cfg: cfg, store: app.store, log: slog.New(slog.DiscardHandler), metrics: metrics.New(nil)})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	routes := map[string]string{}
	var heads []gin.RouteInfo
	for _, rt := range router.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/") && !slices.Contains(oasServicePaths, strings.TrimSuffix(rt.Path, "/")) {
			continue
		}
		if rt.Method == http.MethodHead {
			// HEAD is GET without the body (HTTP's own rule): not an
			// operation of its own, but only where GET is one.
			heads = append(heads, rt)
			continue
		}
		routes[oasKey(rt.Method, rt.Path)] = rt.Method + " " + rt.Path
	}
	for _, rt := range heads {
		if _, ok := routes[oasKey(http.MethodGet, rt.Path)]; !ok {
			t.Errorf("route HEAD %s has no GET", rt.Path)
		}
	}
	documented := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[oasKey(method, path)] = method + " " + path
		}
	}
	if len(routes) < 20 {
		t.Fatalf("only %d API routes found: %v", len(routes), routes)
	}
	for key, route := range routes {
		if _, ok := documented[key]; !ok {
			t.Errorf("route %s is not in the OpenAPI document", route)
		}
	}
	for key, op := range documented {
		if _, ok := routes[key]; !ok {
			t.Errorf("OpenAPI operation %s is not a route of the router", op)
		}
	}
}

// oasCheck validates real exchanges against the document.
type oasCheck struct {
	doc    *openapi3.T
	router routers.Router
	// answered records each operation that gave a 2xx, to prove the
	// scenario covers the whole document.
	answered map[string]bool
}

func newOASCheck(t *testing.T, app *testApp) *oasCheck {
	t.Helper()
	doc, router := oasLoad(t, app)
	return &oasCheck{doc: doc, router: router, answered: map[string]bool{}}
}

// oasBody encodes a request body the way testApp.do does.
func oasBody(t *testing.T, body any) []byte {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return []byte(b)
	case []byte:
		return b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		return raw
	}
}

// do sends req through app's router, wants status, and validates the
// response (status, headers and body) against the document; a 2xx request
// must also be valid for the document.
func (v *oasCheck) do(t *testing.T, app *testApp, req request, status int) *response {
	t.Helper()
	r := app.do(req)
	where := req.method + " " + req.path
	if r.Code != status {
		t.Fatalf("%s: status = %d, want %d; body: %s", where, r.Code, status, r.Body)
	}
	reqInput, err := v.input(t, req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		v.checkError(t, where, r, http.StatusNotFound)
		return r
	case errors.Is(err, routers.ErrMethodNotAllowed):
		v.checkError(t, where, r, http.StatusMethodNotAllowed)
		if r.Header().Get("Allow") == "" {
			t.Errorf("%s: 405 without an Allow header", where)
		}
		return r
	case err != nil:
		t.Fatalf("%s: find route: %v", where, err)
	}
	if status < 300 {
		v.answered[reqInput.Route.Method+" "+reqInput.Route.Path] = true
		if err := openapi3filter.ValidateRequest(context.Background(), reqInput); err != nil {
			t.Errorf("%s: the request is valid for the server (%d) but not for the document: %v", where, r.Code, err)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 r.Code,
		Header:                 r.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(r.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s: response %d does not match the document: %v\nbody: %.300s", where, r.Code, err, r.Body)
	}
	if reqInput.Route.Operation.Responses.Status(r.Code) == nil {
		// ValidateResponse passes a 304 and redirects unlisted.
		t.Errorf("%s: status %d is not listed for the operation", where, r.Code)
	}
	return r
}

// input finds req's operation in the document and returns what
// openapi3filter validates a request with; the error is the router's when
// the document has no such path or method.
func (v *oasCheck) input(t *testing.T, req request) (*openapi3filter.RequestValidationInput, error) {
	t.Helper()
	body := oasBody(t, req.body)
	hreq := httptest.NewRequest(req.method, req.path, bytes.NewReader(body))
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, val := range req.header {
		hreq.Header.Set(k, val)
	}
	route, params, err := v.router.FindRoute(hreq)
	if errors.Is(err, routers.ErrPathNotFound) {
		// Every path is served with and without its trailing slash; the
		// document spells each one way.
		if p, ok := strings.CutSuffix(hreq.URL.Path, "/"); ok {
			hreq.URL.Path = p
		} else {
			hreq.URL.Path += "/"
		}
		route, params, err = v.router.FindRoute(hreq)
	}
	if err != nil {
		return nil, err
	}
	return &openapi3filter.RequestValidationInput{
		Request: hreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}, nil
}

// refused sends req, wants status (a refusal), and wants the document to
// refuse the request too: a client validating its requests against the
// document learns before sending what the server would answer.
func (v *oasCheck) refused(t *testing.T, app *testApp, req request, status int) *response {
	t.Helper()
	r := v.do(t, app, req, status)
	in, err := v.input(t, req)
	if err != nil {
		t.Fatalf("%s %s: find route: %v", req.method, req.path, err)
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err == nil {
		t.Errorf("%s %s: the server refuses the request (%d %s) but the document accepts it", req.method, req.path, r.Code, r.Body)
	}
	return r
}

// checkError validates an answer no operation documents (an unknown path,
// a method a path does not take) against the Error schema.
func (v *oasCheck) checkError(t *testing.T, where string, r *response, status int) {
	t.Helper()
	if r.Code != status {
		t.Errorf("%s: status = %d, want %d (no such operation in the document)", where, r.Code, status)
	}
	var body any
	if err := json.Unmarshal(r.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body is not JSON: %v", where, err)
	}
	schema := v.doc.Components.Schemas["Error"].Value
	if err := schema.VisitJSON(body, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s: body does not match the Error schema: %v", where, err)
	}
}

// coverage fails for every operation of the document that no request of
// the scenario answered with success.
func (v *oasCheck) coverage(t *testing.T) {
	t.Helper()
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			if !v.answered[method+" "+path] {
				t.Errorf("no successful %s %s in the scenario: add one, so its responses are checked", method, path)
			}
		}
	}
}

// TestOpenAPIResponsesMatch drives a realistic session through the real
// router, errors included, and validates every response against the
// document.
func TestOpenAPIResponsesMatch(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	v := newOASCheck(t, app)
	do := func(req request, status int) map[string]any {
		t.Helper()
		r := v.do(t, app, req, status)
		if r.Body.Len() == 0 || !strings.HasPrefix(r.Header().Get("Content-Type"), "application/json") {
			return nil
		}
		var m map[string]any
		_ = json.Unmarshal(r.Body.Bytes(), &m)
		return m
	}
	str := func(m map[string]any, key string) string {
		t.Helper()
		s, ok := m[key].(string)
		if !ok {
			t.Fatalf("field %q = %v, want a string", key, m[key])
		}
		return s
	}

	// Service endpoints and the documentation.
	do(request{method: "GET", path: "/healthz"}, 200)
	do(request{method: "GET", path: "/readyz/"}, 200)
	do(request{method: "GET", path: "/api/schema/"}, 200)
	do(request{method: "GET", path: "/api/schema?format=yaml"}, 200)
	do(request{method: "GET", path: "/api/docs/"}, 200)
	do(request{method: "GET", path: "/api/docs/assets/swagger-ui.css"}, 200)
	do(request{method: "GET", path: "/api/docs/assets/nope.js"}, 404)
	do(request{method: "GET", path: "/api/nowhere/"}, 404)

	// Accounts and tokens.
	const email, password = "grace@example.com", "correct-Horse-battery-9"
	do(request{method: "POST", path: "/api/auth/register/", body: map[string]any{"name": "Grace Hopper", "email": email, "password": password}}, 201)
	do(request{method: "POST", path: "/api/auth/register/", body: map[string]any{"name": "Grace Again", "email": "GRACE@example.com", "password": password}}, 400)
	do(request{method: "POST", path: "/api/auth/register/", body: map[string]any{"name": "", "email": "not-an-email", "password": "123"}}, 400)
	do(request{method: "POST", path: "/api/auth/register/", body: `{"name": `}, 400)
	do(request{method: "POST", path: "/api/auth/register/", body: "name=x", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415)
	do(request{method: "POST", path: "/api/auth/register/", body: `{"name": "` + strings.Repeat("x", 1<<20) + `"}`}, 413)
	do(request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": email, "password": "wrong-password-1"}}, 401)
	do(request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": email}}, 400)
	tokens := do(request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": "Grace@Example.com", "password": password}}, 200)
	access, refresh := str(tokens, "access"), str(tokens, "refresh")
	do(request{method: "GET", path: "/api/auth/me/", token: access}, 200)
	do(request{method: "GET", path: "/api/auth/me"}, 401)
	do(request{method: "GET", path: "/api/auth/me/", token: "not-a-jwt"}, 401)
	do(request{method: "GET", path: "/api/auth/me/", token: refresh}, 401)
	rotated := do(request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]any{"refresh": refresh}}, 200)
	do(request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]any{}}, 400)
	access, refresh = str(rotated, "access"), str(rotated, "refresh")

	// Patients.
	p := do(request{method: "POST", path: "/api/patients/", token: access, body: map[string]any{
		"name": "John Doe", "date_of_birth": "1980-04-12", "gender": "male", "phone": "+1 (555) 010-0199",
		"email": "john.doe@example.com", "address": "12 Elm Street", "medical_history": "Penicillin allergy.",
	}}, 201)
	pid := strconv.FormatInt(id(t, p, "id"), 10)
	do(request{method: "POST", path: "/api/patients/", token: access, body: map[string]any{"name": "Jane Roe", "date_of_birth": nil}}, 201)
	do(request{method: "POST", path: "/api/patients/", token: access, body: map[string]any{"name": "Baby Roe"}}, 201)
	do(request{method: "POST", path: "/api/patients/", token: access, body: map[string]any{"name": 123, "gender": "robot", "date_of_birth": "2999-01-01"}}, 400)
	do(request{method: "POST", path: "/api/patients/", body: map[string]any{"name": "No Token"}}, 401)
	do(request{method: "GET", path: "/api/patients/?search=doe&ordering=-name,date_of_birth&page_size=2", token: access}, 200)
	do(request{method: "GET", path: "/api/patients/?page=99", token: access}, 404)
	page := do(request{method: "GET", path: "/api/patients/?cursor=&page_size=2", token: access}, 200)
	next, err := url.Parse(str(page, "next"))
	if err != nil {
		t.Fatalf("cursor next link: %v", err)
	}
	do(request{method: "GET", path: next.RequestURI(), token: access}, 200)
	do(request{method: "GET", path: "/api/patients/?cursor=garbage", token: access}, 400)
	do(request{method: "GET", path: "/api/patients/?search=" + url.QueryEscape(oasWords(21)), token: access}, 400)
	do(request{method: "GET", path: "/api/patients/" + pid + "/", token: access}, 200)
	do(request{method: "GET", path: "/api/patients/" + pid, token: access}, 200)
	do(request{method: "GET", path: "/api/patients/999999/", token: access}, 404)
	do(request{method: "GET", path: "/api/patients/abc/", token: access}, 404)
	do(request{method: "PUT", path: "/api/patients/" + pid + "/", token: access, body: map[string]any{"name": "John Q. Doe", "gender": "other"}}, 200)
	do(request{method: "PUT", path: "/api/patients/" + pid + "/", token: access, body: map[string]any{"gender": "female"}}, 400)
	do(request{method: "PATCH", path: "/api/patients/" + pid + "/", token: access, body: map[string]any{"phone": "+44 20 7946 0958", "date_of_birth": ""}}, 200)

	// Another user sees none of it.
	other := app.mustUser(t, false)
	do(request{method: "GET", path: "/api/patients/" + pid + "/", token: other.Access}, 404)
	do(request{method: "GET", path: "/api/mappings/" + pid + "/", token: other.Access}, 404)

	// Doctors: staff write, everyone reads.
	staff := app.mustUser(t, true)
	doctor := map[string]any{"name": "Dr. Maria Garcia", "specialization": "Cardiology", "email": "m.garcia@clinic.example", "phone": "+1 555 010 0142", "years_of_experience": 12}
	do(request{method: "POST", path: "/api/doctors/", token: access, body: doctor}, 403)
	d := do(request{method: "POST", path: "/api/doctors/", token: staff.Access, body: doctor}, 201)
	did := strconv.FormatInt(id(t, d, "id"), 10)
	do(request{method: "POST", path: "/api/doctors/", token: staff.Access, body: doctor}, 400)
	do(request{method: "POST", path: "/api/doctors/", token: staff.Access, body: map[string]any{"name": "Dr. Who", "specialization": "Time", "email": "who@clinic.example", "years_of_experience": "5"}}, 400)
	do(request{method: "GET", path: "/api/doctors/?specialization=cardiology&ordering=-years_of_experience", token: access}, 200)
	do(request{method: "GET", path: "/api/doctors/?cursor=", token: access}, 200)
	do(request{method: "GET", path: "/api/doctors/" + did + "/", token: access}, 200)
	do(request{method: "PUT", path: "/api/doctors/" + did + "/", token: staff.Access, body: map[string]any{"name": "Dr. Maria Garcia", "specialization": "Cardiology", "email": "maria.garcia@clinic.example"}}, 200)
	do(request{method: "PATCH", path: "/api/doctors/" + did + "/", token: staff.Access, body: map[string]any{"years_of_experience": 13}}, 200)
	do(request{method: "PATCH", path: "/api/doctors/" + did + "/", token: access, body: map[string]any{"years_of_experience": 1}}, 403)

	// Mappings.
	m := do(request{method: "POST", path: "/api/mappings/", token: access, body: map[string]any{"patient_id": id(t, p, "id"), "doctor_id": id(t, d, "id"), "notes": "Check-up."}}, 201)
	do(request{method: "POST", path: "/api/mappings/", token: access, body: map[string]any{"patient_id": id(t, p, "id"), "doctor_id": id(t, d, "id")}}, 400)
	do(request{method: "POST", path: "/api/mappings/", token: access, body: map[string]any{"patient_id": 999999, "doctor_id": "x"}}, 400)
	do(request{method: "GET", path: "/api/mappings/?patient_id=" + pid, token: access}, 200)
	do(request{method: "GET", path: "/api/mappings/?cursor=", token: access}, 200)
	do(request{method: "GET", path: "/api/mappings/?doctor_id=abc", token: access}, 400)
	do(request{method: "GET", path: "/api/mappings/" + pid + "/", token: access}, 200)
	do(request{method: "PUT", path: "/api/mappings/", token: access, body: map[string]any{}}, 405)
	// Routes that take no body refuse a malformed one rather than act.
	mpath := "/api/mappings/delete/" + strconv.FormatInt(id(t, m, "id"), 10) + "/"
	do(request{method: "DELETE", path: mpath, token: access, body: "x", header: map[string]string{"Content-Type": "text/plain"}}, 415)
	do(request{method: "DELETE", path: mpath, token: access, body: "{"}, 400)
	do(request{method: "DELETE", path: mpath, token: access}, 204)
	do(request{method: "DELETE", path: "/api/mappings/delete/" + strconv.FormatInt(id(t, m, "id"), 10) + "/", token: access}, 404)

	// Deletes, then logging out.
	do(request{method: "DELETE", path: "/api/doctors/" + did + "/", token: access}, 403)
	do(request{method: "DELETE", path: "/api/doctors/" + did + "/", token: staff.Access, body: "{"}, 400)
	do(request{method: "DELETE", path: "/api/doctors/" + did + "/", token: staff.Access}, 204)
	do(request{method: "DELETE", path: "/api/patients/" + pid + "/", token: access, body: "x", header: map[string]string{"Content-Type": "text/plain"}}, 415)
	do(request{method: "DELETE", path: "/api/patients/" + pid + "/", token: access}, 204)
	do(request{method: "DELETE", path: "/api/patients/" + pid + "/", token: access}, 404)
	do(request{method: "POST", path: "/api/auth/logout/", token: access, body: map[string]any{}}, 400)
	do(request{method: "POST", path: "/api/auth/logout/", token: access, body: map[string]any{"refresh": other.Refresh}}, 401)
	do(request{method: "POST", path: "/api/auth/logout/", token: access, body: map[string]any{"refresh": refresh}}, 204)
	do(request{method: "GET", path: "/api/auth/me/", token: access}, 401)
	do(request{method: "POST", path: "/api/auth/logout/all/", token: other.Access, body: "{"}, 400)
	do(request{method: "POST", path: "/api/auth/logout/all/", token: other.Access}, 204)
	do(request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]any{"refresh": other.Refresh}}, 401)

	// /metrics is documented; this app runs with metrics off, where it is
	// 404 (an answer the document gives too).
	do(request{method: "GET", path: "/metrics"}, 404)
	metered := oasMeteredApp(t)
	vm := newOASCheck(t, metered)
	vm.do(t, metered, request{method: "GET", path: "/metrics"}, 200)
	v.answered["GET /metrics"] = vm.answered["GET /metrics"]

	v.coverage(t)
}

// TestOpenAPIThrottledResponses checks the 429 shape and its Retry-After.
func TestOpenAPIThrottledResponses(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *handlers.Options) {
		o.LoginPerIP = handlers.Limit{Events: 1, Window: time.Minute}
		o.RegisterPerIP = handlers.Limit{Events: 1, Window: time.Minute}
		o.RefreshPerIP = handlers.Limit{Events: 1, Window: time.Minute}
	})
	v := newOASCheck(t, app)
	login := request{method: "POST", path: "/api/auth/login/", body: map[string]any{"email": "nobody@example.com", "password": "wrong-password-1"}}
	v.do(t, app, login, 401)
	v.do(t, app, login, 429)
	register := request{method: "POST", path: "/api/auth/register/", body: map[string]any{"name": "A", "email": "a@example.com", "password": "correct-Horse-battery-9"}}
	v.do(t, app, register, 201)
	v.do(t, app, register, 429)
	refresh := request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]any{"refresh": "x"}}
	v.do(t, app, refresh, 401)
	v.do(t, app, refresh, 429)

	// The per-user API limit, on authenticated endpoints of every kind.
	limited := newTestApp(t, func(o *handlers.Options) { o.UserRate = handlers.Limit{Events: 1, Window: time.Minute} })
	vl := newOASCheck(t, limited)
	for _, req := range []request{
		{method: "GET", path: "/api/auth/me/"},
		{method: "POST", path: "/api/patients/", body: map[string]any{"name": "Throttled"}},
		{method: "DELETE", path: "/api/patients/1/"},
		{method: "GET", path: "/api/mappings/1/"},
		{method: "POST", path: "/api/auth/logout/all/"},
	} {
		u := limited.mustUser(t, false)
		limited.do(request{method: "GET", path: "/api/doctors/", token: u.Access}).want(t, http.StatusOK) // spends the budget
		req.token = u.Access
		vl.do(t, limited, req, 429)
	}
}

// oasMeteredApp is a test app whose router has metrics on the main
// listener, as main builds it by default.
func oasMeteredApp(t *testing.T) *testApp {
	t.Helper()
	app := &testApp{t: t, store: modelstest.Store(t), logs: &syncBuffer{}, clock: &testClock{}}
	cfg := testConfig()
	cfg.MetricsEnabled = true
	router, err := newRouter(routerDeps{cfg: cfg, store: app.store, log: slog.New(slog.NewTextHandler(app.logs, nil)), metrics: metrics.New(nil)})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	app.router = router
	return app
}

// oasWords is a search of n distinct words, none of which a search may drop.
func oasWords(n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = "w" + strconv.Itoa(i) + "z" // none inside another
	}
	return strings.Join(words, " ")
}

// oasEmail is an address of n characters (n from 70 to 300) that is valid
// but for its length.
func oasEmail(n int) string {
	local := strings.Repeat("a", 64)
	domain := strings.Repeat("b", 63) + "." + strings.Repeat("b", 63) + "."
	rest := n - len(local) - 1 - len(domain) - len(".com")
	for rest > 63 {
		domain += strings.Repeat("c", 63) + "."
		rest -= 64
	}
	return local + "@" + domain + strings.Repeat("d", rest) + ".com"
}

// TestOpenAPIEmailLimit: the server takes an email of 254 characters and
// refuses one of 255, and the document says the same of every email a
// request carries.
func TestOpenAPIEmailLimit(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	v := newOASCheck(t, app)
	owner, staff := app.mustUser(t, false), app.mustUser(t, true)
	fits, over := oasEmail(254), oasEmail(255)
	if len(fits) != 254 || len(over) != 255 {
		t.Fatalf("oasEmail: lengths %d and %d", len(fits), len(over))
	}
	const tooLong = "Ensure this field has no more than 254 characters."
	wantTooLong := func(r *response) {
		t.Helper()
		if msgs := r.json(t)["email"]; !slices.Equal(oasStrings(msgs), []string{tooLong}) {
			t.Errorf("%s %s: email errors %v, want [%q]", r.req.method, r.req.path, msgs, tooLong)
		}
	}

	p := v.do(t, app, request{method: "POST", path: "/api/patients/", token: owner.Access, body: map[string]any{"name": "Long Mail", "email": fits}}, 201).json(t)
	pid := strconv.FormatInt(id(t, p, "id"), 10)
	wantTooLong(v.refused(t, app, request{method: "POST", path: "/api/patients/", token: owner.Access, body: map[string]any{"name": "Longer Mail", "email": over}}, 400))
	wantTooLong(v.refused(t, app, request{method: "PUT", path: "/api/patients/" + pid + "/", token: owner.Access, body: map[string]any{"name": "Long Mail", "email": over}}, 400))
	wantTooLong(v.refused(t, app, request{method: "PATCH", path: "/api/patients/" + pid + "/", token: owner.Access, body: map[string]any{"email": over}}, 400))

	d := v.do(t, app, request{method: "POST", path: "/api/doctors/", token: staff.Access, body: map[string]any{"name": "Dr. Long", "specialization": "Mail", "email": fits}}, 201).json(t)
	did := strconv.FormatInt(id(t, d, "id"), 10)
	wantTooLong(v.refused(t, app, request{method: "POST", path: "/api/doctors/", token: staff.Access, body: map[string]any{"name": "Dr. Longer", "specialization": "Mail", "email": over}}, 400))
	wantTooLong(v.refused(t, app, request{method: "PUT", path: "/api/doctors/" + did + "/", token: staff.Access, body: map[string]any{"name": "Dr. Long", "specialization": "Mail", "email": over}}, 400))
	wantTooLong(v.refused(t, app, request{method: "PATCH", path: "/api/doctors/" + did + "/", token: staff.Access, body: map[string]any{"email": over}}, 400))
}

// oasStrings is a decoded JSON array of strings (nil for anything else).
func oasStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, s := range list {
		str, ok := s.(string)
		if !ok {
			return nil
		}
		out = append(out, str)
	}
	return out
}

// oasOperations lists the operations of the document under /api/ as
// requests, the path parameters filled in with values the router takes.
func oasOperations(doc *openapi3.T) []request {
	fill := strings.NewReplacer("{id}", "1", "{patient_id}", "1", "{file}", "swagger-ui.css")
	var reqs []request
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		for method := range item.Operations() {
			reqs = append(reqs, request{method: method, path: fill.Replace(path)})
		}
	}
	return reqs
}

// TestOpenAPIListsHostAndBodyRefusals: every operation under /api/, GETs
// included, lists the 400 of a Host outside ALLOWED_HOSTS and the 413 of a
// body over the limit, which the server answers before anything else.
func TestOpenAPIListsHostAndBodyRefusals(t *testing.T) {
	t.Parallel()
	app := &testApp{t: t, store: modelstest.Store(t), logs: &syncBuffer{}, clock: &testClock{}}
	cfg := testConfig()
	cfg.AllowedHosts = config.AllowedHosts{"example.com"} // httptest's Host
	router, err := newRouter(routerDeps{cfg: cfg, store: app.store, log: slog.New(slog.NewTextHandler(app.logs, nil))})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	app.router = router
	v := newOASCheck(t, app)
	big := `{"x": "` + strings.Repeat("x", 1<<20) + `"}`
	ops := oasOperations(v.doc)
	if len(ops) < 20 {
		t.Fatalf("only %d operations under /api/", len(ops))
	}
	for _, req := range ops {
		forged := req
		forged.path = "http://evil.example" + req.path
		r := v.do(t, app, forged, http.StatusBadRequest)
		if got := r.json(t)["detail"]; got != "Invalid host header." {
			t.Errorf("%s %s from a forged Host: detail %q", req.method, req.path, got)
		}
		large := req
		large.body = big
		v.do(t, app, large, http.StatusRequestEntityTooLarge)
	}
}

// TestOpenAPIListsConditionalAnswers: the documentation's operations are
// served with http.ServeContent, which answers conditional and range
// requests; the document lists those answers.
func TestOpenAPIListsConditionalAnswers(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	v := newOASCheck(t, app)
	for _, path := range []string{"/api/schema/", "/api/schema/?format=yaml", "/api/docs/", "/api/docs/assets/swagger-ui.css"} {
		tag := v.do(t, app, request{method: "GET", path: path}, http.StatusOK).Header().Get("ETag")
		if tag == "" {
			t.Fatalf("GET %s: no ETag", path)
		}
		get := func(header map[string]string, status int) {
			t.Helper()
			v.do(t, app, request{method: "GET", path: path, header: header}, status)
		}
		get(map[string]string{"If-None-Match": tag}, http.StatusNotModified)
		get(map[string]string{"If-Match": `"another"`}, http.StatusPreconditionFailed)
		get(map[string]string{"Range": "bytes=0-9"}, http.StatusPartialContent)
		get(map[string]string{"Range": "bytes=0-1,4-5"}, http.StatusPartialContent)
		get(map[string]string{"Range": "bytes=999999999-"}, http.StatusRequestedRangeNotSatisfiable)
	}
}

// TestOpenAPIParametersTakeWhatTheServerTakes: list parameters the server
// tolerates (a page size that is not positive or is empty means the
// default, an empty mapping filter is none, an unknown schema format is
// JSON) are valid for the document too.
func TestOpenAPIParametersTakeWhatTheServerTakes(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	v := newOASCheck(t, app)
	u := app.mustUser(t, false)
	for i := range 3 {
		app.do(request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": "Patient " + strconv.Itoa(i)}}).want(t, http.StatusCreated)
	}
	for _, size := range []string{"0", "-5", "", "+0"} {
		for _, list := range []string{"/api/patients/", "/api/doctors/", "/api/mappings/"} {
			page := v.do(t, app, request{method: "GET", path: list + "?page_size=" + url.QueryEscape(size), token: u.Access}, http.StatusOK).json(t)
			if list == "/api/patients/" && len(page["results"].([]any)) != 3 {
				t.Errorf("GET %s?page_size=%s: %d results, want the default page (all 3)", list, size, len(page["results"].([]any)))
			}
		}
	}
	v.do(t, app, request{method: "GET", path: "/api/mappings/?patient_id=&doctor_id=", token: u.Access}, http.StatusOK)
	r := v.do(t, app, request{method: "GET", path: "/api/schema/?format=xml"}, http.StatusOK)
	if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET /api/schema/?format=xml: Content-Type %q, want JSON", ct)
	}
}

// TestOpenAPIPatchWithoutBody: a PATCH without a body (or with {}) is a
// partial update of no field, 200 as in DRF; the document's PATCH bodies
// are optional.
func TestOpenAPIPatchWithoutBody(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	v := newOASCheck(t, app)
	owner, staff := app.mustUser(t, false), app.mustUser(t, true)
	p := app.do(request{method: "POST", path: "/api/patients/", token: owner.Access, body: map[string]any{"name": "Kept Name"}}).want(t, http.StatusCreated).json(t)
	d := app.do(request{method: "POST", path: "/api/doctors/", token: staff.Access, body: map[string]any{"name": "Dr. Kept", "specialization": "Kept", "email": "kept@clinic.example"}}).want(t, http.StatusCreated).json(t)
	for _, tc := range []struct{ path, token, name string }{
		{"/api/patients/" + strconv.FormatInt(id(t, p, "id"), 10) + "/", owner.Access, "Kept Name"},
		{"/api/doctors/" + strconv.FormatInt(id(t, d, "id"), 10) + "/", staff.Access, "Dr. Kept"},
	} {
		for _, body := range []any{nil, map[string]any{}} {
			got := v.do(t, app, request{method: "PATCH", path: tc.path, token: tc.token, body: body}, http.StatusOK).json(t)
			if got["name"] != tc.name {
				t.Errorf("PATCH %s with body %v: name %v, want %q unchanged", tc.path, body, got["name"], tc.name)
			}
		}
	}
}
