package models_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Deletions on PostgreSQL take their parents' row locks before anything
// else, in the order every writer takes them (a patient before its owner,
// a patient before a doctor; the admin's patient save too),
// so a deletion and a write in flight wait for each other one way only. A
// deletion that removed the mappings first, then waited for the patient or
// doctor a mapping insert was holding, held the mapping counter the insert
// wanted next: a deadlock, answered 500; a user's deletion that locked the
// user before the patients deadlocked with the user's own patient writes.
//
// Each case holds a row as a writer in flight would, starts the deletion,
// waits until it waits for that row, and checks from a third connection
// that the deletion has not locked what it must lock only after: no
// timing, the database says who waits for whom.
func TestWritersLockParentsFirst(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("row locks: PostgreSQL only (SQLite's write transactions take the one database lock at BEGIN)")
	}
	type fixture struct {
		s               *models.Store
		staff, owner    int64
		patient, doctor int64
		mapping         int64
		secondPatient   int64
	}
	setup := func(t *testing.T) fixture {
		s := modelstest.Store(t)
		ctx := context.Background()
		f := fixture{s: s}
		staff, err := s.CreateUser(ctx, models.NewUser{Name: "Staff", Email: "staff@clinic.example", Password: "correct-Horse-battery-9",
			IsActive: true, IsStaff: true, IsSuperuser: true})
		if err != nil {
			t.Fatal(err)
		}
		f.staff = staff.ID
		f.owner = listOwner(t, s, "owner@example.com")
		f.patient = listPatient(t, s, f.owner, models.Patient{Name: "Held"}).ID
		f.secondPatient = listPatient(t, s, f.owner, models.Patient{Name: "Other"}).ID
		d := &models.Doctor{Name: "Dr Held", Specialization: "Cardiology", Email: "held@clinic.example"}
		if err := s.CreateDoctor(ctx, f.staff, d); err != nil {
			t.Fatal(err)
		}
		f.doctor = d.ID
		m := &models.Mapping{PatientID: f.patient, DoctorID: d.ID}
		if err := s.CreateMapping(ctx, f.owner, m); err != nil {
			t.Fatal(err)
		}
		f.mapping = m.ID
		return f
	}
	ctx := context.Background()
	tests := []struct {
		name   string
		hold   func(f fixture) (string, int64) // a statement a writer in flight has run, and its argument
		delete func(f fixture) error
		free   func(f fixture) (string, int64) // must not be locked while the deletion waits
	}{
		{"API doctor deletion waits for the doctor before its mappings",
			func(f fixture) (string, int64) { return "SELECT id FROM doctors WHERE id = ? FOR KEY SHARE", f.doctor },
			func(f fixture) error { return f.s.DeleteDoctor(ctx, f.doctor) },
			func(f fixture) (string, int64) {
				return "SELECT id FROM mappings WHERE doctor_id = ? FOR UPDATE NOWAIT", f.doctor
			}},
		{"API patient deletion waits for the patient before its mappings",
			func(f fixture) (string, int64) {
				return "SELECT id FROM patients WHERE id = ? FOR KEY SHARE", f.patient
			},
			func(f fixture) error { return f.s.DeletePatient(ctx, f.owner, f.patient) },
			func(f fixture) (string, int64) {
				return "SELECT id FROM mappings WHERE patient_id = ? FOR UPDATE NOWAIT", f.patient
			}},
		{"admin patient deletion waits for the patient before its mappings",
			func(f fixture) (string, int64) {
				return "SELECT id FROM patients WHERE id = ? FOR KEY SHARE", f.patient
			},
			func(f fixture) error {
				_, err := f.s.AdminDelete(ctx, f.staff, models.ObjectPatient, []int64{f.patient})
				return err
			},
			func(f fixture) (string, int64) {
				return "SELECT id FROM mappings WHERE patient_id = ? FOR UPDATE NOWAIT", f.patient
			}},
		{"admin doctor deletion waits for the doctor before its mappings",
			func(f fixture) (string, int64) { return "SELECT id FROM doctors WHERE id = ? FOR KEY SHARE", f.doctor },
			func(f fixture) error {
				_, err := f.s.AdminDelete(ctx, f.staff, models.ObjectDoctor, []int64{f.doctor})
				return err
			},
			func(f fixture) (string, int64) {
				return "SELECT id FROM mappings WHERE doctor_id = ? FOR UPDATE NOWAIT", f.doctor
			}},
		{"admin patient save waits for the doctor it assigns before removing mappings",
			func(f fixture) (string, int64) { return "SELECT id FROM doctors WHERE id = ? FOR UPDATE", f.doctor },
			func(f fixture) error {
				p, err := f.s.AdminPatient(ctx, f.patient)
				if err != nil {
					return err
				}
				p.CreatedBy = nil
				stored := *p
				return f.s.AdminSavePatient(ctx, f.staff, p, &stored, models.PatientDoctorChanges{Remove: []int64{f.mapping}, AddDoctorID: f.doctor})
			},
			func(f fixture) (string, int64) {
				return "SELECT id FROM mappings WHERE id = ? FOR UPDATE NOWAIT", f.mapping
			}},
		{"admin user deletion waits for the doctors the user created before the user",
			func(f fixture) (string, int64) { return "SELECT id FROM doctors WHERE id = ? FOR UPDATE", f.doctor },
			func(f fixture) error {
				deleter, err := f.s.CreateUser(ctx, models.NewUser{Name: "Deleter", Email: "deleter@clinic.example",
					Password: "correct-Horse-battery-9", IsActive: true, IsStaff: true, IsSuperuser: true})
				if err != nil {
					return err
				}
				_, err = f.s.AdminDelete(ctx, deleter.ID, models.ObjectUser, []int64{f.staff})
				return err
			},
			func(f fixture) (string, int64) {
				return "SELECT id FROM users WHERE id = ? FOR KEY SHARE NOWAIT", f.staff
			}},
		{"admin user deletion waits for the user's patients before the user",
			func(f fixture) (string, int64) {
				return "SELECT id FROM patients WHERE id = ? FOR NO KEY UPDATE", f.secondPatient
			},
			func(f fixture) error {
				_, err := f.s.AdminDelete(ctx, f.staff, models.ObjectUser, []int64{f.owner})
				return err
			},
			func(f fixture) (string, int64) {
				return "SELECT id FROM users WHERE id = ? FOR KEY SHARE NOWAIT", f.owner
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			db := f.s.DB()
			writer, xid := beginHolder(t, db)
			holdSQL, holdArg := tc.hold(f)
			if err := writer.Exec(holdSQL, holdArg).Error; err != nil {
				t.Fatalf("%s: %v", holdSQL, err)
			}
			done := make(chan error, 1)
			go func() { done <- tc.delete(f) }()
			lockWaitFor(t, db, xid)

			freeSQL, freeArg := tc.free(f)
			if err := db.Transaction(func(probe *gorm.DB) error { return probe.Exec(freeSQL, freeArg).Error }); err != nil {
				t.Errorf("while the write waits for the held row: %s: %v (it locked that first)", freeSQL, err)
			}
			writer.Rollback()
			if err := <-done; err != nil {
				t.Errorf("the write, once the row was free: %v", err)
			}
		})
	}
}

// beginHolder begins a transaction that a test holds rows with, as a
// writer in flight would, and returns it with its transaction id (as
// waitsForTransaction reads it); it is rolled back when the test ends.
func beginHolder(t *testing.T, db *gorm.DB) (*gorm.DB, int64) {
	t.Helper()
	tx := db.Begin()
	t.Cleanup(func() { tx.Rollback() })
	var xid int64
	if err := tx.Raw("SELECT pg_current_xact_id()::text::bigint % 4294967296").Scan(&xid).Error; err != nil {
		t.Fatal(err)
	}
	return tx, xid
}

// lockWaitFor returns once some session waits for transaction xid's lock.
func lockWaitFor(t *testing.T, db *gorm.DB, xid int64) {
	t.Helper()
	waitForLockOrDone(t, db, nil, waitsForTransaction, xid)
}

// waitsForTransaction counts the sessions waiting for transaction ?'s lock
// (its id, as pg_current_xact_id() % 2^32 gives it): no other test's.
const waitsForTransaction = `SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted
	AND transactionid::text::bigint = ?`

// waitsForCredentials counts the sessions waiting for user ?'s credentials
// lock (lockCredentials) in this database and schema: the other tests'
// users, in their own schemas, have the same ids.
const waitsForCredentials = `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND classid::bigint = (hashtext('healthcare.credentials:' || current_schema())::bigint & 4294967295)
	AND objid::bigint = ? AND objsubid = 2`

// waitForLockOrDone returns true once some session waits for a lock that
// the query counts, false if done (the write under test; nil for none)
// ends first.
func waitForLockOrDone(t *testing.T, db *gorm.DB, done <-chan error, query string, args ...any) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int64
		if err := db.Raw(query, args...).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return true
		}
		select {
		case err := <-done:
			t.Errorf("the write did not wait: it ended with %v", err)
			return false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the write never waited")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An admin edit of a mapping or a user that a deletion removes while the
// edit waits is 404 and records nothing; it used to say "changed" and
// record an update after the deletion.
func TestAdminEditOfARowDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("row locks: PostgreSQL only (SQLite's write transactions are serial)")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		table string
		edit  func(s *models.Store, admin *models.User, id int64) error
		make  func(t *testing.T, s *models.Store, admin *models.User) int64
		typ   string
	}{
		{"mapping", "mappings",
			func(s *models.Store, admin *models.User, id int64) error {
				m, err := s.AdminMapping(ctx, id)
				if err != nil {
					return err
				}
				m.Notes = "edited"
				return s.AdminSaveMapping(ctx, admin.ID, m)
			},
			func(t *testing.T, s *models.Store, admin *models.User) int64 {
				_, _, ms := patientWithDoctors(t, s, 1)
				return ms[0]
			}, models.ObjectMapping},
		{"user", "users",
			func(s *models.Store, admin *models.User, id int64) error {
				_, err := s.AdminUpdateUser(ctx, admin, id, models.UserChanges{Name: "Renamed", Email: "renamed@example.com", IsActive: true})
				return err
			},
			func(t *testing.T, s *models.Store, admin *models.User) int64 {
				return listOwner(t, s, "goner@example.com")
			}, models.ObjectUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := modelstest.Store(t)
			admin, err := s.CreateUser(ctx, models.NewUser{Name: "Admin", Email: "admin@clinic.example", Password: "correct-Horse-battery-9",
				IsActive: true, IsStaff: true, IsSuperuser: true})
			if err != nil {
				t.Fatal(err)
			}
			id := tc.make(t, s, admin)
			// A deletion in progress: the row is gone, not yet committed.
			del, xid := beginHolder(t, s.DB())
			if err := del.Exec("DELETE FROM "+tc.table+" WHERE id = ?", id).Error; err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- tc.edit(s, admin, id) }()
			waited := waitForLockOrDone(t, s.DB(), done, waitsForTransaction, xid)
			if err := del.Commit().Error; err != nil {
				t.Fatal(err)
			}
			if waited {
				if err := <-done; models.ErrorCode(err) != models.NotFound {
					t.Errorf("edit of a %s deleted meanwhile: %v, want NotFound", tc.name, err)
				}
			}
			var n int64
			if err := s.DB().Model(&models.AuditEvent{}).Where("action = ? AND object_type = ? AND object_id = ?",
				models.ActionUpdate, tc.typ, id).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d update events recorded for a %s deleted meanwhile", n, tc.name)
			}
		})
	}
}
