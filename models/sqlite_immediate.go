package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"math"
	"strconv"
	"sync"
	"time"

	_ "github.com/glebarez/go-sqlite" // registers "sqlite"
)

// sqliteImmediateDriver is the name under which the SQLite driver is
// registered with write transactions that begin IMMEDIATE, and with waits
// for another connection's lock that end by the caller's deadline
// (immediateConn.waitAtMost).
//
// A DEFERRED transaction that reads and then writes fails at once with
// SQLITE_BUSY (517) when another connection committed in between: the busy
// timeout cannot help, since waiting would not make its snapshot current.
// BEGIN IMMEDIATE takes the write lock up front, so writers queue on the
// busy timeout instead. The driver has a _txlock=immediate DSN option, but
// glebarez/go-sqlite v1.21.2 stops reading options after _time_format,
// which this program needs, so the option never applies.
const sqliteImmediateDriver = "sqlite-immediate"

var registerImmediate sync.Once

func registerSQLiteImmediate() {
	registerImmediate.Do(func() {
		// The registered instance: it carries the application functions
		// (registerUnicodeLower) into every connection it opens.
		db, err := sql.Open("sqlite", "") // glebarez/go-sqlite's name
		if err != nil {
			panic(err) // only an unknown driver name fails here
		}
		sql.Register(sqliteImmediateDriver, immediateDriver{db.Driver()})
		_ = db.Close()
	})
}

type immediateDriver struct{ driver.Driver }

func (d immediateDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return &immediateConn{sqliteConn: c.(sqliteConn), busy: sqliteBusyTimeout}, nil
}

// sqliteConn is the method set of the driver's connection that
// database/sql uses.
type sqliteConn interface {
	driver.Conn
	driver.Pinger
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

// immediateConn is used by one goroutine at a time (database/sql's rule
// for driver connections), so busy needs no lock.
type immediateConn struct {
	sqliteConn
	busy time.Duration // the connection's busy_timeout now
}

// sqliteBusyTimeout is how long a statement waits for another connection's
// write lock when its context allows that long (sqliteDSN sets it on every
// new connection).
const sqliteBusyTimeout = 10 * time.Second

// waitAtMost bounds how long the connection's next statement may wait for
// another connection's lock by ctx's deadline, so that a request finding
// the database locked (by another process, say) gives up with SQLITE_BUSY,
// answered 503, by its own deadline: SQLite's busy handler sleeps through
// sqlite3_interrupt, which is all the driver does when a context ends.
//
// The timeout is changed only when it would outlast the deadline or end
// more than a second before it, so a connection serving requests of the
// same timeout settles on one value instead of a PRAGMA per statement.
func (c *immediateConn) waitAtMost(ctx context.Context) error { return c.waitAtMostAt(ctx, time.Now()) }

// waitAtMostAt is waitAtMost with the time now given (tests give one).
func (c *immediateConn) waitAtMostAt(ctx context.Context, now time.Time) error {
	want, limit := sqliteBusyTimeout, time.Duration(math.MaxInt64)
	if deadline, ok := ctx.Deadline(); ok {
		limit = deadline.Sub(now)
		if limit <= 0 {
			return context.DeadlineExceeded
		}
		if limit < want {
			want = limit
			if limit > time.Second {
				want = limit.Truncate(time.Second)
			}
		}
	}
	if c.busy <= limit && c.busy >= want-time.Second {
		return nil
	}
	ms := strconv.FormatInt(max(want.Milliseconds(), 1), 10)
	if _, err := c.sqliteConn.ExecContext(context.Background(), "PRAGMA busy_timeout = "+ms, nil); err != nil {
		return err
	}
	c.busy = want
	return nil
}

// CheckNamedValue converts each statement argument as database/sql would
// by default, and makes times UTC: go-sqlite stores a time as text in the
// zone it is given, and SQLite compares that text, so a time in a zone
// east of UTC compared with times stored in UTC reads as hours later (the
// hourly token purge, given time.Now() on such a host, deleted tokens with
// hours to live). Every argument of every statement, prepared or not,
// passes here; PostgreSQL compares instants and needs nothing.
func (c *immediateConn) CheckNamedValue(nv *driver.NamedValue) error {
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	if t, ok := v.(time.Time); ok {
		v = t.UTC()
	}
	nv.Value = v
	return nil
}

func (c *immediateConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.waitAtMost(ctx); err != nil {
		return nil, err
	}
	return c.sqliteConn.ExecContext(ctx, query, args)
}

func (c *immediateConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.waitAtMost(ctx); err != nil {
		return nil, err
	}
	return c.sqliteConn.QueryContext(ctx, query, args)
}

// PrepareContext returns statements that bound their waits as the
// connection's own statements do (gorm prepares every statement on SQLite).
func (c *immediateConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return boundedStmt{st.(sqliteStmt), c}, nil
}

// BeginTx begins read-write transactions IMMEDIATE.
func (c *immediateConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly {
		return c.sqliteConn.BeginTx(ctx, opts)
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE", nil); err != nil {
		return nil, err
	}
	return immediateTx{c}, nil
}

func (c *immediateConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// sqliteStmt is the method set of the driver's statement that database/sql
// uses.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type boundedStmt struct {
	sqliteStmt
	c *immediateConn
}

func (s boundedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.c.waitAtMost(ctx); err != nil {
		return nil, err
	}
	return s.sqliteStmt.ExecContext(ctx, args)
}

func (s boundedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.c.waitAtMost(ctx); err != nil {
		return nil, err
	}
	return s.sqliteStmt.QueryContext(ctx, args)
}

type immediateTx struct{ c *immediateConn }

// Commit and Rollback go to the driver directly: the transaction holds the
// write lock since BEGIN IMMEDIATE, so there is no wait to bound, and
// through waitAtMost their context (none) would reset the busy timeout the
// connection's requests settled on.
func (t immediateTx) Commit() error {
	_, err := t.c.sqliteConn.ExecContext(context.Background(), "COMMIT", nil)
	return err
}

func (t immediateTx) Rollback() error {
	_, err := t.c.sqliteConn.ExecContext(context.Background(), "ROLLBACK", nil)
	return err
}
