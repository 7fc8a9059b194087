package admin

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// formValues are a form's values as typed (or as stored, for a fresh
// change page), by field name. Checkboxes hold "on" or "".
type formValues map[string]string

// postedValues reads names from the POSTed form, untrimmed, so a form
// shown again keeps exactly what was typed.
func postedValues(c *gin.Context, names ...string) formValues {
	v := formValues{}
	for _, n := range names {
		v[n] = posted(c, n)
	}
	return v
}

// posted is the POSTed form's value of name, bytes that are not UTF-8
// read as U+FFFD, as Django decodes a form (and as the API's JSON decoder
// does): PostgreSQL refuses them in text, SQLite would store them as sent.
func posted(c *gin.Context, name string) string {
	return strings.ToValidUTF8(c.PostForm(name), "\uFFFD")
}

// input is a text-like field (text, email, tel, date, number, textarea,
// password).
func (v formValues) input(kind, name, label string, maxLen int, required bool) templates.Field {
	f := templates.Field{Kind: kind, Name: name, Label: label, Value: v[name], MaxLength: maxLen, Required: required}
	if kind == "password" {
		f.Value = "" // never sent back
		f.Autocomplete = "new-password"
	}
	return f
}

func (v formValues) checkbox(name, label, help string) templates.Field {
	return templates.Field{Kind: "checkbox", Name: name, Label: label, Help: help, Checked: v[name] == "on"}
}

func (v formValues) selectField(name, label string, choices []choiceDef) templates.Field {
	f := templates.Field{Kind: "select", Name: name, Label: label, Value: v[name]}
	for _, ch := range choices {
		f.Options = append(f.Options, templates.Option{Value: ch.value, Label: ch.label, Selected: ch.value == v[name]})
	}
	return f
}

// fk is a foreign-key field: an id, with the label of the current value
// and a search-as-you-type picker over the lookup endpoint of target.
func (a *Admin) fk(c *gin.Context, v formValues, name, label string, target *resource, required bool) templates.Field {
	f := templates.Field{
		Kind: "fk", Name: name, Label: label, Value: v[name], Required: required,
		Lookup: "/admin/lookup/" + target.name + "/", LookupURL: target.path,
		Help: "Type to search, or enter the " + target.name + "'s ID.",
	}
	if id, err := strconv.ParseInt(strings.TrimSpace(v[name]), 10, 64); err == nil && id > 0 {
		if item, err := a.store.ViewLookupLabel(c.Request.Context(), target.objectType, id); err == nil {
			f.LookupLabel = item.Label
			if item.Detail != "" {
				f.LookupLabel += " (" + item.Detail + ")"
			}
		}
	}
	return f
}

func readonly(name, label, value string) templates.Field {
	return templates.Field{Kind: "readonly", Name: name, Label: label, Value: value}
}

// formError answers a save that failed with err: an Invalid err sends the
// form back with its messages (with status: 400, or 429 for a throttled
// password change); any other is returned as is, before build is called,
// so a database that failed is not asked for the form's labels and the
// session's flash messages are not taken by a page never shown.
func (a *Admin) formError(c *gin.Context, status int, err error, build func() (templates.Form, error)) error {
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.Invalid {
		return err
	}
	f, ferr := build()
	if ferr != nil {
		return ferr
	}
	f.Errors = attachErrors(me, f.Fieldsets, f.Inline)
	// The title is what a screen reader reads first, and what a tab shows.
	f.Title = "Error: " + f.Title
	return render(c, status, templates.FormPage(f))
}

// attachErrors puts the messages of the Invalid error me next to their
// fields and returns the rest (messages not tied to a shown field), with a
// summary first, for the top of the form.
func attachErrors(me *models.Error, fieldsets []templates.Fieldset, inline *templates.Inline) []string {
	fields := me.Fields
	if len(fields) == 0 {
		fields = map[string][]string{models.NonFieldErrors: {me.Message}}
	}
	used := map[string]bool{}
	attach := func(fs []templates.Field) {
		for i := range fs {
			if msgs, ok := fields[fs[i].Name]; ok {
				fs[i].Errors = msgs
				used[fs[i].Name] = true
			}
		}
	}
	for i := range fieldsets {
		attach(fieldsets[i].Fields)
	}
	if inline != nil {
		attach(inline.Add)
	}
	n := 0
	for _, msgs := range fields {
		n += len(msgs)
	}
	summary := "Please correct the errors below."
	if n == 1 {
		summary = "Please correct the error below."
	}
	out := []string{summary}
	out = append(out, fields[models.NonFieldErrors]...)
	// In name order: the same page for the same errors.
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if used[name] || name == models.NonFieldErrors {
			continue
		}
		for _, m := range fields[name] {
			out = append(out, name+": "+m)
		}
	}
	return out
}

// pathID reads the :id path parameter; anything but a positive integer is
// NotFound.
func pathID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, models.Errorf(models.NotFound, "Not found.")
	}
	return id, nil
}

// parseID reads an optional id field into *dst, recording a message under
// name if it is not a positive integer.
func parseID(f models.FieldErrors, name, value string, dst *int64) {
	value = strings.TrimSpace(value)
	if value == "" {
		*dst = 0
		return
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < 1 {
		f.Add(name, "Enter a valid ID (a whole number).")
		return
	}
	*dst = n
}

// parseDate reads an optional YYYY-MM-DD field.
func parseDate(f models.FieldErrors, name, value string, dst **models.Date) {
	value = strings.TrimSpace(value)
	if value == "" {
		*dst = nil
		return
	}
	d, err := models.ParseDate(value)
	if err != nil {
		f.Add(name, models.MsgDateFormat)
		return
	}
	*dst = &d
}

// parseInt reads an integer field; empty means def.
func parseInt(f models.FieldErrors, name, value string, def int, dst *int) {
	value = strings.TrimSpace(value)
	if value == "" {
		*dst = def
		return
	}
	n, err := strconv.Atoi(value)
	if err != nil {
		f.Add(name, msgBadNumber)
		return
	}
	*dst = n
}

// formFrame is what every add and change form has around its fields.
type formFrame struct {
	res             *resource
	id              int64 // 0 on an add form
	layout          templates.Layout
	heading, action string
	kept            string // the changelist the form was opened from
}

// newFormFrame frames res's add form (id 0) or the change form of object
// id, labelled label in the breadcrumbs; the form posts, and its links go,
// carrying the changelist it was opened from.
func (a *Admin) newFormFrame(c *gin.Context, res *resource, id int64, label string) (formFrame, error) {
	fr := formFrame{res: res, id: id, kept: keptFilters(c, res), heading: "Add " + res.name}
	title, crumb, action := fr.heading, fr.heading, res.path+"add/"
	if id != 0 {
		fr.heading, crumb, action = "Change "+res.name, label, res.objectURL(id)
		// A change page's title names its object (Django's subtitle): tabs
		// of several records can be told apart.
		title = isolated(label) + " | " + fr.heading
	}
	fr.action = carrying(action, fr.kept)
	var err error
	fr.layout, err = a.layout(c, title, res.objectType,
		templates.Link{Label: res.title, URL: res.listURL(fr.kept)}, templates.Link{Label: crumb})
	return fr, err
}

// subpage is a page of the form's object (sub: "delete/", "history/"),
// carrying the list, as Django's change form carries it to both.
func (fr formFrame) subpage(sub string) string { return carrying(fr.res.objectURL(fr.id)+sub, fr.kept) }

// form is f (its fields) in the frame: heading, action and save buttons,
// and on a change form the object's links (links, then History) and its
// Delete.
func (fr formFrame) form(f templates.Form, links ...templates.Link) templates.Form {
	f.Layout, f.Model, f.Heading, f.Action = fr.layout, fr.res.name, fr.heading, fr.action
	f.AddAnother, f.Continue = true, true
	if fr.id != 0 {
		f.Links = append(links, templates.Link{Label: "History", URL: fr.subpage("history/"), TestID: "history-link"})
		f.DeleteURL = fr.subpage("delete/")
	}
	return f
}

// saved flashes the success message and redirects as the pressed button
// asks: back to the list it was opened from, to a new add form, or to the
// same change page.
func saved(c *gin.Context, a *Admin, res *resource, id int64, label string, added bool) error {
	verb := "changed"
	if added {
		verb = "added"
	}
	what := fmt.Sprintf("The %s “%s” was %s successfully.", res.name, isolated(label), verb)
	switch {
	case c.PostForm("_continue") != "":
		a.flash(c, "success", what+" You may edit it again below.")
		return redirect(c, carrying(res.objectURL(id), keptFilters(c, res)))
	case c.PostForm("_addanother") != "":
		a.flash(c, "success", what+" You may add another "+res.name+" below.")
		return redirect(c, carrying(res.path+"add/", keptFilters(c, res)))
	}
	a.flash(c, "success", what)
	return redirect(c, res.listURL(keptFilters(c, res)))
}
