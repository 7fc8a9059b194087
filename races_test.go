package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// raceRounds is how many times each race is run: one round may happen to
// serialize by luck, ten in a row do not.
const raceRounds = 10

// race runs every f at once (as far as the scheduler lets them start
// together) and returns when all have.
func race(fs ...func()) {
	modelstest.AtOnce(len(fs), func(i int) { fs[i]() })
}

// raceAll sends every request at once and returns the responses in the
// order given.
func raceAll(app *testApp, reqs []request) []*response {
	out := make([]*response, len(reqs))
	fs := make([]func(), len(reqs))
	for i, req := range reqs {
		fs[i] = func() { out[i] = app.do(req) }
	}
	race(fs...)
	return out
}

// raceDoctors makes n doctors for a race's mappings.
func raceDoctors(t *testing.T, app *testApp, n int, specialization string) []*models.Doctor {
	doctors := make([]*models.Doctor, n)
	for i := range doctors {
		doctors[i] = app.mustDoctor(t, "Dr. "+specialization+" "+strconv.Itoa(i), specialization)
	}
	return doctors
}

// Concurrent PATCHes of one record's different fields all take effect:
// each is applied to the row as the one before it left it, so none writes
// back a field another has just changed (the lost update of a handler that
// read the row before taking it). For a patient by its owner and a doctor
// by staff.
func TestConcurrentPatchesAllApply(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	owner, staff := app.mustUser(t, false), app.mustUser(t, true)
	tests := []struct {
		name  string
		token string
		// record makes a fresh record and returns its path, and what
		// round's PATCHes set, one field each.
		record func(round int, tag string) (string, map[string]any)
	}{
		{"patient", owner.Access, func(_ int, tag string) (string, map[string]any) {
			p := app.mustPatient(t, owner, map[string]any{"name": "Before", "gender": "male"})
			return "/api/patients/" + strconv.FormatInt(id(t, p, "id"), 10) + "/", map[string]any{
				"name": "Name " + tag, "date_of_birth": "1970-01-1" + tag[:1], "gender": "female",
				"phone": "+1 555 010 000" + tag[:1], "email": "p" + tag + "@example.com",
				"address": "Street " + tag, "medical_history": "History " + tag,
			}
		}},
		{"doctor", staff.Access, func(round int, tag string) (string, map[string]any) {
			d := app.mustDoctor(t, "Dr. Before", "Before")
			return "/api/doctors/" + strconv.FormatInt(d.ID, 10) + "/", map[string]any{
				"name": "Dr. Name " + tag, "specialization": "Field " + tag, "email": "dr" + tag + "@clinic.example",
				"phone": "+1 555 020 000" + tag[:1], "years_of_experience": float64(10 + round),
			}
		}},
	}
	for _, tc := range tests {
		for round := range raceRounds {
			path, want := tc.record(round, strconv.Itoa(round))
			var reqs []request
			for field, value := range want {
				reqs = append(reqs, request{method: "PATCH", path: path, token: tc.token, body: map[string]any{field: value}})
			}
			for _, r := range raceAll(app, reqs) {
				r.want(t, http.StatusOK)
			}
			got := app.do(request{method: "GET", path: path, token: tc.token}).want(t, http.StatusOK).json(t)
			for field, value := range want {
				if got[field] != value {
					t.Errorf("%s, round %d: %s = %v after every PATCH answered 200, want %v (a PATCH lost)", tc.name, round, field, got[field], value)
				}
			}
		}
	}
}

// A patient or doctor deleted while mappings to it are being created: the
// delete and each create either succeed or get the contract's answer,
// never a 500, and nothing of the deleted row is left. (On PostgreSQL a
// deletion that removed the mappings before waiting for the row deadlocked
// with an insert on the mapping counter; TestWritersLockParentsFirst in
// models checks the lock order itself, deterministically.)
func TestDeletionsRacingMappingCreates(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	doctors := raceDoctors(t, app, 8, "Cardiology")
	patients := make([]int64, 8)
	for i := range patients {
		patients[i] = id(t, app.mustPatient(t, u, nil), "id")
	}
	mapping := func(pid, did int64) request {
		return request{method: "POST", path: "/api/mappings/", token: u.Access, body: map[string]any{"patient_id": pid, "doctor_id": did}}
	}
	tests := []struct {
		name string
		// race returns the deletion, the creates racing it, the column
		// that names the deleted row in mappings and its id.
		race    func(round int) (request, []request, string, int64)
		refused string
	}{
		{"patient", func(int) (request, []request, string, int64) {
			pid := id(t, app.mustPatient(t, u, nil), "id")
			app.admMapping(t, u.ID, pid, doctors[0].ID) // one to delete from the start
			var creates []request
			for _, d := range doctors[1:] {
				creates = append(creates, mapping(pid, d.ID))
			}
			return request{method: "DELETE", path: "/api/patients/" + strconv.FormatInt(pid, 10) + "/", token: u.Access}, creates, "patient_id", pid
		}, `{"patient_id":["Patient not found."]}`},
		{"doctor", func(round int) (request, []request, string, int64) {
			d := app.mustDoctor(t, "Dr. Leaving "+strconv.Itoa(round), "Surgery")
			app.admMapping(t, u.ID, patients[0], d.ID)
			var creates []request
			for _, pid := range patients[1:] {
				creates = append(creates, mapping(pid, d.ID))
			}
			return request{method: "DELETE", path: "/api/doctors/" + strconv.FormatInt(d.ID, 10) + "/", token: staff.Access}, creates, "doctor_id", d.ID
		}, `{"doctor_id":["Doctor not found."]}`},
	}
	for _, tc := range tests {
		for round := range raceRounds {
			del, creates, column, deleted := tc.race(round)
			res := raceAll(app, append([]request{del}, creates...))
			res[0].want(t, http.StatusNoContent)
			for _, r := range res[1:] {
				if r.Code == http.StatusCreated || (r.Code == http.StatusBadRequest && strings.TrimSpace(r.Body.String()) == tc.refused) {
					continue
				}
				t.Errorf("%s, round %d: a mapping create racing the delete: %d %s, want 201 or 400 %s", tc.name, round, r.Code, r.Body, tc.refused)
			}
			var left int64
			if err := app.store.DB().Model(&models.Mapping{}).Where(column+" = ?", deleted).Count(&left).Error; err != nil {
				t.Fatal(err)
			}
			if left != 0 {
				t.Errorf("%s, round %d: %d mappings of the deleted row left", tc.name, round, left)
			}
		}
	}
}

// An admin deletion records every mapping it removes, even one created
// while it ran: each mapping created is either refused or deleted with an
// audit event of its own.
func TestAdminDeleteRecordsMappingsCreatedMeanwhile(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	doctors := raceDoctors(t, app, 8, "Neurology")
	ctx := context.Background()
	for round := range raceRounds {
		p := app.admPatient(t, u.ID, "Audited "+strconv.Itoa(round))
		first := app.admMapping(t, u.ID, p.ID, doctors[0].ID)
		created := []int64{first.ID}
		var createErrs []error // other than the refusal once the patient is gone
		var mu sync.Mutex
		var deleteErr error
		fs := []func(){func() {
			_, deleteErr = app.store.AdminDelete(ctx, staff.ID, models.ObjectPatient, []int64{p.ID})
		}}
		for _, d := range doctors[1:] {
			fs = append(fs, func() {
				m := &models.Mapping{PatientID: p.ID, DoctorID: d.ID}
				err := app.store.CreateMapping(ctx, u.ID, m)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created = append(created, m.ID)
				case models.ErrorCode(err) != models.Invalid:
					createErrs = append(createErrs, err)
				}
			})
		}
		race(fs...)
		if deleteErr != nil {
			t.Fatalf("round %d: AdminDelete: %v", round, deleteErr)
		}
		for _, err := range createErrs {
			t.Errorf("round %d: a mapping create racing the deletion: %v, want success or a validation error", round, err)
		}
		for _, mid := range created {
			evs := app.admEvents(t, models.AuditFilter{Action: models.ActionDelete, ObjectType: models.ObjectMapping, ObjectID: mid})
			if len(evs) != 1 {
				t.Errorf("round %d: mapping %d of the deleted patient has %d delete events, want 1", round, mid, len(evs))
			}
		}
	}
}
