package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkSQLiteContendedWrites runs write transactions from 16
// goroutines on one pool of 8 connections, with writers served in arrival
// order (the pool's writerTurns) and, as the baseline in the same run, by
// SQLite's busy handler alone (each connection its own turns). Besides the
// time per write it reports the wait's median, 99th percentile and worst
// case: arrival order trades some median for a bounded tail.
//
//	go test -run '^$' -bench SQLiteContendedWrites -benchtime 20000x ./models/
func BenchmarkSQLiteContendedWrites(b *testing.B) {
	registerSQLiteImmediate()
	raw, err := sql.Open(sqliteImmediateDriver, "")
	if err != nil {
		b.Fatal(err)
	}
	d := raw.Driver().(immediateDriver)
	_ = raw.Close()
	for _, shared := range []bool{true, false} {
		name := "arrival-order"
		if !shared {
			name = "busy-handler"
		}
		b.Run(name, func(b *testing.B) {
			dsn := sqliteDSN(filepath.Join(b.TempDir(), "writes.db"))
			var c driver.Connector = ownTurnsConnector{d, dsn} // the baseline
			if shared {
				c, _ = d.OpenConnector(dsn) // what sql.Open does
			}
			db := sql.OpenDB(c)
			defer db.Close()
			db.SetMaxOpenConns(8)
			ctx := context.Background()
			if _, err := db.ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
				b.Fatal(err)
			}
			var mu sync.Mutex
			var waits []time.Duration
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					if err := writeNotes(ctx, db, 5); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				waits = append(waits, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			if len(waits) == 0 {
				return
			}
			slices.Sort(waits)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(waits[len(waits)/2]), "p50-ms")
			b.ReportMetric(ms(waits[len(waits)*99/100]), "p99-ms")
			b.ReportMetric(ms(waits[len(waits)-1]), "max-ms")
		})
	}
}

// writeNotes inserts n rows in one write transaction.
func writeNotes(ctx context.Context, db *sql.DB, n int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for range n {
		if _, err := tx.ExecContext(ctx, "INSERT INTO notes (v) VALUES ('x')"); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ownTurnsConnector opens connections with turns of their own
// (immediateDriver.Open): each waits for the lock in SQLite's busy handler
// alone, as before writerTurns.
type ownTurnsConnector struct {
	d   immediateDriver
	dsn string
}

func (c ownTurnsConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }

func (c ownTurnsConnector) Driver() driver.Driver { return c.d }
