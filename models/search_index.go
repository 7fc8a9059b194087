package models

import (
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// trigramIndex is a PostgreSQL GIN index that serves ?search= and the
// admin's search box: LOWER(col) LIKE '%word%' cannot use a b-tree, so
// without one every search reads every candidate row (1.2 s for the
// admin's search over 1,000,000 patients, measured in BENCHMARKS.md).
type trigramIndex struct {
	name, table string
	// owner, when set, leads the index (through btree_gin, without which
	// the index is not made).
	owner   string
	columns []string
}

// trigramIndexes: one per searchable column, and for patients one more,
// led by the owner. A user's search is owner = ? AND (LOWER(name) LIKE ?
// OR ...): in the owner-led index each arm of the OR finds that owner's
// matches only, instead of every owner's matches to be filtered on the
// heap (1,614 rows instead of 33,479 for a common last name at 1,000,000
// patients: 2 ms instead of 15). The per-column indexes stay: with them
// alone the planner serves small tables best (the owner-led index alone
// made a search over 1,000 patients 9× dearer in the database, and the
// staff-wide search 8×), with the owner-led one large owners best; with
// both, each size gets its better plan, and inserts pay for the fourth
// index within the noise of the measurements
// (bench/pgbench/search-index-layouts.sh, BENCHMARKS.md).
var trigramIndexes = []trigramIndex{
	{name: "idx_patients_name_trgm", table: "patients", columns: []string{"name"}},
	{name: "idx_patients_email_trgm", table: "patients", columns: []string{"email"}},
	{name: "idx_patients_phone_trgm", table: "patients", columns: []string{"phone"}},
	{name: "idx_patients_owner_search", table: "patients", owner: "created_by_id", columns: []string{"name", "email", "phone"}},
	{name: "idx_doctors_name_trgm", table: "doctors", columns: []string{"name"}},
	{name: "idx_doctors_specialization_trgm", table: "doctors", columns: []string{"specialization"}},
	{name: "idx_doctors_email_trgm", table: "doctors", columns: []string{"email"}},
}

// migrateSearchIndexes creates the trigram indexes on PostgreSQL, with the
// pg_trgm and btree_gin extensions (both trusted since PostgreSQL 13: a
// database owner may create them). Without pg_trgm, searches still work,
// by scanning; without btree_gin, a user's search filters every owner's
// matches. Either way SearchIndexWarning tells the operator.
func migrateSearchIndexes(db *gorm.DB) error {
	if db.Dialector.Name() != Postgres {
		return nil
	}
	schemas, err := extensionSchemas(db, searchExtensions...)
	if err != nil {
		return err
	}
	// An index that exists is not named again: CREATE INDEX IF NOT EXISTS
	// takes its lock on the table before it looks, so every boot would wait
	// behind (and hold up writes behind it) a long transaction on the table.
	var names []string
	if err := db.Raw(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`).Scan(&names).Error; err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, n := range names {
		exists[n] = true
	}
	for _, stmt := range searchIndexStatements(schemas["pg_trgm"], schemas["btree_gin"] != "", exists) {
		if err := db.Exec(stmt).Error; err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return widenSearchStatistics(db)
}

// searchStatisticsTarget is the statistics target of the trigram indexes'
// expressions (lower(name), ...), whose statistics are what PostgreSQL's
// planner reads for a search's LIKE '%word%': it tests the word against
// the expression's histogram and takes the share of bounds that match.
// With the default target (100 bounds), a word in 3% of the rows matches
// about 3, and an ANALYZE whose sample puts none there makes the estimate
// 0.01%: the planner then takes a common last name for a rare one, reads
// every match through the trigram index and sorts them, instead of walking
// the list's order until a page is full. At 1,000,000 patients that was
// a user's search of "lopez" (1,592 matches) at 7 ms in the database
// instead of 0.2, and the admin's (33,143) at 110 ms instead of 1.2, after
// 1 ANALYZE in about 30 (the benchmark's p50 grew 10× between two runs).
// With 300 bounds, the estimates of 25 ANALYZEs stayed within 0.6–1.4× of
// the true counts, for +0.04 ms of planning a search and ANALYZE samples
// of 90,000 rows instead of 30,000 (BENCHMARKS.md).
const searchStatisticsTarget = 300

// widenSearchStatistics sets searchStatisticsTarget on the expression
// columns of the trigram indexes there are, and analyzes the tables whose
// targets it changed, so the next plan already has the wider histograms
// (once, on the first boot of this version: 1.2 s at 1,000,000 patients;
// later boots only read the catalog).
func widenSearchStatistics(db *gorm.DB) error {
	names := make([]string, len(trigramIndexes))
	for i, ix := range trigramIndexes {
		names[i] = ix.name
	}
	var cols []struct {
		IndexName string
		Attnum    int
		Target    int
	}
	err := db.Raw(`SELECT c.relname AS index_name, a.attnum, COALESCE(a.attstattarget, -1) AS target
	  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE n.nspname = current_schema() AND c.relname IN ? AND a.attnum > 0`, names).Scan(&cols).Error
	if err != nil {
		return err
	}
	var tables []string
	for _, col := range cols {
		ix := trigramIndexes[slices.Index(names, col.IndexName)]
		if ix.owner != "" && col.Attnum == 1 {
			continue // the owner: a plain column, with the table's statistics
		}
		if col.Target == searchStatisticsTarget {
			continue
		}
		stmt := fmt.Sprintf("ALTER INDEX %s ALTER COLUMN %d SET STATISTICS %d", ix.name, col.Attnum, searchStatisticsTarget)
		if err := db.Exec(stmt).Error; err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
		if !slices.Contains(tables, ix.table) {
			tables = append(tables, ix.table)
		}
	}
	if len(tables) == 0 {
		return nil
	}
	return db.Exec("ANALYZE " + strings.Join(tables, ", ")).Error
}

// searchIndexStatements are the CREATE INDEX statements of trigramIndexes
// with pg_trgm in schema trgm ("": not installed, no statements), and the
// owner-led ones only when btree_gin is installed; none for an index that
// exists already.
func searchIndexStatements(trgm string, btreeGin bool, exists map[string]bool) []string {
	if trgm == "" {
		return nil
	}
	var stmts []string
	for _, ix := range trigramIndexes {
		if exists[ix.name] {
			continue
		}
		var columns []string
		if ix.owner != "" {
			if !btreeGin {
				continue
			}
			columns = append(columns, ix.owner)
		}
		for _, col := range ix.columns {
			columns = append(columns, fmt.Sprintf("lower(%s) %q.gin_trgm_ops", col, trgm))
		}
		stmts = append(stmts, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s USING gin (%s)`, ix.name, ix.table, strings.Join(columns, ", ")))
	}
	return stmts
}

// extensionSchemas creates, where they are missing and the database user
// may, the given extensions, and returns the schema each is installed in
// ("" for one that is not).
func extensionSchemas(db *gorm.DB, names ...string) (map[string]string, error) {
	schemas, err := installedExtensions(db, names)
	if err != nil {
		return nil, err
	}
	missing := false
	for _, name := range names {
		if schemas[name] == "" {
			missing = true
			// Several processes (or tests) may race to create it: the
			// loser's error is harmless when the extension is there
			// afterwards, and a refusal is SearchIndexWarning's to report.
			_ = db.Exec(`CREATE EXTENSION IF NOT EXISTS ` + name + ` SCHEMA public`).Error
		}
	}
	if !missing {
		return schemas, nil
	}
	return installedExtensions(db, names)
}

func installedExtensions(db *gorm.DB, names []string) (map[string]string, error) {
	var rows []struct{ Extname, Nspname string }
	err := db.Raw(`SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	  WHERE e.extname IN ?`, names).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	schemas := make(map[string]string, len(rows))
	for _, r := range rows {
		schemas[r.Extname] = r.Nspname
	}
	return schemas, nil
}

// SearchIndexWarning says, on PostgreSQL without pg_trgm or btree_gin,
// what searches will cost and how to fix it; "" when all is well.
func SearchIndexWarning(db *gorm.DB) string {
	if db.Dialector.Name() != Postgres {
		return ""
	}
	schemas, err := installedExtensions(db, searchExtensions)
	if err != nil {
		return ""
	}
	return searchIndexWarning(schemas)
}

// searchExtensions are the extensions the search indexes need.
var searchExtensions = []string{"pg_trgm", "btree_gin"}

// searchIndexWarning is SearchIndexWarning's text for the installed
// extensions (name -> schema).
func searchIndexWarning(installed map[string]string) string {
	var missing []string
	for _, name := range searchExtensions {
		if installed[name] == "" {
			missing = append(missing, name)
		}
	}
	switch {
	case len(missing) == 0:
		return ""
	case installed["pg_trgm"] == "":
		return "search indexes are missing: " + strings.Join(missing, " and ") + " not installed and this database " +
			"user may not create extensions, so searches read every candidate row. Run CREATE EXTENSION " +
			strings.Join(missing, "; CREATE EXTENSION ") + " as the database owner and restart."
	default:
		return "the btree_gin extension is not installed and this database user could not create it, so a user's " +
			"search reads every owner's matches before keeping that user's. Run CREATE EXTENSION btree_gin as the " +
			"database owner and restart."
	}
}
