package models

import (
	"strings"
	"testing"
)

// The warning names what is missing and what to run, and is silent when
// nothing is.
func TestSearchIndexWarningText(t *testing.T) {
	for _, tc := range []struct {
		installed map[string]string
		want      []string // substrings; none for ""
	}{
		{map[string]string{"pg_trgm": "public", "btree_gin": "public"}, nil},
		{map[string]string{}, []string{"pg_trgm and btree_gin not installed", "CREATE EXTENSION pg_trgm; CREATE EXTENSION btree_gin as"}},
		{map[string]string{"btree_gin": "public"}, []string{"pg_trgm not installed", "CREATE EXTENSION pg_trgm as", "read every candidate row"}},
		{map[string]string{"pg_trgm": "ext"}, []string{"btree_gin extension is not installed", "CREATE EXTENSION btree_gin as", "every owner's matches"}},
	} {
		got := searchIndexWarning(tc.installed)
		if len(tc.want) == 0 && got != "" {
			t.Errorf("installed %v: warning %q, want none", tc.installed, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("installed %v: warning %q lacks %q", tc.installed, got, w)
			}
		}
	}
}

// Without btree_gin the owner-led index is left out and the per-column
// ones are still made; without pg_trgm nothing is.
func TestSearchIndexStatements(t *testing.T) {
	full := strings.Join(searchIndexStatements("public", true, nil), "\n")
	for _, want := range []string{
		`CREATE INDEX IF NOT EXISTS idx_patients_owner_search ON patients USING gin (created_by_id, lower(name) "public".gin_trgm_ops, lower(email) "public".gin_trgm_ops, lower(phone) "public".gin_trgm_ops)`,
		`CREATE INDEX IF NOT EXISTS idx_patients_name_trgm ON patients USING gin (lower(name) "public".gin_trgm_ops)`,
		`CREATE INDEX IF NOT EXISTS idx_doctors_specialization_trgm ON doctors USING gin (lower(specialization) "public".gin_trgm_ops)`,
	} {
		if !strings.Contains(full, want) {
			t.Errorf("statements lack %s:\n%s", want, full)
		}
	}
	plain := searchIndexStatements("ext", false, nil)
	if got, want := len(plain), len(trigramIndexes)-1; got != want {
		t.Errorf("without btree_gin: %d statements, want %d:\n%s", got, want, strings.Join(plain, "\n"))
	}
	for _, stmt := range plain {
		if strings.Contains(stmt, "created_by_id") || !strings.Contains(stmt, `"ext".gin_trgm_ops`) {
			t.Errorf("without btree_gin: %s", stmt)
		}
	}
	if got := searchIndexStatements("", true, nil); len(got) != 0 {
		t.Errorf("without pg_trgm: %v, want none", got)
	}
	// An index that exists is not named (its CREATE would lock the table).
	some := searchIndexStatements("public", true, map[string]bool{"idx_patients_name_trgm": true})
	if len(some) != len(trigramIndexes)-1 || strings.Contains(strings.Join(some, "\n"), "idx_patients_name_trgm") {
		t.Errorf("with idx_patients_name_trgm there: %v", some)
	}
}
