package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"math"
	"strconv"
	"strings"
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

// Open is for database/sql's callers that bypass OpenConnector; such a
// connection waits for no other's turn (writerTurns).
func (d immediateDriver) Open(name string) (driver.Conn, error) {
	return d.open(name, newWriterTurns())
}

func (d immediateDriver) open(name string, turns writerTurns) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return &immediateConn{sqliteConn: c.(sqliteConn), busy: sqliteBusyTimeout, turns: turns}, nil
}

// OpenConnector is called by sql.Open: every connection of one pool
// shares the pool's writerTurns.
func (d immediateDriver) OpenConnector(name string) (driver.Connector, error) {
	return immediateConnector{d: d, name: name, turns: newWriterTurns()}, nil
}

type immediateConnector struct {
	d     immediateDriver
	name  string
	turns writerTurns
}

func (c immediateConnector) Connect(context.Context) (driver.Conn, error) {
	return c.d.open(c.name, c.turns)
}

func (c immediateConnector) Driver() driver.Driver { return c.d }

// writerTurns serves a pool's writers in the order they arrive: a write
// transaction, or a write statement outside one, takes the turn before it
// asks SQLite for the write lock and gives it back when it is done.
//
// SQLite itself serves waiting writers in no order: each polls in its busy
// handler with growing sleeps (up to 100 ms), so under a steady stream of
// writes one that has waited long keeps losing the lock to newcomers that
// poll every millisecond. About one write in 800 waited out its request's
// whole deadline and answered 503 with no other process involved. A
// buffered channel hands a freed turn to its longest waiting sender, so a
// write now waits only for those ahead of it. Another process's writers
// still meet this pool's on SQLite's busy handler, as before.
type writerTurns chan struct{}

func newWriterTurns() writerTurns { return make(writerTurns, 1) }

// errWritersBusy is a write that waited its turn behind this process's
// other writers for as long as it may wait for the lock (waitBudget): the
// same condition as SQLITE_BUSY, answered the same way (a 503).
var errWritersBusy = errors.New("database is locked: other writers of this server held it past the wait allowed")

// take waits for the turn as long as a statement may wait for the lock
// (waitBudget): like SQLite's busy wait, it gives up a little before ctx's
// deadline, so the request still answers its 503 in time.
func (t writerTurns) take(ctx context.Context) error {
	select {
	case t <- struct{}{}:
		return nil
	default:
	}
	budget, _, err := waitBudget(ctx, time.Now())
	if err != nil {
		return err
	}
	timer := time.NewTimer(budget)
	defer timer.Stop()
	select {
	case t <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return errWritersBusy
	}
}

func (t writerTurns) give() { <-t }

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
	busy  time.Duration // the connection's busy_timeout now
	turns writerTurns   // shared by the pool's connections
	inTx  bool          // a transaction is open: its statements hold or need no turn
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
	want, limit, err := waitBudget(ctx, now)
	if err != nil {
		return err
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

// waitBudget is how long a statement may wait for another connection's
// lock at now: the busy timeout, or less than the time left before ctx's
// deadline (limit) by the part of a second over whole ones, which leaves
// the request time to answer. err is set when the deadline has passed.
func waitBudget(ctx context.Context, now time.Time) (want, limit time.Duration, err error) {
	want, limit = sqliteBusyTimeout, time.Duration(math.MaxInt64)
	if deadline, ok := ctx.Deadline(); ok {
		limit = deadline.Sub(now)
		if limit <= 0 {
			return 0, 0, context.DeadlineExceeded
		}
		if limit < want {
			want = limit
			if limit > time.Second {
				want = limit.Truncate(time.Second)
			}
		}
	}
	return want, limit, nil
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
	turn, err := c.prepareToRun(ctx, query)
	if err != nil {
		return nil, err
	}
	if turn {
		defer c.turns.give()
	}
	return c.sqliteConn.ExecContext(ctx, query, args)
}

func (c *immediateConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	turn, err := c.prepareToRun(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := c.sqliteConn.QueryContext(ctx, query, args)
	return c.rowsInTurn(turn, rows, err)
}

// prepareToRun readies the connection for a statement: outside a
// transaction, a write takes its turn among the pool's writers (turn
// reports it: the caller gives it back once the statement is done); then
// the statement's wait for the lock is bounded by ctx.
func (c *immediateConn) prepareToRun(ctx context.Context, query string) (turn bool, err error) {
	if !c.inTx && isWriteStatement(query) {
		if err := c.turns.take(ctx); err != nil {
			return false, err
		}
		turn = true
	}
	if err := c.waitAtMost(ctx); err != nil {
		if turn {
			c.turns.give()
		}
		return false, err
	}
	return turn, nil
}

// rowsInTurn gives the rows of a write (INSERT ... RETURNING: gorm's
// Create outside a transaction) its turn until they are closed: go-sqlite
// runs a query at its first Next, not in QueryContext.
func (c *immediateConn) rowsInTurn(turn bool, rows driver.Rows, err error) (driver.Rows, error) {
	if !turn {
		return rows, err
	}
	if err != nil {
		c.turns.give()
		return nil, err
	}
	return &turnRows{sqliteRows: rows.(sqliteRows), turns: c.turns}, nil
}

// isWriteStatement reports whether query changes rows, by its first word
// as gorm and this package write statements (no leading comment, no WITH
// before a write; a transaction begun as SQL text rather than by BeginTx is
// not known to be one).
func isWriteStatement(query string) bool {
	query = strings.TrimLeft(query, " \t\r\n")
	verb := query
	if i := strings.IndexAny(query, " \t\r\n"); i >= 0 {
		verb = query[:i]
	}
	for _, w := range [...]string{"INSERT", "UPDATE", "DELETE", "REPLACE"} {
		if strings.EqualFold(verb, w) {
			return true
		}
	}
	return false
}

// sqliteRows is the method set of the driver's rows that database/sql
// uses.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// turnRows are a write's rows, which hold its turn until closed.
type turnRows struct {
	sqliteRows
	turns writerTurns // nil once given back
}

func (r *turnRows) Close() error {
	err := r.sqliteRows.Close()
	if r.turns != nil {
		r.turns.give()
		r.turns = nil
	}
	return err
}

// PrepareContext returns statements that bound their waits as the
// connection's own statements do (gorm prepares every statement on SQLite).
func (c *immediateConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return boundedStmt{st.(sqliteStmt), c, query}, nil
}

// BeginTx begins read-write transactions IMMEDIATE, in the writer's turn
// (writerTurns), which the transaction holds until it ends.
func (c *immediateConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly {
		tx, err := c.sqliteConn.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		c.inTx = true
		return readTx{tx, c}, nil
	}
	if err := c.turns.take(ctx); err != nil {
		return nil, err
	}
	if err := c.waitAtMost(ctx); err != nil {
		c.turns.give()
		return nil, err
	}
	if _, err := c.sqliteConn.ExecContext(ctx, "BEGIN IMMEDIATE", nil); err != nil {
		c.turns.give()
		return nil, err
	}
	c.inTx = true
	return &immediateTx{c: c}, nil
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
	c     *immediateConn
	query string
}

func (s boundedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	turn, err := s.c.prepareToRun(ctx, s.query)
	if err != nil {
		return nil, err
	}
	if turn {
		defer s.c.turns.give()
	}
	return s.sqliteStmt.ExecContext(ctx, args)
}

func (s boundedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	turn, err := s.c.prepareToRun(ctx, s.query)
	if err != nil {
		return nil, err
	}
	rows, err := s.sqliteStmt.QueryContext(ctx, args)
	return s.c.rowsInTurn(turn, rows, err)
}

// immediateTx is a write transaction: it holds the write lock since BEGIN
// IMMEDIATE and the writer's turn since before, until it ends. database/sql
// ends a transaction once, by Commit or by Rollback; a second end would
// give back another writer's turn, so end gives it once.
type immediateTx struct {
	c     *immediateConn
	ended bool
}

// Commit and Rollback go to the driver directly: there is no wait to bound,
// and through waitAtMost their context (none) would reset the busy timeout
// the connection's requests settled on.
func (t *immediateTx) Commit() error {
	_, err := t.c.sqliteConn.ExecContext(context.Background(), "COMMIT", nil)
	if err != nil {
		// A failed COMMIT can leave the transaction open (a deferred
		// constraint), and database/sql does not roll back after Commit:
		// the connection would go back to the pool holding the lock.
		_, _ = t.c.sqliteConn.ExecContext(context.Background(), "ROLLBACK", nil)
	}
	t.end()
	return err
}

func (t *immediateTx) Rollback() error {
	_, err := t.c.sqliteConn.ExecContext(context.Background(), "ROLLBACK", nil)
	t.end()
	return err
}

func (t *immediateTx) end() {
	if t.ended {
		return
	}
	t.ended = true
	t.c.inTx = false
	t.c.turns.give()
}

// readTx is a read-only transaction: it takes no turn.
type readTx struct {
	driver.Tx
	c *immediateConn
}

func (t readTx) Commit() error {
	t.c.inTx = false
	return t.Tx.Commit()
}

func (t readTx) Rollback() error {
	t.c.inTx = false
	return t.Tx.Rollback()
}
