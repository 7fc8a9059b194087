package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcare/models"
)

// dbCPU measures the CPU time of a local PostgreSQL's backends serving the
// benchmark database, read from /proc: with the server's own CPU time it
// tells whether the Go code or the database is the limit. It measures
// nothing (ok false) for SQLite, whose work is inside the server process,
// or for a PostgreSQL on another machine.
type dbCPU struct {
	conn *pgx.Conn
	name string
}

func newDBCPU(ctx context.Context, t target) *dbCPU {
	if t.driver != models.Postgres {
		return nil
	}
	conn, err := pgx.Connect(ctx, t.dsn)
	if err != nil {
		return nil
	}
	return &dbCPU{conn: conn, name: t.pgName}
}

func (d *dbCPU) close() {
	if d != nil {
		_ = d.conn.Close(context.Background())
	}
}

// sample returns the CPU time so far of each backend of the database.
func (d *dbCPU) sample(ctx context.Context) map[int]time.Duration {
	if d == nil {
		return nil
	}
	rows, err := d.conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", d.name)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil
	}
	out := map[int]time.Duration{}
	for _, pid := range pids {
		if t, err := cpuTime(int(pid)); err == nil {
			out[int(pid)] = t
		}
	}
	return out
}

// used is the CPU time spent between two samples by the backends alive at
// the second (new ones count from zero).
func used(before, after map[int]time.Duration) (time.Duration, bool) {
	if len(after) == 0 {
		return 0, false
	}
	var sum time.Duration
	for pid, t := range after {
		sum += t - before[pid]
	}
	return sum, true
}
