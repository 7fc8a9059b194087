package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// User is an account: an API client's owner of patients, or staff.
type User struct {
	ID           int64  `gorm:"primaryKey"`
	Email        string `gorm:"size:254;not null;uniqueIndex"`
	Name         string `gorm:"size:150;not null"`
	PasswordHash string `gorm:"size:255;not null"`
	// No `default:` tags on booleans: GORM would skip a false value as
	// "zero" and store the default instead.
	IsActive    bool      `gorm:"not null"`
	IsStaff     bool      `gorm:"not null"`
	IsSuperuser bool      `gorm:"not null"`
	DateJoined  time.Time `gorm:"not null"`
	LastLogin   *time.Time
	UpdatedAt   time.Time
}

// NewUser is what creating an account takes.
type NewUser struct {
	Name, Email, Password          string
	IsActive, IsStaff, IsSuperuser bool
}

// MsgBadCredentials is the one answer to every failed login, so it never
// reveals whether an email is registered or an account inactive.
const MsgBadCredentials = "No active account found with the given credentials"

// msgUserEmailTaken is DRF's message for a taken unique email.
const msgUserEmailTaken = "user with this email already exists."

// Clean trims and lower-cases in's name and email and validates it,
// password rules included. The password is never trimmed.
func (in *NewUser) Clean() error {
	in.Name = strings.TrimSpace(in.Name)
	in.Email = NormalizeEmail(in.Email)
	f := FieldErrors{}
	checkLine(f, "name", in.Name, true, 150)
	checkEmail(f, "email", in.Email, true)
	// The password is compared with the attributes that passed their own
	// checks only, as DRF validates the object once its fields are valid:
	// an anonymous 1 MB name refused as too long would otherwise be
	// lower-cased, split and compared all the same (seconds of CPU).
	var attrs []PasswordAttr
	if f["email"] == nil {
		attrs = append(attrs, PasswordAttr{Name: "email address", Value: in.Email})
	}
	if f["name"] == nil {
		attrs = append(attrs, PasswordAttr{Name: "name", Value: in.Name})
	}
	if in.Password == "" {
		f.Add("password", msgBlank)
	} else if msgs := ValidatePassword(in.Password, attrs...); len(msgs) > 0 {
		f["password"] = msgs
	}
	return f.Err()
}

// CreateUser validates in, hashes the password and stores the account. A
// taken email (in any case) is an Invalid error under "email".
func (s *Store) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	return s.createUser(ctx, in, nil)
}

// createUser is CreateUser, with hold (when not nil) run first in the
// write's transaction: the admin's check of its actor.
func (s *Store) createUser(ctx context.Context, in NewUser, hold func(tx *gorm.DB) error) (*User, error) {
	if err := in.Clean(); err != nil {
		return nil, s.WithTakenEmail(ctx, err, ObjectUser, 0, in.Email)
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, translate(err)
	}
	u := &User{
		Email: in.Email, Name: in.Name, PasswordHash: hash,
		IsActive: in.IsActive, IsStaff: in.IsStaff, IsSuperuser: in.IsSuperuser,
		DateJoined: s.db.NowFunc(),
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if hold != nil {
			if err := hold(tx); err != nil {
				return err
			}
		}
		if err := tx.Create(u).Error; err != nil {
			return err
		}
		return record(ctx, tx, u.DateJoined, auditEntry{action: ActionCreate, objectType: ObjectUser, objectID: u.ID,
			changes: map[string]Change{"email": {New: u.Email}, "is_staff": {New: u.IsStaff}, "is_superuser": {New: u.IsSuperuser}}})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, invalidField("email", msgUserEmailTaken)
	}
	if err != nil {
		return nil, translate(err)
	}
	return u, nil
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Take(&u, id).Error; err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

// UserByEmail returns the user with email, in any case.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	if !storable(email) {
		return nil, notFound()
	}
	var u User
	q := s.db.WithContext(ctx)
	if canonical, typed := NormalizeEmail(email), legacyEmail(email); typed == canonical {
		q = q.Where("email = ?", canonical)
	} else {
		// An account whose stored spelling (a decomposed or ASCII-form
		// domain) could not take its one form, since another account had
		// it (migrateUserEmails), signs in as it is typed: the spelling
		// typed is looked for first, the one form after.
		q = q.Where("email IN ?", []string{typed, canonical}).
			Order(clause.OrderBy{Expression: clause.Expr{SQL: "CASE WHEN email = ? THEN 0 ELSE 1 END", Vars: []any{typed}}})
	}
	err := q.Take(&u).Error
	if err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

// Authenticate returns the active user with email and password. Every
// failure is the same Unauthorized error and costs one password hash, so
// neither the answer nor its timing tells which part was wrong.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*User, error) {
	bad := &Error{Code: Unauthorized, Message: MsgBadCredentials}
	failed := func(userID *int64) error {
		if err := s.audit(ctx, auditEntry{action: ActionLoginFailed, objectType: ObjectUser, outcome: OutcomeFailure,
			userID: userID, email: typedEmail(email)}); err != nil {
			return err
		}
		return bad
	}
	u, err := s.UserByEmail(ctx, email)
	if ErrorCode(err) == NotFound {
		// As for an account (below): a guess whose hash ran counts toward
		// the per-email lock even if its client has gone since. Were only
		// an account's counted, guesses that hang up mid-hash would tell
		// from the lock which emails have accounts.
		if err := s.hasher.VerifyDummy(ctx, password); err != nil && ctx.Err() != nil {
			return nil, translate(ctx.Err())
		}
		return nil, failed(nil)
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil && ctx.Err() != nil {
		return nil, translate(ctx.Err())
	}
	if !ok || !u.IsActive {
		return nil, failed(&u.ID)
	}
	now := s.db.NowFunc()
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(u).UpdateColumn("last_login", now).Error; err != nil {
			return err
		}
		return record(ctx, tx, now, auditEntry{action: ActionLogin, objectType: ObjectUser, objectID: u.ID,
			userID: &u.ID, email: u.Email})
	})
	if err != nil {
		return nil, err
	}
	u.LastLogin = &now
	return u, nil
}

// typedEmail is what a failed login records of the email typed: the
// address, or a mark when it is none. A password typed into the email
// field by mistake must not be kept in the audit trail for every
// superuser (and every export) to read.
func typedEmail(typed string) string {
	e := NormalizeEmail(typed)
	if e == "" || ValidEmail(e) {
		return e
	}
	return "(not an email address)"
}

// internationalEmail is an SQL condition: column holds an address whose
// canonical form (NormalizeEmail) may differ from its lower-cased one, as
// an internationalized domain's (non-ASCII, or in xn-- form) may.
func internationalEmail(db *gorm.DB, column string) string {
	nonASCII := "octet_length(" + column + ") <> char_length(" + column + ")"
	if db.Dialector.Name() != Postgres {
		nonASCII = "length(CAST(" + column + " AS BLOB)) <> length(" + column + ")"
	}
	return "(" + nonASCII + " OR LOWER(" + column + ") LIKE '%xn--%')" // doctors' keep their case
}

// migrateUserEmails puts every account's email in NormalizeEmail's form:
// an internationalized domain stored before that form was fixed
// (decomposed, or in xn-- form) would otherwise let its other spellings
// register as other accounts, and a registration of the canonical
// spelling would shadow the stored one at login. Each boot scans users
// for the emails that are not ASCII or hold "xn--" (139 ms warm at
// 1,000,000 users), and writes only those not in that form. An address
// whose canonical form another account already has is left as it is: it
// signs in as typed (UserByEmail looks for the spelling typed first), and
// an edit that leaves it keeps it (UserChanges.CleanEdit). Each write is
// guarded by the email as read.
func migrateUserEmails(db *gorm.DB) error {
	var rows []struct {
		ID    int64
		Email string
	}
	if err := db.Model(&User{}).Select("id", "email").Where(internationalEmail(db, "email")).Find(&rows).Error; err != nil {
		return err
	}
	for _, u := range rows {
		canonical := NormalizeEmail(u.Email)
		if canonical == u.Email {
			continue
		}
		err := db.Model(&User{}).Where("id = ? AND email = ?", u.ID, u.Email).
			Where("NOT EXISTS (SELECT 1 FROM users taken WHERE taken.email = ?)", canonical).
			UpdateColumn("email", canonical).Error
		if err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
			return err
		}
	}
	return nil
}
