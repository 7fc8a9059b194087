package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"healthcare/models"
)

// The admin panel's test harness: a cookie-keeping client that logs in
// through the real login form and sends the CSRF token the pages carry,
// over the production router (newTestApp).

// admClient is one browser session of the admin panel.
type admClient struct {
	t       *testing.T
	app     *testApp
	cookies map[string]*http.Cookie
	csrf    string
	ctx     context.Context // of its requests; nil: the background
}

// admResponse is a recorded admin response.
type admResponse struct {
	*httptest.ResponseRecorder
	method, path string
	parsed       *goquery.Document
}

// admAnon is a client without a session.
func (app *testApp) admAnon(t *testing.T) *admClient {
	return &admClient{t: t, app: app, cookies: map[string]*http.Cookie{}}
}

// admUser creates an active user with the given flags through the store.
func (app *testApp) admUser(t *testing.T, staff, superuser bool) *testUser {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	email := "staff" + strconv.Itoa(n) + "@clinic.example"
	u, err := app.store.CreateUser(context.Background(), models.NewUser{
		Name: "Staff " + strconv.Itoa(n), Email: email, Password: testPassword,
		IsActive: true, IsStaff: staff, IsSuperuser: superuser,
	})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return &testUser{ID: u.ID, Email: email, Password: testPassword, Name: u.Name}
}

// admLogin logs u in through the login form and returns the session.
func (app *testApp) admLogin(t *testing.T, u *testUser) *admClient {
	t.Helper()
	cl := app.admAnon(t)
	cl.get("/admin/login/").want(t, http.StatusOK)
	res := cl.post("/admin/login/", url.Values{"email": {u.Email}, "password": {u.Password}})
	res.want(t, http.StatusSeeOther)
	if loc := res.Header().Get("Location"); loc != "/admin/" {
		t.Fatalf("login: Location = %q, want /admin/", loc)
	}
	cl.get("/admin/").want(t, http.StatusOK) // picks up the new CSRF token
	return cl
}

// admStaff is a logged-in staff user (not superuser).
func (app *testApp) admStaff(t *testing.T) (*testUser, *admClient) {
	u := app.admUser(t, true, false)
	return u, app.admLogin(t, u)
}

// admSuper is a logged-in superuser.
func (app *testApp) admSuper(t *testing.T) (*testUser, *admClient) {
	u := app.admUser(t, true, true)
	return u, app.admLogin(t, u)
}

// download GETs path from srv, a real server (a download can be cut only
// on a connection), with cl's session, in ctx, and reads the whole body:
// the response (nil when the request failed before its headers), what
// arrived, and the error that stopped it (nil: the download is complete).
func (cl *admClient) download(ctx context.Context, srv *httptest.Server, path string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cl.cookies {
		req.AddCookie(c)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func (cl *admClient) do(method, path string, body url.Values, header map[string]string) *admResponse {
	cl.t.Helper()
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(body.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if cl.ctx != nil {
		r = r.WithContext(cl.ctx)
	}
	for _, c := range cl.cookies {
		r.AddCookie(c)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	cl.app.router.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(cl.cookies, c.Name)
		} else {
			cl.cookies[c.Name] = c
		}
	}
	res := &admResponse{ResponseRecorder: w, method: method, path: path}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		if tok, ok := res.doc(cl.t).Find(`input[name="csrf_token"]`).First().Attr("value"); ok && tok != "" {
			cl.csrf = tok
		}
	}
	return res
}

// get sends GET path.
func (cl *admClient) get(path string) *admResponse {
	cl.t.Helper()
	return cl.do(http.MethodGet, path, nil, nil)
}

// post sends form to path with the session's CSRF token.
func (cl *admClient) post(path string, form url.Values) *admResponse {
	cl.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if _, ok := f["csrf_token"]; !ok {
		f.Set("csrf_token", cl.csrf)
	}
	return cl.do(http.MethodPost, path, f, nil)
}

// token returns the session cookie's value ("" without one).
func (cl *admClient) token() string {
	if c := cl.cookies["admin_session"]; c != nil {
		return c.Value
	}
	return ""
}

// want fails the test unless the status is status.
func (r *admResponse) want(t *testing.T, status int) *admResponse {
	t.Helper()
	if r.Code != status {
		body := r.Body.String()
		if len(body) > 3000 {
			body = body[:3000]
		}
		t.Fatalf("%s %s: status = %d, want %d; Location %q; body: %s", r.method, r.path, r.Code, status,
			r.Header().Get("Location"), body)
	}
	return r
}

// wantRedirect fails the test unless the answer is 303 to location.
func (r *admResponse) wantRedirect(t *testing.T, location string) *admResponse {
	t.Helper()
	r.want(t, http.StatusSeeOther)
	if got := r.Header().Get("Location"); got != location {
		t.Fatalf("%s %s: Location = %q, want %q", r.method, r.path, got, location)
	}
	return r
}

// doc parses the body as HTML.
func (r *admResponse) doc(t *testing.T) *goquery.Document {
	t.Helper()
	if r.parsed == nil {
		d, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body.String()))
		if err != nil {
			t.Fatalf("%s %s: parse HTML: %v", r.method, r.path, err)
		}
		r.parsed = d
	}
	return r.parsed
}

// testid returns the elements with data-testid id, failing if none.
func (r *admResponse) testid(t *testing.T, id string) *goquery.Selection {
	t.Helper()
	s := r.doc(t).Find(`[data-testid="` + id + `"]`)
	if s.Length() == 0 {
		t.Fatalf("%s %s: no element with data-testid=%q", r.method, r.path, id)
	}
	return s
}

// text is the trimmed text of the elements with data-testid id.
func (r *admResponse) text(t *testing.T, id string) string {
	t.Helper()
	return strings.Join(strings.Fields(r.testid(t, id).Text()), " ")
}

// has reports whether an element with data-testid id exists.
func (r *admResponse) has(t *testing.T, id string) bool {
	t.Helper()
	return r.doc(t).Find(`[data-testid="`+id+`"]`).Length() > 0
}

// admPatient creates a patient of owner through the store.
func (app *testApp) admPatient(t *testing.T, owner int64, name string, edit ...func(*models.Patient)) *models.Patient {
	t.Helper()
	p := &models.Patient{Name: name}
	for _, e := range edit {
		e(p)
	}
	if err := app.store.CreatePatient(context.Background(), owner, p); err != nil {
		t.Fatalf("create patient: %v", err)
	}
	return p
}

// newExportApp is a test app with n patients of one owner ("Patient 000",
// ...) added in batches, and a staff member's client to export them: more
// than one batch of an export (500) for the tests that cut an export
// between its batches.
func newExportApp(t *testing.T, n int) (*testApp, *admClient) {
	t.Helper()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	ps := make([]models.Patient, n)
	for i := range ps {
		ps[i] = models.Patient{Name: fmt.Sprintf("Patient %03d", i), CreatedByID: owner.ID, Gender: "other"}
	}
	if err := app.store.DB().CreateInBatches(ps, 100).Error; err != nil {
		t.Fatalf("seed: %v", err)
	}
	return app, cl
}

// secondExportBatch counts the export's queries of its table, as gorm's
// Query callbacks see them, up to the one that reads its second batch. The
// ids come first through Rows, which runs the Row callbacks instead, so the
// count is the first batch, then the second.
const secondExportBatch = 2

// admMapping assigns doctor to patient through the store.
func (app *testApp) admMapping(t *testing.T, owner, patient, doctor int64) *models.Mapping {
	t.Helper()
	m := &models.Mapping{PatientID: patient, DoctorID: doctor}
	if err := app.store.CreateMapping(context.Background(), owner, m); err != nil {
		t.Fatalf("create mapping: %v", err)
	}
	return m
}

// admEvents returns the audit events of objectType id, oldest first.
func (app *testApp) admEvents(t *testing.T, f models.AuditFilter) []models.AuditEvent {
	t.Helper()
	var out []models.AuditEvent
	if err := app.store.EachAuditEvent(context.Background(), f, func(ev models.AuditEvent) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatalf("audit events: %v", err)
	}
	return out
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// goquerySelection shortens goquery's type in Each callbacks.
type goquerySelection = goquery.Selection
