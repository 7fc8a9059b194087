package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// resMappingKeys is the exact field set of a mapping.
var resMappingKeys = []string{"created_at", "created_by", "doctor", "doctor_id", "id", "notes", "patient_id"}

const resMsgAlreadyAssigned = "This doctor is already assigned to this patient."

// resMustMapping assigns doctor did to patient pid as u and returns the
// mapping's id.
func resMustMapping(t *testing.T, app *testApp, u *testUser, pid, did int64) int64 {
	t.Helper()
	m := app.do(request{method: "POST", path: "/api/mappings/", token: u.Access,
		body: map[string]any{"patient_id": pid, "doctor_id": did}}).want(t, http.StatusCreated).json(t)
	return id(t, m, "id")
}

func TestMappingCreate(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	pid := id(t, app.mustPatient(t, u, nil), "id")
	d := app.mustDoctor(t, "Dr Who", "Time Travel")
	doctor := app.do(request{method: "GET", path: resDoctorPath(d.ID), token: u.Access}).want(t, http.StatusOK).json(t)

	from := time.Now().Add(-time.Second)
	r := app.do(request{method: "POST", path: "/api/mappings/", token: u.Access,
		body: map[string]any{"patient_id": pid, "doctor_id": d.ID, "notes": "  follow up in May  ",
			"id": 777, "created_by": 12345, "created_at": "2000-01-01T00:00:00Z",
			"doctor": map[string]any{"id": 424242, "name": "Dr Fake"}}}).want(t, http.StatusCreated) // read-only: ignored
	to := time.Now().Add(time.Second)
	m := r.json(t)
	who := resWho(r)
	resWantKeys(t, who, m, resMappingKeys)
	if id(t, m, "patient_id") != pid || id(t, m, "doctor_id") != d.ID {
		t.Errorf("%s: patient_id, doctor_id = %v, %v, want %d, %d", who, m["patient_id"], m["doctor_id"], pid, d.ID)
	}
	if m["notes"] != "follow up in May" {
		t.Errorf("%s: notes = %q, want trimmed %q", who, m["notes"], "follow up in May")
	}
	if id(t, m, "created_by") != u.ID {
		t.Errorf("%s: created_by = %v, want the caller %d", who, m["created_by"], u.ID)
	}
	if id(t, m, "id") == 777 {
		t.Errorf("%s: the client's id was applied", who)
	}
	resWantTimestamp(t, who, m, "created_at", from, to)
	if !reflect.DeepEqual(m["doctor"], doctor) {
		t.Errorf("%s: doctor = %v, want the doctor object %v", who, m["doctor"], doctor)
	}
	if n := resCount(t, app, &models.Mapping{}, "patient_id = ? AND doctor_id = ?", pid, d.ID); n != 1 {
		t.Errorf("%s: %d rows stored, want 1", who, n)
	}

	// Notes are optional: "" when left out.
	d2 := app.mustDoctor(t, "Dr No", "Villainy")
	m2 := app.do(request{method: "POST", path: "/api/mappings", token: u.Access,
		body: map[string]any{"patient_id": pid, "doctor_id": d2.ID}}).want(t, http.StatusCreated).json(t)
	resWantKeys(t, "POST /api/mappings", m2, resMappingKeys)
	if m2["notes"] != "" {
		t.Errorf("POST /api/mappings: notes = %#v, want \"\"", m2["notes"])
	}
}

func TestMappingCreateErrors(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	other := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	pid := id(t, app.mustPatient(t, u, nil), "id")
	otherPID := id(t, app.mustPatient(t, other, nil), "id")
	d := app.mustDoctor(t, "Dr Strange", "Magic")
	d2 := app.mustDoctor(t, "Dr Doom", "Armour")
	d3 := app.mustDoctor(t, "Dr Octopus", "Arms")
	resMustMapping(t, app, u, pid, d.ID)
	notFoundP := map[string][]string{"patient_id": {"Patient not found."}}
	notFoundD := map[string][]string{"doctor_id": {"Doctor not found."}}

	tests := []struct {
		name       string
		token      string
		body       any
		wantStatus int
		wantErrors map[string][]string
		wantKeys   []string
	}{
		{name: "another user's patient", body: map[string]any{"patient_id": otherPID, "doctor_id": d2.ID},
			wantStatus: 400, wantErrors: notFoundP},
		{name: "another user's patient, as staff", token: staff.Access, body: map[string]any{"patient_id": otherPID, "doctor_id": d2.ID},
			wantStatus: 400, wantErrors: notFoundP},
		{name: "nonexistent patient", body: map[string]any{"patient_id": 999999, "doctor_id": d2.ID},
			wantStatus: 400, wantErrors: notFoundP},
		{name: "patient id 0", body: map[string]any{"patient_id": 0, "doctor_id": d2.ID},
			wantStatus: 400, wantErrors: notFoundP},
		{name: "negative patient id", body: map[string]any{"patient_id": -1, "doctor_id": d2.ID},
			wantStatus: 400, wantErrors: notFoundP},
		{name: "patient id past int64", body: `{"patient_id": 99999999999999999999999, "doctor_id": ` + fmt.Sprint(d2.ID) + `}`,
			wantStatus: 400, wantErrors: notFoundP},
		{name: "doctor id past int64", body: `{"patient_id": ` + fmt.Sprint(pid) + `, "doctor_id": -99999999999999999999999}`,
			wantStatus: 400, wantErrors: notFoundD},
		{name: "nonexistent doctor", body: map[string]any{"patient_id": pid, "doctor_id": 999999},
			wantStatus: 400, wantErrors: notFoundD},
		{name: "nonexistent doctor and another user's patient", body: map[string]any{"patient_id": otherPID, "doctor_id": 999999},
			wantStatus: 400, wantErrors: map[string][]string{"patient_id": {"Patient not found."}, "doctor_id": {"Doctor not found."}}},
		{name: "doctor already assigned", body: map[string]any{"patient_id": pid, "doctor_id": d.ID},
			wantStatus: 400, wantErrors: map[string][]string{"non_field_errors": {resMsgAlreadyAssigned}}},
		{name: "doctor already assigned, other notes", body: map[string]any{"patient_id": pid, "doctor_id": d.ID, "notes": "again"},
			wantStatus: 400, wantErrors: map[string][]string{"non_field_errors": {resMsgAlreadyAssigned}}},
		{name: "patient id missing", body: map[string]any{"doctor_id": d2.ID},
			wantStatus: 400, wantErrors: map[string][]string{"patient_id": {resMsgRequired}}},
		{name: "both ids missing", body: map[string]any{"notes": "x"},
			wantStatus: 400, wantErrors: map[string][]string{"patient_id": {resMsgRequired}, "doctor_id": {resMsgRequired}}},
		{name: "patient id as a string", body: map[string]any{"patient_id": fmt.Sprint(pid), "doctor_id": d2.ID},
			wantStatus: 400, wantKeys: []string{"patient_id"}},
		{name: "doctor id as a string", body: map[string]any{"patient_id": pid, "doctor_id": fmt.Sprint(d2.ID)},
			wantStatus: 400, wantKeys: []string{"doctor_id"}},
		{name: "doctor id as a fraction", body: map[string]any{"patient_id": pid, "doctor_id": 1.5},
			wantStatus: 400, wantKeys: []string{"doctor_id"}},
		{name: "patient id null", body: map[string]any{"patient_id": nil, "doctor_id": d2.ID},
			wantStatus: 400, wantKeys: []string{"patient_id"}},
		{name: "patient id as a boolean", body: map[string]any{"patient_id": true, "doctor_id": d2.ID},
			wantStatus: 400, wantKeys: []string{"patient_id"}},
		{name: "doctor id as an object", body: map[string]any{"patient_id": pid, "doctor_id": map[string]any{"id": d2.ID}},
			wantStatus: 400, wantKeys: []string{"doctor_id"}},
		{name: "notes as a number", body: map[string]any{"patient_id": pid, "doctor_id": d2.ID, "notes": 5},
			wantStatus: 400, wantKeys: []string{"notes"}},
		{name: "notes of 1001 characters", body: map[string]any{"patient_id": pid, "doctor_id": d2.ID, "notes": strings.Repeat("ñ", 1001)},
			wantStatus: 400, wantErrors: map[string][]string{"notes": {resMsgMaxLen(1000)}}},
		{name: "notes with a NUL character", body: fmt.Sprintf(`{"patient_id": %d, "doctor_id": %d, "notes": "a\u0000b"}`, pid, d2.ID),
			wantStatus: 400, wantKeys: []string{"notes"}},
		{name: "patient id too large for an integer", body: fmt.Sprintf(`{"patient_id": 99999999999999999999, "doctor_id": %d}`, d2.ID),
			wantStatus: 400, wantKeys: []string{"patient_id"}},
		{name: "body is not JSON", body: `{"patient_id": 1,`, wantStatus: 400, wantKeys: []string{"detail"}},
		{name: "no token", token: "-", body: map[string]any{"patient_id": pid, "doctor_id": d2.ID}, wantStatus: 401},
		// Last: it succeeds.
		{name: "notes of 1000 characters", body: map[string]any{"patient_id": pid, "doctor_id": d3.ID, "notes": strings.Repeat("ñ", 1000)},
			wantStatus: 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := u.Access
			switch tc.token {
			case "-":
				token = ""
			case "":
			default:
				token = tc.token
			}
			before := resCount(t, app, &models.Mapping{}, "")
			r := app.do(request{method: "POST", path: "/api/mappings/", token: token, body: tc.body}).want(t, tc.wantStatus)
			after := resCount(t, app, &models.Mapping{}, "")
			if tc.wantStatus == http.StatusCreated {
				if after != before+1 {
					t.Errorf("%s: %d mappings after, want %d", resWho(r), after, before+1)
				}
				return
			}
			if after != before {
				t.Errorf("%s: failed create changed the mapping count from %d to %d", resWho(r), before, after)
			}
			switch {
			case tc.wantErrors != nil:
				resWantBody(t, r, tc.wantErrors)
			case tc.wantKeys != nil && tc.wantKeys[0] == "detail":
				if _, ok := r.json(t)["detail"].(string); !ok {
					t.Errorf("%s: body %s, want a detail", resWho(r), r.Body.String())
				}
			case tc.wantKeys != nil:
				resWantErrorKeys(t, r, tc.wantKeys...)
			}
		})
	}
	if n := resCount(t, app, &models.Mapping{}, "patient_id = ?", otherPID); n != 0 {
		t.Errorf("another user's patient got %d mappings, want 0", n)
	}
}

// Ten concurrent assignments of the same doctor to the same patient: the
// unique index lets exactly one through; the rest get the contract's 400.
func TestMappingCreateRace(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	pid := id(t, app.mustPatient(t, u, nil), "id")
	d := app.mustDoctor(t, "Dr Race", "Speed")
	const n = 10
	body := fmt.Sprintf(`{"patient_id": %d, "doctor_id": %d}`, pid, d.ID)

	type result struct {
		code int
		body string
	}
	results := make([]result, n)
	modelstest.AtOnce(n, func(i int) {
		r := app.do(request{method: "POST", path: "/api/mappings/", token: u.Access, body: body})
		results[i] = result{r.Code, r.Body.String()}
	})

	created := 0
	wantDup, _ := json.Marshal(map[string][]string{"non_field_errors": {resMsgAlreadyAssigned}})
	for i, r := range results {
		switch r.code {
		case http.StatusCreated:
			created++
		case http.StatusBadRequest:
			var got, want any
			_ = json.Unmarshal([]byte(r.body), &got)
			_ = json.Unmarshal(wantDup, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("POST /api/mappings/ #%d: body = %s, want %s", i, r.body, wantDup)
			}
		default:
			t.Errorf("POST /api/mappings/ #%d: status = %d, want 201 or 400; body: %s", i, r.code, r.body)
		}
	}
	if created != 1 {
		t.Errorf("POST /api/mappings/ x%d concurrently: %d answered 201, want exactly 1", n, created)
	}
	if rows := resCount(t, app, &models.Mapping{}, "patient_id = ? AND doctor_id = ?", pid, d.ID); rows != 1 {
		t.Errorf("%d mapping rows for the pair after the race, want 1", rows)
	}
}

func TestMappingList(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	b := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	p1 := id(t, app.mustPatient(t, a, nil), "id")
	p2 := id(t, app.mustPatient(t, a, nil), "id")
	q := id(t, app.mustPatient(t, b, nil), "id")
	d1, d2 := app.mustDoctor(t, "Dr One", "X"), app.mustDoctor(t, "Dr Two", "Y")
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var ids []int64 // creation order
	for i, m := range []struct {
		u        *testUser
		pid, did int64
	}{{a, p1, d1.ID}, {a, p1, d2.ID}, {a, p2, d1.ID}, {b, q, d1.ID}} {
		mid := resMustMapping(t, app, m.u, m.pid, m.did)
		resSetCreatedAt(t, app, "mappings", mid, base.Add(time.Duration(i)*time.Minute))
		ids = append(ids, mid)
	}
	empty := []int64{}

	tests := []struct {
		name  string
		user  *testUser
		query string
		want  []int64 // newest first
	}{
		{"only mappings of the caller's patients", a, "", []int64{ids[2], ids[1], ids[0]}},
		{"the other user sees only theirs", b, "", []int64{ids[3]}},
		{"staff sees none of other users' mappings", staff, "", empty},
		{"filter by patient", a, "?patient_id=" + fmt.Sprint(p1), []int64{ids[1], ids[0]}},
		{"filter by doctor", a, "?doctor_id=" + fmt.Sprint(d1.ID), []int64{ids[2], ids[0]}},
		{"filter by both", a, fmt.Sprintf("?patient_id=%d&doctor_id=%d", p1, d2.ID), []int64{ids[1]}},
		{"filter by another user's patient matches nothing", a, "?patient_id=" + fmt.Sprint(q), empty},
		{"filter by a nonexistent patient matches nothing", a, "?patient_id=999999", empty},
		{"filter by doctor does not leak the other user's mappings", b, "?doctor_id=" + fmt.Sprint(d1.ID), []int64{ids[3]}},
		{"filter by a doctor with none of the caller's patients", b, "?doctor_id=" + fmt.Sprint(d2.ID), empty},
		{"empty filter values match everything", a, "?patient_id=&doctor_id=", []int64{ids[2], ids[1], ids[0]}},
		{"paginated", a, "?page_size=2&page=2", []int64{ids[0]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/mappings/" + tc.query
			r := app.do(request{method: "GET", path: path, token: tc.user.Access}).want(t, http.StatusOK)
			body := r.json(t)
			resWantKeys(t, resWho(r), body, []string{"count", "next", "previous", "results"})
			got := resResultIDs(t, resWho(r), body)
			total := len(tc.want)
			if tc.query == "?page_size=2&page=2" {
				total = 3
			}
			if !reflect.DeepEqual(got, tc.want) || body["count"] != float64(total) {
				t.Errorf("%s: ids = %v (count %v), want %v (count %d)", resWho(r), got, body["count"], tc.want, total)
			}
			for _, res := range body["results"].([]any) {
				m := res.(map[string]any)
				resWantKeys(t, resWho(r), m, resMappingKeys)
				doc, _ := m["doctor"].(map[string]any)
				if doc == nil || id(t, doc, "id") != id(t, m, "doctor_id") {
					t.Errorf("%s: mapping %v: doctor = %v, want the doctor object of doctor_id", resWho(r), m["id"], m["doctor"])
				}
			}
		})
	}
}

// A filter value that is not an id is a 400 under its name, and every
// invalid filter is reported at once (django-filter's form errors), the
// same every time.
func TestMappingListInvalidFilters(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	const choice = "Select a valid choice. That choice is not one of the available choices."
	for _, tc := range []struct {
		query string
		want  map[string][]string
	}{
		{"?patient_id=x", map[string][]string{"patient_id": {choice}}},
		{"?doctor_id=0", map[string][]string{"doctor_id": {choice}}},
		{"?patient_id=-1&doctor_id=1", map[string][]string{"patient_id": {choice}}},
		{"?patient_id=1.5&doctor_id=abc", map[string][]string{"patient_id": {choice}, "doctor_id": {choice}}},
	} {
		for range 5 { // a map's order changed from one request to the next
			r := app.do(request{method: "GET", path: "/api/mappings/" + tc.query, token: a.Access}).want(t, http.StatusBadRequest)
			resWantBody(t, r, tc.want)
		}
	}
}

func TestMappingPatientDoctors(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	b := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	p := id(t, app.mustPatient(t, a, nil), "id")
	lonely := id(t, app.mustPatient(t, a, nil), "id")
	q := id(t, app.mustPatient(t, b, nil), "id")
	// Assigned in an order that is neither by name nor by id.
	zed, adam, mike := app.mustDoctor(t, "Zed Zulu", "X"), app.mustDoctor(t, "Adam Alpha", "Y"), app.mustDoctor(t, "Mike Mid", "Z")
	for _, d := range []*models.Doctor{mike, zed, adam} {
		resMustMapping(t, app, a, p, d.ID)
	}
	resMustMapping(t, app, b, q, zed.ID)
	doctorJSON := func(d *models.Doctor) any {
		return app.do(request{method: "GET", path: resDoctorPath(d.ID), token: a.Access}).want(t, http.StatusOK).json(t)
	}

	tests := []struct {
		name       string
		user       *testUser
		path       string
		wantStatus int
		wantBody   any
	}{
		{name: "every doctor of the patient, by name", user: a, path: fmt.Sprintf("/api/mappings/%d/", p), wantStatus: 200,
			wantBody: map[string]any{"patient_id": p, "doctors": []any{doctorJSON(adam), doctorJSON(mike), doctorJSON(zed)}}},
		{name: "without the trailing slash", user: a, path: fmt.Sprintf("/api/mappings/%d", p), wantStatus: 200,
			wantBody: map[string]any{"patient_id": p, "doctors": []any{doctorJSON(adam), doctorJSON(mike), doctorJSON(zed)}}},
		{name: "a patient with no doctors", user: a, path: fmt.Sprintf("/api/mappings/%d/", lonely), wantStatus: 200,
			wantBody: map[string]any{"patient_id": lonely, "doctors": []any{}}},
		{name: "another user's patient is 404", user: b, path: fmt.Sprintf("/api/mappings/%d/", p), wantStatus: 404,
			wantBody: resDetail(resMsgNotFound)},
		{name: "another user's patient is 404 for staff", user: staff, path: fmt.Sprintf("/api/mappings/%d/", p), wantStatus: 404,
			wantBody: resDetail(resMsgNotFound)},
		{name: "the other user's own patient", user: b, path: fmt.Sprintf("/api/mappings/%d/", q), wantStatus: 200,
			wantBody: map[string]any{"patient_id": q, "doctors": []any{doctorJSON(zed)}}},
		{name: "nonexistent patient is 404", user: a, path: "/api/mappings/999999/", wantStatus: 404, wantBody: resDetail(resMsgNotFound)},
		{name: "non-numeric id is 404", user: a, path: "/api/mappings/abc/", wantStatus: 404, wantBody: resDetail(resMsgNotFound)},
		{name: "id 0 is 404", user: a, path: "/api/mappings/0/", wantStatus: 404, wantBody: resDetail(resMsgNotFound)},
		{name: "negative id is 404", user: a, path: "/api/mappings/-1/", wantStatus: 404, wantBody: resDetail(resMsgNotFound)},
		{name: "huge id is 404", user: a, path: "/api/mappings/99999999999999999999/", wantStatus: 404, wantBody: resDetail(resMsgNotFound)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := app.do(request{method: "GET", path: tc.path, token: tc.user.Access}).want(t, tc.wantStatus)
			resWantBody(t, r, tc.wantBody)
		})
	}
}

func TestMappingDelete(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	b := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	p := id(t, app.mustPatient(t, a, nil), "id")
	d1, d2 := app.mustDoctor(t, "Dr A", "X"), app.mustDoctor(t, "Dr B", "Y")
	m1 := resMustMapping(t, app, a, p, d1.ID)
	m2 := resMustMapping(t, app, a, p, d2.ID)
	del := func(id int64) string { return fmt.Sprintf("/api/mappings/delete/%d/", id) }

	steps := []struct {
		name       string
		user       *testUser
		path       string
		wantStatus int
	}{
		{"another user's mapping is 404", b, del(m1), 404},
		{"another user's mapping is 404 for staff", staff, del(m1), 404},
		{"nonexistent mapping is 404", a, del(999999), 404},
		{"non-numeric id is 404", a, "/api/mappings/delete/abc/", 404},
		{"id 0 is 404", a, "/api/mappings/delete/0/", 404},
		{"negative id is 404", a, "/api/mappings/delete/-1/", 404},
		{"huge id is 404", a, "/api/mappings/delete/99999999999999999999/", 404},
		{"own mapping is 204", a, del(m1), 204},
		{"deleting it again is 404", a, del(m1), 404},
		{"without the trailing slash", a, strings.TrimSuffix(del(m2), "/"), 204},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := app.do(request{method: "DELETE", path: st.path, token: st.user.Access}).want(t, st.wantStatus)
			if st.wantStatus == http.StatusNotFound {
				resWantBody(t, r, resDetail(resMsgNotFound))
				if st.user != a && resCount(t, app, &models.Mapping{}, "id = ?", m1) != 1 {
					t.Errorf("%s: 404, but mapping %d was deleted", resWho(r), m1)
				}
			}
			if st.wantStatus == http.StatusNoContent && r.Body.Len() != 0 {
				t.Errorf("%s: 204 with body %q", resWho(r), r.Body.String())
			}
		})
	}
	if n := resCount(t, app, &models.Mapping{}, ""); n != 0 {
		t.Errorf("%d mappings left, want 0", n)
	}
	// The doctors and the patient are untouched.
	if n := resCount(t, app, &models.Doctor{}, ""); n != 2 {
		t.Errorf("%d doctors after deleting mappings, want 2", n)
	}
	if n := resCount(t, app, &models.Patient{}, "id = ?", p); n != 1 {
		t.Errorf("patient %d gone after deleting its mappings", p)
	}
	// After deletion the doctor can be assigned again.
	resMustMapping(t, app, a, p, d1.ID)
}

// A patient's doctors are every one of them, not a page: more than the
// largest page size, all by name.
func TestMappingPatientDoctorsNotPaginated(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	a := app.mustUser(t, false)
	p := id(t, app.mustPatient(t, a, nil), "id")
	const n = models.MaxPageSize + 5
	for i := range n {
		d := app.mustDoctor(t, fmt.Sprintf("Doctor %03d", n-i), "General")
		if err := app.store.CreateMapping(t.Context(), a.ID, &models.Mapping{PatientID: p, DoctorID: d.ID}); err != nil {
			t.Fatal(err)
		}
	}
	body := app.do(request{method: "GET", path: fmt.Sprintf("/api/mappings/%d/", p), token: a.Access}).want(t, http.StatusOK).json(t)
	docs, _ := body["doctors"].([]any)
	if len(docs) != n {
		t.Fatalf("%d doctors, want all %d", len(docs), n)
	}
	for i, d := range docs {
		if name := d.(map[string]any)["name"]; name != fmt.Sprintf("Doctor %03d", i+1) {
			t.Fatalf("doctor %d = %v, want by name", i, name)
		}
	}
}
