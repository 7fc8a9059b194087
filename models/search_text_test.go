package models_test

import (
	"context"
	"slices"
	"strconv"
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

// searchTextStore is a fresh store on PostgreSQL; the test is skipped on
// SQLite, which has no search_text (its searches fold case in their scan).
func searchTextStore(t *testing.T) *models.Store {
	t.Helper()
	if modelstest.Engine() != models.Postgres {
		t.Skip("search_text is PostgreSQL's; SQLite searches fold case in their scan")
	}
	return modelstest.Store(t)
}

// insertPatients inserts n copies of p for owner in a few statements
// (without the Store's validation and audit) and returns them.
func insertPatients(t *testing.T, db *gorm.DB, owner int64, n int, p models.Patient) []models.Patient {
	t.Helper()
	p.CreatedByID = owner
	rows := make([]models.Patient, n)
	for i := range rows {
		rows[i] = p
	}
	if err := db.CreateInBatches(rows, 500).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// The trigger keeps search_text the lowered name, email and phone on every
// write, and nothing else can set it.
func TestPatientSearchTextKeptByTrigger(t *testing.T) {
	t.Parallel()
	s := searchTextStore(t)
	ctx := context.Background()
	owner := listOwner(t, s, "owner@example.com")
	p := listPatient(t, s, owner, models.Patient{Name: "Zoë ÅBERG", Gender: models.GenderFemale, Phone: "+1 555 0100", Email: "Zoe.Aberg@Example.com"})
	want := "zoë åberg\nzoe.aberg@example.com\n+1 555 0100"
	if got := searchTextOf(t, s.DB(), p.ID); got == nil || *got != want {
		t.Fatalf("after insert: search_text = %v, want %q", got, want)
	}
	if _, err := s.UpdatePatient(ctx, owner, p.ID, func(p *models.Patient) error {
		p.Name, p.Phone = "Zoë NYSTRÖM", "+1 555 0199"
		return nil
	}); err != nil {
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
		// The admin's patient picker too (which takes a number for an id).
		if _, err := strconv.Atoi(q); err != nil {
			items, err := s.Lookup(ctx, models.ObjectPatient, q, 100)
			if err != nil {
				t.Fatalf("picker search %q: %v", q, err)
			}
			var picked []string
			for _, it := range items {
				picked = append(picked, it.Label)
			}
			slices.Sort(picked)
			if a := listNames(page.Items); !slices.Equal(a, picked) {
				t.Errorf("search %q: admin finds %q, the picker %q", q, a, picked)
			}
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
	unfill(t, s.DB(), "patients", "")
	check("not filled")
	if n, err := s.BackfillSearchText(context.Background()); err != nil || n != 4 {
		t.Fatalf("BackfillSearchText = %d, %v; want 4", n, err)
	}
	unfill(t, s.DB(), "patients", "name = 'Paul Durand'")
	check("partly filled")
}

// The doctors' searches (the API's and the admin's) too find the same
// doctors whether search_text is filled or not.
func TestDoctorSearchWithAndWithoutSearchText(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	ctx := admCtx(staff)
	for _, d := range []models.Doctor{
		{Name: "Dr. Ünal Kaya", Specialization: "Cardiology", Email: "kaya@clinic.example"},
		{Name: "Dr. Ann Roe", Specialization: "Pediatric CARDIOLOGY", Email: "roe@clinic.example"},
		{Name: "Dr. Bo Lin", Specialization: "Surgery", Email: "unal.fan@clinic.example"},
	} {
		d.Phone, d.YearsOfExperience = "+1", 5
		if err := s.CreateDoctor(ctx, staff.ID, &d); err != nil {
			t.Fatal(err)
		}
	}
	doctorNames := func(ds []models.Doctor) []string {
		names := make([]string, len(ds))
		for i, d := range ds {
			names[i] = d.Name
		}
		slices.Sort(names)
		return names
	}
	cases := map[string][]string{
		"cardiology":  {"Dr. Ann Roe", "Dr. Ünal Kaya"},
		"ÜNAL":        {"Dr. Ünal Kaya"},
		"unal":        {"Dr. Bo Lin"},
		"surgery lin": {"Dr. Bo Lin"},
		"kayacard":    nil,
	}
	check := func(when string) {
		t.Helper()
		for q, want := range cases {
			api, err := s.Doctors(ctx, models.DoctorFilter{}, models.ListQuery{Page: 1, Search: q})
			if err != nil {
				t.Fatal(err)
			}
			adm, err := s.AdminDoctors(ctx, models.AdminDoctorFilter{}, models.AdminQuery{Page: 1, Search: q})
			if err != nil {
				t.Fatal(err)
			}
			if got := doctorNames(api.Items); !slices.Equal(got, want) {
				t.Errorf("%s: API search %q = %q, want %q", when, q, got, want)
			}
			if got := doctorNames(adm.Items); !slices.Equal(got, want) {
				t.Errorf("%s: admin search %q = %q, want %q", when, q, got, want)
			}
		}
	}
	check("filled")
	if modelstest.Engine() != models.Postgres {
		return
	}
	unfill(t, s.DB(), "doctors", "")
	check("not filled")
}

// With its trigger off, nothing fills search_text: the backfill still
// ends, having visited each row once, and says it filled none.
func TestBackfillEndsWhenNothingFills(t *testing.T) {
	t.Parallel()
	s := searchTextStore(t)
	db := s.DB()
	owner := listOwner(t, s, "owner@example.com")
	insertPatients(t, db, owner, 2100, models.Patient{Name: "Pat", Gender: models.GenderMale, Phone: "+1", Email: "p@example.com"})
	if err := db.Exec(`ALTER TABLE patients DISABLE TRIGGER patients_search_text`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`UPDATE patients SET search_text = NULL`).Error; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := s.BackfillSearchText(ctx)
	if err != nil || n != 0 || ctx.Err() != nil {
		t.Fatalf("BackfillSearchText = %d, %v (context: %v); want 0, nil, in time", n, err, ctx.Err())
	}
}

// unfill sets table's search_text back to NULL where cond holds ("":
// everywhere), as a database from an earlier version has it.
func unfill(t *testing.T, db *gorm.DB, table, cond string) {
	t.Helper()
	where := ""
	if cond != "" {
		where = " WHERE " + cond
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		for _, stmt := range []string{
			`ALTER TABLE ` + table + ` DISABLE TRIGGER ` + table + `_search_text`,
			`UPDATE ` + table + ` SET search_text = NULL` + where,
			`ALTER TABLE ` + table + ` ENABLE TRIGGER ` + table + `_search_text`,
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
	s := searchTextStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := s.DB()
	owner := listOwner(t, s, "owner@example.com")
	const n = 2500 // more than one batch
	batch := insertPatients(t, db, owner, n, models.Patient{Name: "Pat Nowak", Gender: models.GenderMale, Phone: "+48", Email: "pat@example.com"})
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
	// Enough matches for a deep page, read by another statement
	// (deferred join).
	insertPatients(t, db, owner, 1100, models.Patient{Name: "Bo Lopez", Gender: models.GenderMale, Phone: "+1", Email: "bo@example.com"})
	for range 7 {
		if _, err := s.Patients(ctx, owner, models.ListQuery{Page: 1, Search: "lopez"}); err != nil {
			t.Fatal(err)
		}
		if p, err := s.Patients(ctx, owner, models.ListQuery{Page: 54, PageSize: 20, Search: "lopez"}); err != nil || len(p.Items) == 0 {
			t.Fatalf("deep page: %d rows, %v", len(p.Items), err)
		}
		if _, err := s.Patients(ctx, owner, models.ListQuery{UseCursor: true, Search: "lopez"}); err != nil {
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

// A server of an earlier version booting after a newer one (a rolling
// deployment, a rollback) leaves the newer trigger in place.
func TestSearchTextKeepsANewerTrigger(t *testing.T) {
	t.Parallel()
	s := searchTextStore(t)
	db := s.DB()
	for _, stmt := range []string{
		`CREATE FUNCTION patients_search_text_v99() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN NEW.search_text := lower(NEW.name); RETURN NEW; END $$`,
		`DROP TRIGGER patients_search_text ON patients`,
		`CREATE TRIGGER patients_search_text BEFORE INSERT OR UPDATE ON patients FOR EACH ROW EXECUTE FUNCTION patients_search_text_v99()`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	var fn string
	err := db.Raw(`SELECT p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
	  WHERE t.tgrelid = 'patients'::regclass AND t.tgname = 'patients_search_text'`).Scan(&fn).Error
	if err != nil || fn != "patients_search_text_v99" {
		t.Fatalf("after migrating: the trigger calls %q (%v), want the newer patients_search_text_v99", fn, err)
	}
}
