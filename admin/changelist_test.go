package admin

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/Santiago on any host

	"healthcare/models"
	"healthcare/templates"
)

// Django's DateFieldListFilter periods: whole days of the clinic's zone,
// ending with today (its "lt tomorrow", "lt next_month", "lt next_year").
func TestPeriodOf(t *testing.T) {
	t.Parallel()
	type period struct{ since, until time.Time }
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	check := func(where string, now time.Time, want map[string]period) {
		t.Helper()
		for value, w := range want {
			since, until := periodOf(value, now)
			if !since.Equal(w.since) || !until.Equal(w.until) || since.Location() != time.UTC || until.Location() != time.UTC {
				t.Errorf("%s, periodOf(%q) = %v … %v, want %v … %v (in UTC)", where, value, since, until, w.since, w.until)
			}
		}
	}
	now := time.Date(2026, 11, 25, 18, 48, 33, 0, time.UTC)
	check("in UTC", now, map[string]period{
		"today": {utc(2026, 11, 25, 0, 0), utc(2026, 11, 26, 0, 0)},
		"7d":    {utc(2026, 11, 18, 0, 0), utc(2026, 11, 26, 0, 0)}, // from midnight, not 168 hours back
		"month": {utc(2026, 11, 1, 0, 0), utc(2026, 12, 1, 0, 0)},
		"year":  {utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0)},
		"":      {},
		"bogus": {},
	})
	// In Tokyo (UTC+9) it is already the 26th, and 2027 begins 9 hours
	// before UTC's.
	check("in Tokyo", now.In(time.FixedZone("JST", 9*3600)), map[string]period{
		"today": {utc(2026, 11, 25, 15, 0), utc(2026, 11, 26, 15, 0)},
		"7d":    {utc(2026, 11, 18, 15, 0), utc(2026, 11, 26, 15, 0)},
		"month": {utc(2026, 10, 31, 15, 0), utc(2026, 11, 30, 15, 0)},
		"year":  {utc(2025, 12, 31, 15, 0), utc(2026, 12, 31, 15, 0)},
	})
	// New York, a week after clocks went back (2026-11-01): seven days ago
	// began at midnight EDT (UTC-4), today at midnight EST (UTC-5).
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	check("in New York", time.Date(2026, 11, 3, 12, 0, 0, 0, ny), map[string]period{
		"today": {utc(2026, 11, 3, 5, 0), utc(2026, 11, 4, 5, 0)},
		"7d":    {utc(2026, 10, 27, 4, 0), utc(2026, 11, 4, 5, 0)},
		"month": {utc(2026, 11, 1, 4, 0), utc(2026, 12, 1, 5, 0)},
	})
	// The last day of a year: tomorrow, next month and next year are all
	// the 1st of January.
	check("on New Year's Eve", utc(2026, 12, 31, 23, 0), map[string]period{
		"today": {utc(2026, 12, 31, 0, 0), utc(2027, 1, 1, 0, 0)},
		"7d":    {utc(2026, 12, 24, 0, 0), utc(2027, 1, 1, 0, 0)},
		"month": {utc(2026, 12, 1, 0, 0), utc(2027, 1, 1, 0, 0)},
		"year":  {utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0)},
	})
	// Santiago skips the midnight of the day its clocks go forward
	// (2026-09-06): that day begins at 01:00 local, 04:00 UTC.
	scl, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	check("in Santiago", time.Date(2026, 9, 5, 15, 0, 0, 0, scl), map[string]period{
		"today": {utc(2026, 9, 5, 4, 0), utc(2026, 9, 6, 4, 0)},
	})
}

func TestListStateURL(t *testing.T) {
	t.Parallel()
	ls := listState{res: patients, values: url.Values{"q": {"ann"}, "gender": {"female"}, "p": {"3"}, "empty": {""}}}
	if got := ls.url(map[string]string{"o": "-name"}); got != "/admin/patients/?gender=female&o=-name&q=ann" {
		t.Errorf("sorting resets the page and keeps filters: %q", got)
	}
	if got := ls.url(map[string]string{paramPage: "4"}); got != "/admin/patients/?gender=female&p=4&q=ann" {
		t.Errorf("page link: %q", got)
	}
	if got := ls.url(map[string]string{"q": "", "gender": ""}); got != "/admin/patients/" {
		t.Errorf("clearing everything: %q", got)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	ls := listState{res: patients, values: url.Values{}}
	p := pagination(ls, models.AdminPageInfo{Count: 1950, Number: 10, NumPages: 20, HasNext: true})
	if got := pageLabels(p); got != "1 2 … 8 9 [10] 11 12 … 19 20" {
		t.Errorf("pages = %s", got)
	}
	if p.Prev != "/admin/patients/?p=9" || p.Next != "/admin/patients/?p=11" || p.Summary != "Page 10 of 20" {
		t.Errorf("prev %q next %q summary %q", p.Prev, p.Next, p.Summary)
	}
	if one := pagination(ls, models.AdminPageInfo{Count: 3, Number: 1, NumPages: 1}); one.Prev != "" || one.Next != "" || len(one.Pages) != 1 {
		t.Errorf("single page = %+v", one)
	}
	// Past the count limit the last page is unknown: no "of N", no last
	// pages, a next link while rows follow.
	capped := models.AdminPageInfo{Count: models.AdminCountLimit, Capped: true, Number: 12, NumPages: 10, HasNext: true}
	p = pagination(ls, capped)
	if got := pageLabels(p); got != "1 2 … 10 11 [12]" {
		t.Errorf("capped pages = %s", got)
	}
	if p.Next != "/admin/patients/?p=13" || p.Summary != "Page 12" {
		t.Errorf("capped: next %q summary %q", p.Next, p.Summary)
	}
	capped.HasNext = false
	if p := pagination(ls, capped); p.Next != "" {
		t.Errorf("capped last page links next: %q", p.Next)
	}
	if got := countLabel(capped, "patient", "patients"); got != "More than 1000 patients" {
		t.Errorf("countLabel = %q", got)
	}
}

func pageLabels(p templates.Pagination) string {
	var labels []string
	for _, pg := range p.Pages {
		switch {
		case pg.Gap:
			labels = append(labels, "…")
		case pg.Current:
			labels = append(labels, "["+pg.Label+"]")
		default:
			labels = append(labels, pg.Label)
		}
	}
	return strings.Join(labels, " ")
}

func TestCSVSafe(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=SUM(A1)": "'=SUM(A1)", "@cmd": "'@cmd", "\tx": "'\tx", "\r1": "'\r1",
		"+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0", "-2+A1": "'-2+A1", "+1 555 x2": "'+1 555 x2",
		"=1+1": "'=1+1", "+ HYPERLINK(\"x\")": "'+ HYPERLINK(\"x\")", "-\t1": "'-\t1",
		// Phones and numbers too: a spreadsheet would compute them.
		"+1 555": "'+1 555", "+1-555-0100": "'+1-555-0100", "-2": "'-2",
		"Ann": "Ann", "": "", "1+1": "1+1",
		// After a separator a spreadsheet may split at, whatever the CSV's
		// quotes say: ";" (Excel in German or French), tab, a line break.
		"Eve;=cmd|' /C calc'!A0;x": "Eve;'=cmd|' /C calc'!A0;x", "1 Road;=1+1;": "1 Road;'=1+1;",
		"note\t=2+2\tend": "note\t'=2+2\tend", "line 1\n=HYPERLINK(\"x\")": "line 1\n'=HYPERLINK(\"x\")",
		"a\r\n@cmd": "a\r\n'@cmd", "=a;+b": "'=a;'+b", "\t=x": "'\t'=x", "x;-": "x;'-",
		"a; b": "a; b", "a;b\nc": "a;b\nc", "ends;": "ends;", "-;=": "'-;'=",
		// A quote in front hides nothing: a quoted "=1+1" computes.
		`x;"=cmd|' /C calc'!A0"`: `x;'"=cmd|' /C calc'!A0"`, "a\n\"\"@x": "a\n'\"\"@x",
		`"=1+1"`: `'"=1+1"`, `say "hi"`: `say "hi"`, `a;"b"`: `a;"b"`, `ends;"`: `ends;"`,
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlural(t *testing.T) {
	t.Parallel()
	if plural(1, "patient", "patients") != "1 patient" || plural(0, "patient", "patients") != "0 patients" {
		t.Error("plural")
	}
}

func TestTableSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[models.TableSize]string{
		{N: 42}:                    "42",
		{N: 10000, AtLeast: true}:  "10000+",
		{N: 1000000, Approx: true}: "about 1000000",
	} {
		if got := tableSize(n); got != want {
			t.Errorf("tableSize(%+v) = %q, want %q", n, got, want)
		}
	}
}

// pagination visits only the pages it shows: a capped list (more than the
// count limit) asked for a huge page number looped up to it, a CPU core
// held for as long as the number was large (forever for MaxInt).
func TestPaginationOfAHugePage(t *testing.T) {
	t.Parallel()
	ls := listState{res: patients, values: url.Values{}}
	done := make(chan templates.Pagination, 1)
	go func() {
		done <- pagination(ls, models.AdminPageInfo{Count: models.AdminCountLimit, Capped: true, Number: math.MaxInt, NumPages: 10})
	}()
	select {
	case p := <-done:
		if got := pageLabels(p); got != "1 2 … "+strconv.Itoa(math.MaxInt-2)+" "+strconv.Itoa(math.MaxInt-1)+" ["+strconv.Itoa(math.MaxInt)+"]" {
			t.Errorf("pages = %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pagination of a huge capped page did not return")
	}
}

// The pages shown are those the full walk showed: 1 and 2, two either side
// of the current one, and the last two of a counted list.
func TestPaginationPagesShown(t *testing.T) {
	t.Parallel()
	ls := listState{res: patients, values: url.Values{}}
	walk := func(number, numPages int, capped bool) string {
		var labels []string
		gap := false
		for n := 1; n <= numPages; n++ {
			if n <= 2 || (!capped && n > numPages-2) || (n >= number-2 && n <= number+2) {
				l := strconv.Itoa(n)
				if n == number {
					l = "[" + l + "]"
				}
				labels, gap = append(labels, l), false
			} else if !gap {
				labels, gap = append(labels, "…"), true
			}
		}
		return strings.Join(labels, " ")
	}
	for numPages := 1; numPages <= 30; numPages++ {
		for number := 1; number <= numPages+3; number++ {
			for _, capped := range []bool{false, true} {
				info := models.AdminPageInfo{Number: number, NumPages: numPages, Capped: capped}
				if !capped && number > numPages {
					continue // pageOf clamps a counted list's page
				}
				want := walk(number, max(numPages, number), capped)
				if got := pageLabels(pagination(ls, info)); got != want {
					t.Errorf("page %d of %d (capped %v): %s, want %s", number, numPages, capped, got, want)
				}
			}
		}
	}
}

// Where a daylight-saving change skips midnight, a day begins at the
// change: Santiago's 2024-09-08 at 04:00 UTC (00:00 -04 became 01:00 -03),
// not an hour earlier in the day before, where time.Date puts the missing
// midnight.
func TestPeriodOfMidnightSkipped(t *testing.T) {
	t.Parallel()
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 9, 8, 12, 0, 0, 0, santiago)
	want := time.Date(2024, 9, 8, 4, 0, 0, 0, time.UTC)
	if got, _ := periodOf("today", now); !got.Equal(want) {
		t.Errorf("periodOf(today) in Santiago on 2024-09-08 = %v, want %v", got, want)
	}
	if got := models.StartOfDay(2024, 9, 8, santiago).In(santiago); got.Day() != 8 || got.Hour() != 1 {
		t.Errorf("StartOfDay = %v, want 01:00 on the 8th", got)
	}
	// An ordinary day: its midnight.
	if got, _ := periodOf("today", time.Date(2024, 9, 9, 12, 0, 0, 0, santiago)); !got.Equal(time.Date(2024, 9, 9, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("periodOf(today) in Santiago on 2024-09-09 = %v, want 03:00 UTC", got)
	}
}

func TestIsolated(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Gregory House":  "Gregory House", // no right-to-left letter: as it is
		"#47":            "#47",           // digits and signs alone: as it is
		"":               "",
		"אבי 5":          "\u2068אבי 5\u2069",    // Hebrew
		"محمد علي":       "\u2068محمد علي\u2069", // Arabic
		"Dr. כהן":        "\u2068Dr. כהן\u2069",  // mixed: the isolate takes its first strong letter's side
		"José Ñúñez 12":  "José Ñúñez 12",
		"\u200fRLM only": "\u2068\u200fRLM only\u2069", // the right-to-left mark is a strong character too
	} {
		if got := isolated(in); got != want {
			t.Errorf("isolated(%q) = %q, want %q", in, got, want)
		}
	}
}
