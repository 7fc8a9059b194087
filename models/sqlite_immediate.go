package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"

	_ "github.com/glebarez/go-sqlite" // registers "sqlite"
)

// sqliteImmediateDriver is the name under which the SQLite driver is
// registered with write transactions that begin IMMEDIATE.
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
	return immediateConn{c.(sqliteConn)}, nil
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

type immediateConn struct{ sqliteConn }

// BeginTx begins read-write transactions IMMEDIATE.
func (c immediateConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly {
		return c.sqliteConn.BeginTx(ctx, opts)
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE", nil); err != nil {
		return nil, err
	}
	return immediateTx{c}, nil
}

func (c immediateConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

type immediateTx struct{ c immediateConn }

func (t immediateTx) Commit() error {
	_, err := t.c.ExecContext(context.Background(), "COMMIT", nil)
	return err
}

func (t immediateTx) Rollback() error {
	_, err := t.c.ExecContext(context.Background(), "ROLLBACK", nil)
	return err
}
