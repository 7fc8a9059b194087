// Package modelstest opens a fresh, migrated database for each test: an
// SQLite file in the test's temporary directory, or, when TEST_DATABASE_URL
// is set, a schema of its own in that PostgreSQL database, so parallel
// tests and concurrent runs never collide. AtOnce provokes the races the
// tests check the database settles.
package modelstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gorm.io/gorm"

	"healthcare/models"
)

// Engine names the database the tests run on: models.SQLite, or
// models.Postgres when TEST_DATABASE_URL is set.
func Engine() string {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return models.Postgres
	}
	return models.SQLite
}

// CheapHash is argon2id with tiny costs, so suites that create many users
// stay fast; the default parameters have tests of their own.
var CheapHash = models.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Open returns a fresh migrated database, closed (and on PostgreSQL
// dropped) when the test ends.
func Open(t testing.TB) *gorm.DB {
	t.Helper()
	db, _ := OpenDSN(t)
	return db
}

// OpenDSN is Open that also returns the driver name and DSN, for tests that
// open more connections to the same database (a second server process).
func OpenDSN(t testing.TB) (*gorm.DB, DSN) {
	t.Helper()
	ctx := context.Background()
	dsn := newDSN(t)
	db, err := models.Open(ctx, dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	if err := models.Migrate(db); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db, dsn
}

// EmptyDSN returns how to reach a fresh database (an SQLite file, or a
// PostgreSQL schema) that is not migrated yet, dropped when the test ends.
func EmptyDSN(t testing.TB) DSN {
	t.Helper()
	return newDSN(t)
}

// DSN says how to reach a test database.
type DSN struct{ Driver, DSN string }

// Store returns a Store over a fresh database, with CheapHash.
func Store(t testing.TB) *models.Store {
	t.Helper()
	return models.NewStore(Open(t), models.NewHasher(CheapHash, 0))
}

func newDSN(t testing.TB) DSN {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		return DSN{Driver: models.SQLite, DSN: filepath.Join(t.TempDir(), "test.db")}
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	admin, err := models.Open(context.Background(), models.Postgres, base, models.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_ = admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error
		_ = models.Close(admin)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL must be a URL: %v", err)
	}
	q := u.Query()
	// pgx passes unknown parameters on as run-time settings.
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return DSN{Driver: models.Postgres, DSN: u.String()}
}

// AtOnce runs f(0) to f(n-1), each in a goroutine, released together (as
// far as the scheduler lets them start at once), and returns when all have.
func AtOnce(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}
