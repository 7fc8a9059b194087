package models

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// deletionListMax bounds how many cascaded rows a confirmation page lists;
// the counts are always exact.
const deletionListMax = 500

// Deletion is what deleting some objects removes: the objects themselves
// and everything that goes with them (a patient's or doctor's mappings; a
// user's patients and their mappings).
type Deletion struct {
	ObjectType string
	Users      []User
	Patients   []Patient
	Doctors    []Doctor
	Mappings   []Mapping // patient and doctor loaded
	// Exact totals (the slices may be cut at deletionListMax).
	NumPatients, NumMappings int64
}

// Empty reports whether nothing would be deleted.
func (d *Deletion) Empty() bool {
	return len(d.Users) == 0 && len(d.Patients) == 0 && len(d.Doctors) == 0 && len(d.Mappings) == 0
}

// deletionScope returns, for objectType and ids, the queries selecting the
// ids of the patients and of the mappings that go with them.
func deletionScope(db *gorm.DB, objectType string, ids []int64) (patients, mappings *gorm.DB, err error) {
	switch objectType {
	case ObjectUser:
		patients = db.Model(&Patient{}).Select("id").Where("created_by_id IN ?", ids)
		mappings = db.Model(&Mapping{}).Select("id").Where("patient_id IN (?)", patients)
	case ObjectPatient:
		patients = db.Model(&Patient{}).Select("id").Where("id IN ?", ids)
		mappings = db.Model(&Mapping{}).Select("id").Where("patient_id IN ?", ids)
	case ObjectDoctor:
		mappings = db.Model(&Mapping{}).Select("id").Where("doctor_id IN ?", ids)
	case ObjectMapping:
		mappings = db.Model(&Mapping{}).Select("id").Where("id IN ?", ids)
	default:
		return nil, nil, fmt.Errorf("store: delete: unknown object type %q", objectType)
	}
	return patients, mappings, nil
}

// AdminDeletion returns what deleting the objectType objects ids would
// remove, for a confirmation page. It lists patients, so it is audited.
func (s *Store) AdminDeletion(ctx context.Context, objectType string, ids []int64) (*Deletion, error) {
	ids = AdminIDs(ids)
	d := &Deletion{ObjectType: objectType}
	db := s.db.WithContext(ctx)
	patients, mappings, err := deletionScope(db, objectType, ids)
	if err != nil {
		return nil, err
	}
	switch objectType {
	case ObjectUser:
		err = db.Where("id IN ?", ids).Order("id").Find(&d.Users).Error
	case ObjectDoctor:
		err = db.Where("id IN ?", ids).Order("id").Find(&d.Doctors).Error
	}
	if err != nil {
		return nil, translate(err)
	}
	if patients != nil {
		if err := db.Model(&Patient{}).Where("id IN (?)", patients).Count(&d.NumPatients).Error; err != nil {
			return nil, translate(err)
		}
		if err := db.Where("id IN (?)", patients).Order("id").Limit(deletionListMax).Find(&d.Patients).Error; err != nil {
			return nil, translate(err)
		}
	}
	if err := db.Model(&Mapping{}).Where("id IN (?)", mappings).Count(&d.NumMappings).Error; err != nil {
		return nil, translate(err)
	}
	if err := db.Preload("Patient").Preload("Doctor").Where("id IN (?)", mappings).Order("id").
		Limit(deletionListMax).Find(&d.Mappings).Error; err != nil {
		return nil, translate(err)
	}
	if d.NumPatients > 0 || d.NumMappings > 0 {
		if err := s.audit(ctx, auditEntry{action: ActionList, objectType: ObjectPatient}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// AdminDelete deletes the objectType objects ids, as staff user by, with
// everything that goes with them, in one transaction that records an audit
// event for every row removed. It returns how many of ids were deleted.
func (s *Store) AdminDelete(ctx context.Context, by int64, objectType string, ids []int64) (int64, error) {
	ids = AdminIDs(ids)
	if objectType == ObjectUser {
		for _, id := range ids {
			if id == by {
				return 0, invalidField(NonFieldErrors, "You cannot delete your own account.")
			}
		}
	}
	if len(ids) == 0 {
		return 0, notFound()
	}
	var n int64
	err := retryDeadlock(ctx, func() (err error) {
		n, err = s.adminDelete(ctx, by, objectType, ids)
		return err
	})
	return n, translate(err)
}

// adminDelete is AdminDelete's transaction; it returns the number of ids
// deleted.
func (s *Store) adminDelete(ctx context.Context, by int64, objectType string, ids []int64) (int64, error) {
	var n int64
	err := s.authTx(ctx, func(tx *gorm.DB, changed authChanged) error {
		now := s.db.NowFunc()
		if objectType == ObjectUser {
			if _, err := holdUserAdministration(tx, by, true); err != nil {
				return err
			}
			// A login holds its user's credentials lock from its check of
			// the user to its token family's insert: taken here, it either
			// commits first (its family is deleted below) or finds the user
			// gone, a 401, where its insert failed on the foreign key, a 500.
			// In id order, as every transaction that takes several.
			for _, id := range slices.Sorted(slices.Values(ids)) {
				if err := lockCredentials(tx, id, true); err != nil {
					return err
				}
			}
		}
		if err := lockForDelete(tx, objectType, ids); err != nil {
			return err
		}
		patients, mappings, err := deletionScope(tx, objectType, ids)
		if err != nil {
			return err
		}
		// Children first, so this works with or without ON DELETE CASCADE;
		// each records the rows it removed (deleteReturningIDs).
		mappingIDs, err := deleteReturningIDs[Mapping](tx, "id IN (?)", mappings)
		if err != nil {
			return err
		}
		var patientIDs []int64
		if patients != nil {
			if patientIDs, err = deleteReturningIDs[Patient](tx, "id IN (?)", patients); err != nil {
				return err
			}
		}
		var primary []int64 // the objects of ids that this deletion removed
		switch objectType {
		case ObjectUser:
			if err := tx.Where("user_id IN ?", ids).Delete(&Session{}).Error; err != nil {
				return err
			}
			if err := tx.Where("user_id IN ?", ids).Delete(&IssuedToken{}).Error; err != nil {
				return err
			}
			if err := tx.Where("user_id IN ?", ids).Delete(&TokenFamily{}).Error; err != nil {
				return err
			}
			for _, m := range []any{&Doctor{}, &Mapping{}} {
				if err := tx.Model(m).Where("created_by_id IN ?", ids).Update("created_by_id", nil).Error; err != nil {
					return err
				}
			}
			changed(ids...)
			primary, err = deleteReturningIDs[User](tx, "id IN ?", ids)
		case ObjectDoctor:
			primary, err = deleteReturningIDs[Doctor](tx, "id IN ?", ids)
		case ObjectPatient:
			primary, patientIDs = patientIDs, nil
		case ObjectMapping:
			primary, mappingIDs = mappingIDs, nil
		}
		if err != nil {
			return err
		}
		if n = int64(len(primary)); n == 0 {
			return notFound()
		}
		if err := recordDeleted(ctx, tx, now, ObjectMapping, mappingIDs, objectType); err != nil {
			return err
		}
		if err := recordDeleted(ctx, tx, now, ObjectPatient, patientIDs, objectType); err != nil {
			return err
		}
		return recordDeleted(ctx, tx, now, objectType, primary, "")
	})
	return n, err
}

// lockForDelete locks, on PostgreSQL, the rows of objectType among ids and
// the rows that hang mappings off them, before a deletion touches anything
// else. Two reasons. New mappings of those rows wait until the deletion
// ends (and then fail on the foreign key), so none is added between the
// deletion collecting the mappings it records as deleted and the cascade
// removing them unrecorded. And the deletion waits for a mapping insert
// already under way before it takes any lock of its own: that insert holds
// its patient's and doctor's rows and then wants a mapping_counts row,
// which a deletion that removed mappings first could hold while it waited
// for the parent row: a deadlock, answered 500. The order is every
// writer's: a patient before its owner (a patient's writes reach the
// user's row through foreign keys, after the patient's), rows of a table
// in id order. SQLite's write transactions hold the database's one write
// lock from their start.
func lockForDelete(tx *gorm.DB, objectType string, ids []int64) error {
	if tx.Dialector.Name() != Postgres {
		return nil
	}
	type rows struct {
		model    any
		column   string
		strength string
	}
	var lock []rows
	switch objectType {
	case ObjectUser:
		// Their patients first, whose mappings go with them; then the
		// doctors they created, which the deletion updates (created_by
		// cleared) after removing those mappings: a doctor's deletion
		// holding the doctor and waiting for those mappings would
		// otherwise wait for this one, waiting for the doctor.
		lock = []rows{{&Patient{}, "created_by_id", lockToDelete}, {&Doctor{}, "created_by_id", lockToEdit},
			{&User{}, "id", lockToDelete}}
	case ObjectDoctor:
		lock = []rows{{&Doctor{}, "id", lockToDelete}}
	case ObjectPatient:
		lock = []rows{{&Patient{}, "id", lockToDelete}}
	}
	for _, r := range lock {
		var held []int64
		if err := locked(tx, r.strength).Model(r.model).Where(r.column+" IN ?", ids).Order("id").Pluck("id", &held).Error; err != nil {
			return err
		}
	}
	return nil
}
