package models

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// Staff-wide patient queries of the admin panel. Unlike the API's, they are
// not scoped to an owner; every read of patient data is audited all the
// same (the actor's Source says "admin").

// AdminPatientFilter narrows the admin's patient list; zero values match all.
type AdminPatientFilter struct {
	Gender  string
	OwnerID int64
}

var adminPatientList = adminSpec{
	table:  "patients",
	search: patientSearch.qualified(),
	folded: patientSearch.folded(),
	ordering: map[string]string{
		"id": "patients.id", "name": "patients.name", "date_of_birth": "patients.date_of_birth",
		"gender": "patients.gender", "created_at": "patients.created_at",
	},
	nullable: map[string]bool{"patients.date_of_birth": true},
	created:  "patients.created_at",
	preload:  []string{"CreatedBy"},
	page:     adminPatientPage,
	scan:     scanAdminPatients,
}

// adminPatientPage reads what the changelist shows: not the address or the
// medical history (a page of 100 would carry 100 of them for nothing), and
// the owner's email by a join instead of a second query for whole users.
// At 1,000,000 patients the preload and the unused columns were a third of
// the page's server CPU (BENCHMARKS.md).
func adminPatientPage(db *gorm.DB) *gorm.DB {
	return db.Select(adminPatientColumns).Joins("LEFT JOIN users owner ON owner.id = patients.created_by_id")
}

// adminPatientColumns are adminPatientPage's columns, in scanAdminPatients'
// order.
var adminPatientColumns = []string{"patients.id", "patients.name", "patients.date_of_birth", "patients.gender",
	"patients.phone", "patients.email", "patients.created_by_id", "patients.created_at", "patients.updated_at",
	"owner.email"}

// scanAdminPatients reads the rows of adminPatientPage into dst
// (*[]Patient) by hand: gorm's reflective scan of 100 rows was a tenth of
// the page's server CPU at 1,000,000 patients (BENCHMARKS.md).
func scanAdminPatients(query *gorm.DB, dst any) error {
	rows, err := query.Rows()
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	items := dst.(*[]Patient)
	*items = slices.Grow(*items, AdminPageSize+1)
	for rows.Next() {
		var p Patient
		var ownerEmail sql.NullString
		if err := rows.Scan(&p.ID, &p.Name, &p.DateOfBirth, &p.Gender, &p.Phone, &p.Email,
			&p.CreatedByID, &p.CreatedAt, &p.UpdatedAt, &ownerEmail); err != nil {
			return translate(err)
		}
		if ownerEmail.Valid {
			p.CreatedBy = &User{ID: p.CreatedByID, Email: ownerEmail.String}
		}
		*items = append(*items, p)
	}
	return translate(rows.Err())
}

func (s *Store) adminPatients(ctx context.Context, f AdminPatientFilter) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&Patient{})
	if f.Gender != "" {
		q = q.Where("patients.gender = ?", f.Gender)
	}
	if f.OwnerID != 0 {
		q = q.Where("patients.created_by_id = ?", f.OwnerID)
	}
	return q
}

// AdminPatients returns a page of every patient matching f and q, with
// the fields a changelist shows (not Address or MedicalHistory) and the
// owner's ID and Email. The read is audited.
func (s *Store) AdminPatients(ctx context.Context, f AdminPatientFilter, q AdminQuery) (AdminPage[Patient], error) {
	page, err := adminList[Patient](s.adminPatients(ctx, f), adminPatientList, q)
	if err != nil {
		return page, err
	}
	return page, s.audit(ctx, auditEntry{action: ActionList, objectType: ObjectPatient})
}

// EachAdminPatient calls fn for every patient matching f and q (a CSV
// export), after auditing the export.
func (s *Store) EachAdminPatient(ctx context.Context, f AdminPatientFilter, q AdminQuery, fn func(*Patient) error) error {
	return s.exportAudited(ctx, ObjectPatient, q.Search, func() error {
		return adminEach(s.adminPatients(ctx, f), adminPatientList, q, fn)
	})
}

// AdminPatient returns patient id, owner loaded, without auditing (for
// checks before a write; use AdminViewPatient to show it).
func (s *Store) AdminPatient(ctx context.Context, id int64) (*Patient, error) {
	var p Patient
	if err := s.db.WithContext(ctx).Preload("CreatedBy").Take(&p, id).Error; err != nil {
		return nil, translate(err)
	}
	return &p, nil
}

// AdminViewPatient returns patient id for a person to see: the view is
// audited.
func (s *Store) AdminViewPatient(ctx context.Context, id int64) (*Patient, error) {
	p, err := s.AdminPatient(ctx, id)
	if err != nil {
		return nil, err
	}
	return p, s.AdminRecordView(ctx, ObjectPatient, id)
}

// AdminPatientMappings returns the mappings of patient id, doctors loaded,
// by doctor name. It is part of a patient's page, whose view is audited.
func (s *Store) AdminPatientMappings(ctx context.Context, id int64) ([]Mapping, error) {
	var ms []Mapping
	err := s.db.WithContext(ctx).Preload("Doctor").
		Joins("JOIN doctors ON doctors.id = mappings.doctor_id").
		Where("mappings.patient_id = ?", id).
		Order("doctors.name").Order("mappings.id").Find(&ms).Error
	return ms, translate(err)
}

// holdDoctorToAssign locks doctor id (0: none), which a patient's save is
// about to assign, against deletion until tx ends, before the save writes
// anything: a deletion of that doctor under way (the doctor, then its
// mappings and their counters) finishes first. Locked only by the
// mapping's insert, after the save had taken a mapping counter (an owner
// moved, a doctor removed), it deadlocked with such a deletion, and one of
// the two was a 500. The patient's own lock comes first (lockForDelete's
// order). A doctor gone by now is the form's error.
func holdDoctorToAssign(tx *gorm.DB, id int64) error {
	if id == 0 {
		return nil
	}
	var held []int64
	if err := locked(tx, lockToReference).Model(&Doctor{}).Where("id = ?", id).Pluck("id", &held).Error; err != nil {
		return err
	}
	if len(held) == 0 {
		return invalidField(FieldAssignDoctor, msgDoctorNotFound)
	}
	return nil
}

// PatientDoctorChanges are the edits of a patient's assigned doctors made
// on its admin page together with the patient: mappings to remove and at
// most one doctor to assign.
type PatientDoctorChanges struct {
	Remove      []int64 // mapping ids of this patient
	AddDoctorID int64   // 0 for none
	AddNotes    string
}

// Field names of the inline assignment's errors.
const (
	FieldAssignDoctor = "assign_doctor_id"
	FieldAssignNotes  = "assign_notes"
	FieldOwner        = "created_by"
)

// AdminSavePatient validates p (with the API's rules), its owner
// p.CreatedByID and the inline changes, then creates (p.ID == 0) or updates
// the patient and applies the changes, all in one transaction with their
// audit events. Every validation message comes back at once. stored is
// the patient as the form was made from it (nil for a new one): its values
// are judged only where the edit changes them (Patient.CleanEdit).
func (s *Store) AdminSavePatient(ctx context.Context, by int64, p, stored *Patient, ch PatientDoctorChanges) error {
	f := FieldErrors{}
	db := s.db.WithContext(ctx)
	mergeFields(f, p.CleanEdit(s.Today(), stored))
	if p.CreatedByID == 0 {
		f.Add(FieldOwner, msgRequired)
	} else if err := mustExist(db, &User{}, p.CreatedByID); err != nil {
		if ErrorCode(err) != NotFound {
			return err
		}
		f.Add(FieldOwner, "User not found.")
	}
	ch.AddNotes = strings.TrimSpace(ch.AddNotes)
	checkText(f, FieldAssignNotes, ch.AddNotes, false, 1000)
	if ch.AddDoctorID != 0 {
		if err := mustExist(db, &Doctor{}, ch.AddDoctorID); err != nil {
			if ErrorCode(err) != NotFound {
				return err
			}
			f.Add(FieldAssignDoctor, msgDoctorNotFound)
		}
	} else if ch.AddNotes != "" {
		f.Add(FieldAssignDoctor, "Choose a doctor for these notes.")
	}
	if err := f.Err(); err != nil {
		return err
	}
	p.CreatedBy = nil // the owner is p.CreatedByID; never write the association
	asGiven := *p     // each attempt (retryDeadlock) starts from it
	err := retryDeadlock(ctx, func() error {
		*p = asGiven
		return s.savePatient(ctx, by, p, ch)
	})
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return invalidField(FieldAssignDoctor, msgAlreadyAssigned)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return invalidField(NonFieldErrors, "A related user or doctor no longer exists.")
	}
	return translate(err)
}

// savePatient is AdminSavePatient's transaction, on validated input.
func (s *Store) savePatient(ctx context.Context, by int64, p *Patient, ch PatientDoctorChanges) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.db.NowFunc()
		action, changes := ActionCreate, map[string]Change{FieldOwner: {New: p.CreatedByID}}
		var doctorsBefore string
		if p.ID == 0 {
			if err := holdDoctorToAssign(tx, ch.AddDoctorID); err != nil {
				return err
			}
			if err := tx.Create(p).Error; err != nil {
				return err
			}
			now = p.CreatedAt
		} else {
			var old Patient
			if err := locked(tx, lockToEdit).Take(&old, p.ID).Error; err != nil {
				return err
			}
			if err := holdDoctorToAssign(tx, ch.AddDoctorID); err != nil {
				return err
			}
			p.UpdatedAt = now
			res := tx.Model(&Patient{}).Where("id = ?", p.ID).
				Select("name", "date_of_birth", "gender", "phone", "email", "address", "medical_history", "created_by_id", "updated_at").
				Updates(p)
			if err := foundOne(res); err != nil {
				return err
			}
			p.CreatedAt = old.CreatedAt
			action, changes = ActionUpdate, diff(adminPatientValues(&old), adminPatientValues(p))
			var err error
			if doctorsBefore, err = assignedDoctors(tx, p.ID); err != nil {
				return err
			}
		}
		for _, id := range AdminIDs(ch.Remove) {
			res := tx.Where("id = ? AND patient_id = ?", id, p.ID).Delete(&Mapping{})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue // already gone: the wanted state holds
			}
			if err := record(ctx, tx, now, auditEntry{action: ActionDelete, objectType: ObjectMapping, objectID: id,
				changes: map[string]Change{"patient_id": {Old: p.ID}}}); err != nil {
				return err
			}
		}
		if ch.AddDoctorID != 0 {
			m := Mapping{PatientID: p.ID, DoctorID: ch.AddDoctorID, Notes: ch.AddNotes, CreatedByID: &by}
			if err := tx.Create(&m).Error; err != nil {
				return err
			}
			if err := record(ctx, tx, m.CreatedAt, auditEntry{action: ActionCreate, objectType: ObjectMapping, objectID: m.ID,
				changes: map[string]Change{"patient_id": {New: m.PatientID}, "doctor_id": {New: m.DoctorID}}}); err != nil {
				return err
			}
		}
		// The patient's own event says which doctors it has now, so its
		// history shows assignments made with it.
		doctorsAfter, err := assignedDoctors(tx, p.ID)
		if err != nil {
			return err
		}
		if doctorsAfter != doctorsBefore {
			changes["doctors"] = Change{Old: doctorsBefore, New: doctorsAfter}
		}
		if action == ActionUpdate && len(changes) == 0 {
			return nil
		}
		return record(ctx, tx, now, auditEntry{action: action, objectType: ObjectPatient, objectID: p.ID, changes: changes})
	})
}

// assignedDoctors names the doctors of patient id, by name, for audit
// events.
func assignedDoctors(db *gorm.DB, id int64) (string, error) {
	var names []string
	err := db.Model(&Doctor{}).Joins("JOIN mappings ON mappings.doctor_id = doctors.id").
		Where("mappings.patient_id = ?", id).Order("doctors.name").Pluck("doctors.name", &names).Error
	return strings.Join(names, ", "), err
}

// adminPatientValues are patientValues plus the owner, which only staff
// may change.
func adminPatientValues(p *Patient) map[string]any {
	v := patientValues(p)
	v[FieldOwner] = p.CreatedByID
	return v
}

// mergeFields adds the field messages of an Invalid err to f.
func mergeFields(f FieldErrors, err error) {
	var e *Error
	if errors.As(err, &e) {
		f.Merge(e.Fields)
	}
}

// mustExist returns NotFound unless a row of model's table has id.
func mustExist(db *gorm.DB, model any, id int64) error {
	var n int64
	if err := db.Model(model).Where("id = ?", id).Count(&n).Error; err != nil {
		return translate(err)
	}
	if n == 0 {
		return notFound()
	}
	return nil
}
