package models_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// memoFixture is an owner with 1,500 patients, created in groups of five
// that share a creation time (so the id breaks ties), 1,200 of them Smiths
// (so a search has pages deeper than the memo's depth too),
// and another owner with patients of the same names.
type memoFixture struct {
	s            *models.Store
	owner, other int64
}

func newMemoFixture(t *testing.T) memoFixture {
	t.Helper()
	s := modelstest.Store(t)
	f := memoFixture{s: s, owner: listOwner(t, s, "memo@example.com"), other: listOwner(t, s, "other@example.com")}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch []models.Patient
	for i := range 1500 {
		name := fmt.Sprintf("N%04d", (i*7919)%1500)
		if i%5 != 0 {
			name += " Smith"
		}
		at := start.Add(time.Duration(i/5) * time.Second)
		batch = append(batch, models.Patient{Name: name, Gender: models.GenderUnknown, CreatedByID: f.owner, CreatedAt: at, UpdatedAt: at})
		if i%50 == 0 {
			batch = append(batch, models.Patient{Name: name, Gender: models.GenderUnknown, CreatedByID: f.other, CreatedAt: at, UpdatedAt: at})
		}
	}
	if err := s.DB().CreateInBatches(batch, 200).Error; err != nil {
		t.Fatal(err)
	}
	return f
}

// want lists the owner's patients matching word, newest first, computed
// in Go from every row the owner has: the memo is not consulted.
func (f memoFixture) want(t *testing.T, word string) []int64 {
	t.Helper()
	var all []models.Patient
	if err := f.s.DB().Where("created_by_id = ?", f.owner).Find(&all).Error; err != nil {
		t.Fatal(err)
	}
	all = slices.DeleteFunc(all, func(p models.Patient) bool {
		return !strings.Contains(strings.ToLower(p.Name+"\x00"+p.Email+"\x00"+p.Phone), word)
	})
	slices.SortFunc(all, func(a, b models.Patient) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	return listIDs(all)
}

// check asks for page of size over search and compares it with want.
func (f memoFixture) check(t *testing.T, search string, want []int64, page, size int) {
	t.Helper()
	f.checkOrdered(t, search, "", want, page, size)
}

// checkOrdered is check with ?ordering=.
func (f memoFixture) checkOrdered(t *testing.T, search, ordering string, want []int64, page, size int) {
	t.Helper()
	got, err := f.s.Patients(context.Background(), f.owner, models.ListQuery{Page: page, PageSize: size, Search: search, Ordering: ordering})
	if err != nil {
		t.Fatalf("search %q ordering %q page %d size %d: %v", search, ordering, page, size, err)
	}
	from := min((page-1)*size, len(want))
	wantPage := want[from:min(from+size, len(want))]
	if got.Count != int64(len(want)) || !slices.Equal(listIDs(got.Items), wantPage) {
		t.Fatalf("search %q ordering %q page %d size %d: count %d, ids %v\nwant count %d, ids %v",
			search, ordering, page, size, got.Count, listIDs(got.Items), len(want), wantPage)
	}
}

// Deep pages served from remembered page starts are the pages OFFSET
// gives, in any order of requests, for any page size, with a search or
// without, and stay so after every kind of write to the list.
func TestListMemoPagesMatchTheList(t *testing.T) {
	t.Parallel()
	f := newMemoFixture(t)
	ctx := context.Background()
	sizes := []int{100, 7, 33}
	visit := func(search string) {
		t.Helper()
		want := f.want(t, strings.ToLower(search))
		for _, size := range sizes {
			last := (len(want) + size - 1) / size
			first := max(1, 1000/size-2) // from just before the memo's depth
			if last <= first {
				t.Fatalf("search %q: %d rows, too few for pages at the memo's depth", search, len(want))
			}
			var pages []int
			for p := first; p <= last; p++ {
				pages = append(pages, p) // onwards, as a client pages
			}
			for p := last; p >= first; p-- {
				pages = append(pages, p) // backwards
			}
			r := rand.New(rand.NewPCG(uint64(size), uint64(len(want))))
			for range 10 {
				pages = append(pages, first+r.IntN(last-first+1)) // at random
			}
			for _, p := range pages {
				f.check(t, search, want, p, size)
			}
		}
	}
	visit("")
	visit("smith")

	// Orderings that sort as the default does (its own field, repeated or
	// after an unknown one, which the contract ignores) give its pages.
	want := f.want(t, "")
	for _, ordering := range []string{"-created_at", "-created_at,created_at", "bogus,-created_at"} {
		for _, p := range []int{51, 52, 60, 51, 75} {
			f.checkOrdered(t, "", ordering, want, p, 20)
		}
	}

	var victims []models.Patient
	if err := f.s.DB().Where("created_by_id = ?", f.owner).Order("created_at DESC, id DESC").Offset(3).Limit(4).Find(&victims).Error; err != nil {
		t.Fatal(err)
	}
	for _, write := range []struct {
		name string
		run  func() error
	}{
		{"delete a new patient", func() error { return f.s.DeletePatient(ctx, f.owner, victims[0].ID) }},
		{"create a patient", func() error {
			return f.s.CreatePatient(ctx, f.owner, &models.Patient{Name: "Fresh Smith", Gender: models.GenderUnknown})
		}},
		{"rename one out of the search", func() error {
			_, err := f.s.UpdatePatient(ctx, f.owner, victims[1].ID, func(p *models.Patient) error { p.Name = "Renamed"; return nil })
			return err
		}},
		{"rename one into the search", func() error {
			return f.s.DB().Model(&models.Patient{}).Where("id = ?", victims[2].ID).Update("name", "Now a Smith").Error
		}},
		{"give one to another owner", func() error {
			return f.s.DB().Model(&models.Patient{}).Where("id = ?", victims[3].ID).Update("created_by_id", f.other).Error
		}},
		{"an older creation time", func() error {
			return f.s.DB().Model(&models.Patient{}).Where("id = ?", victims[1].ID).Update("created_at", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)).Error
		}},
	} {
		if err := write.run(); err != nil {
			t.Fatalf("%s: %v", write.name, err)
		}
		t.Run(write.name, func(t *testing.T) {
			for _, search := range []string{"", "Smith"} {
				want := f.want(t, strings.ToLower(search))
				for _, size := range sizes {
					deep := 1000/size + 1
					for _, p := range []int{deep, deep + 1, (len(want) + size - 1) / size} {
						f.check(t, search, want, p, size)
					}
				}
			}
		})
	}
}

// statements records the SQL that db runs from now on, with its values.
func statements(t *testing.T, db *gorm.DB) func() []string {
	t.Helper()
	var r sqlRecorder
	record := func(tx *gorm.DB) {
		// With its values: PostgreSQL binds LIMIT and OFFSET too.
		r.add(tx.Dialector.Explain(tx.Statement.SQL.String(), tx.Statement.Vars...))
	}
	name := "test:statements:" + t.Name()
	if err := db.Callback().Query().After("gorm:query").Register(name, record); err != nil {
		t.Fatal(err)
	}
	if err := db.Callback().Row().After("gorm:row").Register(name, record); err != nil {
		t.Fatal(err)
	}
	return r.taken
}

// sqlRecorder collects statements from gorm callbacks, which may run on
// several goroutines at once.
type sqlRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *sqlRecorder) add(stmt string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, stmt)
}

// taken returns the statements added since the last call.
func (r *sqlRecorder) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

var offsetClause = regexp.MustCompile(`(?i)OFFSET (\d+)`)

// deepest is the largest OFFSET among stmts, and whether one counts rows.
func deepest(stmts []string) (offset int, counted bool) {
	for _, s := range stmts {
		for _, m := range offsetClause.FindAllStringSubmatch(s, -1) {
			n, _ := strconv.Atoi(m[1])
			offset = max(offset, n)
		}
		counted = counted || strings.Contains(strings.ToLower(s), "count(")
	}
	return offset, counted
}

// What the memo saves: the second request for a search counts nothing,
// the second request for a deep page and the page after it skip no rows
// with OFFSET; a write to the list brings the work back once.
func TestListMemoSavesTheWork(t *testing.T) {
	t.Parallel()
	f := newMemoFixture(t)
	ctx := context.Background()
	taken := statements(t, f.s.DB())
	get := func(q models.ListQuery) (offset int, counted bool) {
		t.Helper()
		if _, err := f.s.Patients(ctx, f.owner, q); err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		return deepest(taken())
	}
	search := models.ListQuery{Page: 1, Search: "smith"}
	if _, counted := get(search); !counted {
		t.Fatal("the first search counted nothing: the statements are not seen")
	}
	if _, counted := get(models.ListQuery{Page: 1, Search: "SMITH smith"}); counted {
		t.Error("the same search again counted its matches")
	}
	if _, counted := get(models.ListQuery{Page: 1, Search: "smith", Ordering: "name"}); counted {
		t.Error("the same search in another order counted its matches")
	}
	if _, counted := get(models.ListQuery{Page: 1, Search: "n0001"}); !counted {
		t.Error("another search was not counted")
	}
	// No match is a count like any other: remembered too.
	if _, counted := get(models.ListQuery{Page: 1, Search: "nobody-matches"}); !counted {
		t.Error("a search without matches was not counted")
	}
	if _, counted := get(models.ListQuery{Page: 1, Search: "nobody-matches"}); counted {
		t.Error("a search without matches was counted again")
	}
	// A search too long to be worth remembering is counted every time (the
	// memo's size is bounded by what it keeps, not by what clients send).
	long := models.ListQuery{Page: 1, Search: "smith " + strings.Repeat("x", 300)}
	for i := range 2 {
		if _, err := f.s.Patients(ctx, f.owner, long); err != nil {
			t.Fatal(err)
		}
		stmts := taken()
		if _, counted := deepest(stmts); !counted {
			t.Errorf("a %d-byte search, request %d: not counted", len(long.Search), i+1)
		}
		// Nor is the list's version read for it: nothing would use it.
		for _, st := range stmts {
			if strings.Contains(st, "patient_counts") {
				t.Errorf("a search not remembered read the list's version: %s", st)
			}
		}
	}

	deep := models.ListQuery{Page: 51, PageSize: 20}
	if offset, _ := get(deep); offset < 999 {
		t.Fatalf("the first read of page 51 skipped %d rows, want 999", offset)
	}
	if offset, _ := get(deep); offset != 0 {
		t.Errorf("page 51 again skipped %d rows", offset)
	}
	if offset, _ := get(models.ListQuery{Page: 52, PageSize: 20}); offset != 0 {
		t.Errorf("page 52 after page 51 skipped %d rows", offset)
	}
	if offset, _ := get(models.ListQuery{Page: 53, PageSize: 20}); offset != 0 {
		t.Errorf("page 53 after page 52 skipped %d rows", offset)
	}
	if offset, _ := get(models.ListQuery{Page: 51, PageSize: 20, Ordering: "name"}); offset < 1000 {
		t.Errorf("page 51 by name skipped %d rows: no page start is known in that order", offset)
	}

	if err := f.s.CreatePatient(ctx, f.owner, &models.Patient{Name: "New Smith", Gender: models.GenderUnknown}); err != nil {
		t.Fatal(err)
	}
	taken()
	if offset, _ := get(deep); offset < 999 {
		t.Errorf("after a create, page 51 skipped %d rows: a page start of the old list was used", offset)
	}
	if _, counted := get(search); !counted {
		t.Error("after a create, the search's old count was used")
	}
	// Another owner's writes leave this owner's memo alone.
	if err := f.s.CreatePatient(ctx, f.other, &models.Patient{Name: "Their Smith", Gender: models.GenderUnknown}); err != nil {
		t.Fatal(err)
	}
	taken()
	if _, counted := get(search); counted {
		t.Error("another owner's create made this owner's search count again")
	}
}

// Readers that fill the memo while writers change the list leave nothing
// behind that outlives the writes: once the writers stop, every deep page
// and every count is the list's again.
func TestListMemoUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	f := newMemoFixture(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	// repeat runs step in a goroutine of its own, with 0, 1, 2, ..., until
	// stop closes or step fails.
	repeat := func(step func(i int) error) {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := step(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for w := range 2 {
		repeat(func(i int) error {
			p := models.Patient{Name: fmt.Sprintf("Writer%d Smith %d", w, i), Gender: models.GenderUnknown}
			if err := f.s.CreatePatient(ctx, f.owner, &p); err != nil || i%2 == 1 {
				return err
			}
			return f.s.DeletePatient(ctx, f.owner, p.ID)
		})
	}
	for r := range 3 {
		repeat(func(i int) error {
			q := models.ListQuery{Page: 50 + (r+i)%5, PageSize: 20}
			if i%2 == 1 {
				q.Search = "smith"
			}
			// Pages may be past the end while the list shrinks.
			if _, err := f.s.Patients(ctx, f.owner, q); err != nil && models.ErrorCode(err) != models.NotFound {
				return err
			}
			return nil
		})
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, search := range []string{"", "smith"} {
		want := f.want(t, search)
		for p := 50; p <= (len(want)+19)/20; p++ {
			f.check(t, search, want, p, 20)
		}
	}
}

// A write that commits between a request's reading of the list's version
// and its reading of the rows: the page is the list's before or after the
// write, never a mix of a remembered start and the changed rows.
func TestListMemoWriteBetweenVersionAndRows(t *testing.T) {
	t.Parallel()
	f := newMemoFixture(t)
	ctx := context.Background()
	page := models.ListQuery{Page: 51, PageSize: 20}
	if _, err := f.s.Patients(ctx, f.owner, page); err != nil { // remembers where page 51 starts
		t.Fatal(err)
	}
	before := f.want(t, "")
	var mu sync.Mutex
	armed, fired := true, false
	write := func(tx *gorm.DB) {
		mu.Lock()
		defer mu.Unlock()
		if !armed || tx.Statement.Table != "patients" {
			return
		}
		armed, fired = false, true
		// On another connection, in one transaction: a row before the
		// page's start and one inside the page.
		err := f.s.DB().Transaction(func(w *gorm.DB) error {
			return w.Where("id IN ?", []int64{before[10], before[1005]}).Delete(&models.Patient{}).Error
		})
		if err != nil {
			t.Errorf("the write: %v", err)
		}
	}
	if err := f.s.DB().Callback().Query().Before("gorm:query").Register("test:write-before-rows", write); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.Patients(ctx, f.owner, page)
	if err != nil {
		t.Fatal(err)
	}
	if !fired {
		t.Fatal("the write did not happen before the rows were read")
	}
	after := f.want(t, "")
	ids := listIDs(got.Items)
	if !slices.Equal(ids, before[1000:1020]) && !slices.Equal(ids, after[1000:1020]) {
		t.Fatalf("page 51 is %v\nbefore the write it was %v\nafter it, %v", ids, before[1000:1020], after[1000:1020])
	}
}
