package models_test

import (
	"context"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// An access token is live only until the expiry recorded when it was
// issued, whatever exp its claims carry: a token re-signed with a later exp
// (a leaked SECRET_KEY) does not outlive the one issued.
func TestAuthenticateTokenChecksTheIssuedExpiry(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := context.Background()
	u := admStoreUser(t, store, "expiry@example.com", false)
	now := time.Now()
	live := models.IssuedToken{JTI: "live-access", Type: models.AccessToken, ExpiresAt: now.Add(5 * time.Minute)}
	refresh := models.IssuedToken{JTI: "live-refresh", Type: models.RefreshToken, ExpiresAt: now.Add(time.Hour)}
	if _, err := store.StartTokenFamily(ctx, u, live, refresh); err != nil {
		t.Fatal(err)
	}
	expired := models.IssuedToken{JTI: "expired-access", Type: models.AccessToken, ExpiresAt: now.Add(-time.Second)}
	refresh2 := models.IssuedToken{JTI: "other-refresh", Type: models.RefreshToken, ExpiresAt: now.Add(time.Hour)}
	if _, err := store.StartTokenFamily(ctx, u, expired, refresh2); err != nil {
		t.Fatal(err)
	}
	if got, err := store.AuthenticateToken(ctx, live.JTI, u.ID); err != nil || got.ID != u.ID {
		t.Fatalf("live token: %v, %v", got, err)
	}
	if _, err := store.AuthenticateToken(ctx, expired.JTI, u.ID); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("token past its issued expiry: err = %v, want Unauthorized", err)
	}
}
