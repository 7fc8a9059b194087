package models_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"

	"gorm.io/gorm"
)

// searchTextOf reads patients.search_text of patient id (nil: NULL).
func searchTextOf(t *testing.T, db *gorm.DB, id int64) *string {
	t.Helper()
	return searchTextIn(t, db, "patients", id)
}

// searchTextIn reads table's search_text of row id (nil: NULL).
func searchTextIn(t *testing.T, db *gorm.DB, table string, id int64) *string {
	t.Helper()
	var rows []struct{ SearchText *string }
	if err := db.Raw(`SELECT search_text FROM `+table+` WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%s %d: %d rows", table, id, len(rows))
	}
	return rows[0].SearchText
}

// The trigger keeps search_text the lowered name, email and phone on every
// write, and nothing else can set it.
func TestPatientSearchTextKeptByTrigger(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	if modelstest.Engine() != models.Postgres {
		t.Skip("patients.search_text is PostgreSQL's; SQLite searches fold case in their scan")
	}
	ctx := context.Background()
	owner := listOwner(t, s, "owner@example.com")
	p := listPatient(t, s, owner, models.Patient{Name: "Zoë ÅBERG", Gender: models.GenderFemale, Phone: "+1 555 0100", Email: "Zoe.Aberg@Example.com"})
	want := "zoë åberg\nzoe.aberg@example.com\n+1 555 0100"
	if got := searchTextOf(t, s.DB(), p.ID); got == nil || *got != want {
		t.Fatalf("after insert: search_text = %v, want %q", got, want)
	}
	p.Name, p.Phone = "Zoë NYSTRÖM", "+1 555 0199"
	if err := s.UpdatePatient(ctx, owner, &p); err != nil {
		t.Fatal(err)
	}
	want = "zoë nyström\nzoe.aberg@example.com\n+1 555 0199"
	if got := searchTextOf(t, s.DB(), p.ID); got == nil || *got != want {
		t.Fatalf("after update: search_text = %v, want %q", got, want)
	}
	if err := s.DB().Exec(`UPDATE patients SET search_text = 'forged' WHERE id = ?`, p.ID).Error; err != nil {
		t.Fatal(err)
	}
	if got := searchTextOf(t, s.DB(), p.ID); got == nil || *got != want {
		t.Fatalf("after setting it directly: search_text = %v, want %q", got, want)
	}
	d := &models.Doctor{Name: "Dr. Ünal KAYA", Specialization: "Cardiology", Email: "Unal.Kaya@Clinic.example", Phone: "+90", YearsOfExperience: 3}
	if err := s.CreateDoctor(ctx, owner, d); err != nil {
		t.Fatal(err)
	}
	if got := searchTextIn(t, s.DB(), "doctors", d.ID); got == nil || *got != "dr. ünal kaya\ncardiology\nunal.kaya@clinic.example" {
		t.Fatalf("doctor's search_text = %v", got)
	}
}

// Searches (the admin's and the API's) find the same patients whether search_text is filled
// or not (a database an earlier version left, before the backfill), folds
// case beyond ASCII, and never matches across two fields.
func TestAdminSearchWithAndWithoutSearchText(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	ctx := admCtx(staff)
	owner := listOwner(t, s, "owner@example.com")
	for _, p := range []models.Patient{
		{Name: "ÉLODIE Martin", Email: "em@example.com", Phone: "+33 1 00"},
		{Name: "Paul Durand", Email: "Elodie.D@example.com", Phone: "+33 1 01"},
		{Name: "Ann Leeab", Email: "cdx@example.com", Phone: "+33 1 02"},
		{Name: "Bob Stone", Email: "bob@example.com", Phone: "+33 1 0555"},
	} {
		p.Gender = models.GenderOther
		listPatient(t, s, owner, p)
	}
	// The admin's search and the owner's (the API's) must agree.
	search := func(q string) []string {
		t.Helper()
		page, err := s.AdminPatients(ctx, models.AdminPatientFilter{}, models.AdminQuery{Search: q, Page: 1})
		if err != nil {
			t.Fatalf("admin search %q: %v", q, err)
		}
		own, err := s.Patients(context.Background(), owner, models.ListQuery{Page: 1, Search: q})
		if err != nil {
			t.Fatalf("owner's search %q: %v", q, err)
		}
		if a, o := listNames(page.Items), listNames(own.Items); !slices.Equal(a, o) {
			t.Errorf("search %q: admin finds %q, the owner %q", q, a, o)
		}
		return listNames(page.Items)
	}
	cases := map[string][]string{
		"élodie":      {"ÉLODIE Martin"},
		"ELODIE.D":    {"Paul Durand"},
		"ÉLODIE mart": {"ÉLODIE Martin"},
		"0555":        {"Bob Stone"},
		"leeab":       {"Ann Leeab"},
		"abcd":        nil, // "…leeab" then "cdx…": two fields, no match
		"ab cd":       {"Ann Leeab"},
		"example.com": {"Ann Leeab", "Bob Stone", "Paul Durand", "ÉLODIE Martin"},
	}
	check := func(when string) {
		t.Helper()
		for q, want := range cases {
			if got := search(q); !slices.Equal(got, want) {
				t.Errorf("%s: search %q = %q, want %q", when, q, got, want)
			}
		}
	}
	check("filled")
	if modelstest.Engine() != models.Postgres {
		return
	}
	taken := statements(t, s.DB())
	search("élodie")
	if got := strings.Join(taken(), "\n"); !strings.Contains(got, "search_text LIKE") {
		t.Errorf("the admin's search does not test search_text:\n%s", got)
	}
	unfill(t, s.DB(), "")
	check("not filled")
	unfill(t, s.DB(), "name = 'Paul Durand'")
	check("partly filled")
}

// unfill sets search_text back to NULL where cond holds ("": everywhere),
// as a database from an earlier version has it.
func unfill(t *testing.T, db *gorm.DB, cond string) {
	t.Helper()
	where := ""
	if cond != "" {
		where = " WHERE " + cond
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		for _, stmt := range []string{
			`ALTER TABLE patients DISABLE TRIGGER patients_search_text`,
			`UPDATE patients SET search_text = NULL` + where,
			`ALTER TABLE patients ENABLE TRIGGER patients_search_text`,
		} {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A database from before search_text gets the columns, the triggers and
// the pending indexes on migrating, and BackfillSearchText fills its rows,
// in batches, once.
func TestSearchTextMigratesAndBackfills(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	if modelstest.Engine() != models.Postgres {
		t.Skip("patients.search_text is PostgreSQL's; SQLite searches fold case in their scan")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := s.DB()
	owner := listOwner(t, s, "owner@example.com")
	const n = 2500 // more than one batch
	batch := make([]models.Patient, n)
	for i := range batch {
		batch[i] = models.Patient{Name: "Pat Nowak", Gender: models.GenderMale, Phone: "+48", Email: "pat@example.com", CreatedByID: owner}
	}
	if err := db.CreateInBatches(batch, 500).Error; err != nil {
		t.Fatal(err)
	}
	doctor := &models.Doctor{Name: "Dr. Old", Specialization: "Surgery", Email: "old@clinic.example", Phone: "+48 2", YearsOfExperience: 9}
	if err := s.CreateDoctor(ctx, owner, doctor); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"patients", "doctors"} {
		for _, stmt := range []string{
			`DROP TRIGGER ` + table + `_search_text ON ` + table,
			`DROP INDEX idx_` + table + `_search_text_pending`,
			`ALTER TABLE ` + table + ` DROP COLUMN search_text`,
		} {
			if err := db.Exec(stmt).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if got := searchTextOf(t, db, batch[0].ID); got != nil {
		t.Fatalf("migrating filled search_text (%q): it must not rewrite the table at boot", *got)
	}
	late := listPatient(t, s, owner, models.Patient{Name: "New Row", Gender: models.GenderMale, Phone: "+48 1", Email: "new@example.com"})
	if got := searchTextOf(t, db, late.ID); got == nil {
		t.Fatal("a patient created after migrating has no search_text: the trigger is missing")
	}
	filled, err := s.BackfillSearchText(ctx)
	if err != nil || filled != n+1 {
		t.Fatalf("BackfillSearchText = %d, %v; want %d (the patients and the doctor)", filled, err, n+1)
	}
	if got := searchTextIn(t, db, "doctors", doctor.ID); got == nil || *got != "dr. old\nsurgery\nold@clinic.example" {
		t.Fatalf("backfilled doctor's search_text = %v", got)
	}
	var left int64
	if err := db.Raw(`SELECT count(*) FROM patients WHERE search_text IS NULL`).Scan(&left).Error; err != nil || left != 0 {
		t.Fatalf("after the backfill: %d rows without search_text (%v)", left, err)
	}
	if got := searchTextOf(t, db, batch[n-1].ID); got == nil || *got != "pat nowak\npat@example.com\n+48" {
		t.Fatalf("backfilled search_text = %v", got)
	}
	if filled, err := s.BackfillSearchText(ctx); err != nil || filled != 0 {
		t.Fatalf("second BackfillSearchText = %d, %v; want 0", filled, err)
	}
}

// Searches run unprepared on PostgreSQL, so each is planned with its own
// words (a prepared statement may settle on one generic plan for all words
// after five runs: 18 ms instead of 2 for a common name at 1,000,000
// patients); other statements stay prepared.
func TestSearchesArePlannedWithTheirWords(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("SQLite plans every statement with its values")
	}
	ctx := context.Background()
	_, dsn := modelstest.OpenDSN(t)
	// One connection, so the prepared statements read below are those of
	// the queries before.
	db, err := models.Open(ctx, dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	s := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 0))
	owner := listOwner(t, s, "owner@example.com")
	listPatient(t, s, owner, models.Patient{Name: "Ann Lopez", Gender: models.GenderFemale, Phone: "+1", Email: "ann@example.com"})
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	for range 7 {
		if _, err := s.Patients(ctx, owner, models.ListQuery{Page: 1, Search: "lopez"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Patients(ctx, owner, models.ListQuery{Page: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AdminPatients(admCtx(staff), models.AdminPatientFilter{}, models.AdminQuery{Search: "lopez", Page: 1}); err != nil {
			t.Fatal(err)
		}
	}
	var prepared []string
	if err := db.Raw(`SELECT statement FROM pg_prepared_statements`).Scan(&prepared).Error; err != nil {
		t.Fatal(err)
	}
	var lists int
	for _, stmt := range prepared {
		if strings.Contains(stmt, "LIKE") {
			t.Errorf("a search was prepared: %s", stmt)
		}
		if strings.Contains(stmt, `FROM "patients"`) {
			lists++
		}
	}
	if lists == 0 {
		t.Errorf("the list without search words was not prepared either: %q", prepared)
	}
}
