package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/config"
	"healthcare/models"
	"healthcare/models/modelstest"
)

// benchRouter is the production router over a seeded database (SQLite, or
// TEST_DATABASE_URL's PostgreSQL) and an access token of the demo user.
// Passwords use cheap hash parameters: logins are not measured here.
func benchRouter(b *testing.B, patients int) (*gin.Engine, string, []int64) {
	b.Helper()
	ctx := context.Background()
	store := models.NewStore(modelstest.Open(b), models.NewHasher(modelstest.CheapHash, 0))
	res, err := store.SeedDemo(ctx, models.SeedOptions{Patients: patients, Seed: 1})
	if err != nil {
		b.Fatalf("seed: %v", err)
	}
	cfg := config.Config{
		SecretKey: []byte("benchmark-secret-of-at-least-32-bytes!!"), Addr: "127.0.0.1:0",
		AccessTokenTTL: time.Hour, RefreshTokenTTL: 24 * time.Hour,
		MaxBodyBytes: 1 << 20, RequestTimeout: 10 * time.Second, LogLevel: slog.LevelWarn,
	}
	router, err := newRouter(routerDeps{cfg: cfg, store: store, log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatalf("newRouter: %v", err)
	}
	body := fmt.Sprintf(`{"email": %q, "password": %q}`, res.DemoEmail, res.DemoPassword)
	w := benchServe(router, http.MethodPost, "/api/auth/login/", "", body)
	if w.Code != http.StatusOK {
		b.Fatalf("login: status = %d, want 200; body: %s", w.Code, w.Body)
	}
	var tokens struct{ Access string }
	if err := json.Unmarshal(w.Body.Bytes(), &tokens); err != nil {
		b.Fatalf("login: %v", err)
	}
	demo, err := store.UserByEmail(ctx, res.DemoEmail)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	if err := store.DB().Model(&models.Patient{}).Where("created_by_id = ?", demo.ID).Order("id").Pluck("id", &ids).Error; err != nil {
		b.Fatal(err)
	}
	return router, tokens.Access, ids
}

// benchServe sends one request through router.
func benchServe(router http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	router.ServeHTTP(w, r)
	return w
}

// BenchmarkRouter runs API requests through the production router without
// a network, so a CPU profile shows the server's own work:
//
//	go test -run '^$' -bench Router -cpuprofile cpu.out . && go tool pprof -top cpu.out
func BenchmarkRouter(b *testing.B) {
	router, token, ids := benchRouter(b, 2000)
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"patient-get", http.MethodGet, "", "", http.StatusOK},
		{"patients-page1", http.MethodGet, "/api/patients/", "", http.StatusOK},
		{"patients-by-name", http.MethodGet, "/api/patients/?ordering=name", "", http.StatusOK},
		{"patients-page50", http.MethodGet, "/api/patients/?page=50&page_size=20", "", http.StatusOK},
		{"patients-search", http.MethodGet, "/api/patients/?search=garcia", "", http.StatusOK},
		{"doctors-search", http.MethodGet, "/api/doctors/?search=cardiology", "", http.StatusOK},
		{"patient-create", http.MethodPost, "/api/patients/", `{"name": "Bench Patient", "date_of_birth": "1980-05-17", "phone": "+1 555 0100"}`, http.StatusCreated},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				path := tc.path
				if path == "" {
					path = fmt.Sprintf("/api/patients/%d/", ids[i%len(ids)])
					i++
				}
				if w := benchServe(router, tc.method, path, token, tc.body); w.Code != tc.want {
					b.Fatalf("%s %s: status = %d, want %d; body: %s", tc.method, path, w.Code, tc.want, w.Body)
				}
			}
		})
	}
}
