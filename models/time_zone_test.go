package models_test

import (
	"context"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Zones east and west of UTC, fixed so the test needs no tzdata.
var (
	tokyo   = time.FixedZone("JST", 9*3600)
	newYork = time.FixedZone("EST", -5*3600)
)

// The Store compares instants, whatever zone a caller's time is in. SQLite
// stores a time as text in the zone it was given, so a cutoff in a zone
// east of UTC compared as text with times stored in UTC reads as hours
// later: the hourly purge, called with time.Now() on a host in Tokyo,
// deleted tokens that had hours to live and logged everyone out.
func TestStoreTimesInAnyZone(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := context.Background()
	u := admStoreUser(t, store, "zones@example.com", false)
	now := time.Now()

	access := models.IssuedToken{JTI: "zone-access", Type: models.AccessToken, ExpiresAt: now.Add(5 * time.Minute).In(tokyo).Truncate(time.Second)}
	refresh := models.IssuedToken{JTI: "zone-refresh", Type: models.RefreshToken, ExpiresAt: now.Add(3 * time.Hour).UTC().Truncate(time.Second)}
	if _, err := store.StartTokenFamily(ctx, u, access, refresh); err != nil {
		t.Fatal(err)
	}
	for _, cutoff := range []time.Time{now.Add(-time.Hour).In(tokyo), now.Add(-time.Hour).In(newYork), now.Add(-time.Hour)} {
		if n, err := store.PurgeExpiredTokens(ctx, cutoff); err != nil || n != 0 {
			t.Fatalf("purge before %v = %d, %v; want 0: both tokens are live", cutoff, n, err)
		}
	}
	if _, err := store.AuthenticateToken(ctx, access.JTI, u.ID); err != nil {
		t.Fatalf("the live access token no longer authenticates: %v", err)
	}
	// A cutoff past both ends, in a zone west of UTC, purges both.
	if n, err := store.PurgeExpiredTokens(ctx, now.Add(4*time.Hour).In(newYork)); err != nil || n != 2 {
		t.Fatalf("purge past both tokens' ends = %d, %v; want 2", n, err)
	}

	limits := models.SessionTimeouts{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	session := models.NewSessionToken()
	if err := store.SaveSession(ctx, session, &u.ID, `{}`, now.In(tokyo), limits); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now.Add(time.Minute).In(newYork), now.Add(time.Minute).In(tokyo)} {
		if n, err := store.PurgeExpiredSessions(ctx, at, limits.Idle); err != nil || n != 0 {
			t.Fatalf("purge sessions at %v = %d, %v; want 0: the session is a minute old", at, n, err)
		}
	}
	if _, err := store.Session(ctx, session, now.Add(time.Minute).In(newYork), limits.Idle); err != nil {
		t.Fatalf("the live session was lost: %v", err)
	}
	if n, err := store.PurgeExpiredSessions(ctx, now.Add(time.Hour).In(tokyo), limits.Idle); err != nil || n != 1 {
		t.Fatalf("purge sessions an hour idle = %d, %v; want 1", n, err)
	}
}
