package main

import (
	"context"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/handlers"
	"healthcare/models"
)

// Work that must finish once a request has been received whole is done
// even if its client hangs up: a logout, a revocation, the record of a
// check that was made. net/http reports a hang-up by cancelling the
// request's context; these tests cancel it at the moment a given
// statement begins.

// hangUps cancels the context of the next armed request when fire is
// called: when a statement of one kind on one table begins (hangUpAt), or
// at any hook a test gives it.
type hangUps struct {
	mu     sync.Mutex
	cancel func()
	n      int
}

// fire hangs up the armed request, if any.
func (h *hangUps) fire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cancel != nil {
		h.cancel()
		h.cancel = nil
		h.n++
	}
}

// hangUpAt makes the client of a request sent with hangUps.next hang up
// when a statement of kind ("create", "update") on table begins.
func hangUpAt(t *testing.T, app *testApp, kind, table string) *hangUps {
	t.Helper()
	h := &hangUps{}
	fn := func(tx *gorm.DB) {
		if tx.Statement.Table == table {
			h.fire()
		}
	}
	db, name := app.store.DB(), "test:hang-up-at-"+kind+"-"+table
	var err error
	switch kind {
	case "create":
		err = db.Callback().Create().Before("gorm:create").Register(name, fn)
	case "update":
		err = db.Callback().Update().Before("gorm:update").Register(name, fn)
	default:
		t.Fatalf("hangUpAt: kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// next is the context of a request whose client hangs up at the statement
// (cancelled as net/http cancels it when the connection closes).
func (h *hangUps) next(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	return h.arm(t, ctx, cancel)
}

// arm makes cancel, which cancels ctx, run at the statement.
func (h *hangUps) arm(t *testing.T, ctx context.Context, cancel context.CancelFunc) context.Context {
	t.Cleanup(cancel)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancel = cancel
	return ctx
}

// wantHungUp fails t unless the clients hung up n times in all: a test
// whose statement never ran would test nothing.
func (h *hangUps) wantHungUp(t *testing.T, n int) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n != n {
		t.Fatalf("the clients hung up %d times, want %d: the statement was not reached", h.n, n)
	}
}

func TestHangUpDuringLogout(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	h := hangUpAt(t, app, "update", "token_families")
	app.do(request{method: "POST", path: "/api/auth/logout/", token: u.Access, body: map[string]string{"refresh": u.Refresh},
		ctx: h.next(t)})
	h.wantHungUp(t, 1)
	authWant401(t, authMe(app, u.Access), "", true)
	authWant401(t, authRefresh(app, u.Refresh), "", true)
}

func TestHangUpDuringLogoutEverywhere(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	h := hangUpAt(t, app, "update", "token_families")
	app.do(request{method: "POST", path: "/api/auth/logout/all/", token: u.Access, ctx: h.next(t)})
	h.wantHungUp(t, 1)
	authWant401(t, authRefresh(app, u.Refresh), "", true)
}

// Reuse of a rotated refresh token (theft) revokes its family, the
// successor included, whether or not the presenter waits for its 401.
func TestHangUpDuringReuseRevocation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	successor, _ := authTokens(t, authRefresh(app, u.Refresh).want(t, http.StatusOK))
	h := hangUpAt(t, app, "update", "token_families")
	app.do(request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]string{"refresh": u.Refresh},
		ctx: h.next(t)})
	h.wantHungUp(t, 1)
	authWant401(t, authMe(app, successor), "", true)
	var reuses int
	for _, ev := range app.admEvents(t, models.AuditFilter{ObjectType: models.ObjectToken, Action: models.ActionTokenRefresh}) {
		if ev.Outcome == models.OutcomeFailure && strings.Contains(ev.Changes, "reused_token_family") {
			reuses++
		}
	}
	if reuses != 1 {
		t.Errorf("%d reuse events in the trail, want 1", reuses)
	}
}

// Each wrong password checked counts toward the per-email lock (and is in
// the trail), even if the guesser hangs up before the 401.
func TestHangUpDuringFailedLogins(t *testing.T) {
	t.Parallel()
	const limit = 3
	app := newTestApp(t, func(o *handlers.Options) { o.LoginFailures.Events = limit })
	u := app.mustUser(t, false)
	h := hangUpAt(t, app, "create", "audit_events")
	for i := range limit {
		app.do(request{method: "POST", path: "/api/auth/login/", ctx: h.next(t),
			body: map[string]string{"email": u.Email, "password": "wrong-" + strconv.Itoa(i)}})
	}
	h.wantHungUp(t, limit)
	app.do(request{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": u.Email, "password": u.Password}}).
		want(t, http.StatusTooManyRequests)
	if n := len(app.admEvents(t, models.AuditFilter{Action: models.ActionLoginFailed})); n != limit {
		t.Errorf("%d failed logins in the trail, want %d", n, limit)
	}
}

// The admin's logout records the logout, then deletes the session: a
// client that hangs up during the record keeps no live session.
func TestHangUpDuringAdminLogout(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.admUser(t, true, false)
	cl := app.admLogin(t, staff)
	cookies := maps.Clone(cl.cookies)
	h := hangUpAt(t, app, "create", "audit_events")
	cl.ctx = h.next(t)
	cl.post("/admin/logout/", nil)
	cl.ctx = nil
	h.wantHungUp(t, 1)

	cl.cookies = cookies // kept by the client, as a copy of the cookie would be
	if res := cl.get("/admin/"); res.Code == http.StatusOK || !strings.HasPrefix(res.Header().Get("Location"), "/admin/login/") {
		t.Errorf("GET /admin/ with the session of a logout = %d (Location %q), want a redirect to the login page",
			res.Code, res.Header().Get("Location"))
	}
	if n := len(app.admEvents(t, models.AuditFilter{UserID: staff.ID, Action: models.ActionLogout})); n != 1 {
		t.Errorf("%d logout events in the trail, want 1", n)
	}
}

// A client that hangs up is no failure of the server's: its request's
// access log line is at info with client_closed=true, whatever status was
// written to no one, it is counted as client_closed, and no database
// failure is logged. The server's own cancel at shutdown is told apart: a
// failure, logged with its cause (the database's error says only
// "context canceled").
func TestHangUpIsLoggedAndCountedAsClientClosed(t *testing.T) {
	t.Parallel()
	app, m := metApp(t, nil, nil)
	u := app.mustUser(t, false)
	h := hangUpAt(t, app, "create", "patients")
	create := request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]string{"name": "Hung up"}}
	create.ctx = h.next(t)
	app.do(create)
	shuttingDown, cutRequests := requestsContext() // the server's cut at shutdown
	create.ctx = h.arm(t, shuttingDown, cutRequests)
	app.do(create)
	h.wantHungUp(t, 2)

	var lines []string
	for _, line := range strings.Split(app.logs.String(), "\n") {
		if strings.Contains(line, "route=/api/patients ") || strings.Contains(line, "database unavailable") {
			lines = append(lines, line)
		}
	}
	if len(lines) != 3 ||
		!strings.Contains(lines[0], "level=INFO msg=request method=POST route=/api/patients status=503") ||
		!strings.HasSuffix(lines[0], " client_closed=true") ||
		!strings.Contains(lines[1], `level=WARN msg="database unavailable"`) ||
		!strings.HasSuffix(lines[1], ` error="the server is shutting down"`) ||
		!strings.Contains(lines[2], "level=ERROR msg=request method=POST route=/api/patients status=503") ||
		strings.Contains(lines[2], "client_closed") {
		t.Errorf("log lines of a hang-up and of a shutdown's cancel:\n%s\n"+
			"want the hang-up at INFO with client_closed=true and no cause; the cut's cause, then the cut at ERROR without",
			strings.Join(lines, "\n"))
	}
	fams := metFamilies(t, m)
	for status, want := range map[string]float64{"client_closed": 1, "503": 1} {
		labels := map[string]string{"method": "POST", "route": "/api/patients", "status": status}
		if n := metCounter(fams, "http_requests_total", labels); n != want {
			t.Errorf("http_requests_total%v = %v, want %v", labels, n, want)
		}
	}
}

// A request without a body is cancelled as soon as its client closes
// (net/http reads ahead): an app that sends logout-all and closes at once
// is logged out all the same, its token's check included.
func TestHangUpBeforeLogoutEverywhereIsChecked(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	gone, hangUp := context.WithCancel(context.Background())
	hangUp()
	app.do(request{method: "POST", path: "/api/auth/logout/all/", token: u.Access, ctx: gone})
	authWant401(t, authRefresh(app, u.Refresh), "", true)
}

// A guess whose hash ran counts toward the per-email lock whether or not
// the email has an account, even if its client hung up during the hash:
// were only an account's counted, the lock would tell which emails have
// accounts.
func TestHangUpDuringTheHashCountsForAnyEmail(t *testing.T) {
	t.Parallel()
	const limit = 3
	for _, account := range []bool{true, false} {
		app := newTestApp(t, func(o *handlers.Options) { o.LoginFailures.Events = limit })
		email := "nobody@example.com"
		if account {
			email = app.mustUser(t, false).Email
		}
		// The hasher calls it once a hash has its slot, before it runs.
		h := &hangUps{}
		app.store.Hasher().ShareCPUWith(func() int64 { h.fire(); return 0 })
		for i := range limit {
			app.do(request{method: "POST", path: "/api/auth/login/", ctx: h.next(t),
				body: map[string]string{"email": email, "password": "wrong-" + strconv.Itoa(i)}})
		}
		h.wantHungUp(t, limit)
		app.do(request{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": email, "password": "another"}}).
			want(t, http.StatusTooManyRequests)
	}
}

// A download its client cancels part-way is no failure of the server's:
// the cut is logged at info, as the request is (client_closed=true), not
// at error, and the export's failure is still recorded in the audit log.
// A server-side failure part-way stays an error
// (TestAdminExportCutShortIsAFailedDownload).
func TestHangUpDuringAnExport(t *testing.T) {
	t.Parallel()
	app, cl := newExportApp(t, 700)
	// The client hangs up as the export reads its second batch, once the
	// first is out; the read waits until the server has seen the hang-up
	// (net/http notices a closed connection in the background).
	h := &hangUps{}
	var reads int
	db, name := app.store.DB(), "test:hang-up-at-second-export-batch"
	err := db.Callback().Query().Before("gorm:query").Register(name, func(tx *gorm.DB) {
		if tx.Statement.Table == "patients" {
			if reads++; reads == secondExportBatch {
				h.fire()
				select {
				case <-tx.Statement.Context.Done():
				case <-time.After(10 * time.Second): // the assertions below fail
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Callback().Query().Remove(name) })

	srv := httptest.NewServer(app.router)
	defer srv.Close()
	if _, _, err := cl.download(h.next(t), srv, "/admin/patients/export/"); err == nil {
		t.Fatal("the download read as complete")
	}
	h.wantHungUp(t, 1)
	srv.Close() // waits for the handler's end, and its log lines

	var lines []string
	for _, line := range strings.Split(app.logs.String(), "\n") {
		if strings.Contains(line, "export") {
			lines = append(lines, line)
		}
	}
	if len(lines) != 2 ||
		!strings.Contains(lines[0], `level=INFO msg="csv export cut short" export=patients`) ||
		!strings.Contains(lines[1], "level=INFO msg=request method=GET route=/admin/patients/export status=200") ||
		!strings.HasSuffix(lines[1], " client_closed=true") {
		t.Errorf("log lines of a cancelled download:\n%s\nwant the cut and the request at INFO, the request client_closed=true",
			strings.Join(lines, "\n"))
	}
	wantExportEvents(t, app, models.OutcomeSuccess, models.OutcomeFailure)
}

// A download the server's shutdown cuts (its requests' context cancelled
// with errShuttingDown) is logged with that cause, not as the database's
// "unavailable", which sent operators looking for a database outage.
func TestShutdownCutOfAnExportNamesItsCause(t *testing.T) {
	t.Parallel()
	app, cl := newExportApp(t, 700)
	requests, cutRequests := requestsContext()
	defer cutRequests()
	var reads atomic.Int32
	db, name := app.store.DB(), "test:shutdown-at-second-export-batch"
	err := db.Callback().Query().Before("gorm:query").Register(name, func(tx *gorm.DB) {
		if tx.Statement.Table == "patients" && reads.Add(1) == secondExportBatch {
			cutRequests()
			<-tx.Statement.Context.Done()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Callback().Query().Remove(name) })

	srv := httptest.NewUnstartedServer(app.router)
	srv.Config.BaseContext = func(net.Listener) context.Context { return requests }
	srv.Start()
	defer srv.Close()
	if _, _, err := cl.download(t.Context(), srv, "/admin/patients/export/"); err == nil {
		t.Fatal("the download read as complete")
	}
	srv.Close() // waits for the handler's end, and its log lines
	var cut string
	for _, line := range strings.Split(app.logs.String(), "\n") {
		if strings.Contains(line, "csv export cut short") {
			cut = line
		}
	}
	if !strings.Contains(cut, "level=ERROR") || !strings.HasSuffix(cut, `error="the server is shutting down"`) {
		t.Errorf("the shutdown's cut of an export is logged as %q, want an error naming the shutdown", cut)
	}
}
