package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"testing"
	"time"
)

// immediateConnForTest is a connection of a new SQLite database's pool,
// held by t until it ends.
func immediateConnForTest(t *testing.T) *immediateConn {
	t.Helper()
	registerSQLiteImmediate()
	raw, err := sql.Open(sqliteImmediateDriver, sqliteDSN(filepath.Join(t.TempDir(), "conn.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	conn, err := raw.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	var c *immediateConn
	if err := conn.Raw(func(dc any) error { c = dc.(*immediateConn); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

// A connection's busy timeout follows its callers' deadlines, but settles:
// callers with the same request timeout do not each pay a PRAGMA.
func TestSQLiteWaitAtMostSettles(t *testing.T) {
	t.Parallel()
	c := immediateConnForTest(t)
	// What the engine itself has, read past the wrapper.
	actual := func() time.Duration {
		t.Helper()
		rows, err := c.sqliteConn.QueryContext(context.Background(), "PRAGMA busy_timeout", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		v := make([]driver.Value, 1)
		if err := rows.Next(v); err != nil {
			t.Fatal(err)
		}
		return time.Duration(v[0].(int64)) * time.Millisecond
	}
	// A deadline of 0 is no deadline. Each step's deadline is set from a
	// time given to waitAtMostAt as now, so no stall of the machine
	// between the context and the call eats into the time left.
	steps := []struct {
		deadline time.Duration
		want     time.Duration
	}{
		{0, sqliteBusyTimeout},                                   // as opened
		{10*time.Second - time.Millisecond, 9 * time.Second},     // a request's deadline, a moment later
		{10*time.Second - 300*time.Millisecond, 9 * time.Second}, // settled: no change
		{0, 9 * time.Second},                                     // within a second of the default: kept
		{2500 * time.Millisecond, 2 * time.Second},               // a shorter deadline
		{400 * time.Millisecond, 0},                              // under a second: the time left
		{10*time.Second - time.Millisecond, 9 * time.Second},
		{0, 9 * time.Second},
	}
	for i, s := range steps {
		ctx, now := context.Background(), time.Now()
		if s.deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, now.Add(s.deadline))
			defer cancel()
		}
		if err := c.waitAtMostAt(ctx, now); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if s.want == 0 {
			if c.busy != s.deadline {
				t.Errorf("step %d: busy timeout %v, want the %v left", i, c.busy, s.deadline)
			}
			continue
		}
		if c.busy != s.want || actual() != s.want {
			t.Errorf("step %d: busy timeout %v (the engine's %v), want %v", i, c.busy, actual(), s.want)
		}
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := c.waitAtMost(expired); err != context.DeadlineExceeded {
		t.Errorf("past the deadline: %v, want context.DeadlineExceeded", err)
	}
}

// A write that returns rows (gorm's Create outside a transaction: INSERT
// ... RETURNING) holds its turn until its rows are closed: go-sqlite runs
// the statement at the first Next, after QueryContext has returned, so a
// turn given back there let the write wait for the lock in no order.
func TestSQLiteReturningWriteHoldsItsTurnUntilClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := immediateConnForTest(t)
	if _, err := c.ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY, v TEXT)", nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		turn  bool
	}{
		{"INSERT INTO notes (v) VALUES ('x') RETURNING id", true},
		{"SELECT id FROM notes", false},
	} {
		rows, err := c.QueryContext(ctx, tc.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		if held := len(c.turns) == 1; held != tc.turn {
			t.Errorf("%s: turn held before its rows are read: %v, want %v", tc.query, held, tc.turn)
		}
		dest := make([]driver.Value, 1)
		if err := rows.Next(dest); err != nil {
			t.Fatal(err)
		}
		if held := len(c.turns) == 1; held != tc.turn {
			t.Errorf("%s: turn held while its rows are read: %v, want %v", tc.query, held, tc.turn)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if len(c.turns) != 0 {
			t.Errorf("%s: turn held once its rows are closed", tc.query)
		}
	}
}

// Waiting for its turn, a write gives up as its wait for the lock would:
// a little before the request's deadline, leaving it time to answer 503.
func TestSQLiteWriterTurnGivesUpBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	turns := newWriterTurns()
	if err := turns.take(context.Background()); err != nil { // another writer's
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2900*time.Millisecond)
	defer cancel()
	err := turns.take(ctx)
	if err != errWritersBusy || ctx.Err() != nil {
		t.Errorf("waiting behind a writer that never ends: %v, the request's context then %v; want %v before its deadline",
			err, ctx.Err(), errWritersBusy)
	}
}

// Writes are told by their first word, whatever whitespace follows it.
func TestIsWriteStatement(t *testing.T) {
	t.Parallel()
	for query, want := range map[string]bool{
		"INSERT INTO notes (v) VALUES (?)":      true,
		"  insert\tINTO notes DEFAULT VALUES":   true,
		"UPDATE\n notes SET v = ?":              true,
		"DELETE FROM notes":                     true,
		"REPLACE INTO notes (id, v) VALUES (?)": true,
		"SELECT * FROM notes":                   false,
		"PRAGMA busy_timeout = 10":              false,
		"INSERTED":                              false,
		"CREATE TABLE t (id INTEGER)":           false,
		"":                                      false,
	} {
		if got := isWriteStatement(query); got != want {
			t.Errorf("isWriteStatement(%q) = %v, want %v", query, got, want)
		}
	}
}
