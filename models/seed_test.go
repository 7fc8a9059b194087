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
