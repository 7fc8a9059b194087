package models_test

import (
	"context"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// A login between its check of the password and its token family's insert
// is never split by a password change on PostgreSQL: the family's insert
// waits for a change in progress (the credentials lock) and then sees the
// new password, so the login gets bad credentials instead of tokens the
// change could not revoke.
func TestTokenFamilyWaitsForAPasswordChange(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("advisory locks: PostgreSQL only (SQLite's write transactions are serial)")
	}
	s := modelstest.Store(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, models.NewUser{Name: "Racer", Email: "racer@example.com", Password: "correct-Horse-battery-9", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	// A change in progress: the exclusive credentials lock is held, the new
	// password written, not yet committed.
	change := s.DB().Begin()
	defer change.Rollback()
	if err := change.Exec(`SELECT pg_advisory_xact_lock(hashtext('healthcare.credentials:' || current_schema()), (?::bigint % 2147483647)::int)`, u.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := change.Model(&models.User{}).Where("id = ?", u.ID).Update("password_hash", "changed").Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.StartTokenFamily(ctx, u, models.IssuedToken{JTI: "racer", Type: models.AccessToken, ExpiresAt: time.Now().Add(time.Hour)})
		done <- err
	}()
	// The login waits for the lock (the database says so: no timing).
	if !waitForLockOrDone(t, s.DB(), done, waitsForCredentials, u.ID) {
		t.FailNow()
	}
	if err := change.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-done; models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("after the change: %v, want bad credentials", err)
	}
}

// A deactivation takes the user's credentials lock as a password change
// does: a login between its check of is_active and its token family's
// insert finishes first, and its family is revoked with the others. It
// used to be missed, dead while the user was inactive and alive again on
// reactivation.
func TestDeactivationWaitsForALoginInProgress(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("advisory locks: PostgreSQL only (SQLite's write transactions are serial)")
	}
	s := modelstest.Store(t)
	ctx := context.Background()
	admin, err := s.CreateUser(ctx, models.NewUser{Name: "Admin", Email: "admin@clinic.example", Password: "correct-Horse-battery-9",
		IsActive: true, IsStaff: true, IsSuperuser: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, models.NewUser{Name: "Leaver", Email: "leaver@example.com", Password: "correct-Horse-battery-9", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	// A login in progress: it holds the shared credentials lock and has
	// found the user active.
	login := s.DB().Begin()
	defer login.Rollback()
	if err := login.Exec(`SELECT pg_advisory_xact_lock_shared(hashtext('healthcare.credentials:' || current_schema()), (?::bigint % 2147483647)::int)`, u.ID).Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.AdminUpdateUser(ctx, admin, u.ID, models.UserChanges{Name: u.Name, Email: u.Email, IsActive: false})
		done <- err
	}()
	waited := waitForLockOrDone(t, s.DB(), done, waitsForCredentials, u.ID)
	fam := models.TokenFamily{UserID: u.ID}
	if err := login.Create(&fam).Error; err != nil {
		t.Fatal(err)
	}
	if err := login.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if waited {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var got models.TokenFamily
	if err := s.DB().Take(&got, fam.ID).Error; err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil {
		t.Error("the token family of a login that raced the deactivation was not revoked")
	}
}
