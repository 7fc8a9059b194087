package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"healthcare/models"
)

// resListBase is the absolute URL of the patient list as httptest's
// requests see it.
const resListBase = "http://example.com/api/patients/"

// resPtr is a *string for expected links; nil means null.
func resPtr(s string) *string { return &s }

// resGetList sends GET path as u and returns the decoded body and the ids
// of its results.
func resGetList(t *testing.T, app *testApp, u *testUser, path string) (map[string]any, []int64) {
	t.Helper()
	r := app.do(request{method: "GET", path: path, token: u.Access}).want(t, http.StatusOK)
	body := r.json(t)
	return body, resResultIDs(t, resWho(r), body)
}

// resWantIDs fails unless got equals want (both empty counts as equal).
func resWantIDs(t *testing.T, who string, got, want []int64) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if reflect.DeepEqual(got, want) {
		return
	}
	if len(got) > 30 || len(want) > 30 {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("%s: %d ids, want %d; they differ from index %d", who, len(got), len(want), i)
		return
	}
	t.Errorf("%s: ids = %v, want %v", who, got, want)
}

// resWantLink fails unless body[key] is the URL want (nil: null). Query
// parameters are compared as sets, not by their order.
func resWantLink(t *testing.T, who string, body map[string]any, key string, want *string) {
	t.Helper()
	got := body[key]
	if want == nil {
		if got != nil {
			t.Errorf("%s: %s = %v, want null", who, key, got)
		}
		return
	}
	s, ok := got.(string)
	if !ok {
		t.Errorf("%s: %s = %v, want %q", who, key, got, *want)
		return
	}
	gu, err1 := url.Parse(s)
	wu, err2 := url.Parse(*want)
	if err1 != nil || err2 != nil || gu.Scheme != wu.Scheme || gu.Host != wu.Host || gu.Path != wu.Path ||
		!reflect.DeepEqual(gu.Query(), wu.Query()) {
		t.Errorf("%s: %s = %q, want %q", who, key, s, *want)
	}
}

func TestListPatientPagination(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	b := app.mustUser(t, false)
	base := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	ids := resSeedPatients(t, app, a, 45, "Page", base, time.Minute)
	resSeedPatients(t, app, b, 3, "Other", base.Add(30*time.Second), 10*time.Minute)
	order := resReversed(ids) // newest first

	tests := []struct {
		query      string
		want       []int64
		next, prev *string
	}{
		{"", order[:20], resPtr(resListBase + "?page=2"), nil},
		{"?page=1", order[:20], resPtr(resListBase + "?page=2"), nil},
		{"?page=2", order[20:40], resPtr(resListBase + "?page=3"), resPtr(resListBase)},
		{"?page=3", order[40:], nil, resPtr(resListBase + "?page=2")},
		{"?page_size=10&page=3", order[20:30], resPtr(resListBase + "?page=4&page_size=10"), resPtr(resListBase + "?page=2&page_size=10")},
		{"?page_size=10&page=2", order[10:20], resPtr(resListBase + "?page=3&page_size=10"), resPtr(resListBase + "?page_size=10")},
		{"?page_size=10&page=5", order[40:], nil, resPtr(resListBase + "?page=4&page_size=10")},
		{"?page_size=45", order, nil, nil},
		{"?page_size=50", order, nil, nil},
		{"?page_size=1", order[:1], resPtr(resListBase + "?page=2&page_size=1"), nil},
		{"?page_size=abc", order[:20], resPtr(resListBase + "?page=2&page_size=abc"), nil},
		{"?page_size=0", order[:20], resPtr(resListBase + "?page=2&page_size=0"), nil},
		{"?page_size=-5", order[:20], resPtr(resListBase + "?page=2&page_size=-5"), nil},
		{"?page_size=", order[:20], resPtr(resListBase + "?page=2&page_size="), nil},
		{"?page_size=2.5", order[:20], resPtr(resListBase + "?page=2&page_size=2.5"), nil},
		// As Django's int(): surrounding space ("+" in a query string) and a sign.
		{"?page=+2", order[20:40], resPtr(resListBase + "?page=3"), resPtr(resListBase)},
		{"?page=%2B2&page_size=%205", order[5:10], resPtr(resListBase + "?page=3&page_size=+5"), resPtr(resListBase + "?page_size=+5")},
		{"?search=page&page=2", order[20:40], resPtr(resListBase + "?page=3&search=page"), resPtr(resListBase + "?search=page")},
	}
	for _, tc := range tests {
		t.Run("GET /api/patients/"+tc.query, func(t *testing.T) {
			path := "/api/patients/" + tc.query
			body, got := resGetList(t, app, a, path)
			who := "GET " + path
			resWantKeys(t, who, body, []string{"count", "next", "previous", "results"})
			if body["count"] != float64(45) {
				t.Errorf("%s: count = %v, want 45", who, body["count"])
			}
			resWantIDs(t, who, got, tc.want)
			resWantLink(t, who, body, "next", tc.next)
			resWantLink(t, who, body, "previous", tc.prev)
		})
	}

	for _, query := range []string{"?page=4", "?page=0", "?page=-1", "?page=abc", "?page=", "?page=1.5", "?page_size=50&page=2",
		"?page=99999999999999999999",
		// Pages whose offset, (page-1)*size, would wrap around to a negative number.
		"?page=100000000000000000&page_size=100", "?page=9223372036854775807", "?page=461168601842738791",
		"?search=page&page=100000000000000000&page_size=100", "?ordering=name&page=9223372036854775807"} {
		t.Run("GET /api/patients/"+query+" is an invalid page", func(t *testing.T) {
			r := app.do(request{method: "GET", path: "/api/patients/" + query, token: a.Access}).want(t, http.StatusNotFound)
			resWantBody(t, r, resDetail("Invalid page."))
		})
	}
}

func TestListPageSizeIsCapped(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	ids := resSeedPatients(t, app, a, 105, "Cap", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Second)
	order := resReversed(ids)
	tests := []struct {
		query string
		want  []int64
		next  *string
	}{
		{"?page_size=1000", order[:100], resPtr(resListBase + "?page=2&page_size=1000")},
		{"?page_size=101", order[:100], resPtr(resListBase + "?page=2&page_size=101")},
		{"?page_size=100", order[:100], resPtr(resListBase + "?page=2&page_size=100")},
		{"?page_size=1000&page=2", order[100:], nil},
		// Numeric and positive, so capped like any larger value (as DRF's
		// int() would), not treated as non-numeric.
		{"?page_size=99999999999999999999", order[:100], resPtr(resListBase + "?page=2&page_size=99999999999999999999")},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			path := "/api/patients/" + tc.query
			body, got := resGetList(t, app, a, path)
			if body["count"] != float64(105) {
				t.Errorf("GET %s: count = %v, want 105", path, body["count"])
			}
			resWantIDs(t, "GET "+path, got, tc.want)
			resWantLink(t, "GET "+path, body, "next", tc.next)
		})
	}
	// Cursor pages are capped the same way.
	pages, _ := resCursorWalk(t, app, a, "/api/patients/?cursor=&page_size=1000", "next")
	if got := resPageSizes(pages); !reflect.DeepEqual(got, []int{100, 5}) {
		t.Errorf("cursor walk with page_size=1000: page sizes = %v, want [100 5]", got)
	}
	resWantIDs(t, "cursor walk with page_size=1000", resFlatten(pages), order)
}

func TestListEmpty(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	emptyPage := map[string]any{"count": 0, "next": nil, "previous": nil, "results": []any{}}
	emptyCursor := map[string]any{"next": nil, "previous": nil, "results": []any{}}
	tests := []struct {
		path       string
		wantStatus int
		wantBody   any
	}{
		{"/api/patients/", 200, emptyPage},
		{"/api/patients/?page=1", 200, emptyPage},
		{"/api/patients/?search=anything", 200, emptyPage},
		{"/api/patients/?page=2", 404, resDetail("Invalid page.")},
		{"/api/patients/?cursor=", 200, emptyCursor},
		{"/api/doctors/", 200, emptyPage},
		{"/api/doctors/?page=2", 404, resDetail("Invalid page.")},
		{"/api/mappings/", 200, emptyPage},
		{"/api/mappings/?page=2", 404, resDetail("Invalid page.")},
		{"/api/mappings/?cursor=", 200, emptyCursor},
	}
	for _, tc := range tests {
		t.Run("GET "+tc.path, func(t *testing.T) {
			r := app.do(request{method: "GET", path: tc.path, token: a.Access}).want(t, tc.wantStatus)
			resWantBody(t, r, tc.wantBody)
		})
	}
}

func TestListPatientOrdering(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	base := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	seed := []struct {
		name string
		dob  any
	}{
		{"Carol", "1980-01-01"}, // 0
		{"Alice", nil},          // 1
		{"Eve", "1970-06-15"},   // 2
		{"Bob", "1980-01-01"},   // 3
		{"Dave", "1990-12-31"},  // 4
		{"Alice", "1975-03-03"}, // 5
	}
	p := make([]int64, len(seed))
	for i, s := range seed {
		p[i] = id(t, app.mustPatient(t, a, map[string]any{"name": s.name, "date_of_birth": s.dob}), "id")
		resSetCreatedAt(t, app, "patients", p[i], base.Add(time.Duration(i)*time.Hour))
	}
	pick := func(idx ...int) []int64 {
		out := make([]int64, len(idx))
		for i, x := range idx {
			out[i] = p[x]
		}
		return out
	}
	def := pick(5, 4, 3, 2, 1, 0)

	tests := []struct {
		name     string
		ordering string
		want     []int64
	}{
		{"default is newest first", "", def},
		{"name, ties newest first", "name", pick(5, 1, 3, 0, 4, 2)},
		{"-name, ties newest first", "-name", pick(2, 4, 0, 3, 5, 1)},
		// Dates of birth that are not set sort last ascending and first
		// descending, as PostgreSQL sorts NULL, on every engine.
		{"date_of_birth", "date_of_birth", pick(2, 5, 3, 0, 4, 1)},
		{"-date_of_birth", "-date_of_birth", pick(1, 4, 3, 0, 5, 2)},
		{"created_at", "created_at", pick(0, 1, 2, 3, 4, 5)},
		{"-created_at", "-created_at", def},
		{"unknown field is ignored", "password", def},
		{"undocumented field is ignored", "created_by", def},
		{"id is not documented", "id", def},
		{"medical_history is not documented", "medical_history", def},
		{"unknown field before a known one", "bogus,name", pick(5, 1, 3, 0, 4, 2)},
		{"two fields", "date_of_birth,-name", pick(2, 5, 0, 3, 4, 1)},
		{"two fields, second ascending", "name,created_at", pick(1, 5, 3, 0, 4, 2)},
		{"two fields, second descending", "-name,-created_at", pick(2, 4, 0, 3, 5, 1)},
		{"empty items are ignored", ",,name,", pick(5, 1, 3, 0, 4, 2)},
		{"SQL in the ordering is ignored", "name;DROP TABLE patients", def},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/patients/?ordering=" + url.QueryEscape(tc.ordering)
			body, got := resGetList(t, app, a, path)
			resWantIDs(t, "GET "+path, got, tc.want)
			if body["count"] != float64(6) {
				t.Errorf("GET %s: count = %v, want 6", path, body["count"])
			}
		})
	}

	// Ordering holds across pages and together with search.
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"?ordering=name&page_size=2&page=2", pick(3, 0)},
		{"?ordering=-date_of_birth&page_size=4&page=2", pick(5, 2)},
		{"?search=alice&ordering=created_at", pick(1, 5)},
		{"?search=alice&ordering=-date_of_birth", pick(1, 5)},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, got := resGetList(t, app, a, "/api/patients/"+tc.query)
			resWantIDs(t, "GET /api/patients/"+tc.query, got, tc.want)
		})
	}
}

// Rows created in the same instant are listed by id, newest (highest) first,
// so pages never overlap.
func TestListDefaultOrderTiesByIDDesc(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	ids := resSeedPatients(t, app, a, 7, "Tie", at, 0)
	order := resReversed(ids)
	var walked []int64
	for page := 1; page <= 3; page++ {
		path := fmt.Sprintf("/api/patients/?page_size=3&page=%d", page)
		_, got := resGetList(t, app, a, path)
		walked = append(walked, got...)
	}
	resWantIDs(t, "GET /api/patients/?page_size=3 pages 1-3", walked, order)
}

func TestListPatientSearch(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	b := app.mustUser(t, false)
	base := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	seed := []map[string]any{
		{"name": "John Smith", "email": "john@alpha.example", "phone": "555-0100"}, // 0
		{"name": "Jane Smith", "email": "jane@beta.example", "phone": "555 0199"},  // 1
		{"name": "Johnny Walker", "email": "jw@gamma.example"},                     // 2
		{"name": "100% Pure", "medical_history": "smith"},                          // 3: not a searched field
		{"name": "under_score"},                               // 4
		{"name": "Ferris Bueller", "address": "Smith Street"}, // 5: address not searched
		{"name": "Back\\Slash"},                               // 6
	}
	p := make([]int64, len(seed))
	for i, s := range seed {
		p[i] = id(t, app.mustPatient(t, a, s), "id")
		resSetCreatedAt(t, app, "patients", p[i], base.Add(time.Duration(i)*time.Hour))
	}
	app.mustPatient(t, b, map[string]any{"name": "John Smith", "email": "john@alpha.example", "phone": "555-0100"})
	pick := func(idx ...int) []int64 {
		out := make([]int64, len(idx))
		for i, x := range idx {
			out[i] = p[x]
		}
		return out
	}

	tests := []struct {
		name   string
		search string
		want   []int64 // newest first
	}{
		{"one word in the name", "smith", pick(1, 0)},
		{"capitals", "SMITH", pick(1, 0)},
		{"mixed case", "sMiTh", pick(1, 0)},
		{"prefix", "john", pick(2, 0)},
		{"two words must both match", "john smith", pick(0)},
		{"word order does not matter", "smith john", pick(0)},
		{"extra white space", "  john   smith  ", pick(0)},
		{"words split on commas", "john,smith", pick(0)},
		{"phone digits", "555", pick(1, 0)},
		{"phone tail", "0199", pick(1)},
		{"email domain", "beta.example", pick(1)},
		{"email in capitals", "JANE@BETA.EXAMPLE", pick(1)},
		{"words match different fields", "jane beta", pick(1)},
		{"name word and phone", "smith 0100", pick(0)},
		{"every word must match", "jane 0100", nil},
		{"percent matches itself, not everything", "%", pick(3)},
		{"percent after a digit", "0%", pick(3)},
		{"percent inside a word", "100%", pick(3)},
		{"two percents match nothing", "%%", nil},
		{"underscore matches itself, not any character", "_", pick(4)},
		{"underscore inside a word", "r_s", pick(4)},
		{"backslash matches itself", `k\s`, pick(6)},
		{"lone backslash", `\`, pick(6)},
		{"quote does not break the query", "o'brien", nil},
		{"fields that are not searched do not match", "street", nil},
		{"medical history is not searched", "pure smith", nil},
		{"no match", "nomatch", nil},
		{"empty search matches everything", "", pick(6, 5, 4, 3, 2, 1, 0)},
		{"only white space matches everything", "   ", pick(6, 5, 4, 3, 2, 1, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/patients/?search=" + url.QueryEscape(tc.search)
			body, got := resGetList(t, app, a, path)
			resWantIDs(t, "GET "+path, got, tc.want)
			if body["count"] != float64(len(tc.want)) {
				t.Errorf("GET %s: count = %v, want %d", path, body["count"], len(tc.want))
			}
		})
	}
}

// Case-insensitive search covers letters beyond ASCII too: the contract says
// case-insensitively, not "for ASCII letters".
func TestListSearchNonASCIICaseInsensitive(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	zoe := id(t, app.mustPatient(t, a, map[string]any{"name": "Zoë Ünal", "email": "zoe@example.com"}), "id")
	app.mustPatient(t, a, map[string]any{"name": "Zoe Unal"})
	for _, search := range []string{"Ünal", "ünal", "ÜNAL", "zoë", "ZOË", "zoë ünal"} {
		t.Run(search, func(t *testing.T) {
			path := "/api/patients/?search=" + url.QueryEscape(search)
			_, got := resGetList(t, app, a, path)
			resWantIDs(t, "GET "+path, got, []int64{zoe})
		})
	}
}

// Text is stored as typed, composed or decomposed (e + U+0301, as a Mac's
// pasteboard may give it), and a search tries both spellings, so either
// finds either. Words are split at Unicode spaces, as DRF's str.split: an
// ideographic space (Japanese and Chinese keyboards) or a no-break space.
func TestListSearchComposedAndUnicodeSpaces(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	created := app.mustPatient(t, a, map[string]any{"name": "Jose\u0301 Pe\u0301rez", "email": "jose@bu\u0308cher.example"})
	if created["name"] != "Jose\u0301 Pe\u0301rez" {
		t.Errorf("created name = %q, want it as typed", created["name"])
	}
	jose := id(t, created, "id")
	renee := id(t, app.mustPatient(t, a, map[string]any{"name": "Renée Dubois"}), "id")
	yamada := id(t, app.mustPatient(t, a, map[string]any{"name": "山田 太郎"}), "id")
	muller := id(t, app.mustPatient(t, a, map[string]any{"name": "Müller Hans"}), "id")
	app.mustPatient(t, a, map[string]any{"name": "Jose Perez Renee"})
	resWantFound(t, app, a, "/api/patients/?search=", map[string]int64{
		"José": jose, "Jose\u0301": jose, "PÉREZ": jose, "PE\u0301REZ": jose, "bücher": jose, "bu\u0308cher": jose,
		"Renée": renee, "Rene\u0301e": renee,
		"太郎\u3000山田": yamada, "Hans\u00a0Mu\u0308ller": muller, "hans\u2003müller": muller,
	})

	decomposed := app.mustDoctor(t, "Dr Ana", "Cardiologi\u0301a")
	composed := app.mustDoctor(t, "Dr Eva", "Neurología")
	resWantFound(t, app, a, "/api/doctors/?specialization=", map[string]int64{
		"CARDIOLOGÍA": decomposed.ID, "cardiologi\u0301a": decomposed.ID, "NEUROLOGI\u0301A": composed.ID, "neurología": composed.ID,
	})
}

// resWantFound checks that prefix followed by each value (escaped) lists
// exactly the one row its id names to u, or none for 0.
func resWantFound(t *testing.T, app *testApp, u *testUser, prefix string, want map[string]int64) {
	t.Helper()
	for value, id := range want {
		path := prefix + url.QueryEscape(value)
		var ids []int64
		if id != 0 {
			ids = []int64{id}
		}
		_, got := resGetList(t, app, u, path)
		resWantIDs(t, "GET "+path, got, ids)
	}
}

// A Greek word ends in ς in lower case and in Σ in capitals, which LOWER
// makes σ: a search in either case finds the other, as DRF's (UPPER on
// both sides) does, and only it: the sigma is not a wildcard.
func TestListSearchGreekSigma(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	nikolaos := id(t, app.mustPatient(t, a, map[string]any{"name": "Νικόλαος Παπαδόπουλος"}), "id")
	odysseas := id(t, app.mustPatient(t, a, map[string]any{"name": "ΟΔΥΣΣΕΑΣ ΚΑΡΑΣ"}), "id")
	app.mustPatient(t, a, map[string]any{"name": "Νικόλαοξ Παπαδόπουλοξ"}) // ξ where ς stands
	// API.md: % and _ match themselves, in a word with a sigma too (whose
	// sigmas alone become the indexes' wildcards).
	underscore := id(t, app.mustPatient(t, a, map[string]any{"name": "Άρης_Ε"}), "id")
	app.mustPatient(t, a, map[string]any{"name": "Άρηςx Ε"})
	resWantFound(t, app, a, "/api/patients/?search=", map[string]int64{
		"ΝΙΚΌΛΑΟΣ": nikolaos, "νικόλαοσ": nikolaos, "Νικόλαος": nikolaos, "παπαδόπουλοσ νικόλαος": nikolaos,
		"οδυσσεας": odysseas, "Οδυσσεας": odysseas, "καράς": 0, "καρας": odysseas,
		"ΆΡΗΣ_Ε": underscore, "άρησ%": 0,
	})

	doctor := app.mustDoctor(t, "Δρ Άννα", "Παθολόγος")
	app.mustDoctor(t, "Δρ Ξένη", "Παθολόγοξ")
	resWantFound(t, app, a, "/api/doctors/?specialization=", map[string]int64{"ΠΑΘΟΛΌΓΟΣ": doctor.ID})
	resWantFound(t, app, a, "/api/doctors/?search=", map[string]int64{"ΠΑΘΟΛΌΓΟΣ": doctor.ID})
}

// A searched list's count and page starts are remembered per owner and
// search, checked against the owner's list version. Owners' versions are
// counted apart, so two owners are often at one version: one's memo must
// never answer the other's search (it would tell how many of another's
// patients match a word).
func TestListMemoIsPerOwner(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a, b := app.mustUser(t, false), app.mustUser(t, false)
	for i := range 3 {
		app.mustPatient(t, a, map[string]any{"name": fmt.Sprintf("Smith %d", i)})
	}
	p := app.mustPatient(t, b, map[string]any{"name": "Smith B"})
	app.mustPatient(t, b, map[string]any{"name": "Jones B"})
	app.do(request{method: "PATCH", path: fmt.Sprintf("/api/patients/%d/", id(t, p, "id")), token: b.Access,
		body: map[string]any{"phone": "123"}}).want(t, http.StatusOK) // three writes each
	for round := range 2 {
		gotA, _ := resGetList(t, app, a, "/api/patients/?search=smith")
		gotB, _ := resGetList(t, app, b, "/api/patients/?search=smith")
		if gotA["count"] != float64(3) || gotB["count"] != float64(1) {
			t.Fatalf("round %d: counts %v and %v, want 3 and 1", round, gotA["count"], gotB["count"])
		}
	}
}

func TestListDoctorSearchAndOrdering(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.mustUser(t, true)
	u := app.mustUser(t, false)
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	seed := []models.Doctor{
		{Name: "Dr Alice Heart", Specialization: "Cardiology", Email: "alice@heart.example", YearsOfExperience: 10},
		{Name: "Dr Bob Brain", Specialization: "Neurology", Email: "bob@brain.example", YearsOfExperience: 25},
		{Name: "Dr Carol Kid", Specialization: "Pediatrics", Email: "carol@kids.example", YearsOfExperience: 3},
		{Name: "Dr Dan Heart", Specialization: "Cardiology", Email: "dan@hospital.example", YearsOfExperience: 25, Phone: "555-7777"},
	}
	d := make([]int64, len(seed))
	for i := range seed {
		if err := app.store.CreateDoctor(context.Background(), staff.ID, &seed[i]); err != nil {
			t.Fatalf("create doctor: %v", err)
		}
		d[i] = seed[i].ID
		resSetCreatedAt(t, app, "doctors", d[i], base.Add(time.Duration(i)*time.Hour))
	}
	pick := func(idx ...int) []int64 {
		out := make([]int64, len(idx))
		for i, x := range idx {
			out[i] = d[x]
		}
		return out
	}
	tests := []struct {
		name  string
		query string
		want  []int64
	}{
		{"default newest first", "", pick(3, 2, 1, 0)},
		{"search a name word", "search=heart", pick(3, 0)},
		{"search in capitals", "search=HEART", pick(3, 0)},
		{"search a specialization", "search=cardio", pick(3, 0)},
		{"search an email", "search=kids.example", pick(2)},
		{"words across fields", "search=dan+cardiology", pick(3)},
		{"every word must match", "search=alice+neurology", nil},
		{"phone is not searched", "search=7777", nil},
		{"percent is literal", "search=%25", nil},
		{"ordering by years", "ordering=years_of_experience", pick(2, 0, 3, 1)},
		{"ordering by years descending", "ordering=-years_of_experience", pick(3, 1, 0, 2)},
		{"ordering by years then name", "ordering=-years_of_experience,name", pick(1, 3, 0, 2)},
		{"ordering by name", "ordering=name", pick(0, 1, 2, 3)},
		{"ordering by -name", "ordering=-name", pick(3, 2, 1, 0)},
		{"ordering by created_at", "ordering=created_at", pick(0, 1, 2, 3)},
		{"email is not an ordering field", "ordering=email", pick(3, 2, 1, 0)},
		{"search and ordering", "search=cardiology&ordering=years_of_experience", pick(0, 3)},
		{"search, filter and ordering", "search=dr&specialization=CARDIOLOGY&ordering=name", pick(0, 3)},
		{"paginated", "ordering=name&page_size=3&page=2", pick(3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/doctors/?" + tc.query
			body, got := resGetList(t, app, u, path)
			resWantIDs(t, "GET "+path, got, tc.want)
			wantCount := len(tc.want)
			if tc.name == "paginated" {
				wantCount = 4
			}
			if body["count"] != float64(wantCount) {
				t.Errorf("GET %s: count = %v, want %d", path, body["count"], wantCount)
			}
		})
	}
	body, _ := resGetList(t, app, u, "/api/doctors/?page_size=3")
	resWantLink(t, "GET /api/doctors/?page_size=3", body, "next", resPtr("http://example.com/api/doctors/?page=2&page_size=3"))
}

// resCursorWalk follows next links from path until null and returns the
// pages' ids and the last page's body.
func resCursorWalk(t *testing.T, app *testApp, u *testUser, path, link string) ([][]int64, map[string]any) {
	t.Helper()
	var pages [][]int64
	var body map[string]any
	for i := 0; path != ""; i++ {
		if i > 100 {
			t.Fatalf("GET %s: more than 100 pages, the links loop", path)
		}
		var got []int64
		body, got = resGetList(t, app, u, path)
		who := "GET " + path
		resWantKeys(t, who, body, []string{"next", "previous", "results"})
		pages = append(pages, got)
		if body[link] == nil {
			break
		}
		path = resFollow(t, who, body[link])
	}
	return pages, body
}

func resFlatten(pages [][]int64) []int64 {
	var out []int64
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func resPageSizes(pages [][]int64) []int {
	out := make([]int, len(pages))
	for i, p := range pages {
		out[i] = len(p)
	}
	return out
}

func TestCursorPaginationWalk(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	b := app.mustUser(t, false)
	base := time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)
	ids := resSeedPatients(t, app, a, 45, "Cursor", base, time.Minute)
	// Another user's rows interleave in time; they must never show.
	otherIDs := resSeedPatients(t, app, b, 5, "Hidden", base.Add(30*time.Second), 7*time.Minute)
	order := resReversed(ids)

	first := "/api/patients/?cursor=&page_size=20"
	fwd, last := resCursorWalk(t, app, a, first, "next")
	if got := resPageSizes(fwd); !reflect.DeepEqual(got, []int{20, 20, 5}) {
		t.Fatalf("GET %s and its next links: page sizes = %v, want [20 20 5]", first, got)
	}
	resWantIDs(t, "cursor walk forward", resFlatten(fwd), order)
	seen := map[int64]bool{}
	for _, x := range resFlatten(fwd) {
		if seen[x] {
			t.Errorf("cursor walk forward: patient %d seen twice", x)
		}
		seen[x] = true
	}
	for _, x := range otherIDs {
		if seen[x] {
			t.Errorf("cursor walk forward: another user's patient %d listed", x)
		}
	}

	// The first page has no previous link; links are absolute and keep
	// page_size.
	body, _ := resGetList(t, app, a, first)
	resWantLink(t, "GET "+first, body, "previous", nil)
	next := resFollow(t, "GET "+first, body["next"])
	if u, _ := url.Parse(next); u.Query().Get("page_size") != "20" || u.Query().Get("cursor") == "" {
		t.Errorf("GET %s: next = %q, want cursor and page_size=20 kept", first, body["next"])
	}

	// Back from the last page with the previous links: the same pages.
	if last["previous"] == nil {
		t.Fatalf("last cursor page: previous = null, want a link")
	}
	back, firstAgain := resCursorWalk(t, app, a, resFollow(t, "last cursor page", last["previous"]), "previous")
	want := [][]int64{fwd[1], fwd[0]}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("cursor walk back from the last page: pages = %v, want %v", back, want)
	}
	resWantLink(t, "first page reached backwards", firstAgain, "previous", nil)
	// And forward again from a page reached backwards.
	if firstAgain["next"] == nil {
		t.Fatalf("first page reached backwards: next = null, want a link")
	}
	again, _ := resCursorWalk(t, app, a, resFollow(t, "first page reached backwards", firstAgain["next"]), "next")
	if !reflect.DeepEqual(again, fwd[1:]) {
		t.Errorf("cursor walk forward again: pages = %v, want %v", again, fwd[1:])
	}

	// The other user's walk shows only their rows.
	theirs, _ := resCursorWalk(t, app, b, "/api/patients/?cursor=&page_size=2", "next")
	resWantIDs(t, "other user's cursor walk", resFlatten(theirs), resReversed(otherIDs))
}

// Keyset pages over rows with equal created_at are ordered by id desc and
// still visit each row once.
func TestCursorPaginationTies(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	at := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	ids := resSeedPatients(t, app, a, 25, "Same", at, 0)
	order := resReversed(ids)
	fwd, last := resCursorWalk(t, app, a, "/api/patients/?cursor=&page_size=10", "next")
	if got := resPageSizes(fwd); !reflect.DeepEqual(got, []int{10, 10, 5}) {
		t.Fatalf("cursor walk over ties: page sizes = %v, want [10 10 5]", got)
	}
	resWantIDs(t, "cursor walk over ties", resFlatten(fwd), order)
	back, _ := resCursorWalk(t, app, a, resFollow(t, "last page", last["previous"]), "previous")
	if !reflect.DeepEqual(back, [][]int64{fwd[1], fwd[0]}) {
		t.Errorf("cursor walk back over ties: pages = %v, want %v", back, [][]int64{fwd[1], fwd[0]})
	}
}

func TestCursorWithSearchAndOtherLists(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	b := app.mustUser(t, false)
	base := time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	odd := resSeedPatients(t, app, a, 7, "Odd", base, 2*time.Minute)
	resSeedPatients(t, app, a, 7, "Even", base.Add(time.Minute), 2*time.Minute)

	// search is kept in the links and applies to every page.
	pages, _ := resCursorWalk(t, app, a, "/api/patients/?cursor=&page_size=3&search=odd", "next")
	resWantIDs(t, "cursor walk with search=odd", resFlatten(pages), resReversed(odd))

	// Doctors.
	var doctors []int64
	for i := range 5 {
		d := app.mustDoctor(t, fmt.Sprintf("Dr Cursor %d", i), "X")
		resSetCreatedAt(t, app, "doctors", d.ID, base.Add(time.Duration(i)*time.Hour))
		doctors = append(doctors, d.ID)
	}
	pages, _ = resCursorWalk(t, app, a, "/api/doctors/?cursor=&page_size=2", "next")
	if got := resPageSizes(pages); !reflect.DeepEqual(got, []int{2, 2, 1}) {
		t.Errorf("doctor cursor walk: page sizes = %v, want [2 2 1]", got)
	}
	resWantIDs(t, "doctor cursor walk", resFlatten(pages), resReversed(doctors))

	// Mappings: only the caller's.
	var mine []int64
	for i, did := range doctors {
		m := resMustMapping(t, app, a, odd[0], did)
		resSetCreatedAt(t, app, "mappings", m, base.Add(time.Duration(i)*time.Hour))
		mine = append(mine, m)
	}
	q := id(t, app.mustPatient(t, b, nil), "id")
	theirs := resMustMapping(t, app, b, q, doctors[0])
	resSetCreatedAt(t, app, "mappings", theirs, base.Add(90*time.Minute))
	pages, _ = resCursorWalk(t, app, a, "/api/mappings/?cursor=&page_size=2", "next")
	resWantIDs(t, "mapping cursor walk", resFlatten(pages), resReversed(mine))
	pages, _ = resCursorWalk(t, app, b, "/api/mappings/?cursor=&page_size=2", "next")
	resWantIDs(t, "other user's mapping cursor walk", resFlatten(pages), []int64{theirs})
}

// A cursor taken from one user's list, given to another user, shows that
// user's rows only.
func TestCursorDoesNotLeakOtherUsersRows(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	b := app.mustUser(t, false)
	base := time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)
	resSeedPatients(t, app, a, 6, "Alpha", base, 2*time.Minute)
	bIDs := resSeedPatients(t, app, b, 6, "Bravo", base.Add(time.Minute), 2*time.Minute)
	aIDs := map[int64]bool{}
	var aAll []int64
	_, aAll = resGetList(t, app, a, "/api/patients/?page_size=100")
	for _, x := range aAll {
		aIDs[x] = true
	}

	body, _ := resGetList(t, app, a, "/api/patients/?cursor=&page_size=2")
	cursorPath := resFollow(t, "a's first cursor page", body["next"])
	// Hand-made cursors pointing past every row, in both directions.
	far := base.Add(24 * time.Hour).UnixMicro()
	crafted := []string{
		cursorPath,
		"/api/patients/?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("n.%d.%d", far, 1<<40))),
		"/api/patients/?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("p.%d.1", base.Add(-time.Hour).UnixMicro()))),
	}
	for _, path := range crafted {
		t.Run(path, func(t *testing.T) {
			r := app.do(request{method: "GET", path: path, token: b.Access})
			if r.Code == http.StatusBadRequest {
				// The implementation may bind cursors to their list; an
				// error is no leak.
				return
			}
			r.want(t, http.StatusOK)
			got := resResultIDs(t, resWho(r), r.json(t))
			for _, x := range got {
				if aIDs[x] {
					t.Errorf("GET %s as another user: lists patient %d of the cursor's user", path, x)
				}
			}
		})
	}
	// b's full walk from a crafted far-future cursor visits b's rows.
	pages, _ := resCursorWalk(t, app, b, crafted[1], "next")
	resWantIDs(t, "b's walk from a far cursor", resFlatten(pages), resReversed(bIDs))
}

func TestCursorInvalid(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	resSeedPatients(t, app, a, 3, "Inv", time.Time{}, 0)
	enc := func(s string) string { return url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(s))) }
	bad := []struct{ name, cursor string }{
		{"not base64", "!!!"},
		{"base64 of noise", "abc"},
		{"padding only", "%3D%3D"},
		{"unencoded position", "n.1.1"},
		{"unknown direction", enc("x.1700000000000000.1")},
		{"non-numeric time", enc("n.abc.1")},
		{"non-numeric id", enc("n.1700000000000000.abc")},
		{"id 0", enc("n.1700000000000000.0")},
		{"negative id", enc("n.1700000000000000.-5")},
		{"negative time", enc("n.-1.5")},
		{"too few parts", enc("n.1700000000000000")},
		{"too many parts", enc("n.1.2.3")},
		{"empty parts", enc("..")},
		{"JSON", enc(`{"id": 1}`)},
	}
	for _, list := range []string{"/api/patients/", "/api/doctors/", "/api/mappings/"} {
		for _, tc := range bad {
			path := list + "?cursor=" + tc.cursor
			t.Run(tc.name+" "+path, func(t *testing.T) {
				r := app.do(request{method: "GET", path: path, token: a.Access}).want(t, http.StatusBadRequest)
				resWantBody(t, r, resDetail("Invalid cursor."))
			})
		}
	}
}

// A cursor that decodes but names an instant no row can have (past year
// 9999) is a client error, never a 500, on both engines alike (SQLite
// compares times as text: it answered an empty page where PostgreSQL
// answered rows).
func TestCursorOutOfRangeIsNotAServerError(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	resSeedPatients(t, app, a, 3, "Range", time.Time{}, 0)
	for _, pos := range []string{"n.9223372036854775807.1", "p.9223372036854775807.1", "n.253402300800000000.1", "p.253402300800000000.1"} {
		path := "/api/patients/?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(pos))
		t.Run(pos, func(t *testing.T) {
			r := app.do(request{method: "GET", path: path, token: a.Access}).want(t, http.StatusBadRequest)
			resWantBody(t, r, resDetail("Invalid cursor."))
		})
	}
	// The last instant a row can have is still a position.
	path := "/api/patients/?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("n.253402300799999999.1"))
	app.do(request{method: "GET", path: path, token: a.Access}).want(t, http.StatusOK)
}

// A search word longer than any field's text matches nothing (it was a
// 500 on SQLite, whose LIKE refuses patterns over 50,000 bytes), in the
// API's lists and the admin panel's.
func TestSearchWordLongerThanAnyField(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	patients := resSeedPatients(t, app, a, 2, "Long", time.Time{}, 0)
	doctor := app.mustDoctor(t, "Dr Long", "Cardiology")
	mapping := resMustMapping(t, app, a, patients[0], doctor.ID)
	long := strings.Repeat("a", 60000)
	for path, want := range map[string][]int64{
		"/api/patients/?search=" + long:         nil,
		"/api/doctors/?search=" + long:          nil,
		"/api/patients/?cursor=&search=" + long: nil,
		"/api/mappings/?search=long+" + long:    {mapping}, // no search here (API.md): the word is ignored
		"/api/mappings/?cursor=&search=" + long: {mapping},
	} {
		r := app.do(request{method: "GET", path: path, token: a.Access}).want(t, http.StatusOK)
		resWantIDs(t, resWho(r), resResultIDs(t, resWho(r), r.json(t)), want)
	}
	// The longest text a field holds still searches.
	app.do(request{method: "GET", path: "/api/patients/?search=" + strings.Repeat("a", 10000), token: a.Access}).want(t, http.StatusOK)
	// A word of that many characters whose other spellings are longer
	// (6,000 Hangul syllables decompose to 18,000 letters; U+0958
	// composes to two) searches with the spellings that fit.
	for name, word := range map[string]string{"6,000 Hangul syllables": strings.Repeat("한", 6000), "10,000 U+0958": strings.Repeat("\u0958", 10000)} {
		for _, list := range []string{"patients", "doctors"} {
			who := "GET /api/" + list + "/?search=<" + name + ">" // the path itself is 54 KB
			r := app.do(request{method: "GET", path: "/api/" + list + "/?search=" + url.QueryEscape(word), token: a.Access})
			if r.Code != http.StatusOK {
				t.Fatalf("%s: status %d, want 200; body %.200s", who, r.Code, r.Body)
			}
			resWantIDs(t, who, resResultIDs(t, who, r.json(t)), nil)
		}
	}
	// The panel's lists (each has rows to hide) search too.
	_, cl := app.admSuper(t)
	for _, list := range []string{"patients", "doctors", "mappings", "users"} {
		if !cl.get("/admin/"+list+"/").want(t, http.StatusOK).has(t, "results") {
			t.Fatalf("/admin/%s/ has no rows to begin with", list)
		}
		if !cl.get("/admin/"+list+"/?q="+long).want(t, http.StatusOK).has(t, "empty") {
			t.Errorf("/admin/%s/ with the long word: rows shown", list)
		}
	}
	cl.get("/admin/lookup/patient/?q="+long).want(t, http.StatusOK)
}

// A NUL character in a query parameter never reaches the database as a
// 500 (PostgreSQL rejects NUL in text). DRF's SearchFilter strips NUL from
// ?search= before splitting it into words, so the answer is that of the
// search without it; a filter with NUL matches nothing or is refused (400).
func TestListQueryWithNULIsNotAServerError(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	patients := resReversed(resSeedPatients(t, app, a, 3, "Nul", time.Time{}, 0))
	other := id(t, app.mustPatient(t, a, map[string]any{"name": "Somebody Else"}), "id")
	all := append([]int64{other}, patients...)
	doctor := app.mustDoctor(t, "Dr Nul", "Cardiology")
	tests := []struct {
		path string
		want []int64 // the results when the answer is 200
	}{
		{"/api/patients/?search=%00", all},
		{"/api/patients/?search=nul%00", patients},
		{"/api/patients/?search=%00nul", patients},
		{"/api/patients/?cursor=&search=nul%00", patients},
		{"/api/doctors/?search=nul%00", []int64{doctor.ID}},
		{"/api/doctors/?specialization=%00", nil},
		{"/api/doctors/?specialization=cardiology%00", nil},
		{"/api/patients/?ordering=%00", all},
		{"/api/mappings/?patient_id=%00", nil},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := app.do(request{method: "GET", path: tc.path, token: a.Access})
			switch r.Code {
			case http.StatusBadRequest:
			case http.StatusOK:
				resWantIDs(t, resWho(r), resResultIDs(t, resWho(r), r.json(t)), tc.want)
			default:
				t.Errorf("%s: status = %d, want 200 or 400; body: %s", resWho(r), r.Code, r.Body.String())
			}
		})
	}
}

// Keyset pages come in the default order whatever ?ordering= says (the
// contract: "in the default order, with no count").
func TestCursorPaginationIgnoresOrdering(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	ids := resSeedPatients(t, app, a, 12, "Ordered", time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC), time.Minute)
	for _, ordering := range []string{"name", "-name", "date_of_birth", "created_at"} {
		path := "/api/patients/?cursor=&page_size=5&ordering=" + ordering
		pages, _ := resCursorWalk(t, app, a, path, "next")
		resWantIDs(t, "cursor walk with ordering="+ordering, resFlatten(pages), resReversed(ids))
	}
}
