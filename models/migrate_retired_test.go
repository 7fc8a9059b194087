package models_test

import (
	"context"
	"database/sql/driver"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
