package admin

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// users is superusers' only: staff who are not superusers manage patients,
// doctors and mappings, not accounts.
var users = newResource(models.ObjectUser, "user", "users", "Users", true)

var userColumns = []columnDef{
	{label: "Email", key: "email"}, {label: "Name", key: "name"}, {label: "Active", key: "is_active"},
	{label: "Staff", key: "is_staff"}, {label: "Superuser", key: "is_superuser"},
	{label: "Joined", key: "date_joined", times: true}, {label: "Last login", key: "last_login", times: true},
}

var yesNoChoices = []choiceDef{{"All", ""}, {"Yes", "1"}, {"No", "0"}}

var userFilters = []filterDef{
	{key: "is_staff", title: "staff status", choices: yesNoChoices},
	{key: "is_superuser", title: "superuser status", choices: yesNoChoices},
	{key: "is_active", title: "active", choices: yesNoChoices},
	dateFilter("date joined"),
}

func (a *Admin) registerUsers(r routes) {
	r.handle(http.MethodGet, "/users", a.listUsers)
	a.export(r, "/users/export", a.exportUsers)
	r.handle(http.MethodGet, "/users/add", a.addUser)
	r.handle(http.MethodPost, "/users/add", a.createUser)
	r.handle(http.MethodGet, "/users/:id", a.changeUser)
	r.handle(http.MethodPost, "/users/:id", a.updateUser)
	a.registerCommon(r, users)
}

func userFilter(ls listState) models.AdminUserFilter {
	return models.AdminUserFilter{IsStaff: ls.boolChoice("is_staff"), IsSuperuser: ls.boolChoice("is_superuser"), IsActive: ls.boolChoice("is_active")}
}

// listUsers handles GET /admin/users.
func (a *Admin) listUsers(c *gin.Context) error {
	ls, err := newListState(c, users)
	if err != nil {
		return err
	}
	page, err := a.store.AdminUsers(c.Request.Context(), userFilter(ls), ls.query(a.clinicNow()))
	refused, err := searchRefused(err)
	if err != nil {
		return err
	}
	rows := make([]templates.Row, 0, len(page.Items))
	for _, u := range page.Items {
		rows = append(rows, templates.Row{ID: itoa(u.ID), Label: u.Email, Cells: []templates.Cell{
			{Text: u.Email, URL: ls.objectURL(u.ID)}, {Text: u.Name}, yesNo(u.IsActive), yesNo(u.IsStaff),
			yesNo(u.IsSuperuser), {Text: formatTime(u.DateJoined, a.zone())}, {Text: formatTimePtr(u.LastLogin, a.zone())},
		}})
	}
	cl, err := a.changeList(c, ls, userColumns, userFilters, rows, page.AdminPageInfo)
	if err != nil {
		return err
	}
	return a.renderChangeList(c, cl, refused)
}

// exportUsers handles GET /admin/users/export (never the password hash).
func (a *Admin) exportUsers(c *gin.Context) error {
	ls, err := exportState(c, users)
	if err != nil {
		return err
	}
	header := []string{"id", "email", "name", "is_active", "is_staff", "is_superuser", "date_joined_utc", "last_login_utc"}
	return a.writeCSV(c, "users", header, func(row func(...string) error) error {
		return a.store.EachAdminUser(c.Request.Context(), userFilter(ls), ls.query(a.clinicNow()), func(u *models.User) error {
			return row(itoa(u.ID), u.Email, u.Name, boolText(u.IsActive), boolText(u.IsStaff), boolText(u.IsSuperuser),
				formatTime(u.DateJoined, time.UTC), formatTimePtr(u.LastLogin, time.UTC))
		})
	})
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (a *Admin) userForm(c *gin.Context, u *models.User, v formValues) (templates.Form, error) {
	var id int64
	var name string
	if u != nil {
		id, name = u.ID, u.Email
	}
	fr, err := a.newFormFrame(c, users, id, name)
	if err != nil {
		return templates.Form{}, err
	}
	account := []templates.Field{
		v.input("text", "name", "Name", 150, true),
		v.input("email", "email", "Email", 254, true),
	}
	if u == nil {
		account = append(account,
			withHelp(v.input("password", "password", "Password", 128, true),
				"At least 8 characters, not entirely numeric, not a common password, not too similar to the name or email."),
			withHelp(v.input("password", "password2", "Password confirmation", 128, true), "Enter the same password again."))
	}
	f := fr.form(templates.Form{
		Fieldsets: []templates.Fieldset{
			{Legend: "Account", Fields: account},
			{Legend: "Permissions", Description: "Only superusers can open this page, and so only they grant staff or superuser status.",
				Fields: []templates.Field{
					v.checkbox("is_active", "Active", "Unticking this ends the user's sessions and API tokens instead of deleting the account."),
					v.checkbox("is_staff", "Staff status", "Staff can log into this panel and manage patients, doctors and mappings."),
					v.checkbox("is_superuser", "Superuser status", "Superusers also manage users and read the audit log."),
				}},
		},
	},
		templates.Link{Label: "Set password", URL: users.objectURL(fr.id) + "password/", TestID: "password-link"},
		templates.Link{Label: "Patients", URL: patients.path + "?owner=" + itoa(fr.id), TestID: "patients-link"})
	if u != nil {
		f.Fieldsets = append(f.Fieldsets, templates.Fieldset{Legend: "Record", Fields: []templates.Field{
			readonly("password_info", "Password",
				"Set. Passwords are stored as one-way hashes, so there is no way to see one; use the password form to set a new one."),
			readonly("id", "ID", itoa(u.ID)),
			readonly("date_joined", zoned("Joined", a.zone()), formatTime(u.DateJoined, a.zone())),
			readonly("last_login", zoned("Last login", a.zone()), formatTimePtr(u.LastLogin, a.zone())),
		}})
	}
	return f, nil
}

// addUser handles GET /admin/users/add.
func (a *Admin) addUser(c *gin.Context) error {
	f, err := a.userForm(c, nil, formValues{"is_active": "on"})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

// msgPasswordMismatch is Django's message for two different passwords.
const msgPasswordMismatch = "The two password fields didn’t match."

// confirmedPassword returns the password posted in field, and the error
// under confirm when the confirmation posted there differs (empty if not).
func confirmedPassword(c *gin.Context, field, confirm string) (string, models.FieldErrors) {
	password, mismatch := posted(c, field), models.FieldErrors{}
	if posted(c, confirm) != password {
		mismatch.Add(confirm, msgPasswordMismatch)
	}
	return password, mismatch
}

// createUser handles POST /admin/users/add.
func (a *Admin) createUser(c *gin.Context) error {
	v := postedValues(c, "name", "email", "password", "password2", "is_active", "is_staff", "is_superuser")
	password, mismatch := confirmedPassword(c, "password", "password2")
	in := models.NewUser{Name: v["name"], Email: v["email"], Password: password,
		IsActive: v["is_active"] != "", IsStaff: v["is_staff"] != "", IsSuperuser: v["is_superuser"] != ""}
	var err error
	if len(mismatch) > 0 {
		check := in
		err = a.store.WithTakenEmail(c.Request.Context(), mismatch.With(check.Clean), models.ObjectUser, 0, in.Email)
	} else {
		var u *models.User
		u, err = a.store.AdminCreateUser(c.Request.Context(), currentUser(c), in)
		if err == nil {
			return saved(c, a, users, u.ID, u.Email, true)
		}
	}
	return a.formError(c, http.StatusBadRequest, err, func() (templates.Form, error) { return a.userForm(c, nil, v) })
}

// changeUser handles GET /admin/users/{id}.
func (a *Admin) changeUser(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	u, err := a.store.User(c.Request.Context(), id)
	if err != nil {
		return err
	}
	v := formValues{"name": u.Name, "email": u.Email, "is_active": onOff(u.IsActive), "is_staff": onOff(u.IsStaff),
		"is_superuser": onOff(u.IsSuperuser)}
	f, err := a.userForm(c, u, v)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

// updateUser handles POST /admin/users/{id}.
func (a *Admin) updateUser(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	u, err := a.store.User(ctx, id)
	if err != nil {
		return err
	}
	v := postedValues(c, "name", "email", "is_active", "is_staff", "is_superuser")
	ch := models.UserChanges{Name: v["name"], Email: v["email"],
		IsActive: v["is_active"] != "", IsStaff: v["is_staff"] != "", IsSuperuser: v["is_superuser"] != ""}
	updated, err := a.store.AdminUpdateUser(ctx, currentUser(c), id, ch)
	if err != nil {
		return a.formError(c, http.StatusBadRequest, err, func() (templates.Form, error) { return a.userForm(c, u, v) })
	}
	return saved(c, a, users, updated.ID, updated.Email, false)
}

// passwordPage handles GET /admin/users/{id}/password.
func (a *Admin) passwordPage(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	u, err := a.store.User(c.Request.Context(), id)
	if err != nil {
		return err
	}
	f, err := a.passwordForm(c, u)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

func (a *Admin) passwordForm(c *gin.Context, u *models.User) (templates.Form, error) {
	l, err := a.layout(c, "Set password", users.objectType, templates.Link{Label: users.title, URL: users.path},
		templates.Link{Label: u.Email, URL: users.objectURL(u.ID)}, templates.Link{Label: "Set password"})
	if err != nil {
		return templates.Form{}, err
	}
	v := formValues{}
	return templates.Form{
		Layout: l, Model: "password", Heading: "Set password: " + u.Email, Action: users.objectURL(u.ID) + "password/",
		SubmitLabel: "Set password",
		Fieldsets: []templates.Fieldset{{
			Legend:      "New password",
			Description: "Setting a password ends this user's other admin sessions and revokes their API tokens.",
			Fields: []templates.Field{
				withHelp(v.input("password", "password", "Password", 128, true),
					"At least 8 characters, not entirely numeric, not a common password, not too similar to the name or email."),
				withHelp(v.input("password", "password2", "Password confirmation", 128, true), "Enter the same password again."),
			},
		}},
	}, nil
}

// setPassword handles POST /admin/users/{id}/password. The current
// session survives when superusers set their own password.
func (a *Admin) setPassword(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	u, err := a.store.User(ctx, id)
	if err != nil {
		return err
	}
	password, mismatch := confirmedPassword(c, "password", "password2")
	if err = mismatch.Err(); err == nil {
		err = a.store.AdminSetUserPassword(ctx, currentUser(c), id, password, session(c).ID())
	}
	if err != nil {
		return a.formError(c, http.StatusBadRequest, err, func() (templates.Form, error) { return a.passwordForm(c, u) })
	}
	if id == currentUser(c).ID {
		// Superusers setting their own: this session stays, as at
		// /admin/password_change/.
		if err := a.passwordChanged(c, id); err != nil {
			return err
		}
	}
	a.flash(c, "success", "Password changed successfully for "+u.Email+".")
	return redirect(c, users.objectURL(id))
}
