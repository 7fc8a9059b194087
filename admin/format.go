package admin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"

	"healthcare/models"
	"healthcare/templates"
)

// Display formats. The panel shows times in the clinic's zone (TIME_ZONE),
// as Django's admin shows them in its TIME_ZONE, and names the zone in the
// label of the column or field that holds them (zoned): "Created
// (Asia/Tokyo)". CSV exports keep UTC, as the API does (a file may cross
// zones), and say so in their headers ("created_at_utc").
const (
	timeLayout = "2006-01-02 15:04:05"
	dateLayout = "2006-01-02"
)

// formatTime is t in loc (an export's is UTC), or "" for no time.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(timeLayout)
}

func formatTimePtr(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return formatTime(*t, loc)
}

// zoned is the label of a column or field of times shown in loc.
func zoned(label string, loc *time.Location) string { return label + " (" + loc.String() + ")" }

func formatDate(d *models.Date) string {
	if d == nil {
		return ""
	}
	return d.String()
}

func yesNo(b bool) templates.Cell {
	if b {
		return templates.Cell{Kind: "bool", Text: "Yes", Yes: true}
	}
	return templates.Cell{Kind: "bool", Text: "No"}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ellipsis cuts s to n characters.
func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// actionLabels are how audit actions read.
var actionLabels = map[string]string{
	models.ActionView: "Viewed", models.ActionList: "Listed", models.ActionExport: "Exported",
	models.ActionCreate: "Added", models.ActionUpdate: "Changed", models.ActionDelete: "Deleted",
	models.ActionLogin: "Logged in", models.ActionLoginFailed: "Login failed", models.ActionLogout: "Logged out",
	models.ActionTokenRefresh: "Refreshed token",
}

var sourceLabels = map[string]string{"api": "API", "admin": "Admin", "cli": "CLI"}

func label(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// event formats an audit event for display, its time in loc.
func event(ev *models.AuditEvent, loc *time.Location) templates.Event {
	out := templates.Event{
		When: formatTime(ev.At, loc), Who: ev.UserEmail, Action: label(actionLabels, ev.Action), Kind: ev.Action,
		Source: label(sourceLabels, ev.Source), IP: ev.IP, Outcome: ev.Outcome,
		Failed: ev.Outcome == models.OutcomeFailure,
	}
	if out.Who == "" {
		out.Who = "—"
	}
	out.Object = objectLabel(ev.ObjectType, ev.ObjectID)
	if r := resourceOf(ev.ObjectType); r != nil && ev.ObjectID != nil && ev.Action != models.ActionDelete {
		out.ObjectURL = r.objectURL(*ev.ObjectID)
	}
	for _, ch := range ev.FieldChanges() {
		c := templates.Change{Field: ch.Field, New: changeValue(ch.New)}
		if ch.Old != nil { // a field set for the first time has no old value to show
			c.Old = changeValue(ch.Old)
		}
		out.Changes = append(out.Changes, c)
	}
	return out
}

// objectTypeLabels are how the object types read whose capitalized name
// would not.
var objectTypeLabels = map[string]string{models.ObjectAuditLog: "Audit log"}

func objectTypeLabel(objectType string) string {
	if v, ok := objectTypeLabels[objectType]; ok || objectType == "" {
		return v
	}
	return strings.ToUpper(objectType[:1]) + objectType[1:]
}

func objectLabel(objectType string, id *int64) string {
	name := objectTypeLabel(objectType)
	if id == nil {
		if r := resourceOf(objectType); r != nil {
			return r.title
		}
		return name
	}
	return fmt.Sprintf("%s #%d", name, *id)
}

// changeValue formats one value of a change: JSON numbers without
// exponents, empty as a dash, long text cut.
func changeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "(empty)"
		}
		return ellipsis(x, 300)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return ellipsis(string(raw), 300)
}

// capitalize upper-cases the first letter of s ("male" → "Male").
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// isolated is s ready to go inside a sentence or label of the panel's own
// words: a name written right to left (Hebrew, Arabic) is set between
// Unicode's first-strong isolate and pop isolate marks, as <bdi> would set
// it. Without them the bidirectional algorithm lets the name and its
// neighbours reorder each other: "אבי 5 (#47)" showed as "(#47) 5 אבי",
// and an assignment of a Hebrew patient to a Hebrew doctor read right to
// left across its arrow, patient and doctor swapped. Text with no
// right-to-left letter is returned as it is.
func isolated(s string) string {
	for _, r := range s {
		if p, _ := bidi.LookupRune(r); p.Class() == bidi.R || p.Class() == bidi.AL {
			return "\u2068" + s + "\u2069"
		}
	}
	return s
}
