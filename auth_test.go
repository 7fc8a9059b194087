package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"healthcare/config"
	"healthcare/handlers"
	"healthcare/models"
	"healthcare/models/modelstest"
)

// Messages of the contract (DRF and simplejwt wording).
const (
	authMsgBadCredentials = "No active account found with the given credentials"
	authMsgNoCredentials  = "Authentication credentials were not provided."
	authMsgTwoValues      = "Authorization header must contain two space-delimited values"
	authMsgRequired       = "This field is required."
	authMsgBlank          = "This field may not be blank."
	authMsgNull           = "This field may not be null."
	authMsgNotString      = "Not a valid string."
	authMsgEmail          = "Enter a valid email address."
	authMsgDuplicate      = "user with this email already exists."
	authMsgPwShort        = "This password is too short. It must contain at least 8 characters."
	authMsgPwCommon       = "This password is too common."
	authMsgPwNumeric      = "This password is entirely numeric."
	authMsgPwLong         = "Ensure this field has no more than 128 characters."
	authMsgPwLikeEmail    = "The password is too similar to the email address."
	authMsgPwLikeName     = "The password is too similar to the name."
	authWWWAuthenticate   = `Bearer realm="api"`
)

// authStrongPassword passes every password rule for the users of this file.
const authStrongPassword = "Zx9#kLm2$pQ-violet"

// authNoLimits turns off the per-address limits, so a table of many
// requests from the one test address is never throttled.
func authNoLimits(o *handlers.Options) {
	o.LoginPerIP, o.RegisterPerIP, o.RefreshPerIP = handlers.Limit{}, handlers.Limit{}, handlers.Limit{}
}

// authWantBody fails unless the body is, as JSON, exactly want.
func authWantBody(t *testing.T, r *response, want any) {
	t.Helper()
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("marshal want: %v", err)
	}
	var w, got any
	_ = json.Unmarshal(raw, &w)
	if err := json.Unmarshal(r.Body.Bytes(), &got); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v; body: %s", r.req.method, r.req.path, err, r.Body.String())
	}
	if !reflect.DeepEqual(got, w) {
		t.Fatalf("%s %s: body = %s, want %s", r.req.method, r.req.path, r.Body.String(), raw)
	}
}

// authWant401 fails unless r is a 401 with the contract's header and body:
// detail (when not empty) and "code": "token_not_valid" exactly when
// tokenInvalid.
func authWant401(t *testing.T, r *response, detail string, tokenInvalid bool) {
	t.Helper()
	code := ""
	if tokenInvalid {
		code = "token_not_valid"
	}
	authWant401Code(t, r, detail, code)
}

// authWant401Code is authWant401 for a 401 whose "code" must be code (""
// for none).
func authWant401Code(t *testing.T, r *response, detail, code string) {
	t.Helper()
	r.want(t, http.StatusUnauthorized)
	if got := r.Header().Get("WWW-Authenticate"); got != authWWWAuthenticate {
		t.Errorf("%s %s: WWW-Authenticate = %q, want %q", r.req.method, r.req.path, got, authWWWAuthenticate)
	}
	body := r.json(t)
	d, ok := body["detail"].(string)
	if !ok || d == "" {
		t.Errorf("%s %s: detail = %v, want a message; body: %s", r.req.method, r.req.path, body["detail"], r.Body.String())
	}
	if detail != "" && d != detail {
		t.Errorf("%s %s: detail = %q, want %q", r.req.method, r.req.path, d, detail)
	}
	got, hasCode := body["code"]
	switch {
	case code != "" && got != code:
		t.Errorf("%s %s: code = %v, want %q; body: %s", r.req.method, r.req.path, got, code, r.Body.String())
	case code == "" && hasCode:
		t.Errorf("%s %s: code = %v, want none; body: %s", r.req.method, r.req.path, got, r.Body.String())
	}
	for k := range body {
		if k != "detail" && k != "code" {
			t.Errorf("%s %s: unexpected field %q in 401 body: %s", r.req.method, r.req.path, k, r.Body.String())
		}
	}
}

// authWant429 fails unless r is the contract's 429 with Retry-After equal
// to the seconds in the body, and (when seconds > 0) equal to seconds.
func authWant429(t *testing.T, r *response, seconds int) {
	t.Helper()
	r.want(t, http.StatusTooManyRequests)
	ra := r.Header().Get("Retry-After")
	n, err := strconv.Atoi(ra)
	if err != nil || n < 1 {
		t.Fatalf("%s %s: Retry-After = %q, want a positive number of seconds", r.req.method, r.req.path, ra)
	}
	if seconds > 0 && n != seconds {
		t.Errorf("%s %s: Retry-After = %d, want %d", r.req.method, r.req.path, n, seconds)
	}
	authWantBody(t, r, map[string]string{"detail": fmt.Sprintf("Request was throttled. Expected available in %d seconds.", n)})
}

// authMe sends GET /api/auth/me/ with token.
func authMe(app *testApp, token string) *response {
	app.t.Helper()
	return app.do(request{method: "GET", path: "/api/auth/me/", token: token})
}

// authRefresh sends POST /api/auth/token/refresh/ with refresh.
func authRefresh(app *testApp, refresh string) *response {
	app.t.Helper()
	return app.do(request{method: "POST", path: "/api/auth/token/refresh/", body: map[string]string{"refresh": refresh}})
}

// authLogin sends POST /api/auth/login/.
func authLogin(app *testApp, email, password string) *response {
	app.t.Helper()
	return app.do(request{method: "POST", path: "/api/auth/login/", body: map[string]string{"email": email, "password": password}})
}

// authTokens decodes a {"access", "refresh"} body.
func authTokens(t *testing.T, r *response) (access, refresh string) {
	t.Helper()
	var p struct{ Access, Refresh string }
	r.decode(t, &p)
	if p.Access == "" || p.Refresh == "" {
		t.Fatalf("%s %s: tokens = %s, want access and refresh", r.req.method, r.req.path, r.Body.String())
	}
	return p.Access, p.Refresh
}

// authSession logs u in once more and returns that session's tokens.
func authSession(t *testing.T, app *testApp, u *testUser) (access, refresh string) {
	t.Helper()
	return authTokens(t, authLogin(app, u.Email, u.Password).want(t, http.StatusOK))
}

// authDoFrom is app.do from the client address remote (host:port).
func authDoFrom(t *testing.T, app *testApp, remote string, req request) *response {
	t.Helper()
	var body io.Reader
	if req.body != nil {
		raw, err := json.Marshal(req.body)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		body = strings.NewReader(string(raw))
	}
	r := httptest.NewRequest(req.method, req.path, body)
	r.RemoteAddr = remote
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	app.router.ServeHTTP(w, r)
	return &response{ResponseRecorder: w, req: req}
}

// authRouter returns app with a second production router over the same
// store (another server process), its configuration adjusted by cfgEdit.
func authRouter(t *testing.T, app *testApp, cfgEdit func(*config.Config), edit ...func(*handlers.Options)) *testApp {
	t.Helper()
	cfg := testConfig()
	if cfgEdit != nil {
		cfgEdit(&cfg)
	}
	opts := apiOptions(cfg)
	opts.Now = app.clock.Now
	for _, e := range edit {
		e(&opts)
	}
	router, err := newRouter(routerDeps{cfg: cfg, store: app.store, api: &opts,
		log: slog.New(slog.NewTextHandler(app.logs, nil))})
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	other := *app
	other.router = router
	return &other
}

// authJWTPart decodes one base64url part of a JWT, numbers as json.Number.
func authJWTPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", token, len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("token part %d is not base64url: %v", i, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("token part %d is not a JSON object: %v; %s", i, err, raw)
	}
	return m
}

// authClaims returns a copy of token's claims.
func authClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	return authJWTPart(t, token, 1)
}

// authWith returns claims with the changes applied (a nil value deletes).
func authWith(claims map[string]any, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range claims {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// authForge signs claims with method and key.
func authForge(t *testing.T, method jwt.SigningMethod, key any, claims map[string]any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, jwt.MapClaims(claims)).SignedString(key)
	if err != nil {
		t.Fatalf("forge token: %v", err)
	}
	return s
}

// authForgeRaw builds a token from a literal header, signed with
// HMAC-SHA256 under key whatever the header says (algorithm confusion).
func authForgeRaw(t *testing.T, header string, claims map[string]any, key []byte) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("marshal claims: %v", err)
	}
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// authNewJTI returns a jti the server never issued.
func authNewJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// authAdvanceToExp moves the test clock to offset past token's exp claim
// (NumericDates are whole seconds, so "5 min after login" is not exact).
func authAdvanceToExp(t *testing.T, app *testApp, token string, offset time.Duration) {
	t.Helper()
	n, ok := authClaims(t, token)["exp"].(json.Number)
	exp, err := n.Int64()
	if !ok || err != nil {
		t.Fatalf("token has no integer exp")
	}
	app.clock.Advance(0)
	app.clock.Advance(time.Unix(exp, 0).Add(offset).Sub(app.clock.Now()))
}

// authSetActive sets a user's is_active flag in the database.
func authSetActive(t *testing.T, app *testApp, id int64, active bool) {
	t.Helper()
	if err := app.store.DB().Model(&models.User{}).Where("id = ?", id).Update("is_active", active).Error; err != nil {
		t.Fatalf("set is_active: %v", err)
	}
}

// authRegister registers through the API and returns the created user.
func authRegister(t *testing.T, app *testApp, name, email, password string) map[string]any {
	t.Helper()
	return app.do(request{method: "POST", path: "/api/auth/register/",
		body: map[string]any{"name": name, "email": email, "password": password}}).want(t, http.StatusCreated).json(t)
}

func TestAuthRegisterValidation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits)
	authRegister(t, app, "Taken", "taken@example.com", authStrongPassword)

	ok := func(name, email, password string) map[string]any {
		return map[string]any{"name": name, "email": email, "password": password}
	}
	errs := func(field string, msgs ...string) map[string][]string { return map[string][]string{field: msgs} }
	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantBody   any // nil: not checked
	}{
		{"valid registration is 201", ok("Ada Lovelace", "ada@example.com", authStrongPassword), http.StatusCreated, nil},
		{"password with NUL is 400", ok("Nul Byte", "nul@example.com", "Corr3ct\x00Horse-Battery"),
			http.StatusBadRequest, errs("password", "Null characters are not allowed.")},
		{"duplicate email in another case is 400", ok("Someone", "TAKEN@Example.COM", authStrongPassword),
			http.StatusBadRequest, errs("email", authMsgDuplicate)},
		{"duplicate email with surrounding spaces is 400", ok("Someone", "  taken@example.com ", authStrongPassword),
			http.StatusBadRequest, errs("email", authMsgDuplicate)},
		{"duplicate email is reported with the other errors", ok("", "Taken@example.com", authStrongPassword),
			http.StatusBadRequest, map[string][]string{"name": {authMsgBlank}, "email": {authMsgDuplicate}}},
		{"duplicate email is reported with a type error", map[string]any{"name": 5, "email": "taken@example.com", "password": authStrongPassword},
			http.StatusBadRequest, map[string][]string{"name": {authMsgNotString}, "email": {authMsgDuplicate}}},
		{"empty object lists every required field", map[string]any{}, http.StatusBadRequest,
			map[string][]string{"name": {authMsgRequired}, "email": {authMsgRequired}, "password": {authMsgRequired}}},
		{"missing name is required", map[string]any{"email": "n1@example.com", "password": authStrongPassword},
			http.StatusBadRequest, errs("name", authMsgRequired)},
		{"blank name after trimming", ok("   ", "n2@example.com", authStrongPassword), http.StatusBadRequest, errs("name", authMsgBlank)},
		{"name of 150 characters (multi-byte) is accepted", ok(strings.Repeat("é", 150), "n3@example.com", authStrongPassword),
			http.StatusCreated, nil},
		{"name of 151 characters", ok(strings.Repeat("é", 151), "n4@example.com", authStrongPassword),
			http.StatusBadRequest, errs("name", "Ensure this field has no more than 150 characters.")},
		{"name of the wrong JSON type is not coerced", map[string]any{"name": 123, "email": "n5@example.com", "password": authStrongPassword},
			http.StatusBadRequest, errs("name", authMsgNotString)},
		{"name null", map[string]any{"name": nil, "email": "n6@example.com", "password": authStrongPassword},
			http.StatusBadRequest, errs("name", authMsgNull)},
		{"email of the wrong JSON type", map[string]any{"name": "N", "email": true, "password": authStrongPassword},
			http.StatusBadRequest, errs("email", authMsgNotString)},
		{"password of the wrong JSON type", map[string]any{"name": "N", "email": "n7@example.com", "password": 83749261.0},
			http.StatusBadRequest, errs("password", authMsgNotString)},
		{"email without @", ok("N", "not-an-email", authStrongPassword), http.StatusBadRequest, errs("email", authMsgEmail)},
		{"email without a dotted domain", ok("N", "n@localhost", authStrongPassword), http.StatusBadRequest, errs("email", authMsgEmail)},
		{"email with a one-letter top-level domain", ok("N", "n@example.c", authStrongPassword), http.StatusBadRequest, errs("email", authMsgEmail)},
		{"email with a space inside", ok("N", "n m@example.com", authStrongPassword), http.StatusBadRequest, errs("email", authMsgEmail)},
		{"blank email", ok("N", "  ", authStrongPassword), http.StatusBadRequest, errs("email", authMsgBlank)},
		{"email over 254 characters", ok("N", strings.Repeat("a", 60)+"@"+strings.Repeat("b", 190)+".example.com", authStrongPassword),
			http.StatusBadRequest, errs("email", "Ensure this field has no more than 254 characters.")},
		{"password too short", ok("Ada Lovelace", "p1@example.com", "xQ7#vb"), http.StatusBadRequest, errs("password", authMsgPwShort)},
		{"password entirely numeric", ok("Ada Lovelace", "p2@example.com", "83749261"), http.StatusBadRequest, errs("password", authMsgPwNumeric)},
		{"password too common", ok("Ada Lovelace", "p3@example.com", "password123"), http.StatusBadRequest, errs("password", authMsgPwCommon)},
		{"password too common in any case", ok("Ada Lovelace", "p4@example.com", "SunShine"), http.StatusBadRequest, errs("password", authMsgPwCommon)},
		{"password too similar to the email", ok("Grace", "margaret.hamilton@example.com", "hamilton1942"),
			http.StatusBadRequest, errs("password", authMsgPwLikeEmail)},
		{"password too similar to the name", ok("Bartholomew Quince", "bq@example.com", "bartholomewq"),
			http.StatusBadRequest, errs("password", authMsgPwLikeName)},
		{"password over 128 characters", ok("Ada Lovelace", "p5@example.com", strings.Repeat("Zx9#kLm2$pQ", 12)[:129]),
			http.StatusBadRequest, errs("password", authMsgPwLong)},
		{"password of 128 multi-byte characters is accepted", ok("Ada Lovelace", "p6@example.com", strings.Repeat("é", 128)),
			http.StatusCreated, nil},
		{"every failing password rule is listed, in Django's order", ok("Ada Lovelace", "p7@example.com", "1234567"),
			http.StatusBadRequest, errs("password", authMsgPwShort, authMsgPwCommon, authMsgPwNumeric)},
		{"empty password", ok("Ada Lovelace", "p8@example.com", ""), http.StatusBadRequest, errs("password", authMsgBlank)},
		{"errors of several fields at once", map[string]any{"name": 7, "email": "bad", "password": "short"},
			http.StatusBadRequest, map[string][]string{"name": {authMsgNotString}, "email": {authMsgEmail}, "password": {authMsgPwShort}}},
		{"body that is a list", []any{1}, http.StatusBadRequest,
			errs("non_field_errors", "Invalid data. Expected a dictionary, but got list.")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := app.do(request{method: "POST", path: "/api/auth/register/", body: tc.body}).want(t, tc.wantStatus)
			if tc.wantBody != nil {
				authWantBody(t, r, tc.wantBody)
			}
		})
	}
	t.Run("malformed JSON is a parse error", func(t *testing.T) {
		r := app.do(request{method: "POST", path: "/api/auth/register/", body: `{"name": "x",`}).want(t, http.StatusBadRequest)
		if d, _ := r.json(t)["detail"].(string); !strings.HasPrefix(d, "JSON parse error - ") {
			t.Fatalf("POST /api/auth/register/: detail = %q, want a JSON parse error", d)
		}
	})
}

func TestAuthRegisterResponse(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits)
	password := "  " + authStrongPassword + " " // kept as is: passwords are never trimmed
	before := time.Now().UTC().Add(-time.Second)
	r := app.do(request{method: "POST", path: "/api/auth/register", body: map[string]any{
		"name": "  Ada Lovelace\t", "email": "  Ada.Lovelace@Example.COM ", "password": password,
		// Read-only and unknown fields are ignored.
		"id": 999, "is_staff": true, "is_superuser": true, "is_active": false,
		"date_joined": "2000-01-01T00:00:00Z", "password_hash": "x", "favourite_colour": "blue",
	}}).want(t, http.StatusCreated)
	after := time.Now().UTC().Add(time.Second)
	body := r.json(t)

	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"date_joined", "email", "id", "is_staff", "name"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("POST /api/auth/register: fields = %v, want exactly %v (never a password or hash); body: %s", keys, want, r.Body.String())
	}
	if body["name"] != "Ada Lovelace" {
		t.Errorf("name = %q, want it trimmed to %q", body["name"], "Ada Lovelace")
	}
	if body["email"] != "ada.lovelace@example.com" {
		t.Errorf("email = %q, want it trimmed and lower-cased", body["email"])
	}
	if body["is_staff"] != false {
		t.Errorf("is_staff = %v, want false (is_staff in the body is ignored)", body["is_staff"])
	}
	uid := id(t, body, "id")
	if uid < 1 || uid == 999 {
		t.Errorf("id = %d, want a new positive id (a client's id is ignored)", uid)
	}
	joined, _ := body["date_joined"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`).MatchString(joined) {
		t.Errorf("date_joined = %q, want RFC 3339 UTC ending in Z", joined)
	}
	if ts, err := time.Parse(time.RFC3339Nano, joined); err != nil || ts.Before(before) || ts.After(after) {
		t.Errorf("date_joined = %q, want the time of the request (between %s and %s)", joined, before, after)
	}
	if strings.Contains(r.Body.String(), authStrongPassword) {
		t.Errorf("the response contains the password: %s", r.Body.String())
	}

	var stored models.User
	if err := app.store.DB().Take(&stored, uid).Error; err != nil {
		t.Fatalf("load user: %v", err)
	}
	if stored.Email != "ada.lovelace@example.com" || stored.IsStaff || stored.IsSuperuser || !stored.IsActive {
		t.Errorf("stored user: email %q staff %v superuser %v active %v; want lower-cased email, not staff or superuser, active",
			stored.Email, stored.IsStaff, stored.IsSuperuser, stored.IsActive)
	}
	if stored.PasswordHash == "" || strings.Contains(stored.PasswordHash, authStrongPassword) {
		t.Errorf("stored password hash = %q, want a hash", stored.PasswordHash)
	}

	// The password was stored as sent: untrimmed.
	authWant401(t, authLogin(app, "ada.lovelace@example.com", authStrongPassword), authMsgBadCredentials, false)
	authLogin(app, "ada.lovelace@example.com", password).want(t, http.StatusOK)

	if logs := app.logs.String(); strings.Contains(logs, authStrongPassword) {
		t.Errorf("the logs contain the password: %s", logs)
	}
}

func TestAuthRegisterConcurrentDuplicate(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits)
	emails := []string{"race@example.com", "RACE@example.com", "Race@Example.com", "race@EXAMPLE.com", "rAcE@example.COM", " race@example.com"}
	codes := make([]*response, len(emails))
	modelstest.AtOnce(len(emails), func(i int) {
		codes[i] = app.do(request{method: "POST", path: "/api/auth/register/",
			body: map[string]any{"name": "Racer", "email": emails[i], "password": authStrongPassword}})
	})
	created := 0
	for _, r := range codes {
		switch r.Code {
		case http.StatusCreated:
			created++
		case http.StatusBadRequest:
			authWantBody(t, r, map[string][]string{"email": {authMsgDuplicate}})
		default:
			t.Errorf("POST /api/auth/register/: status = %d, want 201 or 400; body: %s", r.Code, r.Body.String())
		}
	}
	if created != 1 {
		t.Fatalf("concurrent registrations of one email: %d created, want exactly 1", created)
	}
}

// An internationalized domain is one address however it is typed:
// composed or decomposed (as a Mac pastes it), or in its ASCII (xn--)
// form. A second account for the same mailbox is a duplicate, and any
// spelling signs in. An account stored before (its decomposed spelling as
// typed then) still signs in as it was typed.
func TestAuthInternationalDomainIsOneAddress(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits)
	const composed, decomposed, ascii = "ana@bücher.example", "ana@bu\u0308cher.example", "ANA@XN--BCHER-KVA.example"
	if got := authRegister(t, app, "Ana", decomposed, authStrongPassword)["email"]; got != composed {
		t.Errorf("registered email = %q, want %q (composed)", got, composed)
	}
	for _, email := range []string{composed, decomposed, ascii} {
		r := app.do(request{method: "POST", path: "/api/auth/register/",
			body: map[string]any{"name": "Ana again", "email": email, "password": authStrongPassword}}).want(t, http.StatusBadRequest)
		authWantBody(t, r, map[string][]string{"email": {authMsgDuplicate}})
		authTokens(t, authLogin(app, email, authStrongPassword).want(t, http.StatusOK))
	}
	if got := authRegister(t, app, "Bo", "bo@xn--bcher-kva.example", authStrongPassword)["email"]; got != "bo@bücher.example" {
		t.Errorf("registered email = %q, want it in Unicode", got)
	}

	// An account stored as typed before its domain's form was fixed.
	hash, err := app.store.Hasher().Hash(context.Background(), authStrongPassword)
	if err != nil {
		t.Fatal(err)
	}
	legacy := models.User{Email: "cy@mu\u0308ller.example", Name: "Cy", PasswordHash: hash, IsActive: true, DateJoined: time.Now()}
	if err := app.store.DB().Create(&legacy).Error; err != nil {
		t.Fatal(err)
	}
	authTokens(t, authLogin(app, "CY@MU\u0308LLER.example", authStrongPassword).want(t, http.StatusOK))
}

func TestAuthLogin(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits)
	u := app.mustUser(t, false)
	if _, err := app.store.CreateUser(context.Background(), models.NewUser{
		Name: "Dormant", Email: "dormant@example.com", Password: authStrongPassword, IsActive: false}); err != nil {
		t.Fatalf("create inactive user: %v", err)
	}

	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantBody   any // for 400s
	}{
		{"correct credentials", map[string]any{"email": u.Email, "password": u.Password}, http.StatusOK, nil},
		{"email in upper case", map[string]any{"email": strings.ToUpper(u.Email), "password": u.Password}, http.StatusOK, nil},
		{"email with surrounding spaces", map[string]any{"email": "  " + u.Email + " ", "password": u.Password}, http.StatusOK, nil},
		{"wrong password", map[string]any{"email": u.Email, "password": "wrong-Password-1"}, http.StatusUnauthorized, nil},
		{"password with a trailing space is not trimmed", map[string]any{"email": u.Email, "password": u.Password + " "}, http.StatusUnauthorized, nil},
		{"unknown email", map[string]any{"email": "nobody@example.com", "password": u.Password}, http.StatusUnauthorized, nil},
		{"inactive account with its correct password", map[string]any{"email": "dormant@example.com", "password": authStrongPassword},
			http.StatusUnauthorized, nil},
		{"missing both fields", map[string]any{}, http.StatusBadRequest,
			map[string][]string{"email": {authMsgRequired}, "password": {authMsgRequired}}},
		{"missing password", map[string]any{"email": u.Email}, http.StatusBadRequest, map[string][]string{"password": {authMsgRequired}}},
		{"missing email", map[string]any{"password": u.Password}, http.StatusBadRequest, map[string][]string{"email": {authMsgRequired}}},
		{"email of the wrong JSON type", map[string]any{"email": 5, "password": u.Password}, http.StatusBadRequest,
			map[string][]string{"email": {authMsgNotString}}},
		{"password of the wrong JSON type", map[string]any{"email": u.Email, "password": []string{u.Password}}, http.StatusBadRequest,
			map[string][]string{"password": {authMsgNotString}}},
		// Conventions: a required string that is empty after trimming is an
		// error (DRF's CharField: "This field may not be blank.").
		{"blank email and password are 400, not a login attempt", map[string]any{"email": "  ", "password": ""}, http.StatusBadRequest,
			map[string][]string{"email": {authMsgBlank}, "password": {authMsgBlank}}},
	}
	var unauthorized []*response
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := app.do(request{method: "POST", path: "/api/auth/login/", body: tc.body})
			switch tc.wantStatus {
			case http.StatusOK:
				r.want(t, http.StatusOK)
				var keys []string
				for k := range r.json(t) {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if !reflect.DeepEqual(keys, []string{"access", "refresh"}) {
					t.Fatalf("POST /api/auth/login/: fields = %v, want exactly [access refresh]", keys)
				}
				access, _ := authTokens(t, r)
				authMe(app, access).want(t, http.StatusOK)
			case http.StatusUnauthorized:
				authWant401(t, r, authMsgBadCredentials, false)
				unauthorized = append(unauthorized, r)
			default:
				r.want(t, tc.wantStatus)
				authWantBody(t, r, tc.wantBody)
			}
		})
	}
	// Every failed login is the same answer, byte for byte.
	for i := 1; i < len(unauthorized); i++ {
		if r := unauthorized[i]; r.Body.String() != unauthorized[0].Body.String() {
			t.Errorf("failed logins differ: %s vs %s", r.Body.String(), unauthorized[0].Body.String())
		}
	}
	if logs := app.logs.String(); strings.Contains(logs, u.Password) || strings.Contains(logs, authStrongPassword) {
		t.Errorf("the logs contain a password: %s", logs)
	}
}

func TestAuthLoginLockout(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits)
	u := app.mustUser(t, false)
	other := app.mustUser(t, false)
	app.clock.Advance(0) // freeze the clock: waits are exact

	for i := range 10 {
		email := u.Email
		if i%2 == 1 {
			email = strings.ToUpper(email) // one lock per address, whatever its case
		}
		authWant401(t, authLogin(app, email, fmt.Sprintf("wrong-Guess-%d", i)), authMsgBadCredentials, false)
	}
	// The 11th attempt is throttled, the correct password included.
	authWant429(t, authLogin(app, u.Email, u.Password), 900)
	authWant429(t, authLogin(app, " "+strings.ToUpper(u.Email), u.Password), 900)
	// Another account is not affected.
	authLogin(app, other.Email, other.Password).want(t, http.StatusOK)
	// Nor are tokens already issued to the locked account.
	authMe(app, u.Access).want(t, http.StatusOK)

	app.clock.Advance(14 * time.Minute)
	authWant429(t, authLogin(app, u.Email, u.Password), 60)

	app.clock.Advance(time.Minute + time.Second) // 15 min 1 s after the failures
	authLogin(app, u.Email, u.Password).want(t, http.StatusOK)
	// A fresh window: one wrong password is a 401 again, not a 429.
	authWant401(t, authLogin(app, u.Email, "wrong-Guess-again"), authMsgBadCredentials, false)

	t.Run("unknown email is locked too", func(t *testing.T) {
		for i := range 10 {
			authWant401(t, authLogin(app, "ghost@example.com", fmt.Sprintf("wrong-Guess-%d", i)), authMsgBadCredentials, false)
		}
		authWant429(t, authLogin(app, "ghost@example.com", "wrong-Guess-x"), 900)
	})
}

// Parallel guesses must not get past the lock: of many concurrent failed
// logins for one email, at most 10 are evaluated within the window.
func TestAuthLoginLockoutConcurrent(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits)
	u := app.mustUser(t, false)
	const n = 30
	res := make([]*response, n)
	modelstest.AtOnce(n, func(i int) {
		res[i] = app.do(request{method: "POST", path: "/api/auth/login/",
			body: map[string]string{"email": u.Email, "password": fmt.Sprintf("wrong-Guess-%d", i)}})
	})
	failed, throttled := 0, 0
	for _, r := range res {
		switch r.Code {
		case http.StatusUnauthorized:
			failed++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("POST /api/auth/login/: status = %d, want 401 or 429; body: %s", r.Code, r.Body.String())
		}
	}
	if failed > 10 {
		t.Errorf("%d concurrent wrong passwords: %d were checked (401) and %d throttled; want at most 10 checked", n, failed, throttled)
	}
	authWant429(t, authLogin(app, u.Email, u.Password), 0)
}

func TestAuthLoginPerIPLimit(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits, func(o *handlers.Options) {
		o.LoginPerIP = handlers.Limit{Events: 3, Window: time.Minute}
	})
	u := app.mustUser(t, false) // the 1st attempt from 192.0.2.1
	app.clock.Advance(0)
	authLogin(app, u.Email, u.Password).want(t, http.StatusOK)
	authWant401(t, authLogin(app, "nobody@example.com", "wrong-Guess-1"), authMsgBadCredentials, false)

	spoofs := []map[string]string{
		nil,
		{"X-Forwarded-For": "198.51.100.7"},
		{"X-Forwarded-For": "203.0.113.50, 198.51.100.8"},
		{"X-Real-IP": "198.51.100.9"},
		{"X-Forwarded-For": "192.0.2.99"},
	}
	for _, h := range spoofs {
		r := app.do(request{method: "POST", path: "/api/auth/login/", header: h,
			body: map[string]string{"email": u.Email, "password": u.Password}})
		authWant429(t, r, 60)
	}
	// Bodies are not even read once throttled: a malformed one is 429 too.
	authWant429(t, app.do(request{method: "POST", path: "/api/auth/login/", body: "{"}), 60)

	// Another client address has its own limit.
	authDoFrom(t, app, "203.0.113.9:5555", request{method: "POST", path: "/api/auth/login/",
		body: map[string]string{"email": u.Email, "password": u.Password}}).want(t, http.StatusOK)

	app.clock.Advance(time.Minute)
	authLogin(app, u.Email, u.Password).want(t, http.StatusOK)
}

func TestAuthRegisterPerIPLimit(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits, func(o *handlers.Options) {
		o.RegisterPerIP = handlers.Limit{Events: 3, Window: time.Minute}
	})
	app.clock.Advance(0)
	reg := func(i int, h map[string]string) *response {
		return app.do(request{method: "POST", path: "/api/auth/register/", header: h, body: map[string]any{
			"name": "Reg", "email": fmt.Sprintf("reg%d@example.com", i), "password": authStrongPassword}})
	}
	reg(1, nil).want(t, http.StatusCreated)
	// Failed registrations count too.
	app.do(request{method: "POST", path: "/api/auth/register/", body: map[string]any{}}).want(t, http.StatusBadRequest)
	reg(2, nil).want(t, http.StatusCreated)
	authWant429(t, reg(3, nil), 60)
	authWant429(t, reg(4, map[string]string{"X-Forwarded-For": "198.51.100.7"}), 60)
	authWant429(t, reg(5, map[string]string{"X-Real-IP": "198.51.100.8"}), 60)

	authDoFrom(t, app, "203.0.113.9:5555", request{method: "POST", path: "/api/auth/register/", body: map[string]any{
		"name": "Reg", "email": "reg6@example.com", "password": authStrongPassword}}).want(t, http.StatusCreated)

	app.clock.Advance(time.Minute)
	reg(7, nil).want(t, http.StatusCreated)
}

// X-Forwarded-For is believed from a configured trusted proxy, and only
// from it.
func TestAuthTrustedProxyForwardedFor(t *testing.T) {
	t.Parallel()
	base := newTestApp(t)
	app := authRouter(t, base, func(c *config.Config) { c.TrustedProxies = []string{"192.0.2.1"} }, func(o *handlers.Options) {
		authNoLimits(o)
		o.LoginPerIP = handlers.Limit{Events: 1, Window: time.Minute}
	})
	app.clock.Advance(0)
	login := func(remote, xff string) *response {
		return authDoFrom(t, app, remote, request{method: "POST", path: "/api/auth/login/",
			header: map[string]string{"X-Forwarded-For": xff},
			body:   map[string]string{"email": "nobody@example.com", "password": "wrong-Guess-1"}})
	}
	authWant401(t, login("192.0.2.1:1234", "198.51.100.1"), authMsgBadCredentials, false)
	authWant429(t, login("192.0.2.1:1234", "198.51.100.1"), 60)
	// Through the trusted proxy, another client is another address.
	authWant401(t, login("192.0.2.1:1234", "198.51.100.2"), authMsgBadCredentials, false)
	// A client cannot prepend its way out: the proxy appends the real address.
	authWant429(t, login("192.0.2.1:1234", "203.0.113.77, 198.51.100.1"), 60)
	// An untrusted peer's header is ignored: its own address counts.
	authWant401(t, login("203.0.113.9:1", "198.51.100.3"), authMsgBadCredentials, false)
	authWant429(t, login("203.0.113.9:1", "198.51.100.4"), 60)
	// X-Forwarded-For is the one header believed, even from the trusted
	// proxy: a client's own X-Real-IP, passed through by a proxy that does
	// not set that header, does not make it another address.
	realIP := func(ip string) *response {
		return authDoFrom(t, app, "192.0.2.1:1234", request{method: "POST", path: "/api/auth/login/",
			header: map[string]string{"X-Real-IP": ip},
			body:   map[string]string{"email": "nobody@example.com", "password": "wrong-Guess-1"}})
	}
	authWant401(t, realIP("198.51.100.5"), authMsgBadCredentials, false) // the proxy's own address
	authWant429(t, realIP("198.51.100.6"), 60)
}

func TestAuthTokenClaims(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	before := time.Now().Add(-time.Second).Unix()
	loginAccess, loginRefresh := authSession(t, app, u)
	refAccess, refRefresh := authTokens(t, authRefresh(app, loginRefresh).want(t, http.StatusOK))
	after := time.Now().Add(time.Second).Unix()

	jtis := map[string]bool{}
	for _, tc := range []struct {
		name, token, typ string
		lifetime         int64
	}{
		{"login access", loginAccess, "access", 300},
		{"login refresh", loginRefresh, "refresh", 86400},
		{"rotated access", refAccess, "access", 300},
		{"rotated refresh", refRefresh, "refresh", 86400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := authJWTPart(t, tc.token, 0)
			if h["alg"] != "HS256" {
				t.Errorf("header alg = %v, want HS256", h["alg"])
			}
			c := authClaims(t, tc.token)
			if c["token_type"] != tc.typ {
				t.Errorf("token_type = %v, want %q", c["token_type"], tc.typ)
			}
			uid, ok := c["user_id"].(json.Number)
			if !ok {
				t.Errorf("user_id = %v (%T), want a JSON number", c["user_id"], c["user_id"])
			} else if n, err := uid.Int64(); err != nil || n != u.ID {
				t.Errorf("user_id = %s, want %d", uid, u.ID)
			}
			jti, _ := c["jti"].(string)
			if jti == "" || jtis[jti] {
				t.Errorf("jti = %q, want a fresh non-empty string", jti)
			}
			jtis[jti] = true
			num := func(k string) int64 {
				n, ok := c[k].(json.Number)
				v, err := n.Int64()
				if !ok || err != nil {
					t.Fatalf("%s = %v (%T), want an integer NumericDate", k, c[k], c[k])
				}
				return v
			}
			iat, exp := num("iat"), num("exp")
			if iat < before || iat > after {
				t.Errorf("iat = %d, want the time of issue (%d..%d)", iat, before, after)
			}
			if exp-iat != tc.lifetime {
				t.Errorf("exp - iat = %d s, want %d s", exp-iat, tc.lifetime)
			}
			// HS256 under the server's secret.
			if _, err := jwt.Parse(tc.token, func(*jwt.Token) (any, error) { return testSecret, nil },
				jwt.WithValidMethods([]string{"HS256"})); err != nil {
				t.Errorf("token does not verify as HS256 with the server secret: %v", err)
			}
		})
	}
}

func TestAuthTokenLifetimeConfigurable(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *handlers.Options) {
		o.AccessTokenTTL = 2 * time.Minute
		o.RefreshTokenTTL = time.Hour
	})
	u := app.mustUser(t, false)
	life := func(token string) int64 {
		c := authClaims(t, token)
		exp, _ := c["exp"].(json.Number).Int64()
		iat, _ := c["iat"].(json.Number).Int64()
		return exp - iat
	}
	if got := life(u.Access); got != 120 {
		t.Errorf("access lifetime = %d s, want 120", got)
	}
	if got := life(u.Refresh); got != 3600 {
		t.Errorf("refresh lifetime = %d s, want 3600", got)
	}
	authAdvanceToExp(t, app, u.Access, -time.Second)
	authMe(app, u.Access).want(t, http.StatusOK)
	app.clock.Advance(2 * time.Second)
	authWant401(t, authMe(app, u.Access), "", true)
}

func TestAuthAccessTokenRejected(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	v := app.mustUser(t, false)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("rsa key: %v", err)
	}
	// Forged tokens start from u's real, recorded access token, so each is
	// rejected for the one thing changed.
	real := authClaims(t, u.Access)
	refreshJTI := authClaims(t, u.Refresh)["jti"]
	now := time.Now()
	hs256 := func(changes map[string]any) string {
		return authForge(t, jwt.SigningMethodHS256, testSecret, authWith(real, changes))
	}
	sig := strings.LastIndexByte(u.Access, '.')
	flipped := []byte(u.Access)
	if flipped[sig+5] == 'A' {
		flipped[sig+5] = 'B'
	} else {
		flipped[sig+5] = 'A'
	}
	tamperedPayload := func() string {
		parts := strings.Split(u.Access, ".")
		raw, _ := json.Marshal(authWith(real, map[string]any{"user_id": v.ID}))
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
	}()

	tests := []struct {
		name       string
		header     string // the whole Authorization header; "" sends none
		wantDetail string // "" : not checked
		code       string // the body's "code"; "" for none
	}{
		{"no Authorization header", "", authMsgNoCredentials, ""},
		{"Bearer without a token", "Bearer", authMsgTwoValues, "bad_authorization_header"},
		{"Bearer and spaces only", "Bearer   ", authMsgTwoValues, "bad_authorization_header"},
		{"three space-delimited values", "Bearer " + u.Access + " extra", authMsgTwoValues, "bad_authorization_header"},
		{"another scheme is no credentials", "Basic dXNlcjpwYXNz", authMsgNoCredentials, ""},
		{"not a JWT", "Bearer not-a-jwt", "", "token_not_valid"},
		{"bad signature byte", "Bearer " + string(flipped), "", "token_not_valid"},
		{"payload changed under the original signature", "Bearer " + tamperedPayload, "", "token_not_valid"},
		{"alg none", "Bearer " + authForge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, real), "", "token_not_valid"},
		{"signed with another key", "Bearer " + authForge(t, jwt.SigningMethodHS256, []byte("another-secret-key-of-at-least-32-bytes"), real), "", "token_not_valid"},
		{"HS512 with the right key", "Bearer " + authForge(t, jwt.SigningMethodHS512, testSecret, real), "", "token_not_valid"},
		{"HS384 with the right key", "Bearer " + authForge(t, jwt.SigningMethodHS384, testSecret, real), "", "token_not_valid"},
		{"RS256 signed with an RSA key", "Bearer " + authForge(t, jwt.SigningMethodRS256, rsaKey, real), "", "token_not_valid"},
		{"RS256 header over an HMAC signature", "Bearer " + authForgeRaw(t, `{"alg":"RS256","typ":"JWT"}`, real, testSecret), "", "token_not_valid"},
		{"refresh token used as access", "Bearer " + u.Refresh, "", "token_not_valid"},
		{"token_type refresh on an access jti", "Bearer " + hs256(map[string]any{"token_type": "refresh"}), "", "token_not_valid"},
		{"token_type missing", "Bearer " + hs256(map[string]any{"token_type": nil}), "", "token_not_valid"},
		{"exp missing", "Bearer " + hs256(map[string]any{"exp": nil}), "", "token_not_valid"},
		{"iat missing", "Bearer " + hs256(map[string]any{"iat": nil}), "", "token_not_valid"},
		{"exp in the past", "Bearer " + hs256(map[string]any{"exp": now.Add(-time.Minute).Unix()}), "", "token_not_valid"},
		{"user_id as a string", "Bearer " + hs256(map[string]any{"user_id": strconv.FormatInt(u.ID, 10)}), "", "token_not_valid"},
		{"user_id missing", "Bearer " + hs256(map[string]any{"user_id": nil}), "", "token_not_valid"},
		{"user_id of another user", "Bearer " + hs256(map[string]any{"user_id": v.ID}), "", "token_not_valid"},
		{"jti never issued", "Bearer " + hs256(map[string]any{"jti": authNewJTI()}), "", "token_not_valid"},
		{"jti missing", "Bearer " + hs256(map[string]any{"jti": nil}), "", "token_not_valid"},
		{"access type over a refresh token's jti", "Bearer " + hs256(map[string]any{"jti": refreshJTI}), "", "token_not_valid"},
		{"another user's real token with this user's id", "Bearer " + authForge(t, jwt.SigningMethodHS256, testSecret,
			authWith(authClaims(t, v.Access), map[string]any{"user_id": u.ID})), "", "token_not_valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h map[string]string
			if tc.header != "" {
				h = map[string]string{"Authorization": tc.header}
			}
			authWant401Code(t, app.do(request{method: "GET", path: "/api/auth/me/", header: h}), tc.wantDetail, tc.code)
		})
	}
	// The real tokens the forgeries started from still work.
	authMe(app, u.Access).want(t, http.StatusOK)
	authMe(app, v.Access).want(t, http.StatusOK)
	// A forged token re-signed HS256 with the right key and nothing changed
	// is the same token: accepted (so the rejections above are for the change).
	authMe(app, hs256(nil)).want(t, http.StatusOK)
}

func TestAuthAccessTokenExpires(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	authAdvanceToExp(t, app, u.Access, -time.Second)
	authMe(app, u.Access).want(t, http.StatusOK)
	app.clock.Advance(2 * time.Second) // past exp
	authWant401(t, authMe(app, u.Access), "", true)
	// The refresh token still works, and its new access token does...
	access, _ := authTokens(t, authRefresh(app, u.Refresh).want(t, http.StatusOK))
	authMe(app, access).want(t, http.StatusOK)
	// ...for 5 minutes.
	app.clock.Advance(5*time.Minute + time.Second)
	authWant401(t, authMe(app, access), "", true)
}

func TestAuthInactiveOrDeletedUser(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	tests := []struct {
		name    string
		disable func(t *testing.T, u *testUser)
	}{
		{"inactive user", func(t *testing.T, u *testUser) { authSetActive(t, app, u.ID, false) }},
		{"deleted user", func(t *testing.T, u *testUser) {
			if err := app.store.DB().Delete(&models.User{}, u.ID).Error; err != nil {
				t.Fatalf("delete user: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := app.mustUser(t, false)
			authMe(app, u.Access).want(t, http.StatusOK)
			tc.disable(t, u)
			authWant401(t, authMe(app, u.Access), "", true)
			authWant401(t, authRefresh(app, u.Refresh), "", true)
			authWant401(t, authLogin(app, u.Email, u.Password), authMsgBadCredentials, false)
		})
	}
	t.Run("reactivated user's tokens work again", func(t *testing.T) {
		u := app.mustUser(t, false)
		authSetActive(t, app, u.ID, false)
		authWant401(t, authMe(app, u.Access), "", true)
		authSetActive(t, app, u.ID, true)
		authMe(app, u.Access).want(t, http.StatusOK)
	})
}

func TestAuthRefreshRotation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	a0, r0 := u.Access, u.Refresh
	otherAccess, otherRefresh := authSession(t, app, u) // a second login of u

	r := authRefresh(app, r0).want(t, http.StatusOK)
	var keys []string
	for k := range r.json(t) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"access", "refresh"}) {
		t.Fatalf("POST /api/auth/token/refresh/: fields = %v, want exactly [access refresh]", keys)
	}
	a1, r1 := authTokens(t, r)
	if a1 == a0 || r1 == r0 {
		t.Fatalf("refresh returned the old tokens")
	}
	authMe(app, a1).want(t, http.StatusOK)
	a2, r2 := authTokens(t, authRefresh(app, r1).want(t, http.StatusOK))
	authMe(app, a2).want(t, http.StatusOK)

	// r0 was rotated: presenting it again is reuse. 401, and every token of
	// that login (children and grandchildren) is revoked.
	authWant401(t, authRefresh(app, r0), "", true)
	for _, access := range []string{a0, a1, a2} {
		authWant401(t, authMe(app, access), "", true)
	}
	authWant401(t, authRefresh(app, r2), "", true)
	authWant401(t, authRefresh(app, r1), "", true)

	// The user's other login is another family: untouched.
	authMe(app, otherAccess).want(t, http.StatusOK)
	authTokens(t, app.do(request{method: "POST", path: "/api/auth/token/refresh",
		body: map[string]string{"refresh": otherRefresh}}).want(t, http.StatusOK))
}

func TestAuthRefreshRejected(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	real := authClaims(t, u.Refresh)
	tests := []struct {
		name         string
		body         any
		wantStatus   int
		wantBody     any  // for 400s
		tokenInvalid bool // for 401s
	}{
		{"missing refresh", map[string]any{}, http.StatusBadRequest, map[string][]string{"refresh": {authMsgRequired}}, false},
		{"no body at all", nil, http.StatusBadRequest, map[string][]string{"refresh": {authMsgRequired}}, false},
		{"blank refresh", map[string]any{"refresh": ""}, http.StatusBadRequest, map[string][]string{"refresh": {authMsgBlank}}, false},
		// Conventions: strings are trimmed before validation.
		{"whitespace-only refresh is blank", map[string]any{"refresh": "   "}, http.StatusBadRequest,
			map[string][]string{"refresh": {authMsgBlank}}, false},
		{"refresh of the wrong JSON type", map[string]any{"refresh": 12}, http.StatusBadRequest,
			map[string][]string{"refresh": {authMsgNotString}}, false},
		{"refresh null", map[string]any{"refresh": nil}, http.StatusBadRequest, map[string][]string{"refresh": {authMsgNull}}, false},
		{"access token sent as refresh", map[string]any{"refresh": u.Access}, http.StatusUnauthorized, nil, true},
		{"not a JWT", map[string]any{"refresh": "garbage"}, http.StatusUnauthorized, nil, true},
		{"refresh jti never issued", map[string]any{"refresh": authForge(t, jwt.SigningMethodHS256, testSecret,
			authWith(real, map[string]any{"jti": authNewJTI()}))}, http.StatusUnauthorized, nil, true},
		{"refresh re-signed HS512", map[string]any{"refresh": authForge(t, jwt.SigningMethodHS512, testSecret, real)},
			http.StatusUnauthorized, nil, true},
		{"refresh with alg none", map[string]any{"refresh": authForge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, real)},
			http.StatusUnauthorized, nil, true},
		{"refresh without exp", map[string]any{"refresh": authForge(t, jwt.SigningMethodHS256, testSecret,
			authWith(real, map[string]any{"exp": nil}))}, http.StatusUnauthorized, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := app.do(request{method: "POST", path: "/api/auth/token/refresh/", body: tc.body})
			if tc.wantStatus == http.StatusUnauthorized {
				authWant401(t, r, "", tc.tokenInvalid)
				return
			}
			r.want(t, tc.wantStatus)
			authWantBody(t, r, tc.wantBody)
		})
	}
	// None of that spent the real refresh token.
	authRefresh(app, u.Refresh).want(t, http.StatusOK)
}

func TestAuthRefreshExpires(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	_, spare := authSession(t, app, u) // issued after u.Refresh: expires no earlier
	authAdvanceToExp(t, app, u.Refresh, -time.Second)
	authRefresh(app, spare).want(t, http.StatusOK)
	app.clock.Advance(2 * time.Second) // past 1 day
	authWant401(t, authRefresh(app, u.Refresh), "", true)
}

func TestAuthRefreshConcurrent(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	const n = 8
	res := make([]*response, n)
	modelstest.AtOnce(n, func(i int) {
		res[i] = app.do(request{method: "POST", path: "/api/auth/token/refresh/",
			body: `{"refresh": "` + u.Refresh + `"}`})
	})
	var winner *response
	for _, r := range res {
		switch r.Code {
		case http.StatusOK:
			if winner != nil {
				t.Errorf("POST /api/auth/token/refresh/: a second concurrent refresh with one token succeeded")
			}
			winner = r
		default:
			authWant401(t, r, "", true)
		}
	}
	if winner == nil {
		t.Fatalf("POST /api/auth/token/refresh/: none of %d concurrent refreshes succeeded, want exactly one", n)
	}
	// The losers presented a spent token: reuse, so the whole family is
	// revoked, the winner's new tokens included.
	access, refresh := authTokens(t, winner)
	authWant401(t, authMe(app, access), "", true)
	authWant401(t, authRefresh(app, refresh), "", true)
	authWant401(t, authMe(app, u.Access), "", true)
}

func TestAuthLogout(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	v := app.mustUser(t, false)
	bAccess, bRefresh := authSession(t, app, u) // u's second session
	logout := func(token string, body any) *response {
		return app.do(request{method: "POST", path: "/api/auth/logout/", token: token, body: body})
	}

	t.Run("no bearer token is 401", func(t *testing.T) {
		authWant401(t, logout("", map[string]string{"refresh": u.Refresh}), authMsgNoCredentials, false)
	})
	t.Run("missing refresh is 400", func(t *testing.T) {
		authWantBody(t, logout(u.Access, map[string]string{}).want(t, http.StatusBadRequest),
			map[string][]string{"refresh": {authMsgRequired}})
	})
	t.Run("refresh of the wrong type is 400", func(t *testing.T) {
		authWantBody(t, logout(u.Access, map[string]any{"refresh": 1}).want(t, http.StatusBadRequest),
			map[string][]string{"refresh": {authMsgNotString}})
	})
	t.Run("another user's refresh token is 401 and keeps working for its owner", func(t *testing.T) {
		authWant401(t, logout(u.Access, map[string]string{"refresh": v.Refresh}), "", true)
		authMe(app, u.Access).want(t, http.StatusOK)
		authMe(app, v.Access).want(t, http.StatusOK)
		v.Access, v.Refresh = authTokens(t, authRefresh(app, v.Refresh).want(t, http.StatusOK))
	})
	t.Run("access token sent as refresh is 401", func(t *testing.T) {
		authWant401(t, logout(u.Access, map[string]string{"refresh": u.Access}), "", true)
		authMe(app, u.Access).want(t, http.StatusOK)
	})
	t.Run("garbage refresh is 401", func(t *testing.T) {
		authWant401(t, logout(u.Access, map[string]string{"refresh": "garbage"}), "", true)
	})
	t.Run("logout revokes that refresh and the access token used", func(t *testing.T) {
		r := logout(u.Access, map[string]string{"refresh": u.Refresh}).want(t, http.StatusNoContent)
		if r.Body.Len() != 0 {
			t.Errorf("POST /api/auth/logout/: body = %q, want none", r.Body.String())
		}
		authWant401(t, authRefresh(app, u.Refresh), "", true)
		authWant401(t, authMe(app, u.Access), "", true)
		authWant401(t, logout(u.Access, map[string]string{"refresh": u.Refresh}), "", true)
		// The other session of the same user keeps working.
		authMe(app, bAccess).want(t, http.StatusOK)
		a, _ := authTokens(t, authRefresh(app, bRefresh).want(t, http.StatusOK))
		authMe(app, a).want(t, http.StatusOK)
		// So does the other user.
		authMe(app, v.Access).want(t, http.StatusOK)
	})
	t.Run("a refresh token already revoked by logout/all is 401", func(t *testing.T) {
		w := app.mustUser(t, false)
		oldRefresh := w.Refresh
		app.do(request{method: "POST", path: "/api/auth/logout/all/", token: w.Access}).want(t, http.StatusNoContent)
		app.login(t, w)
		authWant401(t, logout(w.Access, map[string]string{"refresh": oldRefresh}), "", true)
		// A refused logout revokes nothing.
		authMe(app, w.Access).want(t, http.StatusOK)
	})
	t.Run("the access token used is revoked even from another session", func(t *testing.T) {
		w := app.mustUser(t, false)
		otherAccess, _ := authSession(t, app, w)
		logout(otherAccess, map[string]string{"refresh": w.Refresh}).want(t, http.StatusNoContent)
		authWant401(t, authMe(app, otherAccess), "", true)
		authWant401(t, authMe(app, w.Access), "", true)
		authWant401(t, authRefresh(app, w.Refresh), "", true)
	})
	t.Run("logout without trailing slash", func(t *testing.T) {
		w := app.mustUser(t, false)
		app.do(request{method: "POST", path: "/api/auth/logout", token: w.Access,
			body: map[string]string{"refresh": w.Refresh}}).want(t, http.StatusNoContent)
		authWant401(t, authMe(app, w.Access), "", true)
	})
}

func TestAuthLogoutAll(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	v := app.mustUser(t, false)
	bAccess, bRefresh := authSession(t, app, u)
	// A rotated descendant is revoked too.
	bAccess, bRefresh = authTokens(t, authRefresh(app, bRefresh).want(t, http.StatusOK))

	authWant401(t, app.do(request{method: "POST", path: "/api/auth/logout/all/"}), authMsgNoCredentials, false)

	r := app.do(request{method: "POST", path: "/api/auth/logout/all/", token: u.Access}).want(t, http.StatusNoContent)
	if r.Body.Len() != 0 {
		t.Errorf("POST /api/auth/logout/all/: body = %q, want none", r.Body.String())
	}
	for _, access := range []string{u.Access, bAccess} {
		authWant401(t, authMe(app, access), "", true)
	}
	for _, refresh := range []string{u.Refresh, bRefresh} {
		authWant401(t, authRefresh(app, refresh), "", true)
	}
	authWant401(t, app.do(request{method: "POST", path: "/api/auth/logout/all", token: u.Access}), "", true)

	// Another user is unaffected.
	authMe(app, v.Access).want(t, http.StatusOK)
	authRefresh(app, v.Refresh).want(t, http.StatusOK)
	// And u can log in again.
	app.login(t, u)
	authMe(app, u.Access).want(t, http.StatusOK)
}

func TestAuthMe(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	registered := authRegister(t, app, "Grace Hopper", "Grace@Example.com", authStrongPassword)
	u := &testUser{Email: "GRACE@example.com", Password: authStrongPassword}
	app.login(t, u)
	for _, path := range []string{"/api/auth/me/", "/api/auth/me"} {
		r := app.do(request{method: "GET", path: path, token: u.Access}).want(t, http.StatusOK)
		authWantBody(t, r, registered)
	}
	staff := app.mustUser(t, true)
	me := authMe(app, staff.Access).want(t, http.StatusOK).json(t)
	if me["is_staff"] != true || id(t, me, "id") != staff.ID || me["email"] != staff.Email {
		t.Errorf("GET /api/auth/me/ as staff = %v, want the staff user with is_staff true", me)
	}
}

// Revocation is not router state: a token revoked through one router is
// rejected by another router built on the same Store. (Two processes with
// their own Stores and token caches: TestSecTwoProcessesShareRevocationAndAudit.)
func TestAuthRevocationSharedAcrossRouters(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	other := authRouter(t, app, nil)
	u := app.mustUser(t, false)

	// Tokens from one process work on the other.
	authMe(other, u.Access).want(t, http.StatusOK)

	t.Run("logout", func(t *testing.T) {
		a, r := authSession(t, app, u)
		app.do(request{method: "POST", path: "/api/auth/logout/", token: a, body: map[string]string{"refresh": r}}).
			want(t, http.StatusNoContent)
		authWant401(t, authMe(other, a), "", true)
		authWant401(t, authRefresh(other, r), "", true)
	})
	t.Run("rotation and reuse", func(t *testing.T) {
		a0, r0 := authSession(t, app, u)
		a1, r1 := authTokens(t, authRefresh(other, r0).want(t, http.StatusOK))
		authWant401(t, authRefresh(app, r0), "", true) // reuse, seen by the other process
		authWant401(t, authMe(other, a1), "", true)
		authWant401(t, authMe(app, a0), "", true)
		authWant401(t, authRefresh(other, r1), "", true)
	})
	t.Run("logout all", func(t *testing.T) {
		w := app.mustUser(t, false)
		other.do(request{method: "POST", path: "/api/auth/logout/all/", token: w.Access}).want(t, http.StatusNoContent)
		authWant401(t, authMe(app, w.Access), "", true)
		authWant401(t, authRefresh(app, w.Refresh), "", true)
	})
	authMe(other, u.Access).want(t, http.StatusOK)
}

// The lock counts failures within 15 minutes of the window's first one:
// ten failures spread over 90 minutes, ten minutes apart, never lock the
// email (a window that restarted at every failure would).
func TestAuthLoginLockoutWindowPasses(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, authNoLimits)
	u := app.mustUser(t, false)
	app.clock.Advance(0) // freeze the clock
	for i := range 10 {
		if i > 0 {
			app.clock.Advance(10 * time.Minute)
		}
		authWant401(t, authLogin(app, u.Email, fmt.Sprintf("wrong-Guess-%d", i)), authMsgBadCredentials, false)
	}
	authLogin(app, u.Email, u.Password).want(t, http.StatusOK)
}

// A rotated refresh token presented at logout is reuse too (API.md:
// "Presenting a refresh token that was already rotated revokes every token
// descended from the same login"), not just a 401.
func TestAuthLogoutWithARotatedRefreshTokenRevokesTheLogin(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	r0 := u.Refresh
	otherAccess, _ := authSession(t, app, u) // a second login of u
	a1, r1 := authTokens(t, authRefresh(app, r0).want(t, http.StatusOK))

	authWant401(t, app.do(request{method: "POST", path: "/api/auth/logout/", token: a1,
		body: map[string]string{"refresh": r0}}), "", true)
	authWant401(t, authMe(app, a1), "", true)
	authWant401(t, authRefresh(app, r1), "", true)
	evs := app.admEvents(t, models.AuditFilter{UserID: u.ID, Action: models.ActionLogout})
	if len(evs) != 1 || evs[0].Outcome != models.OutcomeFailure || !strings.Contains(evs[0].Changes, "reused_token_family") {
		t.Errorf("logout events = %+v, want one failed logout that revoked the reused family", evs)
	}
	authMe(app, otherAccess).want(t, http.StatusOK) // another login: untouched
}

// The refresh field is trimmed as every string (API.md), at refresh and at
// logout.
func TestAuthRefreshTokenIsTrimmed(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	a1, r1 := authTokens(t, authRefresh(app, " "+u.Refresh+"\n").want(t, http.StatusOK))
	app.do(request{method: "POST", path: "/api/auth/logout/", token: a1,
		body: map[string]string{"refresh": "\t" + r1 + " "}}).want(t, http.StatusNoContent)
	authWant401(t, authMe(app, a1), "", true)
}
