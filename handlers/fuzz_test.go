package handlers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"healthcare/models"
)

// Fuzz tests for the two parsers that face every request: the JSON body
// reader and the JWT verifier. Their seed corpus is committed under
// testdata/fuzz; .ci/run fuzzes each briefly. Run longer with, e.g.,
//
//	go test -run='^$' -fuzz=FuzzReadObject -fuzztime=5m ./handlers

// fuzzMaxBody is a small body limit, so the fuzzer reaches the 413 path.
const fuzzMaxBody = 4 << 10

// fuzzBodySeeds are request bodies with their content types.
func fuzzBodySeeds() [][2]string {
	return [][2]string{
		{"application/json", `{"name":"Ann","date_of_birth":"1990-05-06"}`},
		{"application/json; charset=utf-8", `{"a":[1,2,{"b":null}],"c":true}`},
		{"application/json", `{}`},
		{"application/json", ``},
		{"application/json", `[]`},
		{"application/json", `"str"`},
		{"application/json", `12.5e3`},
		{"application/json", `null`},
		{"application/json", `{"a":1} {"b":2}`},
		{"application/json", `{"a":1}garbage`},
		{"application/json", `{"a":`},
		{"application/json", `{"a":"\ud800"}`},
		{"application/json", "{\"a\":\"\xff\"}"},
		{"application/json", `{"a":"\u0000"}`},
		{"application/json", strings.Repeat("[", 40) + strings.Repeat("]", 40)},
		{"application/json", `{"a":"` + strings.Repeat("[", 40) + `"}`},
		{"application/json", `{"a":"\"[[[[\\"}`},
		{"application/json", `{"a":1,"a":2}`},
		{"application/json", `{"n":99999999999999999999999999999}`},
		{"application/json", "\ufeff{}"},
		{"text/plain", `{"a":1}`},
		{"application/x-www-form-urlencoded", `a=1`},
		{"", `{"a":1}`},
		{"application/json;;", `{}`},
		{"APPLICATION/JSON", `{}`},
		{"application/json", `{"x":"` + strings.Repeat("y", fuzzMaxBody) + `"}`},
	}
}

// fuzzContext is a gin context for a POST of body with content type ct,
// behind a body limit of fuzzMaxBody.
func fuzzContext(ct string, body []byte) *gin.Context {
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	req := httptest.NewRequest(http.MethodPost, "/api/x", bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Body = http.MaxBytesReader(w, req.Body, fuzzMaxBody)
	c.Request = req
	return c
}

// FuzzReadObject: readObject never panics, and either returns an object
// (for an empty body, or a JSON object of JSON media type) or one of the
// contract's errors: 400 (not JSON, not an object, too deep), 413 (over the
// limit) or 415 (another media type). Its messages never name Go types.
func FuzzReadObject(f *testing.F) {
	for _, s := range fuzzBodySeeds() {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		obj, err := readObject(fuzzContext(ct, body))
		// The media type as the standard library parses it, when it does:
		// an oracle apart from the code's own matching. A header whose
		// parameters do not parse is matched on its media type alone, as
		// DRF does (table cases in TestConvMediaTypes).
		isJSON := false
		if mt, _, perr := mime.ParseMediaType(ct); perr == nil {
			isJSON = mt == "application/json"
		} else {
			mediaType, _, _ := strings.Cut(ct, ";")
			isJSON = strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
		}
		if err == nil {
			switch {
			case obj == nil:
				t.Fatal("nil object without an error")
			case len(body) > fuzzMaxBody:
				t.Fatalf("accepted a body of %d bytes over the %d limit", len(body), fuzzMaxBody)
			case len(body) == 0:
				if len(obj) != 0 {
					t.Fatalf("empty body gave %v", obj)
				}
			case !isJSON:
				t.Fatalf("accepted content type %q", ct)
			case !utf8.Valid(body) || !json.Valid(body):
				t.Fatalf("accepted a body that is not valid UTF-8 JSON: %q", body)
			case bytes.TrimLeft(body, " \t\r\n")[0] != '{':
				t.Fatalf("accepted a body that is not an object: %q", body)
			}
			for k, v := range obj {
				if !json.Valid(v) {
					t.Fatalf("field %q holds invalid JSON %q", k, v)
				}
			}
			return
		}
		if obj != nil {
			t.Fatalf("both an object and an error (%v)", err)
		}
		var he *httpError
		var me *models.Error
		switch {
		case errors.As(err, &he):
			switch he.status {
			case http.StatusRequestEntityTooLarge:
				if len(body) <= fuzzMaxBody {
					t.Fatalf("413 for %d bytes under the limit", len(body))
				}
			case http.StatusUnsupportedMediaType:
				if isJSON || len(body) == 0 {
					t.Fatalf("415 for content type %q, body of %d bytes", ct, len(body))
				}
			case http.StatusBadRequest:
				if !isJSON || len(body) > fuzzMaxBody {
					t.Fatalf("400 for content type %q, body of %d bytes", ct, len(body))
				}
			default:
				t.Fatalf("status %d (%s)", he.status, he.detail)
			}
			// A 415 quotes the client's own media type, as the contract says;
			// other details are the server's words and must not name Go types.
			for _, internal := range []string{"json.", "RawMessage", "map[", "handlers.", "reflect", "goroutine"} {
				if he.status != http.StatusUnsupportedMediaType && strings.Contains(he.detail, internal) {
					t.Fatalf("detail %q names internals (%q)", he.detail, internal)
				}
			}
		case errors.As(err, &me):
			if me.Code != models.Invalid || len(me.Fields[models.NonFieldErrors]) == 0 || !json.Valid(body) {
				t.Fatalf("model error %+v for a body %q", me, body)
			}
		default:
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
	})
}

// fuzzKey is the key of FuzzVerifyToken's signer.
var fuzzKey = []byte("fuzz-secret-key-of-at-least-32-bytes!!")

// fuzzNow is FuzzVerifyToken's fixed clock, so committed tokens stay
// valid.
var fuzzNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func fuzzSigner() *signer {
	return newSigner(fuzzKey, 5*time.Minute, 24*time.Hour, func() time.Time { return fuzzNow })
}

// fuzzTokenSeeds are genuine tokens and the usual forgeries.
func fuzzTokenSeeds(t testing.TB) []string {
	s := fuzzSigner()
	access, _, err := s.issue(models.AccessToken, 7)
	if err != nil {
		t.Fatal(err)
	}
	refresh, _, err := s.issue(models.RefreshToken, 7)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"token_type": "access", "user_id": 7, "jti": "abc",
		"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Minute).Unix()}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range claims {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	none := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims)
	parts := strings.Split(access, ".")
	return []string{
		access,
		refresh,
		sign(jwt.SigningMethodHS256, fuzzKey, claims),
		sign(jwt.SigningMethodHS256, []byte("another-key-of-at-least-32-bytes!!!!"), claims),
		sign(jwt.SigningMethodHS512, fuzzKey, claims),
		sign(jwt.SigningMethodHS384, fuzzKey, claims),
		none,
		strings.TrimSuffix(none, ".") + "." + parts[2],
		sign(jwt.SigningMethodHS256, fuzzKey, with("exp", nil)),
		sign(jwt.SigningMethodHS256, fuzzKey, with("exp", fuzzNow.Add(-time.Second).Unix())),
		sign(jwt.SigningMethodHS256, fuzzKey, with("iat", fuzzNow.Add(time.Hour).Unix())),
		sign(jwt.SigningMethodHS256, fuzzKey, with("user_id", "7")),
		sign(jwt.SigningMethodHS256, fuzzKey, with("user_id", 0)),
		sign(jwt.SigningMethodHS256, fuzzKey, with("jti", nil)),
		sign(jwt.SigningMethodHS256, fuzzKey, with("token_type", "refresh")),
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1] + "." + parts[2] + "=",
		parts[0] + ".." + parts[2],
		parts[1] + "." + parts[0] + "." + parts[2],
		"",
		"a.b.c",
		"...",
		"eyJhbGciOiJIUzI1NiJ9.e30.",
	}
}

// FuzzVerifyToken: verify never panics, and accepts only a token that is
// HS256-signed with the key over its exact header and payload, unexpired,
// not issued in the future (beyond the clocks' leeway), of the asked type, with a jti and a user id.
func FuzzVerifyToken(f *testing.F) {
	for _, tok := range fuzzTokenSeeds(f) {
		f.Add(tok, false)
		f.Add(tok, true)
	}
	s := fuzzSigner()
	// The genuine seeds pass, so the fuzzer starts from accepted tokens.
	seeds := fuzzTokenSeeds(f)
	if _, err := s.verify(seeds[0], models.AccessToken); err != nil {
		f.Fatalf("a genuine access token is refused: %v", err)
	}
	if _, err := s.verify(seeds[1], models.RefreshToken); err != nil {
		f.Fatalf("a genuine refresh token is refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, token string, refresh bool) {
		typ := models.AccessToken
		if refresh {
			typ = models.RefreshToken
		}
		c, err := s.verify(token, typ)
		if err != nil {
			var me *models.Error
			if c != nil || !errors.As(err, &me) || me.Code != models.Unauthorized || !me.TokenInvalid {
				t.Fatalf("rejection = %v, %#v; want only a token_not_valid error", c, err)
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %q: not three parts", token)
		}
		header, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil {
			t.Fatalf("accepted %q: header is not base64url: %v", token, err)
		}
		var h struct{ Alg string }
		if err := json.Unmarshal(header, &h); err != nil || h.Alg != "HS256" {
			t.Fatalf("accepted %q: header %s is not HS256", token, header)
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatalf("accepted %q: signature is not base64url: %v", token, err)
		}
		mac := hmac.New(sha256.New, fuzzKey)
		mac.Write([]byte(parts[0] + "." + parts[1]))
		if !hmac.Equal(sig, mac.Sum(nil)) {
			t.Fatalf("accepted %q: not signed with the key", token)
		}
		switch {
		case c.TokenType != typ:
			t.Fatalf("accepted a %q token as %q", c.TokenType, typ)
		case c.ExpiresAt == nil || !c.ExpiresAt.After(fuzzNow):
			t.Fatalf("accepted exp %v at %v", c.ExpiresAt, fuzzNow)
		case c.IssuedAt == nil || c.IssuedAt.After(fuzzNow.Add(issuedAtLeeway)):
			t.Fatalf("accepted iat %v at %v", c.IssuedAt, fuzzNow)
		case c.ID == "" || c.UserID < 1:
			t.Fatalf("accepted jti %q, user_id %d", c.ID, c.UserID)
		}
	})
}
