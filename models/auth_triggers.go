package models

import (
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// The token cache's own triggers (PostgreSQL). The application announces
// its changes to authentication itself (notifyAuthChanged, inside their
// transactions); these announce the same changes made by anything else:
// an operator's UPDATE in psql, a script, a restore. Without them such a
// change (a user deactivated or deleted by hand, a token revoked in SQL)
// went unheard, and each process kept answering from its cache for up to
// TOKEN_CACHE_TTL. A change the application makes is then announced
// twice; the listener drops the user's entries twice, which costs nothing.
//
// Only what a cached answer depends on fires them (their WHEN clauses):
// the user's row as AuthenticateToken returns it, a live access token's or
// a login's revocation, a live access token's expiry or deletion (a
// login's or a user's deletion cascades to those), and a TRUNCATE, which
// empties every cache. A refresh's rotation (used_at), a login's
// last_login and the expiry job's deletions announce nothing.

// authTriggerFunction names a trigger function. The name carries the
// version of its body, as the counting triggers' do
// (postgresPatientCountFunction): a change of meaning takes a new name.
func authTriggerFunction(kind string) string { return "auth_changed_v1_" + kind }

// authTrigger is one trigger: a row-level AFTER trigger calling the
// function of kind, which announces OLD's user (for "user", its id; for
// "owned", its user_id). An UPDATE's and a DELETE's are apart: a DELETE
// trigger's WHEN may not read NEW.
type authTrigger struct{ name, table, when, kind string }

var authTriggers = []authTrigger{
	{"auth_changed_users_update", "users", `AFTER UPDATE ON users FOR EACH ROW
	  WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.is_staff IS DISTINCT FROM NEW.is_staff
	    OR OLD.is_superuser IS DISTINCT FROM NEW.is_superuser OR OLD.name IS DISTINCT FROM NEW.name
	    OR OLD.email IS DISTINCT FROM NEW.email OR OLD.id IS DISTINCT FROM NEW.id)`, "user"},
	{"auth_changed_users_delete", "users", `AFTER DELETE ON users FOR EACH ROW`, "user"},
	{"auth_changed_token_families_update", "token_families", `AFTER UPDATE ON token_families FOR EACH ROW
	  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.user_id IS DISTINCT FROM NEW.user_id)`, "owned"},
	// No DELETE trigger on token_families: a login's deletion cascades to
	// its tokens, whose live access tokens announce it below, and the
	// expiry job's deletions of spent logins stay quiet.
	// Access tokens only: the cache holds nothing else. An expired one is
	// refused from the cache anyway (its entry keeps the row's expiry), so
	// the expiry job's deletions stay quiet.
	{"auth_changed_issued_tokens_update", "issued_tokens", `AFTER UPDATE ON issued_tokens FOR EACH ROW
	  WHEN (OLD.type = 'access' AND OLD.expires_at > now() AND (
	    OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
	    OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.family_id IS DISTINCT FROM NEW.family_id
	    OR OLD.jti IS DISTINCT FROM NEW.jti OR OLD.type IS DISTINCT FROM NEW.type))`, "owned"},
	{"auth_changed_issued_tokens_delete", "issued_tokens", `AFTER DELETE ON issued_tokens FOR EACH ROW
	  WHEN (OLD.type = 'access' AND OLD.expires_at > now())`, "owned"},
	// TRUNCATE fires no row trigger: it empties every cache.
	{"auth_changed_users_truncate", "users", `AFTER TRUNCATE ON users FOR EACH STATEMENT`, "all"},
	{"auth_changed_token_families_truncate", "token_families", `AFTER TRUNCATE ON token_families FOR EACH STATEMENT`, "all"},
	{"auth_changed_issued_tokens_truncate", "issued_tokens", `AFTER TRUNCATE ON issued_tokens FOR EACH STATEMENT`, "all"},
}

// authTriggerPayloads are what each kind of trigger function announces,
// on the listener's channel (authChannelSQL), named from the table's
// schema: the writer's search path may differ from the listener's. "*"
// tells every listener to empty its cache (tokenListener.apply).
var authTriggerPayloads = map[string]string{"user": "OLD.id::text", "owned": "OLD.user_id::text", "all": "'*'"}

// migrateAuthTriggers installs the triggers on PostgreSQL (SQLite caches
// no token). Every boot replaces the functions; the triggers are created
// only when one is missing or calls another function, so a later boot
// takes no lock on the tables.
func migrateAuthTriggers(db *gorm.DB) error {
	if db.Dialector.Name() != Postgres {
		return nil
	}
	return db.Transaction(func(tx *gorm.DB) error {
		for kind, payload := range authTriggerPayloads {
			stmt := fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s() RETURNS trigger AS $$
			  BEGIN PERFORM pg_notify('healthcare_auth:' || left(TG_TABLE_SCHEMA, 40), %s); RETURN NULL; END;
			  $$ LANGUAGE plpgsql`, authTriggerFunction(kind), payload)
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		var tables []string
		for _, t := range authTriggers {
			if !slices.Contains(tables, t.table) {
				tables = append(tables, t.table)
			}
		}
		calls, err := triggerFunctions(tx, tables...)
		if err != nil {
			return err
		}
		for _, t := range authTriggers {
			if calls[t.name] == authTriggerFunction(t.kind) {
				continue
			}
			for _, stmt := range []string{
				fmt.Sprintf("DROP TRIGGER IF EXISTS %s ON %s", t.name, t.table),
				fmt.Sprintf("CREATE TRIGGER %s %s EXECUTE FUNCTION %s()", t.name, t.when, authTriggerFunction(t.kind)),
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}
