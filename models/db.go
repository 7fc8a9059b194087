package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Database drivers accepted by Open.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// PoolOptions size the connection pool.
type PoolOptions struct {
	MaxOpenConns int           // 0 means the driver's default for this engine
	MaxIdleConns int           // 0 means MaxOpenConns
	ConnMaxIdle  time.Duration // 0 means 5 minutes
}

// Open connects to the database and checks that it answers. SQLite runs in
// WAL mode with a busy timeout, foreign keys on and IMMEDIATE transactions
// (sqliteImmediateDriver): without the last, two transactions that read
// then write fail with "database is locked" instead of queueing on the busy
// timeout.
func Open(ctx context.Context, driverName, dsn string, pool PoolOptions) (*gorm.DB, error) {
	cfg := &gorm.Config{
		// Duplicate keys and FK violations arrive as gorm.ErrDuplicatedKey and
		// gorm.ErrForeignKeyViolated whatever the engine.
		TranslateError: true,
		// Microseconds in UTC: what PostgreSQL keeps, so a timestamp read back
		// equals the one written (keyset cursors depend on it). On SQLite,
		// times from callers are made UTC where they enter the driver
		// (immediateConn.CheckNamedValue).
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		// Name the model's columns instead of SELECT *: a table may hold
		// columns no model has (search_text, kept by a trigger for
		// searches), which a read would carry for nothing.
		QueryFields: true,
		// gorm's own ping takes no context: a server that accepts the
		// connection and never answers (a stuck pooler) hung the boot,
		// deaf to SIGTERM. Open pings below, within ctx and a bound.
		DisableAutomaticPing: true,
	}
	var dialector gorm.Dialector
	maxOpen := pool.MaxOpenConns
	switch driverName {
	case SQLite:
		registerSQLiteFunctions.Do(registerUnicodeLower)
		registerSQLiteImmediate()
		createPrivate(dsn)
		dialector = &sqlite.Dialector{DriverName: sqliteImmediateDriver, DSN: sqliteDSN(dsn)}
		// No gorm.Config.PrepareStmt: go-sqlite parses a prepared statement
		// again at each execution (its Stmt keeps only the text), so the
		// cache saved nothing, and its shared lock let a transaction holding
		// the write lock wait for another goroutine's prepare, which waited
		// for a connection held by a statement waiting for that lock
		// (TestSQLiteTransactionNeverWaitsForAnotherPrepare).
		if maxOpen == 0 {
			maxOpen = 8
		}
	case Postgres:
		dialector = postgres.New(postgres.Config{DSN: dsn})
		if maxOpen == 0 {
			maxOpen = 32
		}
	default:
		return nil, fmt.Errorf("open database: unknown driver %q", driverName)
	}
	openCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var db *gorm.DB
	err := retryBusy(openCtx, func() (err error) {
		db, err = gorm.Open(dialector, cfg) // on SQLite, reads the version: a first connection
		return err
	})
	if err != nil {
		if driverName == SQLite {
			err = explainSQLiteOpen(dsn, err)
		} else {
			err = hideDSNSecrets(err, dsn)
		}
		return nil, fmt.Errorf("open %s database: %w", driverName, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driverName, err)
	}
	if driverName == Postgres {
		if err := registerCustomPlans(db, dsn); err != nil {
			_ = sqlDB.Close() // the pool gorm.Open made, and its connection
			return nil, fmt.Errorf("open %s database: %w", driverName, err)
		}
	}
	idle := pool.MaxIdleConns
	if idle == 0 {
		idle = maxOpen
	}
	idleTime := pool.ConnMaxIdle
	if idleTime == 0 {
		idleTime = 5 * time.Minute
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(idle)
	sqlDB.SetConnMaxIdleTime(idleTime)
	if err := retryBusy(openCtx, func() error { return sqlDB.PingContext(openCtx) }); err != nil {
		_ = sqlDB.Close()
		if driverName == SQLite {
			err = explainSQLiteOpen(dsn, err)
		} else {
			err = hideDSNSecrets(err, dsn)
		}
		return nil, fmt.Errorf("open %s database: %w", driverName, err)
	}
	return db, nil
}

// retryBusy runs connect until it succeeds, fails otherwise than with
// SQLITE_BUSY, or ctx ends. A new SQLite file that two processes open at
// once can answer SQLITE_BUSY to one of them without waiting out the busy
// timeout (a connection's first statements switch the file to WAL, which
// needs the file to itself): that one tries again.
func retryBusy(ctx context.Context, connect func() error) error {
	for {
		err := connect()
		if sqliteCode(err) != sqliteBusy || !sleepCtx(ctx, 20*time.Millisecond) {
			return err
		}
	}
}

// sqliteCode is the primary result code of an SQLite error in err's chain,
// or 0.
func sqliteCode(err error) int {
	var liteErr *gosqlite.Error
	if errors.As(err, &liteErr) {
		return liteErr.Code() & 0xff
	}
	return 0
}

// hideDSNSecrets hides dsn's passwords in err's text. pgx quotes a DSN it
// cannot parse (a wrong sslmode, a missing sslrootcert file) masking only
// some of its passwords: one in the query string (password=, sslpassword=)
// went to the logs as written, and the tail of one with an escaped quote in
// key=value form. So that quotation is dropped, and what else the error
// says (url.Parse's quotes the URL) has every password of dsn hidden.
func hideDSNSecrets(err error, dsn string) error {
	msg := err.Error()
	hidden := msg
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		hidden = strings.Replace(hidden, pce.Error(), "cannot parse the DSN: "+parseConfigReason(pce), 1)
	}
	for _, s := range dsnSecrets(dsn) {
		hidden = strings.ReplaceAll(hidden, s, "xxxxx")
	}
	if hidden == msg {
		return err
	}
	return &hiddenSecretsError{msg: hidden, err: err}
}

// parseConfigReason is pce's text without the DSN it quotes: "cannot parse
// `<dsn>`: <reason> (<cause>)", where pgx's reasons hold no backquote.
func parseConfigReason(pce *pgconn.ParseConfigError) string {
	text, cause := pce.Error(), ""
	if inner := errors.Unwrap(pce); inner != nil {
		cause = " (" + inner.Error() + ")"
		text = strings.TrimSuffix(text, cause)
	}
	if i := strings.LastIndex(text, "`: "); i >= 0 {
		return text[i+len("`: "):] + cause
	}
	return "its settings" + cause
}

// dsnSecrets are the password values of dsn, as written and unescaped: the
// places config.RedactDSN hides (kept apart because models imports no
// config, STYLE.md §1; a new place to put a password goes in both).
func dsnSecrets(dsn string) []string {
	var out []string
	add := func(raw string) {
		for _, s := range []string{raw, unescapeOr(raw)} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	if strings.Contains(dsn, "://") {
		authority := dsn[strings.Index(dsn, "://")+3:]
		if end := strings.IndexAny(authority, "/?#"); end >= 0 {
			authority = authority[:end]
		}
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(authority[:at], ":"); ok {
				add(pw)
			}
		}
		if _, query, ok := strings.Cut(dsn, "?"); ok {
			for _, pair := range strings.Split(query, "&") {
				if k, v, _ := strings.Cut(pair, "="); strings.Contains(strings.ToLower(unescapeOr(k)), "password") {
					add(v)
				}
			}
		}
		return out
	}
	for _, m := range kvSecret.FindAllStringSubmatch(dsn, -1) {
		v := m[1]
		if len(v) >= 2 && v[0] == '\'' {
			add(v[1 : len(v)-1])
		}
		add(v)
	}
	return out
}

// kvSecret is a password setting in key=value form (password=x,
// sslpassword='a b').
var kvSecret = regexp.MustCompile(`(?i)\b\w*password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

func unescapeOr(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// hiddenSecretsError is an error whose text had a DSN's passwords hidden;
// errors.Is and As still see the original.
type hiddenSecretsError struct {
	msg string
	err error
}

func (e *hiddenSecretsError) Error() string { return e.msg }
func (e *hiddenSecretsError) Unwrap() error { return e.err }

// explainSQLiteOpen names the likely cause of a file SQLite could not open,
// which the driver reports as "unable to open database file: out of
// memory (14)" whatever the cause.
func explainSQLiteOpen(path string, err error) error {
	const sqliteCantOpen = 14
	if strings.HasPrefix(path, "file:") || sqliteCode(err) != sqliteCantOpen {
		return err // another failure (a file that is not a database) says what it is
	}
	dir := filepath.Dir(path)
	if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
		return fmt.Errorf("directory %q does not exist (%w)", dir, err)
	}
	if st, serr := os.Stat(path); serr == nil && st.IsDir() {
		return fmt.Errorf("%q is a directory (%w)", path, err)
	}
	return fmt.Errorf("cannot open %q: check that this process may write to %q (%w)", path, dir, err)
}

// createPrivate creates the SQLite database file path, when it is a plain
// path to no file yet, readable and writable by its owner only: it holds
// patients' records and password hashes, and SQLite would create it
// world-readable under the usual umask (022). SQLite gives the -wal and
// -shm files it creates beside it the database file's mode. An existing
// file keeps the mode its operator gave it; a failure here is left to
// SQLite's own open to report (explainSQLiteOpen).
func createPrivate(path string) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return
	}
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		_ = f.Close()
	}
}

// SQLiteModeWarning is the warning to log when the SQLite database file
// path may be read by other users of the machine than its owner, "" when
// it may not (or the database is not a plain SQLite file). A file created
// by this server is private (createPrivate); one an older release created,
// or copied in, keeps its mode, and so would its -wal and -shm files.
func SQLiteModeWarning(driverName, path string) string {
	if driverName != SQLite || path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return ""
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("SQLITE_PATH %s has mode %04o: users of this machine other than its owner may read it, "+
		"and it holds patients' records and password hashes. Stop the server and run: chmod 600 %[1]s (and %[1]s-wal and %[1]s-shm where they exist)",
		path, info.Mode().Perm())
}

// Close closes the pool behind db.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

var registerSQLiteFunctions sync.Once

// registerUnicodeLower replaces SQLite's LOWER, which folds only ASCII, with
// Go's Unicode folding, so that case-insensitive search and filters find
// "Ünal" from "ünal" on SQLite as they do on PostgreSQL. SQLite lets an
// application function overload a built-in one; it applies to every
// connection opened afterwards.
func registerUnicodeLower() {
	gosqlite.MustRegisterDeterministicScalarFunction("lower", 1,
		func(_ *gosqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			default: // NULL and numbers: as the built-in LOWER returns them
				return v, nil
			}
		})
}

// sqliteDSN adds the pragmas every connection needs to a file path (or to a
// "file:" URI that has none of its own).
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// A deleted patient's record, or a value an edit replaced, is zeroed
	// in the file rather than left in free space, where a copy of the file
	// (a backup, a stolen disk) would still hold it. It costs a write of
	// the freed bytes; a checkpoint carries it from the WAL to the file.
	q.Add("_pragma", "secure_delete(1)")
	// The WAL grows while a long read keeps it from being checkpointed,
	// and SQLite keeps a grown file at its size for good: cut it back to
	// 64 MiB each time a checkpoint empties it.
	q.Add("_pragma", "journal_size_limit(67108864)")
	// Ignored by glebarez/go-sqlite v1.21.2 (see sqliteImmediateDriver,
	// which does its work); kept for a driver version that reads it.
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	if strings.HasPrefix(path, "file:") && strings.Contains(path, "?") {
		return path + "&" + q.Encode()
	}
	if !strings.HasPrefix(path, "file:") {
		// SQLite reads "file:" names as URIs: escape what URIs give meaning.
		path = "file:" + uriPathEscaper.Replace(path)
	}
	return path + "?" + q.Encode()
}

var uriPathEscaper = strings.NewReplacer("%", "%25", "#", "%23", "?", "%3f")

// Ping checks that the database answers within ctx.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return translate(sqlDB.PingContext(ctx))
}

// translate maps driver and GORM errors onto the error vocabulary, so no
// caller ever inspects an engine-specific error.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return notFound()
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return &Error{Code: Conflict, Message: "Duplicate value."}
	case isUnavailable(err):
		return unavailable(err)
	}
	return fmt.Errorf("store: %w", err)
}

// sqliteBusy is SQLite's primary result code for a lock held by another
// connection.
const sqliteBusy = 5

// isUnavailable reports errors that mean the database could not be reached
// in time rather than a bug: connection failures, expired deadlines and a
// database locked by someone else for longer than the caller could wait.
func isUnavailable(err error) bool {
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, errWritersBusy),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.As(err, &netErr), errors.As(err, &connectErr),
		// The server hung up mid-conversation (restart, proxy or network cut).
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	}
	// SQLite: another connection holds the lock past the busy timeout (or
	// the caller's deadline, which bounds it: immediateConn.waitAtMost).
	// Not SQLITE_LOCKED: without a shared cache, only this connection's
	// own statements can cause it, which is a bug.
	if sqliteCode(err) == sqliteBusy {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: server shutting down or
		// not yet accepting connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "database is closed")
}
