package models

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"
)

// AdminUserFilter narrows the admin's user list; nil matches both values.
type AdminUserFilter struct {
	IsStaff, IsSuperuser, IsActive *bool
}

var adminUserList = adminSpec{
	table:  "users",
	search: []string{"users.email", "users.name"},
	ordering: map[string]string{
		"id": "users.id", "email": "users.email", "name": "users.name",
		"date_joined": "users.date_joined", "last_login": "users.last_login",
	},
	nullable: map[string]bool{"users.last_login": true},
	created:  "users.date_joined",
}

func (s *Store) adminUsers(ctx context.Context, f AdminUserFilter) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&User{})
	for col, v := range map[string]*bool{"is_staff": f.IsStaff, "is_superuser": f.IsSuperuser, "is_active": f.IsActive} {
		if v != nil {
			q = q.Where("users."+col+" = ?", *v)
		}
	}
	return q
}

// AdminUsers returns a page of the users matching f and q.
func (s *Store) AdminUsers(ctx context.Context, f AdminUserFilter, q AdminQuery) (AdminPage[User], error) {
	return adminList[User](s.adminUsers(ctx, f), adminUserList, q)
}

// EachAdminUser calls fn for every user matching f and q (an export).
func (s *Store) EachAdminUser(ctx context.Context, f AdminUserFilter, q AdminQuery, fn func(*User) error) error {
	return s.exportAudited(ctx, ObjectUser, q.Search, func() error {
		return adminEach(s.adminUsers(ctx, f), adminUserList, q, fn)
	})
}

// holdUserAdministration serializes the transactions that change or delete
// users, and returns the acting user as stored now, if still active staff
// (and, when superuser is asked, still a superuser).
// The session read the actor before the request: two superusers demoting
// (or deleting) each other at once both passed that check, and the panel
// was left with none. Now the second waits for the first and finds its
// actor demoted. A transaction lock taken first, before any row lock, so
// it adds no deadlock; SQLite's writers are serialized already.
func holdUserAdministration(tx *gorm.DB, actorID int64, superuser bool) (*User, error) {
	if tx.Dialector.Name() == Postgres {
		if err := advisoryXactLock(tx, "user-administration", 0, true); err != nil {
			return nil, err
		}
	}
	var actor User
	err := tx.Take(&actor, actorID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && (!actor.IsActive || !actor.IsStaff || superuser && !actor.IsSuperuser)) {
		return nil, errNoPermission()
	}
	return &actor, err
}

// errNoPermission answers an actor who may not do what they asked (DRF's
// words for it).
func errNoPermission() *Error {
	return &Error{Code: Forbidden, Message: "You do not have permission to perform this action."}
}

// errNotSuperuser answers a staff user who tries to grant staff or
// superuser status.
func errNotSuperuser() *Error {
	return &Error{Code: Forbidden, Message: "Only superusers may grant staff or superuser status."}
}

// AdminCreateUser is CreateUser for the admin panel: only a superuser (by)
// may create staff or superusers.
func (s *Store) AdminCreateUser(ctx context.Context, by *User, in NewUser) (*User, error) {
	if (in.IsStaff || in.IsSuperuser) && !by.IsSuperuser { // before hashing a password for nothing
		return nil, errNotSuperuser()
	}
	// by is read again in the write's transaction, as AdminUpdateUser reads
	// its actor: one demoted meanwhile creates nobody.
	return s.createUser(ctx, in, func(tx *gorm.DB) error {
		actor, err := holdUserAdministration(tx, by.ID, false)
		if err == nil && (in.IsStaff || in.IsSuperuser) && !actor.IsSuperuser {
			err = errNotSuperuser()
		}
		return err
	})
}

// UserChanges are the fields of a user the admin panel edits (the password
// has a form of its own).
type UserChanges struct {
	Name, Email                    string
	IsActive, IsStaff, IsSuperuser bool
}

// CleanEdit is Clean for ch as an edit of user stored, as
// Patient.CleanEdit.
func (ch *UserChanges) CleanEdit(stored *User) error {
	if NormalizeEmail(ch.Email) == NormalizeEmail(stored.Email) {
		// The address left as it is keeps its stored spelling: one that
		// could not take its one form (migrateUserEmails) would clash.
		defer func() { ch.Email = stored.Email }()
	}
	return cleanEdit(ch, &UserChanges{Name: stored.Name, Email: stored.Email}, (*UserChanges).Clean,
		func(c *UserChanges) map[string]any { return map[string]any{"name": c.Name, "email": c.Email} })
}

// Clean trims and validates ch with the rules of registration.
func (ch *UserChanges) Clean() error {
	ch.Name = strings.TrimSpace(ch.Name)
	ch.Email = NormalizeEmail(ch.Email)
	f := FieldErrors{}
	checkLine(f, "name", ch.Name, true, 150)
	checkEmail(f, "email", ch.Email, true)
	return f.Err()
}

func userValues(u *User) map[string]any {
	return map[string]any{"name": u.Name, "email": u.Email, "is_active": u.IsActive,
		"is_staff": u.IsStaff, "is_superuser": u.IsSuperuser}
}

// AdminUpdateUser applies ch to user id as staff user by. Only a superuser
// may grant staff or superuser status, and nobody may lock themselves out.
// Demoting or deactivating a user ends their admin sessions; deactivating
// also revokes their API tokens.
func (s *Store) AdminUpdateUser(ctx context.Context, by *User, id int64, ch UserChanges) (*User, error) {
	var u User
	err := s.authTx(ctx, func(tx *gorm.DB, changed authChanged) error {
		actor, err := holdUserAdministration(tx, by.ID, false)
		if err != nil {
			return err
		}
		by = actor
		changed(id)
		if !ch.IsActive {
			// A deactivation revokes the user's token families: no login
			// between its check of is_active and its family's insert
			// (StartTokenFamily), or that family would outlive the
			// deactivation and work again on reactivation.
			if err := lockCredentials(tx, id, true); err != nil {
				return err
			}
		}
		// Locked, and the update must find it: a user deleted meanwhile is
		// 404, not a success with an update recorded after the deletion.
		if err := locked(tx, lockToEdit).Take(&u, id).Error; err != nil {
			return err
		}
		if err := ch.CleanEdit(&u); err != nil {
			return err
		}
		if !by.IsSuperuser && ((ch.IsStaff && !u.IsStaff) || (ch.IsSuperuser && !u.IsSuperuser) || u.IsSuperuser) {
			return errNotSuperuser()
		}
		if by.ID == id {
			f := FieldErrors{}
			if !ch.IsActive {
				f.Add("is_active", "You cannot deactivate your own account.")
			}
			if !ch.IsStaff {
				f.Add("is_staff", "You cannot remove your own staff status.")
			}
			if u.IsSuperuser && !ch.IsSuperuser {
				f.Add("is_superuser", "You cannot remove your own superuser status.")
			}
			if err := f.Err(); err != nil {
				return err
			}
		}
		old := u
		u.Name, u.Email, u.IsActive, u.IsStaff, u.IsSuperuser = ch.Name, ch.Email, ch.IsActive, ch.IsStaff, ch.IsSuperuser
		u.UpdatedAt = s.db.NowFunc()
		if err := foundOne(tx.Model(&User{}).Where("id = ?", id).
			Select("name", "email", "is_active", "is_staff", "is_superuser", "updated_at").Updates(&u)); err != nil {
			return err
		}
		if !u.IsActive || !u.IsStaff {
			if err := deleteUserSessions(tx, id, ""); err != nil {
				return err
			}
		}
		if !u.IsActive && old.IsActive {
			if err := tx.Model(&TokenFamily{}).Where("user_id = ? AND revoked_at IS NULL", id).
				Update("revoked_at", u.UpdatedAt).Error; err != nil {
				return err
			}
		}
		changes := diff(userValues(&old), userValues(&u))
		if len(changes) == 0 {
			return nil
		}
		return record(ctx, tx, u.UpdatedAt, auditEntry{action: ActionUpdate, objectType: ObjectUser, objectID: id, changes: changes})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, invalidField("email", msgUserEmailTaken)
	}
	if err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

// SetUserPassword validates and sets user id's password. It ends the user's
// other admin sessions (all but keepToken's, "" for all) and revokes their
// API tokens: whoever knew the old password is out.
func (s *Store) SetUserPassword(ctx context.Context, id int64, password, keepToken string) error {
	return s.AdminSetUserPassword(ctx, nil, id, password, keepToken)
}

// AdminSetUserPassword is SetUserPassword done by superuser by in the admin
// panel (nil: the operator, from the command line), who is read again in
// the write's transaction as AdminUpdateUser reads its actor: a superuser
// demoted meanwhile could otherwise take over another's account.
func (s *Store) AdminSetUserPassword(ctx context.Context, by *User, id int64, password, keepToken string) error {
	u, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	if err := passwordRuleErrors(u, "password", password).Err(); err != nil {
		return err
	}
	var hold func(tx *gorm.DB) error
	if by != nil && by.ID != id { // setting one's own is not administration
		hold = func(tx *gorm.DB) error {
			_, err := holdUserAdministration(tx, by.ID, true)
			return err
		}
	}
	return s.setPassword(ctx, u, password, keepToken, hold)
}

// MsgOldPasswordWrong is Django's PasswordChangeForm message for a wrong
// old password.
const MsgOldPasswordWrong = "Your old password was entered incorrectly. Please enter it again."

// ChangeOwnPassword is SetUserPassword for users changing their own
// password (Django admin's password_change): the old one must be given
// (Invalid under "old_password" if wrong); the new one's rule failures are
// reported under newField. found are the form's own errors (a confirmation
// that does not match): the old password is checked all the same and every
// failure is reported at once, as Django's PasswordChangeForm does, rather
// than one per round trip; the new password's rules are then not judged
// (Django stops at the mismatch too).
func (s *Store) ChangeOwnPassword(ctx context.Context, id int64, oldPassword, newField, password, keepToken string, found FieldErrors) error {
	u, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, oldPassword)
	if err != nil {
		return translate(err)
	}
	f := FieldErrors{}
	if !ok {
		// A wrong guess is in the trail, as a failed login is.
		if err := s.audit(ctx, auditEntry{action: ActionUpdate, objectType: ObjectUser, objectID: id, outcome: OutcomeFailure,
			changes: map[string]Change{"password": {New: "(refused: wrong old password)"}}}); err != nil {
			return err
		}
		f.Add("old_password", MsgOldPasswordWrong)
	}
	f.Merge(found)
	if len(found) == 0 {
		f.Merge(passwordRuleErrors(u, newField, password))
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.setPassword(ctx, u, password, keepToken, nil)
}

// passwordRuleErrors are password's failures for u, under field.
func passwordRuleErrors(u *User, field, password string) FieldErrors {
	if password == "" {
		return FieldErrors{field: {msgBlank}}
	}
	if msgs := ValidatePassword(password,
		PasswordAttr{Name: "email address", Value: u.Email},
		PasswordAttr{Name: "name", Value: u.Name}); len(msgs) > 0 {
		return FieldErrors{field: msgs}
	}
	return nil
}

// setPassword stores password (its rules checked by the caller) for u and
// ends u's other sessions and every API token.
func (s *Store) setPassword(ctx context.Context, u *User, password, keepToken string, hold func(tx *gorm.DB) error) error {
	id := u.ID
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return translate(err)
	}
	return translate(s.authTx(ctx, func(tx *gorm.DB, changed authChanged) error {
		if hold != nil { // before any other lock
			if err := hold(tx); err != nil {
				return err
			}
		}
		changed(id)
		// No login between its check of the old password and its token
		// family's insert (StartTokenFamily).
		if err := lockCredentials(tx, id, true); err != nil {
			return err
		}
		now := s.db.NowFunc()
		res := tx.Model(&User{}).Where("id = ?", id).Updates(map[string]any{"password_hash": hash, "updated_at": now})
		if err := foundOne(res); err != nil {
			return err
		}
		if err := deleteUserSessions(tx, id, keepToken); err != nil {
			return err
		}
		if err := tx.Model(&TokenFamily{}).Where("user_id = ? AND revoked_at IS NULL", id).
			Update("revoked_at", now).Error; err != nil {
			return err
		}
		// The hash is never recorded, not even the old one.
		return record(ctx, tx, now, auditEntry{action: ActionUpdate, objectType: ObjectUser, objectID: id,
			changes: map[string]Change{"password": {Old: "(hidden)", New: "(changed)"}}})
	}))
}
