package templates

import (
	"bytes"
	"context"
	"strconv"
	"testing"
)

// benchChangeList is a patient changelist page of n rows shaped like the
// panel's (seven cells, the first a link, an owner's email, a time).
func benchChangeList(n int) ChangeList {
	cl := ChangeList{
		Layout: Layout{Title: "Patients", User: "Lisa", CSRF: "csrf-token-of-forty-three-characters-0000000",
			CSS: "/admin/static/admin.css?v=1", JS: "/admin/static/admin.js?v=1",
			Nav: []Link{{Label: "Patients", URL: "/admin/patients/", Active: true, TestID: "nav-patients"}}},
		Model: "patient", Heading: "Select patient to change", AddURL: "/admin/patients/add/", AddLabel: "Add patient",
		ListURL: "/admin/patients/", ExportURL: "/admin/patients/export/?q=lopez", DeleteURL: "/admin/patients/delete/",
		Search: "lopez",
		Columns: []Column{{Label: "Name", Key: "name", SortURL: "/admin/patients/?o=name&q=lopez"},
			{Label: "Date of birth", Key: "date_of_birth", SortURL: "/admin/patients/?o=date_of_birth&q=lopez"},
			{Label: "Gender", Key: "gender", SortURL: "/admin/patients/?o=gender&q=lopez"}, {Label: "Phone", Key: "phone"},
			{Label: "Email", Key: "email"}, {Label: "Owner", Key: "owner"},
			{Label: "Created", Key: "created_at", SortURL: "/admin/patients/?o=created_at&q=lopez", Sort: "desc"}},
		Count: "more than 100 patients", Pagination: Pagination{Summary: "Page 1"},
	}
	for i := range n {
		id := strconv.Itoa(1000000 - i)
		cl.Rows = append(cl.Rows, Row{ID: id, Label: "María López " + id, Cells: []Cell{
			{Text: "María López " + id, URL: "/admin/patients/" + id + "/"}, {Text: "1984-03-07"}, {Text: "Female"},
			{Text: "+1 555 0100 " + id}, {Text: "maria.lopez" + id + "@example.com"}, {Text: "demo@example.com"},
			{Text: "2026-11-25 10:11:12"},
		}})
	}
	return cl
}

// BenchmarkChangeListPage renders the changelist page, whose rows are most
// of the admin's server CPU at 1,000,000 patients:
//
//	go test -run '^$' -bench ChangeListPage -benchmem ./templates
func BenchmarkChangeListPage(b *testing.B) {
	for _, n := range []int{18, 100} {
		cl := benchChangeList(n)
		b.Run(strconv.Itoa(n)+"-rows", func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := ChangeListPage(cl).Render(context.Background(), &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}
