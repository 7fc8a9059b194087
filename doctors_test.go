package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"healthcare/models"
)

// resDoctorKeys is the exact field set of a doctor.
var resDoctorKeys = []string{"created_at", "created_by", "email", "id", "name", "phone", "specialization",
	"updated_at", "years_of_experience"}

func resDoctorPath(id int64) string { return fmt.Sprintf("/api/doctors/%d/", id) }

// resDoctorRow is the stored row of doctor id as canonical JSON ("" when
// there is none).
func resDoctorRow(t *testing.T, app *testApp, id int64) string {
	t.Helper()
	var rows []models.Doctor
	if err := app.store.DB().Where("id = ?", id).Find(&rows).Error; err != nil {
		t.Fatalf("read doctor %d: %v", id, err)
	}
	if len(rows) == 0 {
		return ""
	}
	d := rows[0]
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("marshal doctor: %v", err)
	}
	return string(raw)
}

func TestDoctorPermissions(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	user := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	d := app.mustDoctor(t, "Dr House", "Diagnostics")
	path := resDoctorPath(d.ID)
	before := resDoctorRow(t, app, d.ID)
	valid := map[string]any{"name": "Dr New", "specialization": "Surgery", "email": "new@clinic.example"}

	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		body       any
		wantStatus int
		wantBody   any
	}{
		{name: "non-staff can list doctors", method: "GET", path: "/api/doctors/", token: user.Access, wantStatus: 200},
		{name: "non-staff can read a doctor", method: "GET", path: path, token: user.Access, wantStatus: 200},
		{name: "staff can list doctors", method: "GET", path: "/api/doctors/", token: staff.Access, wantStatus: 200},
		{name: "non-staff create is 403", method: "POST", path: "/api/doctors/", token: user.Access, body: valid,
			wantStatus: 403, wantBody: resDetail(resMsgForbidden)},
		{name: "non-staff invalid create is 403, not 400", method: "POST", path: "/api/doctors/", token: user.Access,
			body: map[string]any{}, wantStatus: 403, wantBody: resDetail(resMsgForbidden)},
		{name: "non-staff PUT is 403", method: "PUT", path: path, token: user.Access, body: valid,
			wantStatus: 403, wantBody: resDetail(resMsgForbidden)},
		{name: "non-staff PATCH is 403", method: "PATCH", path: path, token: user.Access, body: map[string]any{"name": "Hacked"},
			wantStatus: 403, wantBody: resDetail(resMsgForbidden)},
		{name: "non-staff DELETE is 403", method: "DELETE", path: path, token: user.Access,
			wantStatus: 403, wantBody: resDetail(resMsgForbidden)},
		{name: "non-staff DELETE of a missing doctor is 403", method: "DELETE", path: "/api/doctors/999999/", token: user.Access,
			wantStatus: 403, wantBody: resDetail(resMsgForbidden)},
		{name: "no token list is 401", method: "GET", path: "/api/doctors/", wantStatus: 401},
		{name: "no token read is 401", method: "GET", path: path, wantStatus: 401},
		{name: "no token create is 401", method: "POST", path: "/api/doctors/", body: valid, wantStatus: 401},
		{name: "no token PUT is 401", method: "PUT", path: path, body: valid, wantStatus: 401},
		{name: "no token PATCH is 401", method: "PATCH", path: path, body: valid, wantStatus: 401},
		{name: "no token DELETE is 401", method: "DELETE", path: path, wantStatus: 401},
		{name: "garbage token create is 401", method: "POST", path: "/api/doctors/", token: "not.a.token", body: valid, wantStatus: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := app.do(request{method: tc.method, path: tc.path, token: tc.token, body: tc.body}).want(t, tc.wantStatus)
			if tc.wantBody != nil {
				resWantBody(t, r, tc.wantBody)
			}
			if tc.wantStatus == http.StatusUnauthorized {
				if _, ok := r.json(t)["detail"].(string); !ok {
					t.Errorf("%s: 401 body %s has no detail", resWho(r), r.Body.String())
				}
				if got := r.Header().Get("WWW-Authenticate"); got != `Bearer realm="api"` {
					t.Errorf("%s: WWW-Authenticate = %q", resWho(r), got)
				}
			}
		})
	}
	if after := resDoctorRow(t, app, d.ID); after != before {
		t.Errorf("refused writes changed doctor %d:\n before %s\n after  %s", d.ID, before, after)
	}
	if n := resCount(t, app, &models.Doctor{}, ""); n != 1 {
		t.Errorf("%d doctors after refused writes, want 1", n)
	}
}

func TestDoctorCreate(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.mustUser(t, true)
	other := app.mustUser(t, true)

	tests := []struct {
		name string
		body map[string]any
		want map[string]any
	}{
		{name: "minimal body gets the defaults",
			body: map[string]any{"name": "Dr Ann", "specialization": "Cardiology", "email": "ann@clinic.example"},
			want: map[string]any{"name": "Dr Ann", "specialization": "Cardiology", "email": "ann@clinic.example",
				"phone": "", "years_of_experience": float64(0)}},
		// The contract lower-cases users' emails, not doctors': a doctor's
		// is kept as typed (DRF's EmailField), unique in any case.
		{name: "strings are trimmed and the email kept as typed",
			body: map[string]any{"name": " Dr Bob ", "specialization": " Neurology ", "email": " Bob@Clinic.EXAMPLE ",
				"phone": " +1 555 0100 ", "years_of_experience": 12},
			want: map[string]any{"name": "Dr Bob", "specialization": "Neurology", "email": "Bob@Clinic.EXAMPLE",
				"phone": "+1 555 0100", "years_of_experience": float64(12)}},
		{name: "read-only fields are ignored",
			body: map[string]any{"name": "Dr Cy", "specialization": "X", "email": "cy@clinic.example", "id": 424242,
				"created_by": other.ID, "created_at": "2000-01-01T00:00:00Z"},
			want: map[string]any{"name": "Dr Cy"}},
		{name: "80 years of experience",
			body: map[string]any{"name": "Dr Old", "specialization": "X", "email": "old@clinic.example", "years_of_experience": 80},
			want: map[string]any{"years_of_experience": float64(80)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := time.Now().Add(-time.Second)
			r := app.do(request{method: "POST", path: "/api/doctors/", token: staff.Access, body: tc.body}).want(t, http.StatusCreated)
			to := time.Now().Add(time.Second)
			d := r.json(t)
			who := resWho(r)
			resWantKeys(t, who, d, resDoctorKeys)
			for k, v := range tc.want {
				if !reflect.DeepEqual(d[k], v) {
					t.Errorf("%s: %s = %#v, want %#v", who, k, d[k], v)
				}
			}
			if d["id"] == float64(424242) {
				t.Errorf("%s: the client's id was applied", who)
			}
			if got := id(t, d, "created_by"); got != staff.ID {
				t.Errorf("%s: created_by = %d, want the staff user %d", who, got, staff.ID)
			}
			resWantTimestamp(t, who, d, "created_at", from, to)
			resWantTimestamp(t, who, d, "updated_at", from, to)
			resWantBody(t, app.do(request{method: "GET", path: resDoctorPath(id(t, d, "id")), token: staff.Access}).
				want(t, http.StatusOK), d)
		})
	}
}

func TestDoctorValidation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.mustUser(t, true)
	app.do(request{method: "POST", path: "/api/doctors/", token: staff.Access,
		body: map[string]any{"name": "Dr Taken", "specialization": "X", "email": "taken@clinic.example"}}).want(t, http.StatusCreated)
	app.do(request{method: "POST", path: "/api/doctors/", token: staff.Access,
		body: map[string]any{"name": "Dr Bücher", "specialization": "X", "email": "dr@bücher.example"}}).want(t, http.StatusCreated)
	seq := 0
	ok := func(extra map[string]any) map[string]any {
		seq++
		b := map[string]any{"name": "Dr Valid", "specialization": "Cardiology", "email": fmt.Sprintf("valid%d@clinic.example", seq)}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	without := func(field string) map[string]any {
		b := ok(nil)
		delete(b, field)
		return b
	}

	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantErrors map[string][]string
		wantKeys   []string
	}{
		{name: "name missing", body: without("name"), wantStatus: 400, wantErrors: map[string][]string{"name": {resMsgRequired}}},
		{name: "name blank", body: ok(map[string]any{"name": "   "}), wantStatus: 400, wantErrors: map[string][]string{"name": {resMsgBlank}}},
		{name: "name of 101 characters", body: ok(map[string]any{"name": strings.Repeat("ü", 101)}), wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgMaxLen(100)}}},
		{name: "name of 100 characters", body: ok(map[string]any{"name": strings.Repeat("ü", 100)}), wantStatus: 201},
		{name: "name is a number", body: ok(map[string]any{"name": 7}), wantStatus: 400, wantKeys: []string{"name"}},
		{name: "specialization missing", body: without("specialization"), wantStatus: 400,
			wantErrors: map[string][]string{"specialization": {resMsgRequired}}},
		{name: "specialization blank", body: ok(map[string]any{"specialization": ""}), wantStatus: 400,
			wantErrors: map[string][]string{"specialization": {resMsgBlank}}},
		{name: "specialization of 101 characters", body: ok(map[string]any{"specialization": strings.Repeat("s", 101)}), wantStatus: 400,
			wantErrors: map[string][]string{"specialization": {resMsgMaxLen(100)}}},
		{name: "email missing", body: without("email"), wantStatus: 400, wantErrors: map[string][]string{"email": {resMsgRequired}}},
		{name: "email blank", body: ok(map[string]any{"email": " "}), wantStatus: 400, wantErrors: map[string][]string{"email": {resMsgBlank}}},
		{name: "email invalid", body: ok(map[string]any{"email": "doctor.example"}), wantStatus: 400,
			wantErrors: map[string][]string{"email": {resMsgEmail}}},
		{name: "email taken", body: ok(map[string]any{"email": "taken@clinic.example"}), wantStatus: 400, wantKeys: []string{"email"}},
		{name: "email taken in another case", body: ok(map[string]any{"email": "TAKEN@Clinic.Example"}), wantStatus: 400,
			wantKeys: []string{"email"}},
		{name: "email taken with surrounding space", body: ok(map[string]any{"email": " taken@clinic.example "}), wantStatus: 400,
			wantKeys: []string{"email"}},
		{name: "email taken with its domain decomposed", body: ok(map[string]any{"email": "dr@bu\u0308cher.example"}), wantStatus: 400,
			wantErrors: map[string][]string{"email": {"doctor with this email already exists."}}},
		{name: "email taken with its domain in ASCII form", body: ok(map[string]any{"email": "Dr@xn--bcher-kva.example"}), wantStatus: 400,
			wantErrors: map[string][]string{"email": {"doctor with this email already exists."}}},
		{name: "email is a number", body: ok(map[string]any{"email": 1}), wantStatus: 400, wantKeys: []string{"email"}},
		{name: "years as a string", body: ok(map[string]any{"years_of_experience": "5"}), wantStatus: 400,
			wantKeys: []string{"years_of_experience"}},
		{name: "years as a fraction", body: ok(map[string]any{"years_of_experience": 5.5}), wantStatus: 400,
			wantKeys: []string{"years_of_experience"}},
		{name: "years as a boolean", body: ok(map[string]any{"years_of_experience": true}), wantStatus: 400,
			wantKeys: []string{"years_of_experience"}},
		{name: "years as a list", body: ok(map[string]any{"years_of_experience": []int{5}}), wantStatus: 400,
			wantKeys: []string{"years_of_experience"}},
		{name: "years negative", body: ok(map[string]any{"years_of_experience": -1}), wantStatus: 400,
			wantErrors: map[string][]string{"years_of_experience": {"Ensure this value is greater than or equal to 0."}}},
		{name: "years over 80", body: ok(map[string]any{"years_of_experience": 81}), wantStatus: 400,
			wantErrors: map[string][]string{"years_of_experience": {"Ensure this value is less than or equal to 80."}}},
		// Out of int64's range is still an integer: the range message, as DRF.
		{name: "years huge", body: `{"name": "Dr H", "specialization": "X", "email": "huge@clinic.example", "years_of_experience": 99999999999999999999999}`,
			wantStatus: 400, wantErrors: map[string][]string{"years_of_experience": {"Ensure this value is less than or equal to 80."}}},
		{name: "years hugely negative", body: `{"name": "Dr H", "specialization": "X", "email": "huge@clinic.example", "years_of_experience": -99999999999999999999999}`,
			wantStatus: 400, wantErrors: map[string][]string{"years_of_experience": {"Ensure this value is greater than or equal to 0."}}},
		{name: "years 0", body: ok(map[string]any{"years_of_experience": 0}), wantStatus: 201},
		{name: "years 80", body: ok(map[string]any{"years_of_experience": 80}), wantStatus: 201},
		{name: "phone with letters", body: ok(map[string]any{"phone": "call me"}), wantStatus: 400,
			wantErrors: map[string][]string{"phone": {resMsgPhone}}},
		{name: "phone of 21 characters", body: ok(map[string]any{"phone": strings.Repeat("5", 21)}), wantStatus: 400,
			wantErrors: map[string][]string{"phone": {resMsgMaxLen(20)}}},
		{name: "name with a NUL character", body: `{"name": "Dr \u0000", "specialization": "X", "email": "nul@clinic.example"}`,
			wantStatus: 400, wantKeys: []string{"name"}},
		{name: "empty body reports every required field", body: map[string]any{}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgRequired}, "specialization": {resMsgRequired}, "email": {resMsgRequired}}},
		{name: "type and validation errors together",
			body:       ok(map[string]any{"years_of_experience": "5", "name": "", "email": "bad"}),
			wantStatus: 400, wantKeys: []string{"years_of_experience", "name", "email"}},
		// A taken email is reported with the other errors, as DRF's unique
		// validator runs with the field's others.
		{name: "taken email with a validation error", body: ok(map[string]any{"name": "", "email": "Taken@clinic.example"}), wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgBlank}, "email": {"doctor with this email already exists."}}},
		{name: "taken email with a type error", body: ok(map[string]any{"years_of_experience": "5", "email": "taken@clinic.example"}),
			wantStatus: 400, wantKeys: []string{"years_of_experience", "email"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := resCount(t, app, &models.Doctor{}, "")
			r := app.do(request{method: "POST", path: "/api/doctors/", token: staff.Access, body: tc.body}).want(t, tc.wantStatus)
			after := resCount(t, app, &models.Doctor{}, "")
			if tc.wantStatus == http.StatusCreated {
				if after != before+1 {
					t.Errorf("%s: %d doctors after, want %d", resWho(r), after, before+1)
				}
				return
			}
			if after != before {
				t.Errorf("%s: failed create changed the doctor count from %d to %d", resWho(r), before, after)
			}
			if tc.wantErrors != nil {
				resWantBody(t, r, tc.wantErrors)
			} else {
				resWantErrorKeys(t, r, tc.wantKeys...)
			}
		})
	}
}

func TestDoctorUpdate(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.mustUser(t, true)
	other := app.mustDoctor(t, "Dr Other", "Oncology")
	orig := app.do(request{method: "POST", path: "/api/doctors/", token: staff.Access,
		body: map[string]any{"name": "Dr Grey", "specialization": "Surgery", "email": "grey@clinic.example",
			"phone": "555-0101", "years_of_experience": 5}}).want(t, http.StatusCreated).json(t)
	did := id(t, orig, "id")
	path := resDoctorPath(did)

	steps := []struct {
		name       string
		method     string
		body       any
		wantStatus int
		want       map[string]any
		wantErrors map[string][]string
		wantKeys   []string
	}{
		{name: "PATCH years", method: "PATCH", body: map[string]any{"years_of_experience": 12}, wantStatus: 200,
			want: map[string]any{"years_of_experience": 12}},
		{name: "PATCH years as a string is 400", method: "PATCH", body: map[string]any{"years_of_experience": "13"}, wantStatus: 400,
			wantKeys: []string{"years_of_experience"}},
		{name: "PATCH years over 80 is 400", method: "PATCH", body: map[string]any{"years_of_experience": 81}, wantStatus: 400,
			wantKeys: []string{"years_of_experience"}},
		{name: "PATCH another doctor's email in capitals is 400", method: "PATCH",
			body: map[string]any{"email": strings.ToUpper(other.Email)}, wantStatus: 400, wantKeys: []string{"email"}},
		{name: "PATCH another doctor's email with a blank name reports both", method: "PATCH",
			body: map[string]any{"name": "", "email": other.Email}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgBlank}, "email": {"doctor with this email already exists."}}},
		{name: "PATCH its own email with a blank name reports the name only", method: "PATCH",
			body: map[string]any{"name": "", "email": "GREY@clinic.example"}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgBlank}}},
		{name: "PATCH its own email in capitals takes them", method: "PATCH",
			body: map[string]any{"email": "GREY@clinic.example"}, wantStatus: 200, want: map[string]any{"email": "GREY@clinic.example"}},
		{name: "PUT without specialization is 400", method: "PUT",
			body: map[string]any{"name": "Dr G", "email": "grey@clinic.example"}, wantStatus: 400,
			wantErrors: map[string][]string{"specialization": {resMsgRequired}}},
		{name: "PUT with the required fields keeps the optional ones", method: "PUT",
			body:       map[string]any{"name": "Dr Meredith Grey", "specialization": "General Surgery", "email": "mgrey@clinic.example"},
			wantStatus: 200,
			want:       map[string]any{"name": "Dr Meredith Grey", "specialization": "General Surgery", "email": "mgrey@clinic.example"}},
		{name: "PUT ignores read-only fields", method: "PUT",
			body: map[string]any{"name": "Dr M Grey", "specialization": "Surgery", "email": "mgrey@clinic.example",
				"id": did + 100, "created_by": 0, "created_at": "2000-01-01T00:00:00Z"},
			wantStatus: 200, want: map[string]any{"name": "Dr M Grey", "specialization": "Surgery"}},
		{name: "PATCH blank name is 400", method: "PATCH", body: map[string]any{"name": ""}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgBlank}}},
	}
	state := orig
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := resDoctorRow(t, app, did)
			r := app.do(request{method: st.method, path: path, token: staff.Access, body: st.body}).want(t, st.wantStatus)
			if st.wantStatus != http.StatusOK {
				if after := resDoctorRow(t, app, did); after != before {
					t.Errorf("%s: failed update changed the row:\n before %s\n after  %s", resWho(r), before, after)
				}
				if st.wantErrors != nil {
					resWantBody(t, r, st.wantErrors)
				} else {
					resWantErrorKeys(t, r, st.wantKeys...)
				}
				return
			}
			d := r.json(t)
			want := map[string]any{}
			for k, v := range state {
				want[k] = v
			}
			for k, v := range st.want {
				want[k] = v
			}
			want["updated_at"] = d["updated_at"]
			resWantBody(t, r, want)
			state = d
		})
	}
	if state["created_at"] != orig["created_at"] || id(t, state, "created_by") != staff.ID || id(t, state, "id") != did {
		t.Errorf("read-only fields changed: %v -> %v", orig, state)
	}
}

func TestDoctorDeleteRemovesItsMappings(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.mustUser(t, true)
	u := app.mustUser(t, false)
	d, keep := app.mustDoctor(t, "Dr Gone", "X"), app.mustDoctor(t, "Dr Kept", "Y")
	p1, p2 := id(t, app.mustPatient(t, u, nil), "id"), id(t, app.mustPatient(t, u, nil), "id")
	for _, m := range [][2]int64{{p1, d.ID}, {p2, d.ID}, {p1, keep.ID}} {
		app.do(request{method: "POST", path: "/api/mappings/", token: u.Access,
			body: map[string]any{"patient_id": m[0], "doctor_id": m[1]}}).want(t, http.StatusCreated)
	}
	path := resDoctorPath(d.ID)
	steps := []struct {
		name       string
		method     string
		wantStatus int
	}{
		{"DELETE is 204", "DELETE", 204},
		{"GET after delete is 404", "GET", 404},
		{"DELETE again is 404", "DELETE", 404},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := app.do(request{method: st.method, path: path, token: staff.Access}).want(t, st.wantStatus)
			if st.wantStatus == http.StatusNotFound {
				resWantBody(t, r, resDetail(resMsgNotFound))
			}
		})
	}
	if n := resCount(t, app, &models.Mapping{}, "doctor_id = ?", d.ID); n != 0 {
		t.Errorf("mappings of deleted doctor %d: %d rows, want 0", d.ID, n)
	}
	if n := resCount(t, app, &models.Mapping{}, "doctor_id = ?", keep.ID); n != 1 {
		t.Errorf("mappings of doctor %d: %d rows, want 1 (untouched)", keep.ID, n)
	}
	body := app.do(request{method: "GET", path: fmt.Sprintf("/api/mappings/%d/", p1), token: u.Access}).want(t, http.StatusOK).json(t)
	doctors, _ := body["doctors"].([]any)
	if len(doctors) != 1 || id(t, doctors[0].(map[string]any), "id") != keep.ID {
		t.Errorf("GET /api/mappings/%d/: doctors = %v, want only doctor %d", p1, body["doctors"], keep.ID)
	}
}

func TestDoctorSpecializationFilter(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []int64
	names := []string{"Dr Alpha", "Dr Bravo", "Dr Charlie", "Dr Delta", "Dr Echo"}
	for i, spec := range []string{"Cardiology", "cardiology", "Cardiology Surgery", "Neurology", "Pediatric Cardiology"} {
		d := app.mustDoctor(t, names[i], spec)
		resSetCreatedAt(t, app, "doctors", d.ID, base.Add(time.Duration(i)*time.Hour))
		ids = append(ids, d.ID)
	}
	tests := []struct {
		query string
		want  []int64 // newest first
	}{
		{"specialization=Cardiology", []int64{ids[1], ids[0]}},
		{"specialization=CARDIOLOGY", []int64{ids[1], ids[0]}},
		{"specialization=cardiology", []int64{ids[1], ids[0]}},
		{"specialization=cardio", nil},
		{"specialization=Cardiology%20Surgery", []int64{ids[2]}},
		{"specialization=neurology", []int64{ids[3]}},
		{"specialization=Dermatology", nil},
		{"specialization=", []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"specialization=cardiology&search=bravo", []int64{ids[1]}},
		{"specialization=neurology&search=bravo", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			path := "/api/doctors/?" + tc.query
			body := app.do(request{method: "GET", path: path, token: u.Access}).want(t, http.StatusOK).json(t)
			got := resResultIDs(t, "GET "+path, body)
			if len(got) == 0 && len(tc.want) == 0 {
				got, tc.want = nil, nil
			}
			if !reflect.DeepEqual(got, tc.want) || body["count"] != float64(len(tc.want)) {
				t.Errorf("GET %s: ids = %v (count %v), want %v", path, got, body["count"], tc.want)
			}
		})
	}
}

func TestDoctorPathIDs(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.mustUser(t, true)
	d := app.mustDoctor(t, "Dr Path", "X")
	before := resDoctorRow(t, app, d.ID)
	for _, raw := range []string{"abc", "0", "-1", "99999999999999999999", "1.5", "999999"} {
		for _, method := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			path := "/api/doctors/" + raw + "/"
			t.Run(method+" "+path, func(t *testing.T) {
				var body any
				if method == "PUT" || method == "PATCH" {
					body = map[string]any{"name": "Changed", "specialization": "Y", "email": "changed@clinic.example"}
				}
				r := app.do(request{method: method, path: path, token: staff.Access, body: body}).want(t, http.StatusNotFound)
				resWantBody(t, r, resDetail(resMsgNotFound))
			})
		}
	}
	if after := resDoctorRow(t, app, d.ID); after != before {
		t.Errorf("requests to bad ids changed doctor %d", d.ID)
	}
}

// As for patients, the answer to PUT and PATCH is the stored doctor.
func TestDoctorUpdateReturnsStoredUpdatedAt(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	staff := app.mustUser(t, true)
	d := app.mustDoctor(t, "Dr Time", "X")
	path := resDoctorPath(d.ID)
	for _, tc := range []struct {
		method string
		body   map[string]any
	}{
		{"PUT", map[string]any{"name": "Dr Time", "specialization": "Y", "email": d.Email}},
		{"PATCH", map[string]any{"years_of_experience": 3}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			r := app.do(request{method: tc.method, path: path, token: staff.Access, body: tc.body}).want(t, http.StatusOK)
			got := app.do(request{method: "GET", path: path, token: staff.Access}).want(t, http.StatusOK)
			resWantBody(t, got, r.json(t))
		})
	}
}

// The specialization filter is case-insensitive beyond ASCII as well.
func TestDoctorSpecializationFilterNonASCII(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	d := app.mustDoctor(t, "Dr Öz", "Ästhetik")
	app.mustDoctor(t, "Dr Oz", "Asthetik")
	for _, spec := range []string{"Ästhetik", "ästhetik", "ÄSTHETIK"} {
		t.Run(spec, func(t *testing.T) {
			path := "/api/doctors/?specialization=" + url.QueryEscape(spec)
			body := app.do(request{method: "GET", path: path, token: u.Access}).want(t, http.StatusOK).json(t)
			if got := resResultIDs(t, "GET "+path, body); !reflect.DeepEqual(got, []int64{d.ID}) {
				t.Errorf("GET %s: ids = %v, want [%d]", path, got, d.ID)
			}
		})
	}
}

// created_by is the staff user who added the doctor, whoever edits it
// later (read-only in the contract), and a client cannot set it.
func TestDoctorCreatedByKeptAcrossEdits(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	adder, editor := app.mustUser(t, true), app.mustUser(t, true)
	d := app.do(request{method: "POST", path: "/api/doctors/", token: adder.Access,
		body: map[string]any{"name": "Dr Keep", "specialization": "Surgery", "email": "keep@clinic.example",
			"phone": "555-0199", "years_of_experience": 3}}).want(t, http.StatusCreated).json(t)
	path := resDoctorPath(id(t, d, "id"))
	for _, req := range []request{
		{method: "PATCH", path: path, token: editor.Access, body: map[string]any{"years_of_experience": 4, "created_by": editor.ID}},
		{method: "PUT", path: path, token: editor.Access, body: map[string]any{"name": "Dr Keep", "specialization": "Surgery",
			"email": "keep@clinic.example", "phone": "555-0199", "years_of_experience": 5, "created_by": editor.ID}},
	} {
		got := app.do(req).want(t, http.StatusOK).json(t)
		if got["created_by"] != float64(adder.ID) {
			t.Errorf("%s by another staff user: created_by = %v, want the adder %d", req.method, got["created_by"], adder.ID)
		}
	}
	if got := app.do(request{method: "GET", path: path, token: editor.Access}).want(t, http.StatusOK).json(t); got["created_by"] != float64(adder.ID) {
		t.Errorf("stored created_by = %v, want %d", got["created_by"], adder.ID)
	}
}
