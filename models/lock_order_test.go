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
// else, in the order every writer takes them (a patient before its owner),
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
func TestDeletionsLockParentsFirst(t *testing.T) {
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
			writer := db.Begin()
			t.Cleanup(func() { writer.Rollback() })
			var xid int64
			if err := writer.Raw("SELECT pg_current_xact_id()::text::bigint % 4294967296").Scan(&xid).Error; err != nil {
				t.Fatal(err)
			}
			holdSQL, holdArg := tc.hold(f)
			if err := writer.Exec(holdSQL, holdArg).Error; err != nil {
				t.Fatalf("%s: %v", holdSQL, err)
			}
			done := make(chan error, 1)
			go func() { done <- tc.delete(f) }()
			lockWaitFor(t, db, xid)

			freeSQL, freeArg := tc.free(f)
			if err := db.Transaction(func(probe *gorm.DB) error { return probe.Exec(freeSQL, freeArg).Error }); err != nil {
				t.Errorf("while the deletion waits for the held row: %s: %v (it locked that first)", freeSQL, err)
			}
			writer.Rollback()
			if err := <-done; err != nil {
				t.Errorf("the deletion, once the row was free: %v", err)
			}
		})
	}
}

// lockWaitFor returns once some session waits for transaction xid's lock.
func lockWaitFor(t *testing.T, db *gorm.DB, xid int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int64
		err := db.Raw(`SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted
			AND transactionid::text::bigint = ?`, xid).Scan(&n).Error
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the deletion never waited for the held row")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A login between its check of the password and its token family's insert
// is never split by a password change on PostgreSQL: the family's insert
// waits for a change in progress (the credentials lock) and then sees the
// new password, so the login gets bad credentials instead of tokens the
// change could not revoke.
func TestTokenFamilyWaitsForAPasswordChange(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("advisory locks: PostgreSQL only (SQLite's write transactions are serial)")
	}
	s := modelstest.Store(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, models.NewUser{Name: "Racer", Email: "racer@example.com", Password: "correct-Horse-battery-9", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	// A change in progress: the exclusive credentials lock is held, the new
	// password written, not yet committed.
	change := s.DB().Begin()
	defer change.Rollback()
	if err := change.Exec(`SELECT pg_advisory_xact_lock(hashtext('healthcare.credentials:' || current_schema()), (?::bigint % 2147483647)::int)`, u.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := change.Model(&models.User{}).Where("id = ?", u.ID).Update("password_hash", "changed").Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.StartTokenFamily(ctx, u, models.IssuedToken{JTI: "racer", Type: models.AccessToken, ExpiresAt: time.Now().Add(time.Hour)})
		done <- err
	}()
	// The login waits for the lock (the database says so: no timing).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int64
		if err := s.DB().Raw(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the token family did not wait for the change in progress: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the token family never waited")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := change.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-done; models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("after the change: %v, want bad credentials", err)
	}
}
