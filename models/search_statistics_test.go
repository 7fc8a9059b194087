package models_test

import (
	"strings"
	"testing"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// What the planner estimates a search's LIKE '%word%' from: the histogram
// of each searched expression of the trigram indexes. With 1,000 distinct
// values, ANALYZE keeps 301 bounds of each (the default target keeps 101,
// and then a word in 3% of the rows can meet none of them and be taken
// for a rare one; search_index.go). A boot that finds the targets set
// alters and analyzes nothing; one that finds a target changed sets it
// back and analyzes that table again.
func TestSearchStatisticsAreWide(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("PostgreSQL's planner statistics")
	}
	s := modelstest.Store(t)
	db := s.DB()
	owner := listOwner(t, s, "owner@example.com")
	mustExec(t, db, `INSERT INTO patients (name, gender, phone, email, address, medical_history, created_by_id, created_at, updated_at)
	  SELECT 'Patient ' || i, ?, '+1 555 ' || i, 'patient' || i || '@example.com', '', '', ?, now(), now()
	  FROM generate_series(1, 1000) i`, models.GenderFemale, owner)
	mustExec(t, db, `INSERT INTO doctors (name, specialization, email, phone, years_of_experience, created_at, updated_at)
	  SELECT 'Doctor ' || i, 'Specialty ' || i, 'doctor' || i || '@example.com', '+1 555 0100', 1, now(), now()
	  FROM generate_series(1, 1000) i`)
	mustExec(t, db, "ANALYZE patients, doctors")

	var bounds []struct {
		Index string
		Expr  string
		N     int
	}
	err := db.Raw(`SELECT tablename AS index, attname AS expr, COALESCE(array_length(histogram_bounds::text::text[], 1), 0) AS n
	  FROM pg_stats WHERE schemaname = current_schema() AND tablename LIKE 'idx\_%' AND attname <> 'created_by_id'
	  ORDER BY 1, 2`).Scan(&bounds).Error
	if err != nil {
		t.Fatal(err)
	}
	// name, email, phone of patients alone and led by the owner; name,
	// specialization, email of doctors.
	if len(bounds) != 9 {
		t.Fatalf("statistics of %d index expressions, want 9: %+v", len(bounds), bounds)
	}
	for _, b := range bounds {
		if b.N != 301 {
			t.Errorf("%s (%s): %d histogram bounds, want 301", b.Index, b.Expr, b.N)
		}
	}

	taken := alterations(t, db)
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if got := taken(); len(got) != 0 {
		t.Errorf("a boot with the targets set ran %q, want nothing", got)
	}
	mustExec(t, db, "ALTER INDEX idx_doctors_email_trgm ALTER COLUMN 1 SET STATISTICS 100")
	taken()
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	want := []string{"ALTER INDEX idx_doctors_email_trgm ALTER COLUMN 1 SET STATISTICS 300", "ANALYZE doctors"}
	if got := taken(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("a boot with one target changed ran %q, want %q", got, want)
	}
}

func mustExec(t *testing.T, db *gorm.DB, stmt string, args ...any) {
	t.Helper()
	if err := db.Exec(stmt, args...).Error; err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// alterations records the ALTER and ANALYZE statements db executes from
// now on; each call returns those since the last.
func alterations(t *testing.T, db *gorm.DB) func() []string {
	t.Helper()
	var r sqlRecorder
	name := "test:alterations:" + t.Name()
	err := db.Callback().Raw().After("gorm:raw").Register(name, func(tx *gorm.DB) {
		if stmt := tx.Statement.SQL.String(); strings.HasPrefix(stmt, "ALTER") || strings.HasPrefix(stmt, "ANALYZE") {
			r.add(stmt)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Callback().Raw().Remove(name) })
	return r.taken
}
