package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"healthcare/models"
)

// The admin's search box keeps a quoted phrase together, as Django's admin
// does (smart_split): "van der" finds the name with those words side by
// side, not every name holding both. The changelists, their exports and the
// pickers read a search alike.
func TestAdminSearchKeepsQuotedPhrases(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	berg := app.admPatient(t, owner.ID, "Anna van der Berg")
	app.admPatient(t, owner.ID, "Der Vane Anna")
	app.admPatient(t, owner.ID, "Vanessa Derby")
	app.admPatient(t, owner.ID, `Jo "JJ" Smith`)
	app.admPatient(t, owner.ID, "Kim Anna", func(p *models.Patient) { p.Email = "berg@example.com" })
	doc := app.mustDoctor(t, "Ida Intern", "Internal Medicine")
	app.mustDoctor(t, "Mia Medic", "Medicine, Internal")
	app.admMapping(t, owner.ID, berg.ID, doc.ID)

	// names are the first cells of a list's rows; for a mapping, the
	// patient's name in its row.
	names := func(list, q string) []string {
		t.Helper()
		var got []string
		res := cl.get("/admin/"+list+"/?o=id&q="+url.QueryEscape(q)).want(t, http.StatusOK)
		if res.has(t, "empty") {
			return nil
		}
		res.testid(t, "results").Find("tbody tr").Each(func(_ int, row *goquerySelection) {
			cell := row.Find("th")
			if list == "mappings" {
				cell = row.Find("td").Eq(1) // after the checkbox
			}
			got = append(got, strings.TrimSpace(cell.Text()))
		})
		return got
	}
	for _, tc := range []struct {
		list, q string
		want    []string
	}{
		{"patients", `van der`, []string{"Anna van der Berg", "Der Vane Anna", "Vanessa Derby"}},
		{"patients", `"van der"`, []string{"Anna van der Berg"}},
		{"patients", `'VAN DER' anna`, []string{"Anna van der Berg"}},
		{"patients", `"van der" derby`, nil},
		{"patients", `"r van"`, []string{"Der Vane Anna"}}, // a phrase may span words' ends
		{"patients", `"\"JJ\""`, []string{`Jo "JJ" Smith`}},
		{"patients", `"jj`, []string{`Jo "JJ" Smith`}}, // a quote left open is a character
		{"patients", `vanessa,derby`, []string{"Vanessa Derby"}},
		// A phrase with a newline, typed into a URL: on PostgreSQL it is in
		// Kim Anna's search_text ("kim anna\nberg@..."), in no one column.
		{"patients", "\"anna\nberg\"", nil},
		{"doctors", `"internal medicine"`, []string{"Ida Intern"}},
		{"doctors", `internal medicine`, []string{"Ida Intern", "Mia Medic"}},
		{"mappings", `"van der"`, []string{"Anna van der Berg"}},
		{"mappings", `"van derby"`, nil},
	} {
		got := names(tc.list, tc.q)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s ?q=%s: %q, want %q", tc.list, tc.q, got, tc.want)
		}
	}

	// The export of a list searched for a phrase holds what the list shows.
	res := cl.get("/admin/patients/export/?q="+url.QueryEscape(`"van der"`)).want(t, http.StatusOK)
	records, err := csv.NewReader(strings.NewReader(res.Body.String())).ReadAll()
	if err != nil || len(records) != 2 || records[1][1] != "Anna van der Berg" {
		t.Errorf("export of a phrase search = %q (%v)", records, err)
	}

	// And so does the picker.
	var picked struct {
		Results []models.LookupItem `json:"results"`
	}
	res = cl.get("/admin/lookup/patient/?q="+url.QueryEscape(`"van der"`)).want(t, http.StatusOK)
	if err := json.Unmarshal(res.Body.Bytes(), &picked); err != nil || len(picked.Results) != 1 || picked.Results[0].Label != "Anna van der Berg" {
		t.Errorf("picker for a phrase = %s (%v)", res.Body.String(), err)
	}
}
