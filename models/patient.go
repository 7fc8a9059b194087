package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Genders a patient may have; GenderUnknown is the default.
const (
	GenderMale    = "male"
	GenderFemale  = "female"
	GenderOther   = "other"
	GenderUnknown = "unknown"
)

// Genders lists the accepted genders in display order.
var Genders = []string{GenderMale, GenderFemale, GenderOther, GenderUnknown}

// Patient is a patient record. It belongs to the user who created it.
type Patient struct {
	ID int64 `gorm:"primaryKey;index:idx_patients_owner_created,priority:3;index:idx_patients_created,priority:2"`
	// The list orderings the contract documents (name, date_of_birth) walk
	// an index instead of sorting: the owner's list by the owner-led ones,
	// the admin's staff-wide changelist by the others. Sorting a user's
	// 50,000 patients by name took 124–179 ms at 1,000,000 patients, the
	// staff-wide 1,000,000 200–230 ms; the walk 0.1–0.2 ms (BENCHMARKS.md).
	Name           string `gorm:"size:100;not null;index:idx_patients_owner_name,priority:2;index:idx_patients_name"`
	DateOfBirth    *Date  `gorm:"index:idx_patients_owner_birth,priority:2;index:idx_patients_birth"`
	Gender         string `gorm:"size:10;not null"`
	Phone          string `gorm:"size:20;not null"`
	Email          string `gorm:"size:254;not null"`
	Address        string `gorm:"size:500;not null"`
	MedicalHistory string `gorm:"type:text;not null"`
	// The composite index serves the owner's list in its default order and
	// its keyset pages with one range scan.
	CreatedByID int64 `gorm:"not null;index:idx_patients_owner_created,priority:1;index:idx_patients_owner_name,priority:1;index:idx_patients_owner_birth,priority:1"`
	CreatedBy   *User `gorm:"constraint:OnDelete:CASCADE"`
	// idx_patients_created serves the admin's staff-wide changelist, newest
	// first, which stops at a page's rows instead of sorting the table.
	CreatedAt time.Time `gorm:"not null;index:idx_patients_owner_created,priority:2;index:idx_patients_created,priority:1"`
	UpdatedAt time.Time `gorm:"not null"`
}

func (p *Patient) key() (time.Time, int64) { return p.CreatedAt, p.ID }

// earliestBirth is the earliest accepted date of birth.
var earliestBirth = NewDate(1900, time.January, 1)

// EarliestBirth is the earliest accepted date of birth (the admin form's
// date picker starts there).
func EarliestBirth() Date { return earliestBirth }

// CleanEdit is Clean for p as an edit of stored (nil: a new patient),
// whose values are not judged again where the edit leaves them as they
// are (judgeOnlyEdited).
func (p *Patient) CleanEdit(today Date, stored *Patient) error {
	return cleanEdit(p, stored, func(p *Patient) error { return p.Clean(today) }, patientValues)
}

// Clean trims p's strings, applies defaults and validates it.
func (p *Patient) Clean(today Date) error {
	p.Name = strings.TrimSpace(p.Name)
	p.Phone = strings.TrimSpace(p.Phone)
	p.Email = strings.TrimSpace(p.Email)
	p.Address = strings.TrimSpace(p.Address)
	p.MedicalHistory = strings.TrimSpace(p.MedicalHistory)
	p.Gender = strings.TrimSpace(p.Gender)
	if p.Gender == "" {
		p.Gender = GenderUnknown
	}
	f := FieldErrors{}
	checkLine(f, "name", p.Name, true, 100)
	checkChoice(f, "gender", p.Gender, Genders)
	checkPhone(f, "phone", p.Phone)
	checkEmail(f, "email", p.Email, false)
	checkText(f, "address", p.Address, false, 500)
	checkText(f, "medical_history", p.MedicalHistory, false, longestText)
	if d := p.DateOfBirth; d != nil {
		switch {
		case d.After(today.Time):
			f.Add("date_of_birth", "Date of birth cannot be in the future.")
		case d.Before(earliestBirth.Time):
			f.Add("date_of_birth", "Date of birth cannot be before 1900-01-01.")
		}
	}
	return f.Err()
}

func checkChoice(f FieldErrors, field, value string, choices []string) {
	for _, c := range choices {
		if value == c {
			return
		}
	}
	f.Add(field, fmt.Sprintf("%q is not a valid choice.", value))
}

// Today is the current date in the clinic's time zone (SetTimeZone), the
// reference for "not in the future": in UTC, a clinic east of it could not
// record a baby born this morning until UTC's midnight.
func (s *Store) Today() Date {
	t := s.db.NowFunc().In(s.TimeZone())
	return NewDate(t.Year(), t.Month(), t.Day())
}

var patientList = listSpec{
	search:   patientSearch.columns,
	folded:   patientSearch.folded(),
	ordering: map[string]string{"name": "name", "date_of_birth": "date_of_birth", "created_at": "created_at"},
	nullable: map[string]bool{"date_of_birth": true},
}

// ownedPatients scopes a query to the patients of owner.
func (s *Store) ownedPatients(ctx context.Context, owner int64) *gorm.DB {
	return s.db.WithContext(ctx).Model(&Patient{}).Where("created_by_id = ?", owner)
}

// CreatePatient validates p and stores it as owner's.
func (s *Store) CreatePatient(ctx context.Context, owner int64, p *Patient) error {
	if err := p.Clean(s.Today()); err != nil {
		return err
	}
	p.ID, p.CreatedByID = 0, owner
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		return record(ctx, tx, p.CreatedAt, auditEntry{action: ActionCreate, objectType: ObjectPatient, objectID: p.ID})
	})
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		// The owner was deleted while the request ran: its token is no
		// longer valid, as the next request would be told.
		return errTokenInvalid()
	}
	return err
}

// patientValues are the editable fields of p, for audit diffs.
func patientValues(p *Patient) map[string]any {
	var dob any
	if p.DateOfBirth != nil {
		dob = p.DateOfBirth.String()
	}
	return map[string]any{
		"name": p.Name, "date_of_birth": dob, "gender": p.Gender, "phone": p.Phone,
		"email": p.Email, "address": p.Address, "medical_history": p.MedicalHistory,
	}
}

// ViewPatient is Patient for a read that a person sees: it is audited.
func (s *Store) ViewPatient(ctx context.Context, owner, id int64) (*Patient, error) {
	p, err := s.Patient(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, auditEntry{action: ActionView, objectType: ObjectPatient, objectID: id}); err != nil {
		return nil, err
	}
	return p, nil
}

// Patient returns owner's patient id; another user's patient is NotFound.
func (s *Store) Patient(ctx context.Context, owner, id int64) (*Patient, error) {
	var p Patient
	if err := s.ownedPatients(ctx, owner).Where("id = ?", id).Take(&p).Error; err != nil {
		return nil, translate(err)
	}
	return &p, nil
}

// Patients returns a page of owner's patients.
func (s *Store) Patients(ctx context.Context, owner int64, q ListQuery) (Page[Patient], error) {
	spec := patientList
	spec.state = func() (listState, error) { return s.ownedPatientState(ctx, owner) }
	spec.memo, spec.stillAt = s.lists, atPatientVersion
	page, err := list[Patient](s.ownedPatients(ctx, owner), spec, q)
	if err != nil {
		return page, err
	}
	return page, s.audit(ctx, auditEntry{action: ActionList, objectType: ObjectPatient})
}

// UpdatePatient applies edit to owner's patient id as it stands in the
// database, validates the result and saves every editable field, all in
// one transaction that holds the row: two edits of the same patient at
// once are applied one after the other, so a PATCH of the phone cannot
// write back the address another PATCH has just changed. edit sets fields
// only (the id, owner and timestamps are the row's) and runs while the row
// is locked: it must not wait on anything (decode the request before).
func (s *Store) UpdatePatient(ctx context.Context, owner, id int64, edit func(*Patient) error) (*Patient, error) {
	var p Patient
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var old Patient
		if err := locked(tx, lockToEdit).Where("id = ? AND created_by_id = ?", id, owner).Take(&old).Error; err != nil {
			return err
		}
		p = old
		if err := edit(&p); err != nil {
			return err
		}
		if err := p.CleanEdit(s.Today(), &old); err != nil {
			return err
		}
		p.ID, p.CreatedByID, p.CreatedAt, p.UpdatedAt = old.ID, old.CreatedByID, old.CreatedAt, s.db.NowFunc()
		res := tx.Model(&Patient{}).Where("id = ? AND created_by_id = ?", id, owner).
			Select("name", "date_of_birth", "gender", "phone", "email", "address", "medical_history", "updated_at").
			// UpdateColumns, not Updates: Updates would stamp its own
			// updated_at, and the response would differ from the row.
			UpdateColumns(&p)
		if err := foundOne(res); err != nil {
			return err
		}
		return record(ctx, tx, p.UpdatedAt, auditEntry{action: ActionUpdate, objectType: ObjectPatient, objectID: id,
			changes: diff(patientValues(&old), patientValues(&p))})
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// DeletePatient deletes owner's patient id and its mappings.
func (s *Store) DeletePatient(ctx context.Context, owner, id int64) error {
	return retryDeadlock(ctx, func() error { return s.deletePatient(ctx, owner, id) })
}

func (s *Store) deletePatient(ctx context.Context, owner, id int64) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		// The patient first (lockForDelete).
		if err := lockForDelete(tx, ObjectPatient, []int64{id}); err != nil {
			return err
		}
		// The foreign key cascades too; deleting the mappings first, and
		// explicitly, keeps the rule true on a database whose key does not
		// cascade (AutoMigrate never rewrites an existing constraint), where
		// deleting the patient first would fail.
		now := s.db.NowFunc()
		err := deleteMappingsRecorded(ctx, tx, now, ObjectPatient,
			"patient_id IN (SELECT id FROM patients WHERE id = ? AND created_by_id = ?)", id, owner)
		if err != nil {
			return err
		}
		res := tx.Where("id = ? AND created_by_id = ?", id, owner).Delete(&Patient{})
		if err := foundOne(res); err != nil {
			return err
		}
		return record(ctx, tx, now, auditEntry{action: ActionDelete, objectType: ObjectPatient, objectID: id})
	})
}
