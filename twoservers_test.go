package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// secProcess is one server process of a pair: its own pool, store and
// router (and so its own rate limiters) over a shared database.
type secProcess struct {
	name   string
	store  *models.Store
	router *gin.Engine
}

// secTwoProcesses builds two server processes over one fresh database.
func secTwoProcesses(t *testing.T) (a, b *secProcess) {
	t.Helper()
	dbA, dsn := modelstest.OpenDSN(t)
	dbB, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("second pool: %v", err)
	}
	t.Cleanup(func() { _ = models.Close(dbB) })
	mk := func(name string, store *models.Store) *secProcess {
		// Each process caches verified access tokens as serve does (a no-op
		// on SQLite), so revocations must reach the other's cache.
		stop, err := store.StartTokenCache(context.Background(), models.DefaultTokenCacheOptions())
		if err != nil {
			t.Fatalf("process %s: StartTokenCache: %v", name, err)
		}
		t.Cleanup(stop)
		if modelstest.Engine() == models.Postgres {
			for deadline := time.Now().Add(secRevocationWait); !store.TokenCacheLive(); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("process %s: token cache not live within %v", name, secRevocationWait)
				}
			}
		}
		return &secProcess{name: name, store: store, router: secRouter(t, store, nil, nil)}
	}
	return mk("A", models.NewStore(dbA, models.NewHasher(modelstest.CheapHash, 1))),
		mk("B", models.NewStore(dbB, models.NewHasher(modelstest.CheapHash, 1)))
}

// secRevocationWait bounds how long a process may take to refuse an access
// token that the other revoked. A process that cached the token drops it
// when its listener hears the revocation's notification: a millisecond or
// so, but the machine is shared and the tests run with -race.
const secRevocationWait = 5 * time.Second

// refuses waits until the process refuses access token with 401, for at
// most secRevocationWait.
func (p *secProcess) refuses(t *testing.T, token, what string) {
	t.Helper()
	start := time.Now()
	for tries := 1; ; tries++ {
		w := p.do("GET", "/api/auth/me/", token, "")
		if w.Code == http.StatusUnauthorized {
			if tries > 1 {
				t.Logf("process %s: %s: refused after %v (%d requests)", p.name, what, time.Since(start), tries)
			}
			return
		}
		if w.Code != http.StatusOK || time.Since(start) > secRevocationWait {
			t.Errorf("process %s: %s: status = %d, want 401 within %v; body %s", p.name, what, w.Code, secRevocationWait, w.Body)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// do sends a JSON request to the process, with ua as User-Agent.
func (p *secProcess) do(method, path, token, body string) *httptest.ResponseRecorder {
	h := map[string]string{"User-Agent": "sec-process-" + p.name}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return secServe(p.router, method, path, body, h)
}

// secTokens are a login's tokens.
type secTokens struct{ Access, Refresh string }

func (p *secProcess) login(t *testing.T, email string) secTokens {
	t.Helper()
	w := p.do("POST", "/api/auth/login/", "", `{"email":"`+email+`","password":"`+testPassword+`"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("%s: login: %d %s", p.name, w.Code, w.Body)
	}
	var tk secTokens
	if err := json.Unmarshal(w.Body.Bytes(), &tk); err != nil {
		t.Fatal(err)
	}
	return tk
}

func (p *secProcess) want(t *testing.T, w *httptest.ResponseRecorder, what string, status int) {
	t.Helper()
	if w.Code != status {
		t.Errorf("process %s: %s: status = %d, want %d; body %s", p.name, what, w.Code, status, w.Body)
	}
}

// Two server processes over one database behave as one: a token revoked
// through either is refused by both, refresh-token reuse seen by one
// revokes the family for both, and both write one audit trail.
func TestSecTwoProcessesShareRevocationAndAudit(t *testing.T) {
	t.Parallel()
	a, b := secTwoProcesses(t)
	const email = "twice@example.com"
	u, err := a.store.CreateUser(context.Background(), models.NewUser{Name: "Twice", Email: email, Password: testPassword, IsActive: true})
	if err != nil {
		t.Fatal(err)
	}

	// Logout through A; B refuses both tokens.
	tk := a.login(t, email)
	b.want(t, b.do("GET", "/api/auth/me/", tk.Access, ""), "a token A issued", http.StatusOK)
	a.want(t, a.do("POST", "/api/auth/logout/", tk.Access, `{"refresh":"`+tk.Refresh+`"}`), "logout", http.StatusNoContent)
	b.refuses(t, tk.Access, "access token after logout through A")
	b.want(t, b.do("POST", "/api/auth/token/refresh/", "", `{"refresh":"`+tk.Refresh+`"}`), "refresh token after logout through A", http.StatusUnauthorized)

	// Rotation through A, reuse of the spent token through B: the whole
	// family is revoked, for A too.
	tk = b.login(t, email)
	w := a.do("POST", "/api/auth/token/refresh/", "", `{"refresh":"`+tk.Refresh+`"}`)
	a.want(t, w, "refresh", http.StatusOK)
	var next secTokens
	_ = json.Unmarshal(w.Body.Bytes(), &next)
	a.want(t, a.do("GET", "/api/auth/me/", next.Access, ""), "the new access token", http.StatusOK)
	b.want(t, b.do("POST", "/api/auth/token/refresh/", "", `{"refresh":"`+tk.Refresh+`"}`), "reused refresh token", http.StatusUnauthorized)
	a.refuses(t, next.Access, "access token of a family revoked through B")
	a.want(t, a.do("POST", "/api/auth/token/refresh/", "", `{"refresh":"`+next.Refresh+`"}`), "refresh token of a revoked family", http.StatusUnauthorized)

	// Logout everywhere through B ends A's sessions.
	tk1, tk2 := a.login(t, email), a.login(t, email)
	a.want(t, a.do("GET", "/api/auth/me/", tk1.Access, ""), "a login's token", http.StatusOK)
	b.want(t, b.do("POST", "/api/auth/logout/all/", tk2.Access, ""), "logout all", http.StatusNoContent)
	a.refuses(t, tk1.Access, "another login's token after logout-all through B")

	// One audit trail: both processes' views of one record, seen from each.
	tk = a.login(t, email)
	w = a.do("POST", "/api/patients/", tk.Access, `{"name":"Shared"}`)
	a.want(t, w, "create", http.StatusCreated)
	var p struct{ ID int64 }
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	path := "/api/patients/" + jsonNumber(float64(p.ID)) + "/"
	a.want(t, a.do("GET", path, tk.Access, ""), "view", http.StatusOK)
	b.want(t, b.do("GET", path, tk.Access, ""), "view", http.StatusOK)
	for _, proc := range []*secProcess{a, b} {
		evs := secAuditEvents(t, proc.store, models.AuditFilter{Action: models.ActionView, ObjectType: models.ObjectPatient, ObjectID: p.ID})
		var agents []string
		for _, ev := range evs {
			if ev.UserID == nil || *ev.UserID != u.ID {
				t.Errorf("view event %d: user %v, want %d", ev.ID, ev.UserID, u.ID)
			}
			agents = append(agents, ev.UserAgent)
		}
		if len(agents) != 2 || agents[0] != "sec-process-A" || agents[1] != "sec-process-B" {
			t.Errorf("views seen from %s: user agents %v, want [sec-process-A sec-process-B]", proc.name, agents)
		}
	}
}

// secRefreshRace sends n concurrent refreshes of one token, alternating
// between the processes, and returns the statuses and bodies.
func secRefreshRace(procs []*secProcess, refresh string, n int) []*httptest.ResponseRecorder {
	out := make([]*httptest.ResponseRecorder, n)
	modelstest.AtOnce(n, func(i int) {
		out[i] = procs[i%len(procs)].do("POST", "/api/auth/token/refresh/", "", `{"refresh":"`+refresh+`"}`)
	})
	return out
}

// Concurrent refreshes of one refresh token against PostgreSQL, through two
// processes with their own pools: exactly one succeeds, the others are
// token_not_valid, and the reuse revokes the family, including the tokens
// the winner just got.
func TestSecRefreshRacePostgres(t *testing.T) {
	t.Parallel()
	if modelstest.Engine() != models.Postgres {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	a, b := secTwoProcesses(t)
	const email = "racer@example.com"
	if _, err := a.store.CreateUser(context.Background(), models.NewUser{Name: "Racer", Email: email, Password: testPassword, IsActive: true}); err != nil {
		t.Fatal(err)
	}
	const rounds, n = 5, 12
	for round := range rounds {
		tk := a.login(t, email)
		results := secRefreshRace([]*secProcess{a, b}, tk.Refresh, n)
		var winners []secTokens
		for i, w := range results {
			switch w.Code {
			case http.StatusOK:
				var next secTokens
				if err := json.Unmarshal(w.Body.Bytes(), &next); err != nil || next.Access == "" || next.Refresh == "" {
					t.Errorf("round %d: refresh %d: 200 without tokens: %s", round, i, w.Body)
				}
				winners = append(winners, next)
			case http.StatusUnauthorized:
				var body map[string]any
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if body["code"] != "token_not_valid" {
					t.Errorf("round %d: refresh %d: 401 body %s, want code token_not_valid", round, i, w.Body)
				}
			default:
				t.Errorf("round %d: refresh %d: status %d %s, want 200 or 401", round, i, w.Code, w.Body)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d of %d concurrent refreshes succeeded, want exactly 1", round, len(winners), n)
		}
		win := winners[0]
		for _, p := range []*secProcess{a, b} {
			p.want(t, p.do("GET", "/api/auth/me/", win.Access, ""), "winner's access token after reuse", http.StatusUnauthorized)
			p.want(t, p.do("GET", "/api/auth/me/", tk.Access, ""), "original access token after reuse", http.StatusUnauthorized)
		}
		a.want(t, a.do("POST", "/api/auth/token/refresh/", "", `{"refresh":"`+win.Refresh+`"}`), "winner's refresh token after reuse", http.StatusUnauthorized)
	}
	// The audit trail agrees: one successful refresh per round.
	ok := secAuditEvents(t, a.store, models.AuditFilter{Action: models.ActionTokenRefresh})
	var success int
	for _, ev := range ok {
		if ev.Outcome == models.OutcomeSuccess {
			success++
		}
	}
	if success != rounds {
		t.Errorf("%d successful token_refresh events, want %d", success, rounds)
	}
}
