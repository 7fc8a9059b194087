package models_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// wantMappingCounts checks that every mapping carries its patient's owner
// and that, for each owner of want, the counter, the API list's count and
// rows, and a count through the patients all agree with want.
func wantMappingCounts(t *testing.T, s *models.Store, want map[int64]int64) {
	t.Helper()
	db := s.DB()
	var stale int64
	if err := db.Raw(`SELECT count(*) FROM mappings m LEFT JOIN patients p ON p.id = m.patient_id
	  WHERE m.patient_owner_id IS DISTINCT FROM p.created_by_id`).Scan(&stale).Error; err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Errorf("%d mappings do not carry their patient's owner", stale)
	}
	for owner, n := range want {
		var counted, joined int64
		if err := db.Model(&models.MappingCount{}).Select("COALESCE(SUM(n), 0)").Where("owner_id = ?", owner).Scan(&counted).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Raw(`SELECT count(*) FROM mappings m JOIN patients p ON p.id = m.patient_id
		  WHERE p.created_by_id = ?`, owner).Scan(&joined).Error; err != nil {
			t.Fatal(err)
		}
		page, err := s.Mappings(context.Background(), owner, models.MappingFilter{}, models.ListQuery{Page: 1, PageSize: models.MaxPageSize})
		if err != nil {
			t.Fatalf("Mappings(%d): %v", owner, err)
		}
		if counted != n || joined != n || page.Count != n || int64(len(page.Items)) != min(n, models.MaxPageSize) {
			t.Errorf("owner %d: counter %d, through patients %d, list count %d with %d rows; want %d",
				owner, counted, joined, page.Count, len(page.Items), n)
		}
		for _, m := range page.Items {
			var patientOwner int64
			if err := db.Model(&models.Patient{}).Select("created_by_id").Where("id = ?", m.PatientID).Scan(&patientOwner).Error; err != nil {
				t.Fatal(err)
			}
			if patientOwner != owner {
				t.Errorf("owner %d lists mapping %d of patient %d, owned by %d", owner, m.ID, m.PatientID, patientOwner)
			}
		}
	}
}

// mappingCast is who the mapping tests need: a store, a staff user (who
// adds doctors), two owners a and b, and the doctors asked for.
type mappingCast struct {
	s       *models.Store
	db      *gorm.DB
	staff   *models.User
	a, b    int64
	doctors []int64
}

func newMappingCast(t *testing.T, doctors int) mappingCast {
	t.Helper()
	s := modelstest.Store(t)
	cast := mappingCast{s: s, db: s.DB(), staff: admStoreUser(t, s, "staff@clinic.example", true),
		a: listOwner(t, s, "a@example.com"), b: listOwner(t, s, "b@example.com")}
	for i := range doctors {
		cast.doctors = append(cast.doctors, mappingDoctor(t, s, cast.staff, fmt.Sprintf("doctor%d", i+1)))
	}
	return cast
}

func mappingDoctor(t *testing.T, s *models.Store, staff *models.User, name string) int64 {
	t.Helper()
	d := &models.Doctor{Name: name, Specialization: "Cardiology", Email: name + "@clinic.example"}
	if err := s.CreateDoctor(admCtx(staff), staff.ID, d); err != nil {
		t.Fatalf("CreateDoctor(%s): %v", name, err)
	}
	return d.ID
}

func assign(t *testing.T, s *models.Store, owner, patient, doctor int64) models.Mapping {
	t.Helper()
	m := models.Mapping{PatientID: patient, DoctorID: doctor}
	if err := s.CreateMapping(context.Background(), owner, &m); err != nil {
		t.Fatalf("CreateMapping(%d, %d): %v", patient, doctor, err)
	}
	return m
}

// Whatever writes a mapping or its patient (the API, the admin, a
// cascade, SQL), a user's mappings are exactly those of the user's
// patients, and the counter says how many.
func TestMappingCounterFollowsEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cast := newMappingCast(t, 3)
	s, db, staff, a, b := cast.s, cast.db, cast.staff, cast.a, cast.b
	d1, d2, d3 := cast.doctors[0], cast.doctors[1], cast.doctors[2]
	pa1, pa2 := listPatient(t, s, a, models.Patient{Name: "A1"}).ID, listPatient(t, s, a, models.Patient{Name: "A2"}).ID
	pb1 := listPatient(t, s, b, models.Patient{Name: "B1"}).ID

	m1 := assign(t, s, a, pa1, d1)
	assign(t, s, a, pa1, d2)
	m3 := assign(t, s, a, pa2, d1)
	assign(t, s, b, pb1, d1)
	wantMappingCounts(t, s, map[int64]int64{a: 3, b: 1})

	// Refused writes change nothing: another's patient, a duplicate, a
	// delete of another's mapping.
	if err := s.CreateMapping(ctx, b, &models.Mapping{PatientID: pa1, DoctorID: d3}); err == nil {
		t.Fatal("b assigned a doctor to a's patient")
	}
	if err := s.CreateMapping(ctx, a, &models.Mapping{PatientID: pa1, DoctorID: d1}); err == nil {
		t.Fatal("duplicate assignment accepted")
	}
	if err := s.DeleteMapping(ctx, b, m1.ID); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("b deleting a's mapping: %v, want not found", err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 3, b: 1})

	if err := s.DeleteMapping(ctx, a, m1.ID); err != nil {
		t.Fatal(err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 2, b: 1})

	// The admin moves a mapping to another owner's patient.
	moved := models.Mapping{ID: m3.ID, PatientID: pb1, DoctorID: d3, Notes: "moved"}
	if err := s.AdminSaveMapping(admCtx(staff), staff.ID, &moved); err != nil {
		t.Fatal(err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 1, b: 2})

	// A patient changes owner: its mappings follow. An edit that keeps
	// the owner moves nothing.
	if err := db.Model(&models.Patient{}).Where("id = ?", pa1).Update("created_by_id", b).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Model(&models.Patient{}).Where("id = ?", pb1).Update("name", "Renamed").Error; err != nil {
		t.Fatal(err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 0, b: 3})

	// A batch insert, and one that rolls back.
	batch := []models.Mapping{{PatientID: pa2, DoctorID: d1}, {PatientID: pa2, DoctorID: d2}, {PatientID: pa1, DoctorID: d3}}
	if err := db.Create(&batch).Error; err != nil {
		t.Fatal(err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 2, b: 4})
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&models.Mapping{PatientID: pa2, DoctorID: d3}).Error; err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("transaction did not fail")
	}
	wantMappingCounts(t, s, map[int64]int64{a: 2, b: 4})

	// A doctor's deletion takes its mappings; a patient's too, through the
	// API and by the foreign key's cascade.
	if err := s.DeleteDoctor(admCtx(staff), d3); err != nil {
		t.Fatal(err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 2, b: 2})
	if err := s.DeletePatient(ctx, a, pa2); err != nil {
		t.Fatal(err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 0, b: 2})
	if err := db.Delete(&models.Patient{}, pa1).Error; err != nil {
		t.Fatal(err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 0, b: 1})

	// A user's deletion takes its patients, their mappings and its counts.
	if err := db.Delete(&models.User{}, b).Error; err != nil {
		t.Fatal(err)
	}
	if left := countRows(t, db, &models.MappingCount{}, "owner_id = ?", b); left != 0 {
		t.Errorf("%d counter rows left for a deleted user", left)
	}
	c := listOwner(t, s, "c@example.com") // SQLite may reuse b's id
	wantMappingCounts(t, s, map[int64]int64{a: 0, b: 0, c: 0})
}

// A filtered list is counted by its rows, not by the owner's counter.
func TestMappingFiltersAreCountedByTheirRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cast := newMappingCast(t, 2)
	s, a, d1, d2 := cast.s, cast.a, cast.doctors[0], cast.doctors[1]
	p1, p2 := listPatient(t, s, a, models.Patient{Name: "P1"}).ID, listPatient(t, s, a, models.Patient{Name: "P2"}).ID
	assign(t, s, a, p1, d1)
	assign(t, s, a, p1, d2)
	assign(t, s, a, p2, d1)
	for _, tc := range []struct {
		filter models.MappingFilter
		want   int64
	}{{models.MappingFilter{}, 3}, {models.MappingFilter{PatientID: p1}, 2}, {models.MappingFilter{DoctorID: d2}, 1},
		{models.MappingFilter{PatientID: p2, DoctorID: d2}, 0}} {
		page, err := s.Mappings(ctx, a, tc.filter, models.ListQuery{Page: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Count != tc.want || int64(len(page.Items)) != tc.want {
			t.Errorf("filter %+v: count %d, %d rows; want %d", tc.filter, page.Count, len(page.Items), tc.want)
		}
	}
}

// A database from before the copied owner (no triggers, the column empty)
// gets both, and its counts, at the next migration; later ones keep them.
func TestMappingOwnerBackfilledOnMigrate(t *testing.T) {
	t.Parallel()
	cast := newMappingCast(t, 2)
	s, db, a, b, d1, d2 := cast.s, cast.db, cast.a, cast.b, cast.doctors[0], cast.doctors[1]
	pa := listPatient(t, s, a, models.Patient{Name: "A"}).ID
	pb := listPatient(t, s, b, models.Patient{Name: "B"}).ID
	assign(t, s, a, pa, d1)
	assign(t, s, b, pb, d1)

	drops := []string{"DROP TRIGGER mapping_counts_insert", "DROP TRIGGER mapping_counts_delete", "DROP TRIGGER mapping_counts_update"}
	if modelstest.Engine() == models.Postgres {
		for i := range drops {
			drops[i] += " ON mappings"
		}
		drops = append(drops, "DROP TRIGGER mappings_patient_owner ON mappings", "DROP TRIGGER patients_mapping_owner ON patients")
	} else {
		drops = append(drops, "DROP TRIGGER mappings_patient_owner_insert", "DROP TRIGGER mappings_patient_owner_update",
			"DROP TRIGGER patients_mapping_owner")
	}
	for _, stmt := range append(drops, "UPDATE mappings SET patient_owner_id = NULL", "DELETE FROM mapping_counts") {
		if err := db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// Written while no trigger kept anything.
	if err := db.Create(&models.Mapping{PatientID: pa, DoctorID: d2}).Error; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := models.Migrate(db); err != nil {
			t.Fatal(err)
		}
	}
	wantMappingCounts(t, s, map[int64]int64{a: 2, b: 1})
	assign(t, s, b, pb, d2)
	wantMappingCounts(t, s, map[int64]int64{a: 2, b: 2})
}

// A user's mapping list is one range of idx_mappings_owner_created, and
// its size the counter's: no statement counts mappings or reads patients.
func TestMappingListReadsOneIndexRange(t *testing.T) {
	t.Parallel()
	cast := newMappingCast(t, 1)
	s, db, a, d := cast.s, cast.db, cast.a, cast.doctors[0]
	for i := range 3 {
		p := listPatient(t, s, a, models.Patient{Name: "P" + string(rune('A'+i))}).ID
		assign(t, s, a, p, d)
	}
	taken := statements(t, db)
	page, err := s.Mappings(context.Background(), a, models.MappingFilter{}, models.ListQuery{Page: 1})
	if err != nil || page.Count != 3 || len(page.Items) != 3 {
		t.Fatalf("Mappings: %v, count %d, %d rows", err, page.Count, len(page.Items))
	}
	stmts := taken()
	for _, st := range stmts {
		if low := strings.ToLower(st); strings.Contains(low, "count(") || strings.Contains(low, "patients") {
			t.Errorf("the list counted or read patients: %s", st)
		}
	}
	stmt := pageStatement(t, stmts)
	if text := walkPlan(t, db, stmt); !strings.Contains(text, "idx_mappings_owner_created") || sortNode.MatchString(text) ||
		strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("the page does not walk idx_mappings_owner_created:\n%s\n%s", stmt, text)
	}
}

// SQL that writes patient_owner_id itself, wrongly, is corrected, and
// counted as corrected, whatever order the engine fires its triggers in.
func TestMappingOwnerWrittenBySQLIsCorrected(t *testing.T) {
	t.Parallel()
	cast := newMappingCast(t, 2)
	s, db, a, b, d1, d2 := cast.s, cast.db, cast.a, cast.b, cast.doctors[0], cast.doctors[1]
	pa := listPatient(t, s, a, models.Patient{Name: "A"}).ID
	for i, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO mappings (patient_id, doctor_id, notes, created_at, patient_owner_id) VALUES (?, ?, '', ?, ?)`,
			[]any{pa, d1, time.Now().UTC(), b}},
		{`INSERT INTO mappings (patient_id, doctor_id, notes, created_at, patient_owner_id) VALUES (?, ?, '', ?, ?)`,
			[]any{pa, d2, time.Now().UTC(), int64(1 << 40)}}, // no such user
		{`UPDATE mappings SET patient_owner_id = ? WHERE doctor_id = ?`, []any{b, d1}},
		{`UPDATE mappings SET patient_owner_id = NULL WHERE doctor_id = ?`, []any{d2}},
	} {
		if err := db.Exec(stmt.sql, stmt.args...).Error; err != nil {
			t.Fatalf("%s: %v", stmt.sql, err)
		}
		wantMappingCounts(t, s, map[int64]int64{a: int64(min(i+1, 2)), b: 0})
	}
}

// On PostgreSQL an edit of a mapping's notes does not lock its patient:
// an admin save of the patient (the patient first, then its mappings)
// would otherwise deadlock with it.
func TestMappingNotesEditLeavesThePatientUnlocked(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("SQLite has one writer at a time")
	}
	cast := newMappingCast(t, 1)
	s, db, a := cast.s, cast.db, cast.a
	p := listPatient(t, s, a, models.Patient{Name: "Edited"}).ID
	m := assign(t, s, a, p, cast.doctors[0])

	notes := db.Begin()
	defer notes.Rollback()
	if err := notes.Model(&models.Mapping{}).Where("id = ?", m.ID).Update("notes", "changed").Error; err != nil {
		t.Fatal(err)
	}
	// A lock wait, not a slow machine, is what lock_timeout ends.
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL lock_timeout = '2s'").Error; err != nil {
			return err
		}
		return tx.Model(&models.Patient{}).Where("id = ?", p).Update("name", "Renamed").Error
	})
	if err != nil {
		t.Fatalf("the patient's edit waited for the mapping's: %v", err)
	}
	if err := notes.Commit().Error; err != nil {
		t.Fatal(err)
	}
	wantMappingCounts(t, s, map[int64]int64{a: 1})
}

// On PostgreSQL an assignment and a change of the patient's owner can
// race. Whichever starts first, the other waits for it (the copy reads the
// patient FOR SHARE), and the mapping ends with the patient's final owner.
// Without the lock the second finishes at once, and the mapping keeps the
// old owner: the change of owner misses the uncommitted mapping, or the
// assignment copies the owner still committed.
func TestMappingOwnerRacesAChangeOfOwner(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("SQLite has one writer at a time")
	}
	for _, assignFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("assignment first %v", assignFirst), func(t *testing.T) {
			t.Parallel()
			cast := newMappingCast(t, 1)
			s, db, a, b, d := cast.s, cast.db, cast.a, cast.b, cast.doctors[0]
			p := listPatient(t, s, a, models.Patient{Name: "Contested"}).ID
			assign := func(db *gorm.DB) error { return db.Create(&models.Mapping{PatientID: p, DoctorID: d}).Error }
			changeOwner := func(db *gorm.DB) error {
				return db.Model(&models.Patient{}).Where("id = ?", p).Update("created_by_id", b).Error
			}
			first, second := assign, changeOwner
			if !assignFirst {
				first, second = changeOwner, assign
			}

			tx := db.Begin()
			defer tx.Rollback()
			if err := first(tx); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- second(db) }()
			select {
			case err := <-done:
				t.Fatalf("the second write did not wait for the first (err %v)", err)
			case <-time.After(300 * time.Millisecond):
			}
			if err := tx.Commit().Error; err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			wantMappingCounts(t, s, map[int64]int64{a: 0, b: 1})
		})
	}
}

// Deleting a patient takes its mappings with it even where the foreign key
// does not cascade (a database whose constraint predates the cascade:
// AutoMigrate never rewrites one), and touches no other owner's mappings.
func TestDeletePatientWithoutCascade(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("SQLite cannot change a table's foreign keys in place")
	}
	cast := newMappingCast(t, 2)
	s, db, a, b := cast.s, cast.db, cast.a, cast.b
	if err := db.Exec(`ALTER TABLE mappings DROP CONSTRAINT fk_mappings_patient,
	  ADD CONSTRAINT fk_mappings_patient FOREIGN KEY (patient_id) REFERENCES patients (id)`).Error; err != nil {
		t.Fatal(err)
	}
	mine := listPatient(t, s, a, models.Patient{Name: "Mine"}).ID
	theirs := listPatient(t, s, b, models.Patient{Name: "Theirs"}).ID
	for _, d := range cast.doctors {
		assign(t, s, a, mine, d)
		assign(t, s, b, theirs, d)
	}
	if err := s.DeletePatient(context.Background(), a, theirs); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("deleting another owner's patient: %v, want NotFound", err)
	}
	if err := s.DeletePatient(context.Background(), a, mine); err != nil {
		t.Fatalf("DeletePatient: %v", err)
	}
	for _, tc := range []struct {
		patient int64
		want    int64
	}{{mine, 0}, {theirs, 2}} {
		if n := countRows(t, db, &models.Mapping{}, "patient_id = ?", tc.patient); n != tc.want {
			t.Errorf("patient %d has %d mappings, want %d", tc.patient, n, tc.want)
		}
	}
}

// A patient created for an owner deleted meanwhile (the user's deletion
// committed while the request ran) is refused as the owner's token now is,
// not answered 500, and nothing is stored.
func TestCreatePatientForADeletedOwner(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	ctx := context.Background()
	owner := listOwner(t, s, "leaving@example.com")
	staff, err := s.CreateUser(ctx, models.NewUser{Name: "Staff", Email: "staff@clinic.example", Password: "correct-Horse-battery-9",
		IsActive: true, IsStaff: true, IsSuperuser: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.AdminDelete(ctx, staff.ID, models.ObjectUser, []int64{owner}); err != nil || n != 1 {
		t.Fatalf("AdminDelete = %d, %v", n, err)
	}
	err = s.CreatePatient(ctx, owner, &models.Patient{Name: "Orphan"})
	if models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("CreatePatient for a deleted owner = %v, want unauthorized", err)
	}
	if n := countRows(t, s.DB(), &models.Patient{}, "created_by_id = ?", owner); n != 0 {
		t.Errorf("%d patients of the deleted owner stored", n)
	}
}

// A patient's doctors are read as its owner's in the statement that reads
// them: a change of owner committed after the patient was found, before
// its doctors were read, must not show the old owner the doctors.
func TestPatientDoctorsOfAPatientMovedMeanwhile(t *testing.T) {
	t.Parallel()
	cast := newMappingCast(t, 2)
	s, a, b := cast.s, cast.a, cast.b
	p := listPatient(t, s, a, models.Patient{Name: "Moved"}).ID
	for _, d := range cast.doctors {
		assign(t, s, a, p, d)
	}
	const name = "test:move-before-doctors"
	moved := false
	err := s.DB().Callback().Query().Before("gorm:query").Register(name, func(tx *gorm.DB) {
		if moved || tx.Statement.Table != "doctors" {
			return
		}
		moved = true
		if err := s.DB().Model(&models.Patient{}).Where("id = ?", p).Update("created_by_id", b).Error; err != nil {
			t.Errorf("moving the patient: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.DB().Callback().Query().Remove(name) }()
	doctors, err := s.PatientDoctors(context.Background(), a, p)
	if !moved {
		t.Fatal("the patient was not moved between its check and its doctors' read")
	}
	if err != nil && models.ErrorCode(err) != models.NotFound {
		t.Fatal(err)
	}
	if len(doctors) != 0 {
		t.Errorf("the old owner was shown %d doctors of a patient that is no longer theirs", len(doctors))
	}
}

// newSchemaCast is a mapping cast with one doctor on PostgreSQL, and the
// schema its tables are in, for the tests of search paths (skipped on
// SQLite, which has none).
func newSchemaCast(t *testing.T) (mappingCast, string) {
	t.Helper()
	if modelstest.Engine() != models.Postgres {
		t.Skip("search paths are PostgreSQL's")
	}
	cast := newMappingCast(t, 1)
	var schema string
	if err := cast.db.Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
		t.Fatal(err)
	}
	return cast, schema
}

// The counting triggers find their tables whatever the writing session's
// search path is: a psql with the default one, or pg_restore, which sets
// it empty and names every table with its schema. Their functions named
// the tables unqualified, so such a write failed ("relation
// patient_counts does not exist") or counted in another schema.
func TestCountersCountWritesFromAnotherSearchPath(t *testing.T) {
	t.Parallel()
	cast, schema := newSchemaCast(t)
	s, a := cast.s, cast.a
	err := cast.db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec(`SET search_path = ''`).Error; err != nil {
			return err
		}
		defer conn.Exec(`RESET search_path`)
		if err := conn.Exec(`INSERT INTO `+schema+`.patients (name, gender, phone, email, address, medical_history, created_by_id, created_at, updated_at)
		  VALUES ('Restored', 'unknown', '', '', '', '', ?, now(), now())`, a).Error; err != nil {
			return fmt.Errorf("insert a patient: %w", err)
		}
		if err := conn.Exec(`INSERT INTO `+schema+`.mappings (patient_id, doctor_id, notes, created_at)
		  SELECT id, ?, '', now() FROM `+schema+`.patients WHERE name = 'Restored'`, cast.doctors[0]).Error; err != nil {
			return fmt.Errorf("insert a mapping: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("a write with an empty search path: %v", err)
	}
	wantCounts(t, s, map[int64]int64{a: 1})
	wantMappingCounts(t, s, map[int64]int64{a: 1})
}

// The counting triggers count in the tables of the schema they were made
// in, whatever schema the search path they were made under could come to
// mean. With SET search_path FROM CURRENT they kept the path as written:
// the default "$user", public names another schema to another role, and a
// path naming a schema that did not exist yet counted, once someone made
// it (another deployment in the same database), in that schema's tables.
func TestCountersStayInTheSchemaTheyWereMadeIn(t *testing.T) {
	t.Parallel()
	cast, schema := newSchemaCast(t)
	s, a := cast.s, cast.a
	later := schema + "_later"
	t.Cleanup(func() { _ = cast.db.Exec("DROP SCHEMA IF EXISTS " + later + " CASCADE").Error })
	// A boot whose search path names, first, a schema not made yet.
	u, err := url.Parse(os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", later+", "+schema)
	u.RawQuery = q.Encode()
	boot, err := models.Open(context.Background(), models.Postgres, u.String(), models.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = models.Migrate(boot)
	_ = models.Close(boot)
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	for _, stmt := range []string{
		"CREATE SCHEMA " + later,
		"CREATE TABLE " + later + ".patient_counts (LIKE " + schema + ".patient_counts INCLUDING ALL)",
		"CREATE TABLE " + later + ".mapping_counts (LIKE " + schema + ".mapping_counts INCLUDING ALL)",
	} {
		if err := cast.db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := cast.db.Exec(`INSERT INTO patients (name, gender, phone, email, address, medical_history, created_by_id, created_at, updated_at)
	  VALUES ('Counted', 'unknown', '', '', '', '', ?, now(), now())`, a).Error; err != nil {
		t.Fatalf("insert a patient: %v", err)
	}
	if err := cast.db.Exec(`INSERT INTO mappings (patient_id, doctor_id, notes, created_at)
	  SELECT id, ?, '', now() FROM patients WHERE name = 'Counted'`, cast.doctors[0]).Error; err != nil {
		t.Fatalf("insert a mapping: %v", err)
	}
	wantCounts(t, s, map[int64]int64{a: 1})
	wantMappingCounts(t, s, map[int64]int64{a: 1})
	var strays int64
	if err := cast.db.Raw("SELECT (SELECT count(*) FROM " + later + ".patient_counts) + (SELECT count(*) FROM " + later + ".mapping_counts)").Scan(&strays).Error; err != nil {
		t.Fatal(err)
	}
	if strays != 0 {
		t.Errorf("%d counts went to the schema made after the boot", strays)
	}
}
