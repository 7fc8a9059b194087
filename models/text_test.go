package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// A caller that hands the store bytes that are not UTF-8 gets a field
// error, not PostgreSQL's refusal as a 500.
func TestStoreRefusesTextThatIsNotUTF8(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	u, err := store.CreateUser(context.Background(), models.NewUser{Name: "Owner", Email: "utf8@example.com", Password: "audit-Horse-battery-42", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	err = store.CreatePatient(context.Background(), u.ID, &models.Patient{Name: "Bad\xffName"})
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.Invalid || len(e.Fields["name"]) != 1 {
		t.Fatalf("CreatePatient with bytes that are not UTF-8: %v, want an Invalid error under name", err)
	}
}

// A login that checked the old password while it was being changed gets
// no tokens: the change revokes the families there are, and one started
// after it from the old password's check would have outlived it.
func TestLoginRacingAPasswordChangeGetsNoTokens(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := context.Background()
	u, err := store.CreateUser(ctx, models.NewUser{Name: "Racer", Email: "racer@example.com", Password: "audit-Horse-battery-42", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	checked, err := store.Authenticate(ctx, u.Email, "audit-Horse-battery-42") // the login's check
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetUserPassword(ctx, u.ID, "violet-Harbour-owl-58", ""); err != nil { // the change
		t.Fatal(err)
	}
	tok := models.IssuedToken{JTI: "racer-access", Type: models.AccessToken, ExpiresAt: time.Now().Add(time.Hour)}
	_, err = store.StartTokenFamily(ctx, checked, tok)
	if models.ErrorCode(err) != models.Unauthorized || models.ErrorMessage(err) != models.MsgBadCredentials {
		t.Fatalf("tokens for the old password's login: %v, want bad credentials", err)
	}
	// The new password's login gets them.
	fresh, err := store.Authenticate(ctx, u.Email, "violet-Harbour-owl-58")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.StartTokenFamily(ctx, fresh, tok); err != nil {
		t.Fatalf("tokens for the new password's login: %v", err)
	}
}
