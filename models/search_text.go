package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// A search for a common word walks the rows in the list's order until a
// page of matches is found, and counting a search's matches reads every
// candidate: the admin's staff-wide search for a common last name at
// 1,000,000 patients reads ~3,000 rows, each costing PostgreSQL three
// lower() calls (a multibyte lower() under a libc UTF-8 ctype goes through
// wide characters: ~2.5 µs a row, 8 ms a page; BENCHMARKS.md), a user's
// search reads their rows the same way, and the doctors' search counts its
// matches over every doctor. Each searched table has a search_text column
// holding its searched columns already lowered, newline-separated, kept by
// a trigger on every insert and update, so a row costs one plain LIKE
// (~0.7 µs).
//
// A search word never holds a newline (searchWords splits on it), so a
// word is in search_text exactly when it is in one of the lowered columns:
// the column is a faster spelling of the same test. The search keeps the
// per-column test after it (applyWords) for the trigram indexes that serve
// rare words, and for rows a database from an earlier version has not
// filled yet (NULL).
//
// PostgreSQL only: SQLite searches fold case in their own scan.
type searchText struct {
	table   string
	columns []string // as the table's API search lists them
}

// searchTexts are the tables with a search_text column.
var searchTexts = []searchText{
	{table: "patients", columns: []string{"name", "email", "phone"}},
	{table: "doctors", columns: []string{"name", "specialization", "email"}},
}

// The folded columns, for the list specs.
const (
	patientSearchText = "patients.search_text"
	doctorSearchText  = "doctors.search_text"
)

// function is the trigger function's name; a new definition gets a new
// name, so a boot can tell whether the trigger is current.
func (st searchText) function() string { return st.table + "_search_text_v1" }

func (st searchText) trigger() string { return st.table + "_search_text" }

func (st searchText) pendingIndex() string { return "idx_" + st.table + "_search_text_pending" }

// statements install the column, its trigger and a partial index of the
// rows still to fill (empty once filled, and never entered again: the
// trigger fills every row it writes). Adding a column without a default
// does not rewrite the table, and the rows an earlier version left are
// filled in the background (BackfillSearchText), so an upgrade's boot does
// not wait on a million-row UPDATE; the index's first build reads the
// table once.
func (st searchText) statements() []string {
	lowered := make([]string, len(st.columns))
	for i, col := range st.columns {
		lowered[i] = "lower(NEW." + col + ")"
	}
	return []string{
		`ALTER TABLE ` + st.table + ` ADD COLUMN IF NOT EXISTS search_text text`,
		`CREATE OR REPLACE FUNCTION ` + st.function() + `() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN
		   NEW.search_text := ` + strings.Join(lowered, ` || E'\n' || `) + `;
		   RETURN NEW;
		 END $$`,
		`DROP TRIGGER IF EXISTS ` + st.trigger() + ` ON ` + st.table,
		// Every UPDATE, not only of the searched columns: nothing but the
		// trigger can then set the column.
		`CREATE TRIGGER ` + st.trigger() + ` BEFORE INSERT OR UPDATE ON ` + st.table + `
		 FOR EACH ROW EXECUTE FUNCTION ` + st.function() + `()`,
		`CREATE INDEX IF NOT EXISTS ` + st.pendingIndex() + ` ON ` + st.table + ` (id) WHERE search_text IS NULL`,
	}
}

// migrateSearchText installs the search_text columns on PostgreSQL. A boot
// that finds a table's trigger current changes nothing there (no lock).
func migrateSearchText(db *gorm.DB) error {
	if db.Dialector.Name() != Postgres {
		return nil
	}
	for _, st := range searchTexts {
		var current bool
		err := db.Raw(`SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
		  WHERE t.tgrelid = ?::regclass AND t.tgname = ? AND p.proname = ?) AND to_regclass(?) IS NOT NULL`,
			st.table, st.trigger(), st.function(), st.pendingIndex()).Scan(&current).Error
		if err != nil {
			return err
		}
		if current {
			continue
		}
		err = db.Transaction(func(tx *gorm.DB) error {
			for _, stmt := range st.statements() {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%s.search_text: %s: %w", st.table, strings.Fields(stmt)[0], err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// searchTextBatch is how many rows one statement of BackfillSearchText
// fills: short transactions, so the rows it locks are not held long.
const searchTextBatch = 2000

// BackfillSearchText fills the search_text columns a database from an
// earlier version left NULL, a batch at a time, until none is left or ctx
// ends, and returns how many rows it filled. Replicas may run it at once:
// each skips the rows another has locked. Until a row is filled, searches
// test its columns directly, so results never depend on it.
func (s *Store) BackfillSearchText(ctx context.Context) (int64, error) {
	if s.db.Dialector.Name() != Postgres {
		return 0, nil
	}
	var filled int64
	for _, st := range searchTexts {
		for {
			// Any UPDATE fires the trigger, which fills the column.
			res := s.db.WithContext(ctx).Exec(`UPDATE `+st.table+` SET search_text = NULL WHERE id IN (
			  SELECT id FROM `+st.table+` WHERE search_text IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)`, searchTextBatch)
			if res.Error != nil {
				return filled, translate(res.Error)
			}
			filled += res.RowsAffected
			if res.RowsAffected == 0 {
				break
			}
		}
	}
	return filled, nil
}
