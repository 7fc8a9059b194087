package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Doctor is a doctor of the clinic. Every user can read doctors; only staff
// write them.
type Doctor struct {
	ID             int64  `gorm:"primaryKey;index:idx_doctors_created,priority:2"`
	Name           string `gorm:"size:100;not null"`
	Specialization string `gorm:"size:100;not null;index"`
	Email          string `gorm:"size:254;not null;uniqueIndex"` // as typed; unique as typed too (a plain index: see EmailKey)
	// EmailKey is Email folded (NormalizeEmail), written by the app with
	// every write (BeforeSave; UpdateDoctor calls keyEmail), unique (doctorEmailKeyIndex): the
	// contract asks emails unique in any case and DRF keeps them as typed.
	// A column, not an index on a folded expression: SQLite would fold
	// such an index with whatever LOWER the writing client has (the
	// sqlite3 shell's is ASCII-only: the index then corrupt), and
	// PostgreSQL with the database's LC_CTYPE (C folds ASCII only). NULL
	// for a row written with SQL until the next boot keys it
	// (migrateDoctorEmailKey): SQL imports keep working. gorm's Updates
	// and UpdateColumn with a map skip BeforeSave: a write of the email
	// that way must set the key too.
	EmailKey          *string `gorm:"size:254"`
	Phone             string  `gorm:"size:20;not null"`
	YearsOfExperience int     `gorm:"not null"`
	CreatedByID       *int64
	CreatedBy         *User     `gorm:"constraint:OnDelete:SET NULL"`
	CreatedAt         time.Time `gorm:"not null;index:idx_doctors_created,priority:1"`
	UpdatedAt         time.Time `gorm:"not null"`
}

func (d *Doctor) key() (time.Time, int64) { return d.CreatedAt, d.ID }

// MaxYearsOfExperience bounds years_of_experience.
const MaxYearsOfExperience = 80

// CleanEdit is Clean for d as an edit of stored (nil: a new doctor), as
// Patient.CleanEdit.
func (d *Doctor) CleanEdit(stored *Doctor) error {
	return cleanEdit(d, stored, (*Doctor).Clean, doctorValues)
}

// Clean trims d's strings and validates them. The email is kept as typed
// (the contract lower-cases users' emails, not doctors'; DRF's EmailField
// keeps the case); its key is the folded one.
func (d *Doctor) Clean() error {
	d.Name = strings.TrimSpace(d.Name)
	d.Specialization = strings.TrimSpace(d.Specialization)
	d.Email = strings.TrimSpace(d.Email)
	d.Phone = strings.TrimSpace(d.Phone)
	f := FieldErrors{}
	checkLine(f, "name", d.Name, true, 100)
	checkLine(f, "specialization", d.Specialization, true, 100)
	checkEmail(f, "email", d.Email, true)
	checkPhone(f, "phone", d.Phone)
	switch {
	case d.YearsOfExperience < 0:
		f.Add("years_of_experience", "Ensure this value is greater than or equal to 0.")
	case d.YearsOfExperience > MaxYearsOfExperience:
		f.Add("years_of_experience", "Ensure this value is less than or equal to 80.")
	}
	return f.Err()
}

// DoctorFilter narrows a doctor list.
type DoctorFilter struct {
	Specialization string // exact, case-insensitive; "" for all
}

var doctorList = listSpec{
	search:   doctorSearch.columns,
	folded:   doctorSearch.folded(),
	ordering: map[string]string{"name": "name", "years_of_experience": "years_of_experience", "created_at": "created_at"},
	// One table for every user, no counter: a search's page and count in
	// one scan (at 1,000 doctors, 0.6 ms where the two took 1.6 ms).
	countSearchInPage: true,
}

// BeforeSave keeps EmailKey with Email on every create and save, batches
// (the demo seed) included; UpdateDoctor's UpdateColumns skips hooks, so it
// calls keyEmail itself.
func (d *Doctor) BeforeSave(*gorm.DB) error {
	d.keyEmail()
	return nil
}

func (d *Doctor) keyEmail() {
	key := NormalizeEmail(d.Email)
	d.EmailKey = &key
}

// doctorEmailKeyIndex is the unique index on EmailKey.
const doctorEmailKeyIndex = "idx_doctors_email_key"

// retiredDoctorEmailIndex is the index on the folded email that releases
// of 2026-11-27 made before EmailKey replaced it: on LOWER(email), and on
// SQLite in two of them on unicode_lower(email), a function of the app's
// that later releases no longer register, so that every write to doctors
// failed ("unknown function: unicode_lower") on a file those releases had
// opened. EmailKey's unique index does its work.
const retiredDoctorEmailIndex = "idx_doctors_email_lower"

// dropRetiredDoctorEmailIndex drops retiredDoctorEmailIndex where it is.
// The catalog is read first, so a boot without it takes no lock; SQLite
// drops it without calling the function its expression names.
func dropRetiredDoctorEmailIndex(db *gorm.DB) error {
	if !db.Migrator().HasIndex(&Doctor{}, retiredDoctorEmailIndex) {
		return nil
	}
	stmt := `DROP INDEX IF EXISTS ` + retiredDoctorEmailIndex
	if db.Dialector.Name() == Postgres {
		return execWaitingBriefly(db, "doctors", []string{stmt})
	}
	return db.Exec(stmt).Error
}

// migrateDoctorEmailKey makes EmailKey unique and keys every row whose key
// is missing or stale: a row written with SQL has none, and an UPDATE of
// the email with SQL or by an older release (a rollback, or its replicas
// still serving during a rolling deploy) leaves a stale one, which would
// refuse the address the row no longer has and let its own be taken again
// in another case. Each boot reads the rows whose key is not the email as
// the database lower-cases it, and those with an internationalized domain
// (internationalEmail: its key is the domain's one form, NormalizeEmail),
// and Go's folding decides among them (the
// database's may fold less; a key written with SQL folded the database's
// way is not caught). A row whose email clashes in case with another's
// (possible only through SQL or an older release) stays without a key
// rather than stop the server; the app refuses to save it until one of
// the two changes ("already exists"). Each write is guarded by the row's
// email as read, so a replica already serving that edits the row
// meanwhile is not overwritten. The index on the email as typed stays: it
// keeps exact duplicates out whatever writes, and an older release's
// boot, which makes it, working.
//
// The index is made once; later boots read the catalog only (CREATE INDEX
// IF NOT EXISTS would lock the table against writes). On PostgreSQL it
// waits for its lock a few seconds at a time (execWaitingBriefly), so that
// writes do not queue behind it for as long as an older server's
// transaction holds the table.
func migrateDoctorEmailKey(db *gorm.DB) error {
	if err := dropRetiredDoctorEmailIndex(db); err != nil {
		return err
	}
	if !db.Migrator().HasIndex(&Doctor{}, doctorEmailKeyIndex) {
		stmt := `CREATE UNIQUE INDEX IF NOT EXISTS ` + doctorEmailKeyIndex + ` ON doctors (email_key)`
		var err error
		if db.Dialector.Name() == Postgres {
			err = execWaitingBriefly(db, "doctors", []string{stmt})
		} else {
			err = db.Exec(stmt).Error
		}
		if err != nil {
			return err
		}
	}
	type keyed struct {
		ID       int64
		Email    string
		EmailKey *string
	}
	var rows, stale, unkeyed []keyed
	err := db.Model(&Doctor{}).Select("id", "email", "email_key").
		Where("email_key IS NULL OR email_key <> LOWER(email) OR "+internationalEmail(db, "email")).FindInBatches(&rows, 1000, func(*gorm.DB, int) error {
		for _, d := range rows {
			switch {
			case d.EmailKey == nil:
				unkeyed = append(unkeyed, d)
			case *d.EmailKey != NormalizeEmail(d.Email):
				stale = append(stale, d)
			}
		}
		return nil
	}).Error
	if err != nil {
		return err
	}
	// Stale keys go first: a row whose email another's stale key holds is
	// keyed after.
	for _, d := range stale {
		if err := db.Model(&Doctor{}).Where("id = ? AND email = ? AND email_key = ?", d.ID, d.Email, *d.EmailKey).
			UpdateColumn("email_key", nil).Error; err != nil {
			return err
		}
	}
	for _, d := range append(stale, unkeyed...) {
		// A clash is left without a key by the statement itself (PostgreSQL
		// then logs no unique violation); one with a row the app writes
		// meanwhile fails on the index instead, to the same effect.
		key := NormalizeEmail(d.Email)
		err := db.Model(&Doctor{}).
			Where("id = ? AND email = ? AND email_key IS NULL", d.ID, d.Email).
			Where("NOT EXISTS (SELECT 1 FROM doctors taken WHERE taken.email_key = ?)", key).
			UpdateColumn("email_key", key).Error
		if err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
			return err
		}
	}
	return nil
}

func errDoctorEmailTaken() *Error {
	return invalidField("email", msgDoctorEmailTaken)
}

const msgDoctorEmailTaken = "doctor with this email already exists."

// doctorWriteErr turns a duplicate email into the field error.
func doctorWriteErr(err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errDoctorEmailTaken()
	}
	return translate(err)
}

// CreateDoctor validates d and stores it as added by staff user by.
func (s *Store) CreateDoctor(ctx context.Context, by int64, d *Doctor) error {
	if err := d.Clean(); err != nil {
		return s.WithTakenEmail(ctx, err, ObjectDoctor, 0, d.Email)
	}
	d.ID, d.CreatedByID = 0, &by
	return doctorWriteErr(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(d).Error; err != nil {
			return err
		}
		return record(ctx, tx, d.CreatedAt, auditEntry{action: ActionCreate, objectType: ObjectDoctor, objectID: d.ID})
	}))
}

func doctorValues(d *Doctor) map[string]any {
	return map[string]any{
		"name": d.Name, "specialization": d.Specialization, "email": d.Email,
		"phone": d.Phone, "years_of_experience": d.YearsOfExperience,
	}
}

// Doctor returns doctor id.
func (s *Store) Doctor(ctx context.Context, id int64) (*Doctor, error) {
	var d Doctor
	if err := s.db.WithContext(ctx).Take(&d, id).Error; err != nil {
		return nil, translate(err)
	}
	return &d, nil
}

// Doctors returns a page of doctors.
func (s *Store) Doctors(ctx context.Context, filter DoctorFilter, q ListQuery) (Page[Doctor], error) {
	base := s.db.WithContext(ctx).Model(&Doctor{})
	if sp := strings.TrimSpace(filter.Specialization); sp != "" {
		base = whereLowerEq(base, "specialization", sp)
	}
	return list[Doctor](base, doctorList, q)
}

// UpdateDoctor applies edit to doctor id as it stands in the database,
// validates the result and saves every editable field, holding the row as
// UpdatePatient does (and with the same rules for edit).
func (s *Store) UpdateDoctor(ctx context.Context, id int64, edit func(*Doctor) error) (*Doctor, error) {
	var d Doctor
	err := doctorWriteErr(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var old Doctor
		if err := locked(tx, lockToEdit).Take(&old, id).Error; err != nil {
			return err
		}
		d = old
		err := edit(&d)
		if err == nil {
			err = d.CleanEdit(&old)
		}
		if err != nil {
			return withTakenEmail(tx, err, ObjectDoctor, id, d.Email)
		}
		d.ID, d.CreatedByID, d.CreatedAt, d.UpdatedAt = old.ID, old.CreatedByID, old.CreatedAt, s.db.NowFunc()
		d.keyEmail() // UpdateColumns skips BeforeSave
		res := tx.Model(&Doctor{}).Where("id = ?", id).
			Select("name", "specialization", "email", "email_key", "phone", "years_of_experience", "updated_at").
			UpdateColumns(&d) // not Updates: see UpdatePatient
		if err := foundOne(res); err != nil {
			return err
		}
		return record(ctx, tx, d.UpdatedAt, auditEntry{action: ActionUpdate, objectType: ObjectDoctor, objectID: id,
			changes: diff(doctorValues(&old), doctorValues(&d))})
	}))
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// DeleteDoctor deletes doctor id and its mappings.
func (s *Store) DeleteDoctor(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		// The doctor first (lockForDelete).
		if err := lockForDelete(tx, ObjectDoctor, []int64{id}); err != nil {
			return err
		}
		now := s.db.NowFunc()
		if err := deleteMappingsRecorded(ctx, tx, now, ObjectDoctor, "doctor_id = ?", id); err != nil {
			return err
		}
		res := tx.Delete(&Doctor{}, id)
		if err := foundOne(res); err != nil {
			return err
		}
		return record(ctx, tx, now, auditEntry{action: ActionDelete, objectType: ObjectDoctor, objectID: id})
	})
}
