package models_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// tcSecondStore opens a second pool and store over the database of dsn: a
// second server process.
func tcSecondStore(t *testing.T, dsn modelstest.DSN) *models.Store {
	t.Helper()
	db, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("second pool: %v", err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	return models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
}

// A revocation through one process reaches the cache of another through
// its listener, within a notification's latency.
func TestTokenCacheRevocationAcrossProcesses(t *testing.T) {
	t.Parallel()
	tcPostgres(t)
	dbA, dsn := modelstest.OpenDSN(t)
	a := models.NewStore(dbA, models.NewHasher(modelstest.CheapHash, 1))
	b := tcSecondStore(t, dsn)
	queriesB := tcCountQueries(t, b.DB())
	tcStart(t, a, tcOptions())
	tcStart(t, b, tcOptions())
	super := tcSuper(t, a)

	cases := []struct {
		name   string
		revoke func(u *models.User, access, refresh string) error
	}{
		{"logout", func(u *models.User, access, refresh string) error {
			return a.Logout(context.Background(), u.ID, refresh, access)
		}},
		{"logout everywhere", func(u *models.User, _, _ string) error {
			return a.RevokeUserTokens(context.Background(), u.ID)
		}},
		{"deactivated by an admin", func(u *models.User, _, _ string) error {
			_, err := a.AdminUpdateUser(context.Background(), super, u.ID, models.UserChanges{Name: u.Name, Email: u.Email})
			return err
		}},
	}
	for i, tc := range cases {
		u := tcUser(t, a, "across"+string(rune('a'+i))+"@example.com", false)
		access, refresh := tcTokens(t, a, u, time.Now().Add(time.Hour))
		tcWarm(t, b, queriesB, access, u)
		if err := tc.revoke(u, access, refresh); err != nil {
			t.Fatalf("%s through A: %v", tc.name, err)
		}
		took := tcWaitFor(t, tc.name+" through A seen by B", func() bool { return tcRefused(t, b, access, u) })
		t.Logf("%s through A: refused by B after %v", tc.name, took)
	}
}

// While the listener is disconnected the cache is bypassed (every request
// asks the database, so a revocation that nobody announced to this
// process is still seen at once), and after it reconnects the cache starts
// empty.
func TestTokenCacheBypassedWhileListenerDown(t *testing.T) {
	t.Parallel()
	tcPostgres(t)
	db, dsn := modelstest.OpenDSN(t)
	store := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	other := tcSecondStore(t, dsn)
	queries := tcCountQueries(t, store.DB())
	proxy := newTCPProxy(t, dsn.DSN)
	opts := tcOptions()
	opts.ListenDSN = proxy.dsn
	var listenErrors atomic.Int64
	opts.OnListenError = func(error) { listenErrors.Add(1) }
	tcStart(t, store, opts)

	u := tcUser(t, store, "down@example.com", false)
	v := tcUser(t, store, "stays@example.com", false)
	access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
	kept, _ := tcTokens(t, store, v, time.Now().Add(time.Hour))
	tcWarm(t, store, queries, access, u)
	tcWarm(t, store, queries, kept, v)

	proxy.cut()
	tcWaitFor(t, "cache bypassed after the listener's connection is cut", func() bool { return !store.TokenCacheLive() })
	before := queries.Load()
	for range 3 {
		tcAuth(t, store, kept, v)
	}
	if n := queries.Load() - before; n != 3 {
		t.Fatalf("listener down: 3 AuthenticateToken ran %d queries, want 3", n)
	}
	// Revoked by another process while nobody could tell this one.
	if err := other.RevokeUserTokens(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	if !tcRefused(t, store, access, u) {
		t.Fatal("listener down: a token revoked by another process still authenticates")
	}
	if listenErrors.Load() == 0 {
		t.Error("OnListenError was not called")
	}

	proxy.restore()
	tcWaitFor(t, "cache live after the listener reconnects", store.TokenCacheLive)
	before = queries.Load()
	tcAuth(t, store, kept, v)
	if n := queries.Load() - before; n != 1 {
		t.Fatalf("after reconnecting: first AuthenticateToken ran %d queries, want 1 (the cache starts empty)", n)
	}
	tcWarm(t, store, queries, kept, v)
	if !tcRefused(t, store, access, u) {
		t.Fatal("after reconnecting: the revoked token authenticates")
	}
}

// A listener whose connection stops delivering without failing (a silent
// network fault) cannot prove it is in sync: the cache is bypassed within
// two sync intervals, and used again once the connection delivers.
func TestTokenCacheBypassedWhileListenerStalls(t *testing.T) {
	t.Parallel()
	tcPostgres(t)
	db, dsn := modelstest.OpenDSN(t)
	store := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	queries := tcCountQueries(t, store.DB())
	proxy := newTCPProxy(t, dsn.DSN)
	opts := tcOptions()
	opts.ListenDSN = proxy.dsn
	opts.SyncInterval = 50 * time.Millisecond
	tcStart(t, store, opts)
	u := tcUser(t, store, "stall@example.com", false)
	access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
	tcWarm(t, store, queries, access, u)

	proxy.pause()
	took := tcWaitFor(t, "cache bypassed while the listener stalls", func() bool { return !store.TokenCacheLive() })
	t.Logf("bypassed %v after the stall", took)
	before := queries.Load()
	tcAuth(t, store, access, u)
	if n := queries.Load() - before; n != 1 {
		t.Fatalf("listener stalled: AuthenticateToken ran %d queries, want 1", n)
	}
	proxy.resume()
	tcWaitFor(t, "cache live after the stall", store.TokenCacheLive)
	tcWarm(t, store, queries, access, u)
}

// tcpProxy forwards TCP connections to PostgreSQL, and can cut them or
// stall them: the network faults a listener must survive.
type tcpProxy struct {
	ln     net.Listener
	target string
	dsn    string // the test database's DSN through the proxy

	mu      sync.Mutex
	cond    *sync.Cond
	conns   []net.Conn
	refuse  bool
	stalled bool
}

// newTCPProxy proxies the server of dsn until the test ends.
func newTCPProxy(t *testing.T, dsn string) *tcpProxy {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("DSN must be a URL: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: u.Host}
	p.cond = sync.NewCond(&p.mu)
	u.Host = ln.Addr().String()
	p.dsn = u.String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.accept()
	}()
	t.Cleanup(func() {
		p.resume()
		_ = ln.Close()
		p.cut()
		<-done
	})
	return p
}

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst, holding data back while the proxy is stalled.
func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stalled {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every proxied connection and refuses new ones until restore.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = false
}

// pause holds back every byte, in both directions, without closing
// anything: a silent network fault.
func (p *tcpProxy) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

func (p *tcpProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = false
	p.cond.Broadcast()
}
