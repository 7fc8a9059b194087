package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// The audit trail's promises (HIPAA §164.312(b)): every action is recorded
// with who, what, when, from where and the outcome; an event commits with
// its write or not at all; the table is append-only in the database; and no
// secret ever lands in it. Runs on SQLite, and on PostgreSQL too when
// TEST_DATABASE_URL is set.

const auditPassword = "audit-Horse-battery-42"

// auditActor is the actor of the tests' requests.
func auditActor(u *models.User) models.Actor {
	return models.Actor{UserID: u.ID, Email: u.Email, IP: "203.0.113.7", UserAgent: "audit-test/1.0", Source: "api"}
}

// auditUser creates an active user through the store.
func auditUser(t *testing.T, store *models.Store, email string) *models.User {
	t.Helper()
	u, err := store.CreateUser(context.Background(), models.NewUser{
		Name: "Audit " + email, Email: email, Password: auditPassword, IsActive: true,
	})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// auditEvents returns every event matching f, oldest first.
func auditEvents(t *testing.T, store *models.Store, f models.AuditFilter) []models.AuditEvent {
	t.Helper()
	var out []models.AuditEvent
	if err := store.EachAuditEvent(context.Background(), f, func(ev models.AuditEvent) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatalf("EachAuditEvent: %v", err)
	}
	return out
}

// auditCount is the number of events in the table.
func auditCount(t *testing.T, store *models.Store) int64 {
	t.Helper()
	var n int64
	if err := store.DB().Model(&models.AuditEvent{}).Count(&n).Error; err != nil {
		t.Fatalf("count audit events: %v", err)
	}
	return n
}

// countRows counts the rows of model's table that match where and args.
func countRows(t *testing.T, db *gorm.DB, model any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Model(model).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatalf("count %T where %s: %v", model, where, err)
	}
	return n
}

// auditChanges decodes an event's changes.
func auditChanges(t *testing.T, ev models.AuditEvent) map[string]models.Change {
	t.Helper()
	var m map[string]models.Change
	if err := json.Unmarshal([]byte(ev.Changes), &m); err != nil {
		t.Fatalf("event %d: changes %q are not a JSON object: %v", ev.ID, ev.Changes, err)
	}
	return m
}

// wantEvent checks the who/what/where of ev.
func wantEvent(t *testing.T, ev models.AuditEvent, a models.Actor, action, objectType string, objectID int64, outcome string) {
	t.Helper()
	var uid, oid int64
	if ev.UserID != nil {
		uid = *ev.UserID
	}
	if ev.ObjectID != nil {
		oid = *ev.ObjectID
	}
	got := [...]any{ev.Action, ev.ObjectType, oid, uid, ev.UserEmail, ev.IP, ev.UserAgent, ev.Source, ev.Outcome}
	want := [...]any{action, objectType, objectID, a.UserID, a.Email, a.IP, a.UserAgent, a.Source, outcome}
	if got != want {
		t.Errorf("event %d: (action, object type, object id, user id, email, ip, user agent, source, outcome)\n got %v\nwant %v", ev.ID, got, want)
	}
	if ev.At.IsZero() || time.Since(ev.At) > time.Minute || time.Until(ev.At) > time.Minute {
		t.Errorf("event %d: at = %v, want about now", ev.ID, ev.At)
	}
}

// Every mapping endpoint leaves its event, as the patients' do: a create
// naming its patient and doctor, a list, a view of the patient whose
// doctors are read, a delete; a delete that finds nothing of the caller's
// records nothing.
func TestAuditMappingActions(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	owner := auditUser(t, store, "mapper@example.com")
	other := auditUser(t, store, "other@example.com")
	actor := auditActor(owner)
	ctx := models.WithActor(context.Background(), actor)
	p := &models.Patient{Name: "Ann"}
	if err := store.CreatePatient(ctx, owner.ID, p); err != nil {
		t.Fatal(err)
	}
	d := &models.Doctor{Name: "Dr Bo", Specialization: "Cardiology", Email: "bo@clinic.example"}
	if err := store.CreateDoctor(ctx, owner.ID, d); err != nil {
		t.Fatal(err)
	}
	m := &models.Mapping{PatientID: p.ID, DoctorID: d.ID}
	if err := store.CreateMapping(ctx, owner.ID, m); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Mappings(ctx, owner.ID, models.MappingFilter{}, models.ListQuery{Page: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Mappings(ctx, owner.ID, models.MappingFilter{PatientID: p.ID}, models.ListQuery{Page: 1}); err != nil {
		t.Fatal(err)
	}
	viewsBefore := len(auditEvents(t, store, models.AuditFilter{Action: models.ActionView, ObjectType: models.ObjectPatient, ObjectID: p.ID}))
	if _, err := store.PatientDoctors(ctx, owner.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	if got := len(auditEvents(t, store, models.AuditFilter{Action: models.ActionView, ObjectType: models.ObjectPatient, ObjectID: p.ID})); got != viewsBefore+1 {
		t.Errorf("reading a patient's doctors: %d views of the patient recorded, want 1", got-viewsBefore)
	}
	otherCtx := models.WithActor(context.Background(), auditActor(other))
	if err := store.DeleteMapping(otherCtx, other.ID, m.ID); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("another user's DeleteMapping: %v, want NotFound", err)
	}
	if err := store.DeleteMapping(ctx, owner.ID, m.ID+1000); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("DeleteMapping of nothing: %v, want NotFound", err)
	}
	if err := store.DeleteMapping(ctx, owner.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	evs := auditEvents(t, store, models.AuditFilter{ObjectType: models.ObjectMapping})
	want := []struct {
		action string
		id     int64
	}{{models.ActionCreate, m.ID}, {models.ActionList, 0}, {models.ActionList, 0}, {models.ActionDelete, m.ID}}
	if len(evs) != len(want) {
		t.Fatalf("%d mapping events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		wantEvent(t, evs[i], actor, w.action, models.ObjectMapping, w.id, models.OutcomeSuccess)
	}
	if c := auditChanges(t, evs[0]); c["patient_id"].New != float64(p.ID) || c["doctor_id"].New != float64(d.ID) {
		t.Errorf("create changes = %v, want its patient and doctor", c)
	}
}

func TestAuditPatientActions(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	owner := auditUser(t, store, "owner@example.com")
	actor := auditActor(owner)
	ctx := models.WithActor(context.Background(), actor)
	patientEvents := models.AuditFilter{ObjectType: models.ObjectPatient}

	p := &models.Patient{Name: "Ann", Phone: "555 0100", MedicalHistory: "asthma"}
	if err := store.CreatePatient(ctx, owner.ID, p); err != nil {
		t.Fatalf("CreatePatient: %v", err)
	}
	evs := auditEvents(t, store, patientEvents)
	if len(evs) != 1 {
		t.Fatalf("after create: %d patient events, want 1", len(evs))
	}
	wantEvent(t, evs[0], actor, models.ActionCreate, models.ObjectPatient, p.ID, models.OutcomeSuccess)

	if _, err := store.UpdatePatient(ctx, owner.ID, p.ID, func(upd *models.Patient) error {
		upd.Name, upd.Phone, upd.MedicalHistory = "Ann Smith", "555 0199", "asthma, penicillin allergy"
		return nil
	}); err != nil {
		t.Fatalf("UpdatePatient: %v", err)
	}
	if _, err := store.ViewPatient(ctx, owner.ID, p.ID); err != nil {
		t.Fatalf("ViewPatient: %v", err)
	}
	if _, err := store.Patients(ctx, owner.ID, models.ListQuery{Page: 1}); err != nil {
		t.Fatalf("Patients: %v", err)
	}
	if err := store.DeletePatient(ctx, owner.ID, p.ID); err != nil {
		t.Fatalf("DeletePatient: %v", err)
	}

	evs = auditEvents(t, store, patientEvents)
	wantActions := []string{models.ActionCreate, models.ActionUpdate, models.ActionView, models.ActionList, models.ActionDelete}
	if len(evs) != len(wantActions) {
		t.Fatalf("%d patient events, want %d (%v)", len(evs), len(wantActions), wantActions)
	}
	for i, action := range wantActions {
		id := p.ID
		if action == models.ActionList {
			id = 0 // a list names no single record
		}
		wantEvent(t, evs[i], actor, action, models.ObjectPatient, id, models.OutcomeSuccess)
	}

	// The update names exactly the changed fields, old and new.
	changes := auditChanges(t, evs[1])
	want := map[string]models.Change{
		"name":            {Old: "Ann", New: "Ann Smith"},
		"phone":           {Old: "555 0100", New: "555 0199"},
		"medical_history": {Old: "asthma", New: "asthma, penicillin allergy"},
	}
	if len(changes) != len(want) {
		t.Errorf("update changes = %v, want exactly %v", changes, want)
	}
	for field, w := range want {
		if got := changes[field]; got != w {
			t.Errorf("update changes[%q] = %+v, want %+v", field, got, w)
		}
	}
}

func TestAuditAuthActions(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	web := models.Actor{IP: "198.51.100.23", UserAgent: "audit-browser/2.0", Source: "api"}
	ctx := models.WithActor(context.Background(), web)

	u, err := store.CreateUser(ctx, models.NewUser{Name: "Bob", Email: " Bob@Example.COM ", Password: auditPassword, IsActive: true})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := store.Authenticate(ctx, "BOB@example.com", auditPassword); err != nil {
		t.Fatalf("Authenticate (right password): %v", err)
	}
	if _, err := store.Authenticate(ctx, "bob@example.com", "wrong-"+auditPassword); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("Authenticate (wrong password) = %v, want unauthorized", err)
	}
	if _, err := store.Authenticate(ctx, " Nobody@Example.com", auditPassword); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("Authenticate (unknown email) = %v, want unauthorized", err)
	}
	// A password typed into the email field is not kept.
	if _, err := store.Authenticate(ctx, auditPassword, auditPassword); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("Authenticate (a password as the email) = %v, want unauthorized", err)
	}

	// Token events carry the authenticated user, as the API's middleware
	// puts it in the context.
	as := web
	as.UserID, as.Email = u.ID, u.Email
	actx := models.WithActor(context.Background(), as)
	exp := time.Now().Add(time.Hour)
	if _, err := store.StartTokenFamily(actx, u,
		models.IssuedToken{JTI: "access-1", Type: models.AccessToken, ExpiresAt: exp},
		models.IssuedToken{JTI: "refresh-1", Type: models.RefreshToken, ExpiresAt: exp}); err != nil {
		t.Fatalf("StartTokenFamily: %v", err)
	}
	if err := store.RotateRefresh(actx, "refresh-1", u.ID,
		models.IssuedToken{JTI: "access-2", Type: models.AccessToken, ExpiresAt: exp},
		models.IssuedToken{JTI: "refresh-2", Type: models.RefreshToken, ExpiresAt: exp}); err != nil {
		t.Fatalf("RotateRefresh: %v", err)
	}
	if err := store.Logout(actx, u.ID, "refresh-2", "access-2"); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	// A spent refresh token presented again: refused, and recorded as a
	// failed refresh that revoked the family.
	if err := store.RotateRefresh(actx, "refresh-1", u.ID); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("RotateRefresh (reused) = %v, want unauthorized", err)
	}
	if err := store.RevokeUserTokens(actx, u.ID); err != nil {
		t.Fatalf("RevokeUserTokens: %v", err)
	}

	evs := auditEvents(t, store, models.AuditFilter{})
	type want struct {
		action, objectType string
		objectID, userID   int64
		email, outcome     string
	}
	wants := []want{
		{models.ActionCreate, models.ObjectUser, u.ID, 0, "", models.OutcomeSuccess},
		{models.ActionLogin, models.ObjectUser, u.ID, u.ID, "bob@example.com", models.OutcomeSuccess},
		{models.ActionLoginFailed, models.ObjectUser, 0, u.ID, "bob@example.com", models.OutcomeFailure},
		{models.ActionLoginFailed, models.ObjectUser, 0, 0, "nobody@example.com", models.OutcomeFailure},
		{models.ActionLoginFailed, models.ObjectUser, 0, 0, "(not an email address)", models.OutcomeFailure},
		{models.ActionTokenRefresh, models.ObjectToken, 0, u.ID, "bob@example.com", models.OutcomeSuccess},
		{models.ActionLogout, models.ObjectToken, 0, u.ID, "bob@example.com", models.OutcomeSuccess},
		{models.ActionTokenRefresh, models.ObjectToken, 0, u.ID, "bob@example.com", models.OutcomeFailure},
		{models.ActionLogout, models.ObjectToken, 0, u.ID, "bob@example.com", models.OutcomeSuccess},
	}
	if len(evs) != len(wants) {
		for _, ev := range evs {
			t.Logf("event %d: %s %s %s", ev.ID, ev.Action, ev.ObjectType, ev.Outcome)
		}
		t.Fatalf("%d events, want %d", len(evs), len(wants))
	}
	for i, w := range wants {
		a := web
		a.UserID, a.Email = w.userID, w.email
		wantEvent(t, evs[i], a, w.action, w.objectType, w.objectID, w.outcome)
	}
	if c := auditChanges(t, evs[7]); c["reused_token_family"].New != "revoked" {
		t.Errorf("reused refresh event changes = %v, want reused_token_family revoked", c)
	}
	if c := auditChanges(t, evs[8]); c["scope"].New != "all" {
		t.Errorf("logout-all event changes = %v, want scope all", c)
	}
}

// A write that fails records nothing: no "success" for what did not happen.
func TestAuditFailedWritesRecordNothing(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	owner := auditUser(t, store, "owner@example.com")
	other := auditUser(t, store, "other@example.com")
	ctx := models.WithActor(context.Background(), auditActor(owner))
	mine := &models.Patient{Name: "Mine"}
	if err := store.CreatePatient(ctx, owner.ID, mine); err != nil {
		t.Fatalf("CreatePatient: %v", err)
	}
	theirs := &models.Patient{Name: "Theirs"}
	if err := store.CreatePatient(models.WithActor(context.Background(), auditActor(other)), other.ID, theirs); err != nil {
		t.Fatalf("CreatePatient: %v", err)
	}
	doc := &models.Doctor{Name: "Dr Who", Specialization: "General", Email: "who@clinic.example"}
	if err := store.CreateDoctor(ctx, owner.ID, doc); err != nil {
		t.Fatalf("CreateDoctor: %v", err)
	}

	tests := []struct {
		name     string
		write    func() error
		wantCode string
	}{
		{"create invalid patient", func() error {
			return store.CreatePatient(ctx, owner.ID, &models.Patient{Name: " ", Gender: "robot"})
		}, models.Invalid},
		{"update invalid patient", func() error {
			_, err := store.UpdatePatient(ctx, owner.ID, mine.ID, func(p *models.Patient) error { p.Email = "not an email"; return nil })
			return err
		}, models.Invalid},
		{"update another user's patient", func() error {
			_, err := store.UpdatePatient(ctx, owner.ID, theirs.ID, func(p *models.Patient) error { p.Name = "Stolen"; return nil })
			return err
		}, models.NotFound},
		{"delete another user's patient", func() error {
			return store.DeletePatient(ctx, owner.ID, theirs.ID)
		}, models.NotFound},
		{"duplicate user email", func() error {
			_, err := store.CreateUser(ctx, models.NewUser{Name: "Again", Email: "OWNER@example.com", Password: auditPassword, IsActive: true})
			return err
		}, models.Invalid},
		{"duplicate doctor email", func() error {
			return store.CreateDoctor(ctx, owner.ID, &models.Doctor{Name: "Dr Two", Specialization: "General", Email: "WHO@clinic.example"})
		}, models.Invalid},
		{"logout with an unknown refresh token", func() error {
			return store.Logout(ctx, owner.ID, "no-such-jti", "no-such-access")
		}, models.Unauthorized},
	}
	for _, tt := range tests {
		before := auditCount(t, store)
		err := tt.write()
		if code := models.ErrorCode(err); code != tt.wantCode {
			t.Errorf("%s: error = %v (code %q), want code %q", tt.name, err, code, tt.wantCode)
		}
		if after := auditCount(t, store); after != before {
			t.Errorf("%s: audit events %d -> %d, want none added", tt.name, before, after)
		}
	}
	got, err := store.Patient(context.Background(), other.ID, theirs.ID)
	if err != nil || got.Name != "Theirs" {
		t.Errorf("other user's patient after the attempts = %+v, %v; want unchanged", got, err)
	}
}

// auditBlockInserts makes every audit insert fail, as a full disk or a
// broken audit table would.
func auditBlockInserts(t *testing.T, store *models.Store) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER audit_test_block BEFORE INSERT ON audit_events
		BEGIN SELECT RAISE(ABORT, 'audit test: insert refused'); END`}
	if store.DB().Dialector.Name() == models.Postgres {
		stmts = []string{
			`CREATE FUNCTION audit_test_block() RETURNS trigger AS $$
			 BEGIN RAISE EXCEPTION 'audit test: insert refused'; END; $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER audit_test_block BEFORE INSERT ON audit_events
			 FOR EACH ROW EXECUTE FUNCTION audit_test_block()`,
		}
	}
	for _, s := range stmts {
		if err := store.DB().Exec(s).Error; err != nil {
			t.Fatalf("block audit inserts: %v", err)
		}
	}
}

// The other half of "same transaction": when the event cannot be written,
// the write it records does not happen either.
func TestAuditWriteNeverWithoutItsEvent(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	owner := auditUser(t, store, "owner@example.com")
	ctx := models.WithActor(context.Background(), auditActor(owner))
	p := &models.Patient{Name: "Before"}
	if err := store.CreatePatient(ctx, owner.ID, p); err != nil {
		t.Fatalf("CreatePatient: %v", err)
	}
	auditBlockInserts(t, store)

	if err := store.CreatePatient(ctx, owner.ID, &models.Patient{Name: "Ghost"}); err == nil {
		t.Error("CreatePatient with audit inserts failing: no error")
	}
	if _, err := store.UpdatePatient(ctx, owner.ID, p.ID, func(upd *models.Patient) error { upd.Name = "After"; return nil }); err == nil {
		t.Error("UpdatePatient with audit inserts failing: no error")
	}
	if err := store.DeletePatient(ctx, owner.ID, p.ID); err == nil {
		t.Error("DeletePatient with audit inserts failing: no error")
	}
	if _, err := store.ViewPatient(ctx, owner.ID, p.ID); err == nil {
		t.Error("ViewPatient with audit inserts failing: no error (an unaudited read of a record)")
	}

	var patients []models.Patient
	if err := store.DB().Find(&patients).Error; err != nil {
		t.Fatal(err)
	}
	if len(patients) != 1 || patients[0].ID != p.ID || patients[0].Name != "Before" {
		t.Errorf("patients after failed writes = %+v, want only #%d named Before", patients, p.ID)
	}
}

// Events cannot be changed or removed, not even with raw SQL through the
// application's own connection: the database refuses.
func TestAuditEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	owner := auditUser(t, store, "owner@example.com")
	ctx := models.WithActor(context.Background(), auditActor(owner))
	if err := store.CreatePatient(ctx, owner.ID, &models.Patient{Name: "Ann"}); err != nil {
		t.Fatalf("CreatePatient: %v", err)
	}
	before := auditEvents(t, store, models.AuditFilter{})
	db := store.DB()
	attempts := map[string]func() error{
		"UPDATE one": func() error {
			return db.Exec("UPDATE audit_events SET action = 'view' WHERE id = ?", before[0].ID).Error
		},
		"UPDATE all":  func() error { return db.Exec("UPDATE audit_events SET user_email = ''").Error },
		"DELETE one":  func() error { return db.Exec("DELETE FROM audit_events WHERE id = ?", before[0].ID).Error },
		"DELETE all":  func() error { return db.Exec("DELETE FROM audit_events").Error },
		"GORM Delete": func() error { return db.Where("1 = 1").Delete(&models.AuditEvent{}).Error },
		"GORM Update": func() error {
			return db.Model(&models.AuditEvent{}).Where("id = ?", before[0].ID).Update("outcome", "failure").Error
		},
	}
	if db.Dialector.Name() == models.Postgres {
		attempts["TRUNCATE"] = func() error { return db.Exec("TRUNCATE audit_events").Error }
	}
	for name, attempt := range attempts {
		err := attempt()
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s on audit_events: error = %v, want the append-only trigger's refusal", name, err)
		}
	}
	after := auditEvents(t, store, models.AuditFilter{})
	if len(after) != len(before) {
		t.Fatalf("events %d -> %d after refused attempts", len(before), len(after))
	}
	for i := range before {
		b, _ := json.Marshal(before[i])
		a, _ := json.Marshal(after[i])
		if string(a) != string(b) {
			t.Errorf("event changed:\nbefore %s\n after %s", b, a)
		}
	}
	// Appending still works.
	if _, err := store.Patients(ctx, owner.ID, models.ListQuery{Page: 1}); err != nil {
		t.Fatalf("Patients: %v", err)
	}
	if n := len(auditEvents(t, store, models.AuditFilter{})); n != len(before)+1 {
		t.Errorf("events after a list = %d, want %d", n, len(before)+1)
	}
}

// No event holds a password or a password hash, whatever the action.
func TestAuditNeverHoldsSecrets(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := models.WithActor(context.Background(), models.Actor{IP: "192.0.2.1", UserAgent: "audit-test", Source: "api"})
	u := auditUser(t, store, "secret@example.com")
	if _, err := store.Authenticate(ctx, u.Email, auditPassword); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if _, err := store.Authenticate(ctx, u.Email, "typo-"+auditPassword); err == nil {
		t.Fatal("Authenticate with a wrong password succeeded")
	}
	const newPassword = "second-Horse-battery-77"
	if err := store.SetUserPassword(ctx, u.ID, newPassword, ""); err != nil {
		t.Fatalf("SetUserPassword: %v", err)
	}
	changed, err := store.User(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	admin := admStoreUser(t, store, "audit-admin@clinic.example", true)
	if _, err := store.AdminUpdateUser(ctx, admin, u.ID, models.UserChanges{Name: "Renamed", Email: u.Email, IsActive: true, IsStaff: true}); err != nil {
		t.Fatalf("AdminUpdateUser: %v", err)
	}

	secrets := []string{auditPassword, "typo-" + auditPassword, newPassword, u.PasswordHash, changed.PasswordHash, "$argon2id$"}
	evs := auditEvents(t, store, models.AuditFilter{})
	if len(evs) < 5 {
		t.Fatalf("only %d events recorded", len(evs))
	}
	for _, ev := range evs {
		raw, _ := json.Marshal(ev)
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Errorf("event %d (%s %s) contains a secret %.12q...: %s", ev.ID, ev.Action, ev.ObjectType, s, raw)
			}
		}
	}
}

// An operator's export interrupted part-way (Ctrl-C cancels its context) is
// recorded all the same, as a failure with the events it wrote.
func TestAuditInterruptedExportIsRecorded(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	u := auditUser(t, store, "interrupted@example.com")
	for i := 0; i < 3; i++ {
		if _, err := store.Authenticate(models.WithActor(context.Background(), auditActor(u)), u.Email, "wrong-"+auditPassword); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	ctx, cancel := context.WithCancel(models.WithActor(context.Background(), models.Actor{Email: "operator", Source: "cli"}))
	defer cancel()
	n, err := store.ExportAuditEvents(ctx, models.AuditFilter{}, func(models.AuditEvent) error {
		cancel()
		return ctx.Err()
	}, nil)
	if err == nil || n != 0 {
		t.Fatalf("interrupted export: %d events, %v", n, err)
	}
	evs := auditEvents(t, store, models.AuditFilter{Action: models.ActionExport})
	if len(evs) != 1 || evs[0].Outcome != models.OutcomeFailure || evs[0].ObjectType != models.ObjectAuditLog {
		t.Fatalf("export events = %+v, want one failed export of the audit log", evs)
	}
	if !strings.Contains(evs[0].Changes, `"events"`) {
		t.Errorf("changes = %s, want the number of events written", evs[0].Changes)
	}
}

// The audit log filtered to the last day there is (9999-12-31, so an
// exclusive end in year 10000) holds every event, on both engines (SQLite
// compares times as text: it found none).
func TestAuditFilterToTheLastDay(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	auditUser(t, store, "lastday@example.com")
	all := auditEvents(t, store, models.AuditFilter{})
	if len(all) == 0 {
		t.Fatal("no events to filter")
	}
	end := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Add(24 * time.Hour)
	if got := auditEvents(t, store, models.AuditFilter{To: end}); len(got) != len(all) {
		t.Fatalf("events before %v: %d, want all %d", end, len(got), len(all))
	}
	if got := auditEvents(t, store, models.AuditFilter{To: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}); len(got) != 0 {
		t.Fatalf("events before 2000: %d, want none", len(got))
	}
}

// An admin export that fails, and whose failure cannot be recorded either,
// returns both errors: the trail then shows a whole export where part of
// one went out, and the caller's log is the only place that says so.
func TestAuditExportFailureNotRecordedIsReported(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	u := auditUser(t, store, "exporter@example.com")
	errAudit := errors.New("injected audit failure")
	var failAudits atomic.Bool
	if err := store.DB().Callback().Create().Before("gorm:create").Register("test:fail_audits", func(db *gorm.DB) {
		if db.Statement.Table == "audit_events" && failAudits.Load() {
			_ = db.AddError(errAudit)
		}
	}); err != nil {
		t.Fatal(err)
	}
	errRun := errors.New("injected export failure")
	ctx := models.WithActor(context.Background(), auditActor(u))
	err := store.EachAdminAuditEvent(ctx, models.AdminAuditFilter{}, func(models.AuditEvent) error {
		failAudits.Store(true)
		return errRun
	})
	if !errors.Is(err, errRun) || !strings.Contains(err.Error(), errAudit.Error()) {
		t.Fatalf("export error = %v, want the export's failure and the audit's", err)
	}
	if evs := auditEvents(t, store, models.AuditFilter{Action: models.ActionExport}); len(evs) != 1 || evs[0].Outcome != models.OutcomeSuccess {
		t.Fatalf("export events = %+v, want only the export's start", evs)
	}
}
