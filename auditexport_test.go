package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// secEnv is the environment of run for a test database.
func secEnv(dsn modelstest.DSN, extra map[string]string) func(string) string {
	env := map[string]string{"SECRET_KEY": string(testSecret)}
	if dsn.Driver == models.Postgres {
		env["DATABASE_URL"] = dsn.DSN
	} else {
		env["SQLITE_PATH"] = dsn.DSN
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// secExportLine is one line of -audit-export.
type secExportLine struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	UserID     *int64          `json:"user_id"`
	UserEmail  string          `json:"user_email"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   *int64          `json:"object_id"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	Source     string          `json:"source"`
	Outcome    string          `json:"outcome"`
	Changes    json.RawMessage `json:"changes"`
}

// secExport runs -audit-export with args and returns the decoded lines.
func secExport(t *testing.T, getenv func(string) string, args ...string) []secExportLine {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"-audit-export"}, args...), getenv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("run -audit-export %v: %v; stderr: %s", args, err, stderr.String())
	}
	var lines []secExportLine
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var l secExportLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("-audit-export %v: line %q is not an event: %v", args, sc.Text(), err)
		}
		var changes map[string]any
		if err := json.Unmarshal(l.Changes, &changes); err != nil {
			t.Fatalf("-audit-export %v: changes of event %d are not an object: %s", args, l.ID, l.Changes)
		}
		lines = append(lines, l)
	}
	return lines
}

func TestAuditExportCLI(t *testing.T) {
	t.Parallel()
	db, dsn := modelstest.OpenDSN(t)
	// Events at the edges of January 2020 (in UTC), inserted directly:
	// the Store stamps events with the current time.
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	uid := int64(7)
	seed := []models.AuditEvent{
		{At: at("2019-12-31T23:59:59.999999Z"), Action: "view", ObjectType: "patient"},
		{At: at("2020-01-01T00:00:00Z"), Action: "create", ObjectType: "patient", UserID: &uid, UserEmail: "a@example.com",
			IP: "192.0.2.1", UserAgent: "ua", Changes: `{"name":{"old":null,"new":"Ann"}}`},
		{At: at("2020-01-15T12:00:00Z"), Action: "update", ObjectType: "patient", Changes: `{"name":{"old":"Ann","new":"Anna"}}`},
		{At: at("2020-01-31T23:59:59.999999Z"), Action: "delete", ObjectType: "patient"},
		{At: at("2020-02-01T00:00:00Z"), Action: "login", ObjectType: "user"},
	}
	for i := range seed {
		ev := &seed[i]
		ev.Source, ev.Outcome = "api", "success"
		if ev.Changes == "" {
			ev.Changes = "{}"
		}
		if err := db.Create(ev).Error; err != nil {
			t.Fatalf("seed event: %v", err)
		}
	}
	getenv := secEnv(dsn, nil)
	ids := func(lines []secExportLine) []int64 {
		var out []int64
		for _, l := range lines {
			if l.ObjectType != models.ObjectAuditLog {
				out = append(out, l.ID)
			}
		}
		return out
	}
	wantIDs := func(name string, got []int64, want ...models.AuditEvent) {
		t.Helper()
		var w []int64
		for _, ev := range want {
			w = append(w, ev.ID)
		}
		if len(got) != len(w) {
			t.Errorf("%s: exported events %v, want %v", name, got, w)
			return
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("%s: exported events %v, want %v", name, got, w)
				return
			}
		}
	}

	// -from and -to are both inclusive days, here of a clinic in UTC.
	jan := secExport(t, getenv, "-from", "2020-01-01", "-to", "2020-01-31")
	wantIDs("January", ids(jan), seed[1], seed[2], seed[3])
	if len(jan) != 3 {
		t.Errorf("January export has %d lines, want 3 (the export's own event is not in it)", len(jan))
	}
	first := jan[0]
	if first.UserID == nil || *first.UserID != 7 || first.UserEmail != "a@example.com" || first.IP != "192.0.2.1" ||
		first.Action != "create" || !first.At.Equal(seed[1].At) || string(first.Changes) != `{"name":{"old":null,"new":"Ann"}}` {
		t.Errorf("first line = %+v (changes %s)", first, first.Changes)
	}
	wantIDs("one day", ids(secExport(t, getenv, "-from", "2020-01-31", "-to", "2020-01-31")), seed[3])
	wantIDs("open end", ids(secExport(t, getenv, "-from", "2020-01-31")), seed[3], seed[4])
	wantIDs("open start", ids(secExport(t, getenv, "-to", "2019-12-31")), seed[0])
	wantIDs("empty range", ids(secExport(t, getenv, "-from", "2021-01-01", "-to", "2021-12-31")))

	// Every export is itself in the trail, after the fact.
	store := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	exports := secAuditEvents(t, store, models.AuditFilter{ObjectType: models.ObjectAuditLog})
	if len(exports) != 5 {
		t.Fatalf("%d export events, want 5", len(exports))
	}
	var c map[string]models.Change
	if err := json.Unmarshal([]byte(exports[0].Changes), &c); err != nil {
		t.Fatal(err)
	}
	if e := exports[0]; e.Action != models.ActionExport || e.Source != "cli" || e.Outcome != models.OutcomeSuccess ||
		c["events"].New != float64(3) || c["from"].New != "2020-01-01T00:00:00Z" || c["to_exclusive"].New != "2020-02-01T00:00:00Z" {
		t.Errorf("export event = %+v, changes %v", e, c)
	}
	// The whole trail, exports included, with no range.
	all := secExport(t, getenv)
	if len(all) != len(seed)+5 {
		t.Errorf("full export has %d lines, want %d", len(all), len(seed)+5)
	}
	// The days are the clinic's (TIME_ZONE), as the audit log's From and To
	// in the admin: Tokyo's 1 January 2020 began at 15:00 UTC the day
	// before, so it holds the event UTC put on New Year's Eve; and its
	// 1 February holds UTC's last instant of January.
	tokyo := secEnv(dsn, map[string]string{"TIME_ZONE": "Asia/Tokyo"})
	wantIDs("Tokyo's New Year's Day", ids(secExport(t, tokyo, "-from", "2020-01-01", "-to", "2020-01-01")), seed[0], seed[1])
	wantIDs("Tokyo's 1 February", ids(secExport(t, tokyo, "-from", "2020-02-01", "-to", "2020-02-01")), seed[3], seed[4])
}

func TestAuditExportUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-from", "2020-01-01"},
		{"-to", "2020-01-01"},
		{"-audit-export", "-from", "2020-1-1"},
		{"-audit-export", "-to", "31/01/2020"},
		{"-audit-export", "-from", "2020-02-01", "-to", "2020-01-31"},
	} {
		var stdout, stderr bytes.Buffer
		// No database: a usage error is found before one is opened.
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
		var usage usageError
		if !errors.As(err, &usage) {
			t.Errorf("run %v = %v, want a usage error", args, err)
		}
		if stdout.Len() != 0 {
			t.Errorf("run %v wrote to stdout: %s", args, stdout.String())
		}
	}
}

// failingWriter takes nothing: a full disk, a closed pipe.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// An export whose output fails is recorded as failed, even when its lines
// fit in the buffer and fail only at the last flush (it was recorded as a
// success, then the flush failed).
func TestAuditExportOutputFailureIsRecorded(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	if _, err := store.CreateUser(context.Background(), models.NewUser{Name: "Ann", Email: "ann@example.com",
		Password: "correct-Horse-battery-9", IsActive: true}); err != nil {
		t.Fatal(err)
	}
	if err := runAuditExport(context.Background(), store, models.AuditFilter{}, failingWriter{}); err == nil {
		t.Fatal("an export to a writer that fails succeeded")
	}
	evs := secAuditEvents(t, store, models.AuditFilter{Action: models.ActionExport, ObjectType: models.ObjectAuditLog})
	if len(evs) != 1 || evs[0].Outcome != models.OutcomeFailure {
		t.Fatalf("export events = %+v, want one failure", evs)
	}
}
