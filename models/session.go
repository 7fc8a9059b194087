package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Session is a server-side admin panel session. The browser holds only a
// random token; the table holds its SHA-256, so a copy of the database does
// not hand out live sessions. Deleting a row revokes the session at once,
// in every server process.
type Session struct {
	ID     string `gorm:"primaryKey;size:64"` // hex SHA-256 of the cookie token
	UserID *int64 `gorm:"index"`              // nil until login
	User   *User  `gorm:"constraint:OnDelete:CASCADE"`
	// Data is the session's values, JSON-encoded by the admin package.
	Data       string    `gorm:"type:text;not null"`
	IP         string    `gorm:"size:64;not null"`
	UserAgent  string    `gorm:"size:512;not null"`
	CreatedAt  time.Time `gorm:"not null"`
	LastSeenAt time.Time `gorm:"not null;index"`
	// ExpiresAt is the absolute end of the session, however active it is.
	ExpiresAt time.Time `gorm:"not null;index"`
}

// SessionTimeouts bound a session's life: Idle after its last request,
// Absolute after it was created (a login always creates a new one).
type SessionTimeouts struct {
	Idle, Absolute time.Duration
}

// touchEvery is how stale LastSeenAt may get before a read refreshes it:
// one write a minute per session instead of one per request. A session
// then ends up to that long before idle has passed since its last request,
// so a tenth of idle is the bound when shorter: a session in use every few
// seconds under an idle timeout of seconds was cut off, since no request
// was ever recorded.
const touchEvery = time.Minute

// touchAfter is touchEvery for an idle timeout of idle.
func touchAfter(idle time.Duration) time.Duration {
	if idle > 0 && idle/10 < touchEvery {
		return idle / 10
	}
	return touchEvery
}

// NewSessionToken returns a fresh random session token for a cookie.
func NewSessionToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (ss *Session) expired(now time.Time, idle time.Duration) bool {
	return !now.Before(ss.ExpiresAt) || (idle > 0 && now.Sub(ss.LastSeenAt) >= idle)
}

// Session returns the live session of token at now, with its user (nil
// before login) read by the same query: the admin panel needs both on
// every request, and one round trip instead of two was ~8% of a
// changelist's server CPU (BENCHMARKS.md). An expired session is deleted
// and, like an unknown token, NotFound.
func (s *Store) Session(ctx context.Context, token string, now time.Time, idle time.Duration) (*Session, error) {
	if token == "" {
		return nil, notFound()
	}
	var ss Session
	db := s.db.WithContext(ctx)
	if err := db.Joins("User").Where("sessions.id = ?", sessionKey(token)).Take(&ss).Error; err != nil {
		return nil, translate(err)
	}
	if ss.expired(now, idle) {
		if err := db.Where("id = ?", ss.ID).Delete(&Session{}).Error; err != nil {
			return nil, translate(err)
		}
		return nil, notFound()
	}
	if now.Sub(ss.LastSeenAt) >= touchAfter(idle) {
		ss.LastSeenAt = now
		if err := db.Model(&Session{}).Where("id = ?", ss.ID).UpdateColumn("last_seen_at", now).Error; err != nil {
			return nil, translate(err)
		}
	}
	return &ss, nil
}

// SaveSession stores token's data and user, creating the session (which
// then expires at now plus the absolute timeout) if it does not exist.
func (s *Store) SaveSession(ctx context.Context, token string, userID *int64, data string, now time.Time, t SessionTimeouts) error {
	a := ActorFrom(ctx)
	ss := Session{
		ID: sessionKey(token), UserID: userID, Data: data,
		IP: truncate(a.IP, 64), UserAgent: truncate(a.UserAgent, 512),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(t.Absolute),
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"user_id", "data", "last_seen_at"}),
	}).Create(&ss).Error
	return translate(err)
}

// UpdateSession stores the data and user of token's existing session and
// marks it seen at now; it never creates one. NotFound means the session
// is gone (logged out, revoked by a password change or deactivation, or
// purged) while the request that read it ran: writing it back would
// revive it.
func (s *Store) UpdateSession(ctx context.Context, token string, userID *int64, data string, now time.Time) error {
	res := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", sessionKey(token)).
		Updates(map[string]any{"user_id": userID, "data": data, "last_seen_at": now})
	return translate(foundOne(res))
}

// CycleSession moves token's session to the token next, keeping its data
// and timeouts: a copy of the old token no longer opens it.
func (s *Store) CycleSession(ctx context.Context, token, next string) error {
	res := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", sessionKey(token)).Update("id", sessionKey(next))
	return translate(foundOne(res))
}

// DeleteSession ends token's session (logout), even if the client hangs up
// meanwhile (see Finishing).
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	ctx, cancel := Finishing(ctx)
	defer cancel()
	return translate(s.db.WithContext(ctx).Where("id = ?", sessionKey(token)).Delete(&Session{}).Error)
}

// deleteUserSessions ends every session of userID except keepToken's ("" for
// none), within db (a transaction when it goes with a change of the user).
func deleteUserSessions(db *gorm.DB, userID int64, keepToken string) error {
	q := db.Where("user_id = ?", userID)
	if keepToken != "" {
		q = q.Where("id <> ?", sessionKey(keepToken))
	}
	return q.Delete(&Session{}).Error
}

// PurgeExpiredSessions deletes the sessions that have expired by now and
// returns how many.
func (s *Store) PurgeExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	q := s.db.WithContext(ctx).Where("expires_at <= ?", now)
	if idle > 0 {
		q = q.Or("last_seen_at <= ?", now.Add(-idle))
	}
	res := q.Delete(&Session{})
	return res.RowsAffected, translate(res.Error)
}
