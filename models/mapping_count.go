package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// MappingCount holds part of the number of mappings of a user's patients,
// as PatientCount does for the patients: the sum of an owner's rows is the
// count, kept by database triggers in the writing transaction, so the
// API's mapping list reads its size in one index lookup instead of
// counting (50,000 mappings took 30-90 ms on every page at 1,000,000
// patients). PostgreSQL shards it by connection, SQLite uses shard 0.
//
// Both it and mappings.patient_owner_id are the triggers' alone: a
// mapping copies its patient's owner when it is written, every mapping of
// a patient follows the patient to a new owner, and the counts follow
// patient_owner_id. Whatever writes (the API, the admin, a cascade, psql),
// the column and the counts stay true; the exceptions, as for
// patient_counts, are statements that fire no row trigger: TRUNCATE on
// PostgreSQL, INSERT OR REPLACE on SQLite (its implicit deletes).
type MappingCount struct {
	OwnerID int64 `gorm:"primaryKey;autoIncrement:false"`
	Shard   int   `gorm:"primaryKey;autoIncrement:false"`
	N       int64 `gorm:"not null"`
	Owner   *User `gorm:"foreignKey:OwnerID;constraint:OnDelete:CASCADE"`
}

// ownedMappingState reads how many mappings owner's patients have.
func (s *Store) ownedMappingState(ctx context.Context, owner int64) (listState, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&MappingCount{}).Select("COALESCE(SUM(n), 0)").
		Where("owner_id = ?", owner).Scan(&n).Error
	return listState{owner: owner, total: n}, translate(err)
}

// mappingOwnerOf is the owner of a mapping's patient, for SQLite's triggers.
const mappingOwnerOf = `(SELECT created_by_id FROM patients WHERE id = NEW.patient_id)`

// sqliteCopyOwner is the body of SQLite's triggers that copy the owner
// onto a written mapping, when it is not already there.
const sqliteCopyOwner = `WHEN NEW.patient_owner_id IS DISTINCT FROM ` + mappingOwnerOf + ` BEGIN
	   UPDATE mappings SET patient_owner_id = ` + mappingOwnerOf + ` WHERE id = NEW.id;
	 END`

// sqliteMappingTriggers keep patient_owner_id and mapping_counts true on
// SQLite. An AFTER trigger cannot change NEW there, so the copy is an
// UPDATE of the new row, which the counting trigger of an update then
// counts. SQLite's triggers do not fire themselves again
// (recursive_triggers is off), but do fire the others.
var sqliteMappingTriggers = []struct{ name, body string }{
	{"mappings_patient_owner_insert", `AFTER INSERT ON mappings ` + sqliteCopyOwner},
	{"mappings_patient_owner_update", `AFTER UPDATE OF patient_id, patient_owner_id ON mappings ` + sqliteCopyOwner},
	{"patients_mapping_owner", `AFTER UPDATE OF created_by_id ON patients
	 WHEN OLD.created_by_id IS DISTINCT FROM NEW.created_by_id BEGIN
	   UPDATE mappings SET patient_owner_id = NEW.created_by_id WHERE patient_id = NEW.id;
	 END`},
	{"mapping_counts_insert", `AFTER INSERT ON mappings BEGIN ` + sqliteMappingCountAdd("NEW", "+1") + ` END`},
	{"mapping_counts_delete", `AFTER DELETE ON mappings BEGIN ` + sqliteMappingCountAdd("OLD", "-1") + ` END`},
	{"mapping_counts_update", `AFTER UPDATE OF patient_owner_id ON mappings
	 WHEN OLD.patient_owner_id IS DISTINCT FROM NEW.patient_owner_id BEGIN ` +
		sqliteMappingCountAdd("OLD", "-1") + sqliteMappingCountAdd("NEW", "+1") + ` END`},
}

// sqliteMappingCountAdd adds delta to the count of row's (NEW or OLD)
// patient_owner_id. Every change is an addition, so the counts come out
// the same in whatever order SQLite fires the triggers of one write (an
// insert that names a wrong owner is counted, then moved by the copy's
// update, or the other way round). Owners that are not users (a deleted
// user's mappings going by cascade, after its counts) are skipped.
func sqliteMappingCountAdd(row, delta string) string {
	return fmt.Sprintf(`INSERT INTO mapping_counts (owner_id, shard, n)
	   SELECT %[1]s.patient_owner_id, 0, %[2]s WHERE EXISTS (SELECT 1 FROM users WHERE id = %[1]s.patient_owner_id)
	   ON CONFLICT (owner_id, shard) DO UPDATE SET n = n %[2]s;`, row, delta)
}

// postgresMappingCountDeltas are, per operation, the (owner, change)
// pairs a statement made, read from its transition tables, as
// postgresPatientCountDeltas.
var postgresMappingCountDeltas = []struct{ op, transition, deltas string }{
	{"INSERT", "NEW TABLE AS new_rows",
		`SELECT patient_owner_id, count(*) FROM new_rows WHERE patient_owner_id IS NOT NULL GROUP BY 1`},
	{"DELETE", "OLD TABLE AS old_rows",
		`SELECT patient_owner_id, -count(*) FROM old_rows WHERE patient_owner_id IS NOT NULL GROUP BY 1`},
	{"UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
		`SELECT owner_id, sum(n) FROM (
		   SELECT nr.patient_owner_id, 1 FROM new_rows nr JOIN old_rows o ON o.id = nr.id
		    WHERE nr.patient_owner_id IS DISTINCT FROM o.patient_owner_id
		   UNION ALL
		   SELECT o.patient_owner_id, -1 FROM new_rows nr JOIN old_rows o ON o.id = nr.id
		    WHERE nr.patient_owner_id IS DISTINCT FROM o.patient_owner_id
		 ) AS moved (owner_id, n) WHERE owner_id IS NOT NULL GROUP BY owner_id HAVING sum(n) <> 0`},
}

// postgresMappingTrigger is one trigger of the mapping counter on
// PostgreSQL and its function. Function names carry the version of their
// body, for the reason postgresPatientCountFunction gives: a change of a
// body's meaning takes a new name.
type postgresMappingTrigger struct {
	name, table, when, function, body string
}

func postgresMappingTriggers() []postgresMappingTrigger {
	// FOR SHARE: a change of the patient's owner that is under way
	// finishes first (and is read), and one that comes later waits for
	// this transaction, whose mapping it then moves. Only inserts and
	// writes of the two columns read the patient: an edit of a mapping's
	// notes that locked its patient could deadlock with an admin save of
	// the patient (patient first, then its mappings).
	const copyOwner = `SELECT created_by_id INTO NEW.patient_owner_id FROM patients WHERE id = NEW.patient_id FOR SHARE;
			   RETURN NEW;`
	triggers := []postgresMappingTrigger{
		{name: "mappings_patient_owner", table: "mappings", when: "BEFORE INSERT ON mappings FOR EACH ROW",
			function: "mappings_patient_owner_v1", body: copyOwner},
		{name: "mappings_patient_owner_update", table: "mappings",
			when: `BEFORE UPDATE OF patient_id, patient_owner_id ON mappings FOR EACH ROW
			  WHEN (NEW.patient_id IS DISTINCT FROM OLD.patient_id OR NEW.patient_owner_id IS DISTINCT FROM OLD.patient_owner_id)`,
			function: "mappings_patient_owner_v1", body: copyOwner},
		{name: "patients_mapping_owner", table: "patients",
			when:     "AFTER UPDATE OF created_by_id ON patients FOR EACH ROW WHEN (OLD.created_by_id IS DISTINCT FROM NEW.created_by_id)",
			function: "patients_mapping_owner_v1",
			body: `UPDATE mappings SET patient_owner_id = NEW.created_by_id WHERE patient_id = NEW.id;
			   RETURN NULL;`},
	}
	for _, d := range postgresMappingCountDeltas {
		op := strings.ToLower(d.op)
		// Owners that no longer exist are skipped: their counts went with
		// them (a user's deletion cascades to its patients' mappings).
		triggers = append(triggers, postgresMappingTrigger{name: "mapping_counts_" + op, table: "mappings",
			when:     fmt.Sprintf("AFTER %s ON mappings REFERENCING %s FOR EACH STATEMENT", d.op, d.transition),
			function: "mapping_counts_v1_" + op,
			body: fmt.Sprintf(`INSERT INTO mapping_counts AS c (owner_id, shard, n)
			   SELECT d.owner_id, pg_backend_pid() %% %d, d.n FROM (%s) AS d (owner_id, n)
			   WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = d.owner_id)
			   ON CONFLICT (owner_id, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
			   RETURN NULL;`, patientCountShards, d.deltas)})
	}
	return triggers
}

// migrateMappingCounts installs the triggers of patient_owner_id and
// mapping_counts. The first time (a new database, or one from before
// them) it also fills both from the rows there are, in the same
// transaction, with writes to patients and mappings blocked. Later boots
// replace the trigger functions (PostgreSQL) or the triggers (SQLite),
// and scan no table.
func migrateMappingCounts(db *gorm.DB) error {
	return db.Transaction(func(tx *gorm.DB) error {
		var stmts []string
		var installed bool
		switch tx.Dialector.Name() {
		case Postgres:
			triggers := postgresMappingTriggers()
			// The search path pinned, as the patient counts' functions'.
			searchPath, err := tablesSearchPath(tx)
			if err != nil {
				return err
			}
			for _, t := range triggers {
				stmt := fmt.Sprintf("CREATE OR REPLACE FUNCTION %s() RETURNS trigger AS $$ BEGIN %s END; $$ LANGUAGE plpgsql SET search_path = %s", t.function, t.body, searchPath)
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			calls, err := triggerFunctions(tx, "patients", "mappings")
			if err != nil {
				return err
			}
			_, installed = calls["mapping_counts_insert"]
			current := installed
			for _, t := range triggers {
				current = current && calls[t.name] == t.function
			}
			if current {
				return nil
			}
			stmts = append(stmts, `LOCK TABLE patients, mappings IN SHARE MODE`)
			for _, t := range triggers {
				stmts = append(stmts, fmt.Sprintf(`DROP TRIGGER IF EXISTS %s ON %s`, t.name, t.table),
					fmt.Sprintf(`CREATE TRIGGER %s %s EXECUTE FUNCTION %s()`, t.name, t.when, t.function))
			}
		default:
			calls, err := triggerFunctions(tx, "mappings")
			if err != nil {
				return err
			}
			_, installed = calls["mapping_counts_insert"]
			// SQLite has one writer, and this transaction holds it.
			for _, t := range sqliteMappingTriggers {
				stmts = append(stmts, `DROP TRIGGER IF EXISTS `+t.name, `CREATE TRIGGER `+t.name+` `+t.body)
			}
		}
		if !installed {
			stmts = append(stmts,
				`UPDATE mappings SET patient_owner_id = (SELECT created_by_id FROM patients p WHERE p.id = mappings.patient_id)
				 WHERE patient_owner_id IS DISTINCT FROM (SELECT created_by_id FROM patients p WHERE p.id = mappings.patient_id)`,
				// After the copy, whose moves the triggers counted too.
				`DELETE FROM mapping_counts`,
				`INSERT INTO mapping_counts (owner_id, shard, n)
				 SELECT patient_owner_id, 0, count(*) FROM mappings WHERE patient_owner_id IS NOT NULL GROUP BY patient_owner_id`)
		}
		for _, stmt := range stmts {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
}
