package models

import (
	"errors"

	"gorm.io/gorm"
)

// tablesSearchPath is the search path that the trigger functions which
// name other tables (the patient and mapping counts) are pinned to: the
// schema this server's tables were made in, as the current session
// resolves it, then pg_temp last so that no session's temporary table can
// stand in for one of them. A write by another session (a psql with
// another search path, pg_restore, which empties it, another role whose
// "$user" schema differs) must count in the same tables. SET search_path
// FROM CURRENT would not do: it keeps the path as written, and the
// default "$user", public means another schema to another role.
func tablesSearchPath(tx *gorm.DB) (string, error) {
	var schema *string
	if err := tx.Raw(`SELECT quote_ident(current_schema())`).Scan(&schema).Error; err != nil {
		return "", err
	}
	if schema == nil {
		return "", errors.New("the search path names no schema that exists: the tables have nowhere to be")
	}
	return *schema + ", pg_temp", nil
}
