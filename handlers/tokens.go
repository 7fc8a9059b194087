package handlers

import (
	"crypto/rand"
	"encoding/hex"
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
}

func newSigner(secret []byte, accessTTL, refreshTTL time.Duration, now func() time.Time) *signer {
	return &signer{
		secret: secret, accessTTL: accessTTL, refreshTTL: refreshTTL, now: now,
		// Only HS256 (so never "none" nor an RSA key used as an HMAC secret),
		// and exp is required: golang-jwt treats it as optional by default.
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(now),
		),
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
	var c claims
	_, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.secret, nil })
	if err != nil || c.TokenType != typ || c.ID == "" || c.UserID < 1 || c.IssuedAt == nil {
		return nil, &models.Error{Code: models.Unauthorized, Message: "Token is invalid or expired", TokenInvalid: true}
	}
	return &c, nil
}

// newJTI returns 128 random bits in hex.
func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
