package models_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// The access-token cache (StartTokenCache): a hit costs no query, every
// revocation is seen at once by its own process and within a notification's
// latency by the others, and the cache is bypassed whenever the listener
// cannot vouch for it. The cache runs on PostgreSQL only; on SQLite these
// tests check that it stays off and that revocation still works.

const tcPassword = "cache-Horse-battery-42"

// tcWait bounds how long a test waits for something asynchronous (the
// listener connecting, a notification arriving) on a loaded machine.
const tcWait = 5 * time.Second

// tcCountQueries counts the SELECTs run through db (AuthenticateToken's
// included).
func tcCountQueries(t *testing.T, db *gorm.DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	if err := db.Callback().Query().Before("gorm:query").Register("test:count_queries", func(*gorm.DB) { n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	return &n
}

// tcStart starts store's token cache with opts and waits until it is live
// on PostgreSQL. The cache stops when the test ends.
func tcStart(t *testing.T, store *models.Store, opts models.TokenCacheOptions) {
	t.Helper()
	stop, err := store.StartTokenCache(context.Background(), opts)
	if err != nil {
		t.Fatalf("StartTokenCache: %v", err)
	}
	t.Cleanup(stop)
	if modelstest.Engine() == models.Postgres && opts.TTL > 0 {
		tcWaitFor(t, "token cache live", store.TokenCacheLive)
	}
}

// tcOptions are the defaults with a TTL long enough that only a
// notification can explain an eviction.
func tcOptions() models.TokenCacheOptions {
	opts := models.DefaultTokenCacheOptions()
	opts.TTL = time.Minute
	return opts
}

func tcWaitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > tcWait {
			t.Fatalf("%s: not within %v", what, tcWait)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func tcPostgres(t *testing.T) {
	t.Helper()
	if modelstest.Engine() != models.Postgres {
		t.Skip("the token cache runs on PostgreSQL only: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
}

func tcUser(t *testing.T, store *models.Store, email string, staff bool) *models.User {
	t.Helper()
	u, err := store.CreateUser(context.Background(), models.NewUser{Name: "Cache " + email, Email: email,
		Password: tcPassword, IsActive: true, IsStaff: staff, IsSuperuser: staff})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

// tcSuper creates the store's superuser, the actor of the admin's writes
// (read again in their transactions).
func tcSuper(t *testing.T, store *models.Store) *models.User {
	t.Helper()
	return admStoreUser(t, store, "super@clinic.example", true)
}

// tcTokens records a login's access and refresh tokens for u, expiring at
// exp, and returns their jtis.
func tcTokens(t *testing.T, store *models.Store, u *models.User, exp time.Time) (access, refresh string) {
	t.Helper()
	access, refresh = tcJTI(), tcJTI()
	if _, err := store.StartTokenFamily(context.Background(), u,
		models.IssuedToken{JTI: access, Type: models.AccessToken, ExpiresAt: exp},
		models.IssuedToken{JTI: refresh, Type: models.RefreshToken, ExpiresAt: exp}); err != nil {
		t.Fatalf("StartTokenFamily: %v", err)
	}
	return access, refresh
}

func tcJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tcAuth authenticates access token jti of u and fails unless it is valid.
func tcAuth(t *testing.T, store *models.Store, jti string, u *models.User) *models.User {
	t.Helper()
	got, err := store.AuthenticateToken(context.Background(), jti, u.ID)
	if err != nil {
		t.Fatalf("AuthenticateToken(%s): %v, want user %d", u.Email, err, u.ID)
	}
	if got.ID != u.ID {
		t.Fatalf("AuthenticateToken(%s) = user %d, want %d", u.Email, got.ID, u.ID)
	}
	return got
}

// tcRefused reports whether access token jti of u is refused as
// token_not_valid; any other error fails the test.
func tcRefused(t *testing.T, store *models.Store, jti string, u *models.User) bool {
	t.Helper()
	_, err := store.AuthenticateToken(context.Background(), jti, u.ID)
	if err == nil {
		return false
	}
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.Unauthorized || !e.TokenInvalid {
		t.Fatalf("AuthenticateToken(%s) = %v, want token_not_valid", u.Email, err)
	}
	return true
}

// tcWarm authenticates jti until a call costs no query: served from the
// cache. (A loaded machine may delay the listener's sync past its bound,
// and then the cache rightly stands aside for a moment.)
func tcWarm(t *testing.T, store *models.Store, queries *atomic.Int64, jti string, u *models.User) {
	t.Helper()
	tcAuth(t, store, jti, u)
	tcWaitFor(t, "a cached token costs no query", func() bool {
		before := queries.Load()
		tcAuth(t, store, jti, u)
		return queries.Load() == before
	})
}

func TestTokenCacheHitSkipsDatabase(t *testing.T) {
	t.Parallel()
	tcPostgres(t)
	store := modelstest.Store(t)
	queries := tcCountQueries(t, store.DB())
	tcStart(t, store, tcOptions())
	u := tcUser(t, store, "hit@example.com", false)
	access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))

	before := queries.Load()
	first := tcAuth(t, store, access, u)
	if n := queries.Load() - before; n != 1 {
		t.Fatalf("first AuthenticateToken ran %d queries, want 1", n)
	}
	tcWarm(t, store, queries, access, u)
	before = queries.Load()
	for range 20 {
		got := tcAuth(t, store, access, u)
		if got.Email != u.Email || !got.IsActive || got.PasswordHash != "" {
			t.Fatalf("cached user = %+v, want %s, active, no password hash", got, u.Email)
		}
		got.Email = "changed by a caller@example.com" // must not reach the cache
	}
	if n := queries.Load() - before; n != 0 {
		t.Fatalf("20 AuthenticateToken of a cached token ran %d queries, want 0", n)
	}
	if first.PasswordHash != "" {
		t.Error("AuthenticateToken returned the password hash")
	}
	// The user of the claim must match: a cached jti is no use with
	// another user id.
	if !tcRefused(t, store, access, &models.User{ID: u.ID + 1000, Email: "other"}) {
		t.Error("a cached jti authenticated another user id")
	}
}

// Revocation through the process that cached the token is immediate, and
// so is any admin change to the user: no wait, no TTL.
func TestTokenCacheRevocationInProcessIsImmediate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		revoke func(t *testing.T, store *models.Store, u *models.User, access, refresh string)
	}{
		{"logout", func(t *testing.T, store *models.Store, u *models.User, access, refresh string) {
			if err := store.Logout(context.Background(), u.ID, refresh, access); err != nil {
				t.Fatalf("Logout: %v", err)
			}
		}},
		{"logout everywhere", func(t *testing.T, store *models.Store, u *models.User, _, _ string) {
			if err := store.RevokeUserTokens(context.Background(), u.ID); err != nil {
				t.Fatalf("RevokeUserTokens: %v", err)
			}
		}},
		{"reused refresh token revokes the family", func(t *testing.T, store *models.Store, u *models.User, _, refresh string) {
			exp := time.Now().Add(time.Hour)
			next := []models.IssuedToken{{JTI: tcJTI(), Type: models.AccessToken, ExpiresAt: exp}, {JTI: tcJTI(), Type: models.RefreshToken, ExpiresAt: exp}}
			if err := store.RotateRefresh(context.Background(), refresh, u.ID, next...); err != nil {
				t.Fatalf("RotateRefresh: %v", err)
			}
			if err := store.RotateRefresh(context.Background(), refresh, u.ID); models.ErrorCode(err) != models.Unauthorized {
				t.Fatalf("RotateRefresh (reused) = %v, want unauthorized", err)
			}
		}},
		// Reactivated at once: the tokens of before stay revoked (not just
		// refused while the user is inactive).
		{"deactivated and reactivated by an admin", func(t *testing.T, store *models.Store, u *models.User, _, _ string) {
			super := tcSuper(t, store)
			for _, active := range []bool{false, true} {
				if _, err := store.AdminUpdateUser(context.Background(), super, u.ID,
					models.UserChanges{Name: u.Name, Email: u.Email, IsActive: active}); err != nil {
					t.Fatalf("AdminUpdateUser(active %v): %v", active, err)
				}
			}
		}},
		{"password set by an admin", func(t *testing.T, store *models.Store, u *models.User, _, _ string) {
			if err := store.SetUserPassword(context.Background(), u.ID, "another-Horse-battery-77", ""); err != nil {
				t.Fatalf("SetUserPassword: %v", err)
			}
		}},
		{"deleted by an admin", func(t *testing.T, store *models.Store, u *models.User, _, _ string) {
			if n, err := store.AdminDelete(context.Background(), tcSuper(t, store).ID, models.ObjectUser, []int64{u.ID}); err != nil || n != 1 {
				t.Fatalf("AdminDelete = %d, %v; want 1", n, err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := modelstest.Store(t)
			queries := tcCountQueries(t, store.DB())
			tcStart(t, store, tcOptions())
			u := tcUser(t, store, "revoked@example.com", false)
			bystander := tcUser(t, store, "bystander@example.com", false)
			access, refresh := tcTokens(t, store, u, time.Now().Add(time.Hour))
			other, _ := tcTokens(t, store, bystander, time.Now().Add(time.Hour))
			if store.TokenCacheLive() {
				tcWarm(t, store, queries, access, u)
				tcWarm(t, store, queries, other, bystander)
			}
			tc.revoke(t, store, u, access, refresh)
			if !tcRefused(t, store, access, u) {
				t.Fatalf("%s: the access token still authenticates", tc.name)
			}
			tcAuth(t, store, other, bystander)
		})
	}
}

// An admin's edits of a user who stays active reach the cached snapshot
// at once: a demoted user is no longer staff, a renamed one is renamed.
func TestTokenCacheAdminEditsReachTheSnapshot(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	queries := tcCountQueries(t, store.DB())
	tcStart(t, store, tcOptions())
	u := tcUser(t, store, "staff@clinic.example", true)
	access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
	if store.TokenCacheLive() {
		tcWarm(t, store, queries, access, u)
	}
	if _, err := store.AdminUpdateUser(context.Background(), tcSuper(t, store), u.ID,
		models.UserChanges{Name: "Renamed", Email: "renamed@clinic.example", IsActive: true}); err != nil {
		t.Fatalf("AdminUpdateUser: %v", err)
	}
	got := tcAuth(t, store, access, u)
	if got.IsStaff || got.IsSuperuser || got.Name != "Renamed" || got.Email != "renamed@clinic.example" {
		t.Fatalf("after the admin's edit: %+v, want a renamed non-staff user", got)
	}
}

// A cached answer lasts TTL at most, and never past the token's expiry.
func TestTokenCacheTTL(t *testing.T) {
	t.Parallel()
	tcPostgres(t)
	store := modelstest.Store(t)
	queries := tcCountQueries(t, store.DB())
	clock := &tcClock{t: time.Now()}
	opts := tcOptions()
	opts.TTL, opts.Now = 2*time.Second, clock.Now
	tcStart(t, store, opts)
	u := tcUser(t, store, "ttl@example.com", false)
	access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
	short, _ := tcTokens(t, store, u, clock.Now().Add(500*time.Millisecond))

	missed := func(jti string) bool {
		before := queries.Load()
		tcAuth(t, store, jti, u)
		return queries.Load()-before == 1
	}
	tcWarm(t, store, queries, access, u)
	tcWarm(t, store, queries, short, u)
	clock.Advance(time.Second)
	if missed(access) {
		t.Error("1s into a 2s TTL: asked the database")
	}
	if !missed(short) {
		t.Error("past the token's expiry: answered from the cache")
	}
	clock.Advance(1500 * time.Millisecond)
	if !missed(access) {
		t.Error("past the TTL: answered from the cache")
	}
	if missed(access) {
		t.Error("just re-verified: asked the database")
	}
}

type tcClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *tcClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The cache stays off on SQLite, and with a zero TTL on any engine.
func TestTokenCacheOff(t *testing.T) {
	t.Parallel()
	ttls := []time.Duration{0}
	if modelstest.Engine() == models.SQLite {
		ttls = append(ttls, time.Minute)
	}
	for _, ttl := range ttls {
		store := modelstest.Store(t)
		queries := tcCountQueries(t, store.DB())
		opts := tcOptions()
		opts.TTL = ttl
		tcStart(t, store, opts)
		if store.TokenCacheLive() {
			t.Fatalf("TTL %v on %s: cache live", ttl, modelstest.Engine())
		}
		u := tcUser(t, store, "off@example.com", false)
		access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
		before := queries.Load()
		for range 3 {
			tcAuth(t, store, access, u)
		}
		if n := queries.Load() - before; n != 3 {
			t.Errorf("TTL %v on %s: 3 AuthenticateToken ran %d queries, want 3", ttl, modelstest.Engine(), n)
		}
	}
}

// Under concurrent authentication and revocation (run with -race), no
// request that starts after a revocation returned is let in.
func TestTokenCacheConcurrentRevocation(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	tcStart(t, store, tcOptions())
	const users, workers = 6, 4
	type login struct {
		u       *models.User
		access  string
		revoked atomic.Bool
	}
	logins := make([]*login, users)
	for i := range logins {
		u := tcUser(t, store, "race"+string(rune('a'+i))+"@example.com", false)
		access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
		logins[i] = &login{u: u, access: access}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				l := logins[i%users]
				wasRevoked := l.revoked.Load()
				_, err := store.AuthenticateToken(context.Background(), l.access, l.u.ID)
				if wasRevoked && err == nil {
					bad.Add(1)
				}
				if err != nil && models.ErrorCode(err) != models.Unauthorized {
					t.Errorf("AuthenticateToken: %v", err)
				}
			}
		})
	}
	for _, l := range logins {
		time.Sleep(20 * time.Millisecond)
		if err := store.RevokeUserTokens(context.Background(), l.u.ID); err != nil {
			t.Fatal(err)
		}
		l.revoked.Store(true)
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d requests authenticated with a token revoked before they started", n)
	}
}

// Logout takes only the caller's own refresh token: another user's (whose
// jti the caller learned) is refused and revokes nothing of either.
func TestLogoutRefusesAnotherUsersRefreshToken(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	u := tcUser(t, store, "caller@example.com", false)
	v := tcUser(t, store, "victim@example.com", false)
	uAccess, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
	vAccess, vRefresh := tcTokens(t, store, v, time.Now().Add(time.Hour))
	if err := store.Logout(context.Background(), u.ID, vRefresh, uAccess); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("Logout with another user's refresh token = %v, want unauthorized", err)
	}
	tcAuth(t, store, vAccess, v)
	tcAuth(t, store, uAccess, u)
	next := []models.IssuedToken{{JTI: tcJTI(), Type: models.AccessToken, ExpiresAt: time.Now().Add(time.Hour)}}
	if err := store.RotateRefresh(context.Background(), vRefresh, v.ID, next...); err != nil {
		t.Errorf("the victim's refresh token after the refused logout: %v", err)
	}
}

// Of concurrent logouts with one refresh token, exactly one succeeds and
// is recorded; the others are token_not_valid, as a logout after it is.
// (The race is PostgreSQL's: SQLite's writers run one at a time, so there
// the test can only confirm the outcome; CI runs both.)
func TestConcurrentLogoutsWithOneToken(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	u := tcUser(t, store, "logout@example.com", false)
	for round := range 5 {
		access, refresh := tcTokens(t, store, u, time.Now().Add(time.Hour))
		const n = 6
		errs := make([]error, n)
		modelstest.AtOnce(n, func(i int) { errs[i] = store.Logout(context.Background(), u.ID, refresh, access) })
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case models.ErrorCode(err) != models.Unauthorized:
				t.Errorf("round %d: a losing logout = %v, want token_not_valid", round, err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of %d logouts with one token succeeded, want 1", round, ok, n)
		}
	}
	if events := countRows(t, store.DB(), &models.AuditEvent{}, "action = ? AND outcome = ?", models.ActionLogout, models.OutcomeSuccess); events != 5 {
		t.Errorf("%d logouts recorded, want 5 (one a round)", events)
	}
}
