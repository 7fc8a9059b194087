package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Token types, as the JWT claim token_type names them.
const (
	AccessToken  = "access"
	RefreshToken = "refresh"
)

// TokenFamily groups every token descended from one login. Revoking the
// family revokes them all: on logout, on logout-all and when a rotated
// refresh token is presented again (reuse means theft).
type TokenFamily struct {
	ID        int64 `gorm:"primaryKey"`
	UserID    int64 `gorm:"not null;index"`
	User      *User `gorm:"constraint:OnDelete:CASCADE"`
	CreatedAt time.Time
	RevokedAt *time.Time
}

// IssuedToken records one issued JWT by its jti. Only recorded, unrevoked
// tokens authenticate, so revocation is shared by every server process and
// survives restarts.
type IssuedToken struct {
	JTI       string       `gorm:"primaryKey;size:64"`
	FamilyID  int64        `gorm:"not null;index"`
	Family    *TokenFamily `gorm:"constraint:OnDelete:CASCADE"`
	UserID    int64        `gorm:"not null;index"`
	Type      string       `gorm:"size:16;not null"`
	ExpiresAt time.Time    `gorm:"not null;index"`
	UsedAt    *time.Time   // set when a refresh token is rotated
	RevokedAt *time.Time
	CreatedAt time.Time
}

// errTokenInvalid is the one answer to a token that is not (or no longer)
// valid.
func errTokenInvalid() *Error {
	return &Error{Code: Unauthorized, Message: "Token is invalid or expired", TokenInvalid: true}
}

// StartTokenFamily records a login's first access and refresh tokens in a
// new family and returns the family's id, if u is still active with the
// password the login checked (u.PasswordHash, as Authenticate read it):
// a login that checked the old password while it was being changed gets
// bad credentials, not tokens that the change, which revokes the families
// there are, would miss. The user's credentials lock is held, shared,
// until the family is in, so a change waits for it and then revokes it too.
func (s *Store) StartTokenFamily(ctx context.Context, u *User, tokens ...IssuedToken) (int64, error) {
	userID := u.ID
	fam := TokenFamily{UserID: userID}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockCredentials(tx, userID, false); err != nil {
			return err
		}
		var still []int64
		if err := tx.Model(&User{}).
			Where("id = ? AND password_hash = ? AND is_active = ?", userID, u.PasswordHash, true).
			Limit(1).Pluck("id", &still).Error; err != nil {
			return err
		}
		if len(still) == 0 {
			return &Error{Code: Unauthorized, Message: MsgBadCredentials}
		}
		if err := tx.Create(&fam).Error; err != nil {
			return err
		}
		return insertTokens(tx, fam.ID, userID, tokens)
	})
	return fam.ID, err
}

// lockCredentials takes userID's credentials lock until tx ends, on
// PostgreSQL: shared by the logins that start token families, exclusive
// for a password change, which so never runs between a login's check of
// the password and its family's insert. An advisory lock rather than the
// user's row FOR SHARE: concurrent logins of one user would each rewrite
// the row's lock marker (a MultiXact), measurably slowing a login flood.
// SQLite's write transactions are serial already (BEGIN IMMEDIATE).
func lockCredentials(tx *gorm.DB, userID int64, exclusive bool) error {
	if tx.Dialector.Name() != Postgres {
		return nil
	}
	return advisoryXactLock(tx, "credentials", userID, exclusive)
}

// advisoryXactLock takes PostgreSQL's transaction-level advisory lock name
// (per schema) on key until tx ends. Two int4 keys: the name hashed, and
// key folded into an int4 (two keys sharing one only wait for each other).
func advisoryXactLock(tx *gorm.DB, name string, key int64, exclusive bool) error {
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	return tx.Exec(`SELECT `+fn+`(hashtext('healthcare.' || ? || ':' || current_schema()), (?::bigint % 2147483647)::int)`, name, key).Error
}

func insertTokens(tx *gorm.DB, familyID, userID int64, tokens []IssuedToken) error {
	for i := range tokens {
		tokens[i].FamilyID, tokens[i].UserID = familyID, userID
	}
	return tx.Create(&tokens).Error
}

// RotateRefresh spends the refresh token jti of user userID and records its
// successors in the same family. Of concurrent calls with one jti exactly
// one succeeds: the conditional UPDATE decides. A token that was already
// spent revokes its whole family, and every failure is token_not_valid.
func (s *Store) RotateRefresh(ctx context.Context, jti string, userID int64, next ...IssuedToken) error {
	now := s.db.NowFunc()
	var reused bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		live := tx.Model(&IssuedToken{}).
			Where("jti = ? AND user_id = ? AND type = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
				jti, userID, RefreshToken, now).
			Where("family_id IN (?)", tx.Model(&TokenFamily{}).Select("id").Where("revoked_at IS NULL")).
			Update("used_at", now)
		if live.Error != nil {
			return live.Error
		}
		if live.RowsAffected == 0 {
			var err error
			if reused, err = spent(tx, jti); err != nil {
				return err
			}
			return errTokenInvalid()
		}
		var tok IssuedToken
		if err := tx.Select("family_id").Take(&tok, "jti = ?", jti).Error; err != nil {
			return err
		}
		email, err := s.requireActive(tx, userID)
		if err != nil {
			return err
		}
		if err := insertTokens(tx, tok.FamilyID, userID, next); err != nil {
			return err
		}
		return record(ctx, tx, now, auditEntry{action: ActionTokenRefresh, objectType: ObjectToken, userID: &userID, email: email})
	})
	if reused {
		if rerr := s.revokeReused(ctx, jti, userID, ActionTokenRefresh); rerr != nil {
			return rerr
		}
	}
	return err
}

// spent reports whether refresh token jti was already rotated: presented
// again, it has been stolen (or its successor has).
func spent(tx *gorm.DB, jti string) (bool, error) {
	var n int64
	err := tx.Model(&IssuedToken{}).Where("jti = ? AND used_at IS NOT NULL", jti).Count(&n).Error
	return n > 0, err
}

// revokeReused revokes the family of the rotated refresh token jti of
// userID, presented again for action, and records the reuse. It runs
// outside the failed request's transaction, so the revocation sticks, and
// whether or not the presenter waits for its 401 (see Finishing).
func (s *Store) revokeReused(ctx context.Context, jti string, userID int64, action string) error {
	ctx, cancel := Finishing(ctx)
	defer cancel()
	if err := s.revokeFamilyOf(ctx, jti); err != nil {
		return err
	}
	// The request carries no session, so the event looks the email up
	// (best effort: "" if the user is gone).
	var u User
	_ = s.db.WithContext(ctx).Select("email").Where("id = ?", userID).Limit(1).Find(&u).Error
	return s.audit(ctx, auditEntry{action: action, objectType: ObjectToken, userID: &userID, email: u.Email,
		outcome: OutcomeFailure, changes: map[string]Change{"reused_token_family": {New: "revoked"}}})
}

// requireActive returns the email of userID if the user is active, for
// the audit event; any other user is token_not_valid.
func (s *Store) requireActive(tx *gorm.DB, userID int64) (string, error) {
	var users []User
	if err := tx.Select("email").Where("id = ? AND is_active = ?", userID, true).Limit(1).Find(&users).Error; err != nil {
		return "", err
	}
	if len(users) == 0 {
		return "", errTokenInvalid()
	}
	return users[0].Email, nil
}

// revokeFamilyOf revokes the family of token jti and announces it.
func (s *Store) revokeFamilyOf(ctx context.Context, jti string) error {
	now := s.db.NowFunc()
	return translate(s.authTx(ctx, func(tx *gorm.DB, changed authChanged) error {
		// On SQLite the transaction holds the write lock from its BEGIN
		// IMMEDIATE (sqlite_immediate.go), so reading the owners after the
		// write cannot fail with SQLITE_BUSY; on PostgreSQL the UPDATE's
		// row locks make a concurrent revocation of the family wait.
		if err := tx.Model(&TokenFamily{}).
			Where("revoked_at IS NULL AND id IN (?)", tx.Model(&IssuedToken{}).Select("family_id").Where("jti = ?", jti)).
			Update("revoked_at", now).Error; err != nil {
			return err
		}
		var owners []int64
		if err := tx.Model(&IssuedToken{}).Where("jti = ?", jti).Pluck("user_id", &owners).Error; err != nil {
			return err
		}
		changed(owners...)
		return nil
	}))
}

// authRow is a user with the expiry of the token that authenticated them.
type authRow struct {
	User
	TokenExpiresAt time.Time
}

// AuthenticateToken returns the active user that the unrevoked access token
// jti was issued to, without the password hash. Anything else is
// token_not_valid. It asks the database (one query) unless the token cache
// (StartTokenCache) verified the token a moment ago; the user is then that
// moment's copy, current in all that revocations and admin edits change
// (LastLogin may lag).
func (s *Store) AuthenticateToken(ctx context.Context, jti string, userID int64) (*User, error) {
	cache := s.tokens.Load()
	var tk ticket
	if cache != nil {
		if u, ok := cache.get(jti, userID); ok {
			return u, nil
		}
		tk = cache.ticket(userID)
	}
	var rows []authRow
	err := s.db.WithContext(ctx).Model(&User{}).
		Select("users.*, t.expires_at AS token_expires_at").
		Joins("JOIN issued_tokens t ON t.user_id = users.id").
		Joins("JOIN token_families f ON f.id = t.family_id").
		Where("t.jti = ? AND t.type = ? AND t.revoked_at IS NULL AND f.revoked_at IS NULL", jti, AccessToken).
		Where("users.id = ? AND users.is_active = ?", userID, true).
		Limit(1).Find(&rows).Error
	if err != nil {
		return nil, translate(err)
	}
	// The signature vouches for the token's exp; the row's own expiry is
	// checked too, so a token re-signed with a later exp (a leaked
	// SECRET_KEY) does not outlive the one issued.
	if len(rows) == 0 || !rows[0].TokenExpiresAt.After(s.db.NowFunc()) {
		return nil, errTokenInvalid()
	}
	u := rows[0].User
	u.PasswordHash = ""
	if cache != nil {
		cache.put(jti, tk, u, rows[0].TokenExpiresAt)
	}
	return &u, nil
}

// Logout revokes the family of refresh token refreshJTI, which must be a
// live token of userID, and the access token accessJTI. A refresh token
// that was already rotated revokes its family as at a refresh (reuse), and
// is token_not_valid.
func (s *Store) Logout(ctx context.Context, userID int64, refreshJTI, accessJTI string) error {
	now := s.db.NowFunc()
	var reused bool
	err := translate(s.authTx(ctx, func(tx *gorm.DB, changed authChanged) error {
		changed(userID)
		var tok IssuedToken
		err := tx.Where("jti = ? AND user_id = ? AND type = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
			refreshJTI, userID, RefreshToken, now).
			Where("family_id IN (?)", tx.Model(&TokenFamily{}).Select("id").Where("revoked_at IS NULL")).
			Take(&tok).Error
		if err == gorm.ErrRecordNotFound {
			if reused, err = spent(tx, refreshJTI); err != nil {
				return err
			}
			return errTokenInvalid()
		}
		if err != nil {
			return err
		}
		// The conditional UPDATE decides between concurrent logouts with
		// one token, as RotateRefresh's does: PostgreSQL's read above saw
		// the family live in each of them (one 204 and one audit event
		// each); the UPDATE waits for the first and changes nothing after.
		res := tx.Model(&TokenFamily{}).Where("id = ? AND revoked_at IS NULL", tok.FamilyID).Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errTokenInvalid()
		}
		if err := tx.Model(&IssuedToken{}).Where("jti IN ? AND revoked_at IS NULL", []string{refreshJTI, accessJTI}).
			Update("revoked_at", now).Error; err != nil {
			return err
		}
		return record(ctx, tx, now, auditEntry{action: ActionLogout, objectType: ObjectToken})
	}))
	if reused {
		if rerr := s.revokeReused(ctx, refreshJTI, userID, ActionLogout); rerr != nil {
			return rerr
		}
	}
	return err
}

// RevokeUserTokens revokes every token family of userID: logout everywhere.
func (s *Store) RevokeUserTokens(ctx context.Context, userID int64) error {
	now := s.db.NowFunc()
	return translate(s.authTx(ctx, func(tx *gorm.DB, changed authChanged) error {
		changed(userID)
		if err := tx.Model(&TokenFamily{}).Where("user_id = ? AND revoked_at IS NULL", userID).
			Update("revoked_at", now).Error; err != nil {
			return err
		}
		return record(ctx, tx, now, auditEntry{action: ActionLogout, objectType: ObjectToken,
			changes: map[string]Change{"scope": {New: "all"}}})
	}))
}

// PurgeExpiredTokens deletes token records that expired before cutoff, and
// families left empty, so the tables stay small. An expired token fails
// verification on its own exp claim, so its record is no longer needed.
func (s *Store) PurgeExpiredTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("expires_at < ?", cutoff).Delete(&IssuedToken{})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return tx.Where("created_at < ? AND NOT EXISTS (SELECT 1 FROM issued_tokens t WHERE t.family_id = token_families.id)", cutoff).
			Delete(&TokenFamily{}).Error
	})
	return n, err
}
