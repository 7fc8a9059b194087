package models_test

import (
	"context"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// BenchmarkAuthenticateToken compares a token check that asks the
// database with one answered by the cache (PostgreSQL only).
func BenchmarkAuthenticateToken(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "database"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			if cached && modelstest.Engine() != models.Postgres {
				b.Skip("the token cache runs on PostgreSQL only")
			}
			store := modelstest.Store(b)
			if cached {
				stop, err := store.StartTokenCache(context.Background(), tcOptions())
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(stop)
				for deadline := time.Now().Add(tcWait); !store.TokenCacheLive(); time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						b.Fatal("token cache not live")
					}
				}
			}
			u, err := store.CreateUser(context.Background(), models.NewUser{Name: "Bench", Email: "bench@example.com", Password: tcPassword, IsActive: true})
			if err != nil {
				b.Fatal(err)
			}
			jti := tcJTI()
			exp := time.Now().Add(time.Hour)
			if _, err := store.StartTokenFamily(context.Background(), u, models.IssuedToken{JTI: jti, Type: models.AccessToken, ExpiresAt: exp}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := store.AuthenticateToken(context.Background(), jti, u.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
