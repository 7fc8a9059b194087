package models_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Transactions that read, then write, run concurrently: with DEFERRED
// transactions on SQLite some fail at once with "database is locked"
// (SQLITE_BUSY_SNAPSHOT); with IMMEDIATE ones they queue and all succeed.
func TestConcurrentReadThenWriteTransactions(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "rw@example.com")
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				errs <- s.DB().WithContext(context.Background()).Transaction(func(tx *gorm.DB) error {
					var n int64
					if err := tx.Model(&models.Patient{}).Where("created_by_id = ?", owner).Count(&n).Error; err != nil {
						return err
					}
					return tx.Create(&models.Patient{Name: "RW", Gender: models.GenderUnknown, CreatedByID: owner,
						Phone: string(rune('a'+w)) + string(rune('a'+r))}).Error
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("read-then-write transaction: %v", err)
		}
	}
	if n := trueCount(t, s, owner); n != workers*rounds {
		t.Fatalf("%d patients, want %d", n, workers*rounds)
	}
}

// A transaction holding SQLite's write lock runs its next statement on its
// own connection, whatever other goroutines are doing. gorm's shared cache
// of prepared statements made it wait for another goroutine's prepare of
// the same SQL, which waited for a free connection, while every other
// connection waited in SQLite's busy handler for that transaction's lock:
// nothing moved until the busy timeout failed the waiters (the whole
// server stalled for seconds under concurrent refreshes, answering 503).
// Here: one transaction, one writer waiting for its lock, one reader
// waiting for a connection to prepare the SQL the transaction runs next.
func TestSQLiteTransactionNeverWaitsForAnotherPrepare(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := models.Open(ctx, models.SQLite, filepath.Join(t.TempDir(), "stall.db"), models.PoolOptions{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	if err := db.Exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, v TEXT)").Error; err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func(sql.DBStats) bool) {
		t.Helper()
		for !cond(sqlDB.Stats()) {
			if ctx.Err() != nil {
				t.Fatalf("never got to: %s (pool %+v)", what, sqlDB.Stats())
			}
			time.Sleep(time.Millisecond)
		}
	}
	const next = "SELECT count(*) FROM notes WHERE v = ?"

	tx := db.WithContext(ctx).Begin() // BEGIN IMMEDIATE: the write lock
	if err := tx.Exec("INSERT INTO notes (v) VALUES ('tx')").Error; err != nil {
		t.Fatal(err)
	}
	writer := make(chan error, 1)
	go func() { writer <- db.WithContext(ctx).Exec("INSERT INTO notes (v) VALUES ('writer')").Error }()
	waitFor("the writer holding the second connection", func(s sql.DBStats) bool { return s.InUse == 2 })
	reader := make(chan error, 1)
	go func() {
		var n int64
		reader <- db.WithContext(ctx).Raw(next, "reader").Scan(&n).Error
	}()
	waitFor("the reader waiting for a connection", func(s sql.DBStats) bool { return s.WaitCount >= 1 })

	var n int64
	if err := tx.Raw(next, "tx").Scan(&n).Error; err != nil || n != 1 {
		t.Errorf("the transaction's read: n = %d, err %v; want 1, nil", n, err)
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatalf("commit: %v", err)
	}
	if err := <-writer; err != nil {
		t.Errorf("the writer waiting for the lock failed: %v (the transaction sat on it)", err)
	}
	if err := <-reader; err != nil {
		t.Errorf("the reader: %v", err)
	}
}
