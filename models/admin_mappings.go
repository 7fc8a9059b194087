package models

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"
)

// AdminMappingFilter narrows the admin's mapping list; zero values match all.
type AdminMappingFilter struct {
	PatientID, DoctorID int64
	Specialization      string // of the doctor, exact, case-insensitive
}

var adminMappingList = adminSpec{
	table:  "mappings",
	search: []string{"patients.name", "doctors.name", "doctors.specialization", "mappings.notes"},
	ordering: map[string]string{
		"id": "mappings.id", "patient": "patients.name", "doctor": "doctors.name",
		"specialization": "doctors.specialization", "created_at": "mappings.created_at",
	},
	created: "mappings.created_at",
	preload: []string{"Patient", "Doctor", "CreatedBy"},
	page:    adminMappingPage,
}

// adminMappingPage reads a changelist page's associations with what it
// shows of them: the patient's name (not the medical history), the
// doctor's name and specialization, the assigner's email (not the
// password hash). The list's own joins are plain tables, so the
// associations stay preloads, one query each.
func adminMappingPage(db *gorm.DB) *gorm.DB {
	only := func(columns ...string) func(*gorm.DB) *gorm.DB {
		return func(tx *gorm.DB) *gorm.DB { return tx.Select(columns) }
	}
	return db.Preload("Patient", only("id", "name")).Preload("Doctor", only("id", "name", "specialization")).
		Preload("CreatedBy", only("id", "email"))
}

func (s *Store) adminMappings(ctx context.Context, f AdminMappingFilter) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&Mapping{}).
		Joins("JOIN patients ON patients.id = mappings.patient_id").
		Joins("JOIN doctors ON doctors.id = mappings.doctor_id")
	if f.PatientID != 0 {
		q = q.Where("mappings.patient_id = ?", f.PatientID)
	}
	if f.DoctorID != 0 {
		q = q.Where("mappings.doctor_id = ?", f.DoctorID)
	}
	if sp := strings.TrimSpace(f.Specialization); sp != "" {
		q = whereLowerEq(q, "doctors.specialization", sp)
	}
	return q
}

// AdminMappings returns a page of the mappings matching f and q, patient,
// doctor and creator loaded. It shows patient names, so it is audited.
func (s *Store) AdminMappings(ctx context.Context, f AdminMappingFilter, q AdminQuery) (AdminPage[Mapping], error) {
	page, err := adminList[Mapping](s.adminMappings(ctx, f), adminMappingList, q)
	if err != nil {
		return page, err
	}
	return page, s.audit(ctx, auditEntry{action: ActionList, objectType: ObjectMapping})
}

// EachAdminMapping calls fn for every mapping matching f and q (an export).
func (s *Store) EachAdminMapping(ctx context.Context, f AdminMappingFilter, q AdminQuery, fn func(*Mapping) error) error {
	return s.exportAudited(ctx, ObjectMapping, q.Search, func() error {
		return adminEach(s.adminMappings(ctx, f), adminMappingList, q, fn)
	})
}

// AdminMapping returns mapping id with its patient, doctor and creator.
func (s *Store) AdminMapping(ctx context.Context, id int64) (*Mapping, error) {
	var m Mapping
	if err := adminMappingList.load(s.db.WithContext(ctx)).Take(&m, id).Error; err != nil {
		return nil, translate(err)
	}
	return &m, nil
}

// AdminViewMapping is AdminMapping for a person to see (audited).
func (s *Store) AdminViewMapping(ctx context.Context, id int64) (*Mapping, error) {
	m, err := s.AdminMapping(ctx, id)
	if err != nil {
		return nil, err
	}
	return m, s.AdminRecordView(ctx, ObjectMapping, id)
}

// AdminSaveMapping validates m (any patient: staff-wide) and creates it
// (m.ID == 0, as assigned by staff user by) or saves its patient, doctor
// and notes, with its audit event.
func (s *Store) AdminSaveMapping(ctx context.Context, by int64, m *Mapping) error {
	m.Notes = strings.TrimSpace(m.Notes)
	f := FieldErrors{}
	checkText(f, "notes", m.Notes, false, 1000)
	db := s.db.WithContext(ctx)
	for _, ref := range []struct {
		field, msg string
		model      any
		id         int64
	}{{"patient_id", msgPatientNotFound, &Patient{}, m.PatientID}, {"doctor_id", msgDoctorNotFound, &Doctor{}, m.DoctorID}} {
		if ref.id == 0 {
			f.Add(ref.field, msgRequired)
			continue
		}
		if err := mustExist(db, ref.model, ref.id); err != nil {
			if ErrorCode(err) != NotFound {
				return err
			}
			f.Add(ref.field, ref.msg)
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	m.Patient, m.Doctor, m.CreatedBy = nil, nil, nil
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if m.ID == 0 {
			m.CreatedByID = &by
			if err := tx.Create(m).Error; err != nil {
				return err
			}
			return record(ctx, tx, m.CreatedAt, auditEntry{action: ActionCreate, objectType: ObjectMapping, objectID: m.ID,
				changes: map[string]Change{"patient_id": {New: m.PatientID}, "doctor_id": {New: m.DoctorID}}})
		}
		// Locked, and the update must find it: a mapping deleted meanwhile
		// is 404, not a success with an update recorded after its deletion.
		var old Mapping
		if err := locked(tx, lockToEdit).Take(&old, m.ID).Error; err != nil {
			return err
		}
		if err := foundOne(tx.Model(&Mapping{}).Where("id = ?", m.ID).
			Select("patient_id", "doctor_id", "notes").Updates(m)); err != nil {
			return err
		}
		m.CreatedAt, m.CreatedByID = old.CreatedAt, old.CreatedByID
		changes := diff(mappingValues(&old), mappingValues(m))
		if len(changes) == 0 {
			return nil
		}
		return record(ctx, tx, s.db.NowFunc(), auditEntry{action: ActionUpdate, objectType: ObjectMapping, objectID: m.ID,
			changes: changes})
	})
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return invalidField(NonFieldErrors, msgAlreadyAssigned)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return invalidField(NonFieldErrors, "The patient or doctor no longer exists.")
	}
	return translate(err)
}

func mappingValues(m *Mapping) map[string]any {
	return map[string]any{"patient_id": m.PatientID, "doctor_id": m.DoctorID, "notes": m.Notes}
}
