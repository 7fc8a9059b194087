package models_test

import (
	"context"
	"fmt"
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

// A database from when doctors' emails were stored lower-cased, unique as
// stored, gets the index that makes them unique in any case, and loses the
// old one (which would refuse nothing the new one allows, but would keep a
// second copy of every email).
func TestMigrateMakesDoctorsEmailsUniqueInAnyCase(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	db := s.DB()
	mustExec(t, db, `DROP INDEX idx_doctors_email_lower`)
	mustExec(t, db, `CREATE UNIQUE INDEX idx_doctors_email ON doctors (email)`)
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	mappingDoctor(t, s, staff, "ann")
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if db.Migrator().HasIndex(&models.Doctor{}, "idx_doctors_email") {
		t.Error("the old index on the email as stored is still there")
	}
	if !db.Migrator().HasIndex(&models.Doctor{}, "idx_doctors_email_lower") {
		t.Error("no index on the email in any case")
	}
	ctx := admCtx(staff)
	d := &models.Doctor{Name: "Ann again", Specialization: "Cardiology", Email: "ANN@Clinic.example"}
	err := s.CreateDoctor(ctx, staff.ID, d)
	if e, ok := err.(*models.Error); !ok || len(e.Fields["email"]) != 1 {
		t.Fatalf("ann@clinic.example in capitals: %v, want the email's duplicate error", err)
	}
	d = &models.Doctor{Name: "Bea", Specialization: "Cardiology", Email: "Bea@Clinic.example"}
	if err := s.CreateDoctor(ctx, staff.ID, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.Doctor(ctx, d.ID)
	if err != nil || got.Email != "Bea@Clinic.example" {
		t.Fatalf("stored email %q (%v), want it as typed", got.Email, err)
	}
	if modelstest.Engine() == models.SQLite {
		// Folded by the app's own function: another client of the file
		// (the sqlite3 shell) would fold with its ASCII-only LOWER and
		// corrupt the index; without unicode_lower it cannot write.
		var ddl string
		if err := db.Raw(`SELECT sql FROM sqlite_master WHERE name = 'idx_doctors_email_lower'`).Scan(&ddl).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ddl, "unicode_lower(email)") {
			t.Errorf("the index is %q, want it on unicode_lower(email)", ddl)
		}
	}
	// A later boot finds it done and touches neither index (CREATE INDEX IF
	// NOT EXISTS alone would lock the table against writes).
	var touched []string
	err = db.Callback().Raw().Before("gorm:raw").Register("test:index-statements", func(tx *gorm.DB) {
		if sql := tx.Statement.SQL.String(); strings.Contains(sql, "INDEX") && strings.Contains(sql, "doctors") {
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
		t.Errorf("a boot with the index in place ran %q", touched)
	}
}

// Emails written with SQL that differ only in case (the app never stores
// two) stop the migration with an error that names them, rather than a
// unique violation that does not.
func TestMigrateNamesDoctorsEmailsThatClash(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	db := s.DB()
	mustExec(t, db, `DROP INDEX idx_doctors_email_lower`)
	mustExec(t, db, `CREATE UNIQUE INDEX idx_doctors_email ON doctors (email)`)
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	ann := mappingDoctor(t, s, staff, "ann")
	mustExec(t, db, `INSERT INTO doctors (name, specialization, email, phone, years_of_experience, created_at, updated_at)
	  VALUES ('Ann again', 'Cardiology', 'Ann@Clinic.example', '', 0, ?, ?)`, time.Now(), time.Now())
	var again int64
	if err := db.Raw(`SELECT id FROM doctors WHERE email = 'Ann@Clinic.example'`).Scan(&again).Error; err != nil {
		t.Fatal(err)
	}
	err := models.Migrate(db)
	want := fmt.Sprintf("; %d ann@clinic.example; %d Ann@Clinic.example", ann, again)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "different cases") {
		t.Fatalf("Migrate: %v, want an error naming %s", err, want)
	}
}
