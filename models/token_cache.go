package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// TokenCacheOptions configure the in-process cache of verified access
// tokens (Store.StartTokenCache).
type TokenCacheOptions struct {
	// TTL is how long a token the database verified is trusted without
	// asking it again; 0 disables the cache.
	TTL time.Duration
	// MaxEntries bounds the number of cached tokens; 0 means 10,000.
	MaxEntries int
	// SyncInterval is how often the listener proves that it still hears
	// every notification (it sends one to itself); the cache is bypassed
	// once the last proof is older than twice this. 0 means 1 s.
	SyncInterval time.Duration
	// ListenDSN is where the listener connects; "" means the store's own
	// database. Set it when the pool goes through a pooler that cannot
	// LISTEN (PgBouncer in transaction mode).
	ListenDSN string
	// OnListenError hears why the listener is not connected, once per
	// outage; nil ignores it.
	OnListenError func(error)
	// Now is the clock of the TTL; nil means time.Now.
	Now func() time.Time
}

// The token cache's defaults: how many tokens it holds, and how often its
// listener proves it still hears every notification.
const (
	defaultTokenCacheEntries = 10_000
	defaultTokenCacheSync    = time.Second
)

// DefaultTokenCacheOptions trust a verified token for 5 seconds.
func DefaultTokenCacheOptions() TokenCacheOptions {
	return TokenCacheOptions{TTL: 5 * time.Second, MaxEntries: defaultTokenCacheEntries, SyncInterval: defaultTokenCacheSync}
}

// StartTokenCache lets AuthenticateToken answer from memory, on
// PostgreSQL, for access tokens the database verified less than opts.TTL
// ago. Every revocation announces itself with the commit that makes it
// (notifyAuthChanged); a listener goroutine on a connection of its own
// hears those of every process and drops the user's entries. While the
// listener is not connected and in sync, the cache is bypassed, and it is
// emptied when the listener reconnects. The listener runs until ctx ends or
// stop is called; stop waits for it.
//
// On SQLite, or with a zero TTL, it does nothing: processes sharing an
// SQLite file would have nothing to tell them of each other's revocations,
// and an in-process SQLite query is cheap anyway.
func (s *Store) StartTokenCache(ctx context.Context, opts TokenCacheOptions) (stop func(), err error) {
	if opts.TTL <= 0 || s.db.Dialector.Name() != Postgres {
		return func() {}, nil
	}
	dsn := opts.ListenDSN
	if d, ok := s.db.Dialector.(*postgres.Dialector); ok && dsn == "" {
		dsn = d.DSN
	}
	if dsn == "" {
		return nil, errors.New("token cache: no DSN to listen on: set ListenDSN")
	}
	connConfig, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("token cache: listen DSN: %w", err)
	}
	if _, ok := connConfig.RuntimeParams["application_name"]; !ok {
		connConfig.RuntimeParams["application_name"] = "healthcare token listener"
	}
	c := newTokenCache(opts)
	if !s.tokens.CompareAndSwap(nil, c) {
		return nil, errors.New("token cache: already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	l := &tokenListener{cache: c, db: s.db, config: connConfig, interval: c.interval, onError: opts.OnListenError}
	go func() {
		defer close(done)
		l.run(ctx)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
			s.tokens.CompareAndSwap(c, nil)
		})
	}, nil
}

// TokenCacheLive reports whether AuthenticateToken may answer from memory
// now: the cache is on and its listener connected and in sync.
func (s *Store) TokenCacheLive() bool {
	c := s.tokens.Load()
	return c != nil && c.live()
}

// authChannelSQL is, in SQL, the channel that changes to authentication
// are announced on: one per schema, so that stores over different schemas
// of one database (the tests') do not hear each other. Channel names are
// identifiers: at most 63 bytes.
const authChannelSQL = "'healthcare_auth:' || left(coalesce(current_schema(), ''), 40)"

// notifyAuthChanged announces, when tx commits and only then, that what
// authenticates userIDs changed: tokens revoked, the user deactivated,
// demoted, edited, deleted or given a new password. Every process's
// listener then drops those users' cached tokens. authTx calls it, and
// forgetTokens with the same ids after the commit, for this process at once.
// A no-op on SQLite, which caches nothing.
func notifyAuthChanged(tx *gorm.DB, userIDs ...int64) error {
	if tx.Dialector.Name() != Postgres {
		return nil
	}
	// Payloads must stay under 8000 bytes: 256 ids of at most 20 digits.
	for len(userIDs) > 0 {
		n := min(len(userIDs), 256)
		ids := make([]string, n)
		for i, id := range userIDs[:n] {
			ids[i] = strconv.FormatInt(id, 10)
		}
		if err := tx.Exec("SELECT pg_notify("+authChannelSQL+", ?)", strings.Join(ids, ",")).Error; err != nil {
			return err
		}
		userIDs = userIDs[n:]
	}
	return nil
}

// forgetTokens drops this process's cached tokens of userIDs. Revocations
// call it after their commit: a request that read the token as valid just
// before the commit then cannot cache it (its ticket is outdated).
func (s *Store) forgetTokens(userIDs ...int64) {
	if c := s.tokens.Load(); c != nil {
		c.forget(userIDs...)
	}
}

// authChanged is how a transaction of authTx names the users whose
// authentication it changes, as soon as it knows them.
type authChanged func(userIDs ...int64)

// authTx runs fn in a transaction that may change what authenticates
// users: those fn names through changed are announced with the commit
// (notifyAuthChanged), and this process's cached tokens of them are dropped
// once it returns. The error is fn's (or the commit's), untranslated.
func (s *Store) authTx(ctx context.Context, fn func(tx *gorm.DB, changed authChanged) error) error {
	var userIDs []int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := fn(tx, func(ids ...int64) { userIDs = append(userIDs, ids...) }); err != nil {
			return err
		}
		return notifyAuthChanged(tx, userIDs...)
	})
	// Even after an error: a failed commit may have committed.
	s.forgetTokens(userIDs...)
	return err
}

// genBuckets is the number of per-user generation counters. Users share
// counters by id modulo genBuckets, so memory is fixed; sharing only makes
// one user's revocation drop another's cached tokens too.
const genBuckets = 1024

// tokenCache maps the jti of a verified access token to its user. An entry
// counts only while the cache is live, before its expiry, and while both
// the cache's epoch and the generation of its user's bucket are what they
// were when the request that cached it was about to ask the database: a
// revocation bumps the generation (forget), a reconnect the epoch (clear).
type tokenCache struct {
	ttl      time.Duration
	max      int
	interval time.Duration
	maxLag   time.Duration
	now      func() time.Time
	start    time.Time // origin of syncedAt, on the monotonic clock

	epoch atomic.Uint64
	gens  [genBuckets]atomic.Uint64
	// syncedAt is when (nanoseconds since start) the listener sent the last
	// notification to itself that it has received back: every notification
	// committed before then has been applied. 0 while not connected.
	syncedAt atomic.Int64

	mu      sync.RWMutex
	entries map[string]*cachedToken
}

type cachedToken struct {
	user    User // without the password hash
	expires time.Time
	ticket  ticket
}

// ticket is the state a request notes before it asks the database, so
// that its answer is cached only if nothing was revoked meanwhile.
type ticket struct{ epoch, gen uint64 }

func newTokenCache(opts TokenCacheOptions) *tokenCache {
	c := &tokenCache{ttl: opts.TTL, max: opts.MaxEntries, interval: opts.SyncInterval, now: opts.Now,
		start: time.Now(), entries: map[string]*cachedToken{}}
	if c.max <= 0 {
		c.max = defaultTokenCacheEntries
	}
	if c.interval <= 0 {
		c.interval = defaultTokenCacheSync
	}
	c.maxLag = 2 * c.interval
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

func (c *tokenCache) gen(userID int64) *atomic.Uint64 {
	return &c.gens[uint64(userID)%genBuckets]
}

// elapsed is the time since start on the monotonic clock, at least 1ns.
func (c *tokenCache) elapsed() int64 {
	return max(int64(time.Since(c.start)), 1)
}

// live reports whether the listener has proved, within maxLag, that it
// hears every notification.
func (c *tokenCache) live() bool {
	at := c.syncedAt.Load()
	return at != 0 && c.elapsed()-at <= int64(c.maxLag)
}

// synced records that every notification committed before sentAt (an
// elapsed value) has been applied.
func (c *tokenCache) synced(sentAt int64) {
	c.syncedAt.Store(sentAt)
}

// down bypasses and empties the cache: the listener is not connected, so
// notifications may be missed from now on.
func (c *tokenCache) down() {
	c.syncedAt.Store(0)
	c.clear()
}

// ticket is taken before the database is asked about a token of userID.
func (c *tokenCache) ticket(userID int64) ticket {
	return ticket{epoch: c.epoch.Load(), gen: c.gen(userID).Load()}
}

// get returns a copy of the user of access token jti if the cache may
// answer for it.
func (c *tokenCache) get(jti string, userID int64) (*User, bool) {
	if !c.live() {
		return nil, false
	}
	c.mu.RLock()
	e := c.entries[jti]
	c.mu.RUnlock()
	if e == nil || e.user.ID != userID || e.ticket != c.ticket(userID) || !c.now().Before(e.expires) {
		return nil, false
	}
	u := e.user
	return &u, true
}

// put caches u as the user of access token jti, which expires at
// tokenExpires, unless something was revoked since tk was taken.
func (c *tokenCache) put(jti string, tk ticket, u User, tokenExpires time.Time) {
	expires := c.now().Add(c.ttl)
	if tokenExpires.Before(expires) {
		expires = tokenExpires
	}
	u.PasswordHash = ""
	e := &cachedToken{user: u, expires: expires, ticket: tk}
	if !c.live() || tk != c.ticket(u.ID) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[jti]; !ok && len(c.entries) >= c.max {
		c.makeRoomLocked()
	}
	c.entries[jti] = e
}

// makeRoomLocked drops the dead entries or, if none is dead, a sixteenth
// of the live ones (in map order, which is random), so that inserting
// into a full cache costs O(1) amortized.
func (c *tokenCache) makeRoomLocked() {
	if c.sweepLocked() > 0 {
		return
	}
	n := max(len(c.entries)/16, 1)
	for jti := range c.entries {
		delete(c.entries, jti)
		if n--; n == 0 {
			return
		}
	}
}

// sweep drops expired and outdated entries.
func (c *tokenCache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked()
}

func (c *tokenCache) sweepLocked() int {
	now, n := c.now(), 0
	for jti, e := range c.entries {
		if !now.Before(e.expires) || e.ticket != c.ticket(e.user.ID) {
			delete(c.entries, jti)
			n++
		}
	}
	return n
}

// forget outdates the entries of userIDs.
func (c *tokenCache) forget(userIDs ...int64) {
	for _, id := range userIDs {
		c.gen(id).Add(1)
	}
}

// clear outdates every entry and frees them.
func (c *tokenCache) clear() {
	c.epoch.Add(1)
	c.mu.Lock()
	c.entries = map[string]*cachedToken{}
	c.mu.Unlock()
}

// len is the number of entries, dead ones included.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
