package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
)

// A CSV export that fails before its first byte is out is answered with
// the error page, not a 200 file holding only the header.
func TestAdminExportErrorBeforeTheFirstRow(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	words := make([]string, 21) // one more than a search may have
	for i := range words {
		words[i] = fmt.Sprintf("x%cy", 'a'+i)
	}
	res := cl.get("/admin/patients/export/?q="+strings.Join(words, "+")).want(t, http.StatusBadRequest)
	if cd := res.Header().Get("Content-Disposition"); cd != "" {
		t.Errorf("Content-Disposition = %q on an error page", cd)
	}
	if ct := res.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want the HTML error page", ct)
	}
	if !strings.Contains(res.Body.String(), "Too many search terms") {
		t.Errorf("error page does not say why:\n%s", res.Body.String())
	}
	wantExportEvents(t, app) // refused before anything was read: nothing to record
}

// wantExportEvents checks the outcomes of the patient exports in the
// audit trail, oldest first: the export is recorded before its first row,
// and its failure after.
func wantExportEvents(t *testing.T, app *testApp, outcomes ...string) {
	t.Helper()
	evs := app.admEvents(t, models.AuditFilter{Action: models.ActionExport, ObjectType: models.ObjectPatient})
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Outcome)
	}
	if strings.Join(got, " ") != strings.Join(outcomes, " ") {
		t.Errorf("patient export events: %v, want %v", got, outcomes)
	}
}

// An export that fails once rows are out cannot change its status: the
// connection is cut before the response's end, so the client sees a failed
// download rather than a complete-looking file that lacks rows. And an
// export is bounded by ExportTimeout, not by the 10 s of a page: a million
// patients take longer than that to stream.
func TestAdminExportCutShortIsAFailedDownload(t *testing.T) {
	t.Parallel()
	const n = 700 // more than one batch of the export (500)
	app, cl := newExportApp(t, n)

	// The export's second batch of patients fails.
	var mu sync.Mutex
	var reads int
	var deadlines []time.Duration
	const name = "test:fail-second-export-batch"
	db := app.store.DB()
	err := db.Callback().Query().Before("gorm:query").Register(name, func(tx *gorm.DB) {
		if tx.Statement.Table != "patients" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if d, ok := tx.Statement.Context.Deadline(); ok {
			deadlines = append(deadlines, time.Until(d))
		} else {
			deadlines = append(deadlines, -1)
		}
		if reads++; reads == secondExportBatch {
			_ = tx.AddError(errors.New("injected failure"))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Callback().Query().Remove(name) })

	srv := httptest.NewServer(app.router)
	defer srv.Close()
	resp, body, err := cl.download(t.Context(), srv, "/admin/patients/export/")
	if resp == nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err == nil {
		t.Fatalf("the cut-short download read as complete (%d bytes, %d lines)", len(body), strings.Count(string(body), "\n"))
	}
	if lines := strings.Count(string(body), "\n"); lines < 2 || lines > n {
		t.Errorf("%d lines arrived before the cut, want part of the export", lines)
	}
	// The cut and the request are logged, tied by the request id.
	id := resp.Header.Get("X-Request-ID")
	logs := app.logs.String()
	if id == "" || !strings.Contains(logs, `msg="csv export cut short" export=patients request_id=`+id) ||
		!regexp.MustCompile(`msg=request .*route=/admin/patients/export status=200 .*request_id=`+id+`.* aborted=true`).MatchString(logs) {
		t.Errorf("the cut (request %q) is not logged with its request:\n%s", id, logs)
	}

	wantExportEvents(t, app, models.OutcomeSuccess, models.OutcomeFailure)

	mu.Lock()
	defer mu.Unlock()
	if len(deadlines) < 2 {
		t.Fatalf("%d reads of patients", len(deadlines))
	}
	if page := testConfig().RequestTimeout; deadlines[0] <= page || deadlines[0] > 10*time.Minute {
		t.Errorf("export bounded by %v, want ExportTimeout (10 min), not a page's %v", deadlines[0], page)
	}
}

// A HEAD of an export answers its headers without reading a row: net/http
// discards a HEAD's body, so the export read every patient for nobody and
// recorded an export that delivered nothing. A GET still records one.
func TestAdminExportHeadReadsNothing(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, cl := app.admStaff(t)
	owner := app.admUser(t, false, false)
	app.admPatient(t, owner.ID, "Ada One")
	head := cl.do(http.MethodHead, "/admin/patients/export/", nil, nil).want(t, http.StatusOK)
	if ct := head.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("HEAD Content-Type %q, want the CSV's", ct)
	}
	if cd := head.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="patients-`) {
		t.Errorf("HEAD Content-Disposition %q, want the CSV's", cd)
	}
	wantExportEvents(t, app)
	cl.get("/admin/patients/export/").want(t, http.StatusOK)
	wantExportEvents(t, app, models.OutcomeSuccess)
	// A search the list refuses is refused by both, though HEAD runs no query.
	var many []string
	for i := range 21 {
		many = append(many, fmt.Sprintf("w%02d", i))
	}
	words := "/admin/patients/export/?q=" + url.QueryEscape(strings.Join(many, " "))
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		cl.do(method, words, nil, nil).want(t, http.StatusBadRequest)
	}
	wantExportEvents(t, app, models.OutcomeSuccess)
}

// stalledClientWriter fails every write past its first 8 KiB, as a connection
// whose client stopped reading fails once the write deadline passes.
type stalledClientWriter struct {
	*httptest.ResponseRecorder
	n int
}

func (w *stalledClientWriter) Write(b []byte) (int, error) {
	if w.n += len(b); w.n > 8192 {
		return 0, errors.New("write tcp 127.0.0.1:8000->127.0.0.1:5555: i/o timeout")
	}
	return w.ResponseRecorder.Write(b)
}

// An export cut by a write that failed (no database's failure, and no
// cancelled request) logs that write's error.
func TestAdminExportCutByAFailedWriteSaysWhy(t *testing.T) {
	t.Parallel()
	app, cl := newExportApp(t, 700)
	req := httptest.NewRequest(http.MethodGet, "/admin/patients/export/", nil)
	for _, c := range cl.cookies {
		req.AddCookie(c)
	}
	func() {
		defer func() {
			if r := recover(); r != nil && r != http.ErrAbortHandler {
				panic(r)
			}
		}()
		app.router.ServeHTTP(&stalledClientWriter{ResponseRecorder: httptest.NewRecorder()}, req)
	}()
	var cut string
	for _, line := range strings.Split(app.logs.String(), "\n") {
		if strings.Contains(line, "csv export cut short") {
			cut = line
		}
	}
	if !strings.HasSuffix(cut, `error="write tcp 127.0.0.1:8000->127.0.0.1:5555: i/o timeout"`) {
		t.Errorf("the cut is logged as %q, want the write's error", cut)
	}
}
