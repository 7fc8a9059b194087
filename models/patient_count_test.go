package models_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// trueCount counts owner's patients the slow way, to check the counter.
func trueCount(t *testing.T, s *models.Store, owner int64) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Model(&models.Patient{}).Where("created_by_id = ?", owner).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCounts(t *testing.T, s *models.Store, want map[int64]int64) {
	t.Helper()
	for owner, n := range want {
		got, err := s.OwnedPatientCount(context.Background(), owner)
		if err != nil {
			t.Fatalf("OwnedPatientCount(%d): %v", owner, err)
		}
		if got != n || trueCount(t, s, owner) != n {
			t.Errorf("owner %d: counter %d, rows %d, want %d", owner, got, trueCount(t, s, owner), n)
		}
	}
}

func TestPatientCounterFollowsEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.Store(t)
	a, b := listOwner(t, s, "a@example.com"), listOwner(t, s, "b@example.com")
	var ids []int64
	for i := range 5 {
		ids = append(ids, listPatient(t, s, a, models.Patient{Name: fmt.Sprintf("P%d", i)}).ID)
	}
	listPatient(t, s, b, models.Patient{Name: "B1"})
	wantCounts(t, s, map[int64]int64{a: 5, b: 1})

	if err := s.DeletePatient(ctx, a, ids[0]); err != nil {
		t.Fatal(err)
	}
	// A failed delete (someone else's patient) changes nothing.
	if err := s.DeletePatient(ctx, b, ids[1]); err == nil {
		t.Fatal("b deleted a's patient")
	}
	wantCounts(t, s, map[int64]int64{a: 4, b: 1})

	// A change of owner (the admin can make one) moves the count.
	if err := s.DB().Model(&models.Patient{}).Where("id = ?", ids[1]).Update("created_by_id", b).Error; err != nil {
		t.Fatal(err)
	}
	// An update that keeps the owner changes nothing.
	if err := s.DB().Model(&models.Patient{}).Where("created_by_id = ?", a).Update("name", "Renamed").Error; err != nil {
		t.Fatal(err)
	}
	wantCounts(t, s, map[int64]int64{a: 3, b: 2})

	// Bulk delete (the admin's "delete selected").
	if err := s.DB().Where("id IN ?", ids[2:4]).Delete(&models.Patient{}).Error; err != nil {
		t.Fatal(err)
	}
	wantCounts(t, s, map[int64]int64{a: 1, b: 2})

	// Deleting the owner deletes its patients by cascade, and its counts.
	if err := s.DB().Delete(&models.User{}, a).Error; err != nil {
		t.Fatalf("delete user: %v", err)
	}
	var left int64
	if err := s.DB().Model(&models.PatientCount{}).Where("owner_id = ?", a).Count(&left).Error; err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d counter rows left for a deleted user", left)
	}
	wantCounts(t, s, map[int64]int64{a: 0, b: 2})
	// A new user (SQLite may reuse the deleted id) starts at zero.
	c := listOwner(t, s, "c@example.com")
	wantCounts(t, s, map[int64]int64{c: 0})
}

func TestPatientCounterBatchInsertAndRollback(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "batch@example.com")
	batch := make([]models.Patient, 250)
	for i := range batch {
		batch[i] = models.Patient{Name: fmt.Sprintf("B%d", i), Gender: models.GenderUnknown, CreatedByID: owner}
	}
	if err := s.DB().CreateInBatches(batch, 100).Error; err != nil {
		t.Fatal(err)
	}
	wantCounts(t, s, map[int64]int64{owner: 250})
	// A write that rolls back leaves the counter as it was.
	err := s.DB().Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&models.Patient{Name: "Gone", Gender: models.GenderUnknown, CreatedByID: owner}).Error; err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	if err == nil {
		t.Fatal("transaction did not fail")
	}
	wantCounts(t, s, map[int64]int64{owner: 250})
}

// A database from before the counter (its triggers absent) is counted once
// at the next migration; later migrations keep the counts.
func TestPatientCounterBackfilledOnMigrate(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	db := s.DB()
	owner := listOwner(t, s, "old@example.com")
	for i := range 3 {
		listPatient(t, s, owner, models.Patient{Name: fmt.Sprintf("O%d", i)})
	}
	drop := []string{"DROP TRIGGER patient_counts_insert", "DROP TRIGGER patient_counts_delete", "DROP TRIGGER patient_counts_update"}
	if modelstest.Engine() == models.Postgres {
		for i := range drop {
			drop[i] += " ON patients"
		}
	}
	for _, stmt := range append(drop, "DELETE FROM patient_counts") {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// Written while no trigger counted it.
	listPatient(t, s, owner, models.Patient{Name: "Uncounted"})
	for range 2 {
		if err := models.Migrate(db); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, s, map[int64]int64{owner: 4})
	listPatient(t, s, owner, models.Patient{Name: "After"})
	wantCounts(t, s, map[int64]int64{owner: 5})
}

// Past AdminCountLimit matches a changelist stops counting and pages on
// with a next link; the dashboard estimates big tables.
func TestAdminCountsAreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "big@example.com")
	const n = 10050
	batch := make([]models.Patient, n)
	for i := range batch {
		batch[i] = models.Patient{Name: fmt.Sprintf("Big %05d", i), Gender: models.GenderUnknown, CreatedByID: owner}
	}
	if err := s.DB().CreateInBatches(batch, 500).Error; err != nil {
		t.Fatal(err)
	}
	page, err := s.AdminPatients(ctx, models.AdminPatientFilter{}, models.AdminQuery{Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !page.Capped || page.Count != models.AdminCountLimit || !page.HasNext || len(page.Items) != models.AdminPageSize {
		t.Fatalf("page 1: capped %v count %d next %v, %d items", page.Capped, page.Count, page.HasNext, len(page.Items))
	}
	// The last page, beyond the counted ones.
	last := (n + models.AdminPageSize - 1) / models.AdminPageSize
	page, err = s.AdminPatients(ctx, models.AdminPatientFilter{}, models.AdminQuery{Page: last})
	if err != nil {
		t.Fatal(err)
	}
	if page.Number != last || page.HasNext || len(page.Items) != n%models.AdminPageSize {
		t.Fatalf("page %d: number %d next %v, %d items", last, page.Number, page.HasNext, len(page.Items))
	}
	// A search with few matches is counted exactly: 00001, 00010-00019, 10001.
	page, err = s.AdminPatients(ctx, models.AdminPatientFilter{}, models.AdminQuery{Search: "big 0001", Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Capped || page.Count != 12 || page.HasNext || page.NumPages != 1 {
		t.Fatalf("search: capped %v count %d next %v pages %d", page.Capped, page.Count, page.HasNext, page.NumPages)
	}

	// A search that fills the page is not counted: "more than 100", next.
	page, err = s.AdminPatients(ctx, models.AdminPatientFilter{}, models.AdminQuery{Search: "big", Page: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !page.Capped || page.Count != 2*models.AdminPageSize || !page.HasNext || page.Number != 2 {
		t.Fatalf("full search page: capped %v count %d next %v number %d", page.Capped, page.Count, page.HasNext, page.Number)
	}
	// A search page past the end shows the last page.
	page, err = s.AdminPatients(ctx, models.AdminPatientFilter{}, models.AdminQuery{Search: "big 0001", Page: 3})
	if err != nil {
		t.Fatal(err)
	}
	if page.Number != 1 || len(page.Items) != 12 || page.Capped {
		t.Fatalf("search past the end: number %d, %d items, capped %v", page.Number, len(page.Items), page.Capped)
	}

	if modelstest.Engine() == models.Postgres {
		if err := s.DB().Exec("ANALYZE patients").Error; err != nil {
			t.Fatal(err)
		}
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Users != (models.TableSize{N: 1}) {
		t.Errorf("users: %+v", counts.Users)
	}
	p := counts.Patients
	switch modelstest.Engine() {
	case models.Postgres:
		if !p.Approx || p.N < n*9/10 || p.N > n*11/10 {
			t.Errorf("patients on PostgreSQL: %+v, want an estimate near %d", p, n)
		}
	default:
		if !p.AtLeast || p.N != 10000 {
			t.Errorf("patients on SQLite: %+v, want at least 10000", p)
		}
	}
}

// On PostgreSQL, searches have trigram indexes to use, and the planner
// picks them for LOWER(col) LIKE '%word%': a user's search through the
// owner-led ones with the owner in the index condition, the staff-wide
// search through the same indexes without it.
func TestSearchIndexes(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	if w := models.SearchIndexWarning(s.DB()); w != "" {
		t.Fatalf("warning on a database that has the indexes: %s", w)
	}
	if modelstest.Engine() != models.Postgres {
		t.Skip("trigram indexes are PostgreSQL's; SQLite searches scan")
	}
	want := []string{"idx_doctors_email_trgm", "idx_doctors_name_trgm", "idx_doctors_specialization_trgm",
		"idx_patients_email_trgm", "idx_patients_name_trgm", "idx_patients_owner_search", "idx_patients_phone_trgm"}
	if got := trigramIndexNames(t, s); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("trigram indexes = %v, want %v", got, want)
	}
	// The owner leads idx_patients_owner_search, so a user's search finds
	// only that user's matches in it. Whether the planner takes that path is a
	// matter of the data's size (at 1,000,000 patients it does:
	// BENCHMARKS.md); a test table of a few rows is cheaper to read by the
	// owner alone, so only the definition is checked here.
	var def string
	if err := s.DB().Raw(`SELECT pg_get_indexdef(to_regclass('idx_patients_owner_search'))`).Scan(&def).Error; err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`USING gin \(created_by_id, lower\(\(name\)::text\) \S+gin_trgm_ops, lower\(\(email\)::text\) \S+gin_trgm_ops, lower\(\(phone\)::text\) \S+gin_trgm_ops\)$`).MatchString(def) {
		t.Errorf("index definition %s: want the owner, then name, email, phone", def)
	}
	// The staff-wide search, without an owner, has a trigram index.
	plan := explain(t, s, `SELECT id FROM patients WHERE LOWER(email) LIKE '%smith%'`)
	if !strings.Contains(plan, "_trgm") && !strings.Contains(plan, "idx_patients_owner_search") {
		t.Errorf("search plan does not use a trigram index:\n%s", plan)
	}
}

// A database migrated by an earlier version has the per-column indexes
// only: migrating adds the owner-led one.
func TestSearchIndexesAddTheOwnerLedOne(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	if modelstest.Engine() != models.Postgres {
		t.Skip("trigram indexes are PostgreSQL's; SQLite searches scan")
	}
	db := s.DB()
	if err := db.Exec(`DROP INDEX idx_patients_owner_search`).Error; err != nil {
		t.Fatal(err)
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(trigramIndexNames(t, s), " "); !strings.Contains(got, "idx_patients_owner_search") {
		t.Errorf("after migrating: %s", got)
	}
}

func trigramIndexNames(t *testing.T, s *models.Store) []string {
	t.Helper()
	var names []string
	// By access method, not by pg_indexes.indexdef: pg_get_indexdef may
	// run on other schemas' indexes before the schema filter, and fail on
	// one that a parallel test is dropping.
	err := s.DB().Raw(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  JOIN pg_am am ON am.oid = c.relam WHERE n.nspname = current_schema() AND c.relkind = 'i' AND am.amname = 'gin'
	  ORDER BY 1`).Scan(&names).Error
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// explain is PostgreSQL's plan of query, with sequential scans priced out
// so that a test table of a few rows still shows which index would serve.
func explain(t *testing.T, s *models.Store, query string) string {
	t.Helper()
	var plan []string
	err := s.DB().Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
			return err
		}
		return tx.Raw("EXPLAIN " + query).Scan(&plan).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// An export streams every matching row once, in the changelist's order,
// across batches, with the associations the CSV shows.
func TestAdminExportStreamsInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "export@example.com")
	const n = 1234
	batch := make([]models.Patient, n)
	for i := range batch {
		batch[i] = models.Patient{Name: fmt.Sprintf("E%04d", (i*7919)%n), Gender: models.GenderUnknown, CreatedByID: owner}
	}
	if err := s.DB().CreateInBatches(batch, 500).Error; err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ordering, order string }{
		{"", "created_at DESC, id DESC"},
		{"name", "name ASC, created_at DESC, id DESC"},
		{"-name", "name DESC, created_at DESC, id DESC"},
	} {
		var want []int64
		if err := s.DB().Model(&models.Patient{}).Order(tc.order).Pluck("id", &want).Error; err != nil {
			t.Fatal(err)
		}
		var got []int64
		err := s.EachAdminPatient(ctx, models.AdminPatientFilter{}, models.AdminQuery{Ordering: tc.ordering}, func(p *models.Patient) error {
			if p.CreatedBy == nil || p.CreatedBy.Email != "export@example.com" {
				return fmt.Errorf("patient %d: owner not loaded: %+v", p.ID, p.CreatedBy)
			}
			got = append(got, p.ID)
			return nil
		})
		if err != nil {
			t.Fatalf("ordering %q: %v", tc.ordering, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ordering %q: %d ids, want %d (or a different order)", tc.ordering, len(got), len(want))
		}
	}
	// A search narrows the export like the changelist.
	var names []string
	err := s.EachAdminPatient(ctx, models.AdminPatientFilter{}, models.AdminQuery{Search: "E000"}, func(p *models.Patient) error {
		names = append(names, p.Name)
		return nil
	})
	if err != nil || len(names) != 10 {
		t.Fatalf("search export: %v, %d rows (%v)", err, len(names), names)
	}
}

// As many exports at once as the pool has connections (8 here) all end,
// and leave the pool to others. Each export held a connection to stream
// its ids and took another for each batch, so all of them held one and
// waited for a second until their deadline, and every other query of the
// server waited with them.
func TestConcurrentExportsDoNotExhaustThePool(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "export@example.com")
	const n, exports = 600, 8 // more than one batch (500); modelstest's pool
	batch := make([]models.Patient, n)
	for i := range batch {
		batch[i] = models.Patient{Name: fmt.Sprintf("E%04d", i), Gender: models.GenderUnknown, CreatedByID: owner}
	}
	if err := s.DB().CreateInBatches(batch, 200).Error; err != nil {
		t.Fatal(err)
	}
	// Every export reaches its first batch before any reads it: the moment
	// each held its stream's connection.
	var mu sync.Mutex
	arrived, all := 0, make(chan struct{})
	const name = "test:exports-meet-at-their-first-batch"
	err := s.DB().Callback().Query().Before("gorm:query").Register(name, func(tx *gorm.DB) {
		if _, ok := tx.Statement.Dest.(*[]models.Patient); !ok {
			return // not a batch
		}
		mu.Lock()
		if arrived++; arrived == exports {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.DB().Callback().Query().Remove(name) })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := make([]error, exports)
	rows := make([]int, exports)
	modelstest.AtOnce(exports, func(i int) {
		errs[i] = s.EachAdminPatient(ctx, models.AdminPatientFilter{}, models.AdminQuery{}, func(*models.Patient) error {
			rows[i]++
			return nil
		})
	})
	for i := range exports {
		if errs[i] != nil || rows[i] != n {
			t.Errorf("export %d: %d rows of %d, error %v", i, rows[i], n, errs[i])
		}
	}
}

// listVersion reads owner's list version the way the memo does.
func listVersion(t *testing.T, s *models.Store, owner int64) int64 {
	t.Helper()
	var v int64
	if err := s.DB().Model(&models.PatientCount{}).Select("COALESCE(SUM(version), 0)").Where("owner_id = ?", owner).Scan(&v).Error; err != nil {
		t.Fatal(err)
	}
	return v
}

// The list version moves with every write to an owner's patients, on the
// owner's side only, and not with a write that changes no row or rolls
// back: the memo's entries depend on it.
func TestPatientCounterVersionMovesWithEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.Store(t)
	a, b := listOwner(t, s, "va@example.com"), listOwner(t, s, "vb@example.com")
	p := listPatient(t, s, a, models.Patient{Name: "First"})
	listPatient(t, s, b, models.Patient{Name: "Theirs"})
	step := func(name string, write func() error, aMoves, bMoves bool) {
		t.Helper()
		va, vb := listVersion(t, s, a), listVersion(t, s, b)
		err := write()
		if err != nil && (aMoves || bMoves) {
			t.Fatalf("%s: %v", name, err)
		}
		if got := listVersion(t, s, a) != va; got != aMoves {
			t.Errorf("%s: a's version moved %v, want %v", name, got, aMoves)
		}
		if got := listVersion(t, s, b) != vb; got != bMoves {
			t.Errorf("%s: b's version moved %v, want %v", name, got, bMoves)
		}
	}
	step("create", func() error {
		return s.CreatePatient(ctx, a, &models.Patient{Name: "Second", Gender: models.GenderUnknown})
	}, true, false)
	step("update through the API", func() error {
		_, err := s.UpdatePatient(ctx, a, p.ID, func(q *models.Patient) error { q.Name = "Renamed"; return nil })
		return err
	}, true, false)
	step("update of a column no list reads", func() error {
		return s.DB().Model(&models.Patient{}).Where("id = ?", p.ID).Update("address", "Elsewhere").Error
	}, true, false)
	step("update of no row", func() error {
		return s.DB().Model(&models.Patient{}).Where("id = ?", -1).Update("name", "Nobody").Error
	}, false, false)
	step("b edits a's patient (refused)", func() error {
		_, err := s.UpdatePatient(ctx, b, p.ID, func(*models.Patient) error { return nil })
		return err
	}, false, false)
	step("rolled back", func() error {
		return s.DB().Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&models.Patient{}).Where("id = ?", p.ID).Update("name", "Never").Error; err != nil {
				return err
			}
			return fmt.Errorf("roll back")
		})
	}, false, false)
	step("change of owner", func() error {
		return s.DB().Model(&models.Patient{}).Where("id = ?", p.ID).Update("created_by_id", b).Error
	}, true, true)
	step("delete", func() error { return s.DeletePatient(ctx, b, p.ID) }, false, true)
}

// A database whose triggers are from before the version (a plain update
// did not move it) gets the current ones at the next migration.
func TestPatientCounterVersionAfterUpgrade(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "up@example.com")
	p := listPatient(t, s, owner, models.Patient{Name: "Kept"})
	// What a server from before the version leaves: on SQLite no trigger
	// for plain updates; on PostgreSQL the update trigger calling a
	// function of its own name whose body does not move the version.
	oldUpdateFunction := `CREATE OR REPLACE FUNCTION patient_counts_update() RETURNS trigger AS $$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql`
	old := []string{"DROP TRIGGER patient_counts_change"}
	if modelstest.Engine() == models.Postgres {
		old = []string{oldUpdateFunction,
			`DROP TRIGGER patient_counts_update ON patients`,
			`CREATE TRIGGER patient_counts_update AFTER UPDATE ON patients REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
			 FOR EACH STATEMENT EXECUTE FUNCTION patient_counts_update()`}
	}
	for _, stmt := range old {
		if err := s.DB().Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	rename := func(name string) bool {
		t.Helper()
		v := listVersion(t, s, owner)
		if err := s.DB().Model(&models.Patient{}).Where("id = ?", p.ID).Update("name", name).Error; err != nil {
			t.Fatal(err)
		}
		return listVersion(t, s, owner) != v
	}
	if rename("Before") {
		t.Fatal("the old triggers were not put back: the version moved on a rename")
	}
	if err := models.Migrate(s.DB()); err != nil {
		t.Fatal(err)
	}
	if !rename("After") {
		t.Error("after migrating, a rename does not move the version")
	}
	if modelstest.Engine() == models.Postgres {
		// Once current, a boot leaves the triggers alone (no table lock).
		triggerOIDs := func() string {
			t.Helper()
			var oids string
			if err := s.DB().Raw(`SELECT string_agg(oid::text, ',' ORDER BY tgname) FROM pg_trigger
			  WHERE tgrelid = 'patients'::regclass AND tgname LIKE 'patient_counts_%'`).Scan(&oids).Error; err != nil {
				t.Fatal(err)
			}
			return oids
		}
		before := triggerOIDs()
		if err := models.Migrate(s.DB()); err != nil {
			t.Fatal(err)
		}
		if after := triggerOIDs(); after != before {
			t.Errorf("a boot on current triggers made them again: %s, then %s", before, after)
		}
		// A server from before the version boots again beside this one (a
		// rolling deployment, a rollback): it replaces the functions of its
		// own names, which the triggers no longer call.
		if err := s.DB().Exec(oldUpdateFunction).Error; err != nil {
			t.Fatal(err)
		}
		if !rename("After an old server's boot") {
			t.Error("an old server's boot stopped the version")
		}
	}
	wantCounts(t, s, map[int64]int64{owner: 1})
}
