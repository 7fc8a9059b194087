package models_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// A doctors' search reads its page and its count in one statement; the
// pages, their links and the end of the list are what a count and a page
// gave, in every ordering.
func TestDoctorSearchCountsInItsPage(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	ctx := admCtx(staff)
	for i := range 30 {
		spec := "Cardiology"
		if i%6 == 5 {
			spec = "Surgery" // 5 of 30
		}
		d := models.Doctor{Name: fmt.Sprintf("Dr %02d", (i*7)%30), Specialization: spec,
			Email: fmt.Sprintf("d%d@clinic.example", i), Phone: "+1", YearsOfExperience: i % 4}
		if err := s.CreateDoctor(ctx, staff.ID, &d); err != nil {
			t.Fatal(err)
		}
	}
	taken := statements(t, s.DB())
	for _, ordering := range []string{"", "name", "-years_of_experience,name"} {
		var want []string
		taken() // what came before: the reference query, the page past the end
		for page := 1; ; page++ {
			got, err := s.Doctors(ctx, models.DoctorFilter{}, models.ListQuery{Page: page, PageSize: 10, Search: "cardio", Ordering: ordering})
			stmts := taken()
			if len(stmts) != 1 {
				t.Errorf("ordering %q page %d: %d statements, want the page alone: %q", ordering, page, len(stmts), stmts)
			} else if strings.Contains(stmts[0], "*,") || strings.Contains(stmts[0], "search_text,") {
				t.Errorf("the page reads more than the model's columns: %s", stmts[0])
			}
			if page == 4 {
				if models.ErrorCode(err) != models.NotFound {
					t.Fatalf("ordering %q: page past the end: %v, %d rows", ordering, err, len(got.Items))
				}
				break
			}
			if err != nil {
				t.Fatalf("ordering %q page %d: %v", ordering, page, err)
			}
			wantLen := map[int]int{1: 10, 2: 10, 3: 5}[page]
			if got.Count != 25 || len(got.Items) != wantLen || got.HasPrev != (page > 1) || got.HasNext != (page < 3) {
				t.Fatalf("ordering %q page %d: count %d, %d rows, prev %v next %v", ordering, page, got.Count, len(got.Items),
					got.HasPrev, got.HasNext)
			}
			for _, d := range got.Items {
				if d.Specialization != "Cardiology" || d.ID == 0 || d.Email == "" || d.CreatedAt.IsZero() {
					t.Fatalf("ordering %q: row %+v", ordering, d)
				}
				want = append(want, d.Name)
			}
		}
		// The pages together are the whole search in its order.
		var all []models.Doctor
		q := s.DB().Where("specialization = ?", "Cardiology")
		switch ordering {
		case "name":
			q = q.Order("name ASC")
		case "-years_of_experience,name":
			q = q.Order("years_of_experience DESC").Order("name ASC")
		}
		if err := q.Order("created_at DESC").Order("id DESC").Find(&all).Error; err != nil {
			t.Fatal(err)
		}
		names := make([]string, len(all))
		for i, d := range all {
			names[i] = d.Name
		}
		if !slices.Equal(want, names) {
			t.Errorf("ordering %q: pages %q, want %q", ordering, want, names)
		}
	}
	// No match: an empty first page, counted by the same statement.
	taken()
	empty, err := s.Doctors(ctx, models.DoctorFilter{}, models.ListQuery{Page: 1, Search: "dermatology"})
	if err != nil || empty.Count != 0 || len(empty.Items) != 0 || empty.HasNext {
		t.Fatalf("no match: %v, %+v", err, empty)
	}
	if stmts := taken(); len(stmts) != 1 {
		t.Errorf("no match: %d statements: %q", len(stmts), stmts)
	}
	// The search within a specialization (5 surgeons, all matching "dr").
	surgeons, err := s.Doctors(ctx, models.DoctorFilter{Specialization: "surgery"}, models.ListQuery{Page: 1, Search: "dr"})
	if err != nil || surgeons.Count != 5 || len(surgeons.Items) != 5 {
		t.Fatalf("filtered search: %v, count %d, %d rows", err, surgeons.Count, len(surgeons.Items))
	}
	for _, d := range surgeons.Items {
		if d.Specialization != "Surgery" {
			t.Errorf("filtered search returned %+v", d)
		}
	}
	// Unsearched, the count and the page stay two statements (see
	// listSpec.countSearchInPage).
	taken()
	all, err := s.Doctors(ctx, models.DoctorFilter{}, models.ListQuery{Page: 1})
	if err != nil || all.Count != 30 || len(all.Items) != models.DefaultPageSize {
		t.Fatalf("unsearched: %v, count %d, %d rows", err, all.Count, len(all.Items))
	}
	if stmts := taken(); len(stmts) != 2 || !strings.Contains(strings.ToLower(stmts[0]), "count(") {
		t.Errorf("unsearched: %q", stmts)
	}
}
