package models

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// openSQLiteForTest opens (and migrates, if asked) an SQLite database at
// path, closed when the test ends.
func openSQLiteForTest(t *testing.T, path string, migrate bool) *gorm.DB {
	t.Helper()
	db, err := Open(context.Background(), SQLite, path, PoolOptions{})
	if err != nil {
		t.Fatalf("Open(sqlite, %s): %v", path, err)
	}
	t.Cleanup(func() { _ = Close(db) })
	if migrate {
		if err := Migrate(db); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	return db
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	own := &Error{Code: Forbidden, Message: "no"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"record not found", gorm.ErrRecordNotFound, NotFound},
		{"wrapped record not found", fmt.Errorf("find: %w", gorm.ErrRecordNotFound), NotFound},
		{"duplicate key", gorm.ErrDuplicatedKey, Conflict},
		{"deadline exceeded", context.DeadlineExceeded, Unavailable},
		{"wrapped deadline exceeded", fmt.Errorf("query: %w", context.DeadlineExceeded), Unavailable},
		{"canceled", context.Canceled, Unavailable},
		{"bad connection", driver.ErrBadConn, Unavailable},
		{"postgres connection exception", &pgconn.PgError{Code: "08006"}, Unavailable},
		{"postgres shutting down", &pgconn.PgError{Code: "57P01"}, Unavailable},
		// Outside retryDeadlock, writers that take rows out of order: a bug.
		{"postgres deadlock", &pgconn.PgError{Code: "40P01"}, Internal},
		{"postgres syntax error", &pgconn.PgError{Code: "42601", Message: "syntax error"}, Internal},
		{"plain error", errors.New("boom: SELECT * FROM users"), Internal},
		{"an *Error passes through", own, Forbidden},
	}
	for _, tt := range tests {
		got := translate(tt.err)
		if code := ErrorCode(got); code != tt.want {
			t.Errorf("%s: ErrorCode(translate(%v)) = %q, want %q", tt.name, tt.err, code, tt.want)
		}
	}
	if translate(nil) != nil {
		t.Errorf("translate(nil) = %v, want nil", translate(nil))
	}
	if got := translate(own); got != error(own) {
		t.Errorf("translate(*Error) = %v, want the same error", got)
	}
	// Internal errors keep their cause for the log, but their user-facing
	// message is the generic one.
	plain := errors.New("boom")
	got := translate(plain)
	if !errors.Is(got, plain) {
		t.Errorf("translate(plain) = %v, want it to wrap the cause", got)
	}
	if msg := ErrorMessage(got); msg != "Internal server error." {
		t.Errorf("ErrorMessage(translate(plain)) = %q, want the generic message", msg)
	}
	if msg := ErrorMessage(translate(context.DeadlineExceeded)); msg != "Service temporarily unavailable." {
		t.Errorf("ErrorMessage(unavailable) = %q", msg)
	}
	if ErrorCode(nil) != "" {
		t.Errorf("ErrorCode(nil) = %q, want \"\"", ErrorCode(nil))
	}
}

// A request's failure is logged with the reason its context ended when
// the server ended it with one, and a client's hang-up is told from a
// deadline and from the server's own cancel.
func TestClientGoneAndCauseOf(t *testing.T) {
	locked := errWritersBusy
	err := translate(locked) // Unavailable, its cause the driver's error
	if ErrorCode(err) != Unavailable {
		t.Fatalf("translate(%v) = %v, want Unavailable", locked, err)
	}
	shutdown := errors.New("the server is shutting down")

	live := context.Background()
	hungUp, hangUp := context.WithCancel(live)
	hangUp()
	late, cancel := context.WithDeadline(live, time.Now().Add(-time.Second))
	defer cancel()
	cut, cutAll := context.WithCancelCause(live)
	cutAll(shutdown)
	underCut, cancel := context.WithTimeout(cut, time.Minute) // a deadline middleware's, inside the cut
	defer cancel()

	for _, tc := range []struct {
		name      string
		ctx       context.Context
		gone      bool
		wantCause error
	}{
		{"live", live, false, locked},
		{"client hung up", hungUp, true, locked},
		{"deadline", late, false, locked},
		{"server's cut", cut, false, shutdown},
		{"server's cut under a deadline", underCut, false, shutdown},
	} {
		if got := ClientGone(tc.ctx); got != tc.gone {
			t.Errorf("%s: ClientGone = %v, want %v", tc.name, got, tc.gone)
		}
		if got := CauseOf(tc.ctx, err); got != tc.wantCause {
			t.Errorf("%s: CauseOf = %v, want %v", tc.name, got, tc.wantCause)
		}
	}
	// An error with no driver's cause behind it is its own.
	written := errors.New("write tcp: i/o timeout")
	if got := CauseOf(live, written); got != written {
		t.Errorf("CauseOf(a write's error) = %v, want it", got)
	}
	bare := &Error{Code: Unavailable, Message: "Service temporarily unavailable."}
	if got := CauseOf(live, bare); got != bare {
		t.Errorf("CauseOf(Unavailable without a cause) = %v, want it", got)
	}
}

func TestSQLiteDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path       string
		wantPrefix string
	}{
		{"/data/clinic.db", "file:/data/clinic.db?"},
		{"healthcare.db", "file:healthcare.db?"},
		{"file:/data/clinic.db", "file:/data/clinic.db?"},
	}
	for _, tt := range tests {
		dsn := sqliteDSN(tt.path)
		if !strings.HasPrefix(dsn, tt.wantPrefix) {
			t.Errorf("sqliteDSN(%q) = %q, want prefix %q", tt.path, dsn, tt.wantPrefix)
			continue
		}
		q, err := url.ParseQuery(dsn[len(tt.wantPrefix):])
		if err != nil {
			t.Errorf("sqliteDSN(%q) = %q: query does not parse: %v", tt.path, dsn, err)
			continue
		}
		pragmas := strings.Join(q["_pragma"], ",")
		for _, want := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)"} {
			if !strings.Contains(pragmas, want) {
				t.Errorf("sqliteDSN(%q) = %q: no _pragma=%s", tt.path, dsn, want)
			}
		}
		if q.Get("_txlock") != "immediate" {
			t.Errorf("sqliteDSN(%q) = %q: _txlock = %q, want immediate", tt.path, dsn, q.Get("_txlock"))
		}
	}
	// A URI with parameters of its own gets the pragmas appended.
	dsn := sqliteDSN("file:/data/clinic.db?mode=rwc")
	if !strings.HasPrefix(dsn, "file:/data/clinic.db?mode=rwc&") || !strings.Contains(dsn, "_txlock=immediate") {
		t.Errorf("sqliteDSN with its own query = %q", dsn)
	}
}

func TestOpenSQLiteSetsPragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	db := openSQLiteForTest(t, filepath.Join(t.TempDir(), "pragmas.db"), false)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Hold several connections at once so the pool must open distinct ones.
	const n = 4
	for i := 0; i < n; i++ {
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		defer conn.Close()
		for _, p := range []struct{ name, want string }{
			{"journal_mode", "wal"},
			{"foreign_keys", "1"},
			{"busy_timeout", "10000"},
			{"synchronous", "1"}, // NORMAL
			{"secure_delete", "1"},
			{"journal_size_limit", "67108864"},
		} {
			var v string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&v); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, p.name, err)
			}
			if strings.ToLower(v) != p.want {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, p.name, v, p.want)
			}
		}
	}
}

func TestOpenSQLitePathWithSpecialCharacters(t *testing.T) {
	t.Parallel()
	// SQLITE_PATH is a file path, not a URI: characters that mean something
	// in a URI must still name the file they spell.
	for _, name := range []string{"my clinic.db", "clinic#1.db", "100%.db", "what?.db"} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		db := openSQLiteForTest(t, path, true)
		var mode string
		if err := db.Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil {
			t.Fatalf("%q: PRAGMA journal_mode: %v", name, err)
		}
		if mode != "wal" {
			t.Errorf("%q: journal_mode = %q, want wal", name, mode)
		}
		if _, err := os.Stat(path); err != nil {
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("SQLITE_PATH %q: database file not created at that path (%v); directory holds %q", name, err, names)
		}
	}
}

// A new SQLite database, and the -wal and -shm files beside it, are for
// their owner only: they hold patients' records and password hashes (SQLite
// made them world-readable under umask 022). An existing file keeps the
// mode its operator gave it.
func TestOpenSQLiteCreatesAPrivateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "new.db")
	db := openSQLiteForTest(t, path, true)
	if err := db.Exec("CREATE TABLE t (x INTEGER)").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO t VALUES (1)").Error; err != nil { // the WAL holds it
		t.Fatal(err)
	}
	for _, name := range []string{"new.db", "new.db-wal", "new.db-shm"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group and others", name, perm)
		}
	}
	kept := filepath.Join(dir, "kept.db")
	if err := os.WriteFile(kept, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(kept, 0o640); err != nil { // whatever the umask
		t.Fatal(err)
	}
	openSQLiteForTest(t, kept, true)
	if st, err := os.Stat(kept); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("an existing database's mode changed: %v, %v", st.Mode(), err)
	}
}

func TestOpenUnknownDriver(t *testing.T) {
	t.Parallel()
	if _, err := Open(context.Background(), "mysql", "x", PoolOptions{}); err == nil || !strings.Contains(err.Error(), "unknown driver") {
		t.Fatalf("Open(mysql) error = %v, want unknown driver", err)
	}
}

// A DSN pgx cannot parse is quoted in its error with only the password
// before the "@" masked: Open hides the others too, in every form.
func TestOpenHidesTheDSNsPasswords(t *testing.T) {
	t.Parallel()
	for dsn, secrets := range map[string][]string{
		"postgres://bob:UrlPw6@127.0.0.1/x?sslpassword=SslPw7&sslmode=verify-full&sslrootcert=/nonexistent": {"UrlPw6", "SslPw7"},
		"postgres://bob@127.0.0.1:5432/x?sslmode=bogus&password=Query%20Secret1":                            {"Query%20Secret1", "Query Secret1"},
		"postgresql://bob@127.0.0.1/x?PASSWORD=UpperSecret2&sslmode=bogus":                                  {"UpperSecret2"},
		"host=127.0.0.1 user=bob password='Kv Secret3' sslmode=bogus":                                       {"Kv Secret3"},
		"host=127.0.0.1 password=KvSecret4 sslmode=bogus":                                                   {"KvSecret4"},
		`host=127.0.0.1 user=bob password='ab\'Tail Secret9' sslmode=bogus`:                                 {"Tail Secret9", "Secret9"},
		"postgres://bob:Port6Secret@127.0.0.1:99999999/x":                                                   {"Port6Secret"},
		"postgres://bob@127.0.0.1/x?application_name=a@b&password=AtSecret5&sslmode=bogus":                  {"AtSecret5"},
	} {
		_, err := Open(context.Background(), Postgres, dsn, PoolOptions{})
		if err == nil {
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("Open(%q): error shows %q: %v", dsn, s, err)
			}
		}
		if !regexp.MustCompile(`sslmode|CA file|port`).MatchString(err.Error()) {
			t.Errorf("Open(%q): %v, want what is wrong named", dsn, err)
		}
	}
}

// A server that accepts the connection and never answers (a stuck pooler)
// does not hold the boot past its context: SIGTERM still stops it.
func TestOpenGivesUpWithItsContext(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Open(ctx, Postgres, "postgres://bob@"+ln.Addr().String()+"/x?sslmode=disable", PoolOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Open against a silent server: %v, want the context's deadline", err)
		}
	case <-time.After(30 * time.Second): // a hang, not a speed limit
		t.Fatal("Open against a silent server did not return with its context")
	}
}

// Two processes that create the same SQLite file at once both open it:
// the one whose switch to WAL mode met the other's answers SQLITE_BUSY at
// once, without waiting out the busy timeout, and tries again. Processes,
// not two pools of one: in one process the race did not show.
func TestOpenSQLiteNewFileFromTwoProcessesAtOnce(t *testing.T) {
	if path := os.Getenv("MODELS_TEST_OPEN_SQLITE"); path != "" { // the child
		db, err := Open(context.Background(), SQLite, path, PoolOptions{})
		if err == nil {
			err = Close(db)
		}
		if err != nil {
			fmt.Print(err)
			os.Exit(1)
		}
		return
	}
	t.Parallel()
	for round := range 30 {
		path := filepath.Join(t.TempDir(), "new"+strconv.Itoa(round)+".db")
		cmds := make([]*exec.Cmd, 2)
		out := make([]bytes.Buffer, 2)
		for i := range cmds {
			cmds[i] = exec.Command(os.Args[0], "-test.run=^TestOpenSQLiteNewFileFromTwoProcessesAtOnce$", "-test.count=1")
			cmds[i].Env = append(os.Environ(), "MODELS_TEST_OPEN_SQLITE="+path)
			cmds[i].Stdout = &out[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("round %d: process %d: %v: %s", round, i, err, out[i].String())
			}
		}
	}
}

func TestSQLiteForeignKeysEnforced(t *testing.T) {
	t.Parallel()
	db := openSQLiteForTest(t, filepath.Join(t.TempDir(), "fk.db"), true)
	s := NewStore(db, NewHasher(cheapParams, 0))
	// A patient of a user that does not exist violates the foreign key.
	err := s.CreatePatient(context.Background(), 999999, &Patient{Name: "Orphan"})
	if err == nil {
		t.Fatal("CreatePatient for a missing owner succeeded; foreign keys are off")
	}
}

// A deleted patient leaves nothing readable in the SQLite file: without
// secure_delete its whole row stayed in the file's free space after the
// delete, there for anyone with a copy of the file.
func TestSQLiteDeletedPatientLeavesNoTrace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "erase.db")
	db := openSQLiteForTest(t, path, true)
	s := NewStore(db, NewHasher(cheapParams, 0))
	ctx := context.Background()
	owner, err := s.CreateUser(ctx, NewUser{Name: "Owner", Email: "owner@clinic.example", Password: "Horse-battery-42x", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "Diagnosis-7f3c9e2a-never-to-be-found"
	p := &Patient{Name: "Zanzibar Forensicus", Address: secret, MedicalHistory: secret}
	if err := s.CreatePatient(ctx, owner.ID, p); err != nil {
		t.Fatal(err)
	}
	checkpoint := func() []byte {
		t.Helper()
		if err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if !bytes.Contains(checkpoint(), []byte(secret)) {
		t.Fatal("the patient's record is not in the file before its delete: the test looks in the wrong place")
	}
	if err := s.DeletePatient(ctx, owner.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	// A backup as the README takes it, before any checkpoint: VACUUM INTO
	// copies the live rows, not the WAL's older pages.
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Exec("VACUUM INTO ?", backup).Error; err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(backup); err != nil {
		t.Fatal(err)
	} else if n := bytes.Count(data, []byte(secret)); n > 0 {
		t.Errorf("the deleted patient's medical history is in a VACUUM INTO backup %d times", n)
	}
	if n := bytes.Count(checkpoint(), []byte(secret)); n > 0 {
		t.Errorf("the deleted patient's medical history is still in the file %d times", n)
	}
}

func TestSQLiteConcurrentWrites(t *testing.T) {
	t.Parallel()
	db := openSQLiteForTest(t, filepath.Join(t.TempDir(), "concurrent.db"), true)
	s := NewStore(db, NewHasher(cheapParams, 0))
	ctx := context.Background()
	u, err := s.CreateUser(ctx, NewUser{Name: "Owner", Email: "owner@example.com", Password: "correct-Horse-battery-9", IsActive: true})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			p := &Patient{Name: "Patient " + strconv.Itoa(i)}
			if err := s.CreatePatient(ctx, u.ID, p); err != nil {
				errs <- fmt.Errorf("CreatePatient %d: %w", i, err)
				return
			}
			// A read-then-write transaction too: these deadlock into
			// "database is locked" without IMMEDIATE transactions.
			if i%2 == 0 {
				if err := s.DeletePatient(ctx, u.ID, p.ID); err != nil {
					errs <- fmt.Errorf("DeletePatient %d: %w", i, err)
				}
			}
		}(i)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("%v", err)
	}
	var count int64
	if err := db.Model(&Patient{}).Count(&count).Error; err != nil {
		t.Fatal(err)
	}
	if count != n/2 {
		t.Errorf("patients = %d, want %d", count, n/2)
	}
}

func TestClosedDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	db := openSQLiteForTest(t, filepath.Join(t.TempDir(), "closed.db"), true)
	s := NewStore(db, NewHasher(cheapParams, 0))
	if err := Close(db); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Ping(ctx); ErrorCode(err) != Unavailable {
		t.Errorf("Ping on a closed database = %v (code %q), want Unavailable", err, ErrorCode(err))
	}
	_, err := s.Patient(ctx, 1, 1)
	if ErrorCode(err) != Unavailable {
		t.Errorf("query on a closed database = %v (code %q), want Unavailable", err, ErrorCode(err))
	}
}

// A SQLite file that cannot be opened says why: the driver says "out of
// memory (14)" for a missing directory, a directory, or one it cannot
// write to.
func TestOpenSQLiteExplainsAFileItCannotOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not sqlite ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(dir, "missing", "x.db"): "does not exist",
		dir:                                   "is a directory",
		junk:                                  "not a database", // the driver's own words
	} {
		db, err := Open(context.Background(), SQLite, path, PoolOptions{})
		if err == nil {
			Close(db)
			t.Errorf("Open(%q) succeeded", path)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want it to say %q", path, err, want)
		}
		if path == junk && strings.Contains(err.Error(), "may write") {
			t.Errorf("Open(%q) = %v: a file that is not a database is not a permission problem", path, err)
		}
	}
}
