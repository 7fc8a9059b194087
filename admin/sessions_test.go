package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	gsessions "github.com/gorilla/sessions"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// sessionRig is a session store over a fresh database, with a settable
// clock.
type sessionRig struct {
	t     *testing.T
	store *sessionStore
	db    *models.Store
	now   time.Time
}

func newSessionRig(t *testing.T) *sessionRig {
	rig := &sessionRig{t: t, db: modelstest.Store(t), now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	opts := DefaultOptions()
	opts.Now = func() time.Time { return rig.now }
	rig.store = newSessionStore(rig.db, opts)
	return rig
}

// load starts a request carrying cookie (if any) and returns its session.
func (rig *sessionRig) load(cookie string) (*gsessions.Session, *http.Request) {
	rig.t.Helper()
	r := httptest.NewRequest("GET", "/admin/", nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	}
	s, err := rig.store.Get(r, cookieName)
	if err != nil {
		rig.t.Fatalf("load session: %v", err)
	}
	return s, r
}

// save saves s and returns the cookie the browser gets.
func (rig *sessionRig) save(s *gsessions.Session, r *http.Request) *http.Cookie {
	rig.t.Helper()
	w := httptest.NewRecorder()
	if err := rig.store.Save(r, w, s); err != nil {
		rig.t.Fatalf("save session: %v", err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	rig.t.Fatal("no session cookie set")
	return nil
}

func TestSessionStoreRoundTripAndRotation(t *testing.T) {
	t.Parallel()
	rig := newSessionRig(t)
	s, r := rig.load("")
	if !s.IsNew {
		t.Fatal("a request without a cookie has an old session")
	}
	s.Values[keyCSRF] = "token"
	s.AddFlash("success|saved")
	c := rig.save(s, r)
	if !c.HttpOnly || c.Path != "/admin/" || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 0 {
		t.Fatalf("cookie = %+v", c)
	}
	// The next request finds the values again (another process would too:
	// they are in the database).
	s2, r2 := rig.load(c.Value)
	if s2.IsNew || s2.Values[keyCSRF] != "token" {
		t.Fatalf("reloaded session = %+v", s2.Values)
	}
	if fl := s2.Flashes(); len(fl) != 1 || fl[0] != "success|saved" {
		t.Fatalf("flashes = %v", fl)
	}
	// Login rotates the token: the old one is dead.
	s2.Values[keyUserID] = int64(42)
	s2.Values[keyRotate] = true
	if _, err := rig.db.CreateUser(t.Context(), models.NewUser{Name: "A", Email: "a@clinic.example", Password: "correct-Horse-battery-9", IsActive: true}); err != nil {
		t.Fatal(err)
	}
	s2.Values[keyUserID] = int64(1)
	c2 := rig.save(s2, r2)
	if c2.Value == c.Value {
		t.Fatal("token not rotated")
	}
	if old, _ := rig.load(c.Value); !old.IsNew {
		t.Fatal("the pre-rotation token still works")
	}
	s3, r3 := rig.load(c2.Value)
	if int64Value(s3.Values[keyUserID]) != 1 || s3.Values[keyRotate] != nil {
		t.Fatalf("after rotation: %+v", s3.Values)
	}
	// MaxAge < 0 deletes the row and the cookie (logout).
	s3.Options.MaxAge = -1
	if c3 := rig.save(s3, r3); c3.MaxAge >= 0 {
		t.Fatalf("logout cookie = %+v", c3)
	}
	if gone, _ := rig.load(c2.Value); !gone.IsNew {
		t.Fatal("the session survived logout")
	}
}

// A request that read its session before the session was revoked
// (logout elsewhere, a password change, a deactivation) cannot bring it
// back when it saves at its end: the cookie is cleared and no row is made,
// and two saves in one request of a new session still make one session.
func TestSessionStoreNeverRevivesARevokedSession(t *testing.T) {
	t.Parallel()
	rig := newSessionRig(t)
	s, r := rig.load("")
	s.Values[keyCSRF] = "token"
	first := rig.save(s, r)
	s.Values[keyCSRF] = "token2"
	if again := rig.save(s, r); again.Value != first.Value {
		t.Fatalf("a second save of a new session moved it to another token")
	}

	inFlight, r2 := rig.load(first.Value)
	if inFlight.IsNew {
		t.Fatal("the session was not loaded from its cookie")
	}
	if err := rig.db.DeleteSession(t.Context(), first.Value); err != nil { // revoked meanwhile
		t.Fatal(err)
	}
	inFlight.AddFlash("success|done")
	rig.now = rig.now.Add(time.Minute)
	if c := rig.save(inFlight, r2); c.Value != "" || c.MaxAge >= 0 {
		t.Fatalf("saving a revoked session set cookie %+v, want it cleared", c)
	}
	if _, err := rig.db.Session(t.Context(), first.Value, rig.now, time.Hour); models.ErrorCode(err) != models.NotFound {
		t.Fatalf("the revoked session's row is back: %v", err)
	}
	if again, _ := rig.load(first.Value); !again.IsNew {
		t.Fatal("the revoked token works again")
	}
}

func TestSessionStoreTimeouts(t *testing.T) {
	t.Parallel()
	rig := newSessionRig(t)
	s, r := rig.load("")
	s.Values[keyCSRF] = "x"
	c := rig.save(s, r)

	rig.now = rig.now.Add(29 * time.Minute)
	if s, _ := rig.load(c.Value); s.IsNew {
		t.Fatal("expired before the idle timeout")
	}
	rig.now = rig.now.Add(30 * time.Minute) // 30 minutes after the last use
	if s, _ := rig.load(c.Value); !s.IsNew {
		t.Fatal("alive after the idle timeout")
	}

	s, r = rig.load("")
	s.Values[keyCSRF] = "y"
	c = rig.save(s, r)
	for range 12 * 4 { // every 15 minutes for 12 hours
		rig.now = rig.now.Add(15 * time.Minute)
		rig.load(c.Value)
	}
	if s, _ := rig.load(c.Value); !s.IsNew {
		t.Fatal("alive after the absolute timeout")
	}
	// Expired rows are deleted when read or purged: none is left.
	if _, err := rig.db.PurgeExpiredSessions(t.Context(), rig.now, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	var left int64
	if err := rig.db.DB().Model(&models.Session{}).Count(&left).Error; err != nil || left != 0 {
		t.Fatalf("%d sessions left after the timeouts (%v)", left, err)
	}
}

func TestSessionValuesEncoding(t *testing.T) {
	t.Parallel()
	raw, err := encodeValues(map[any]any{keyUserID: int64(7), "_flash": []any{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeValues(raw)
	if err != nil || int64Value(back[keyUserID]) != 7 {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if _, err := encodeValues(map[any]any{1: "x"}); err == nil {
		t.Fatal("a non-string key was encoded")
	}
}
