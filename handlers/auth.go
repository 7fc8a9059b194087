package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// userResponse is a user as the API shows it: never the password hash.
type userResponse struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	IsStaff    bool      `json:"is_staff"`
	DateJoined time.Time `json:"date_joined"`
}

func newUserResponse(u *models.User) userResponse {
	return userResponse{ID: u.ID, Name: u.Name, Email: u.Email, IsStaff: u.IsStaff, DateJoined: u.DateJoined.UTC()}
}

// register handles POST /api/auth/register.
func (a *API) register(c *gin.Context) error {
	if wait, ok := a.registerPerIP.Take(c.ClientIP()); !ok {
		return a.throttled("register_ip", wait)
	}
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	var in models.NewUser
	r := newFieldReader(obj, false)
	r.str("name", true, &in.Name)
	r.str("email", true, &in.Email)
	r.str("password", true, &in.Password)
	if err := r.errs.With(in.Clean); err != nil {
		return a.store.WithTakenEmail(c.Request.Context(), err, models.ObjectUser, 0, in.Email)
	}
	in.IsActive = true
	u, err := a.store.CreateUser(c.Request.Context(), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, newUserResponse(u))
	return nil
}

// login handles POST /api/auth/login.
func (a *API) login(c *gin.Context) error {
	if err := a.logins.Admit(c.ClientIP()); err != nil {
		return a.loginRefused(err)
	}
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	var email, password string
	r := newFieldReader(obj, false)
	r.str("email", true, &email)
	r.str("password", true, &password)
	email = strings.TrimSpace(email)
	for field, v := range map[string]string{"email": email, "password": password} {
		if !r.errs.Has(field) && v == "" {
			r.errs.Add(field, "This field may not be blank.")
		}
	}
	if err := r.err(); err != nil {
		return err
	}
	ctx := c.Request.Context()
	user, err := a.logins.Check(ctx, email, password, nil)
	if err != nil {
		return a.loginRefused(err)
	}
	pair, records, err := a.signer.pair(user.ID)
	if err != nil {
		return err
	}
	if _, err := a.store.StartTokenFamily(ctx, user, records...); err != nil {
		return err
	}
	a.logins.LoggedIn()
	c.JSON(http.StatusOK, gin.H{"refresh": pair.Refresh, "access": pair.Access})
	return nil
}

// readRefresh decodes and verifies the "refresh" field of the body.
func (a *API) readRefresh(c *gin.Context) (*claims, error) {
	obj, err := readObject(c)
	if err != nil {
		return nil, err
	}
	var token string
	r := newFieldReader(obj, false)
	r.str("refresh", true, &token)
	if err := r.err(); err != nil {
		return nil, err
	}
	// Trimmed as every string field (simplejwt's CharField trims too).
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, &models.Error{Code: models.Invalid, Message: "This field may not be blank.",
			Fields: map[string][]string{"refresh": {"This field may not be blank."}}}
	}
	return a.signer.verify(token, models.RefreshToken)
}

// refresh handles POST /api/auth/token/refresh: rotation, one use only.
func (a *API) refresh(c *gin.Context) error {
	if wait, ok := a.refreshPerIP.Take(c.ClientIP()); !ok {
		return a.throttled("refresh_ip", wait)
	}
	cl, err := a.readRefresh(c)
	if err != nil {
		return err
	}
	pair, records, err := a.signer.pair(cl.UserID)
	if err != nil {
		return err
	}
	if err := a.store.RotateRefresh(c.Request.Context(), cl.ID, cl.UserID, records...); err != nil {
		return err
	}
	c.JSON(http.StatusOK, pair)
	return nil
}

// logout handles POST /api/auth/logout: revokes the refresh token's login
// and the access token used.
func (a *API) logout(c *gin.Context) error {
	cl, err := a.readRefresh(c)
	if err != nil {
		return err
	}
	user := currentUser(c)
	if cl.UserID != user.ID {
		return &models.Error{Code: models.Unauthorized, Message: "Token is invalid or expired", TokenInvalid: true}
	}
	if err := a.store.Logout(c.Request.Context(), user.ID, cl.ID, currentClaims(c).ID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// logoutAll handles POST /api/auth/logout/all: revokes every token of the
// caller.
func (a *API) logoutAll(c *gin.Context) error {
	if err := a.store.RevokeUserTokens(c.Request.Context(), currentUser(c).ID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// me handles GET /api/auth/me.
func (a *API) me(c *gin.Context) error {
	c.JSON(http.StatusOK, newUserResponse(currentUser(c)))
	return nil
}
