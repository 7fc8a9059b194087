package models_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
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
	db, sqlDB := notesDB(t, ctx, 2)
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

// Writers waiting for SQLite's write lock get it in the order they asked.
// SQLite's busy handler serves them in no order: each polls with growing
// sleeps, so one that has waited long (polling every 100 ms) loses the lock
// to newcomers polling every few milliseconds, and under a steady stream
// of writes some waited out their request's whole deadline (a 503). Here
// one writer has waited a while when three more arrive, just before the
// lock is freed: it must commit first. Rows' ids give the commit order.
// Writers are transactions, statements of their own, and gorm's Create
// outside a transaction (INSERT ... RETURNING, which go-sqlite runs only
// when its rows are read).
func TestSQLiteWritersServedInArrivalOrder(t *testing.T) {
	for _, first := range []string{"transaction", "statement", "create"} {
		t.Run("first a "+first, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			db, sqlDB := notesDB(t, ctx, 8)
			inUse := func(n int) {
				t.Helper()
				for sqlDB.Stats().InUse < n {
					if ctx.Err() != nil {
						t.Fatalf("never %d connections in use (pool %+v)", n, sqlDB.Stats())
					}
					time.Sleep(time.Millisecond)
				}
			}
			// write inserts v as a transaction, as a statement of its own or
			// with gorm's Create.
			write := func(kind, v string) error {
				const insert = "INSERT INTO notes (v) VALUES (?)"
				switch kind {
				case "statement":
					return db.WithContext(ctx).Exec(insert, v).Error
				case "create":
					return db.WithContext(ctx).Create(&note{V: v}).Error
				}
				return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return tx.Exec(insert, v).Error })
			}

			holder := db.WithContext(ctx).Begin()
			if err := holder.Exec("INSERT INTO notes (v) VALUES ('holder')").Error; err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			wg.Go(func() { errs <- write(first, "first") })
			inUse(2)
			// Long enough for the busy handler's sleeps to reach 100 ms.
			time.Sleep(400 * time.Millisecond)
			for i, kind := range []string{"transaction", "statement", "create"} {
				wg.Go(func() { errs <- write(kind, "later "+strconv.Itoa(i)) })
			}
			inUse(5)
			if err := holder.Commit().Error; err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			var order []string
			if err := db.WithContext(ctx).Raw("SELECT v FROM notes ORDER BY id").Scan(&order).Error; err != nil {
				t.Fatal(err)
			}
			if len(order) != 5 || order[1] != "first" {
				t.Errorf("commit order %q: the writer that waited longest must follow the holder", order)
			}
		})
	}
}

// notesDB opens a new SQLite database of maxOpen connections with one
// table, notes (id, v).
func notesDB(t *testing.T, ctx context.Context, maxOpen int) (*gorm.DB, *sql.DB) {
	t.Helper()
	db, err := models.Open(ctx, models.SQLite, filepath.Join(t.TempDir(), "notes.db"), models.PoolOptions{MaxOpenConns: maxOpen})
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
	return db, sqlDB
}

// note is a row of the tests' notes table, for gorm's Create.
type note struct {
	ID int64
	V  string
}

// Every way a write ends gives its turn back: a rollback, a failed
// transaction or commit, a context ended while waiting for the turn or for
// the lock, a failed statement, with RETURNING or not. A turn kept would
// stop every later write of the pool until the busy timeout (10 s, or the
// request's deadline); a failed commit that kept its transaction open
// would keep the lock on a pooled connection.
func TestSQLiteWriterTurnsAreGivenBack(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "turns.db")
	open := func() *gorm.DB {
		t.Helper()
		db, err := models.Open(ctx, models.SQLite, path, models.PoolOptions{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = models.Close(db) })
		return db
	}
	db := open()
	for _, stmt := range []string{
		"CREATE TABLE notes (id INTEGER PRIMARY KEY, v TEXT NOT NULL)",
		"CREATE TABLE parents (id INTEGER PRIMARY KEY)",
		"CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
	} {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	failed := errors.New("the transaction's own failure")
	// A write that must go through at once if no turn is held.
	mustWrite := func(after string) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := db.WithContext(c).Exec("INSERT INTO notes (v) VALUES ('after')").Error; err != nil {
			t.Fatalf("a write after %s: %v (its turn was kept)", after, err)
		}
	}

	if err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("INSERT INTO notes (v) VALUES ('rolled back')").Error; err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("rolled-back transaction: %v", err)
	}
	mustWrite("a rollback")

	if err := db.WithContext(ctx).Exec("INSERT INTO notes (v) VALUES (NULL)").Error; err == nil {
		t.Fatal("a NULL in a NOT NULL column was written")
	}
	mustWrite("a failed statement")

	if err := db.WithContext(ctx).Create(&note{V: "first"}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.WithContext(ctx).Create(&note{ID: 1, V: "again"}).Error; err == nil {
		t.Fatal("a second row with id 1 was created")
	}
	mustWrite("a failed create")

	// The foreign key is checked at COMMIT, which fails.
	if err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO children (parent) VALUES (42)").Error
	}); err == nil {
		t.Fatal("a child of no parent was committed")
	}
	mustWrite("a failed commit")
	if err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO parents (id) VALUES (1)").Error
	}); err != nil {
		t.Fatalf("a transaction after a failed commit: %v (the failed one was left open)", err)
	}

	// A context ended while the write waits for its turn.
	holder := db.WithContext(ctx).Begin()
	if err := holder.Exec("INSERT INTO notes (v) VALUES ('holder')").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.WithContext(short()).Exec("INSERT INTO notes (v) VALUES ('waiter')").Error; err == nil {
		t.Fatal("a write went through while another transaction held the lock")
	}
	if err := db.WithContext(short()).Transaction(func(tx *gorm.DB) error { return nil }); err == nil {
		t.Fatal("a transaction began while another held the lock")
	}
	if err := holder.Commit().Error; err != nil {
		t.Fatal(err)
	}
	mustWrite("writes that gave up waiting for their turn")

	// A context ended while the write waits for the lock, held by another
	// pool (as by another process): the turn was taken, BEGIN fails.
	other := open()
	holder = other.WithContext(ctx).Begin()
	if err := holder.Exec("INSERT INTO notes (v) VALUES ('other pool')").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.WithContext(short()).Transaction(func(tx *gorm.DB) error { return nil }); err == nil {
		t.Fatal("a transaction began while another pool held the lock")
	}
	if err := db.WithContext(short()).Exec("INSERT INTO notes (v) VALUES ('waiter')").Error; err == nil {
		t.Fatal("a write went through while another pool held the lock")
	}
	if err := holder.Commit().Error; err != nil {
		t.Fatal(err)
	}
	mustWrite("writes that gave up waiting for the lock")

	// Read-only transactions take no turn: one open does not stop a write.
	reader, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	ro, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Rollback()
	var n int
	if err := ro.QueryRowContext(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	mustWrite("a read-only transaction began")
}
