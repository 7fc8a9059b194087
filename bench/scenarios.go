package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"healthcare/models"
)

// scenario is one line of the table.
type scenario struct {
	name string
	kind string // "baseline" or "api"
	what string
	// plan sets the scenario up; its first group is the one measured.
	plan func(b *bench, ctx context.Context) (plan, error)
	// target is the goal for this line, checked by check.
	target string
	check  func(b *bench, r *result) bool
}

// plan is a scenario ready to run.
type plan struct {
	groups  []group
	pid     int    // process whose resident memory is sampled (0: none)
	cleanup func() // after the run
	// after adds notes once the run is measured.
	after func(r *result, stats []loadStats)
}

// skipError skips a scenario with a reason.
type skipError struct{ reason string }

func (e skipError) Error() string { return e.reason }

// scenarios in the order they run: baselines, reads, logins, then writes
// (which add rows that would shift the deep pages).
var scenarios = []scenario{
	{name: "db-pk", kind: "baseline", what: "database round trip: SELECT of one whole patient row by primary key (pgx pool / database/sql for SQLite), no HTTP",
		plan: (*bench).planDBBaseline},
	{name: "http-floor", kind: "baseline", what: "trivial gin handler returning {\"status\":\"ok\"} in its own process on loopback, no middleware, no database",
		plan: (*bench).planFloor},
	{name: "patient-get", kind: "api", what: "GET /api/patients/{id}/, random ids among the demo user's patients",
		plan: (*bench).planPatientGet, target: "≥0.50×DB, 0 errors", check: ratioAtLeast(0.5)},
	{name: "patients-page1", kind: "api", what: "GET /api/patients/ (page 1, 20 rows, with count)",
		plan: getPlan("/api/patients/"), target: "≥0.30×DB, 0 errors", check: ratioAtLeast(0.3)},
	{name: "patients-by-name", kind: "api", what: "GET /api/patients/?ordering=name (page 1, 20 rows, with count): the contract's ordering, by an index walk",
		plan: getPlan("/api/patients/?ordering=name"), target: "≥0.30×DB, 0 errors", check: ratioAtLeast(0.3)},
	{name: "patients-deep", kind: "api", what: "GET /api/patients/?page=N&page_size=20, N = 1000 (or the last page below 20,000 owned)",
		plan: (*bench).planDeepPage, target: "≥0.30×DB, 0 errors", check: ratioAtLeast(0.3)},
	{name: "patients-cursor", kind: "api", what: "GET /api/patients/?cursor=C&page_size=20, C = the keyset position of the same rows as patients-deep",
		plan: (*bench).planCursorPage, target: "≥0.30×DB, 0 errors", check: ratioAtLeast(0.3)},
	{name: "patients-search", kind: "api", what: "GET /api/patients/?search=<a last name among the demo user's patients>",
		plan: (*bench).planPatientSearch, target: "≥0.30×DB, 0 errors", check: ratioAtLeast(0.3)},
	{name: "doctors-search", kind: "api", what: "GET /api/doctors/?search=<the most common specialization's first word>",
		plan: (*bench).planDoctorSearch, target: "≥0.30×DB, 0 errors", check: ratioAtLeast(0.3)},
	{name: "mappings-page1", kind: "api", what: "GET /api/mappings/ (page 1, 20 rows with their doctors, with count): the demo user's assignments (about one per patient)",
		plan: getPlan("/api/mappings/"), target: "≥0.30×DB, 0 errors", check: ratioAtLeast(0.3)},
	{name: "admin-changelist", kind: "api", what: "GET <admin-list>?q=<a last name> as the staff user (session cookie from the admin login form)",
		plan: (*bench).planAdminChangelist, target: "0 errors", check: noErrors},
	{name: "login", kind: "api", what: "POST /api/auth/login/ as the demo user (argon2id verify), a distinct X-Forwarded-For per request",
		plan: (*bench).planLogin, target: "cores/hash time ±20%", check: (*bench).checkLogin},
	{name: "patient-get+login", kind: "api", what: "patient-get with the same workers while concurrency/4 more workers flood login; the row is patient-get's",
		plan: (*bench).planReadsUnderLogin, target: "p99 ≤ 2× patient-get's", check: (*bench).checkUnderLogin},
	{name: "patient-create", kind: "api", what: "POST /api/patients/ (a new patient of the demo user, audited in the same transaction)",
		plan: postPlan("/api/patients/", http.StatusCreated, patientBody), target: "0 errors", check: noErrors},
	{name: "mapping-create", kind: "api", what: "POST /api/mappings/ with a pair never assigned before (seeded patient × doctor); a 400 duplicate is an error",
		plan: (*bench).planMappingCreate, target: "0 errors", check: noErrors},
}

func scenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return names
}

func ratioAtLeast(min float64) func(*bench, *result) bool {
	return func(_ *bench, r *result) bool { return r.Errors == 0 && r.RatioToDB >= min }
}

func noErrors(_ *bench, r *result) bool { return r.Errors == 0 }

func (b *bench) planDBBaseline(ctx context.Context) (plan, error) {
	fn, closeFn, err := dbBaseline(ctx, b.t, b.o.concurrency, b.fx.demoPatients)
	if err != nil {
		return plan{}, err
	}
	return plan{groups: []group{{name: "db-pk", workers: b.o.concurrency, fn: fn}}, cleanup: closeFn}, nil
}

func (b *bench) planFloor(ctx context.Context) (plan, error) {
	exe, err := os.Executable()
	if err != nil {
		return plan{}, err
	}
	addr, err := freeAddr()
	if err != nil {
		return plan{}, err
	}
	floor, _, err := startProcess(ctx, exe, []string{serveFloorFlag, addr}, inherited("PATH", "HOME", "GOMAXPROCS"), b.tmp,
		filepath.Join(b.tmp, "floor.log"), addr, floorPath)
	if err != nil {
		return plan{}, fmt.Errorf("start the HTTP floor: %w", err)
	}
	u := floor.base + floorPath
	fn := func(ctx context.Context, _ *worker) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		return send(b.client, req, http.StatusOK)
	}
	return plan{groups: []group{{name: "http-floor", workers: b.o.concurrency, fn: fn}},
		pid: floor.cmd.Process.Pid, cleanup: floor.stop}, nil
}

// authGet is a GET of url with the access token.
func authGet(ctx context.Context, token, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req, nil
}

// getFunc is an authenticated GET of one path.
func (b *bench) getFunc(token, path string) reqFunc {
	u := b.srv.base + path
	return func(ctx context.Context, _ *worker) error {
		req, err := authGet(ctx, token, u)
		if err != nil {
			return err
		}
		return send(b.client, req, http.StatusOK)
	}
}

// getPlan is an authenticated GET of path by every worker.
func getPlan(path string) func(*bench, context.Context) (plan, error) {
	return func(b *bench, ctx context.Context) (plan, error) {
		token, err := b.login(ctx)
		if err != nil {
			return plan{}, err
		}
		return b.apiPlan(b.getFunc(token, path)), nil
	}
}

// apiPlan runs fn on every worker against the server.
func (b *bench) apiPlan(fn reqFunc) plan {
	return plan{groups: []group{{name: "api", workers: b.o.concurrency, fn: fn}}, pid: b.srv.cmd.Process.Pid}
}

func (b *bench) patientGetFunc(token string) reqFunc {
	ids := b.fx.demoPatients
	base := b.srv.base + "/api/patients/"
	return func(ctx context.Context, w *worker) error {
		req, err := authGet(ctx, token, base+strconv.FormatInt(ids[w.rng.IntN(len(ids))], 10)+"/")
		if err != nil {
			return err
		}
		return send(b.client, req, http.StatusOK)
	}
}

func (b *bench) planPatientGet(ctx context.Context) (plan, error) {
	token, err := b.login(ctx)
	if err != nil {
		return plan{}, err
	}
	return b.apiPlan(b.patientGetFunc(token)), nil
}

func (b *bench) deepPagePath() string {
	return fmt.Sprintf("/api/patients/?page=%d&page_size=20", b.fx.deepPage)
}

func (b *bench) planDeepPage(ctx context.Context) (plan, error) {
	p, err := getPlan(b.deepPagePath())(b, ctx)
	if err != nil {
		return p, err
	}
	page := b.fx.deepPage
	p.after = func(r *result, _ []loadStats) {
		r.Note = fmt.Sprintf("page %d of %d rows", page, len(b.fx.demoPatients))
	}
	return p, nil
}

// listPage is the part of a list response the benchmark reads.
type listPage struct {
	Count   *int64  `json:"count"`
	Next    *string `json:"next"`
	Results []struct {
		ID int64 `json:"id"`
	} `json:"results"`
}

func (b *bench) planCursorPage(ctx context.Context) (plan, error) {
	token, err := b.login(ctx)
	if err != nil {
		return plan{}, err
	}
	offset := (b.fx.deepPage - 1) * 20
	start := time.Now()
	cur, hops, err := b.cursorAt(ctx, token, offset)
	if err != nil {
		return plan{}, err
	}
	walk := time.Since(start)
	path := "/api/patients/?cursor=" + url.QueryEscape(cur) + "&page_size=20"
	// The cursor page must hold the same rows as the deep page.
	var byCursor, byPage listPage
	if err := b.getJSON(ctx, token, path, &byCursor); err != nil {
		return plan{}, err
	}
	if err := b.getJSON(ctx, token, b.deepPagePath(), &byPage); err != nil {
		return plan{}, err
	}
	same := len(byCursor.Results) > 0 && len(byCursor.Results) == len(byPage.Results) &&
		byCursor.Results[0].ID == byPage.Results[0].ID
	p := b.apiPlan(b.getFunc(token, path))
	p.after = func(r *result, _ []loadStats) {
		r.Note = fmt.Sprintf("cursor at offset %d reached in %d hops (%s)", offset, hops, walk.Round(time.Millisecond))
		if !same {
			r.Note += "; WARNING: its rows differ from patients-deep's"
		}
	}
	return p, nil
}

// cursorAt walks the next links of the keyset list from the first page
// until offset rows are behind, and returns the cursor of that position.
func (b *bench) cursorAt(ctx context.Context, token string, offset int) (string, int, error) {
	cur, hops := "", 0
	for offset > 0 {
		size := 100
		if offset < 100 {
			size = 20 // offsets are multiples of 20
		}
		var page listPage
		path := fmt.Sprintf("/api/patients/?cursor=%s&page_size=%d", url.QueryEscape(cur), size)
		if err := b.getJSON(ctx, token, path, &page); err != nil {
			return "", hops, err
		}
		if page.Next == nil {
			return "", hops, fmt.Errorf("the keyset list ended %d rows before the deep page", offset)
		}
		next, err := url.Parse(*page.Next)
		if err != nil {
			return "", hops, fmt.Errorf("next link %q: %w", *page.Next, err)
		}
		cur = next.Query().Get("cursor")
		offset -= size
		hops++
	}
	return cur, hops, nil
}

func (b *bench) planPatientSearch(ctx context.Context) (plan, error) {
	return b.searchPlan(ctx, "/api/patients/?search="+url.QueryEscape(b.fx.patientWord))
}

func (b *bench) planDoctorSearch(ctx context.Context) (plan, error) {
	return b.searchPlan(ctx, "/api/doctors/?search="+url.QueryEscape(b.fx.doctorWord))
}

// searchPlan GETs path and notes how many rows it matches.
func (b *bench) searchPlan(ctx context.Context, path string) (plan, error) {
	token, err := b.login(ctx)
	if err != nil {
		return plan{}, err
	}
	var page listPage
	if err := b.getJSON(ctx, token, path, &page); err != nil {
		return plan{}, err
	}
	p := b.apiPlan(b.getFunc(token, path))
	p.after = func(r *result, _ []loadStats) {
		r.Note = path
		if page.Count != nil {
			r.Note += fmt.Sprintf(" (%d matches)", *page.Count)
		}
	}
	return p, nil
}

// loginRequest logs the demo user in, from a new client address each
// time (the server trusts the benchmark's X-Forwarded-For, so the
// per-address login limit does not cap the run).
func (b *bench) loginRequest(ctx context.Context) (*http.Request, error) {
	body, _ := json.Marshal(map[string]string{"email": models.DemoEmail, "password": b.fx.demoPassword})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.srv.base+"/api/auth/login/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", b.nextIP())
	return req, nil
}

// loginFunc logs the demo user in on c.
func (b *bench) loginFunc(c *http.Client) reqFunc {
	return func(ctx context.Context, _ *worker) error {
		req, err := b.loginRequest(ctx)
		if err != nil {
			return err
		}
		return send(c, req, http.StatusOK)
	}
}

// nextIP is a new client address: 10.0.0.1, 10.0.0.2, ...
func (b *bench) nextIP() string {
	n := b.ipSeq.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n))
}

func (b *bench) planLogin(ctx context.Context) (plan, error) {
	before, err := measureHashElsewhere(ctx)
	if err != nil {
		return plan{}, err
	}
	b.loginHashTime = before.CPU
	p := b.apiPlan(b.loginFunc(b.client))
	p.after = func(r *result, _ []loadStats) {
		r.Note = fmt.Sprintf("expected %.1f/s = %d cores / %.1f ms of CPU per hash (measured just before; %.1f at the start); %.1f hashes/s with one per core at once, nothing else running",
			b.expectedLogins(), b.mach.NumCPU, ms(b.expectedHashTime()), ms(b.hashTime), b.hashesAtOnce)
		if r.CPUMsPerReq > 0 {
			r.Note += fmt.Sprintf("; the server spent %.1f ms of CPU per login (%.2f hashes) and got %.2f of %d cores",
				r.CPUMsPerReq, r.CPUMsPerReq/ms(b.expectedHashTime()), r.ServerCores, b.mach.NumCPU)
		}
	}
	return p, nil
}

// expectedHashTime is one hash's CPU time as measured closest to the
// login scenario.
func (b *bench) expectedHashTime() time.Duration {
	if b.loginHashTime > 0 {
		return b.loginHashTime
	}
	return b.hashTime
}

func (b *bench) expectedLogins() float64 {
	return float64(b.mach.NumCPU) / b.expectedHashTime().Seconds()
}

func (b *bench) checkLogin(r *result) bool {
	want := b.expectedLogins()
	return r.Errors == 0 && r.RPS >= 0.8*want && r.RPS <= 1.2*want
}

func (b *bench) planReadsUnderLogin(ctx context.Context) (plan, error) {
	token, err := b.login(ctx)
	if err != nil {
		return plan{}, err
	}
	flood := max(2, b.o.concurrency/4)
	// The flood has its own connections, so the readers keep theirs.
	floodClient := &http.Client{Transport: newTransport(flood), Timeout: 30 * time.Second, CheckRedirect: noRedirect}
	p := plan{groups: []group{
		{name: "patient-get", workers: b.o.concurrency, fn: b.patientGetFunc(token)},
		{name: "login", workers: flood, fn: b.loginFunc(floodClient)},
	}, pid: b.srv.cmd.Process.Pid, cleanup: floodClient.CloseIdleConnections}
	p.after = func(r *result, stats []loadStats) {
		l := stats[1]
		r.Note = fmt.Sprintf("login flood (%d workers): %.1f/s, p99 %.0f ms, %d errors", flood, l.RPS, ms(l.P99), l.Errors)
		if alone := b.result("patient-get"); alone != nil && alone.P99Ms > 0 {
			r.Note += fmt.Sprintf("; reads' p99 %.1f× patient-get's", r.P99Ms/alone.P99Ms)
		}
		r.Errors += l.Errors
		r.ErrorSamples = append(r.ErrorSamples, l.ErrorSamples...)
	}
	return p, nil
}

func (b *bench) checkUnderLogin(r *result) bool {
	alone := b.result("patient-get")
	return r.Errors == 0 && alone != nil && alone.Skipped == "" && r.P99Ms <= 2*alone.P99Ms
}

// postPlan POSTs a body made per request to path, expecting want.
func postPlan(path string, want int, body func(b *bench, w *worker) ([]byte, error)) func(*bench, context.Context) (plan, error) {
	return func(b *bench, ctx context.Context) (plan, error) {
		token, err := b.login(ctx)
		if err != nil {
			return plan{}, err
		}
		u := b.srv.base + path
		return b.apiPlan(func(ctx context.Context, w *worker) error {
			raw, err := body(b, w)
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(raw))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			return send(b.client, req, want)
		}), nil
	}
}

var patientJSON = []byte(`{"name": "Bench Patient", "date_of_birth": "1980-05-17", "gender": "female",
 "phone": "+1 (555) 010-0100", "email": "bench.patient@mail.example", "address": "1 Bench Street, Springfield",
 "medical_history": "Created by the benchmark."}`)

func patientBody(*bench, *worker) ([]byte, error) { return patientJSON, nil }

// pairs hands out (patient, doctor) pairs never assigned before, each once:
// pair k is patient k mod P with doctor (k/P + k mod P) mod D, which visits
// every pair once and spreads consecutive requests over doctors.
type pairs struct {
	patients, doctors []int64
	taken             map[[2]int64]bool // read-only while the load runs
	next              atomic.Int64
}

var errNoPairs = errors.New("no unassigned patient-doctor pair left: raise -patients or lower -duration")

func (p *pairs) take() ([2]int64, error) {
	total := int64(len(p.patients)) * int64(len(p.doctors))
	for {
		k := p.next.Add(1) - 1
		if k >= total {
			return [2]int64{}, errNoPairs
		}
		i := k % int64(len(p.patients))
		j := (k/int64(len(p.patients)) + i) % int64(len(p.doctors))
		pair := [2]int64{p.patients[i], p.doctors[j]}
		if !p.taken[pair] {
			return pair, nil
		}
	}
}

// maxPairRate bounds how many mappings a second mapping-create could
// create (well above what 2 cores serve): the scenario needs that many
// unassigned pairs for its warm-up and window.
const maxPairRate = 10000

func (b *bench) planMappingCreate(ctx context.Context) (plan, error) {
	doctors := b.fx.doctors
	want := int64(maxPairRate * (b.o.warmup + b.o.duration).Seconds())
	if free := int64(len(b.fx.demoPatients))*int64(len(doctors)) - int64(len(b.fx.mapped)); free < want {
		// A small seed (1,000 patients × 20 doctors) runs out within a few
		// seconds on a fast machine, and every request after that fails:
		// add doctors for this scenario alone (it runs last; the cleanup
		// deletes them and their mappings).
		extra, err := addPairDoctors(ctx, b.t, int((want-free)/int64(len(b.fx.demoPatients)))+1)
		if err != nil {
			return plan{}, fmt.Errorf("add doctors for mapping-create: %w", err)
		}
		doctors = append(append([]int64(nil), doctors...), extra...)
		b.logf("mapping-create: added %d doctors so that %d unassigned pairs exist", len(extra),
			int64(len(b.fx.demoPatients))*int64(len(doctors))-int64(len(b.fx.mapped)))
	}
	pp := &pairs{patients: b.fx.demoPatients, doctors: doctors, taken: b.fx.mapped}
	body := func(_ *bench, _ *worker) ([]byte, error) {
		pair, err := pp.take()
		if err != nil {
			return nil, err
		}
		return fmt.Appendf(nil, `{"patient_id": %d, "doctor_id": %d, "notes": "bench"}`, pair[0], pair[1]), nil
	}
	return postPlan("/api/mappings/", http.StatusCreated, body)(b, ctx)
}

// login returns a fresh access token of the demo user.
func (b *bench) login(ctx context.Context) (string, error) {
	req, err := b.loginRequest(ctx)
	if err != nil {
		return "", err
	}
	var tokens struct{ Access string }
	if err := b.doJSON(req, &tokens); err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	return tokens.Access, nil
}

// getJSON GETs path with token and decodes a 200 answer into v.
func (b *bench) getJSON(ctx context.Context, token, path string, v any) error {
	req, err := authGet(ctx, token, b.srv.base+path)
	if err != nil {
		return err
	}
	return b.doJSON(req, v)
}

func (b *bench) doJSON(req *http.Request, v any) error {
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return fmt.Errorf("%s %s: status %d: %.300s", req.Method, req.URL.RequestURI(), resp.StatusCode, buf.String())
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
