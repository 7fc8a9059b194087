package models_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// The index on the folded email that releases of 2026-11-27 made, before
// doctors' email keys, is dropped at boot: it is redundant with the key's
// unique index, and on SQLite it could name a function no release
// registers any more.
func TestMigrateDropsTheRetiredDoctorEmailIndex(t *testing.T) {
	t.Parallel()
	s, db, staff, _ := doctorKeyFixture(t)
	mustExec(t, db, `CREATE UNIQUE INDEX idx_doctors_email_lower ON doctors (LOWER(email))`)
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if db.Migrator().HasIndex(&models.Doctor{}, "idx_doctors_email_lower") {
		t.Error("the retired index is still there")
	}
	if err := s.CreateDoctor(admCtx(staff), staff.ID, &models.Doctor{Name: "Bea", Specialization: "Cardiology", Email: "bea@clinic.example"}); err != nil {
		t.Fatal(err)
	}
}

// unicodeLowerDB is the environment variable that makes
// TestMigrateDropsAnIndexOnAGoneFunction's process an older release's: it
// registers unicode_lower and leaves an index on it in the SQLite file it
// names.
const unicodeLowerDB = "HC_TEST_UNICODE_LOWER_DB"

// A SQLite file opened by the releases that indexed unicode_lower(email)
// refused every write to doctors once a later release (which has no such
// function) opened it: "unknown function: unicode_lower()". The boot drops
// that index without calling the function, and doctors can be written
// again. The older release runs in its own process, since a function
// registered with the driver stays registered for the process's life.
func TestMigrateDropsAnIndexOnAGoneFunction(t *testing.T) {
	if path := os.Getenv(unicodeLowerDB); path != "" {
		makeUnicodeLowerIndex(t, path)
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "older.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateDropsAnIndexOnAGoneFunction$")
	cmd.Env = append(os.Environ(), unicodeLowerDB+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the older release's process: %v\n%s", err, out)
	}
	db, err := models.Open(context.Background(), models.SQLite, path, models.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	// The fixture is what an upgrade found: writes to doctors fail.
	err = db.Exec(`UPDATE doctors SET email = email`).Error
	if err == nil || !strings.Contains(err.Error(), "unicode_lower") {
		t.Fatalf("a write before the boot's migration: %v, want unicode_lower's absence", err)
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	s := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	staff := admStoreUser(t, s, "staff2@clinic.example", true)
	if err := s.CreateDoctor(admCtx(staff), staff.ID, &models.Doctor{Name: "Bea", Specialization: "Cardiology", Email: "bea@clinic.example"}); err != nil {
		t.Fatalf("a doctor's write after the boot: %v", err)
	}
	if err := db.Exec(`UPDATE doctors SET name = 'Ann B' WHERE email = 'ann@clinic.example'`).Error; err != nil {
		t.Fatal(err)
	}
}

// makeUnicodeLowerIndex is the older release: a migrated SQLite file at
// path with a doctor, and the index on unicode_lower(email).
func makeUnicodeLowerIndex(t *testing.T, path string) {
	gosqlite.MustRegisterDeterministicScalarFunction("unicode_lower", 1,
		func(_ *gosqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			if v, ok := args[0].(string); ok {
				return strings.ToLower(v), nil
			}
			return args[0], nil
		})
	db, err := models.Open(context.Background(), models.SQLite, path, models.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	s := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	if err := s.CreateDoctor(admCtx(staff), staff.ID, &models.Doctor{Name: "Ann", Specialization: "Cardiology", Email: "ann@clinic.example"}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `CREATE UNIQUE INDEX idx_doctors_email_lower ON doctors (unicode_lower(email))`)
}

// Emails stored before internationalized domains had one form (decomposed,
// or in xn-- form, as typed) take it at boot, so the canonical spelling
// cannot register as a second account and shadow the first at login; a
// doctor's email key likewise. An address whose canonical form another
// account already holds stays as it is and signs in as typed.
func TestMigrateCanonicalizesStoredEmails(t *testing.T) {
	t.Parallel()
	s, db, staff, _ := doctorKeyFixture(t)
	ctx := context.Background()
	const password = "admin-Horse-battery-42"
	hash, err := s.Hasher().Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	legacy := func(email string) int64 {
		t.Helper()
		u := models.User{Email: email, Name: "Legacy", PasswordHash: hash, IsActive: true, DateJoined: time.Now()}
		if err := db.Create(&u).Error; err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	victim := legacy("victim@xn--bcher-kva.example")
	ana := legacy("ana@bu\u0308cher.example")
	canonicalCy := legacy("cy@müller.example")
	shadowedCy := legacy("cy@xn--mller-kva.example")
	mustExec(t, db, `INSERT INTO doctors (name, specialization, email, email_key, phone, years_of_experience, created_by_id, created_at, updated_at)
		VALUES ('Dr Old', 'Cardiology', 'Dr@xn--bcher-kva.example', 'dr@xn--bcher-kva.example', '', 3, ?, ?, ?)`, staff.ID, time.Now(), time.Now())
	mustExec(t, db, `INSERT INTO doctors (name, specialization, email, email_key, phone, years_of_experience, created_by_id, created_at, updated_at)
		VALUES ('Dr Caps', 'Cardiology', 'INFO@XN--BCHER-KVA.EXAMPLE', 'info@xn--bcher-kva.example', '', 3, ?, ?, ?)`, staff.ID, time.Now(), time.Now())

	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	email := func(id int64) string {
		var e string
		if err := db.Raw(`SELECT email FROM users WHERE id = ?`, id).Scan(&e).Error; err != nil {
			t.Fatal(err)
		}
		return e
	}
	for id, want := range map[int64]string{victim: "victim@bücher.example", ana: "ana@bücher.example",
		canonicalCy: "cy@müller.example", shadowedCy: "cy@xn--mller-kva.example"} {
		if got := email(id); got != want {
			t.Errorf("user %d's email after the boot = %q, want %q", id, got, want)
		}
	}
	_, err = s.CreateUser(ctx, models.NewUser{Name: "Taker", Email: "victim@bücher.example", Password: password, IsActive: true})
	if e := (*models.Error)(nil); !errors.As(err, &e) || e.Code != models.Invalid || len(e.Fields["email"]) == 0 {
		t.Errorf("registering the victim's canonical spelling: %v, want the taken email", err)
	}
	// The account left alone signs in as it is typed, and the other by its
	// own spelling or the one form.
	for typed, want := range map[string]int64{"victim@xn--bcher-kva.example": victim, "VICTIM@bücher.example": victim,
		"CY@xn--mller-kva.example": shadowedCy, "cy@müller.example": canonicalCy, "cy@mu\u0308ller.example": canonicalCy} {
		if u, err := s.Authenticate(ctx, typed, password); err != nil || u.ID != want {
			t.Errorf("login as %q: %v, %v; want user %d", typed, u, err, want)
		}
	}
	// An admin edit that leaves its address as it is keeps its spelling.
	stored, err := s.User(ctx, shadowedCy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminUpdateUser(admCtx(staff), staff, shadowedCy, models.UserChanges{Name: "Cy (old)", Email: "CY@xn--mller-kva.example"}); err != nil {
		t.Errorf("deactivating the account left alone: %v", err)
	} else if after, _ := s.User(ctx, shadowedCy); after.Email != stored.Email || after.IsActive {
		t.Errorf("after the edit: %+v, want %q kept and inactive", after, stored.Email)
	}
	wantDoctorEmailTaken(t, "the old doctor's canonical spelling",
		s.CreateDoctor(admCtx(staff), staff.ID, &models.Doctor{Name: "Dr New", Specialization: "Cardiology", Email: "dr@bücher.example"}))
	wantDoctorEmailTaken(t, "the capitals' doctor's canonical spelling",
		s.CreateDoctor(admCtx(staff), staff.ID, &models.Doctor{Name: "Dr New", Specialization: "Cardiology", Email: "info@bücher.example"}))
}

// The audit log's email filter finds an account's events under the
// spelling they were recorded with before its email took its one form,
// from either spelling.
func TestAdminAuditEmailFilterFindsTheOldSpelling(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	db := s.DB()
	for _, email := range []string{"ana@xn--bcher-kva.example", "ana@bücher.example", "ana@bu\u0308cher.example"} {
		ev := models.AuditEvent{At: time.Now(), UserEmail: email, Action: models.ActionLogin, ObjectType: models.ObjectUser,
			Source: "api", Outcome: models.OutcomeSuccess, Changes: "{}"}
		if err := db.Create(&ev).Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, typed := range []string{"ana@xn--bcher-kva.example", "ANA@bücher.example", "ana@bu\u0308cher.example"} {
		page, err := s.AdminAuditEvents(context.Background(), models.AdminAuditFilter{Email: typed}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 3 {
			t.Errorf("filter %q: %d events, want the three spellings' 3", typed, len(page.Items))
		}
	}
}
