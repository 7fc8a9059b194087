package handlers

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// mayRepeatKey finds every repeated key (escaped ones by the parser), and
// costs nothing for the queries of every list request.
func TestMayRepeatKey(t *testing.T) {
	for raw, want := range map[string]bool{
		"": false, "page=2": false, "page=2&page_size=5&search=a": false, "search=a&search=b": true,
		"page=1&x=1&page=2": true, "page&page": true, "p%61ge=1&page=2": true, "a+b=1": true,
	} {
		if got := mayRepeatKey(raw); got != want {
			t.Errorf("mayRepeatKey(%q) = %v, want %v", raw, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { mayRepeatKey("page=2&page_size=20&search=smith&ordering=name") }); n != 0 {
		t.Errorf("%v allocations for a query without repeats, want none", n)
	}
	// Past 16 keys the parser decides: the scan compares each key with
	// every earlier one, and a query may hold 16,000 before any login.
	if got := mayRepeatKey(manyKeys(16)); got {
		t.Errorf("mayRepeatKey(16 distinct keys) = true, want false")
	}
	if got := mayRepeatKey(manyKeys(17)); !got {
		t.Errorf("mayRepeatKey(17 distinct keys) = false, want the parser to decide")
	}
}

// manyKeys is a query of n distinct keys, k0=1&k1=1&...
func manyKeys(n int) string {
	pairs := make([]string, n)
	for i := range pairs {
		pairs[i] = "k" + strconv.Itoa(i) + "=1"
	}
	return strings.Join(pairs, "&")
}

// A query of 1,000 pairs, one key repeated last, is read as Django reads
// it (the last value wins); one more pair is Django's 400, where Go's
// parser (past 10,000) would have dropped them all, the search with them.
func TestLastQueryValuesOfAHugeQuery(t *testing.T) {
	t.Parallel()
	a := &API{}
	r := gin.New()
	r.GET("/q", a.errorMiddleware, lastQueryValues, func(c *gin.Context) { c.String(http.StatusOK, c.Query("k5")+" "+c.Query("k998")) })
	for _, tc := range []struct {
		query, want string
		status      int
	}{
		{manyKeys(999) + "&k5=last", "last 1", http.StatusOK},
		{manyKeys(1000) + "&k5=last", `{"detail":"` + models.MsgTooManyQueryFields + `"}`, http.StatusBadRequest},
		{manyKeys(20_000) + "&k5=last", `{"detail":"` + models.MsgTooManyQueryFields + `"}`, http.StatusBadRequest},
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/q?"+tc.query, nil))
		if w.Code != tc.status || w.Body.String() != tc.want {
			t.Errorf("%d pairs: got %d %q, want %d %q", strings.Count(tc.query, "&")+1, w.Code, w.Body.String(), tc.status, tc.want)
		}
	}
}

// The scan before the parser stays linear in the number of keys.
func BenchmarkMayRepeatKey(b *testing.B) {
	for _, n := range []int{4, models.MaxQueryFields} {
		raw := manyKeys(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				mayRepeatKey(raw)
			}
		})
	}
}

// Each layer caps the page size and refuses a page below 1 by itself (the
// store does too, for callers other than this handler): the handler's own
// checks, tested alone.
func TestListQueryPageChecks(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]int{"1000": models.MaxPageSize, "100": 100, "7": 7, "0": 0, "-3": 0, "x": 0, "": 0,
		"99999999999999999999": models.MaxPageSize, "-99999999999999999999": 0, " 5 ": 5} {
		if got := pageSize(raw); got != want {
			t.Errorf("pageSize(%q) = %d, want %d", raw, got, want)
		}
	}
	for _, tc := range []struct {
		query string
		page  int
		ok    bool
	}{{"", 1, true}, {"page=3", 3, true}, {"page=+2", 2, true}, {"page=0", 0, false}, {"page=-1", 0, false}, {"page=x", 0, false}} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodGet, "/api/patients/?"+tc.query, nil)
		q, err := listQuery(c)
		if tc.ok != (err == nil) || (tc.ok && q.Page != tc.page) {
			t.Errorf("listQuery(%q) = page %d, %v; want page %d, ok %v", tc.query, q.Page, err, tc.page, tc.ok)
		}
		if !tc.ok && models.ErrorCode(err) != models.NotFound {
			t.Errorf("listQuery(%q): %v, want NotFound", tc.query, err)
		}
	}
}
