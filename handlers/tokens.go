package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"healthcare/models"
)

// claims are simplejwt's: token_type, exp, iat, jti and a numeric user_id.
type claims struct {
	TokenType string `json:"token_type"`
	UserID    int64  `json:"user_id"`
	jwt.RegisteredClaims
}

// tokenPair is what login and refresh answer.
type tokenPair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// signer issues and verifies HS256 JWTs with the server's secret.
type signer struct {
	secret     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time
	parser     *jwt.Parser
	// validator applies the parser's time checks (exp, iat, nbf) alone,
	// to tokens found in verified.
	validator *jwt.Validator
	verified  verifiedTokens
}

func newSigner(secret []byte, accessTTL, refreshTTL time.Duration, now func() time.Time) *signer {
	// Only HS256 (so never "none" nor an RSA key used as an HMAC secret),
	// and exp is required: golang-jwt treats it as optional by default.
	// iat is checked by verify, with issuedAtLeeway: golang-jwt's leeway
	// would stretch exp too.
	timeChecks := []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithTimeFunc(now)}
	return &signer{
		secret: secret, accessTTL: accessTTL, refreshTTL: refreshTTL, now: now,
		// Strict decoding: a token is accepted in the one encoding it was
		// signed in, not also with base64's unused bits set; with
		// wellFormedToken, each token has one spelling (one memo entry).
		parser: jwt.NewParser(append([]jwt.ParserOption{
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithStrictDecoding()}, timeChecks...)...),
		validator: jwt.NewValidator(timeChecks...),
		verified:  verifiedTokens{m: map[string]*claims{}},
	}
}

// issue signs a new token of type typ for userID and returns it with its
// record for the store.
func (s *signer) issue(typ string, userID int64) (string, models.IssuedToken, error) {
	ttl := s.accessTTL
	if typ == models.RefreshToken {
		ttl = s.refreshTTL
	}
	now := s.now().UTC()
	jti, err := newJTI()
	if err != nil {
		return "", models.IssuedToken{}, err
	}
	exp := now.Add(ttl)
	c := claims{TokenType: typ, UserID: userID, RegisteredClaims: jwt.RegisteredClaims{
		ID: jti, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
	if err != nil {
		return "", models.IssuedToken{}, err
	}
	return signed, models.IssuedToken{JTI: jti, UserID: userID, Type: typ, ExpiresAt: exp.Truncate(time.Second)}, nil
}

// pair issues an access and a refresh token for userID.
func (s *signer) pair(userID int64) (tokenPair, []models.IssuedToken, error) {
	access, accessRec, err := s.issue(models.AccessToken, userID)
	if err != nil {
		return tokenPair{}, nil, err
	}
	refresh, refreshRec, err := s.issue(models.RefreshToken, userID)
	if err != nil {
		return tokenPair{}, nil, err
	}
	return tokenPair{Access: access, Refresh: refresh}, []models.IssuedToken{accessRec, refreshRec}, nil
}

// verify checks signature, algorithm, expiry and type, and returns the
// claims. Revocation is the store's to check.
func (s *signer) verify(token, typ string) (*claims, error) {
	invalid := &models.Error{Code: models.Unauthorized, Message: "Token is invalid or expired", TokenInvalid: true}
	if !wellFormedToken(token) {
		return nil, invalid
	}
	if known := s.verified.get(token); known != nil {
		if known.TokenType != typ || s.validator.Validate(known) != nil || s.issuedLater(known) {
			return nil, invalid
		}
		c := *known // its pointers (times, audience) are shared: read-only
		return &c, nil
	}
	var c claims
	_, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.secret, nil })
	if err != nil || c.TokenType != typ || c.ID == "" || c.UserID < 1 || s.issuedLater(&c) {
		return nil, invalid
	}
	if typ == models.AccessToken {
		// Only access tokens: a refresh token is used once, and
		// remembering it would only push live access tokens out.
		known := c
		s.verified.put(token, &known, s.now())
	}
	return &c, nil
}

// issuedAtLeeway is how far in this process's future a token's iat may
// be: another server process, whose clock runs a little ahead, may have
// issued it a moment ago (jwt's second-granular iat alone leaves a
// fraction of a second). A clock set back further still refuses tokens
// "issued" after its now. exp has no leeway.
const issuedAtLeeway = 30 * time.Second

// issuedLater reports whether c has no iat or was issued after now,
// beyond the leeway.
func (s *signer) issuedLater(c *claims) bool {
	return c.IssuedAt == nil || c.IssuedAt.After(s.now().Add(issuedAtLeeway))
}

// maxTokenLen bounds a token: ours are under 300 bytes.
const maxTokenLen = 1024

// wellFormedToken reports whether token is short and spelled only with
// base64url's letters and dots, as every token this server signs is. Go's
// base64 decoder skips \r and \n even when strict, so without this check
// one token would have countless spellings, each a memo entry of any size.
func wellFormedToken(token string) bool {
	if len(token) > maxTokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		switch b := token[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '-', b == '_', b == '.':
		default:
			return false
		}
	}
	return true
}

// verifiedTokens remembers the claims of tokens whose signature was
// checked, so the next requests with the same token skip the HMAC and the
// JSON decoding (9% of GET /api/patients/{id}/'s server CPU). A token is
// found only by its exact bytes, which is what the signature proved; what
// can change, the time, is checked again on every use (signer.validator),
// and revocation is the store's on every request as before.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[string]*claims
}

// maxVerifiedTokens bounds the memo: a token is at most maxTokenLen bytes,
// so under 5 MiB with the claims. Only access tokens this server signed get
// in, one per login or refresh.
const maxVerifiedTokens = 4096

func (v *verifiedTokens) get(token string) *claims {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.m[token]
}

func (v *verifiedTokens) put(token string, c *claims, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerifiedTokens {
		// Full: forget the expired tokens and, if that frees less than a
		// quarter, arbitrary others up to a quarter (a token forgotten is
		// only verified again), so a full memo is swept once per
		// maxVerifiedTokens/4 new tokens, not on every one.
		for k, known := range v.m {
			if !now.Before(known.ExpiresAt.Time) {
				delete(v.m, k)
			}
		}
		for k := range v.m {
			if len(v.m) <= maxVerifiedTokens*3/4 {
				break
			}
			delete(v.m, k)
		}
	}
	v.m[token] = c
}

// newJTI returns 128 random bits in hex.
func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
