package models

import (
	"context"
	"encoding/json"
	"errors"
	"sort"

	"gorm.io/gorm"
)

// ActionExport is the audit action of an export: a CSV from the admin panel,
// or the audit trail from the command line (-audit-export).
const ActionExport = "export"

// Actions lists every audit action, for the audit log's filter.
var Actions = []string{
	ActionView, ActionList, ActionExport, ActionCreate, ActionUpdate, ActionDelete,
	ActionLogin, ActionLoginFailed, ActionLogout, ActionTokenRefresh,
}

// ObjectTypes lists every audited object type, for the audit log's filter.
var ObjectTypes = []string{ObjectPatient, ObjectDoctor, ObjectMapping, ObjectUser, ObjectToken, ObjectAuditLog}

// AdminAuditFilter narrows the audit log: AuditFilter plus the email the
// event was recorded with (failed logins of unknown emails have no user).
type AdminAuditFilter struct {
	AuditFilter
	Email string
}

// AdminAuditEvents returns page (from 1) of the events matching f, newest
// first, AdminPageSize to a page, clamped to the pages there are.
func (s *Store) AdminAuditEvents(ctx context.Context, f AdminAuditFilter, page int) (AdminPage[AuditEvent], error) {
	var out AdminPage[AuditEvent]
	q := s.adminAuditQuery(ctx, f)
	n, err := cappedCount(q, "audit_events.id", AdminCountLimit)
	if err != nil {
		return out, err
	}
	out.AdminPageInfo = pageOf(n, page)
	return out, fetchPage(q.Order("at DESC").Order("id DESC"), nil, &out.AdminPageInfo, &out.Items)
}

// EachAdminAuditEvent calls fn for every event matching f, oldest first (an
// export of the audit log, itself audited).
func (s *Store) EachAdminAuditEvent(ctx context.Context, f AdminAuditFilter, fn func(AuditEvent) error) error {
	return s.exportAudited(ctx, ObjectAuditLog, "", func() error {
		return eachAuditEvent(func() *gorm.DB { return s.adminAuditQuery(ctx, f) }, fn)
	})
}

// exportAudited runs an export of objectType from the admin panel. It is
// recorded before run reads anything, so no data leaves unrecorded, and if
// run fails (a refused filter, the database, the download cut), the failure
// is recorded too: the first event says what was asked, the second that
// not all of it went out.
//
// A search the lists refuse (too many words) is refused before anything is
// recorded: nothing was asked that could be read.
func (s *Store) exportAudited(ctx context.Context, objectType, search string, run func() error) error {
	if _, err := adminSearchWords(search); err != nil {
		return err
	}
	if err := s.audit(ctx, auditEntry{action: ActionExport, objectType: objectType}); err != nil {
		return err
	}
	err := run()
	if err != nil {
		// Even when the failure is the request's end (ctx cancelled). When
		// that record fails too, the caller's log must say so: the trail
		// then shows a whole export where part of one went out.
		aerr := s.audit(context.WithoutCancel(ctx), auditEntry{action: ActionExport, objectType: objectType, outcome: OutcomeFailure})
		err = errors.Join(err, aerr)
	}
	return err
}

func (s *Store) adminAuditQuery(ctx context.Context, f AdminAuditFilter) *gorm.DB {
	q := s.auditQuery(ctx, f.AuditFilter)
	if f.Email != "" {
		if !storable(f.Email) {
			return q.Where("1 = 0")
		}
		// Events recorded before an account's email took its one form
		// (migrateUserEmails) hold it as it was then.
		q = q.Where("user_email IN ?", emailSpellings(f.Email))
	}
	return q
}

// RecentActions returns the latest n changes userID made in the admin panel.
func (s *Store) RecentActions(ctx context.Context, userID int64, n int) ([]AuditEvent, error) {
	var out []AuditEvent
	err := s.db.WithContext(ctx).Where("user_id = ? AND source = ? AND action IN ?", userID, "admin",
		[]string{ActionCreate, ActionUpdate, ActionDelete}).
		Order("at DESC").Order("id DESC").Limit(n).Find(&out).Error
	return out, translate(err)
}

// History returns page (from 1) of the events of one object up to event
// upTo (0: all), newest first: its changes and, for patients, every view.
func (s *Store) History(ctx context.Context, objectType string, id int64, page int, upTo int64) (AdminPage[AuditEvent], error) {
	return s.AdminAuditEvents(ctx, AdminAuditFilter{AuditFilter: AuditFilter{ObjectType: objectType, ObjectID: id, UpToID: upTo}}, page)
}

// AuditAdminLogout records the end of an admin session of the actor.
func (s *Store) AuditAdminLogout(ctx context.Context) error {
	// Before the session's deletion, which it must not stop if the client
	// hangs up (see Finishing).
	ctx, cancel := Finishing(ctx)
	defer cancel()
	a := ActorFrom(ctx)
	return s.audit(ctx, auditEntry{action: ActionLogout, objectType: ObjectUser, objectID: a.UserID})
}

// AuditAdminDenied records a correct login of a user who may not use the
// admin panel (not staff), as a failure.
func (s *Store) AuditAdminDenied(ctx context.Context, u *User) error {
	return s.audit(ctx, auditEntry{action: ActionLoginFailed, objectType: ObjectUser, objectID: u.ID,
		outcome: OutcomeFailure, userID: &u.ID, email: u.Email,
		changes: map[string]Change{"reason": {New: "not staff"}}})
}

// FieldChange is one field's change of an audit event, for display.
type FieldChange struct {
	Field    string
	Old, New any
}

// FieldChanges decodes e's changes, sorted by field.
func (e *AuditEvent) FieldChanges() []FieldChange {
	var m map[string]Change
	if err := json.Unmarshal([]byte(e.Changes), &m); err != nil || len(m) == 0 {
		return nil
	}
	out := make([]FieldChange, 0, len(m))
	for k, c := range m {
		out = append(out, FieldChange{Field: k, Old: c.Old, New: c.New})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// AdminCounts are the sizes of the tables the dashboard shows.
type AdminCounts struct {
	Users, Patients, Doctors, Mappings TableSize
}

// TableSize is the number of rows of a table: exact up to
// exactCountLimit; beyond, PostgreSQL's estimate (Approx), or on SQLite
// the limit itself (AtLeast), so the dashboard never counts a big table.
type TableSize struct {
	N       int64
	Approx  bool
	AtLeast bool
}

const exactCountLimit = 10000

// Counts returns the number of rows of each admin model.
func (s *Store) Counts(ctx context.Context) (AdminCounts, error) {
	var c AdminCounts
	db := s.db.WithContext(ctx)
	for _, q := range []struct {
		table string
		n     *TableSize
	}{{"users", &c.Users}, {"patients", &c.Patients}, {"doctors", &c.Doctors}, {"mappings", &c.Mappings}} {
		n, err := cappedCount(db.Table(q.table), q.table+".id", exactCountLimit)
		if err != nil {
			return c, err
		}
		*q.n = TableSize{N: n}
		if n <= exactCountLimit {
			continue
		}
		*q.n = TableSize{N: exactCountLimit, AtLeast: true}
		if db.Dialector.Name() == Postgres {
			// reltuples: kept by VACUUM and ANALYZE (autovacuum), -1 before
			// the first.
			var est float64
			err := db.Raw(`SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)`, q.table).Scan(&est).Error
			if err == nil && est > exactCountLimit {
				*q.n = TableSize{N: int64(est), Approx: true}
			}
		}
	}
	return c, nil
}

// AdminRecordView audits a view of object id of objectType (ObjectPatient
// or ObjectMapping) shown from a record read with AdminPatient or
// AdminMapping, such as a form sent back with its errors: it names the
// patient as the audited page does.
func (s *Store) AdminRecordView(ctx context.Context, objectType string, id int64) error {
	return s.audit(ctx, auditEntry{action: ActionView, objectType: objectType, objectID: id})
}
