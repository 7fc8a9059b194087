package models_test

import (
	"context"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// The demo data: the owners and sizes asked for, mappings for the demo
// user's patients only, and patients in the order a clinic creates them
// (every owner's interleaved, created_at rising with insertion), which the
// benchmark's growth figures depend on.
func TestSeedDemo(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := context.Background()
	before := time.Now().UTC()
	res, err := store.SeedDemo(ctx, models.SeedOptions{Patients: 2500, DemoPatients: 1000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.Patients != 2500 || res.Doctors != 20 || res.DemoPassword == "" || res.StaffPassword == "" || res.Mappings == 0 {
		t.Fatalf("result %+v", res)
	}
	demo, err := store.UserByEmail(ctx, models.DemoEmail)
	if err != nil {
		t.Fatal(err)
	}
	if staff, err := store.UserByEmail(ctx, models.StaffEmail); err != nil || !staff.IsStaff || demo.IsStaff {
		t.Fatalf("accounts: staff %+v (%v), demo staff %v", staff, err, demo.IsStaff)
	}
	var patients []models.Patient
	if err := store.DB().Order("id").Find(&patients).Error; err != nil {
		t.Fatal(err)
	}
	owned := map[int64]int{}
	switches := 0
	for i, p := range patients {
		owned[p.CreatedByID]++
		if i == 0 {
			continue
		}
		prev := patients[i-1]
		if !p.CreatedAt.After(prev.CreatedAt) {
			t.Fatalf("patient %d created %v, not after patient %d's %v: not in creation order", p.ID, p.CreatedAt, prev.ID, prev.CreatedAt)
		}
		if p.CreatedByID != prev.CreatedByID {
			switches++
		}
	}
	if owned[demo.ID] != 1000 || len(owned) != 2 {
		t.Errorf("owners %v, want 1000 for the demo user and 1500 for one filler", owned)
	}
	// Interleaved, not in blocks: about half the neighbours differ.
	if switches < 500 {
		t.Errorf("the owner changes %d times along the table, want the owners interleaved", switches)
	}
	first, last := patients[0].CreatedAt, patients[len(patients)-1].CreatedAt
	if first.Before(before.Add(-731*24*time.Hour)) || last.After(time.Now()) || last.Sub(first) < 700*24*time.Hour {
		t.Errorf("created from %v to %v: want the last two years, up to now", first, last)
	}
	var foreign int64
	if err := store.DB().Model(&models.Mapping{}).Joins("JOIN patients ON patients.id = mappings.patient_id").
		Where("patients.created_by_id <> ?", demo.ID).Count(&foreign).Error; err != nil {
		t.Fatal(err)
	}
	if foreign != 0 {
		t.Errorf("%d mappings on filler owners' patients", foreign)
	}
	// A database with data is refused, unless forced.
	if _, err := store.SeedDemo(ctx, models.SeedOptions{Patients: 10}); models.ErrorCode(err) != models.Conflict {
		t.Errorf("second seed: %v, want Conflict", err)
	}
	more, err := store.SeedDemo(ctx, models.SeedOptions{Patients: 10, Force: true})
	if err != nil || more.Patients != 10 || more.DemoPassword != "" {
		t.Errorf("forced seed: %+v, %v; want 10 more patients and the accounts reused", more, err)
	}
}

// Every row the demo seeds passes the rules its forms and the API apply,
// so each can be edited (its emails were built from accented names, whose
// user parts the email rule refuses).
func TestSeedDemoRowsAreValid(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := context.Background()
	if _, err := store.SeedDemo(ctx, models.SeedOptions{Patients: 400, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	var patients []models.Patient
	var doctors []models.Doctor
	if err := store.DB().Find(&patients).Error; err != nil {
		t.Fatal(err)
	}
	if err := store.DB().Find(&doctors).Error; err != nil {
		t.Fatal(err)
	}
	if len(patients) != 400 || len(doctors) == 0 {
		t.Fatalf("seeded %d patients, %d doctors", len(patients), len(doctors))
	}
	for _, p := range patients {
		if err := p.Clean(store.Today()); err != nil {
			t.Fatalf("seeded patient %q (%s): %v", p.Name, p.Email, err)
		}
	}
	for _, d := range doctors {
		if err := d.Clean(); err != nil {
			t.Fatalf("seeded doctor %q (%s): %v", d.Name, d.Email, err)
		}
	}
}

// A value stored before a rule was added or tightened does not make its
// record impossible to edit: an edit of another field saves, an edit of
// that field to another value is judged.
func TestStoredValuesAreNotJudgedAgain(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := context.Background()
	staff, err := store.CreateUser(ctx, models.NewUser{Name: "Staff", Email: "staff@clinic.example", Password: "correct-Horse-battery-9",
		IsActive: true, IsStaff: true, IsSuperuser: true})
	if err != nil {
		t.Fatal(err)
	}
	owner := listOwner(t, store, "owner@example.com")
	p := listPatient(t, store, owner, models.Patient{Name: "Ann Lee"})
	d := &models.Doctor{Name: "Dr Old", Specialization: "Cardiology", Email: "old@clinic.example"}
	if err := store.CreateDoctor(ctx, staff.ID, d); err != nil {
		t.Fatal(err)
	}
	// Values an earlier version accepted (stored as typed: the edits
	// normalize them, trimmed and lower-cased, before comparing).
	if err := store.DB().Model(&models.Patient{}).Where("id = ?", p.ID).Update("name", "Ann\tLee ").Error; err != nil {
		t.Fatal(err)
	}
	if err := store.DB().Model(&models.Doctor{}).Where("id = ?", d.ID).Update("email", "José@Clinic.Example").Error; err != nil {
		t.Fatal(err)
	}
	if err := store.DB().Model(&models.User{}).Where("id = ?", owner).Update("email", "Zoë@Example.com").Error; err != nil {
		t.Fatal(err)
	}

	if _, err := store.UpdatePatient(ctx, owner, p.ID, func(p *models.Patient) error { p.Phone = "555 0100"; return nil }); err != nil {
		t.Errorf("API edit of another field of a patient with a stored name: %v", err)
	}
	if _, err := store.UpdatePatient(ctx, owner, p.ID, func(p *models.Patient) error { p.Name = "Bo\tLee"; return nil }); models.ErrorCode(err) != models.Invalid {
		t.Errorf("API edit of the name to another value with a tab: %v, want Invalid", err)
	}
	if _, err := store.UpdateDoctor(ctx, d.ID, func(d *models.Doctor) error { d.Phone = "555 0101"; return nil }); err != nil {
		t.Errorf("API edit of another field of a doctor with a stored email: %v", err)
	}
	if _, err := store.UpdateDoctor(ctx, d.ID, func(d *models.Doctor) error { d.Email = "andré@clinic.example"; return nil }); models.ErrorCode(err) != models.Invalid {
		t.Errorf("API edit of the email to another non-ASCII one: %v, want Invalid", err)
	}
	stored, err := store.AdminPatient(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored.CreatedBy = nil
	edited := *stored
	edited.Address = "1 Main St"
	if err := store.AdminSavePatient(ctx, staff.ID, &edited, stored, models.PatientDoctorChanges{}); err != nil {
		t.Errorf("admin edit of another field of a patient with a stored name: %v", err)
	}
	if _, err := store.AdminUpdateUser(ctx, staff, owner, models.UserChanges{Name: "Zoe", Email: "zoë@example.com", IsActive: true}); err != nil {
		t.Errorf("admin edit of the name of a user with a stored email: %v", err)
	}
	if _, err := store.AdminUpdateUser(ctx, staff, owner, models.UserChanges{Name: "Zoe", Email: "chloë@example.com", IsActive: true}); models.ErrorCode(err) != models.Invalid {
		t.Errorf("admin edit of the email to another non-ASCII one: %v, want Invalid", err)
	}
}
