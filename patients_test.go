package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"healthcare/models"
)

// Helpers shared by patients_test.go, doctors_test.go, mappings_test.go and
// lists_test.go carry the prefix res, so they never clash with the helpers
// of other test files of package main.

// Contract messages the tables compare against.
const (
	resMsgRequired  = "This field is required."
	resMsgBlank     = "This field may not be blank."
	resMsgNotFound  = "Not found."
	resMsgForbidden = "You do not have permission to perform this action."
	resMsgEmail     = "Enter a valid email address."
	resMsgDateFmt   = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
	resMsgFuture    = "Date of birth cannot be in the future."
	resMsgTooEarly  = "Date of birth cannot be before 1900-01-01."
	resMsgPhone     = "Enter a valid phone number (digits, spaces and + - ( ) only)."
)

func resMsgMaxLen(n int) string {
	return fmt.Sprintf("Ensure this field has no more than %d characters.", n)
}

// resPatientKeys is the exact field set of a patient.
var resPatientKeys = []string{"address", "created_at", "created_by", "date_of_birth", "email", "gender",
	"id", "medical_history", "name", "phone", "updated_at"}

// resDetail is the body of a {"detail": ...} error.
func resDetail(msg string) map[string]any { return map[string]any{"detail": msg} }

// resWho names a request in failure messages: "GET /api/patients/7/".
func resWho(r *response) string { return r.req.method + " " + r.req.path }

// resNormalize round-trips v through JSON, so Go values compare with
// decoded bodies (numbers become float64, structs maps).
func resNormalize(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
	return out
}

// resWantBody fails unless r's JSON body equals want exactly.
func resWantBody(t *testing.T, r *response, want any) {
	t.Helper()
	var got any
	if err := json.Unmarshal(r.Body.Bytes(), &got); err != nil {
		t.Errorf("%s: body is not JSON: %v; body: %s", resWho(r), err, r.Body.String())
		return
	}
	w := resNormalize(t, want)
	if !reflect.DeepEqual(got, w) {
		wantRaw, _ := json.Marshal(w)
		t.Errorf("%s: body = %s, want %s", resWho(r), strings.TrimSpace(r.Body.String()), wantRaw)
	}
}

// resWantErrorKeys fails unless r is a 400 whose body has exactly the
// error fields keys, each with at least one message.
func resWantErrorKeys(t *testing.T, r *response, keys ...string) {
	t.Helper()
	m := r.json(t)
	var got []string
	for k, v := range m {
		got = append(got, k)
		if msgs, ok := v.([]any); !ok || len(msgs) == 0 {
			t.Errorf("%s: field %q = %v, want a list of messages", resWho(r), k, v)
		}
	}
	sort.Strings(got)
	want := append([]string(nil), keys...)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: error fields = %v, want %v; body: %s", resWho(r), got, want, r.Body.String())
	}
}

// resWantKeys fails unless m has exactly the keys want.
func resWantKeys(t *testing.T, who string, m map[string]any, want []string) {
	t.Helper()
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if !reflect.DeepEqual(got, w) {
		t.Errorf("%s: keys = %v, want %v", who, got, w)
	}
}

// resWantTimestamp fails unless m[key] is an RFC 3339 UTC timestamp ("Z")
// within [from, to].
func resWantTimestamp(t *testing.T, who string, m map[string]any, key string, from, to time.Time) time.Time {
	t.Helper()
	s, ok := m[key].(string)
	if !ok {
		t.Errorf("%s: %s = %v (%T), want a timestamp string", who, key, m[key], m[key])
		return time.Time{}
	}
	if !strings.HasSuffix(s, "Z") {
		t.Errorf("%s: %s = %q, want RFC 3339 in UTC ending in Z", who, key, s)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Errorf("%s: %s = %q is not RFC 3339: %v", who, key, s, err)
		return time.Time{}
	}
	if ts.Before(from) || ts.After(to) {
		t.Errorf("%s: %s = %s, want between %s and %s", who, key, s, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	return ts
}

// resCount counts the rows of model matching where.
func resCount(t *testing.T, app *testApp, model any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := app.store.DB().Model(model)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatalf("count %T: %v", model, err)
	}
	return n
}

// resPatientRow is the stored row of patient id as canonical JSON, to check
// that a failed request changed nothing ("" when there is no such row).
func resPatientRow(t *testing.T, app *testApp, id int64) string {
	t.Helper()
	var rows []models.Patient
	if err := app.store.DB().Where("id = ?", id).Find(&rows).Error; err != nil {
		t.Fatalf("read patient %d: %v", id, err)
	}
	if len(rows) == 0 {
		return ""
	}
	p := rows[0]
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshal patient: %v", err)
	}
	return string(raw)
}

// resSetCreatedAt sets created_at of row id of table directly in the
// database, to control list order.
func resSetCreatedAt(t *testing.T, app *testApp, table string, id int64, at time.Time) {
	t.Helper()
	if err := app.store.DB().Table(table).Where("id = ?", id).UpdateColumn("created_at", at.UTC()).Error; err != nil {
		t.Fatalf("set %s %d created_at: %v", table, id, err)
	}
}

// resSeedPatients stores n patients of u named prefix+" 001".. through the
// store, with created_at = base + i*step (step 0 leaves the insert time),
// and returns their ids in creation order.
func resSeedPatients(t *testing.T, app *testApp, u *testUser, n int, prefix string, base time.Time, step time.Duration) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range n {
		p := &models.Patient{Name: fmt.Sprintf("%s %03d", prefix, i+1)}
		if err := app.store.CreatePatient(context.Background(), u.ID, p); err != nil {
			t.Fatalf("create patient: %v", err)
		}
		ids[i] = p.ID
		if !base.IsZero() {
			resSetCreatedAt(t, app, "patients", p.ID, base.Add(time.Duration(i)*step))
		}
	}
	return ids
}

// resResultIDs returns the ids of a list body's results.
func resResultIDs(t *testing.T, who string, body map[string]any) []int64 {
	t.Helper()
	results, ok := body["results"].([]any)
	if !ok {
		t.Fatalf("%s: results = %v (%T), want a list", who, body["results"], body["results"])
	}
	ids := make([]int64, len(results))
	for i, r := range results {
		m, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("%s: result %d = %v, want an object", who, i, r)
		}
		ids[i] = id(t, m, "id")
	}
	return ids
}

// resReversed returns ids in reverse order.
func resReversed(ids []int64) []int64 {
	out := make([]int64, len(ids))
	for i, v := range ids {
		out[len(ids)-1-i] = v
	}
	return out
}

// resFollow checks that link is an absolute URL of the test server and
// returns its path and query, to send as the next request.
func resFollow(t *testing.T, who string, link any) string {
	t.Helper()
	s, ok := link.(string)
	if !ok {
		t.Fatalf("%s: link = %v (%T), want a URL string", who, link, link)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Host != "example.com" {
		t.Fatalf("%s: link %q is not an absolute http://example.com URL", who, s)
	}
	return u.RequestURI()
}

func resPatientPath(id int64) string { return fmt.Sprintf("/api/patients/%d/", id) }

// resToday is today's date in UTC, the server's reference for "not in the
// future".
func resToday() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

func TestPatientCreateReturnsEveryField(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	other := app.mustUser(t, false)
	today := resToday().Format(models.DateLayout)

	tests := []struct {
		name string
		body map[string]any
		want map[string]any // expected values of these fields
	}{
		{
			name: "minimal body gets the defaults",
			body: map[string]any{"name": "Ann Lee"},
			want: map[string]any{"name": "Ann Lee", "date_of_birth": nil, "gender": "unknown", "phone": "",
				"email": "", "address": "", "medical_history": ""},
		},
		{
			name: "every field is trimmed and returned",
			body: map[string]any{"name": "  Bob Stone ", "date_of_birth": "1990-05-06", "gender": "male",
				"phone": " +1 (555) 123-4567 ", "email": " bob@example.com ", "address": " 1 Main St\n",
				"medical_history": "\tasthma "},
			want: map[string]any{"name": "Bob Stone", "date_of_birth": "1990-05-06", "gender": "male",
				"phone": "+1 (555) 123-4567", "email": "bob@example.com", "address": "1 Main St",
				"medical_history": "asthma"},
		},
		{
			name: "read-only fields in the body are ignored",
			body: map[string]any{"name": "Cy", "id": 999999, "created_by": other.ID,
				"created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z"},
			want: map[string]any{"name": "Cy"},
		},
		{
			name: "unknown fields are ignored",
			body: map[string]any{"name": "Di", "favourite_colour": "blue", "is_staff": true},
			want: map[string]any{"name": "Di", "gender": "unknown"},
		},
		{
			name: "null date of birth is null",
			body: map[string]any{"name": "Ed", "date_of_birth": nil},
			want: map[string]any{"date_of_birth": nil},
		},
		{name: "female", body: map[string]any{"name": "Fay", "gender": "female"}, want: map[string]any{"gender": "female"}},
		{name: "other", body: map[string]any{"name": "Gil", "gender": "other"}, want: map[string]any{"gender": "other"}},
		{name: "unknown", body: map[string]any{"name": "Hal", "gender": "unknown"}, want: map[string]any{"gender": "unknown"}},
		{name: "today is a valid date of birth", body: map[string]any{"name": "Ivy", "date_of_birth": today},
			want: map[string]any{"date_of_birth": today}},
		{name: "1900-01-01 is a valid date of birth", body: map[string]any{"name": "Jo", "date_of_birth": "1900-01-01"},
			want: map[string]any{"date_of_birth": "1900-01-01"}},
		{name: "100 two-byte characters are a valid name", body: map[string]any{"name": strings.Repeat("é", 100)},
			want: map[string]any{"name": strings.Repeat("é", 100)}},
		{name: "100 emoji are a valid name", body: map[string]any{"name": strings.Repeat("😀", 100)},
			want: map[string]any{"name": strings.Repeat("😀", 100)}},
		{name: "surrounding space does not count", body: map[string]any{"name": "  " + strings.Repeat("a", 100) + "  "},
			want: map[string]any{"name": strings.Repeat("a", 100)}},
		{name: "20-character phone", body: map[string]any{"name": "Kim", "phone": "+44 (20) 7946-09581"},
			want: map[string]any{"phone": "+44 (20) 7946-09581"}},
		{name: "longest address and medical history",
			body: map[string]any{"name": "Lu", "address": strings.Repeat("ä", 500), "medical_history": strings.Repeat("ß", 10000)},
			want: map[string]any{"address": strings.Repeat("ä", 500), "medical_history": strings.Repeat("ß", 10000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := time.Now().Add(-time.Second)
			r := app.do(request{method: "POST", path: "/api/patients/", token: u.Access, body: tc.body}).want(t, http.StatusCreated)
			to := time.Now().Add(time.Second)
			p := r.json(t)
			who := resWho(r)
			resWantKeys(t, who, p, resPatientKeys)
			for k, v := range tc.want {
				if got := p[k]; !reflect.DeepEqual(got, v) {
					t.Errorf("%s: %s = %#v, want %#v", who, k, got, v)
				}
			}
			pid := id(t, p, "id")
			if pid == 999999 {
				t.Errorf("%s: id = 999999, the client's value was applied", who)
			}
			if got := id(t, p, "created_by"); got != u.ID {
				t.Errorf("%s: created_by = %d, want the owner %d", who, got, u.ID)
			}
			created := resWantTimestamp(t, who, p, "created_at", from, to)
			updated := resWantTimestamp(t, who, p, "updated_at", from, to)
			if updated.Before(created) {
				t.Errorf("%s: updated_at %s before created_at %s", who, updated, created)
			}
			if n := resCount(t, app, &models.Patient{}, "id = ? AND created_by_id = ?", pid, u.ID); n != 1 {
				t.Errorf("%s: %d rows of patient %d owned by the caller, want 1", who, n, pid)
			}
			// Reading it back gives the same object.
			got := app.do(request{method: "GET", path: resPatientPath(pid), token: u.Access}).want(t, http.StatusOK)
			resWantBody(t, got, p)
		})
	}
}

func TestPatientCreateValidation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	tomorrow := resToday().AddDate(0, 0, 1).Format(models.DateLayout)

	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantErrors map[string][]string // exact body, when set
		wantKeys   []string            // error fields (any message), when wantErrors is nil
	}{
		{name: "name missing", body: map[string]any{"gender": "male"}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgRequired}}},
		{name: "empty body", body: map[string]any{}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgRequired}}},
		{name: "name empty", body: map[string]any{"name": ""}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgBlank}}},
		{name: "name only white space", body: map[string]any{"name": " \t\n "}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgBlank}}},
		{name: "name of 101 characters", body: map[string]any{"name": strings.Repeat("a", 101)}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgMaxLen(100)}}},
		{name: "name of 101 two-byte characters", body: map[string]any{"name": strings.Repeat("é", 101)}, wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgMaxLen(100)}}},
		{name: "name of 100 two-byte characters", body: map[string]any{"name": strings.Repeat("é", 100)}, wantStatus: 201},
		{name: "name is a number", body: map[string]any{"name": 123}, wantStatus: 400, wantKeys: []string{"name"}},
		{name: "name is null", body: map[string]any{"name": nil}, wantStatus: 400, wantKeys: []string{"name"}},
		{name: "name is a list", body: map[string]any{"name": []string{"Ann"}}, wantStatus: 400, wantKeys: []string{"name"}},
		{name: "name is an object", body: map[string]any{"name": map[string]any{"first": "Ann"}}, wantStatus: 400, wantKeys: []string{"name"}},
		{name: "name is a boolean", body: map[string]any{"name": true}, wantStatus: 400, wantKeys: []string{"name"}},
		{name: "date of birth tomorrow", body: map[string]any{"name": "A", "date_of_birth": tomorrow}, wantStatus: 400,
			wantErrors: map[string][]string{"date_of_birth": {resMsgFuture}}},
		{name: "date of birth far in the future", body: map[string]any{"name": "A", "date_of_birth": "2999-01-01"}, wantStatus: 400,
			wantErrors: map[string][]string{"date_of_birth": {resMsgFuture}}},
		{name: "date of birth before 1900", body: map[string]any{"name": "A", "date_of_birth": "1899-12-31"}, wantStatus: 400,
			wantErrors: map[string][]string{"date_of_birth": {resMsgTooEarly}}},
		{name: "date of birth as DD/MM/YYYY", body: map[string]any{"name": "A", "date_of_birth": "06/05/1990"}, wantStatus: 400,
			wantErrors: map[string][]string{"date_of_birth": {resMsgDateFmt}}},
		{name: "date of birth without leading zeros", body: map[string]any{"name": "A", "date_of_birth": "1990-5-6"}, wantStatus: 400,
			wantErrors: map[string][]string{"date_of_birth": {resMsgDateFmt}}},
		{name: "date of birth that does not exist", body: map[string]any{"name": "A", "date_of_birth": "1990-02-30"}, wantStatus: 400,
			wantErrors: map[string][]string{"date_of_birth": {resMsgDateFmt}}},
		{name: "date of birth with a time", body: map[string]any{"name": "A", "date_of_birth": "1990-05-06T10:00:00Z"}, wantStatus: 400,
			wantErrors: map[string][]string{"date_of_birth": {resMsgDateFmt}}},
		{name: "date of birth is a number", body: map[string]any{"name": "A", "date_of_birth": 19900506}, wantStatus: 400,
			wantKeys: []string{"date_of_birth"}},
		{name: "date of birth is a boolean", body: map[string]any{"name": "A", "date_of_birth": false}, wantStatus: 400,
			wantKeys: []string{"date_of_birth"}},
		{name: "gender not a choice", body: map[string]any{"name": "A", "gender": "alien"}, wantStatus: 400,
			wantErrors: map[string][]string{"gender": {`"alien" is not a valid choice.`}}},
		{name: "gender in capitals", body: map[string]any{"name": "A", "gender": "MALE"}, wantStatus: 400,
			wantKeys: []string{"gender"}},
		{name: "gender is a number", body: map[string]any{"name": "A", "gender": 1}, wantStatus: 400,
			wantKeys: []string{"gender"}},
		{name: "phone with letters", body: map[string]any{"name": "A", "phone": "555-CALL-NOW"}, wantStatus: 400,
			wantErrors: map[string][]string{"phone": {resMsgPhone}}},
		{name: "phone of 21 characters", body: map[string]any{"name": "A", "phone": strings.Repeat("1", 21)}, wantStatus: 400,
			wantErrors: map[string][]string{"phone": {resMsgMaxLen(20)}}},
		{name: "phone is a number", body: map[string]any{"name": "A", "phone": 5551234}, wantStatus: 400,
			wantKeys: []string{"phone"}},
		{name: "email without at", body: map[string]any{"name": "A", "email": "not-an-email"}, wantStatus: 400,
			wantErrors: map[string][]string{"email": {resMsgEmail}}},
		{name: "email without domain", body: map[string]any{"name": "A", "email": "ann@"}, wantStatus: 400,
			wantErrors: map[string][]string{"email": {resMsgEmail}}},
		{name: "email with display name", body: map[string]any{"name": "A", "email": "Ann <ann@example.com>"}, wantStatus: 400,
			wantErrors: map[string][]string{"email": {resMsgEmail}}},
		{name: "address of 501 characters", body: map[string]any{"name": "A", "address": strings.Repeat("ä", 501)}, wantStatus: 400,
			wantErrors: map[string][]string{"address": {resMsgMaxLen(500)}}},
		{name: "medical history of 10001 characters", body: map[string]any{"name": "A", "medical_history": strings.Repeat("x", 10001)},
			wantStatus: 400, wantErrors: map[string][]string{"medical_history": {resMsgMaxLen(10000)}}},
		{name: "medical history is a list", body: map[string]any{"name": "A", "medical_history": []string{"asthma"}}, wantStatus: 400,
			wantKeys: []string{"medical_history"}},
		{name: "several bad fields are reported together",
			body:       map[string]any{"name": " ", "gender": "x", "phone": "abc", "email": "bad", "date_of_birth": "1800-01-01"},
			wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgBlank}, "gender": {`"x" is not a valid choice.`}, "phone": {resMsgPhone},
				"email": {resMsgEmail}, "date_of_birth": {resMsgTooEarly}}},
		{name: "a type error and validation errors are reported together",
			body:       map[string]any{"name": 123, "email": "bad", "address": strings.Repeat("a", 501)},
			wantStatus: 400, wantKeys: []string{"name", "email", "address"}},
		{name: "missing name and a bad email are reported together",
			body:       map[string]any{"email": "bad"},
			wantStatus: 400, wantErrors: map[string][]string{"name": {resMsgRequired}, "email": {resMsgEmail}}},
		{name: "body is a list", body: `[{"name": "A"}]`, wantStatus: 400, wantKeys: []string{"non_field_errors"}},
		// DRF's CharField refuses NUL ("Null characters are not allowed.");
		// PostgreSQL cannot store it in text at all.
		{name: "name with a NUL character", body: `{"name": "A\u0000B"}`, wantStatus: 400, wantKeys: []string{"name"}},
		{name: "medical history with a NUL character", body: `{"name": "A", "medical_history": "x\u0000"}`, wantStatus: 400,
			wantKeys: []string{"medical_history"}},
		{name: "leap day date of birth", body: map[string]any{"name": "Leap", "date_of_birth": "2000-02-29"}, wantStatus: 201},
		{name: "29 February 1900 does not exist", body: map[string]any{"name": "A", "date_of_birth": "1900-02-29"}, wantStatus: 400,
			wantErrors: map[string][]string{"date_of_birth": {resMsgDateFmt}}},
	}
	created := int64(0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := resCount(t, app, &models.Patient{}, "")
			r := app.do(request{method: "POST", path: "/api/patients/", token: u.Access, body: tc.body}).want(t, tc.wantStatus)
			after := resCount(t, app, &models.Patient{}, "")
			if tc.wantStatus == http.StatusCreated {
				created++
				if after != before+1 {
					t.Errorf("%s: %d patients after, want %d", resWho(r), after, before+1)
				}
				return
			}
			if after != before {
				t.Errorf("%s: failed create changed the patient count from %d to %d", resWho(r), before, after)
			}
			switch {
			case tc.wantErrors != nil:
				resWantBody(t, r, tc.wantErrors)
			default:
				resWantErrorKeys(t, r, tc.wantKeys...)
			}
		})
	}
	if n := resCount(t, app, &models.Patient{}, ""); n != created {
		t.Errorf("%d patients stored, want %d (the 201 rows)", n, created)
	}
}

func TestPatientReadUpdate(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	other := app.mustUser(t, false)
	orig := app.mustPatient(t, u, map[string]any{"name": "Dana Scully", "date_of_birth": "1964-02-23", "gender": "female",
		"phone": "555-0101", "email": "dana@fbi.example", "address": "Washington", "medical_history": "none"})
	pid := id(t, orig, "id")
	path := resPatientPath(pid)

	got := app.do(request{method: "GET", path: path, token: u.Access}).want(t, http.StatusOK)
	resWantBody(t, got, orig)
	// Same path without the trailing slash.
	resWantBody(t, app.do(request{method: "GET", path: strings.TrimSuffix(path, "/"), token: u.Access}).want(t, http.StatusOK), orig)

	// Each step runs on the state the previous steps left; want lists the
	// fields that change.
	steps := []struct {
		name       string
		method     string
		body       any
		wantStatus int
		want       map[string]any
		wantErrors map[string][]string
		wantKeys   []string
	}{
		{name: "PUT with every field replaces them", method: "PUT", wantStatus: 200,
			body: map[string]any{"name": "Fox Mulder", "date_of_birth": "1961-10-13", "gender": "male", "phone": "555-0102",
				"email": "fox@fbi.example", "address": "Alexandria", "medical_history": "colour blind"},
			want: map[string]any{"name": "Fox Mulder", "date_of_birth": "1961-10-13", "gender": "male", "phone": "555-0102",
				"email": "fox@fbi.example", "address": "Alexandria", "medical_history": "colour blind"}},
		{name: "PUT with only the name keeps the optional fields", method: "PUT", wantStatus: 200,
			body: map[string]any{"name": "  Fox W. Mulder "}, want: map[string]any{"name": "Fox W. Mulder"}},
		{name: "PUT without the name is 400", method: "PUT", wantStatus: 400,
			body: map[string]any{"gender": "other", "phone": "555-9999"}, wantErrors: map[string][]string{"name": {resMsgRequired}}},
		{name: "PUT with no body is 400", method: "PUT", wantStatus: 400,
			wantErrors: map[string][]string{"name": {resMsgRequired}}},
		{name: "PUT with a bad email changes nothing", method: "PUT", wantStatus: 400,
			body: map[string]any{"name": "Changed", "email": "bad"}, wantErrors: map[string][]string{"email": {resMsgEmail}}},
		{name: "PUT with a wrong type changes nothing", method: "PUT", wantStatus: 400,
			body: map[string]any{"name": "Changed", "phone": 5550000}, wantKeys: []string{"phone"}},
		{name: "PUT with a future date changes nothing", method: "PUT", wantStatus: 400,
			body:       map[string]any{"name": "Changed", "date_of_birth": "2999-01-01"},
			wantErrors: map[string][]string{"date_of_birth": {resMsgFuture}}},
		{name: "PUT ignores read-only fields", method: "PUT", wantStatus: 200,
			body: map[string]any{"name": "Fox", "id": pid + 1000, "created_by": other.ID, "created_at": "2000-01-01T00:00:00Z"},
			want: map[string]any{"name": "Fox"}},
		{name: "PATCH changes one field", method: "PATCH", wantStatus: 200,
			body: map[string]any{"phone": "555-0199"}, want: map[string]any{"phone": "555-0199"}},
		{name: "PATCH with an empty object changes nothing", method: "PATCH", wantStatus: 200, body: map[string]any{}},
		{name: "PATCH with no body changes nothing", method: "PATCH", wantStatus: 200},
		{name: "PATCH with a blank name is 400", method: "PATCH", wantStatus: 400,
			body: map[string]any{"name": "  "}, wantErrors: map[string][]string{"name": {resMsgBlank}}},
		{name: "PATCH with a null name is 400", method: "PATCH", wantStatus: 400,
			body: map[string]any{"name": nil}, wantKeys: []string{"name"}},
		{name: "PATCH with a wrong gender type is 400", method: "PATCH", wantStatus: 400,
			body: map[string]any{"gender": 1}, wantKeys: []string{"gender"}},
		{name: "PATCH with an invalid gender is 400", method: "PATCH", wantStatus: 400,
			body: map[string]any{"gender": "robot"}, wantErrors: map[string][]string{"gender": {`"robot" is not a valid choice.`}}},
		{name: "PATCH with several bad fields reports them together", method: "PATCH", wantStatus: 400,
			body:       map[string]any{"email": "bad", "address": strings.Repeat("a", 501)},
			wantErrors: map[string][]string{"email": {resMsgEmail}, "address": {resMsgMaxLen(500)}}},
		{name: "PATCH with a null date of birth clears it", method: "PATCH", wantStatus: 200,
			body: map[string]any{"date_of_birth": nil}, want: map[string]any{"date_of_birth": nil}},
		{name: "PATCH sets the date of birth again", method: "PATCH", wantStatus: 200,
			body: map[string]any{"date_of_birth": "1961-10-13", "gender": " other "},
			want: map[string]any{"date_of_birth": "1961-10-13", "gender": "other"}},
		{name: "PATCH clears an optional string", method: "PATCH", wantStatus: 200,
			body: map[string]any{"address": ""}, want: map[string]any{"address": ""}},
	}
	state := orig
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := resPatientRow(t, app, pid)
			r := app.do(request{method: st.method, path: path, token: u.Access, body: st.body}).want(t, st.wantStatus)
			if st.wantStatus != http.StatusOK {
				if after := resPatientRow(t, app, pid); after != before {
					t.Errorf("%s: failed update changed the row:\n before %s\n after  %s", resWho(r), before, after)
				}
				if st.wantErrors != nil {
					resWantBody(t, r, st.wantErrors)
				} else {
					resWantErrorKeys(t, r, st.wantKeys...)
				}
				return
			}
			p := r.json(t)
			resWantKeys(t, resWho(r), p, resPatientKeys)
			want := map[string]any{}
			for k, v := range state {
				want[k] = v
			}
			for k, v := range st.want {
				want[k] = v
			}
			// updated_at moves; everything else is as expected.
			want["updated_at"] = p["updated_at"]
			resWantBody(t, r, want)
			prevUpdated := resWantTimestamp(t, resWho(r), state, "updated_at", time.Time{}, time.Now().Add(time.Hour))
			resWantTimestamp(t, resWho(r), p, "updated_at", prevUpdated, time.Now().Add(time.Second))
			// The change is stored: GET returns the same (updated_at has a
			// test of its own, TestPatientUpdateReturnsStoredUpdatedAt).
			stored := app.do(request{method: "GET", path: path, token: u.Access}).want(t, http.StatusOK).json(t)
			p["updated_at"] = stored["updated_at"]
			if !reflect.DeepEqual(stored, p) {
				t.Errorf("GET %s after %s = %v, want %v", path, st.method, stored, p)
			}
			state = p
		})
	}
	if state["created_at"] != orig["created_at"] || id(t, state, "created_by") != u.ID || id(t, state, "id") != pid {
		t.Errorf("read-only fields changed: created_at %v -> %v, created_by %v, id %v",
			orig["created_at"], state["created_at"], state["created_by"], state["id"])
	}
}

func TestPatientDeleteRemovesItsMappings(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	other := app.mustUser(t, false)
	d1, d2 := app.mustDoctor(t, "Dr One", "Cardiology"), app.mustDoctor(t, "Dr Two", "Neurology")
	pid := id(t, app.mustPatient(t, u, nil), "id")
	keep := id(t, app.mustPatient(t, u, nil), "id")
	otherPID := id(t, app.mustPatient(t, other, nil), "id")
	for _, m := range []struct {
		user     *testUser
		pid, did int64
	}{{u, pid, d1.ID}, {u, pid, d2.ID}, {u, keep, d1.ID}, {other, otherPID, d1.ID}} {
		app.do(request{method: "POST", path: "/api/mappings/", token: m.user.Access,
			body: map[string]any{"patient_id": m.pid, "doctor_id": m.did}}).want(t, http.StatusCreated)
	}
	path := resPatientPath(pid)

	steps := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantBody   any
	}{
		{name: "DELETE is 204", method: "DELETE", path: path, wantStatus: 204},
		{name: "GET after delete is 404", method: "GET", path: path, wantStatus: 404, wantBody: resDetail(resMsgNotFound)},
		{name: "DELETE again is 404", method: "DELETE", path: path, wantStatus: 404, wantBody: resDetail(resMsgNotFound)},
		{name: "PUT after delete is 404", method: "PUT", path: path, body: map[string]any{"name": "X"}, wantStatus: 404,
			wantBody: resDetail(resMsgNotFound)},
		{name: "PATCH after delete is 404", method: "PATCH", path: path, body: map[string]any{"name": "X"}, wantStatus: 404,
			wantBody: resDetail(resMsgNotFound)},
		{name: "its doctors are 404", method: "GET", path: fmt.Sprintf("/api/mappings/%d/", pid), wantStatus: 404,
			wantBody: resDetail(resMsgNotFound)},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := app.do(request{method: st.method, path: st.path, token: u.Access, body: st.body}).want(t, st.wantStatus)
			if st.wantStatus == http.StatusNoContent && r.Body.Len() != 0 {
				t.Errorf("%s: 204 with body %q", resWho(r), r.Body.String())
			}
			if st.wantBody != nil {
				resWantBody(t, r, st.wantBody)
			}
		})
	}
	if n := resCount(t, app, &models.Patient{}, "id = ?", pid); n != 0 {
		t.Errorf("patient %d: %d rows after delete, want 0", pid, n)
	}
	if n := resCount(t, app, &models.Mapping{}, "patient_id = ?", pid); n != 0 {
		t.Errorf("mappings of deleted patient %d: %d rows, want 0", pid, n)
	}
	for _, p := range []int64{keep, otherPID} {
		if n := resCount(t, app, &models.Mapping{}, "patient_id = ?", p); n != 1 {
			t.Errorf("mappings of patient %d: %d rows, want 1 (untouched)", p, n)
		}
	}
	body := app.do(request{method: "GET", path: "/api/mappings/", token: u.Access}).want(t, http.StatusOK).json(t)
	if body["count"] != float64(1) {
		t.Errorf("GET /api/mappings/: count = %v, want 1 after the patient's two mappings went", body["count"])
	}
}

func TestPatientOwnerOnly(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	owner := app.mustUser(t, false)
	other := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	p := app.mustPatient(t, owner, map[string]any{"name": "Private Person", "email": "private@example.com", "phone": "555-0142"})
	pid := id(t, p, "id")
	path := resPatientPath(pid)
	before := resPatientRow(t, app, pid)

	callers := []struct {
		name string
		user *testUser
	}{{"other user", other}, {"staff user", staff}}
	reqs := []struct {
		method string
		body   any
	}{
		{"GET", nil},
		{"PUT", map[string]any{"name": "Stolen", "email": "thief@example.com"}},
		{"PUT", map[string]any{}}, // invalid too: still 404, never 400
		{"PATCH", map[string]any{"name": "Stolen"}},
		{"PATCH", map[string]any{"name": ""}},
		{"DELETE", nil},
	}
	for _, c := range callers {
		for _, rq := range reqs {
			t.Run(fmt.Sprintf("%s %s of another user's patient is 404", c.name, rq.method), func(t *testing.T) {
				r := app.do(request{method: rq.method, path: path, token: c.user.Access, body: rq.body}).want(t, http.StatusNotFound)
				resWantBody(t, r, resDetail(resMsgNotFound))
			})
		}
		lists := []string{
			"/api/patients/",
			"/api/patients/?search=private",
			"/api/patients/?search=555-0142",
			"/api/patients/?ordering=name",
			"/api/patients/?page_size=100",
		}
		for _, l := range lists {
			t.Run(c.name+" list "+l+" does not show it", func(t *testing.T) {
				r := app.do(request{method: "GET", path: l, token: c.user.Access}).want(t, http.StatusOK)
				resWantBody(t, r, map[string]any{"count": 0, "next": nil, "previous": nil, "results": []any{}})
			})
		}
		t.Run(c.name+" cursor list does not show it", func(t *testing.T) {
			r := app.do(request{method: "GET", path: "/api/patients/?cursor=", token: c.user.Access}).want(t, http.StatusOK)
			resWantBody(t, r, map[string]any{"next": nil, "previous": nil, "results": []any{}})
		})
	}
	if after := resPatientRow(t, app, pid); after != before {
		t.Errorf("other users' requests changed patient %d:\n before %s\n after  %s", pid, before, after)
	}
	resWantBody(t, app.do(request{method: "GET", path: path, token: owner.Access}).want(t, http.StatusOK), p)
	body := app.do(request{method: "GET", path: "/api/patients/?search=private", token: owner.Access}).want(t, http.StatusOK).json(t)
	if ids := resResultIDs(t, "GET /api/patients/?search=private", body); !reflect.DeepEqual(ids, []int64{pid}) {
		t.Errorf("GET /api/patients/?search=private as owner: ids = %v, want [%d]", ids, pid)
	}
}

func TestPatientPathIDs(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	pid := id(t, app.mustPatient(t, u, nil), "id")
	before := resPatientRow(t, app, pid)
	ids := []string{"abc", "0", "-1", "99999999999999999999", "1.5", "1e3", "%20" + fmt.Sprint(pid), "0x1", "999999"}
	for _, raw := range ids {
		for _, method := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			path := "/api/patients/" + raw + "/"
			t.Run(method+" "+path, func(t *testing.T) {
				var body any
				if method == "PUT" || method == "PATCH" {
					body = map[string]any{"name": "Changed"}
				}
				r := app.do(request{method: method, path: path, token: u.Access, body: body}).want(t, http.StatusNotFound)
				resWantBody(t, r, resDetail(resMsgNotFound))
			})
		}
	}
	if after := resPatientRow(t, app, pid); after != before {
		t.Errorf("requests to bad ids changed patient %d", pid)
	}
}

func TestPatientEndpointsNeedAToken(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	pid := id(t, app.mustPatient(t, u, nil), "id")
	for _, rq := range []struct{ method, path string }{
		{"GET", "/api/patients/"}, {"POST", "/api/patients/"}, {"GET", resPatientPath(pid)},
		{"PUT", resPatientPath(pid)}, {"PATCH", resPatientPath(pid)}, {"DELETE", resPatientPath(pid)},
	} {
		t.Run(rq.method+" "+rq.path+" without a token is 401", func(t *testing.T) {
			r := app.do(request{method: rq.method, path: rq.path, body: map[string]any{"name": "X"}}).want(t, http.StatusUnauthorized)
			if _, ok := r.json(t)["detail"].(string); !ok {
				t.Errorf("%s: body %s has no detail", resWho(r), r.Body.String())
			}
			if got := r.Header().Get("WWW-Authenticate"); got != `Bearer realm="api"` {
				t.Errorf("%s: WWW-Authenticate = %q", resWho(r), got)
			}
		})
	}
	if n := resCount(t, app, &models.Patient{}, ""); n != 1 {
		t.Errorf("%d patients after unauthenticated requests, want 1", n)
	}
}

// The answer to PUT and PATCH is the stored patient: a client that keeps
// updated_at (for caching or to detect concurrent edits) sees the same
// value GET returns.
func TestPatientUpdateReturnsStoredUpdatedAt(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	pid := id(t, app.mustPatient(t, u, map[string]any{"name": "Ann"}), "id")
	path := resPatientPath(pid)
	for _, tc := range []struct {
		method string
		body   map[string]any
	}{
		{"PUT", map[string]any{"name": "Ann Put"}},
		{"PATCH", map[string]any{"phone": "555-0100"}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			r := app.do(request{method: tc.method, path: path, token: u.Access, body: tc.body}).want(t, http.StatusOK)
			got := app.do(request{method: "GET", path: path, token: u.Access}).want(t, http.StatusOK)
			resWantBody(t, got, r.json(t))
		})
	}
}

// An update finds its record before it reads the body, as DRF's
// get_object comes before the data: someone else's patient, or no such
// patient or doctor, is 404 whatever the body, so a malformed body tells
// nothing about another user's ids, and nothing changes; on the caller's
// own record the body's fault is answered.
func TestUpdateFindsTheRecordBeforeReadingTheBody(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	owner, caller, staff := app.mustUser(t, false), app.mustUser(t, false), app.mustUser(t, true)
	theirs := app.mustPatient(t, owner, map[string]any{"name": "Theirs"})
	theirsPath := "/api/patients/" + jsonNumber(theirs["id"]) + "/"
	mine := "/api/patients/" + jsonNumber(app.mustPatient(t, caller, nil)["id"]) + "/"
	bodies := []struct {
		name   string
		body   string
		header map[string]string
		own    int // the answer on the caller's own patient
	}{
		{"malformed JSON", "{", nil, http.StatusBadRequest},
		{"not JSON", "name=x", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"valid", `{"name": "Renamed"}`, nil, http.StatusOK},
	}
	for _, method := range []string{"PUT", "PATCH"} {
		for _, b := range bodies {
			for _, tc := range []struct {
				path, token string
				want        int
			}{
				{theirsPath, caller.Access, http.StatusNotFound},
				{"/api/patients/999999/", caller.Access, http.StatusNotFound},
				{"/api/doctors/999999/", staff.Access, http.StatusNotFound},
				{mine, caller.Access, b.own},
			} {
				r := app.do(request{method: method, path: tc.path, token: tc.token, body: b.body, header: b.header})
				if r.Code != tc.want {
					t.Errorf("%s %s with a %s body: %d %s, want %d", method, tc.path, b.name, r.Code, r.Body, tc.want)
				}
			}
		}
	}
	// A doctor that exists: the body's fault, in the same shape.
	doctor := "/api/doctors/" + strconv.FormatInt(app.mustDoctor(t, "Dr. Body", "Cardiology").ID, 10) + "/"
	for _, b := range bodies[:2] {
		r := app.do(request{method: "PATCH", path: doctor, token: staff.Access, body: b.body, header: b.header})
		if r.Code != b.own || !strings.HasPrefix(r.Body.String(), `{"detail":`) {
			t.Errorf("PATCH %s with a %s body: %d %s, want %d and a detail", doctor, b.name, r.Code, r.Body, b.own)
		}
	}
	got := app.do(request{method: "GET", path: theirsPath, token: owner.Access}).want(t, http.StatusOK).json(t)
	if got["name"] != "Theirs" || got["updated_at"] != theirs["updated_at"] {
		t.Errorf("another user's patient changed: %v, was %v", got, theirs)
	}
}

// A value stored before a rule was added is not judged again on the path
// that answers a field of the wrong type either: the answer names the
// fields the request got wrong, not the stored one it never sent, through
// the API and the admin panel's forms.
func TestStoredValuesAreNotJudgedWithParseErrors(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	staff := app.mustUser(t, true)
	p := app.mustPatient(t, u, map[string]any{"name": "Ann Lee"})
	pid := int64(p["id"].(float64))
	d := app.mustDoctor(t, "Dr Old", "Cardiology")
	db := app.store.DB()
	if err := db.Model(&models.Patient{}).Where("id = ?", pid).Update("name", "Ann\tLee").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Model(&models.Doctor{}).Where("id = ?", d.ID).Update("email", "José@Clinic.Example").Error; err != nil {
		t.Fatal(err)
	}
	fieldsOf := func(r *response) []string {
		var keys []string
		for k := range r.json(t) {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	// Both stored values break today's rules when a new record sends them:
	// otherwise the checks below would pass whatever the code judged.
	r := app.do(request{method: "POST", path: "/api/patients/", token: u.Access, body: map[string]any{"name": "Ann\tLee"}}).
		want(t, http.StatusBadRequest)
	if got := fieldsOf(r); !slices.Equal(got, []string{"name"}) {
		t.Fatalf("a new patient with the stored name: errors on %v, want [name] (%s)", got, r.Body)
	}
	r = app.do(request{method: "POST", path: "/api/doctors/", token: staff.Access,
		body: map[string]any{"name": "Dr New", "specialization": "Cardiology", "email": "José@Clinic.Example"}}).want(t, http.StatusBadRequest)
	if got := fieldsOf(r); !slices.Equal(got, []string{"email"}) {
		t.Fatalf("a new doctor with the stored email: errors on %v, want [email] (%s)", got, r.Body)
	}
	r = app.do(request{method: "PATCH", path: "/api/patients/" + itoa64(pid) + "/", token: u.Access, body: map[string]any{"phone": 123}}).
		want(t, http.StatusBadRequest)
	if got := fieldsOf(r); !slices.Equal(got, []string{"phone"}) {
		t.Errorf("PATCH of a wrong-type phone: errors on %v, want [phone] (%s)", got, r.Body)
	}
	r = app.do(request{method: "PATCH", path: "/api/doctors/" + itoa64(d.ID) + "/", token: staff.Access, body: map[string]any{"years_of_experience": "7"}}).
		want(t, http.StatusBadRequest)
	if got := fieldsOf(r); !slices.Equal(got, []string{"years_of_experience"}) {
		t.Errorf("PATCH of a wrong-type years_of_experience: errors on %v, want [years_of_experience] (%s)", got, r.Body)
	}
	_, cl := app.admStaff(t)
	res := cl.post("/admin/doctors/"+itoa64(d.ID)+"/", url.Values{"name": {"Dr Old"}, "specialization": {"Cardiology"},
		"email": {"José@Clinic.Example"}, "years_of_experience": {"many"}}).want(t, http.StatusBadRequest)
	if errs := res.text(t, "form-errors"); strings.Contains(errs, "email") || strings.Contains(res.Body.String(), "Enter a valid email address.") {
		t.Errorf("admin doctor form with a bad number: the stored email is judged: %q", errs)
	}
	res = cl.post("/admin/patients/"+itoa64(pid)+"/", url.Values{"name": {"Ann\tLee"}, "date_of_birth": {"bogus"},
		"gender": {"other"}, "created_by": {itoa64(u.ID)}}).want(t, http.StatusBadRequest)
	if !res.has(t, "error-date_of_birth") || res.has(t, "error-name") {
		t.Errorf("admin patient form with a bad date: the stored name is judged: %q", res.text(t, "form-errors"))
	}
}
