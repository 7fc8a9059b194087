package models

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"gorm.io/gorm"
)

// Audit actions.
const (
	ActionView         = "view"
	ActionList         = "list"
	ActionCreate       = "create"
	ActionUpdate       = "update"
	ActionDelete       = "delete"
	ActionLogin        = "login"
	ActionLoginFailed  = "login_failed"
	ActionLogout       = "logout"
	ActionTokenRefresh = "token_refresh"
)

// Audited object types.
const (
	ObjectPatient = "patient"
	ObjectDoctor  = "doctor"
	ObjectMapping = "mapping"
	ObjectUser    = "user"
	ObjectToken   = "token"
	// ObjectAuditLog is the audit trail itself: exporting it is audited too.
	ObjectAuditLog = "audit_log"
)

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// AuditEvent records who did what to which record, when, from where, and
// with what outcome (HIPAA §164.312(b)). Events are append-only: the Store
// has no method that changes or deletes one, and database triggers refuse
// UPDATE and DELETE on the table.
type AuditEvent struct {
	ID         int64     `gorm:"primaryKey"`
	At         time.Time `gorm:"not null;index"`
	UserID     *int64    `gorm:"index"` // no foreign key: events outlive users
	UserEmail  string    `gorm:"size:254;not null"`
	Action     string    `gorm:"size:20;not null;index"`
	ObjectType string    `gorm:"size:20;not null;index:idx_audit_object,priority:1"`
	ObjectID   *int64    `gorm:"index:idx_audit_object,priority:2"`
	IP         string    `gorm:"size:64;not null"`
	UserAgent  string    `gorm:"size:512;not null"`
	Source     string    `gorm:"size:10;not null"` // api, admin or cli
	Outcome    string    `gorm:"size:10;not null"`
	// Changes holds, for updates, {"field": {"old": ..., "new": ...}}.
	Changes string `gorm:"type:text;not null"`
}

// Actor is who acts and from where. Handlers put it in the request context
// once; the Store reads it when it writes audit events, so no query method
// needs extra parameters.
type Actor struct {
	UserID    int64
	Email     string
	IP        string
	UserAgent string
	Source    string
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx (zero if none).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Change is one field's old and new value.
type Change struct {
	Old any `json:"old"`
	New any `json:"new"`
}

// auditEntry describes one event to record.
type auditEntry struct {
	action, objectType string
	objectID           int64
	outcome            string
	changes            map[string]Change
	// user overrides the actor's identity (login, where the request has no
	// authenticated user yet).
	userID *int64
	email  string
}

// record writes one audit event with db (a transaction when it records a
// write, so the event commits or rolls back with it).
func record(ctx context.Context, db *gorm.DB, now time.Time, e auditEntry) error {
	ev, err := newAuditEvent(ctx, now, e)
	if err != nil {
		return err
	}
	return db.Create(&ev).Error
}

// newAuditEvent is the event of e, by the actor of ctx, at now.
func newAuditEvent(ctx context.Context, now time.Time, e auditEntry) (AuditEvent, error) {
	a := ActorFrom(ctx)
	ev := AuditEvent{
		At: now, UserEmail: a.Email, Action: e.action, ObjectType: e.objectType,
		IP: truncate(a.IP, 64), UserAgent: truncate(a.UserAgent, 512), Source: a.Source, Outcome: e.outcome,
		Changes: "{}",
	}
	if ev.Source == "" {
		ev.Source = "api"
	}
	if ev.Outcome == "" {
		ev.Outcome = OutcomeSuccess
	}
	if a.UserID != 0 {
		uid := a.UserID
		ev.UserID = &uid
	}
	if e.userID != nil {
		ev.UserID, ev.UserEmail = e.userID, e.email
	} else if e.email != "" {
		ev.UserEmail = e.email
	}
	ev.UserEmail = truncate(ev.UserEmail, 254)
	if e.objectID != 0 {
		oid := e.objectID
		ev.ObjectID = &oid
	}
	if len(e.changes) > 0 {
		raw, err := json.Marshal(e.changes)
		if err != nil {
			return ev, fmt.Errorf("audit: encode changes: %w", err)
		}
		ev.Changes = string(raw)
	}
	return ev, nil
}

// audit records an event outside any transaction (reads, failed logins),
// sharing its INSERT and commit with concurrent ones (auditWriter).
func (s *Store) audit(ctx context.Context, e auditEntry) error {
	if e.outcome == OutcomeFailure {
		// A failure records a check that was made (a wrong password, a
		// reused token): it is written, and reported written, whether or
		// not the client waits for the answer (see Finishing).
		var cancel context.CancelFunc
		ctx, cancel = Finishing(ctx)
		defer cancel()
	}
	ev, err := newAuditEvent(ctx, s.db.NowFunc(), e)
	if err != nil {
		return err
	}
	return translate(s.audits.write(ctx, ev))
}

// truncate makes s storable text of at most n code points. Headers such
// as User-Agent may carry bytes PostgreSQL refuses in text: invalid UTF-8
// becomes U+FFFD and NUL is dropped.
func truncate(s string, n int) string {
	s = storableText(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// diff returns the fields whose values differ between old and new, two
// maps of field name to value.
func diff(old, new map[string]any) map[string]Change {
	out := map[string]Change{}
	for k, nv := range new {
		if ov := old[k]; !reflect.DeepEqual(ov, nv) {
			out[k] = Change{Old: ov, New: nv}
		}
	}
	return out
}

// AuditFilter narrows a listing of audit events; zero values match all.
type AuditFilter struct {
	From, To   time.Time // To is exclusive
	UserID     int64
	Action     string
	ObjectType string
	ObjectID   int64
	// UpToID, when set, leaves out events recorded after event UpToID: the
	// pages of a history stay put while its reading adds views.
	UpToID int64
}

func (s *Store) auditQuery(ctx context.Context, f AuditFilter) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&AuditEvent{})
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From.UTC())
	}
	// An end past year 9999 (the day after 9999-12-31) bounds nothing; and
	// SQLite, comparing times as text, would read year 10000 as before
	// every event.
	if !f.To.IsZero() && f.To.UTC().Year() <= 9999 {
		q = q.Where("at < ?", f.To.UTC())
	}
	if f.UserID != 0 {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ObjectType != "" {
		q = q.Where("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != 0 {
		q = q.Where("object_id = ?", f.ObjectID)
	}
	if f.UpToID != 0 {
		q = q.Where("id <= ?", f.UpToID)
	}
	return q
}

// EachAuditEvent calls fn for every event matching f, oldest first, reading
// in batches so an export of any size runs in constant memory.
func (s *Store) EachAuditEvent(ctx context.Context, f AuditFilter, fn func(AuditEvent) error) error {
	return eachAuditEvent(func() *gorm.DB { return s.auditQuery(ctx, f) }, fn)
}

// eachAuditEvent calls fn for every event of the query that query returns,
// oldest first, in keyset batches by id (constant memory, and no batch
// re-reads the ones before it).
func eachAuditEvent(query func() *gorm.DB, fn func(AuditEvent) error) error {
	const batchSize = 500
	var after int64
	for {
		var batch []AuditEvent
		if err := query().Where("id > ?", after).Order("id").Limit(batchSize).Find(&batch).Error; err != nil {
			return translate(err)
		}
		for _, ev := range batch {
			if err := fn(ev); err != nil {
				return err
			}
		}
		if len(batch) < batchSize {
			return nil
		}
		after = batch[len(batch)-1].ID
	}
}

// ExportAuditEvents is EachAuditEvent for an operator's export: when it
// ends it records, as an export of the audit log, who exported which range
// and how many events, with the outcome (the admin panel's CSV exports,
// of patient data among others, are recorded before their first row
// instead, so that nothing leaves unrecorded). finish (if not nil) runs
// after the last event and before the record: an export whose output
// fails there (a buffer flushed to a full disk) is recorded as failed. It
// returns the number of events fn took without an error.
func (s *Store) ExportAuditEvents(ctx context.Context, f AuditFilter, fn func(AuditEvent) error, finish func() error) (int64, error) {
	var n int64
	err := s.EachAuditEvent(ctx, f, func(ev AuditEvent) error {
		if err := fn(ev); err != nil {
			return err
		}
		n++
		return nil
	})
	if err == nil && finish != nil {
		err = finish()
	}
	changes := map[string]Change{"events": {New: n}}
	if !f.From.IsZero() {
		changes["from"] = Change{New: f.From.UTC().Format(time.RFC3339)}
	}
	if !f.To.IsZero() {
		changes["to_exclusive"] = Change{New: f.To.UTC().Format(time.RFC3339)}
	}
	outcome := OutcomeSuccess
	if err != nil {
		outcome = OutcomeFailure
	}
	// An interrupted export (Ctrl-C cancels ctx) is recorded all the same.
	ctx = context.WithoutCancel(ctx)
	if aerr := s.audit(ctx, auditEntry{action: ActionExport, objectType: ObjectAuditLog, outcome: outcome, changes: changes}); aerr != nil && err == nil {
		err = aerr
	}
	return n, err
}

// auditTriggers make the audit table append-only in the database itself,
// so not even a bug in this program can rewrite history.
var auditTriggers = map[string][]string{
	SQLite: {
		`CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
		 BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END`,
		`CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
		 BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END`,
	},
	Postgres: {
		`CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
		 BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql`,
		`DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events`,
		// TRUNCATE too: it deletes without firing DELETE triggers.
		`CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
		 FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`,
	},
}
