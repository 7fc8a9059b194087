package models

import (
	"fmt"

	"gorm.io/gorm"
)

// trigramIndexes are the PostgreSQL indexes that serve ?search= and the
// admin's search box: LOWER(col) LIKE '%word%' cannot use a b-tree, so
// without them every search reads every candidate row (1.2 s for the
// admin's search over 1,000,000 patients, measured in BENCHMARKS.md).
var trigramIndexes = []struct{ name, table, column string }{
	{"idx_patients_name_trgm", "patients", "name"},
	{"idx_patients_email_trgm", "patients", "email"},
	{"idx_patients_phone_trgm", "patients", "phone"},
	{"idx_doctors_name_trgm", "doctors", "name"},
	{"idx_doctors_specialization_trgm", "doctors", "specialization"},
	{"idx_doctors_email_trgm", "doctors", "email"},
}

// migrateSearchIndexes creates the trigram indexes on PostgreSQL, with the
// pg_trgm extension (trusted since PostgreSQL 13: a database owner may
// create it). Where the extension cannot be had, searches still work, by
// scanning; SearchIndexWarning tells the operator.
func migrateSearchIndexes(db *gorm.DB) error {
	if db.Dialector.Name() != Postgres {
		return nil
	}
	schema, err := trigramSchema(db)
	if err != nil {
		return err
	}
	if schema == "" {
		// Several processes (or tests) may race to create it: the loser's
		// error is harmless when the extension is there afterwards.
		_ = db.Exec(`CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public`).Error
		if schema, err = trigramSchema(db); err != nil || schema == "" {
			return err
		}
	}
	for _, ix := range trigramIndexes {
		stmt := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s USING gin (lower(%s) %q.gin_trgm_ops)`,
			ix.name, ix.table, ix.column, schema)
		if err := db.Exec(stmt).Error; err != nil {
			return fmt.Errorf("%s: %w", ix.name, err)
		}
	}
	return nil
}

// SearchIndexWarning says, on PostgreSQL without pg_trgm, that searches
// will scan their rows and how to fix it; "" when all is well.
func SearchIndexWarning(db *gorm.DB) string {
	if db.Dialector.Name() != Postgres {
		return ""
	}
	if schema, err := trigramSchema(db); err != nil || schema != "" {
		return ""
	}
	return "search indexes are missing: the pg_trgm extension is not installed and this database user could not " +
		"create it, so searches read every candidate row. Run CREATE EXTENSION pg_trgm as the database owner and restart."
}

// trigramSchema is the schema pg_trgm is installed in, "" if it is not.
func trigramSchema(db *gorm.DB) (string, error) {
	var schema []string
	err := db.Raw(`SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	  WHERE e.extname = 'pg_trgm'`).Scan(&schema).Error
	if err != nil || len(schema) == 0 {
		return "", err
	}
	return schema[0], nil
}
