package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

var doctors = newResource(models.ObjectDoctor, "doctor", "doctors", "Doctors", false)

var doctorColumns = []columnDef{
	{label: "Name", key: "name"}, {label: "Specialization", key: "specialization"}, {label: "Email", key: "email"},
	{label: "Phone", key: "phone"}, {label: "Experience (years)", key: "years_of_experience", numeric: true},
	{label: "Created", key: "created_at", times: true},
}

func (a *Admin) registerDoctors(r routes) {
	r.handle(http.MethodGet, "/doctors", a.listDoctors)
	a.export(r, "/doctors/export", a.exportDoctors)
	r.handle(http.MethodGet, "/doctors/add", a.addDoctor)
	r.handle(http.MethodPost, "/doctors/add", a.createDoctor)
	r.handle(http.MethodGet, "/doctors/:id", a.changeDoctor)
	r.handle(http.MethodPost, "/doctors/:id", a.updateDoctor)
	a.registerCommon(r, doctors)
}

// specializationFilters offers the specializations there are (title names
// the filter) and a date filter. The list matches ?specialization= as its
// export and the API do, in any case, whether or not it is one offered.
func (a *Admin) specializationFilters(c *gin.Context, title, dateTitle string) ([]filterDef, error) {
	specs, err := a.store.Specializations(c.Request.Context())
	if err != nil {
		return nil, err
	}
	f := filterDef{key: "specialization", title: title, choices: []choiceDef{{"All", ""}}}
	for _, s := range specs {
		f.choices = append(f.choices, choiceDef{s, s})
	}
	return []filterDef{f, dateFilter(dateTitle)}, nil
}

// listDoctors handles GET /admin/doctors.
func (a *Admin) listDoctors(c *gin.Context) error {
	ls, err := newListState(c, doctors)
	if err != nil {
		return err
	}
	filters, err := a.specializationFilters(c, "specialization", "date created")
	if err != nil {
		return err
	}
	f := models.AdminDoctorFilter{Specialization: ls.get("specialization")}
	page, err := a.store.AdminDoctors(c.Request.Context(), f, ls.query(a.clinicNow()))
	refused, err := searchRefused(err)
	if err != nil {
		return err
	}
	rows := make([]templates.Row, 0, len(page.Items))
	for _, d := range page.Items {
		rows = append(rows, templates.Row{ID: itoa(d.ID), Label: d.Name, Cells: []templates.Cell{
			{Text: d.Name, URL: ls.objectURL(d.ID)}, {Text: d.Specialization}, {Text: d.Email}, {Text: d.Phone},
			{Text: strconv.Itoa(d.YearsOfExperience)}, {Text: formatTime(d.CreatedAt, a.zone())},
		}})
	}
	cl, err := a.changeList(c, ls, doctorColumns, filters, rows, page.AdminPageInfo)
	if err != nil {
		return err
	}
	return a.renderChangeList(c, cl, refused)
}

// exportDoctors handles GET /admin/doctors/export.
func (a *Admin) exportDoctors(c *gin.Context) error {
	ls, err := exportState(c, doctors)
	if err != nil {
		return err
	}
	f := models.AdminDoctorFilter{Specialization: ls.get("specialization")}
	header := []string{"id", "name", "specialization", "email", "phone", "years_of_experience", "created_by_id", "created_at_utc", "updated_at_utc"}
	return a.writeCSV(c, "doctors", header, func(row func(...string) error) error {
		return a.store.EachAdminDoctor(c.Request.Context(), f, ls.query(a.clinicNow()), func(d *models.Doctor) error {
			by := ""
			if d.CreatedByID != nil {
				by = itoa(*d.CreatedByID)
			}
			return row(itoa(d.ID), d.Name, d.Specialization, d.Email, d.Phone, strconv.Itoa(d.YearsOfExperience),
				by, formatTime(d.CreatedAt, time.UTC), formatTime(d.UpdatedAt, time.UTC))
		})
	})
}

var doctorFields = []string{"name", "specialization", "email", "phone", "years_of_experience"}

func doctorFormValues(d *models.Doctor) formValues {
	return formValues{"name": d.Name, "specialization": d.Specialization, "email": d.Email, "phone": d.Phone,
		"years_of_experience": strconv.Itoa(d.YearsOfExperience)}
}

func (a *Admin) doctorForm(c *gin.Context, d *models.Doctor, v formValues) (templates.Form, error) {
	var id int64
	var name string
	if d != nil {
		id, name = d.ID, d.Name
	}
	fr, err := a.newFormFrame(c, doctors, id, name)
	if err != nil {
		return templates.Form{}, err
	}
	years := v.input("number", "years_of_experience", "Years of experience", 0, false)
	years.Help = "A whole number from 0 to 80."
	years.Min, years.Max = "0", strconv.Itoa(models.MaxYearsOfExperience)
	f := fr.form(templates.Form{
		Fieldsets: []templates.Fieldset{
			{Legend: "Doctor", Fields: []templates.Field{
				v.input("text", "name", "Name", 100, true),
				v.input("text", "specialization", "Specialization", 100, true),
				years,
			}},
			{Legend: "Contact", Fields: []templates.Field{
				withHelp(v.input("email", "email", "Email", 254, true), "Unique among doctors."),
				withHelp(v.input("tel", "phone", "Phone", 20, false), "Digits, spaces and + - ( ) only."),
			}},
		},
	}, templates.Link{Label: "Assignments", URL: mappings.path + "?doctor=" + itoa(fr.id), TestID: "assignments-link"})
	if d != nil {
		by := ""
		if d.CreatedByID != nil {
			if item, err := a.store.LookupLabel(c.Request.Context(), models.ObjectUser, *d.CreatedByID); err == nil {
				by = item.Label
			}
		}
		f.Fieldsets = append(f.Fieldsets, templates.Fieldset{Legend: "Record", Fields: []templates.Field{
			readonly("id", "ID", itoa(d.ID)), readonly("created_by", "Added by", by),
			readonly("created_at", zoned("Created", a.zone()), formatTime(d.CreatedAt, a.zone())),
			readonly("updated_at", zoned("Last changed", a.zone()), formatTime(d.UpdatedAt, a.zone())),
		}})
	}
	return f, nil
}

// addDoctor handles GET /admin/doctors/add.
func (a *Admin) addDoctor(c *gin.Context) error {
	f, err := a.doctorForm(c, nil, formValues{"years_of_experience": "0"})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

// readDoctor applies the posted form to d, an edit of stored (see
// readPatient).
func readDoctor(c *gin.Context, d, stored *models.Doctor) (formValues, error) {
	v := postedValues(c, doctorFields...)
	d.Name, d.Specialization, d.Email, d.Phone = v["name"], v["specialization"], v["email"], v["phone"]
	pe := models.FieldErrors{}
	parseInt(pe, "years_of_experience", v["years_of_experience"], 0, &d.YearsOfExperience)
	if len(pe) > 0 {
		check := *d
		return v, pe.With(func() error { return check.CleanEdit(stored) })
	}
	return v, nil
}

// createDoctor handles POST /admin/doctors/add.
func (a *Admin) createDoctor(c *gin.Context) error {
	var d models.Doctor
	v, err := readDoctor(c, &d, nil)
	if err == nil {
		err = a.store.CreateDoctor(c.Request.Context(), currentUser(c).ID, &d)
	} else {
		err = a.store.WithTakenEmail(c.Request.Context(), err, models.ObjectDoctor, 0, d.Email)
	}
	if err != nil {
		return a.formError(c, http.StatusBadRequest, err, func() (templates.Form, error) { return a.doctorForm(c, nil, v) })
	}
	return saved(c, a, doctors, d.ID, d.Name, true)
}

// changeDoctor handles GET /admin/doctors/{id}.
func (a *Admin) changeDoctor(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	d, err := a.store.Doctor(c.Request.Context(), id)
	if err != nil {
		return err
	}
	f, err := a.doctorForm(c, d, doctorFormValues(d))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

// updateDoctor handles POST /admin/doctors/{id}.
func (a *Admin) updateDoctor(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	d, err := a.store.Doctor(c.Request.Context(), id)
	if err != nil {
		return err
	}
	orig, posted := *d, *d
	v, err := readDoctor(c, &posted, &orig)
	if err != nil {
		err = a.store.WithTakenEmail(c.Request.Context(), err, models.ObjectDoctor, id, posted.Email)
	} else {
		// The form replaces every field, as Django's admin does
		// (UpdateDoctor keeps the row's id, creator and timestamps).
		d, err = a.store.UpdateDoctor(c.Request.Context(), id, func(d *models.Doctor) error {
			*d = posted
			return nil
		})
	}
	if err != nil {
		return a.formError(c, http.StatusBadRequest, err, func() (templates.Form, error) { return a.doctorForm(c, &orig, v) })
	}
	return saved(c, a, doctors, d.ID, d.Name, false)
}
