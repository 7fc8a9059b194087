package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-contrib/sessions"
	gsessions "github.com/gorilla/sessions"

	"healthcare/models"
)

// cookieName is the admin session cookie. The cookie holds only a random
// token; the session's values live in the sessions table.
const cookieName = "admin_session"

// Session value keys.
const (
	keyUserID = "uid"
	keyCSRF   = "csrf"
	// keyRotate asks Save to move the session to a new token (at login), so
	// a token planted before login is worthless after it.
	keyRotate = "_rotate"
	// keyCycle asks Save to move the session to a new token, keeping its
	// timeouts (after a password change): a copy of the old cookie ends.
	keyCycle = "_cycle"
	// keyAuthHash is sessionAuthHash of the password the session was
	// opened (or last changed) with: Django's session auth hash.
	keyAuthHash = "_auth_hash"
)

// sessionAuthHash ties a session to its user's password as it stands: a
// session whose value differs from the user's current one (the password
// changed since, by any path, in any process, even while the login that
// opened it ran) is not signed in. The stored value is a digest of the
// password hash, which itself never leaves the users table.
func sessionAuthHash(u *models.User) string {
	sum := sha256.Sum256([]byte("healthcare admin session\x00" + u.PasswordHash))
	return hex.EncodeToString(sum[:16])
}

// sessionStore is a gin-contrib/sessions Store backed by the database
// through models.Store: sessions survive restarts, are shared by every
// server process, and are revoked by deleting their row.
type sessionStore struct {
	store   *models.Store
	options sessions.Options
	limits  models.SessionTimeouts
	now     func() time.Time
}

var _ sessions.Store = (*sessionStore)(nil)

func newSessionStore(store *models.Store, opts Options) *sessionStore {
	return &sessionStore{
		store: store,
		options: sessions.Options{
			Path: "/admin/", HttpOnly: true, Secure: opts.SecureCookies, SameSite: http.SameSiteLaxMode,
		},
		limits: models.SessionTimeouts{Idle: opts.SessionIdleTimeout, Absolute: opts.SessionAbsoluteTimeout},
		now:    opts.Now,
	}
}

// Options sets the cookie options of new sessions.
func (s *sessionStore) Options(o sessions.Options) { s.options = o }

// Get returns the request's session, loaded once per request.
func (s *sessionStore) Get(r *http.Request, name string) (*gsessions.Session, error) {
	return gsessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, or starts an empty
// one if there is none or it has expired. An error means the database
// could not be asked.
func (s *sessionStore) New(r *http.Request, name string) (*gsessions.Session, error) {
	sess := gsessions.NewSession(s, name)
	sess.Options = s.options.ToGorillaOptions()
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return sess, nil
	}
	row, err := s.store.Session(r.Context(), c.Value, s.now().UTC(), s.limits.Idle)
	if models.ErrorCode(err) == models.NotFound {
		return sess, nil
	}
	if err != nil {
		return sess, err
	}
	values, err := decodeValues(row.Data)
	if err != nil {
		return sess, nil // unreadable: start afresh
	}
	sess.ID, sess.Values, sess.IsNew = c.Value, values, false
	if h, ok := r.Context().Value(sessionUserKey{}).(*sessionUserHolder); ok {
		h.user = row.User
	}
	return sess, nil
}

// sessionUserKey marks a request context holding a *sessionUserHolder.
type sessionUserKey struct{}

// sessionUserHolder carries the user that New read with the session (in
// the same query) to loadSession, which would otherwise read it again:
// gorilla's Store interface returns only the session.
type sessionUserHolder struct{ user *models.User }

// Save writes the session to the database and its token to the cookie;
// MaxAge < 0 deletes both (logout).
func (s *sessionStore) Save(r *http.Request, w http.ResponseWriter, sess *gsessions.Session) error {
	ctx := r.Context()
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, gsessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	if cycle, _ := sess.Values[keyCycle].(bool); cycle && !sess.IsNew {
		delete(sess.Values, keyCycle)
		next := models.NewSessionToken()
		if err := s.store.CycleSession(ctx, sess.ID, next); err != nil {
			return err
		}
		sess.ID = next
	}
	if rotate, _ := sess.Values[keyRotate].(bool); rotate {
		delete(sess.Values, keyRotate)
		if sess.ID != "" {
			if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
				return err
			}
		}
		sess.ID, sess.IsNew = "", true
	}
	data, err := encodeValues(sess.Values)
	if err != nil {
		return err
	}
	var uid *int64
	if id := int64Value(sess.Values[keyUserID]); id > 0 {
		uid = &id
	}
	if sess.IsNew {
		if sess.ID == "" {
			sess.ID = models.NewSessionToken()
		}
		if err := s.store.SaveSession(ctx, sess.ID, uid, data, s.now().UTC(), s.limits); err != nil {
			return err
		}
		sess.IsNew = false // created: a second Save in this request updates it
	} else {
		// A session read from the cookie is only ever updated: if its row
		// went while this request ran (logout, a password change, a
		// deactivation), creating it again would bring the token back to
		// life, with a new absolute timeout. It ends instead.
		err := s.store.UpdateSession(ctx, sess.ID, uid, data, s.now().UTC())
		if models.ErrorCode(err) == models.NotFound {
			sess.Options.MaxAge = -1
			return s.Save(r, w, sess)
		}
		if err != nil {
			return err
		}
	}
	// No Max-Age: the cookie ends with the browser; the server enforces
	// the idle and absolute timeouts.
	http.SetCookie(w, gsessions.NewCookie(sess.Name(), sess.ID, sess.Options))
	return nil
}

// encodeValues stores session values as JSON with string keys.
func encodeValues(values map[any]any) (string, error) {
	m := make(map[string]any, len(values))
	for k, v := range values {
		ks, ok := k.(string)
		if !ok {
			return "", fmt.Errorf("admin: session key %v is not a string", k)
		}
		m[ks] = v
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("admin: encode session: %w", err)
	}
	return string(raw), nil
}

func decodeValues(data string) (map[any]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return nil, err
	}
	out := make(map[any]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out, nil
}

// int64Value reads a number stored in a session (JSON gives float64).
func int64Value(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

// sessionOptionsDelete are the options that make Save delete the session.
func sessionOptionsDelete(s *sessionStore) sessions.Options {
	o := s.options
	o.MaxAge = -1
	return o
}
