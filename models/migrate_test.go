package models_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Several server processes starting at once on one empty database (replicas
// of a deployment) all migrate it: each must succeed, and the result must
// work.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	dsn := modelstest.EmptyDSN(t)
	var dbs []*gorm.DB
	for range 4 {
		db, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = models.Close(db) })
		dbs = append(dbs, db)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = models.Migrate(db)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	s := models.NewStore(dbs[0], models.NewHasher(modelstest.CheapHash, 0))
	owner := listOwner(t, s, "after@example.com")
	listPatient(t, s, owner, models.Patient{Name: "Counted"})
	wantCounts(t, s, map[int64]int64{owner: 1})
}

// A process waiting for another's migration lock stops when its context
// ends (a replica told to stop during a rollout), instead of waiting until
// it is killed. PostgreSQL only: SQLite has no such lock.
func TestMigrationWaitEndsWithItsContext(t *testing.T) {
	t.Parallel()
	dsn := modelstest.EmptyDSN(t)
	if dsn.Driver != models.Postgres {
		t.Skip("the migration lock is PostgreSQL's (SQLite migrations retry instead)")
	}
	holder, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(holder) })
	sqlDB, err := holder.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const key = `hashtext('healthcare.migrate:' || current_schema())`
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- models.Migrate(db.WithContext(ctx)) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("migrated while another process held the lock")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the wait for the migration lock outlived its context")
	}
	// Once the lock is free, a migration goes through.
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
		t.Fatal(err)
	}
	if err := models.Migrate(db.WithContext(context.Background())); err != nil {
		t.Fatalf("migrate after the lock was released: %v", err)
	}
}

// A boot that finds every index built names none of them again: CREATE
// INDEX IF NOT EXISTS takes its lock on the table before it looks, so each
// boot would wait behind a long transaction on the table (an export of an
// older replica) and hold up the table's writes behind it. (The trigram
// indexes are PostgreSQL's: there the test can fail; CI runs both.)
func TestMigrateNamesNoIndexThatExists(t *testing.T) {
	t.Parallel()
	db := modelstest.Open(t)
	var touched []string
	err := db.Callback().Raw().Before("gorm:raw").Register("test:index-statements", func(tx *gorm.DB) {
		if sql := tx.Statement.SQL.String(); strings.Contains(sql, "INDEX") {
			touched = append(touched, sql)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Callback().Raw().Remove("test:index-statements") }()
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if len(touched) > 0 {
		t.Errorf("a boot with every index in place ran %q", touched)
	}
}

// A database from when doctors' emails were stored lower-cased, unique as
// stored, gets each row's key and the index that makes emails unique in
// any case (the one on the email as typed stays); emails are then kept as
// typed.
func TestMigrateKeysDoctorsEmails(t *testing.T) {
	t.Parallel()
	s, db, staff, ann := doctorKeyFixture(t)
	mustExec(t, db, `DROP INDEX idx_doctors_email_key`)
	mustExec(t, db, `UPDATE doctors SET email_key = NULL`)
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if !db.Migrator().HasIndex(&models.Doctor{}, "idx_doctors_email") {
		t.Error("the index on the email as typed is gone")
	}
	if !db.Migrator().HasIndex(&models.Doctor{}, "idx_doctors_email_key") {
		t.Error("no unique index on the email's key")
	}
	if key := doctorEmailKey(t, db, ann); key != "ann@clinic.example" {
		t.Fatalf("ann's key %q", key)
	}
	ctx := admCtx(staff)
	wantDoctorEmailTaken(t, "ann@clinic.example in capitals",
		s.CreateDoctor(ctx, staff.ID, &models.Doctor{Name: "Ann again", Specialization: "Cardiology", Email: "ANN@Clinic.example"}))
	d := &models.Doctor{Name: "Bea", Specialization: "Cardiology", Email: "Bea@Clinic.example"}
	if err := s.CreateDoctor(ctx, staff.ID, d); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Doctor(ctx, d.ID); err != nil || got.Email != "Bea@Clinic.example" || doctorEmailKey(t, db, d.ID) != "bea@clinic.example" {
		t.Fatalf("stored %+v (%v), want the email as typed, keyed folded", got, err)
	}
	// An edit that changes only the email's case keeps the key (no clash
	// with itself); the key follows an edit of the address.
	if _, err := s.UpdateDoctor(ctx, d.ID, func(d *models.Doctor) error { d.Email = "BEA@clinic.example"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateDoctor(ctx, d.ID, func(d *models.Doctor) error { d.Email = "Bee@Clinic.example"; return nil }); err != nil {
		t.Fatal(err)
	}
	if key := doctorEmailKey(t, db, d.ID); key != "bee@clinic.example" {
		t.Fatalf("key after the edit %q", key)
	}
}

// doctorKeyFixture is a store with a staff user and one doctor of theirs,
// ann (ann@clinic.example), for the tests of the doctors' email keys.
func doctorKeyFixture(t *testing.T) (*models.Store, *gorm.DB, *models.User, int64) {
	t.Helper()
	s := modelstest.Store(t)
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	return s, s.DB(), staff, mappingDoctor(t, s, staff, "ann")
}

// wantDoctorEmailTaken fails unless err is the contract's duplicate email
// error of a doctor, under "email" alone.
func wantDoctorEmailTaken(t *testing.T, what string, err error) {
	t.Helper()
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.Invalid || len(e.Fields) != 1 ||
		!slices.Equal(e.Fields["email"], []string{"doctor with this email already exists."}) {
		t.Fatalf("%s: %v, want the email's duplicate error", what, err)
	}
}

// doctorEmailKey is doctor id's email key as stored ("" for none).
func doctorEmailKey(t *testing.T, db *gorm.DB, id int64) string {
	t.Helper()
	var key *string
	if err := db.Raw(`SELECT email_key FROM doctors WHERE id = ?`, id).Scan(&key).Error; err != nil {
		t.Fatal(err)
	}
	if key == nil {
		return ""
	}
	return *key
}

// Rows written with SQL have no key until the next boot keys them; one
// whose email clashes in case with another's (the app never stores two)
// stays without a key rather than stop the server, and the app refuses to
// save it until one of them changes.
func TestMigrateKeysSQLWrittenDoctors(t *testing.T) {
	t.Parallel()
	s, db, staff, ann := doctorKeyFixture(t)
	for _, email := range []string{"Ann@Clinic.example", "Cy@Clinic.example", "Dee@Clinic.example"} {
		mustExec(t, db, `INSERT INTO doctors (name, specialization, email, phone, years_of_experience, created_at, updated_at)
		  VALUES ('Imported', 'Cardiology', ?, '', 0, ?, ?)`, email, time.Now(), time.Now())
	}
	var imported []int64
	if err := db.Raw(`SELECT id FROM doctors WHERE name = 'Imported' ORDER BY id`).Scan(&imported).Error; err != nil {
		t.Fatal(err)
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]string{ann: "ann@clinic.example", imported[0]: "", imported[1]: "cy@clinic.example", imported[2]: "dee@clinic.example"} {
		if key := doctorEmailKey(t, db, id); key != want {
			t.Errorf("doctor %d: key %q, want %q", id, key, want)
		}
	}
	_, err := s.UpdateDoctor(admCtx(staff), imported[0], func(d *models.Doctor) error { d.Phone = "555 0100"; return nil })
	wantDoctorEmailTaken(t, "saving the clashing doctor", err)
}

// An older release (a rollback, or a replica still serving during a
// rolling deploy) or SQL changes a doctor's email without its key: the
// next boot keys it again, the stale keys first (one may hold the address
// another row now has).
func TestMigrateRekeysStaleDoctorsEmails(t *testing.T) {
	t.Parallel()
	s, db, staff, ann := doctorKeyFixture(t)
	bob := mappingDoctor(t, s, staff, "bob")
	mustExec(t, db, `UPDATE doctors SET email = 'Zed@Clinic.example' WHERE id = ?`, ann)
	mustExec(t, db, `UPDATE doctors SET email = 'Ann@Clinic.example', email_key = NULL WHERE id = ?`, bob)
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if a, b := doctorEmailKey(t, db, ann), doctorEmailKey(t, db, bob); a != "zed@clinic.example" || b != "ann@clinic.example" {
		t.Fatalf("keys %q and %q, want zed@clinic.example and ann@clinic.example", a, b)
	}
	// The address ann no longer has is free; the one she has is taken in
	// any case.
	ctx := admCtx(staff)
	wantDoctorEmailTaken(t, "zed@clinic.example in capitals",
		s.CreateDoctor(ctx, staff.ID, &models.Doctor{Name: "Zed", Specialization: "Cardiology", Email: "ZED@clinic.example"}))
}
