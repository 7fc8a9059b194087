package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// Keys of values the auth middleware stores on the gin context.
const (
	ctxUser   = "handlers.user"
	ctxClaims = "handlers.claims"
)

// authenticate requires a valid, unrevoked access token of an active user
// and stores the user once for currentUser.
func (a *API) authenticate(c *gin.Context) {
	header := c.GetHeader("Authorization")
	if header == "" {
		a.abort(c, &httpError{status: http.StatusUnauthorized, detail: msgNoAuth})
		return
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// simplejwt ignores other schemes: the request carries no credentials.
		a.abort(c, &httpError{status: http.StatusUnauthorized, detail: msgNoAuth})
		return
	}
	token = strings.TrimSpace(token)
	if !ok || token == "" || strings.ContainsAny(token, " \t") {
		// simplejwt names this failure with a code of its own, not
		// token_not_valid: no token could be read from the header.
		a.abort(c, &httpError{status: http.StatusUnauthorized,
			detail: "Authorization header must contain two space-delimited values", code: "bad_authorization_header"})
		return
	}
	cl, err := a.signer.verify(token, models.AccessToken)
	if err != nil {
		a.abort(c, errTokenNotValid())
		return
	}
	user, err := a.store.AuthenticateToken(c.Request.Context(), cl.ID, cl.UserID)
	if err != nil {
		if models.ErrorCode(err) == models.Unauthorized {
			err = errTokenNotValid()
		}
		a.abort(c, err)
		return
	}
	// Counted only once the token is known to be live: a copy of a revoked
	// token (a logout, a password change) must not spend its user's
	// requests and lock them out of the API until it expires.
	if wait, ok := a.userRate.Take(strconv.FormatInt(user.ID, 10)); !ok {
		a.abort(c, a.throttled("user", wait))
		return
	}
	ctx := c.Request.Context()
	who := models.ActorFrom(ctx)
	who.UserID, who.Email = user.ID, user.Email
	c.Request = c.Request.WithContext(models.WithActor(ctx, who))
	c.Set(ctxUser, user)
	c.Set(ctxClaims, cl)
	c.Next()
}

// errTokenNotValid is simplejwt's answer to an access token that fails.
func errTokenNotValid() *models.Error {
	return &models.Error{Code: models.Unauthorized, Message: "Given token not valid for any token type", TokenInvalid: true}
}

func (a *API) abort(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

// currentUser returns the user authenticate stored.
func currentUser(c *gin.Context) *models.User {
	return c.MustGet(ctxUser).(*models.User)
}

// currentClaims returns the claims of the access token used.
func currentClaims(c *gin.Context) *claims {
	return c.MustGet(ctxClaims).(*claims)
}

// requireStaff lets only staff through: 403 for everyone else.
func requireStaff(c *gin.Context) {
	if !currentUser(c).IsStaff {
		_ = c.Error(&models.Error{Code: models.Forbidden, Message: msgForbidden})
		c.Abort()
		return
	}
	c.Next()
}
