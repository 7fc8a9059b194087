package admin

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// passwordChangePath is where staff change their own password (Django
// admin's password_change): the superusers' "Set password" of the users
// list is for other accounts, and staff who are not superusers have no
// users list at all.
const passwordChangePath = "/admin/password_change/"

// passwordChangePage handles GET /admin/password_change.
func (a *Admin) passwordChangePage(c *gin.Context) error {
	f, err := a.passwordChangeForm(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

func (a *Admin) passwordChangeForm(c *gin.Context) (templates.Form, error) {
	l, err := a.layout(c, "Password change", "", templates.Link{Label: "Password change"})
	if err != nil {
		return templates.Form{}, err
	}
	v := formValues{}
	return templates.Form{
		Layout: l, Model: "password-change", Heading: "Password change", Action: passwordChangePath,
		SubmitLabel: "Change my password",
		Fieldsets: []templates.Fieldset{{
			Description: "Enter your old password, for security’s sake, and then your new password twice. " +
				"Your other admin sessions end and your API tokens are revoked; this one stays signed in.",
			Fields: []templates.Field{
				withAutocomplete(v.input("password", "old_password", "Old password", 128, true), "current-password"),
				withHelp(v.input("password", "new_password1", "New password", 128, true),
					"At least 8 characters, not entirely numeric, not a common password, not too similar to your name or email."),
				withHelp(v.input("password", "new_password2", "New password confirmation", 128, true), "Enter the same password again."),
			},
		}},
	}, nil
}

// passwordChange handles POST /admin/password_change: the signed-in user's
// own password, the old one given.
func (a *Admin) passwordChange(c *gin.Context) error {
	u := sessionUser(c)
	password, mismatch := confirmedPassword(c, "new_password1", "new_password2")
	err := a.logins.ChangePassword(c.Request.Context(), u, posted(c, "old_password"), "new_password2", password, session(c).ID(), mismatch)
	status := http.StatusBadRequest
	if th := (*models.Throttled)(nil); errors.As(err, &th) {
		status, err = http.StatusTooManyRequests, models.FieldErrors{"old_password": {a.throttled(c, th)}}.Err()
	}
	if err != nil {
		return a.formError(c, status, err, func() (templates.Form, error) { return a.passwordChangeForm(c) })
	}
	if err := a.passwordChanged(c, u.ID); err != nil {
		return err
	}
	a.flash(c, "success", "Your password was changed.")
	return redirect(c, "/admin/")
}

// passwordChanged keeps this session signed in after its user's password
// changed (Django's update_session_auth_hash): its auth hash follows the
// new password, and it moves to a new token, timeouts kept, with a new
// CSRF token, so a copy of its cookie from before the change, the very
// thing a password change is meant to shut out, ends with it.
func (a *Admin) passwordChanged(c *gin.Context, userID int64) error {
	u, err := a.store.User(c.Request.Context(), userID)
	if err != nil {
		return err
	}
	s := session(c)
	s.Set(keyAuthHash, sessionAuthHash(u))
	s.Set(keyCycle, true)
	s.Set(keyCSRF, newCSRFToken())
	return nil
}

// withAutocomplete sets a field's autocomplete hint.
func withAutocomplete(f templates.Field, hint string) templates.Field {
	f.Autocomplete = hint
	return f
}
