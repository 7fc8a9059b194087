package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/user"
	"time"

	"healthcare/models"
)

// dayRange is -audit-export's -from and -to: calendar days of the clinic
// (TIME_ZONE), as the audit log's From and To in the admin, so the same
// dates select the same events in both. Both are inclusive: "-from
// 2026-01-01 -to 2026-01-31" is all of January. Either may be zero for an
// open end (checkModes refuses them without -audit-export).
type dayRange struct{ first, last time.Time }

// parseDayRange reads -from and -to. The zone is applied later (filter):
// it is the configuration's, loaded after the flags.
func parseDayRange(from, to string) (dayRange, error) {
	var r dayRange
	day := func(flag, s string) (time.Time, error) {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s %q: want a date YYYY-MM-DD", flag, s)
		}
		return d, nil
	}
	var err error
	if from != "" {
		if r.first, err = day("-from", from); err != nil {
			return r, err
		}
	}
	if to != "" {
		if r.last, err = day("-to", to); err != nil {
			return r, err
		}
	}
	if !r.first.IsZero() && !r.last.IsZero() && r.first.After(r.last) {
		return r, fmt.Errorf("-from %s is after -to %s", from, to)
	}
	return r, nil
}

// filter is the range's events in the clinic's zone loc.
func (r dayRange) filter(loc *time.Location) models.AuditFilter {
	var f models.AuditFilter
	f.From, f.To = models.DaysIn(r.first, r.last, loc)
	return f
}

// auditLine is one exported event: the stored event with its changes as a
// JSON object rather than a string.
type auditLine struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	UserID     *int64          `json:"user_id"`
	UserEmail  string          `json:"user_email"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   *int64          `json:"object_id"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	Source     string          `json:"source"`
	Outcome    string          `json:"outcome"`
	Changes    json.RawMessage `json:"changes"`
}

func newAuditLine(ev models.AuditEvent) auditLine {
	changes := json.RawMessage(ev.Changes)
	if !json.Valid(changes) {
		// Never expected (the Store writes JSON), but a line must stay valid.
		changes, _ = json.Marshal(ev.Changes)
	}
	return auditLine{
		ID: ev.ID, At: ev.At.UTC(), UserID: ev.UserID, UserEmail: ev.UserEmail,
		Action: ev.Action, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID,
		IP: ev.IP, UserAgent: ev.UserAgent, Source: ev.Source, Outcome: ev.Outcome,
		Changes: changes,
	}
}

// cliActor is who acts in a command's audit events: the command line, as
// the operating-system user running it.
func cliActor() models.Actor {
	who := models.Actor{Source: "cli"}
	if u, err := user.Current(); err == nil {
		who.Email = "os-user:" + u.Username
	}
	return who
}

// runAuditExport writes every audit event in f to w as JSON lines, oldest
// first, in constant memory. The export is itself recorded in the audit
// trail (source "cli", with the operating-system user), after the events
// it wrote, so it never appears in its own output.
func runAuditExport(ctx context.Context, store *models.Store, f models.AuditFilter, w io.Writer) error {
	ctx = models.WithActor(ctx, cliActor())
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	// Flushed before the export is recorded: output that never arrived
	// (a full disk) makes it a failed export, not a successful one.
	_, err := store.ExportAuditEvents(ctx, f, func(ev models.AuditEvent) error {
		return enc.Encode(newAuditLine(ev))
	}, bw.Flush)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}
