package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
// the column is a faster spelling of the same test. (An admin search's
// quoted phrase may hold one, typed into a URL, and then match search_text
// across two columns: the per-column test after it still refuses the row.)
// The search keeps the per-column test after it (applyWords) for the
// trigram indexes that serve rare words, and for rows a database from an
// earlier version has not filled yet (NULL).
//
// PostgreSQL only: SQLite searches fold case in their own scan.
type searchText struct {
	table   string
	columns []string // as the table's API search lists them
}

// patientSearch and doctorSearch are the fields a search of patients or
// of doctors tests: the one list the API's lists, the admin's changelists
// and pickers and the search_text trigger all take, so search_text holds
// whatever a search tests.
var (
	patientSearch = searchText{table: "patients", columns: []string{"name", "email", "phone"}}
	doctorSearch  = searchText{table: "doctors", columns: []string{"name", "specialization", "email"}}
)

// searchTexts are the tables with a search_text column.
var searchTexts = []searchText{patientSearch, doctorSearch}

// folded is the table's search_text column, qualified.
func (st searchText) folded() string { return st.table + ".search_text" }

// qualified are the searched columns with their table, for lists that join.
func (st searchText) qualified() []string {
	cols := make([]string, len(st.columns))
	for i, c := range st.columns {
		cols[i] = st.table + "." + c
	}
	return cols
}

// searchTextVersion numbers the trigger function's definition. A new
// definition (other columns) takes the next number, and must also set the
// column back to NULL in batches so the backfill recomputes old rows.
const searchTextVersion = 1

// function is the trigger function's name, with the definition's version.
func (st searchText) function() string {
	return fmt.Sprintf("%s_search_text_v%d", st.table, searchTextVersion)
}

func (st searchText) trigger() string { return st.table + "_search_text" }

func (st searchText) pendingIndex() string { return "idx_" + st.table + "_search_text_pending" }

// statements install the column and its trigger. Adding a column without a
// default does not rewrite the table; the rows an earlier version left are
// filled in the background (BackfillSearchText), so an upgrade's boot does
// not wait on a million-row UPDATE.
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
	}
}

// migrateSearchText installs the search_text columns on PostgreSQL.
//
// A boot that finds a table's trigger at this version or a later one (a
// newer server booted first: a rolling deployment, a rollback) changes
// nothing there and takes no lock. Otherwise the column and the trigger
// are installed in one transaction that waits at most searchTextLockWait
// for its lock on the table, and tries again: ALTER TABLE needs the table
// to itself, and while it waits (behind an export of an earlier server,
// say) every other query on the table queues behind it.
//
// Then, in a transaction of its own, the partial index of the rows still
// to fill is built: reads go on, writes wait while it reads the table
// (about a second at 1,000,000 patients, once; instant on a new
// database). It stays empty once the backfill is done: the trigger fills
// every row it writes. (Not CONCURRENTLY: that waits for every older
// transaction in the database to end, a pg_dump's included.)
func migrateSearchText(db *gorm.DB) error {
	if db.Dialector.Name() != Postgres {
		return nil
	}
	for _, st := range searchTexts {
		var installed []string
		err := db.Raw(`SELECT p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
		  WHERE t.tgrelid = ?::regclass AND t.tgname = ?`, st.table, st.trigger()).Scan(&installed).Error
		if err != nil {
			return err
		}
		if len(installed) == 0 || searchTextFunctionVersion(installed[0], st.table) < searchTextVersion {
			if err := execWaitingBriefly(db, st.table, st.statements()); err != nil {
				return err
			}
		}
		var indexed bool
		if err := db.Raw(`SELECT to_regclass(?) IS NOT NULL`, st.pendingIndex()).Scan(&indexed).Error; err != nil {
			return err
		}
		if !indexed {
			err := execWaitingBriefly(db, st.table, []string{`CREATE INDEX IF NOT EXISTS ` + st.pendingIndex() +
				` ON ` + st.table + ` (id) WHERE search_text IS NULL`})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// searchTextLockWait bounds each wait of migrateSearchText for a table.
const searchTextLockWait = 3 * time.Second

// execWaitingBriefly runs stmts in one transaction that gives up waiting
// for a lock after searchTextLockWait, and tries again, a few times.
func execWaitingBriefly(db *gorm.DB, table string, stmts []string) error {
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(fmt.Sprintf(`SET LOCAL lock_timeout = %d`, searchTextLockWait.Milliseconds())).Error; err != nil {
				return err
			}
			for _, stmt := range stmts {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%s: %s: %w", table, strings.Fields(stmt)[0], err)
				}
			}
			return nil
		})
		if !isLockTimeout(err) {
			return err
		}
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	return err
}

// searchTextFunctionVersion reads N from "<table>_search_text_vN" (0 when
// the name is not of that form).
func searchTextFunctionVersion(name, table string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, table+"_search_text_v"))
	if err != nil || !strings.HasPrefix(name, table+"_search_text_v") {
		return 0
	}
	return n
}

// isDeadlock reports PostgreSQL's end of a deadlock's victim (40P01).
func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

// isLockTimeout reports PostgreSQL's lock_timeout error (55P03).
func isLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}

// Backfill pacing: short transactions (the rows a batch locks are not held
// long), a pause between them so an upgrade's backfill leaves the
// database to the requests, and a few tries of a batch that fails (two
// replicas' batches may deadlock on the patient counter's rows).
const (
	searchTextBatch = 2000
	searchTextPause = 20 * time.Millisecond
	searchTextTries = 5
)

// BackfillSearchText fills the search_text columns a database from an
// earlier version left NULL, a batch at a time in id order, each row once,
// until the end of each table or ctx ends, and returns how many rows it
// filled. Replicas may run it at once: each skips the rows another has
// locked. Until a row is filled, searches test its columns directly, so
// results never depend on it.
func (s *Store) BackfillSearchText(ctx context.Context) (int64, error) {
	if s.db.Dialector.Name() != Postgres {
		return 0, nil
	}
	var filled int64
	for _, st := range searchTexts {
		// Any UPDATE fires the trigger, which fills the column; the cursor
		// (after) ends the walk even if something keeps a row NULL.
		stmt := `WITH batch AS (
		    SELECT id FROM ` + st.table + ` WHERE search_text IS NULL AND id > ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED),
		  done AS (
		    UPDATE ` + st.table + ` t SET search_text = NULL FROM batch WHERE t.id = batch.id RETURNING t.id, t.search_text)
		  SELECT count(*) FILTER (WHERE search_text IS NOT NULL) AS filled, COALESCE(max(id), 0) AS last FROM done`
		var after int64
		for {
			var res struct{ Filled, Last int64 }
			var err error
			for try := 1; try <= searchTextTries; try++ {
				if err = s.db.WithContext(ctx).Raw(stmt, after, searchTextBatch).Scan(&res).Error; err == nil || ctx.Err() != nil {
					break
				}
				sleepCtx(ctx, time.Duration(try)*time.Second)
			}
			if err != nil {
				return filled, translate(err)
			}
			filled += res.Filled
			if res.Last == 0 {
				break
			}
			after = res.Last
			sleepCtx(ctx, searchTextPause)
		}
	}
	return filled, nil
}
