package models

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

// The cache's own rules, without a database: bounded, outdated by
// revocations and reconnects, off while not live.

// liveCache is a cache whose listener has just proved itself in sync.
func liveCache(opts TokenCacheOptions) *tokenCache {
	c := newTokenCache(opts)
	c.synced(c.elapsed())
	return c
}

func TestTokenCacheStaysBounded(t *testing.T) {
	t.Parallel()
	c := liveCache(TokenCacheOptions{TTL: time.Minute, MaxEntries: 64})
	exp := time.Now().Add(time.Hour)
	for i := range 1000 {
		u := User{ID: int64(i % 50)}
		c.put("jti-"+strconv.Itoa(i), c.ticket(u.ID), u, exp)
		if n := c.len(); n > 64 {
			t.Fatalf("after %d puts: %d entries, want at most 64", i+1, n)
		}
	}
	if _, ok := c.get("jti-999", 999%50); !ok {
		t.Error("the latest entry was evicted")
	}
	// Dead entries go first, and the listener's sweep drops them.
	c.forget(1, 2, 3)
	c.sweep()
	for jti, e := range c.entries {
		if id := e.user.ID; id >= 1 && id <= 3 {
			t.Fatalf("sweep kept %s of forgotten user %d", jti, id)
		}
	}
}

func TestTokenCacheOutdatedEntries(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour)
	alice, bob := User{ID: 7, Email: "alice@example.com"}, User{ID: 8}

	c := liveCache(TokenCacheOptions{TTL: time.Minute})
	c.put("a", c.ticket(alice.ID), alice, exp)
	c.put("b", c.ticket(bob.ID), bob, exp)
	if u, ok := c.get("a", alice.ID); !ok || u.Email != alice.Email {
		t.Fatalf("get(a) = %v, %v; want alice", u, ok)
	}
	if _, ok := c.get("a", bob.ID); ok {
		t.Error("get(a) for another user id hit")
	}
	c.forget(alice.ID)
	if _, ok := c.get("a", alice.ID); ok {
		t.Error("a forgotten user's token hit")
	}
	if _, ok := c.get("b", bob.ID); !ok {
		t.Error("forgetting alice dropped bob's token")
	}

	// A request that asked the database before a revocation committed
	// and caches its answer after: refused.
	tk := c.ticket(alice.ID)
	c.forget(alice.ID)
	c.put("a", tk, alice, exp)
	if _, ok := c.get("a", alice.ID); ok {
		t.Error("an answer read before a revocation was cached")
	}

	// Reconnecting outdates everything, and so does a read before it.
	tk = c.ticket(bob.ID)
	c.clear()
	if _, ok := c.get("b", bob.ID); ok {
		t.Error("an entry survived clear")
	}
	c.put("b", tk, bob, exp)
	if _, ok := c.get("b", bob.ID); ok {
		t.Error("an answer read before clear was cached")
	}
}

func TestTokenCacheOffWhileNotLive(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour)
	u := User{ID: 1}
	// A long interval, so that no stall of the machine between the steps
	// below counts as a missed sync; the missed syncs are made by hand.
	const interval = time.Minute
	c := newTokenCache(TokenCacheOptions{TTL: time.Hour, SyncInterval: interval})
	c.start = c.start.Add(-time.Hour) // room for syncs in the past
	c.put("a", c.ticket(u.ID), u, exp)
	if c.len() != 0 {
		t.Fatal("a cache that was never live stored an entry")
	}
	c.synced(c.elapsed())
	c.put("a", c.ticket(u.ID), u, exp)
	if _, ok := c.get("a", u.ID); !ok {
		t.Fatal("live cache: miss")
	}
	c.synced(c.elapsed() - int64(2*interval+time.Second)) // the last sync, past 2 intervals ago
	if _, ok := c.get("a", u.ID); ok {
		t.Error("a cache whose listener has not synced for 2 intervals answered")
	}
	c.synced(c.elapsed())
	c.down()
	if _, ok := c.get("a", u.ID); ok || c.len() != 0 {
		t.Error("a cache whose listener is down answered or kept entries")
	}
}

func TestTokenCacheExpiry(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	c := liveCache(TokenCacheOptions{TTL: 2 * time.Second, Now: clock})
	u := User{ID: 1}
	c.put("long", c.ticket(u.ID), u, now.Add(time.Hour))
	c.put("short", c.ticket(u.ID), u, now.Add(time.Second))
	now = now.Add(1500 * time.Millisecond)
	if _, ok := c.get("long", u.ID); !ok {
		t.Error("within TTL: miss")
	}
	if _, ok := c.get("short", u.ID); ok {
		t.Error("past the token's expiry: hit")
	}
	now = now.Add(time.Second)
	if _, ok := c.get("long", u.ID); ok {
		t.Error("past TTL: hit")
	}
}

// Run with -race.
func TestTokenCacheConcurrentUse(t *testing.T) {
	t.Parallel()
	c := liveCache(TokenCacheOptions{TTL: time.Minute, MaxEntries: 32, SyncInterval: time.Hour})
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				id := int64((w + i) % 10)
				jti := strconv.Itoa(i % 100)
				switch i % 50 {
				case 0:
					c.forget(id)
				case 1:
					c.sweep()
				case 2:
					if w == 0 {
						c.clear()
					}
				default:
					tk := c.ticket(id)
					if _, ok := c.get(jti, id); !ok {
						c.put(jti, tk, User{ID: id}, exp)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := c.len(); n > 32 {
		t.Fatalf("%d entries, want at most 32", n)
	}
}
