package admin

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// paramUpTo is the history's page anchor: the newest event its pages show.
const paramUpTo = "upto"

// history handles GET /admin/{plural}/{id}/history: every change of the
// object and, for patients, every view through the API and the panel.
// History shows old and new values, so reading a patient's is itself a
// recorded view.
func (a *Admin) history(res *resource) handlerFunc {
	return func(c *gin.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		name := ""
		switch res {
		case patients:
			p, err := a.store.AdminViewPatient(ctx, id)
			if err != nil {
				return err
			}
			name = p.Name
		case mappings:
			m, err := a.store.AdminViewMapping(ctx, id) // its patient's name is shown
			if err != nil {
				return err
			}
			name = mappingLabel(m)
		default:
			item, err := a.store.LookupLabel(ctx, res.objectType, id)
			if err != nil {
				return err
			}
			name = item.Label
		}
		// Reading a patient's history is a view, recorded above: each page
		// read adds an event. The pages count from the newest event the
		// first one showed (?upto=), so turning a page does not shift them.
		page, _ := strconv.Atoi(c.Query(paramPage))
		upTo, _ := strconv.ParseInt(c.Query(paramUpTo), 10, 64)
		events, err := a.store.History(ctx, res.objectType, id, page, max(upTo, 0))
		if err != nil {
			return err
		}
		links := c.Request.URL.Query()
		if upTo <= 0 && len(events.Items) > 0 && events.Number == 1 {
			links.Set(paramUpTo, strconv.FormatInt(events.Items[0].ID, 10))
		}
		// The list the record's change page was opened from goes on with it.
		kept := keptFilters(c, res)
		object := carrying(res.objectURL(id), kept)
		l, err := a.layout(c, "History: "+name, res.objectType,
			templates.Link{Label: res.title, URL: res.listURL(kept)}, templates.Link{Label: name, URL: object},
			templates.Link{Label: "History"})
		if err != nil {
			return err
		}
		vm := templates.History{Layout: l, Heading: "History: " + isolated(name), ObjectURL: object, When: zoned("When", a.zone())}
		if res == patients {
			vm.Note = "Every change and every view of this patient's record, through the API and this panel, newest first."
		}
		// Pages of a hundred: every view is an event, so a patient's
		// changes can lie thousands of events back.
		vm.Count = countLabel(events.AdminPageInfo, "event", "events")
		vm.Pagination = pagination(listState{res: &resource{path: res.objectURL(id) + "history/"}, values: links}, events.AdminPageInfo)
		showIP := currentUser(c).IsSuperuser
		for i := range events.Items {
			ev := event(&events.Items[i], a.zone())
			if !showIP {
				// Client addresses are the audit log's, which is for
				// superusers: plain staff see who, when and through what.
				ev.IP = ""
			}
			vm.Events = append(vm.Events, ev)
		}
		return render(c, http.StatusOK, templates.HistoryPage(vm))
	}
}

// auditFilter reads the audit log's filters from the query. A value not
// understood is refused, as the changelists' are (checkFilters): ignored,
// the log and its export would hold more than their link says. An empty
// field is no filter. The from and to days are days in loc, the clinic's.
func auditFilter(c *gin.Context, loc *time.Location) (f models.AdminAuditFilter, v formValues, err error) {
	v = formValues{}
	for _, k := range []string{"email", "action", "object_type", "object_id", "from", "to"} {
		v[k] = strings.TrimSpace(c.Query(k))
	}
	refused := func(key string) *models.Error {
		return models.Errorf(models.Invalid, "Unknown value for the audit log's %s filter.", strings.ReplaceAll(key, "_", " "))
	}
	f.Email = v["email"]
	if s := v["action"]; s != "" {
		if !slices.Contains(models.Actions, s) {
			return f, v, refused("action")
		}
		f.Action = s
	}
	if s := v["object_type"]; s != "" {
		if !slices.Contains(models.ObjectTypes, s) {
			return f, v, refused("object_type")
		}
		f.ObjectType = s
	}
	// The fields typed in (an id, two dates) are told apart from a choice
	// not offered: the page shows their messages on them (auditLog),
	// rather than a bare 400 page that loses the form.
	typed := models.FieldErrors{}
	if s := v["object_id"]; s != "" {
		if f.ObjectID, err = strconv.ParseInt(s, 10, 64); err != nil {
			typed.Add("object_id", "Enter a whole number.")
		} else if f.ObjectID < 1 {
			typed.Add("object_id", "Ensure this value is greater than or equal to 1.")
		}
	}
	// The days are the clinic's, as the times the log shows.
	var first, last time.Time
	if s := v["from"]; s != "" {
		if first, err = time.Parse(dateLayout, s); err != nil {
			typed.Add("from", "Enter a valid date.")
		}
	}
	if s := v["to"]; s != "" {
		if last, err = time.Parse(dateLayout, s); err != nil {
			typed.Add("to", "Enter a valid date.")
		}
	}
	for _, key := range []string{"object_id", "from", "to"} {
		if typed.Has(key) {
			e := refused(key)
			e.Fields = typed
			return f, v, e
		}
	}
	f.From, f.To = models.DaysIn(first, last, loc)
	return f, v, nil
}

// auditLog handles GET /admin/audit: superusers only.
func (a *Admin) auditLog(c *gin.Context) error {
	f, v, err := auditFilter(c, a.zone())
	var typed models.FieldErrors
	if e := (*models.Error)(nil); errors.As(err, &e) && e.Fields != nil {
		typed, err = e.Fields, nil // shown on their fields, below
	}
	if err != nil {
		return err
	}
	var events models.AdminPage[models.AuditEvent]
	if typed == nil {
		page, _ := strconv.Atoi(c.Query(paramPage))
		if events, err = a.store.AdminAuditEvents(c.Request.Context(), f, page); err != nil {
			return err
		}
	}
	l, err := a.layout(c, "Audit log", "audit", templates.Link{Label: "Audit log"})
	if err != nil {
		return err
	}
	actions := []choiceDef{{"Any action", ""}}
	for _, act := range models.Actions {
		actions = append(actions, choiceDef{label(actionLabels, act), act})
	}
	objects := []choiceDef{{"Any object", ""}}
	for _, t := range models.ObjectTypes {
		objects = append(objects, choiceDef{objectTypeLabel(t), t})
	}
	vm := templates.AuditLog{
		Layout: l, When: zoned("When", a.zone()),
		Filters: []templates.Field{
			v.input("email", "email", "User email", 254, false),
			v.selectField("action", "Action", actions),
			v.selectField("object_type", "Object", objects),
			v.input("number", "object_id", "Object ID", 0, false),
			v.input("date", "from", "From", 0, false),
			v.input("date", "to", "To (inclusive)", 0, false),
		},
		Count: countLabel(events.AdminPageInfo, "event", "events"),
	}
	ls := listState{res: &resource{path: "/admin/audit/"}, values: c.Request.URL.Query()}
	vm.Pagination = pagination(ls, events.AdminPageInfo)
	vm.ExportURL = ls.exportURL()
	for _, val := range v {
		if val != "" {
			vm.ClearURL = "/admin/audit/"
		}
	}
	for i := range events.Items {
		vm.Events = append(vm.Events, event(&events.Items[i], a.zone()))
	}
	if typed != nil {
		// No events for a filter that could not be read: a list of all of
		// them would claim to be filtered.
		for i := range vm.Filters {
			vm.Filters[i].Errors = typed[vm.Filters[i].Name]
		}
		vm.Count, vm.Invalid, vm.ExportURL, vm.Pagination = "", true, "", templates.Pagination{}
		vm.Title = "Error: " + vm.Title // as a form's (formError)
		return render(c, http.StatusBadRequest, templates.AuditLogPage(vm))
	}
	return render(c, http.StatusOK, templates.AuditLogPage(vm))
}
