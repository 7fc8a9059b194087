package models_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Changes to authentication made in SQL, outside the application (an
// operator in psql), reach the token cache through the database's own
// triggers, as the application's do through notifyAuthChanged: at once,
// not after TOKEN_CACHE_TTL (a minute here).
func TestTokenCacheHearsChangesMadeInSQL(t *testing.T) {
	t.Parallel()
	tcPostgres(t)
	store := modelstest.Store(t)
	queries := tcCountQueries(t, store.DB())
	tcStart(t, store, tcOptions())

	cases := []struct {
		name string
		sql  string // @user is the user's id, @jti the access token's
	}{
		{"user deactivated", `UPDATE users SET is_active = false WHERE id = @user`},
		{"user deleted", `DELETE FROM users WHERE id = @user`},
		{"login revoked", `UPDATE token_families SET revoked_at = now() WHERE user_id = @user`},
		{"login deleted", `DELETE FROM token_families WHERE user_id = @user`},
		{"access token revoked", `UPDATE issued_tokens SET revoked_at = now() WHERE jti = @jti`},
		{"access token expired", `UPDATE issued_tokens SET expires_at = now() - interval '1 second' WHERE jti = @jti`},
		{"access token deleted", `DELETE FROM issued_tokens WHERE jti = @jti`},
		{"every token truncated", `TRUNCATE issued_tokens`},
	}
	for i, tc := range cases {
		u := tcUser(t, store, fmt.Sprintf("sql%d@example.com", i), false)
		access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
		tcWarm(t, store, queries, access, u)
		var args []any
		if strings.Contains(tc.sql, "@") {
			args = append(args, map[string]any{"user": u.ID, "jti": access})
		}
		if err := store.DB().Exec(tc.sql, args...).Error; err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		took := tcWaitFor(t, tc.name+" in SQL seen by the cache", func() bool { return tcRefused(t, store, access, u) })
		t.Logf("%s in SQL: refused after %v", tc.name, took)
	}

	// A change that keeps the token valid reaches the cached user too.
	u := tcUser(t, store, "promoted@example.com", false)
	access, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
	tcWarm(t, store, queries, access, u)
	if err := store.DB().Exec(`UPDATE users SET is_staff = true, name = 'Promoted' WHERE id = ?`, u.ID).Error; err != nil {
		t.Fatal(err)
	}
	tcWaitFor(t, "a promotion in SQL seen by the cache", func() bool {
		got := tcAuth(t, store, access, u)
		return got.IsStaff && got.Name == "Promoted"
	})
}

// What a cached answer does not depend on announces nothing: a login's
// last_login, a refresh's rotation, the expiry job's deletions. Each
// announcement costs every process's cache the user's entries, and these
// happen on every login and refresh.
func TestAuthTriggersQuietForWhatTheCacheDoesNotHold(t *testing.T) {
	t.Parallel()
	tcPostgres(t)
	db, dsn := modelstest.OpenDSN(t)
	store := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	ctx := context.Background()

	var channel string
	if err := db.Raw(`SELECT 'healthcare_auth:' || left(coalesce(current_schema(), ''), 40)`).Scan(&channel).Error; err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	// heard returns the payloads announced since the last call, up to a
	// marker the test sends itself: notifications arrive in commit order,
	// so every earlier one has arrived by then.
	marker := 0
	heard := func() []string {
		t.Helper()
		marker++
		mark := "marker " + strconv.Itoa(marker)
		if err := db.Exec(`SELECT pg_notify(?, ?)`, channel, mark).Error; err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			wctx, cancel := context.WithTimeout(ctx, tcWait)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil {
				t.Fatalf("waiting for %q: %v (heard %q)", mark, err, got)
			}
			if n.Payload == mark {
				return got
			}
			got = append(got, n.Payload)
		}
	}

	u := tcUser(t, store, "quiet@example.com", false)
	access, refresh := tcTokens(t, store, u, time.Now().Add(time.Hour))
	expired, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
	if err := db.Exec(`UPDATE issued_tokens SET expires_at = now() - interval '1 second' WHERE jti = ?`, expired).Error; err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(u.ID, 10)
	if got := heard(); len(got) != 1 || got[0] != want {
		t.Fatalf("an access token's expiry in SQL announced %q, want [%s]", got, want)
	}

	for _, stmt := range []string{
		`UPDATE users SET last_login = now(), updated_at = now() WHERE id = ?`,
		`UPDATE issued_tokens SET used_at = now() WHERE user_id = ? AND jti = '` + refresh + `'`,
		`UPDATE issued_tokens SET revoked_at = now() WHERE user_id = ? AND jti = '` + refresh + `'`,
		`DELETE FROM issued_tokens WHERE user_id = ? AND expires_at < now()`,
	} {
		if err := db.Exec(stmt, u.ID).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		if got := heard(); len(got) != 0 {
			t.Errorf("%s announced %q, want nothing", stmt, got)
		}
	}
	// The expiry job: the expired token, then the login it leaves empty.
	spent, _ := tcTokens(t, store, u, time.Now().Add(time.Hour))
	if err := db.Exec(`UPDATE issued_tokens SET expires_at = now() - interval '1 hour' WHERE family_id = (SELECT family_id FROM issued_tokens WHERE jti = ?)`, spent).Error; err != nil {
		t.Fatal(err)
	}
	heard() // that expiry announced itself (above)
	if err := db.Exec(`UPDATE token_families SET created_at = now() - interval '1 hour' WHERE id = (SELECT family_id FROM issued_tokens WHERE jti = ?)`, spent).Error; err != nil {
		t.Fatal(err)
	}
	if n, err := store.PurgeExpiredTokens(ctx, time.Now().Add(-time.Minute)); err != nil || n < 2 {
		t.Fatalf("PurgeExpiredTokens = %d, %v; want the spent login's two tokens and more", n, err)
	}
	var families int64
	if err := db.Raw(`SELECT count(*) FROM token_families WHERE id = (SELECT family_id FROM issued_tokens WHERE jti = ?)`, access).Scan(&families).Error; err != nil || families != 1 {
		t.Fatalf("the live login: %d families, %v", families, err)
	}
	if got := heard(); len(got) != 0 {
		t.Errorf("the expiry job announced %q, want nothing", got)
	}
	// The access token is still live and cacheable: its revocation speaks.
	if err := db.Exec(`UPDATE issued_tokens SET revoked_at = now() WHERE jti = ?`, access).Error; err != nil {
		t.Fatal(err)
	}
	if got := heard(); len(got) != 1 || got[0] != want {
		t.Fatalf("an access token's revocation in SQL announced %q, want [%s]", got, want)
	}
}

// Later boots find the triggers current and leave them alone; a trigger
// that calls another function (an older version's) is replaced.
func TestAuthTriggersMigrateOnce(t *testing.T) {
	t.Parallel()
	tcPostgres(t)
	db := modelstest.Open(t)
	oid := func() (n int64) {
		t.Helper()
		if err := db.Raw(`SELECT oid FROM pg_trigger WHERE tgname = 'auth_changed_users_update' AND tgrelid = 'users'::regclass`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := oid()
	if first == 0 {
		t.Fatal("no auth_changed_users_update trigger after Migrate")
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if again := oid(); again != first {
		t.Fatalf("a second Migrate recreated the trigger (oid %d, then %d)", first, again)
	}
	if err := db.Exec(`CREATE FUNCTION auth_changed_v0_user() RETURNS trigger AS $$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`DROP TRIGGER auth_changed_users_update ON users`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`CREATE TRIGGER auth_changed_users_update AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION auth_changed_v0_user()`).Error; err != nil {
		t.Fatal(err)
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	var function string
	if err := db.Raw(`SELECT p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
	  WHERE t.tgname = 'auth_changed_users_update' AND t.tgrelid = 'users'::regclass`).Scan(&function).Error; err != nil {
		t.Fatal(err)
	}
	if function != "auth_changed_v1_user" {
		t.Fatalf("after Migrate the trigger calls %s, want auth_changed_v1_user", function)
	}
}

// BenchmarkRefreshRotation measures a refresh's rotation with the token
// cache's triggers and, as the baseline in the same run, with them dropped
// (PostgreSQL only: SQLite has none). A rotation sets used_at and inserts
// two tokens: the triggers' WHEN clauses turn it away, so the difference
// should be within noise.
func BenchmarkRefreshRotation(b *testing.B) {
	if modelstest.Engine() != models.Postgres {
		b.Skip("the triggers are PostgreSQL's")
	}
	for _, triggers := range []bool{false, true} {
		name := "without triggers"
		if triggers {
			name = "with triggers"
		}
		b.Run(name, func(b *testing.B) {
			store := modelstest.Store(b)
			ctx := context.Background()
			if !triggers {
				var names []struct{ Name, Table string }
				if err := store.DB().Raw(`SELECT tgname AS name, tgrelid::regclass::text AS "table" FROM pg_trigger WHERE tgname LIKE 'auth_changed_%'`).Scan(&names).Error; err != nil {
					b.Fatal(err)
				}
				for _, t := range names {
					if err := store.DB().Exec(`DROP TRIGGER ` + t.Name + ` ON ` + t.Table).Error; err != nil {
						b.Fatal(err)
					}
				}
			}
			u, err := store.CreateUser(ctx, models.NewUser{Name: "Bench", Email: "rotate@example.com", Password: tcPassword, IsActive: true})
			if err != nil {
				b.Fatal(err)
			}
			exp := time.Now().Add(time.Hour)
			access, refresh := tcJTI(), tcJTI()
			if _, err := store.StartTokenFamily(ctx, u,
				models.IssuedToken{JTI: access, Type: models.AccessToken, ExpiresAt: exp},
				models.IssuedToken{JTI: refresh, Type: models.RefreshToken, ExpiresAt: exp}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				nextAccess, nextRefresh := tcJTI(), tcJTI()
				if err := store.RotateRefresh(ctx, refresh, u.ID,
					models.IssuedToken{JTI: nextAccess, Type: models.AccessToken, ExpiresAt: exp},
					models.IssuedToken{JTI: nextRefresh, Type: models.RefreshToken, ExpiresAt: exp}); err != nil {
					b.Fatal(err)
				}
				refresh = nextRefresh
			}
		})
	}
}
