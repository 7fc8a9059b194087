package models_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// The API's deletion of a patient or a doctor records the deletion of each
// mapping that goes with it, "deleted_with" the patient or doctor, as the
// admin panel's deletions do: a mapping's history must not end at its
// creation while the mapping is gone.
func TestAPIDeletionsRecordTheirMappings(t *testing.T) {
	t.Parallel()
	c := newMappingCast(t, 2)
	s, ctx, owner, doctors := c.s, context.Background(), c.a, c.doctors
	var patients [2]int64
	mappings := map[int64][]int64{} // by patient
	for i := range patients {
		patients[i] = listPatient(t, s, owner, models.Patient{Name: "Patient " + string(rune('A'+i))}).ID
		for _, d := range doctors {
			mappings[patients[i]] = append(mappings[patients[i]], assign(t, s, owner, patients[i], d).ID)
		}
	}
	deletedWith := func(id int64) string {
		var evs []models.AuditEvent
		if err := s.DB().Where("action = ? AND object_type = ? AND object_id = ?", models.ActionDelete, models.ObjectMapping, id).
			Find(&evs).Error; err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			return "(" + strconv.Itoa(len(evs)) + " events)"
		}
		return evs[0].Changes
	}
	// Patient A's deletion takes both of its mappings.
	if err := s.DeletePatient(ctx, owner, patients[0]); err != nil {
		t.Fatal(err)
	}
	for _, id := range mappings[patients[0]] {
		if got := deletedWith(id); !strings.Contains(got, `"deleted_with"`) || !strings.Contains(got, `"patient"`) {
			t.Errorf("mapping %d deleted with its patient: %s", id, got)
		}
	}
	// Doctor A's deletion takes patient B's first mapping, not its second.
	if err := s.DeleteDoctor(ctx, doctors[0]); err != nil {
		t.Fatal(err)
	}
	if got := deletedWith(mappings[patients[1]][0]); !strings.Contains(got, `"deleted_with"`) || !strings.Contains(got, `"doctor"`) {
		t.Errorf("mapping deleted with its doctor: %s", got)
	}
	if got := deletedWith(mappings[patients[1]][1]); got != "(0 events)" {
		t.Errorf("a mapping still there has a deletion: %s", got)
	}
}

// A deletion records the mappings it removed, not the ones it found
// before: on PostgreSQL a concurrent deletion can take one in between (the
// DELETE then skips it), and its event was recorded by both.
func TestDeletionRecordsOnlyWhatItRemoved(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("row locks: PostgreSQL only (SQLite's write transactions are serial)")
	}
	s := modelstest.Store(t)
	ctx := context.Background()
	owner, p, ms := patientWithDoctors(t, s, 2)
	// Another deletion of the first mapping, under way.
	other, xid := beginHolder(t, s.DB())
	if err := other.Exec("DELETE FROM mappings WHERE id = ?", ms[0]).Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.DeletePatient(ctx, owner, p.ID) }()
	lockWaitFor(t, s.DB(), xid)
	if err := other.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{0, 1} {
		n := countRows(t, s.DB(), &models.AuditEvent{}, "action = ? AND object_type = ? AND object_id = ?",
			models.ActionDelete, models.ObjectMapping, ms[i])
		if n != want {
			t.Errorf("mapping %d: %d deletions recorded by the patient's deletion, want %d", i, n, want)
		}
	}
}

// A deletion that PostgreSQL ends as a deadlock's victim runs again and
// succeeds once the other side has gone, instead of failing (a 500). The
// deadlock is made on purpose (deadlockWith).
func TestDeletionRunsAgainAfterADeadlock(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("deadlocks: PostgreSQL only (SQLite's write transactions are serial)")
	}
	untilVictim(t, func() bool {
		s := modelstest.Store(t)
		owner, p, ms := patientWithDoctors(t, s, 1)
		victim, err := deadlockWith(t, s, p.ID, ms[0], func() error { return s.DeletePatient(context.Background(), owner, p.ID) })
		if err != nil {
			t.Fatalf("the deletion, victim %v: %v, want it run again and done", victim, err)
		}
		if n := countRows(t, s.DB(), &models.Patient{}, "id = ?", p.ID); n != 0 {
			t.Fatalf("patient left: %d", n)
		}
		return victim
	})
}

// deadlockWith makes a deadlock with op on purpose: another transaction
// holds mapping, op (run meanwhile) locks patient and waits for mapping,
// then the other asks for patient. It reports whether op was the victim,
// and op's error once the other has rolled back.
//
// PostgreSQL looks for a deadlock once in each waiter, deadlock_timeout
// (1 s) after it began to wait, and the waiter that finds the cycle is
// its victim. op waited first, so it is the victim, unless the machine
// stalled for longer than that between op's wait and the other's request:
// then op's one check found no cycle yet, the other's does, and op simply
// succeeds (untilVictim tries again).
func deadlockWith(t *testing.T, s *models.Store, patient, mapping int64, op func() error) (victim bool, err error) {
	t.Helper()
	other, xid := beginHolder(t, s.DB())
	if err := other.Exec("SELECT id FROM mappings WHERE id = ? FOR UPDATE", mapping).Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- op() }()
	lockWaitFor(t, s.DB(), xid) // op holds the patient, waits for the mapping
	otherErr := other.Exec("SELECT id FROM patients WHERE id = ? FOR UPDATE", patient).Error
	other.Rollback()
	var pgErr *pgconn.PgError
	if otherErr != nil && !(errors.As(otherErr, &pgErr) && pgErr.Code == "40P01") { // deadlock_detected
		t.Fatalf("the other side of the deadlock: %v", otherErr)
	}
	return otherErr == nil, <-done
}

// untilVictim runs attempt, which makes a deadlock with deadlockWith on
// fixtures of its own and reports whether the operation under test was its
// victim, until it was: five attempts at most.
func untilVictim(t *testing.T, attempt func() (victim bool)) {
	t.Helper()
	const attempts = 5
	for i := 1; i <= attempts; i++ {
		if attempt() {
			return
		}
		t.Logf("attempt %d: the other side was the deadlock's victim (a stall past deadlock_timeout); again", i)
	}
	t.Fatalf("in %d attempts the operation was never the deadlock's victim", attempts)
}

// patientWithDoctors makes an owner with one patient assigned to n doctors
// (created by a staff user) and returns the owner, the patient and the
// mappings' ids.
func patientWithDoctors(t *testing.T, s *models.Store, n int) (owner int64, p models.Patient, mappings []int64) {
	t.Helper()
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	owner = listOwner(t, s, "owner@example.com")
	p = listPatient(t, s, owner, models.Patient{Name: "Assigned"})
	for i := range n {
		mappings = append(mappings, assign(t, s, owner, p.ID, mappingDoctor(t, s, staff, "dr"+strconv.Itoa(i))).ID)
	}
	return owner, p, mappings
}

// The admin's patient save, a deadlock's victim, runs again from the
// patient as given and saves it (the deadlock made as for the deletion:
// the save holds the patient and waits for a mapping it removes, the other
// side holds that mapping and asks for the patient).
func TestAdminSaveRunsAgainAfterADeadlock(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("deadlocks: PostgreSQL only (SQLite's write transactions are serial)")
	}
	untilVictim(t, func() bool {
		s := modelstest.Store(t)
		ctx := context.Background()
		_, p, ms := patientWithDoctors(t, s, 1)
		staff, err := s.CreateUser(ctx, models.NewUser{Name: "Saver", Email: "saver@clinic.example", Password: "correct-Horse-battery-9",
			IsActive: true, IsStaff: true})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := s.AdminPatient(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored.CreatedBy = nil
		edited := *stored
		edited.Name = "Saved Again"
		victim, err := deadlockWith(t, s, p.ID, ms[0], func() error {
			return s.AdminSavePatient(ctx, staff.ID, &edited, stored, models.PatientDoctorChanges{Remove: []int64{ms[0]}})
		})
		if err != nil {
			t.Fatalf("the save, victim %v: %v, want it run again and done", victim, err)
		}
		got, err := s.AdminPatient(ctx, p.ID)
		if err != nil || got.Name != "Saved Again" {
			t.Fatalf("saved patient = %+v, %v", got, err)
		}
		if left := countRows(t, s.DB(), &models.Mapping{}, "id = ?", ms[0]); left != 0 {
			t.Fatalf("removed mapping left: %d", left)
		}
		return victim
	})
}
