package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Mapping assigns a doctor to a patient. A unique index on the pair decides
// duplicates, so two racing assignments cannot both succeed.
type Mapping struct {
	ID          int64     `gorm:"primaryKey;index:idx_mappings_created,priority:2;index:idx_mappings_owner_created,priority:3"`
	PatientID   int64     `gorm:"not null;uniqueIndex:idx_mappings_pair,priority:1"`
	Patient     *Patient  `gorm:"constraint:OnDelete:CASCADE"`
	DoctorID    int64     `gorm:"not null;uniqueIndex:idx_mappings_pair,priority:2;index"`
	Doctor      *Doctor   `gorm:"constraint:OnDelete:CASCADE"`
	Notes       string    `gorm:"size:1000;not null"`
	CreatedByID *int64    `gorm:"index"`
	CreatedBy   *User     `gorm:"constraint:OnDelete:SET NULL"`
	CreatedAt   time.Time `gorm:"not null;index:idx_mappings_created,priority:1;index:idx_mappings_owner_created,priority:2"`
	// PatientOwnerID is the owner of the patient (its created_by_id), not
	// who assigned the doctor. Database triggers copy it and follow the
	// patient to a new owner (mapping_count.go); Go only reads it (->).
	// A user's mappings are then one range of idx_mappings_owner_created,
	// where they were a join with every patient the user has.
	PatientOwnerID *int64 `gorm:"->;index:idx_mappings_owner_created,priority:1"`
}

func (m *Mapping) key() (time.Time, int64) { return m.CreatedAt, m.ID }

// MappingFilter narrows a mapping list; zero values match everything.
type MappingFilter struct {
	PatientID, DoctorID int64
}

// Validation messages of mappings, as the contract words them.
const (
	msgPatientNotFound = "Patient not found."
	msgDoctorNotFound  = "Doctor not found."
	msgAlreadyAssigned = "This doctor is already assigned to this patient."
)

// ownedMappings scopes a query to mappings of owner's patients.
func ownedMappings(db *gorm.DB, owner int64) *gorm.DB {
	return db.Model(&Mapping{}).Where("patient_owner_id = ?", owner)
}

// CreateMapping assigns doctor m.DoctorID to owner's patient m.PatientID.
func (s *Store) CreateMapping(ctx context.Context, owner int64, m *Mapping) error {
	m.Notes = strings.TrimSpace(m.Notes)
	f := FieldErrors{}
	checkText(f, "notes", m.Notes, false, 1000)
	db := s.db.WithContext(ctx)
	var doctor Doctor
	err := db.Take(&doctor, m.DoctorID).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		f.Add("doctor_id", msgDoctorNotFound)
	case err != nil:
		return translate(err)
	}
	checkPatient := func(q *gorm.DB) error {
		var patient []int64
		if err := q.Model(&Patient{}).Where("id = ? AND created_by_id = ?", m.PatientID, owner).Pluck("id", &patient).Error; err != nil {
			return err
		}
		if len(patient) == 0 {
			f.Add("patient_id", msgPatientNotFound)
		}
		return f.Err()
	}
	if len(f) > 0 {
		// Refused already: every field's error, without a write lock.
		return translate(checkPatient(db))
	}
	m.ID, m.CreatedByID, m.Doctor = 0, &owner, nil
	err = db.Transaction(func(tx *gorm.DB) error {
		// The patient is checked here, and held as owner's until the
		// mapping is in, so that neither a deletion nor a change of owner
		// by staff can come between the check and the insert.
		if err := checkPatient(locked(tx, lockToKeep)); err != nil {
			return err
		}
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		return record(ctx, tx, m.CreatedAt, auditEntry{action: ActionCreate, objectType: ObjectMapping, objectID: m.ID,
			changes: map[string]Change{"patient_id": {New: m.PatientID}, "doctor_id": {New: m.DoctorID}}})
	})
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return invalidField(NonFieldErrors, msgAlreadyAssigned)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		// The doctor was deleted between the check and the insert (the
		// patient is held).
		return invalidField("doctor_id", msgDoctorNotFound)
	case err != nil:
		return translate(err)
	}
	m.Doctor = &doctor
	return nil
}

// Mappings returns a page of mappings of owner's patients, doctors loaded.
func (s *Store) Mappings(ctx context.Context, owner int64, filter MappingFilter, q ListQuery) (Page[Mapping], error) {
	base := ownedMappings(s.db.WithContext(ctx), owner)
	spec := listSpec{preload: []string{"Doctor"}}
	if filter.PatientID != 0 {
		base = base.Where("patient_id = ?", filter.PatientID)
	}
	if filter.DoctorID != 0 {
		base = base.Where("doctor_id = ?", filter.DoctorID)
	}
	if filter == (MappingFilter{}) {
		// The whole list: its size is the owner's counter.
		spec.state = func() (listState, error) { return s.ownedMappingState(ctx, owner) }
	}
	q.Search, q.Ordering = "", ""
	page, err := list[Mapping](base, spec, q)
	if err != nil {
		return page, err
	}
	return page, s.audit(ctx, auditEntry{action: ActionList, objectType: ObjectMapping})
}

// PatientDoctors returns every doctor assigned to owner's patient, by name.
// The doctors are read through the mappings' copy of their patient's owner
// too: a change of owner committed between the patient's check (whose
// answer is the 404) and this read shows the old owner no doctor.
func (s *Store) PatientDoctors(ctx context.Context, owner, patientID int64) ([]Doctor, error) {
	if _, err := s.Patient(ctx, owner, patientID); err != nil {
		return nil, err
	}
	var doctors []Doctor
	err := s.db.WithContext(ctx).
		Joins("JOIN mappings m ON m.doctor_id = doctors.id").
		Where("m.patient_id = ? AND m.patient_owner_id = ?", patientID, owner).
		Order("doctors.name").Order("doctors.id").
		Find(&doctors).Error
	if err != nil {
		return nil, translate(err)
	}
	// The doctors of a patient are part of its record: a view of it.
	return doctors, s.audit(ctx, auditEntry{action: ActionView, objectType: ObjectPatient, objectID: patientID})
}

// DeleteMapping deletes mapping id if it is of one of owner's patients.
func (s *Store) DeleteMapping(ctx context.Context, owner, id int64) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := ownedMappings(tx, owner).Where("id = ?", id).Delete(&Mapping{})
		if err := foundOne(res); err != nil {
			return err
		}
		return record(ctx, tx, s.db.NowFunc(), auditEntry{action: ActionDelete, objectType: ObjectMapping, objectID: id})
	})
}

// deleteMappingsRecorded deletes the mappings that where (with args)
// selects and records each one's deletion, "deleted_with" withType (the
// patient or doctor deleted with them), as the admin panel's deletions do:
// a mapping's history must not end at its creation. Only the rows this
// statement removed are recorded: one a concurrent deletion took first is
// that deletion's.
func deleteMappingsRecorded(ctx context.Context, tx *gorm.DB, now time.Time, withType string, where string, args ...any) error {
	ids, err := deleteReturningIDs[Mapping](tx, where, args...)
	if err != nil {
		return err
	}
	return recordDeleted(ctx, tx, now, ObjectMapping, ids, withType)
}

// recordDeleted records the deletion of the objectType rows ids, each
// marked "deleted_with" withType when they went with an object of another
// type ("" when they are the objects deleted).
func recordDeleted(ctx context.Context, tx *gorm.DB, now time.Time, objectType string, ids []int64, withType string) error {
	if len(ids) == 0 {
		return nil
	}
	var changes map[string]Change
	if withType != "" {
		changes = map[string]Change{"deleted_with": {New: withType}}
	}
	ev, err := newAuditEvent(ctx, now, auditEntry{action: ActionDelete, objectType: objectType, changes: changes})
	if err != nil {
		return err
	}
	// One event built, one INSERT per thousand: a doctor's deletion can take
	// thousands of mappings with it, all under the deletion's locks (5,000:
	// 0.6–1.8 s as one INSERT each on PostgreSQL, 0.12–0.14 s so).
	evs := make([]AuditEvent, len(ids))
	for i := range ids {
		evs[i] = ev
		evs[i].ObjectID = &ids[i]
	}
	return tx.CreateInBatches(&evs, 1000).Error
}
