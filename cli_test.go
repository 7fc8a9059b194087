package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// cliPassword is a password every rule accepts.
const cliPassword = "Quiet-Harbor-Lantern-42"

// cliDB is a database for the command line to run on, and a connection of
// the test's own to inspect it.
type cliDB struct {
	env map[string]string // DEBUG plus SQLITE_PATH or DATABASE_URL
	db  *gorm.DB
}

// newCLIDB returns an empty database (no tables): an SQLite file in the
// test's directory, or, with TEST_DATABASE_URL, an empty PostgreSQL schema
// of its own.
func newCLIDB(t *testing.T) *cliDB {
	t.Helper()
	env := map[string]string{"DEBUG": "true"}
	if modelstest.Engine() == models.Postgres {
		db, dsn := modelstest.OpenDSN(t)
		u, err := url.Parse(dsn.DSN)
		if err != nil {
			t.Fatal(err)
		}
		schema := u.Query().Get("search_path")
		if schema == "" {
			t.Fatalf("test DSN has no search_path: %s", dsn.DSN)
		}
		// OpenDSN migrated the schema: start again from nothing.
		if err := db.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Fatalf("drop schema: %v", err)
		}
		if err := db.Exec("CREATE SCHEMA " + schema).Error; err != nil {
			t.Fatalf("create schema: %v", err)
		}
		env["DATABASE_URL"] = dsn.DSN
		return &cliDB{env: env, db: db}
	}
	path := filepath.Join(t.TempDir(), "cli.db")
	env["SQLITE_PATH"] = path
	db, err := models.Open(context.Background(), models.SQLite, path, models.PoolOptions{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	return &cliDB{env: env, db: db}
}

// store is a Store over the test's connection.
func (d *cliDB) store() *models.Store {
	return models.NewStore(d.db, models.NewHasher(modelstest.CheapHash, 0))
}

// cliResult is what one run of the command line did.
type cliResult struct {
	err            error
	stdout, stderr string
}

// cliRun calls run with d's environment plus extra, and stdin.
func (d *cliDB) cliRun(t *testing.T, extra map[string]string, stdin string, args ...string) cliResult {
	t.Helper()
	env := map[string]string{}
	for k, v := range d.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return cliResult{err: err, stdout: stdout.String(), stderr: stderr.String()}
}

// cliNoPassword fails if the password shows in the output.
func cliNoPassword(t *testing.T, r cliResult, password string) {
	t.Helper()
	if strings.Contains(r.stdout, password) || strings.Contains(r.stderr, password) || (r.err != nil && strings.Contains(r.err.Error(), password)) {
		t.Errorf("the password appears in the output: stdout %q stderr %q err %v", r.stdout, r.stderr, r.err)
	}
}

func TestCLICreateSuperuserFromEnvironment(t *testing.T) {
	t.Parallel()
	d := newCLIDB(t)
	r := d.cliRun(t, map[string]string{"SUPERUSER_PASSWORD": cliPassword}, "", "-createsuperuser", "-email", "  Admin@Example.com ")
	if r.err != nil {
		t.Fatalf("createsuperuser: %v; stderr %s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "admin@example.com") {
		t.Errorf("stdout = %q, want it to name the user", r.stdout)
	}
	cliNoPassword(t, r, cliPassword)

	ctx := context.Background()
	s := d.store()
	u, err := s.UserByEmail(ctx, "admin@example.com")
	if err != nil {
		t.Fatalf("user not created: %v", err)
	}
	if u.Email != "admin@example.com" || !u.IsStaff || !u.IsSuperuser || !u.IsActive || u.Name != "admin" {
		t.Errorf("user = %+v, want admin@example.com, staff, superuser, active, named admin", u)
	}
	if u.PasswordHash == cliPassword || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("password stored as %q, want an argon2id hash", u.PasswordHash)
	}
	if _, err := s.Authenticate(ctx, "ADMIN@example.com", cliPassword); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	// The creation is the command line's, by the OS user, not the API's.
	evs := secAuditEvents(t, s, models.AuditFilter{Action: models.ActionCreate, ObjectType: models.ObjectUser, ObjectID: u.ID})
	if len(evs) != 1 || evs[0].Source != "cli" || !strings.HasPrefix(evs[0].UserEmail, "os-user:") {
		t.Errorf("creation events = %+v, want one from the command line", evs)
	}
}

func TestCLICreateSuperuserName(t *testing.T) {
	t.Parallel()
	d := newCLIDB(t)
	r := d.cliRun(t, map[string]string{"SUPERUSER_PASSWORD": cliPassword}, "", "-createsuperuser", "-email", "ada@example.com", "-name", "Ada Lovelace")
	if r.err != nil {
		t.Fatalf("createsuperuser: %v", r.err)
	}
	u, err := d.store().UserByEmail(context.Background(), "ada@example.com")
	if err != nil || u.Name != "Ada Lovelace" {
		t.Fatalf("user = %+v, %v; want name Ada Lovelace", u, err)
	}
}

func TestCLICreateSuperuserPasswordFromStdin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, stdin string }{
		{"line", cliPassword + "\n"},
		{"CRLF line", cliPassword + "\r\n"},
		{"no final newline", cliPassword},
		{"only the first line counts", cliPassword + "\nsomething else\n"},
	} {
		d := newCLIDB(t)
		r := d.cliRun(t, nil, tt.stdin, "-createsuperuser", "-email", "root@example.com")
		if r.err != nil {
			t.Errorf("%s: createsuperuser: %v", tt.name, r.err)
			continue
		}
		cliNoPassword(t, r, cliPassword)
		if _, err := d.store().Authenticate(context.Background(), "root@example.com", cliPassword); err != nil {
			t.Errorf("%s: login with the password from stdin: %v", tt.name, err)
		}
	}

	// No password anywhere: an error, and no user.
	d := newCLIDB(t)
	r := d.cliRun(t, nil, "", "-createsuperuser", "-email", "root@example.com")
	if r.err == nil || !strings.Contains(r.err.Error(), "SUPERUSER_PASSWORD") {
		t.Errorf("no password: error = %v, want one that names SUPERUSER_PASSWORD", r.err)
	}
	if _, err := d.store().UserByEmail(context.Background(), "root@example.com"); models.ErrorCode(err) != models.NotFound {
		t.Errorf("no password: user lookup = %v, want NotFound", err)
	}
}

func TestCLICreateSuperuserExistingEmail(t *testing.T) {
	t.Parallel()
	d := newCLIDB(t)
	if r := d.cliRun(t, map[string]string{"SUPERUSER_PASSWORD": cliPassword}, "", "-createsuperuser", "-email", "boss@example.com"); r.err != nil {
		t.Fatalf("first run: %v", r.err)
	}
	const other = "Another-Secret-Phrase-77"
	for _, email := range []string{"boss@example.com", "BOSS@Example.COM"} {
		r := d.cliRun(t, map[string]string{"SUPERUSER_PASSWORD": other}, "", "-createsuperuser", "-email", email)
		if r.err == nil || !strings.Contains(r.err.Error(), "already exists") {
			t.Errorf("second run with %s: error = %v, want \"already exists\"", email, r.err)
		}
		var usage usageError
		if errors.As(r.err, &usage) {
			t.Errorf("second run with %s: a usage error (exit 2), want a plain failure (exit 1)", email)
		}
		cliNoPassword(t, r, other)
	}
	ctx := context.Background()
	s := d.store()
	if _, err := s.Authenticate(ctx, "boss@example.com", cliPassword); err != nil {
		t.Errorf("the old password stopped working: %v", err)
	}
	if _, err := s.Authenticate(ctx, "boss@example.com", other); err == nil {
		t.Error("the second run changed the password")
	}
	var n int64
	if err := d.db.Model(&models.User{}).Count(&n).Error; err != nil || n != 1 {
		t.Errorf("users = %d (%v), want 1", n, err)
	}
}

func TestCLICreateSuperuserRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, email, password string
		want                  []string // fragments of the error
	}{
		{"numeric and common", "weak@example.com", "12345678", []string{"password:", "numeric"}},
		{"too short", "weak@example.com", "Ab1-x", []string{"password:", "too short"}},
		{"common", "weak@example.com", "iloveyou", []string{"password:", "too common"}},
		{"similar to the email", "harbormaster@example.com", "harbormaster", []string{"password:", "too similar"}},
		{"bad email", "not-an-email", cliPassword, []string{"email:", "valid email"}},
	}
	for _, tt := range tests {
		d := newCLIDB(t)
		r := d.cliRun(t, map[string]string{"SUPERUSER_PASSWORD": tt.password}, "", "-createsuperuser", "-email", tt.email)
		if r.err == nil {
			t.Errorf("%s: createsuperuser succeeded", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.err.Error(), w) {
				t.Errorf("%s: error %q, want it to contain %q", tt.name, r.err, w)
			}
		}
		cliNoPassword(t, r, tt.password)
		var n int64
		if err := d.db.Model(&models.User{}).Count(&n).Error; err != nil || n != 0 {
			t.Errorf("%s: users = %d (%v), want none", tt.name, n, err)
		}
	}
}

func TestCLIUsageErrors(t *testing.T) {
	t.Parallel()
	d := newCLIDB(t)
	for _, args := range [][]string{
		{"-createsuperuser"},
		{"-createsuperuser", "-email", "   "},
		{"-no-such-flag"},
		{"-email"},
		{"stray-argument"},
		{"-migrate", "extra"},
		// Two modes at once did one of them; a flag without its mode was
		// ignored (-force alone started the server).
		{"-migrate", "-seed-demo"},
		{"-audit-export", "-migrate"},
		{"-version", "-migrate"},
		{"-healthcheck", "-createsuperuser", "-email", "a@example.com"},
		{"-force"},
		{"-seed-size", "5"},
		{"-name", "Ann"},
		{"-migrate", "-email", "a@example.com"},
		{"-to", "2026-01-31"},
		{"-seed-demo", "-seed-size", "0"},
		{"-seed-demo", "-seed-size", "-5"},
	} {
		r := d.cliRun(t, map[string]string{"SUPERUSER_PASSWORD": cliPassword}, "", args...)
		var usage usageError
		if !errors.As(r.err, &usage) {
			t.Errorf("run %q: error = %v (%T), want a usageError", args, r.err, r.err)
		}
	}
	// Refused before the database was opened: nothing was migrated.
	if d.db.Migrator().HasTable(&models.User{}) {
		t.Error("a usage error migrated the database")
	}
	if r := d.cliRun(t, nil, "", "-help"); !errors.Is(r.err, flag.ErrHelp) {
		t.Errorf("run -help: error = %v, want flag.ErrHelp", r.err)
	} else if !strings.Contains(r.stderr, "-createsuperuser") {
		t.Errorf("run -help: stderr %q, want the usage", r.stderr)
	}
}

func TestCLIMigrateCreatesTables(t *testing.T) {
	t.Parallel()
	d := newCLIDB(t)
	tables := []any{&models.User{}, &models.TokenFamily{}, &models.IssuedToken{}, &models.Patient{}, &models.Doctor{}, &models.Mapping{}}
	for _, tb := range tables {
		if d.db.Migrator().HasTable(tb) {
			t.Fatalf("test setup: %T's table exists before -migrate", tb)
		}
	}
	r := d.cliRun(t, nil, "", "-migrate")
	if r.err != nil {
		t.Fatalf("-migrate: %v; stderr %s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "migrations applied") {
		t.Errorf("stdout = %q", r.stdout)
	}
	for _, tb := range tables {
		if !d.db.Migrator().HasTable(tb) {
			t.Errorf("%T: no table after -migrate", tb)
		}
	}
	// Running it again changes nothing and succeeds.
	if r := d.cliRun(t, nil, "", "-migrate"); r.err != nil {
		t.Errorf("second -migrate: %v", r.err)
	}
}

// A SQLite file others may read (one an older release created under umask
// 022) is named in a warning at every start, until it is made private.
func TestCLIWarnsOfAReadableSQLiteFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "older.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	getenv := secEnv(modelstest.DSN{Driver: models.SQLite, DSN: path}, nil)
	migrate := func() string {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"-migrate"}, getenv, strings.NewReader(""), &stdout, &stderr); err != nil {
			t.Fatalf("-migrate: %v; stderr %s", err, stderr.String())
		}
		return stderr.String()
	}
	if logs := migrate(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "has mode 0644") || !strings.Contains(logs, "chmod 600 "+path) {
		t.Errorf("start on a file of mode 0644 logged %q, want a warning naming the mode and the fix", logs)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if logs := migrate(); strings.Contains(logs, "has mode") {
		t.Errorf("start on a private file logged %q", logs)
	}
}

// cliBuild builds the command into dir and returns the binary's path.
func cliBuild(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			t.Skip("no go tool to build the binary")
		}
	}
	bin := filepath.Join(t.TempDir(), "healthcare")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestCLIExitCodes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := cliBuild(t)
	d := newCLIDB(t)
	workDir := t.TempDir() // no .env here
	exitCode := func(args []string, extra ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = workDir
		cmd.Env = []string{"SUPERUSER_PASSWORD=" + cliPassword}
		for k, v := range d.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, extra...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, stderr.String()
		case errors.As(err, &exit):
			return exit.ExitCode(), stderr.String()
		}
		t.Fatalf("run %v: %v", args, err)
		return -1, ""
	}
	tests := []struct {
		name     string
		args     []string
		want     int
		inStderr string
	}{
		{"bad flag", []string{"-no-such-flag"}, 2, "no-such-flag"},
		{"stray argument", []string{"serve"}, 2, "unexpected argument"},
		{"help", []string{"-help"}, 0, "-createsuperuser"},
		{"missing email", []string{"-createsuperuser"}, 2, "-email"},
		{"new superuser", []string{"-createsuperuser", "-email", "exit@example.com"}, 0, ""},
		{"existing email", []string{"-createsuperuser", "-email", "Exit@Example.com"}, 1, "already exists"},
		{"migrate", []string{"-migrate"}, 0, ""},
	}
	for _, tt := range tests {
		code, stderr := exitCode(tt.args)
		if code != tt.want {
			t.Errorf("%s: healthcare %q exited %d, want %d; stderr:\n%s", tt.name, tt.args, code, tt.want, stderr)
		}
		if !strings.Contains(stderr, tt.inStderr) {
			t.Errorf("%s: stderr %q, want it to mention %q", tt.name, stderr, tt.inStderr)
		}
		if strings.Contains(stderr, cliPassword) {
			t.Errorf("%s: stderr shows the password", tt.name)
		}
	}
	// A broken configuration is a plain failure too.
	if code, stderr := exitCode([]string{"-migrate"}, "DEBUG=maybe"); code != 1 || !strings.Contains(stderr, "DEBUG") {
		t.Errorf("DEBUG=maybe: exited %d, want 1; stderr %q", code, stderr)
	}

	// A server that cannot run says why in its log's format, on one line
	// (pgx gives a line to each address it tried), the password hidden.
	for _, format := range []string{"json", "text"} {
		code, stderr := exitCode(nil, "LOG_FORMAT="+format, "ADDR=127.0.0.1:0",
			"DATABASE_URL=postgres://u:s3cretpw@127.0.0.1:1/x?sslmode=prefer")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != 1 || strings.Contains(stderr, "s3cretpw") || strings.Contains(stderr, "healthcare:") {
			t.Errorf("LOG_FORMAT=%s, no database: exited %d, want 1; stderr %q", format, code, stderr)
		}
		if format == "json" {
			var rec struct{ Level, Msg, Error string }
			for _, l := range lines {
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Errorf("LOG_FORMAT=json: a line that is not JSON: %q", l)
				}
			}
			if rec.Level != "ERROR" || !strings.Contains(rec.Error, "connection refused") {
				t.Errorf("LOG_FORMAT=json: last record %+v, want the error", rec)
			}
		} else if !strings.Contains(last, "level=ERROR") || !strings.Contains(last, "connection refused") {
			t.Errorf("LOG_FORMAT=text: last line %q, want the error", last)
		}
	}

	// -healthcheck probes /healthz at ADDR, from the environment or from
	// .env like every other setting; 0 only for a 200.
	var healthStatus atomic.Int32 // the process's requests are not ours to order
	healthStatus.Store(http.StatusOK)
	probed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(healthStatus.Load()))
	}))
	defer probed.Close()
	addr := strings.TrimPrefix(probed.URL, "http://")
	if code, stderr := exitCode([]string{"-healthcheck"}, "ADDR="+addr); code != 0 {
		t.Errorf("-healthcheck with ADDR=%s: exited %d, want 0; stderr %q", addr, code, stderr)
	}
	if err := os.WriteFile(filepath.Join(workDir, ".env"), []byte("ADDR="+addr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stderr := exitCode([]string{"-healthcheck"}); code != 0 {
		t.Errorf("-healthcheck with ADDR=%s in .env: exited %d, want 0; stderr %q", addr, code, stderr)
	}
	healthStatus.Store(http.StatusServiceUnavailable)
	if code, stderr := exitCode([]string{"-healthcheck"}); code != 1 || !strings.Contains(stderr, "503") {
		t.Errorf("-healthcheck of a server answering 503: exited %d, want 1; stderr %q", code, stderr)
	}
}
