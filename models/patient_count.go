package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// PatientCount holds part of the number of patients a user owns: the sum of
// an owner's rows is the count. Database triggers keep it in the same
// transaction as every insert, delete and change of owner of a patient, so
// the API's page count costs one index lookup instead of counting the
// owner's rows (50,000 of them took 8 ms of database time on every page).
//
// On PostgreSQL each connection adds to its own shard (its backend pid
// modulo patientCountShards), so concurrent creates by one owner do not
// queue on one row lock. SQLite has a single writer and uses shard 0.
//
// Version counts the statements that changed an owner's patients (insert,
// delete, any update, a change of owner on both sides); its sum over the
// shards only grows, and does so in the writing transaction, so a
// remembered fact about an owner's list (listMemo) holds exactly while the
// sum it was learnt at is still the sum.
type PatientCount struct {
	OwnerID int64 `gorm:"primaryKey;autoIncrement:false"`
	Shard   int   `gorm:"primaryKey;autoIncrement:false"`
	N       int64 `gorm:"not null"`
	Version int64 `gorm:"not null;default:0"`
	Owner   *User `gorm:"foreignKey:OwnerID;constraint:OnDelete:CASCADE"`
}

const patientCountShards = 8

// sqlitePatientCountTriggers keep patient_counts true on SQLite. A
// decrement is an UPDATE, never an insert: when a user is deleted, its
// patients go by cascade and its counts with it. Any other update of a
// patient changes its owner's version only.
var sqlitePatientCountTriggers = []struct{ name, body string }{
	{"patient_counts_insert", `AFTER INSERT ON patients BEGIN
	   INSERT INTO patient_counts (owner_id, shard, n, version) VALUES (NEW.created_by_id, 0, 1, 1)
	   ON CONFLICT (owner_id, shard) DO UPDATE SET n = n + 1, version = version + 1;
	 END`},
	{"patient_counts_delete", `AFTER DELETE ON patients BEGIN
	   UPDATE patient_counts SET n = n - 1, version = version + 1 WHERE owner_id = OLD.created_by_id AND shard = 0;
	 END`},
	{"patient_counts_update", `AFTER UPDATE OF created_by_id ON patients
	 WHEN OLD.created_by_id <> NEW.created_by_id BEGIN
	   UPDATE patient_counts SET n = n - 1, version = version + 1 WHERE owner_id = OLD.created_by_id AND shard = 0;
	   INSERT INTO patient_counts (owner_id, shard, n, version) VALUES (NEW.created_by_id, 0, 1, 1)
	   ON CONFLICT (owner_id, shard) DO UPDATE SET n = n + 1, version = version + 1;
	 END`},
	{"patient_counts_change", `AFTER UPDATE ON patients
	 WHEN OLD.created_by_id = NEW.created_by_id BEGIN
	   UPDATE patient_counts SET version = version + 1 WHERE owner_id = NEW.created_by_id AND shard = 0;
	 END`},
}

// postgresPatientCountDeltas are, per operation, the query of (owner_id, n)
// changes that a statement made, read from its transition tables: one
// statement-level trigger per operation, so a batch insert of 1,000
// patients (the demo seeding) updates one row per owner, not 1,000.
var postgresPatientCountDeltas = []struct{ op, transition, deltas string }{
	{"INSERT", "NEW TABLE AS new_rows",
		`SELECT created_by_id, count(*) FROM new_rows GROUP BY created_by_id`},
	{"DELETE", "OLD TABLE AS old_rows",
		`SELECT created_by_id, -count(*) FROM old_rows GROUP BY created_by_id`},
	// Every owner an update touched, with a change of 0 for those whose
	// patients were only edited: their version still moves.
	{"UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
		`SELECT owner_id, sum(n) FROM (
		   SELECT nr.created_by_id AS owner_id, CASE WHEN nr.created_by_id <> o.created_by_id THEN 1 ELSE 0 END AS n
		     FROM new_rows nr JOIN old_rows o ON o.id = nr.id
		   UNION ALL
		   SELECT o.created_by_id, -1 FROM new_rows nr JOIN old_rows o ON o.id = nr.id
		    WHERE nr.created_by_id <> o.created_by_id
		 ) AS touched GROUP BY owner_id`},
}

// postgresPatientCountFunction names the trigger function of an operation
// ("insert"). The name carries the version of the bodies: a server from
// before the list version replaces, on every boot, the functions of its
// own names with bodies that do not move it; were these the same names,
// one such server restarting beside newer ones (a rolling deployment, a
// rollback) would freeze every owner's version, and the newer servers
// would trust what they remember of lists that have changed. A change of
// the bodies' meaning takes a new name again.
func postgresPatientCountFunction(op string) string { return "patient_counts_v2_" + op }

// postgresPatientCountFunctions are the trigger functions, replaced on
// every boot so that a new version's body takes effect. Their tables are
// the server's, found through searchPath (tablesSearchPath): a write by
// another session (a psql with another search path, pg_restore, which
// clears it) found none, or another schema's.
func postgresPatientCountFunctions(searchPath string) []string {
	var stmts []string
	for _, d := range postgresPatientCountDeltas {
		// Owners that no longer exist (deleted, their patients going by
		// cascade) are skipped: their counts went with them.
		stmts = append(stmts, fmt.Sprintf(`CREATE OR REPLACE FUNCTION %[4]s() RETURNS trigger AS $$
		 BEGIN
		   INSERT INTO patient_counts AS c (owner_id, shard, n, version)
		   SELECT d.owner_id, pg_backend_pid() %% %[2]d, d.n, 1 FROM (%[3]s) AS d (owner_id, n)
		   WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = d.owner_id)
		   ON CONFLICT (owner_id, shard) DO UPDATE SET n = c.n + EXCLUDED.n, version = c.version + 1;
		   RETURN NULL;
		 END; $$ LANGUAGE plpgsql SET search_path = %[5]s`, strings.ToLower(d.op), patientCountShards, d.deltas, postgresPatientCountFunction(strings.ToLower(d.op)), searchPath))
	}
	return stmts
}

func postgresPatientCountTriggers() []string {
	var stmts []string
	for _, d := range postgresPatientCountDeltas {
		op := strings.ToLower(d.op)
		stmts = append(stmts,
			fmt.Sprintf(`DROP TRIGGER IF EXISTS patient_counts_%s ON patients`, op),
			fmt.Sprintf(`CREATE TRIGGER patient_counts_%[1]s AFTER %[2]s ON patients
			 REFERENCING %[3]s FOR EACH STATEMENT EXECUTE FUNCTION %[4]s()`,
				op, d.op, d.transition, postgresPatientCountFunction(op)),
			// The function of the same operation from before the list
			// version, if any: nothing calls it any more.
			fmt.Sprintf(`DROP FUNCTION IF EXISTS patient_counts_%s()`, op))
	}
	return stmts
}

// migratePatientCounts installs the counting triggers. The first time (no
// trigger yet: a new database, or one from before the counter existed) it
// also counts the patients there are, in the same transaction and with
// patient writes blocked, so no insert falls between the count and the
// trigger. Later boots only replace the trigger functions (PostgreSQL;
// triggers that call another version's functions are made again, patient
// writes blocked for that moment) or the triggers (SQLite): no table scan.
func migratePatientCounts(db *gorm.DB) error {
	return db.Transaction(func(tx *gorm.DB) error {
		dialect := tx.Dialector.Name()
		if dialect == Postgres {
			searchPath, err := tablesSearchPath(tx)
			if err != nil {
				return err
			}
			for _, stmt := range postgresPatientCountFunctions(searchPath) {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
		}
		calls, err := triggerFunctions(tx, "patients")
		if err != nil {
			return err
		}
		_, installed := calls["patient_counts_insert"]
		var stmts []string
		switch {
		case dialect == Postgres && installed && postgresTriggersCurrent(calls):
			return nil
		case dialect == Postgres:
			stmts = append([]string{`LOCK TABLE patients IN SHARE MODE`}, postgresPatientCountTriggers()...)
		default:
			// SQLite has one writer, and this transaction holds it.
			for _, t := range sqlitePatientCountTriggers {
				stmts = append(stmts, `DROP TRIGGER IF EXISTS `+t.name, `CREATE TRIGGER `+t.name+` `+t.body)
			}
		}
		if !installed {
			stmts = append(stmts,
				`DELETE FROM patient_counts`,
				`INSERT INTO patient_counts (owner_id, shard, n)
				 SELECT created_by_id, 0, count(*) FROM patients GROUP BY created_by_id`)
		}
		for _, stmt := range stmts {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// ownedPatientState reads owner's patient count and list version in one
// index lookup.
func (s *Store) ownedPatientState(ctx context.Context, owner int64) (listState, error) {
	var row struct{ N, Version int64 }
	err := s.db.WithContext(ctx).Model(&PatientCount{}).
		Select("COALESCE(SUM(n), 0) AS n, COALESCE(SUM(version), 0) AS version").
		Where("owner_id = ?", owner).Scan(&row).Error
	return listState{owner: owner, total: row.N, version: row.Version}, translate(err)
}

// atPatientVersion limits a statement over st.owner's patients to the
// state of st.version, read in the statement's own snapshot (one index
// lookup, evaluated once): a later version makes it match no row.
func atPatientVersion(db *gorm.DB, st listState) *gorm.DB {
	return db.Where("(SELECT COALESCE(SUM(version), 0) FROM patient_counts WHERE owner_id = ?) = ?", st.owner, st.version)
}

// triggerFunctions maps the name of each trigger on tables to the function
// it calls: on SQLite, whose triggers hold their bodies, to "".
func triggerFunctions(tx *gorm.DB, tables ...string) (map[string]string, error) {
	var triggers []struct{ Name, Function string }
	var err error
	if tx.Dialector.Name() == Postgres {
		err = tx.Raw(`SELECT t.tgname AS name, p.proname AS function
		  FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
		  WHERE t.tgrelid::regclass::text IN ? AND NOT t.tgisinternal`, tables).Scan(&triggers).Error
	} else {
		err = tx.Raw(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ?`, tables).Scan(&triggers).Error
	}
	calls := make(map[string]string, len(triggers))
	for _, t := range triggers {
		calls[t.Name] = t.Function
	}
	return calls, err
}

// postgresTriggersCurrent reports whether every counting trigger calls
// this version's function (calls: trigger name -> function name).
func postgresTriggersCurrent(calls map[string]string) bool {
	for _, d := range postgresPatientCountDeltas {
		op := strings.ToLower(d.op)
		if calls["patient_counts_"+op] != postgresPatientCountFunction(op) {
			return false
		}
	}
	return true
}
