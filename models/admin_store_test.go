package models_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Store methods of the admin panel: staff-wide, audited with the admin as
// the source, and all-or-nothing.

func admCtx(u *models.User) context.Context {
	return models.WithActor(context.Background(), models.Actor{UserID: u.ID, Email: u.Email, Source: "admin"})
}

func admStoreUser(t *testing.T, store *models.Store, email string, staff bool) *models.User {
	t.Helper()
	u, err := store.CreateUser(context.Background(), models.NewUser{Name: "U " + email, Email: email,
		Password: "admin-Horse-battery-42", IsActive: true, IsStaff: staff, IsSuperuser: staff})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

func TestAdminSavePatientIsAllOrNothing(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	staff := admStoreUser(t, store, "staff@clinic.example", true)
	owner := admStoreUser(t, store, "owner@example.com", false)
	ctx := admCtx(staff)
	d := &models.Doctor{Name: "Dr A", Specialization: "X", Email: "a@clinic.example"}
	if err := store.CreateDoctor(ctx, staff.ID, d); err != nil {
		t.Fatal(err)
	}
	p := &models.Patient{Name: " Pat ", CreatedByID: owner.ID}
	if err := store.AdminSavePatient(ctx, staff.ID, p, nil, models.PatientDoctorChanges{AddDoctorID: d.ID}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if p.Name != "Pat" || p.Gender != models.GenderUnknown {
		t.Fatalf("not cleaned with the API's rules: %+v", p)
	}
	// Assigning the same doctor again fails, and the rename with it.
	p.Name = "Renamed"
	err := store.AdminSavePatient(ctx, staff.ID, p, nil, models.PatientDoctorChanges{AddDoctorID: d.ID})
	if models.ErrorCode(err) != models.Invalid {
		t.Fatalf("duplicate: err = %v", err)
	}
	got, _ := store.AdminPatient(ctx, p.ID)
	if got.Name != "Pat" {
		t.Fatalf("patient changed although the save failed: %q", got.Name)
	}
	// Every problem at once: owner, doctor and the patient's own fields.
	bad := &models.Patient{Name: "", CreatedByID: 99999}
	err = store.AdminSavePatient(ctx, staff.ID, bad, nil, models.PatientDoctorChanges{AddDoctorID: 99999})
	var me *models.Error
	if !asError(err, &me) || len(me.Fields["name"]) == 0 || len(me.Fields[models.FieldOwner]) == 0 || len(me.Fields[models.FieldAssignDoctor]) == 0 {
		t.Fatalf("all errors at once: %v", err)
	}
}

func TestAdminDeleteUserCascades(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	staff := admStoreUser(t, store, "staff@clinic.example", true)
	owner := admStoreUser(t, store, "owner@example.com", false)
	ctx := admCtx(staff)
	d := &models.Doctor{Name: "Dr A", Specialization: "X", Email: "a@clinic.example"}
	if err := store.CreateDoctor(ctx, owner.ID, d); err != nil { // "added by" the user who goes
		t.Fatal(err)
	}
	p := &models.Patient{Name: "Pat"}
	if err := store.CreatePatient(ctx, owner.ID, p); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateMapping(ctx, owner.ID, &models.Mapping{PatientID: p.ID, DoctorID: d.ID}); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveSession(ctx, models.NewSessionToken(), &owner.ID, "{}", time.Now().UTC(), models.SessionTimeouts{Idle: time.Hour, Absolute: time.Hour}); err != nil {
		t.Fatal(err)
	}
	preview, err := store.AdminDeletion(ctx, models.ObjectUser, []int64{owner.ID})
	if err != nil || len(preview.Users) != 1 || preview.NumPatients != 1 || preview.NumMappings != 1 {
		t.Fatalf("preview = %+v, %v", preview, err)
	}
	if _, err := store.AdminDelete(ctx, staff.ID, models.ObjectUser, []int64{staff.ID}); models.ErrorCode(err) != models.Invalid {
		t.Fatalf("deleting yourself: err = %v", err)
	}
	n, err := store.AdminDelete(ctx, staff.ID, models.ObjectUser, []int64{owner.ID, 424242})
	if err != nil || n != 1 {
		t.Fatalf("delete = %d, %v", n, err)
	}
	if _, err := store.AdminPatient(ctx, p.ID); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("patient survived: %v", err)
	}
	doc, err := store.Doctor(ctx, d.ID)
	if err != nil || doc.CreatedByID != nil {
		t.Fatalf("doctor = %+v, %v (kept, creator cleared)", doc, err)
	}
	page, err := store.AdminAuditEvents(ctx, models.AdminAuditFilter{AuditFilter: models.AuditFilter{Action: models.ActionDelete}}, 1)
	evs, total := page.Items, page.Count
	if err != nil || total != 3 {
		t.Fatalf("delete events = %d (%v), want user, patient, mapping", total, err)
	}
	for _, ev := range evs {
		if ev.Source != "admin" || ev.UserID == nil || *ev.UserID != staff.ID {
			t.Fatalf("event %+v not attributed to the admin", ev)
		}
	}
}

func TestSessionsExpireAndRevoke(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	u := admStoreUser(t, store, "staff@clinic.example", true)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	limits := models.SessionTimeouts{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	a, b := models.NewSessionToken(), models.NewSessionToken()
	for _, tok := range []string{a, b} {
		if err := store.SaveSession(ctx, tok, &u.ID, `{"uid":1}`, now, limits); err != nil {
			t.Fatal(err)
		}
	}
	var stored []models.Session
	if err := store.DB().Find(&stored).Error; err != nil || len(stored) != 2 {
		t.Fatal(err)
	}
	for _, s := range stored {
		if s.ID == a || s.ID == b {
			t.Fatal("the raw token is stored; only its hash may be")
		}
	}
	live, err := store.Session(ctx, a, now.Add(10*time.Minute), limits.Idle)
	if err != nil {
		t.Fatalf("live session: %v", err)
	}
	// The user comes with the session (one query), and none before login.
	if live.User == nil || live.User.ID != u.ID || live.User.Email != u.Email || !live.User.IsStaff {
		t.Fatalf("session's user = %+v, want %d (%s, staff)", live.User, u.ID, u.Email)
	}
	anon := models.NewSessionToken()
	if err := store.SaveSession(ctx, anon, nil, `{}`, now, limits); err != nil {
		t.Fatal(err)
	}
	if got, err := store.Session(ctx, anon, now, limits.Idle); err != nil || got.User != nil || got.UserID != nil {
		t.Fatalf("anonymous session = %+v, %v; want no user", got, err)
	}
	if err := store.DeleteSession(ctx, anon); err != nil {
		t.Fatal(err)
	}
	// Revoke all but b (a password change from session b).
	if err := store.DeleteUserSessions(ctx, u.ID, b); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Session(ctx, a, now.Add(11*time.Minute), limits.Idle); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("revoked session: %v", err)
	}
	if _, err := store.Session(ctx, b, now.Add(11*time.Minute), limits.Idle); err != nil {
		t.Fatalf("kept session: %v", err)
	}
	if _, err := store.Session(ctx, b, now.Add(50*time.Minute), limits.Idle); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("idle session: %v", err)
	}
	// A session in use stays alive however short its idle timeout: its
	// requests are recorded often enough (a tenth of the timeout, at most a
	// minute apart), so it ends only when idle passes without one.
	short := models.NewSessionToken()
	if err := store.SaveSession(ctx, short, &u.ID, `{}`, now, limits); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if _, err := store.Session(ctx, short, now.Add(time.Duration(i)*2*time.Second), 4*time.Second); err != nil {
			t.Fatalf("a session used every 2 s with a 4 s idle timeout ended at %d s: %v", 2*i, err)
		}
	}
	if _, err := store.Session(ctx, short, now.Add(24*time.Second), 4*time.Second); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("a session unused for 4 s with a 4 s idle timeout: %v", err)
	}
	// Under the default, requests are recorded a minute apart at most: one
	// 61 s after the last recorded one keeps the session for 29 min more.
	if err := store.SaveSession(ctx, short, &u.ID, `{}`, now, limits); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{61 * time.Second, 30*time.Minute + 60*time.Second} {
		if _, err := store.Session(ctx, short, now.Add(at), limits.Idle); err != nil {
			t.Fatalf("a session used at %v under a 30 min idle timeout: %v", at, err)
		}
	}
	if err := store.DeleteSession(ctx, short); err != nil {
		t.Fatal(err)
	}
	n, err := store.PurgeExpiredSessions(ctx, now.Add(13*time.Hour), limits.Idle)
	if err != nil || n != 0 {
		t.Fatalf("purge = %d, %v (expired rows are deleted when read)", n, err)
	}
}

// A password change ends the user's other admin sessions in the store
// itself, whichever way it is made, keeping the one that made it: the
// panel's session auth hash would log them out too, but the rows must not
// wait for their expiry to be gone.
func TestPasswordChangesEndOtherSessions(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	u := admStoreUser(t, store, "changer@clinic.example", true)
	ctx := context.Background()
	now := time.Now().UTC()
	limits := models.SessionTimeouts{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	for _, change := range []struct {
		name string
		run  func(keep string) error
	}{
		{"own change", func(keep string) error {
			return store.ChangeOwnPassword(ctx, u.ID, "admin-Horse-battery-42", "new_password1", "admin-Horse-battery-42", keep, nil)
		}},
		{"set by a superuser", func(keep string) error {
			return store.SetUserPassword(ctx, u.ID, "admin-Horse-battery-42", keep)
		}},
	} {
		keep, other := models.NewSessionToken(), models.NewSessionToken()
		for _, tok := range []string{keep, other} {
			if err := store.SaveSession(ctx, tok, &u.ID, `{}`, now, limits); err != nil {
				t.Fatal(err)
			}
		}
		if err := change.run(keep); err != nil {
			t.Fatalf("%s: %v", change.name, err)
		}
		if _, err := store.Session(ctx, other, now, limits.Idle); models.ErrorCode(err) != models.NotFound {
			t.Errorf("%s: the other session: %v, want NotFound", change.name, err)
		}
		if _, err := store.Session(ctx, keep, now, limits.Idle); err != nil {
			t.Errorf("%s: the session that changed it: %v", change.name, err)
		}
		if err := store.DeleteSession(ctx, keep); err != nil {
			t.Fatal(err)
		}
	}
}

func asError(err error, target **models.Error) bool { return errors.As(err, target) }

// Filters with bytes no stored value has (NUL, invalid UTF-8, which
// PostgreSQL refuses as parameters) match nothing instead of failing, in
// the admin's lists as in the API's.
func TestAdminFiltersWithUnstorableBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := modelstest.Store(t)
	for _, bad := range []string{"card\x00iology", "card\xffiology"} {
		if page, err := s.AdminDoctors(ctx, models.AdminDoctorFilter{Specialization: bad}, models.AdminQuery{Page: 1}); err != nil || len(page.Items) != 0 {
			t.Errorf("AdminDoctors(%q) = %d rows, %v; want none, nil", bad, len(page.Items), err)
		}
		if page, err := s.AdminMappings(ctx, models.AdminMappingFilter{Specialization: bad}, models.AdminQuery{Page: 1}); err != nil || len(page.Items) != 0 {
			t.Errorf("AdminMappings(%q) = %d rows, %v; want none, nil", bad, len(page.Items), err)
		}
		if page, err := s.AdminAuditEvents(ctx, models.AdminAuditFilter{Email: bad + "@example.com"}, 1); err != nil || len(page.Items) != 0 {
			t.Errorf("AdminAuditEvents(%q) = %d rows, %v; want none, nil", bad, len(page.Items), err)
		}
	}
}

// The hourly purge deletes the sessions past their idle or absolute
// timeout that nobody read again, and only those.
func TestPurgeExpiredSessions(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	u := admStoreUser(t, store, "purge@clinic.example", true)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	limits := models.SessionTimeouts{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	idle, old, live := models.NewSessionToken(), models.NewSessionToken(), models.NewSessionToken()
	for _, s := range []struct {
		tok string
		at  time.Time
	}{
		{idle, now.Add(-31 * time.Minute)}, // last seen past the idle timeout
		{old, now.Add(-13 * time.Hour)},    // created past the absolute timeout
		{live, now.Add(-5 * time.Minute)},
	} {
		if err := store.SaveSession(ctx, s.tok, &u.ID, `{}`, s.at, limits); err != nil {
			t.Fatal(err)
		}
	}
	n, err := store.PurgeExpiredSessions(ctx, now, limits.Idle)
	if err != nil || n != 2 {
		t.Fatalf("purge = %d, %v; want 2 (idle and past its absolute end)", n, err)
	}
	if _, err := store.Session(ctx, live, now, limits.Idle); err != nil {
		t.Fatalf("the live session was purged: %v", err)
	}
}

// The patient changelist reads what it shows, owners included, in one
// statement; not the address or the medical history of every row.
func TestAdminPatientPageReadsWhatItShows(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	staff := admStoreUser(t, store, "staff@clinic.example", true)
	ctx := admCtx(staff)
	owners := []*models.User{admStoreUser(t, store, "ann@example.com", false), admStoreUser(t, store, "bob@example.com", false)}
	dob := models.NewDate(1980, time.March, 4)
	for i, name := range []string{"Cara Jones", "Abe Jones", "Bea Smith"} {
		p := &models.Patient{Name: name, Gender: models.GenderFemale, Phone: "+1555000" + string(rune('0'+i)),
			Email: "p" + string(rune('a'+i)) + "@example.com", DateOfBirth: &dob,
			Address: "1 Secret Lane", MedicalHistory: "private history"}
		if err := store.CreatePatient(ctx, owners[i%2].ID, p); err != nil {
			t.Fatal(err)
		}
	}
	taken := statements(t, store.DB())
	page, err := store.AdminPatients(ctx, models.AdminPatientFilter{}, models.AdminQuery{Search: "jones", Ordering: "name", Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	var reads int
	for _, s := range taken() {
		if strings.Contains(strings.ToLower(s), "select") {
			reads++
			if strings.Contains(s, "medical_history") || strings.Contains(s, "address") || strings.Contains(s, "password_hash") {
				t.Errorf("the page reads more than it shows: %s", s)
			}
		}
	}
	if reads != 1 {
		t.Errorf("the page took %d statements, want one (rows and owners together)", reads)
	}
	if len(page.Items) != 2 || page.Count != 2 {
		t.Fatalf("search: %d items, count %d, want 2", len(page.Items), page.Count)
	}
	for i, want := range []struct{ name, owner string }{{"Abe Jones", "bob@example.com"}, {"Cara Jones", "ann@example.com"}} {
		p := page.Items[i]
		if p.Name != want.name || p.CreatedBy == nil || p.CreatedBy.Email != want.owner || p.CreatedByID != p.CreatedBy.ID {
			t.Fatalf("row %d: %+v (owner %+v), want %s of %s", i, p, p.CreatedBy, want.name, want.owner)
		}
		if p.ID == 0 || p.Gender != models.GenderFemale || p.Phone == "" || p.Email == "" || p.DateOfBirth == nil ||
			*p.DateOfBirth != dob || p.CreatedAt.IsZero() {
			t.Errorf("row %d lacks a shown field: %+v", i, p)
		}
		if p.Address != "" || p.MedicalHistory != "" {
			t.Errorf("row %d carries what the list does not show: %+v", i, p)
		}
	}
	// Filtered by owner, ordered by a joined table's namesake column.
	page, err = store.AdminPatients(ctx, models.AdminPatientFilter{OwnerID: owners[0].ID}, models.AdminQuery{Ordering: "-name", Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[0].Name != "Cara Jones" || page.Items[1].Name != "Bea Smith" {
		t.Fatalf("owner's patients by name descending: %+v", page.Items)
	}
	// A page number whose offset would wrap around is past the end: the last
	// page, searched or not, never page 1 again under another number.
	for _, q := range []models.AdminQuery{{Search: "jones", Page: math.MaxInt}, {Page: math.MaxInt}, {Page: math.MaxInt64 / 50}} {
		last, err := store.AdminPatients(ctx, models.AdminPatientFilter{}, q)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 2, false: 3}[q.Search != ""]; last.Number != 1 || last.Count != int64(want) || len(last.Items) != want || last.HasNext {
			t.Errorf("%+v: page %d of %d, count %d, %d items, next %v; want the last page, 1, with %d", q,
				last.Number, last.NumPages, last.Count, len(last.Items), last.HasNext, want)
		}
	}
	// The whole row is still there for the change page.
	full, err := store.AdminPatient(ctx, page.Items[0].ID)
	if err != nil || full.MedicalHistory != "private history" || full.Address != "1 Secret Lane" {
		t.Fatalf("change page read: %+v, %v", full, err)
	}
}

// The mapping changelist loads of its associations what it shows: never a
// patient's medical history or a user's password hash.
func TestAdminMappingPageReadsWhatItShows(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	staff := admStoreUser(t, store, "staff@clinic.example", true)
	ctx := admCtx(staff)
	owner := admStoreUser(t, store, "owner@example.com", false)
	p := &models.Patient{Name: "Pat Jones", Address: "1 Secret Lane", MedicalHistory: "private history"}
	if err := store.CreatePatient(ctx, owner.ID, p); err != nil {
		t.Fatal(err)
	}
	d := &models.Doctor{Name: "Dr A", Specialization: "Cardiology", Email: "a@clinic.example"}
	if err := store.CreateDoctor(ctx, staff.ID, d); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateMapping(ctx, owner.ID, &models.Mapping{PatientID: p.ID, DoctorID: d.ID, Notes: "n"}); err != nil {
		t.Fatal(err)
	}
	taken := statements(t, store.DB())
	page, err := store.AdminMappings(ctx, models.AdminMappingFilter{}, models.AdminQuery{Search: "jones", Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range taken() {
		if strings.Contains(s, "medical_history") || strings.Contains(s, "password_hash") || strings.Contains(s, "SELECT *") && !strings.Contains(s, "mappings") {
			t.Errorf("the page reads more than it shows: %s", s)
		}
	}
	if len(page.Items) != 1 {
		t.Fatalf("%d mappings, want 1", len(page.Items))
	}
	m := page.Items[0]
	if m.Patient == nil || m.Patient.Name != "Pat Jones" || m.Patient.MedicalHistory != "" || m.Patient.Address != "" {
		t.Errorf("patient %+v: want its name only", m.Patient)
	}
	if m.Doctor == nil || m.Doctor.Name != "Dr A" || m.Doctor.Specialization != "Cardiology" {
		t.Errorf("doctor %+v", m.Doctor)
	}
	if m.CreatedBy == nil || m.CreatedBy.Email != "owner@example.com" || m.CreatedBy.PasswordHash != "" {
		t.Errorf("assigner %+v: want the email only", m.CreatedBy)
	}
}

// Two superusers who demote, deactivate or delete each other at once do not
// leave the panel without one: the actor is read again in the write's
// transaction, after the other's commit, and a demoted or deleted actor may
// do nothing. (The session's copy said superuser to both.)
func TestAdminSuperusersCannotRemoveEachOther(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	demote := models.UserChanges{Name: "Demoted", IsActive: true}
	for round := range 6 {
		a := admStoreUser(t, store, "a"+strconv.Itoa(round)+"@clinic.example", true)
		b := admStoreUser(t, store, "b"+strconv.Itoa(round)+"@clinic.example", true)
		acts := []func(by, other *models.User) error{
			func(by, other *models.User) error {
				ch := demote
				ch.Email = other.Email
				_, err := store.AdminUpdateUser(admCtx(by), by, other.ID, ch)
				return err
			},
			func(by, other *models.User) error {
				_, err := store.AdminDelete(admCtx(by), by.ID, models.ObjectUser, []int64{other.ID})
				return err
			},
		}
		act := acts[round%2]
		errs := make([]error, 2)
		pairs := [][2]*models.User{{a, b}, {b, a}}
		modelstest.AtOnce(2, func(i int) { errs[i] = act(pairs[i][0], pairs[i][1]) })
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v and %v, want exactly one of the two to succeed", round, errs[0], errs[1])
		}
		for _, err := range errs {
			if err != nil && models.ErrorCode(err) != models.Forbidden {
				t.Errorf("round %d: the loser's error = %v, want Forbidden", round, err)
			}
		}
		if supers := countRows(t, store.DB(), &models.User{}, "id IN ? AND is_superuser AND is_active", []int64{a.ID, b.ID}); supers != 1 {
			t.Errorf("round %d: %d of the two are active superusers, want 1", round, supers)
		}
	}
}

// A login racing its user's deletion either lands before it (its tokens go
// with the user) or finds the user gone (bad credentials): never the
// foreign key's failure, a 500. (PostgreSQL's race: SQLite's writers run
// one at a time; CI runs both.)
func TestAdminDeleteUserRacingLogins(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	super := admStoreUser(t, store, "deleter@clinic.example", true)
	for round := range 15 {
		u := admStoreUser(t, store, "leaving"+strconv.Itoa(round)+"@example.com", false)
		const logins = 4
		errs := make([]error, logins+1)
		modelstest.AtOnce(logins+1, func(i int) {
			if i == logins {
				_, errs[i] = store.AdminDelete(admCtx(super), super.ID, models.ObjectUser, []int64{u.ID})
				return
			}
			_, errs[i] = store.StartTokenFamily(context.Background(), u,
				models.IssuedToken{JTI: fmt.Sprintf("race-%d-%d", round, i), Type: models.RefreshToken, ExpiresAt: time.Now().Add(time.Hour)})
		})
		if errs[logins] != nil {
			t.Fatalf("round %d: the deletion: %v", round, errs[logins])
		}
		for i, err := range errs[:logins] {
			if err != nil && models.ErrorCode(err) != models.Unauthorized {
				t.Errorf("round %d: login %d: %v, want success or bad credentials", round, i, err)
			}
		}
		if left := countRows(t, store.DB(), &models.TokenFamily{}, "user_id = ?", u.ID); left != 0 {
			t.Errorf("round %d: %d token families outlive their user", round, left)
		}
	}
}

// A staff member who lost staff status after their session was read (an
// edit by a superuser meanwhile) administers nobody: the store reads the
// actor again in the write's transaction.
func TestAdminWritesOfADemotedStaffMemberAreRefused(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	super := admStoreUser(t, store, "super@clinic.example", true)
	staff := admStoreUser(t, store, "staff@clinic.example", false)
	if _, err := store.AdminUpdateUser(admCtx(super), super, staff.ID, models.UserChanges{Name: staff.Name, Email: staff.Email, IsActive: true, IsStaff: true}); err != nil {
		t.Fatal(err)
	}
	stale, err := store.User(context.Background(), staff.ID) // the session's copy: staff
	if err != nil || !stale.IsStaff {
		t.Fatalf("test setup: %+v, %v", stale, err)
	}
	other := admStoreUser(t, store, "other@clinic.example", false)
	if _, err := store.AdminUpdateUser(admCtx(super), super, staff.ID, models.UserChanges{Name: staff.Name, Email: staff.Email, IsActive: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AdminUpdateUser(admCtx(stale), stale, other.ID, models.UserChanges{Name: "Renamed", Email: other.Email, IsActive: true}); models.ErrorCode(err) != models.Forbidden {
		t.Errorf("a demoted staff member edited a user: %v, want Forbidden", err)
	}
	if _, err := store.AdminCreateUser(admCtx(stale), stale, models.NewUser{Name: "New", Email: "new@clinic.example",
		Password: "another-Horse-battery-77", IsActive: true}); models.ErrorCode(err) != models.Forbidden {
		t.Errorf("a demoted staff member created a user: %v, want Forbidden", err)
	}
	if u, err := store.User(context.Background(), other.ID); err != nil || u.Name == "Renamed" {
		t.Errorf("the user after a refused edit: %+v, %v", u, err)
	}
}

// A superuser demoted after their session was read creates nobody and sets
// nobody's password: the session's copy said superuser, the store reads the
// actor again in the write's transaction. Setting one's own password needs
// no administration.
func TestAdminWritesOfADemotedSuperuserAreRefused(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	a := admStoreUser(t, store, "stale@clinic.example", true)
	b := admStoreUser(t, store, "other@clinic.example", true)
	stale := *a // the session's copy
	if _, err := store.AdminUpdateUser(admCtx(b), b, a.ID, models.UserChanges{Name: a.Name, Email: a.Email, IsActive: true, IsStaff: true}); err != nil {
		t.Fatal(err)
	}
	const pw = "another-Horse-battery-77"
	if err := store.AdminSetUserPassword(admCtx(&stale), &stale, b.ID, pw, ""); models.ErrorCode(err) != models.Forbidden {
		t.Errorf("a demoted superuser set another's password: %v, want Forbidden", err)
	}
	if _, err := store.AdminCreateUser(admCtx(&stale), &stale, models.NewUser{Name: "New Super", Email: "new@clinic.example",
		Password: pw, IsActive: true, IsStaff: true, IsSuperuser: true}); models.ErrorCode(err) != models.Forbidden {
		t.Errorf("a demoted superuser created a superuser: %v, want Forbidden", err)
	}
	if _, err := store.UserByEmail(context.Background(), "new@clinic.example"); models.ErrorCode(err) != models.NotFound {
		t.Errorf("the refused user exists: %v", err)
	}
	if err := store.AdminSetUserPassword(admCtx(&stale), &stale, a.ID, pw, ""); err != nil {
		t.Errorf("setting one's own password: %v", err)
	}
	// A superuser still one does both.
	if _, err := store.AdminCreateUser(admCtx(b), b, models.NewUser{Name: "New Super", Email: "new@clinic.example",
		Password: pw, IsActive: true, IsStaff: true, IsSuperuser: true}); err != nil {
		t.Errorf("AdminCreateUser: %v", err)
	}
	if err := store.AdminSetUserPassword(admCtx(b), b, a.ID, pw+"x", ""); err != nil {
		t.Errorf("AdminSetUserPassword: %v", err)
	}
}
