package main

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/config"
	"healthcare/models"
	"healthcare/models/modelstest"
)

// secProxy is a TCP proxy to PostgreSQL that a test can cut and restore,
// as a network fault or a database restart would.
type secProxy struct {
	ln     net.Listener
	target string
	state  atomic.Int32 // secProxyUp, secProxyReset or secProxyBlackhole

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

const (
	secProxyUp = iota
	// secProxyReset closes every connection and refuses new ones (accepts
	// and closes at once): the database is down.
	secProxyReset
	// secProxyBlackhole drops every byte both ways and holds new
	// connections open without an answer: a network partition, where only
	// deadlines help.
	secProxyBlackhole
)

func secStartProxy(t *testing.T, target string) *secProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &secProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *secProxy) Addr() string { return p.ln.Addr().String() }

func (p *secProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *secProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *secProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		switch p.state.Load() {
		case secProxyReset:
			_ = client.Close()
			continue
		case secProxyBlackhole:
			p.track(client) // held, never answered, closed on restore
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.track(client)
		p.track(server)
		p.wg.Add(2)
		go p.pipe(server, client)
		go p.pipe(client, server)
	}
}

// pipe copies src to dst until either closes; while blackholed, what it
// reads is dropped.
func (p *secProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.state.Load() == secProxyUp {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut starts an outage of the given kind.
func (p *secProxy) cut(kind int32) {
	p.state.Store(kind)
	if kind == secProxyReset {
		p.closeAll()
	}
}

// restore ends the outage. Connections that lived through a blackhole have
// lost bytes, so they are closed too, as TCP would eventually.
func (p *secProxy) restore() {
	old := p.state.Swap(secProxyUp)
	if old == secProxyBlackhole {
		p.closeAll()
	}
}

// secPostgres returns a fresh migrated PostgreSQL schema, or skips.
func secPostgres(t *testing.T) modelstest.DSN {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	_, dsn := modelstest.OpenDSN(t)
	return dsn
}

// While PostgreSQL is unreachable, /readyz is 503 and API calls are 503
// with the contract's body, within the request deadline, whether the
// connections are refused or hang; once it is back, the same process
// answers 200 again, without a restart.
func TestSecDatabaseOutage(t *testing.T) {
	t.Parallel()
	dsn := secPostgres(t)
	u, err := url.Parse(dsn.DSN)
	if err != nil {
		t.Fatal(err)
	}
	proxy := secStartProxy(t, u.Host)
	u.Host = proxy.Addr()
	const requestTimeout = 2 * time.Second
	db, err := models.Open(context.Background(), models.Postgres, u.String(), models.PoolOptions{MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("open through the proxy: %v", err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	store := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	logs := &syncBuffer{}
	router := secRouter(t, store, logs, func(c *config.Config) { c.RequestTimeout = requestTimeout })
	auth := secLoggedIn(t, store, router, "outage@example.com")

	type call struct {
		method, path, body string
		header             map[string]string
		status             int
		want               string
		bound              time.Duration
	}
	margin := 1500 * time.Millisecond
	down := []call{
		{"GET", "/readyz", "", nil, 503, `{"status":"unavailable"}`, 2*time.Second + margin},
		{"GET", "/api/patients/", "", auth, 503, `{"detail":"Service temporarily unavailable."}`, requestTimeout + margin},
		{"POST", "/api/patients/", `{"name":"Lost"}`, auth, 503, `{"detail":"Service temporarily unavailable."}`, requestTimeout + margin},
		{"GET", "/api/auth/me/", "", auth, 503, `{"detail":"Service temporarily unavailable."}`, requestTimeout + margin},
		{"GET", "/healthz", "", nil, 200, `{"status":"ok"}`, margin},
	}
	up := []call{
		{"GET", "/readyz", "", nil, 200, `{"status":"ok"}`, 0},
		{"GET", "/api/patients/", "", auth, 200, "", 0},
	}
	check := func(phase string, c call) bool {
		start := time.Now()
		w := secServe(router, c.method, c.path, c.body, c.header)
		took := time.Since(start)
		ok := w.Code == c.status && (c.want == "" || w.Body.String() == c.want)
		t.Logf("%s: %s %s = %d in %v", phase, c.method, c.path, w.Code, took.Round(time.Millisecond))
		if c.bound > 0 && took > c.bound {
			t.Errorf("%s: %s %s took %v, want under %v", phase, c.method, c.path, took.Round(time.Millisecond), c.bound)
		}
		if !ok && c.bound > 0 {
			t.Errorf("%s: %s %s = %d %s, want %d %s", phase, c.method, c.path, w.Code, w.Body, c.status, c.want)
		}
		return ok
	}
	for _, c := range up {
		if !check("before the outage", c) {
			t.Fatalf("before the outage: %s %s failed", c.method, c.path)
		}
	}

	for _, kind := range []struct {
		name string
		mode int32
	}{{"refused", secProxyReset}, {"partition", secProxyBlackhole}} {
		proxy.cut(kind.mode)
		for _, c := range down {
			check(kind.name, c)
		}
		// Concurrent callers, more than the pool has connections: each is
		// still answered within its own deadline.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				check(kind.name+" (concurrent)", down[1])
			}()
		}
		wg.Wait()

		proxy.restore()
		recovered := false
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if check("after "+kind.name, up[0]) && check("after "+kind.name, up[1]) {
				recovered = true
				break
			}
		}
		if !recovered {
			t.Fatalf("after the %s outage: the app did not recover within 15s; log:\n%s", kind.name, logs)
		}
	}
	// The writes answered 503 did not happen.
	var n int64
	if err := db.Model(&models.Patient{}).Where("name = ?", "Lost").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d writes that were answered 503 are stored", n)
	}
}

// A database locked by someone else (another process holding SQLite's
// write lock, a PostgreSQL session holding a table lock) for longer than a
// request may wait is not a bug: the request is answered 503 with the
// contract's body by its deadline, changes nothing, and the next request
// after the lock is released succeeds.
func TestSecDatabaseLockedPastTheDeadline(t *testing.T) {
	t.Parallel()
	db, dsn := modelstest.OpenDSN(t)
	store := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	const requestTimeout = time.Second
	logs := &syncBuffer{}
	router := secRouter(t, store, logs, func(c *config.Config) { c.RequestTimeout = requestTimeout })
	auth := secLoggedIn(t, store, router, "locked@example.com")

	// The lock is held on a connection of its own, as another process would.
	other, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(other) })
	sqlDB, err := other.DB()
	if err != nil {
		t.Fatal(err)
	}
	lockConn, err := sqlDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer lockConn.Close()
	lock := []string{"BEGIN IMMEDIATE"}
	if dsn.Driver == models.Postgres {
		lock = []string{"BEGIN", "LOCK TABLE patients IN ACCESS EXCLUSIVE MODE"}
	}
	for _, stmt := range lock {
		if _, err := lockConn.ExecContext(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	for range 2 { // the second on a connection whose wait the first shortened
		start := time.Now()
		w := secServe(router, "POST", "/api/patients/", `{"name":"Waiting"}`, auth)
		took := time.Since(start)
		if w.Code != http.StatusServiceUnavailable || w.Body.String() != `{"detail":"Service temporarily unavailable."}` {
			t.Fatalf("POST while locked = %d %s, want 503 and the contract's body", w.Code, w.Body)
		}
		// By the deadline, with room for a noisy machine under -race; the
		// busy timeout alone, the failure this guards against, is 10 s.
		if took > requestTimeout+4*time.Second {
			t.Errorf("the 503 took %v, the request's deadline is %v", took.Round(time.Millisecond), requestTimeout)
		}
	}
	// The operator's log says why, under the request's id: the driver's
	// error, which the client never sees.
	cause := regexp.MustCompile(`level=WARN msg="database unavailable" request_id=\S+ method=POST route=/api/patients\S* error="?[a-z]`)
	// A client that hangs up while its request waits is no database
	// failure: nothing said about the database.
	ctx, hangUp := context.WithCancel(context.Background())
	req := httptest.NewRequest("POST", "/api/patients/", strings.NewReader(`{"name":"Gone"}`)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range auth {
		req.Header.Set(k, v)
	}
	time.AfterFunc(100*time.Millisecond, hangUp)
	router.ServeHTTP(httptest.NewRecorder(), req)
	if n := len(cause.FindAllString(logs.String(), -1)); n != 2 {
		t.Errorf("%d 503s logged with their cause, want the 2 whose lock outlasted their deadline; log:\n%s", n, logs)
	}
	if _, err := lockConn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	w := secServe(router, "POST", "/api/patients/", `{"name":"After"}`, auth)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST after the lock = %d %s", w.Code, w.Body)
	}
	var names []string
	if err := db.Model(&models.Patient{}).Pluck("name", &names).Error; err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "After" {
		t.Errorf("patients %q, want only the one created after the lock", names)
	}
}

// secLoggedIn creates an active user of email, logs in through router and
// returns the Authorization header of its access token.
func secLoggedIn(t *testing.T, store *models.Store, router http.Handler, email string) map[string]string {
	t.Helper()
	if _, err := store.CreateUser(context.Background(), models.NewUser{
		Name: "Sec " + email, Email: email, Password: testPassword, IsActive: true,
	}); err != nil {
		t.Fatal(err)
	}
	login := secServe(router, "POST", "/api/auth/login/", `{"email":"`+email+`","password":"`+testPassword+`"}`, nil)
	var tokens struct{ Access string }
	if err := json.Unmarshal(login.Body.Bytes(), &tokens); err != nil || login.Code != http.StatusOK || tokens.Access == "" {
		t.Fatalf("login: %d %s", login.Code, login.Body)
	}
	return map[string]string{"Authorization": "Bearer " + tokens.Access}
}

// A database failure that comes back before the request's deadline (a
// refused connection, a connection reset, SQLite's busy wait ending a
// moment early) is logged with its cause by the API and by the admin: the
// deadline's own cancellation, on the way out of its middleware, is no
// client hanging up.
func TestSecUnavailableBeforeTheDeadlineIsLogged(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	cl := app.admLogin(t, app.admUser(t, true, false))
	app.admPatient(t, u.ID, "Listed") // so the changelist reads the table
	// The patients' table answers as a connection reset would, at once;
	// sessions and users (every request's own reads) as usual.
	db := app.store.DB()
	reset := func(tx *gorm.DB) {
		onPatients := tx.Statement.Table == "patients" || strings.Contains(tx.Statement.SQL.String(), "patients")
		if onPatients && !tx.DryRun { // (a dry run writes a subquery)
			_ = tx.AddError(driver.ErrBadConn)
		}
	}
	for _, p := range []interface {
		Register(string, func(*gorm.DB)) error
	}{
		db.Callback().Query().Before("gorm:query"), db.Callback().Row().Before("gorm:row"),
		db.Callback().Raw().Before("gorm:raw"), db.Callback().Create().Before("gorm:create"),
	} {
		if err := p.Register("test:reset-patients", reset); err != nil {
			t.Fatal(err)
		}
	}

	app.do(request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]string{"name": "Reset"}}).
		want(t, http.StatusServiceUnavailable)
	cl.get("/admin/patients/").want(t, http.StatusServiceUnavailable)
	for _, route := range []string{"/api/patients", "/admin/patients"} {
		cause := regexp.MustCompile(`level=WARN msg="database unavailable" request_id=\S+ method=\S+ route=` + route + `/? error="?driver: bad connection`)
		if !cause.MatchString(app.logs.String()) {
			t.Errorf("no cause logged for the 503 of %s; log:\n%s", route, app.logs)
		}
	}
}

// The logouts run to their end even if the client hangs up (untilDone), and
// their 503 is logged with its cause as any other's, hang-up or not: the
// logout's own context was read as a hang-up once cancelled on its way out,
// and no cause was logged.
func TestSecUnavailableLogoutIsLogged(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	db := app.store.DB()
	reset := func(tx *gorm.DB) {
		if tx.Statement.Table == "token_families" {
			_ = tx.AddError(driver.ErrBadConn)
		}
	}
	if err := db.Callback().Update().Before("gorm:update").Register("test:reset-token-families", reset); err != nil {
		t.Fatal(err)
	}
	logged := map[string]int{} // causes logged so far, by path
	for _, hangUp := range []bool{false, true} {
		for _, path := range []string{"/api/auth/logout/", "/api/auth/logout/all/"} {
			u := app.mustUser(t, false)
			r := request{method: "POST", path: path, token: u.Access, body: map[string]string{"refresh": u.Refresh}}
			if hangUp {
				gone, cancel := context.WithCancel(context.Background())
				cancel()
				r.ctx = gone
			}
			app.do(r).want(t, http.StatusServiceUnavailable)
			route := regexp.QuoteMeta(strings.TrimSuffix(path, "/"))
			cause := regexp.MustCompile(`level=WARN msg="database unavailable" request_id=\S+ method=POST route=` + route + `/ error="?driver: bad connection`)
			logged[path]++
			if n := len(cause.FindAllString(app.logs.String(), -1)); n != logged[path] {
				t.Errorf("%s (client hung up: %v): no cause logged for its 503; log:\n%s", path, hangUp, app.logs)
				logged[path] = n
			}
		}
	}
}
