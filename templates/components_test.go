package templates

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

// renderDoc renders c and parses the HTML.
func renderDoc(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

func byTestID(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`[data-testid="` + id + `"]`)
}

func TestFormFieldShowsErrorsAndKeepsValues(t *testing.T) {
	t.Parallel()
	doc := renderDoc(t, FormField(Field{
		Kind: "email", Name: "email", Label: "Email", Value: "not-an-email", Required: true, MaxLength: 254,
		Help: "Where we write.", Errors: []string{"Enter a valid email address."},
	}))
	input := doc.Find("input#id_email")
	if v, _ := input.Attr("value"); v != "not-an-email" {
		t.Errorf("value = %q", v)
	}
	for attr, want := range map[string]string{"type": "email", "maxlength": "254", "aria-invalid": "true",
		"aria-describedby": "help_email err_email", "name": "email"} {
		if got, _ := input.Attr(attr); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
	if _, ok := input.Attr("required"); !ok {
		t.Error("required attribute missing")
	}
	if got := byTestID(doc, "error-email").Text(); got != "Enter a valid email address." {
		t.Errorf("error = %q", got)
	}
	if !byTestID(doc, "field-email").HasClass("has-error") {
		t.Error("field not marked as having an error")
	}
	if doc.Find(`label[for="id_email"]`).Length() != 1 {
		t.Error("label not tied to the input")
	}
}

func TestFormFieldKinds(t *testing.T) {
	t.Parallel()
	doc := renderDoc(t, FormField(Field{Kind: "textarea", Name: "notes", Label: "Notes", Value: "<b>x</b>"}))
	if got := doc.Find("textarea#id_notes").Text(); got != "<b>x</b>" {
		t.Errorf("textarea text = %q (must be escaped text, not markup)", got)
	}
	doc = renderDoc(t, FormField(Field{Kind: "checkbox", Name: "is_staff", Label: "Staff", Checked: true}))
	if _, ok := doc.Find("input#id_is_staff").Attr("checked"); !ok {
		t.Error("checkbox not checked")
	}
	doc = renderDoc(t, FormField(Field{Kind: "select", Name: "gender", Label: "Gender",
		Options: []Option{{Value: "male", Label: "Male"}, {Value: "female", Label: "Female", Selected: true}}}))
	if got := doc.Find("select#id_gender option[selected]").AttrOr("value", ""); got != "female" {
		t.Errorf("selected = %q", got)
	}
	doc = renderDoc(t, FormField(Field{Kind: "readonly", Name: "created_at", Label: "Created", Value: "2026-11-25 10:00:00"}))
	if doc.Find("input").Length() != 0 || byTestID(doc, "readonly-created_at").Text() != "2026-11-25 10:00:00" {
		t.Error("read-only field is not plain text")
	}
	doc = renderDoc(t, FormField(Field{Kind: "fk", Name: "doctor_id", Label: "Doctor", Value: "7",
		Lookup: "/admin/lookup/doctor/", LookupLabel: "Gregory House (Diagnostics)", LookupURL: "/admin/doctors/"}))
	if v, _ := byTestID(doc, "fk-id-doctor_id").Attr("value"); v != "7" {
		t.Errorf("fk id = %q", v)
	}
	if got := byTestID(doc, "fk-doctor_id").AttrOr("data-lookup", ""); got != "/admin/lookup/doctor/" {
		t.Errorf("lookup endpoint = %q", got)
	}
	if got := byTestID(doc, "fk-label-doctor_id").Text(); got != "Gregory House (Diagnostics)" {
		t.Errorf("fk label = %q", got)
	}
}

func TestChangeListPage(t *testing.T) {
	t.Parallel()
	cl := ChangeList{
		Layout: Layout{Title: "Patients", User: "Lisa", CSRF: "tok", CSS: "/admin/static/admin.css?v=1", JS: "/admin/static/admin.js?v=1",
			Nav: []Link{{Label: "Patients", URL: "/admin/patients/", Active: true, TestID: "nav-patients"}}},
		Model: "patient", Heading: "Select patient to change", AddURL: "/admin/patients/add/", AddLabel: "Add patient",
		ListURL: "/admin/patients/", ExportURL: "/admin/patients/export/", DeleteURL: "/admin/patients/delete/",
		Search: "ann", Hidden: []Param{{Name: "gender", Value: "female"}},
		Columns: []Column{{Label: "Name", Key: "name", SortURL: "/admin/patients/?o=-name", Sort: "asc"}, {Label: "Phone", Key: "phone"}},
		Rows:    []Row{{ID: "3", Label: "Ann", Cells: []Cell{{Text: "Ann", URL: "/admin/patients/3/"}, {Text: ""}}}},
		Filters: []Filter{{Title: "gender", Key: "gender", Choices: []Link{{Label: "Female", URL: "?gender=female", Active: true, TestID: "filter-gender-female"}}}},
		Count:   "1 patient", Pagination: Pagination{Summary: "Page 1 of 1"},
	}
	doc := renderDoc(t, ChangeListPage(cl))
	if got := byTestID(doc, "result-count").Text(); !strings.Contains(got, "1 patient") {
		t.Errorf("count = %q", got)
	}
	if got := byTestID(doc, "sort-name").AttrOr("href", ""); got != "/admin/patients/?o=-name" {
		t.Errorf("sort link = %q", got)
	}
	if byTestID(doc, "sort-phone").Length() != 0 {
		t.Error("unsortable column has a link")
	}
	if got := doc.Find(`th.col-name`).AttrOr("aria-sort", ""); got != "ascending" {
		t.Errorf("aria-sort = %q", got)
	}
	if got := byTestID(doc, "select-3").AttrOr("name", ""); got != "ids" {
		t.Errorf("row checkbox name = %q", got)
	}
	form := doc.Find("form.changelist-form")
	if form.AttrOr("method", "") != "post" || form.Find(`input[name="csrf_token"]`).AttrOr("value", "") != "tok" {
		t.Error("bulk form is not a CSRF-protected POST")
	}
	if v := byTestID(doc, "search-form").Find(`input[name="gender"]`).AttrOr("value", ""); v != "female" {
		t.Errorf("search form hidden filter = %q", v)
	}
	if byTestID(doc, "filter-gender-female").AttrOr("aria-current", "") != "page" {
		t.Error("active filter not marked")
	}
	if doc.Find("script:not([src])").Length() != 0 || doc.Find("[style]").Length() != 0 {
		t.Error("inline script or style (the CSP forbids them)")
	}
	if doc.Find(`form[action="/admin/logout/"] input[name="csrf_token"]`).Length() != 1 {
		t.Error("logout is not a CSRF-protected form")
	}
}

func TestEventTableAndMessages(t *testing.T) {
	t.Parallel()
	doc := renderDoc(t, EventTable("History", []Event{{
		When: "2026-11-25 10:00:00", Who: "lisa@clinic.example", Action: "Changed", Kind: "update", Object: "Patient #3",
		ObjectURL: "/admin/patients/3/", Source: "Admin", Changes: []Change{{Field: "phone", Old: "1", New: "2"}},
	}}, true, "When (Europe/Oslo)"))
	if got := doc.Find("thead th").First().Text(); got != "When (Europe/Oslo)" {
		t.Errorf("time column = %q", got)
	}
	if got := strings.Join(strings.Fields(byTestID(doc, "event-change").Text()), " "); got != "phone 1 → changed to 2" {
		t.Errorf("change = %q", got)
	}
	doc = renderDoc(t, Messages([]Message{{Level: "error", Text: "Nope"}, {Level: "success", Text: "Saved"}}))
	if byTestID(doc, "message-error").Find("[role]").AttrOr("role", "") != "alert" ||
		byTestID(doc, "message-success").Find("[role]").AttrOr("role", "") != "status" {
		t.Error("message roles")
	}
}

// Cell texts are escaped as templ escapes { text }, linked or not: a
// patient named like markup shows as text and adds no element.
func TestTableCellsAreEscaped(t *testing.T) {
	t.Parallel()
	evil := `<img src=x onerror="alert('1')">&amp;`
	var want bytes.Buffer
	if err := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, templ.EscapeString(evil))
		return err
	}).Render(context.Background(), &want); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	rows := []Row{{ID: "1", Label: "x", Cells: []Cell{{Text: evil, URL: "/admin/patients/1/"}, {Text: evil}}}}
	if err := Table("Patients", []Column{{Label: "Name"}, {Label: "Phone"}}, rows).Render(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(got.String(), want.String()); n != 2 {
		t.Errorf("escaped text appears %d times, want 2 (link and plain cell):\n%s", n, got.String())
	}
	doc, err := goquery.NewDocumentFromReader(&got)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Find("img").Length() != 0 {
		t.Error("a cell's text became an element")
	}
	if text := doc.Find("tbody td").Text(); text != evil {
		t.Errorf("plain cell reads %q, want %q", text, evil)
	}
}
