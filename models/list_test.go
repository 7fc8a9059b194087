package models_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"testing"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// listOwner creates a user of s to own patients.
func listOwner(t *testing.T, s *models.Store, email string) int64 {
	t.Helper()
	u, err := s.CreateUser(context.Background(), models.NewUser{Name: "Owner", Email: email, Password: "correct-Horse-battery-9", IsActive: true})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u.ID
}

// listPatient creates a patient of owner.
func listPatient(t *testing.T, s *models.Store, owner int64, p models.Patient) models.Patient {
	t.Helper()
	if err := s.CreatePatient(context.Background(), owner, &p); err != nil {
		t.Fatalf("CreatePatient(%q): %v", p.Name, err)
	}
	return p
}

func listNames(ps []models.Patient) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	sort.Strings(names)
	return names
}

func TestListSearchMatchesWildcardsLiterally(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "owner@example.com")
	for _, p := range []models.Patient{
		{Name: "100% Cotton"},
		{Name: "100 Cotton"},
		{Name: "1000 Cotton"},
		{Name: "snake_case"},
		{Name: "snakeXcase"},
		{Name: `back\slash`},
		{Name: "backXslash"},
		{Name: "Plain", Email: "under_score@example.com"},
		{Name: "Phoned", Phone: "+1 (555) 010-9999"},
	} {
		listPatient(t, s, owner, p)
	}
	// Someone else's patient never matches.
	other := listOwner(t, s, "other@example.com")
	listPatient(t, s, other, models.Patient{Name: "100% Other"})

	tests := []struct {
		search string
		want   []string
	}{
		{"100%", []string{"100% Cotton"}},
		{"%", []string{"100% Cotton"}},
		{"0%", []string{"100% Cotton"}},
		{"snake_case", []string{"snake_case"}},
		{"_", []string{"Plain", "snake_case"}}, // Plain's email has an underscore
		{`\`, []string{`back\slash`}},
		{`back\slash`, []string{`back\slash`}},
		{"COTTON", []string{"100 Cotton", "100% Cotton", "1000 Cotton"}},
		{"cotton 100%", []string{"100% Cotton"}},                             // every word must match
		{"100,cotton", []string{"100 Cotton", "100% Cotton", "1000 Cotton"}}, // commas split words too
		{"(555)", []string{"Phoned"}},
		{"nobody", nil},
		{"", []string{"100 Cotton", "100% Cotton", "1000 Cotton", "Phoned", "Plain", `back\slash`, "backXslash", "snakeXcase", "snake_case"}},
	}
	for _, tt := range tests {
		page, err := s.Patients(context.Background(), owner, models.ListQuery{Page: 1, PageSize: 100, Search: tt.search})
		if err != nil {
			t.Errorf("search %q: %v", tt.search, err)
			continue
		}
		got := listNames(page.Items)
		want := append([]string(nil), tt.want...)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("search %q = %q, want %q", tt.search, got, want)
		}
		if page.Count != int64(len(want)) {
			t.Errorf("search %q: count = %d, want %d", tt.search, page.Count, len(want))
		}
		// Cursor mode searches the same way.
		cpage, err := s.Patients(context.Background(), owner, models.ListQuery{UseCursor: true, PageSize: 100, Search: tt.search})
		if err != nil {
			t.Errorf("search %q (cursor): %v", tt.search, err)
			continue
		}
		if got := listNames(cpage.Items); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("search %q (cursor) = %q, want %q", tt.search, got, want)
		}
	}
}

func TestListCursorRoundTrip(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	ctx := context.Background()
	owner := listOwner(t, s, "owner@example.com")
	const n = 23
	for i := 0; i < n; i++ {
		listPatient(t, s, owner, models.Patient{Name: fmt.Sprintf("P%02d", i)})
	}
	all, err := s.Patients(ctx, owner, models.ListQuery{Page: 1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := make([]int64, len(all.Items))
	for i, p := range all.Items {
		wantOrder[i] = p.ID
	}

	// Forward, 5 at a time, following NextCursor.
	var got []int64
	var pages []models.Page[models.Patient]
	q := models.ListQuery{UseCursor: true, PageSize: 5}
	for i := 0; ; i++ {
		if i > n {
			t.Fatal("cursor pagination does not end")
		}
		page, err := s.Patients(ctx, owner, q)
		if err != nil {
			t.Fatalf("page %d (cursor %q): %v", i, q.Cursor, err)
		}
		pages = append(pages, page)
		for _, p := range page.Items {
			got = append(got, p.ID)
		}
		if i == 0 && page.PrevCursor != "" {
			t.Errorf("first page has a previous cursor %q", page.PrevCursor)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(wantOrder) {
		t.Fatalf("forward cursor order = %v, want %v", got, wantOrder)
	}
	if len(pages) != 5 {
		t.Fatalf("pages = %d, want 5 (23 rows by 5)", len(pages))
	}

	// Back from the last page, following PrevCursor: the same pages again.
	cur := pages[len(pages)-1].PrevCursor
	for i := len(pages) - 2; i >= 0; i-- {
		if cur == "" {
			t.Fatalf("page %d has no previous cursor", i+1)
		}
		page, err := s.Patients(ctx, owner, models.ListQuery{UseCursor: true, PageSize: 5, Cursor: cur})
		if err != nil {
			t.Fatalf("previous page %d: %v", i, err)
		}
		if fmt.Sprint(listIDs(page.Items)) != fmt.Sprint(listIDs(pages[i].Items)) {
			t.Fatalf("previous page %d = %v, want %v", i, listIDs(page.Items), listIDs(pages[i].Items))
		}
		cur = page.PrevCursor
	}
	if cur != "" {
		t.Errorf("first page reached backwards still has a previous cursor %q", cur)
	}
}

func listIDs(ps []models.Patient) []int64 {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

func TestListMalformedCursor(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "owner@example.com")
	listPatient(t, s, owner, models.Patient{Name: "Ann"})
	enc := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }

	// A well-formed cursor is accepted, so the bad ones below fail for their
	// own reason.
	if _, err := s.Patients(context.Background(), owner, models.ListQuery{UseCursor: true, Cursor: enc("n.1700000000000000.5")}); err != nil {
		t.Fatalf("well-formed cursor: %v", err)
	}
	for _, c := range []struct{ name, cursor string }{
		{"not base64", "!!!not-base64!!!"},
		{"padded standard base64", base64.StdEncoding.EncodeToString([]byte("n.1.5"))},
		{"too few parts", enc("n.1700000000000000")},
		{"too many parts", enc("n.1700000000000000.5.6")},
		{"unknown direction", enc("x.1700000000000000.5")},
		{"id 0", enc("n.1700000000000000.0")},
		{"negative id", enc("n.1700000000000000.-5")},
		{"negative time", enc("n.-1.5")},
		{"time not a number", enc("n.yesterday.5")},
		{"id not a number", enc("n.1700000000000000.five")},
		{"id overflows", enc("n.1700000000000000.99999999999999999999")},
		{"empty parts", enc("..")},
		{"binary garbage", enc("\x00\xff\xfe")},
	} {
		_, err := s.Patients(context.Background(), owner, models.ListQuery{UseCursor: true, Cursor: c.cursor})
		if models.ErrorCode(err) != models.Invalid || models.ErrorMessage(err) != "Invalid cursor." {
			t.Errorf("%s (%q): error = %v, want Invalid \"Invalid cursor.\"", c.name, c.cursor, err)
		}
	}
}

func TestListPageNumbers(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	ctx := context.Background()
	owner := listOwner(t, s, "owner@example.com")

	// Page 1 of an empty list is fine; page 2 is not.
	page, err := s.Patients(ctx, owner, models.ListQuery{Page: 1})
	if err != nil || page.Count != 0 || len(page.Items) != 0 || page.HasNext || page.HasPrev {
		t.Fatalf("empty page 1 = %+v, %v", page, err)
	}
	for i := 0; i < 3; i++ {
		listPatient(t, s, owner, models.Patient{Name: fmt.Sprintf("P%d", i)})
	}
	for _, tt := range []struct {
		page, size    int
		wantItems     int
		wantNext, err bool
	}{
		{page: 1, size: 2, wantItems: 2, wantNext: true},
		{page: 2, size: 2, wantItems: 1},
		{page: 3, size: 2, err: true},
		{page: 0, size: 2, err: true},
		{page: 1, size: 0, wantItems: 3},    // default size
		{page: 1, size: 1000, wantItems: 3}, // capped, not an error
	} {
		page, err := s.Patients(ctx, owner, models.ListQuery{Page: tt.page, PageSize: tt.size})
		if tt.err {
			if models.ErrorCode(err) != models.NotFound || models.ErrorMessage(err) != "Invalid page." {
				t.Errorf("page %d size %d: error = %v, want NotFound \"Invalid page.\"", tt.page, tt.size, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("page %d size %d: %v", tt.page, tt.size, err)
			continue
		}
		if len(page.Items) != tt.wantItems || page.HasNext != tt.wantNext || page.HasPrev != (tt.page > 1) || page.Count != 3 {
			t.Errorf("page %d size %d = %d items, next %v, prev %v, count %d; want %d items, next %v",
				tt.page, tt.size, len(page.Items), page.HasNext, page.HasPrev, page.Count, tt.wantItems, tt.wantNext)
		}
	}
}

// Pages from deferredJoinOffset on read their ids first: they must hold
// the same rows, in the same order, as a plain OFFSET query.
func TestListDeepPagesMatchOffsetQuery(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "deep@example.com")
	other := listOwner(t, s, "other@example.com")
	batch := make([]models.Patient, 1150)
	for i := range batch {
		batch[i] = models.Patient{Name: fmt.Sprintf("N%04d", (i*7919)%1150), Gender: models.GenderUnknown, CreatedByID: owner}
	}
	batch = append(batch, models.Patient{Name: "Not mine", Gender: models.GenderUnknown, CreatedByID: other})
	if err := s.DB().CreateInBatches(batch, 200).Error; err != nil {
		t.Fatal(err)
	}
	for _, ordering := range []string{"", "name", "-name"} {
		page, err := s.Patients(context.Background(), owner, models.ListQuery{Page: 11, PageSize: 100, Ordering: ordering})
		if err != nil {
			t.Fatalf("ordering %q: %v", ordering, err)
		}
		order := "created_at DESC, id DESC"
		switch ordering {
		case "name":
			order = "name ASC, created_at DESC, id DESC"
		case "-name":
			order = "name DESC, created_at DESC, id DESC"
		}
		var want []models.Patient
		if err := s.DB().Where("created_by_id = ?", owner).Order(order).Offset(1000).Limit(100).Find(&want).Error; err != nil {
			t.Fatal(err)
		}
		if page.Count != 1150 || len(page.Items) != 100 || !page.HasNext || !page.HasPrev {
			t.Fatalf("ordering %q: count %d, %d items, next %v, prev %v", ordering, page.Count, len(page.Items), page.HasNext, page.HasPrev)
		}
		for i := range want {
			if page.Items[i].ID != want[i].ID {
				t.Fatalf("ordering %q: item %d is %d, want %d", ordering, i, page.Items[i].ID, want[i].ID)
			}
		}
	}
}

// The store caps the page size and refuses a page below 1 by itself, for
// any caller (the API's handler checks too, before it).
func TestListPageChecksInTheStore(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "many@example.com")
	for i := 0; i <= models.MaxPageSize; i++ {
		listPatient(t, s, owner, models.Patient{Name: fmt.Sprintf("Patient %03d", i)})
	}
	page, err := s.Patients(context.Background(), owner, models.ListQuery{Page: 1, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != models.MaxPageSize || page.Count != models.MaxPageSize+1 {
		t.Errorf("page_size 1000: %d items of %d, want %d of %d", len(page.Items), page.Count, models.MaxPageSize, models.MaxPageSize+1)
	}
	for _, n := range []int{0, -1} {
		if _, err := s.Patients(context.Background(), owner, models.ListQuery{Page: n}); models.ErrorCode(err) != models.NotFound {
			t.Errorf("page %d: %v, want NotFound", n, err)
		}
	}
}
