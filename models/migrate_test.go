package models_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Several server processes starting at once on one empty database (replicas
// of a deployment) all migrate it: each must succeed, and the result must
// work.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	dsn := modelstest.EmptyDSN(t)
	var dbs []*gorm.DB
	for range 4 {
		db, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = models.Close(db) })
		dbs = append(dbs, db)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = models.Migrate(db)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	s := models.NewStore(dbs[0], models.NewHasher(modelstest.CheapHash, 0))
	owner := listOwner(t, s, "after@example.com")
	listPatient(t, s, owner, models.Patient{Name: "Counted"})
	wantCounts(t, s, map[int64]int64{owner: 1})
}

// A process waiting for another's migration lock stops when its context
// ends (a replica told to stop during a rollout), instead of waiting until
// it is killed. PostgreSQL only: SQLite has no such lock.
func TestMigrationWaitEndsWithItsContext(t *testing.T) {
	t.Parallel()
	dsn := modelstest.EmptyDSN(t)
	if dsn.Driver != models.Postgres {
		t.Skip("the migration lock is PostgreSQL's (SQLite migrations retry instead)")
	}
	holder, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(holder) })
	sqlDB, err := holder.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const key = `hashtext('healthcare.migrate:' || current_schema())`
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- models.Migrate(db.WithContext(ctx)) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("migrated while another process held the lock")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the wait for the migration lock outlived its context")
	}
	// Once the lock is free, a migration goes through.
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
		t.Fatal(err)
	}
	if err := models.Migrate(db.WithContext(context.Background())); err != nil {
		t.Fatalf("migrate after the lock was released: %v", err)
	}
}

// A boot that finds every index built names none of them again: CREATE
// INDEX IF NOT EXISTS takes its lock on the table before it looks, so each
// boot would wait behind a long transaction on the table (an export of an
// older replica) and hold up the table's writes behind it.
func TestMigrateNamesNoIndexThatExists(t *testing.T) {
	t.Parallel()
	db := modelstest.Open(t)
	var touched []string
	err := db.Callback().Raw().Before("gorm:raw").Register("test:index-statements", func(tx *gorm.DB) {
		if sql := tx.Statement.SQL.String(); strings.Contains(sql, "INDEX") {
			touched = append(touched, sql)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Callback().Raw().Remove("test:index-statements") }()
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if len(touched) > 0 {
		t.Errorf("a boot with every index in place ran %q", touched)
	}
}
