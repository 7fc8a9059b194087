package models_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Every ordering the lists offer on patients can be served by an index
// walk, so a page sorted by name or date of birth reads its rows instead
// of sorting all of an owner's (or, in the admin, every) patient: with
// sorting, seq scans and bitmap scans turned off, PostgreSQL's plan of
// each page holds no Sort node (an Incremental Sort of the tie-breakers
// within equal names or dates is fine). Fails without the indexes, or
// with an ORDER BY no index can give (such as "date_of_birth IS NULL").
func TestPatientOrderingsWalkAnIndex(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("reads PostgreSQL's plans")
	}
	s := modelstest.Store(t)
	ctx := context.Background()
	owner := listOwner(t, s, "owner@example.com")
	staff := admStoreUser(t, s, "staff@clinic.example", true)
	insertPatients(t, s.DB(), owner, 50, models.Patient{Name: "Ann Lopez", Gender: models.GenderFemale, Phone: "+1", Email: "ann@example.com"})

	taken := statements(t, s.DB())
	for _, ordering := range []string{"name", "-name", "date_of_birth", "-date_of_birth", "created_at", "-created_at"} {
		for _, search := range []string{"", "lopez"} {
			if _, err := s.Patients(ctx, owner, models.ListQuery{Page: 1, Ordering: ordering, Search: search}); err != nil {
				t.Fatal(err)
			}
			wantIndexWalk(t, s.DB(), "API ?ordering="+ordering+" ?search="+search, pageStatement(t, taken()))
		}
	}
	for _, ordering := range []string{"name", "-name", "date_of_birth", "-date_of_birth", "created_at", "-created_at"} {
		for _, f := range []models.AdminPatientFilter{{}, {OwnerID: owner}} {
			if _, err := s.AdminPatients(admCtx(staff), f, models.AdminQuery{Page: 1, Ordering: ordering}); err != nil {
				t.Fatal(err)
			}
			wantIndexWalk(t, s.DB(), "admin o="+ordering, pageStatement(t, taken()))
		}
	}
}

// pageStatement is the statement among stmts that reads a page (the one
// with ORDER BY; not the EXPLAIN of the one before).
func pageStatement(t *testing.T, stmts []string) string {
	t.Helper()
	for _, st := range stmts {
		if strings.HasPrefix(st, "SELECT") && strings.Contains(st, "ORDER BY") && strings.Contains(st, "LIMIT") {
			return st
		}
	}
	t.Fatalf("no page statement among %q", stmts)
	return ""
}

var sortNode = regexp.MustCompile(`(?m)^\s*(->\s*)?Sort\s+\(`)

// wantIndexWalk fails unless PostgreSQL can plan stmt without sorting.
func wantIndexWalk(t *testing.T, db *gorm.DB, what, stmt string) {
	t.Helper()
	if text := walkPlan(t, db, stmt); sortNode.MatchString(text) {
		t.Errorf("%s: the page is sorted, not walked:\n%s\n%s", what, stmt, text)
	}
}

// walkPlan is the engine's plan of stmt, one line a step: on PostgreSQL
// with sorting, sequential and bitmap scans priced out, so that a test
// table of a few rows still shows whether an index can serve the order;
// on SQLite its EXPLAIN QUERY PLAN (a sort shows as "TEMP B-TREE").
func walkPlan(t *testing.T, db *gorm.DB, stmt string) string {
	t.Helper()
	var plan []string
	err := db.Transaction(func(tx *gorm.DB) error {
		if tx.Dialector.Name() != models.Postgres {
			var rows []struct{ Detail string }
			err := tx.Raw("EXPLAIN QUERY PLAN " + stmt).Scan(&rows).Error
			for _, r := range rows {
				plan = append(plan, r.Detail)
			}
			return err
		}
		for _, set := range []string{"enable_sort", "enable_seqscan", "enable_bitmapscan"} {
			if err := tx.Exec("SET LOCAL " + set + " = off").Error; err != nil {
				return err
			}
		}
		return tx.Raw("EXPLAIN " + stmt).Scan(&plan).Error
	})
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, stmt)
	}
	return strings.Join(plan, "\n")
}
