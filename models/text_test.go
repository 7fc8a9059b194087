package models_test

import (
	"context"
	"errors"
	"testing"

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
