package templates

import (
	"strconv"

	"github.com/a-h/templ"
)

// Small helpers that turn view-model flags into attributes and classes.

func navClass(active bool) string {
	if active {
		return "nav-link active"
	}
	return "nav-link"
}

// current marks the active link for assistive technology.
func current(active bool) templ.Attributes {
	if active {
		return templ.Attributes{"aria-current": "page"}
	}
	return templ.Attributes{}
}

func messageRole(level string) string {
	if level == "error" || level == "warning" {
		return "alert"
	}
	return "status"
}

func fieldID(name string) string { return "id_" + name }

// errorLinks are the messages of f's fields, in the form's order, each
// linking to its field ("Email: Enter a valid email address.").
func errorLinks(f Form) []Link {
	groups := make([][]Field, 0, len(f.Fieldsets)+1)
	for _, fs := range f.Fieldsets {
		groups = append(groups, fs.Fields)
	}
	if f.Inline != nil {
		groups = append(groups, f.Inline.Add)
	}
	return fieldErrorLinks(groups...)
}

// fieldErrorLinks are the error summary's links: each message of each
// field, linked to its field.
func fieldErrorLinks(groups ...[]Field) []Link {
	var links []Link
	for _, fields := range groups {
		for _, fld := range fields {
			for _, e := range fld.Errors {
				links = append(links, Link{Label: fld.Label + ": " + e, URL: "#" + fieldID(fld.Name), TestID: "error-link-" + fld.Name})
			}
		}
	}
	return links
}

func fieldClass(f Field) string {
	c := "field field-" + f.Kind
	if len(f.Errors) > 0 {
		c += " has-error"
	}
	return c
}

// inputAttrs are a control's optional attributes.
func inputAttrs(f Field) templ.Attributes {
	a := templ.Attributes{}
	if f.MaxLength > 0 {
		a["maxlength"] = strconv.Itoa(f.MaxLength)
	}
	if f.Required {
		a["required"] = true
	}
	// A field says what it is (a password: new-password); any other is
	// a record's, a patient's name or address, which a browser must not
	// save and offer again, on a clinic's shared workstation, to whoever
	// fills in the next form. A checkbox holds nothing typed, and HTML
	// forbids the attribute on it.
	if f.Kind != "checkbox" {
		a["autocomplete"] = "off"
	}
	if f.Autocomplete != "" {
		a["autocomplete"] = f.Autocomplete
	}
	if f.Min != "" {
		a["min"] = f.Min
	}
	if f.Max != "" {
		a["max"] = f.Max
	}
	var described string
	if f.Help != "" {
		described = "help_" + f.Name
	}
	if len(f.Errors) > 0 {
		a["aria-invalid"] = "true"
		if described != "" {
			described += " "
		}
		described += "err_" + f.Name
	}
	if described != "" {
		a["aria-describedby"] = described
	}
	return a
}

func thClass(c Column) string {
	cls := "col-" + c.Key
	if c.Sort != "" {
		cls += " sorted " + c.Sort
	}
	if c.Numeric {
		cls += " num"
	}
	return cls
}

func ariaSort(c Column) templ.Attributes {
	switch c.Sort {
	case "asc":
		return templ.Attributes{"aria-sort": "ascending"}
	case "desc":
		return templ.Attributes{"aria-sort": "descending"}
	}
	return templ.Attributes{}
}

func sortIndicator(sort string) string {
	switch sort {
	case "asc":
		return "▲"
	case "desc":
		return "▼"
	}
	return ""
}

func colspan(n int) string { return strconv.Itoa(n) }

func badgeClass(c Cell) string {
	if c.Yes {
		return "badge badge-yes"
	}
	return "badge badge-no"
}

func eventClass(e Event) string {
	if e.Failed {
		return "event failed"
	}
	return "event"
}

func actionClass(action string) string { return "badge badge-action badge-" + action }
