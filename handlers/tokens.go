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
	timeChecks := []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(now)}
	return &signer{
		secret: secret, accessTTL: accessTTL, refreshTTL: refreshTTL, now: now,
		// Strict decoding: a token is accepted in the one encoding it was
		// signed in, not also with base64's unused bits set, so each token
		// has one spelling (and one entry in verified).
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
	if known := s.verified.get(token); known != nil {
		if known.TokenType != typ || s.validator.Validate(known) != nil {
			return nil, invalid
		}
		c := *known
		return &c, nil
	}
	var c claims
	_, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.secret, nil })
	if err != nil || c.TokenType != typ || c.ID == "" || c.UserID < 1 || c.IssuedAt == nil {
		return nil, invalid
	}
	known := c
	s.verified.put(token, &known, s.now())
	return &c, nil
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

// maxVerifiedTokens bounds the memo: a token is at most a few hundred
// bytes, so about 2 MiB with its claims. Only tokens this server signed
// get in, and at most one per login or refresh.
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
		// Full: forget the expired tokens, or if none has, an arbitrary
		// one (a token forgotten is only verified again).
		for k, known := range v.m {
			if !now.Before(known.ExpiresAt.Time) {
				delete(v.m, k)
			}
		}
		for k := range v.m {
			if len(v.m) < maxVerifiedTokens {
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
