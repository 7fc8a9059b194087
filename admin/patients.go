package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

var patients = newResource(models.ObjectPatient, "patient", "patients", "Patients", false)

var patientColumns = []columnDef{
	{label: "Name", key: "name"}, {label: "Date of birth", key: "date_of_birth"}, {label: "Gender", key: "gender"},
	{label: "Phone", key: "phone"}, {label: "Email", key: "email"}, {label: "Owner", key: "owner"},
	{label: "Created", key: "created_at", times: true},
}

func genderChoices(all string) []choiceDef {
	out := []choiceDef{{all, ""}}
	for _, g := range models.Genders {
		out = append(out, choiceDef{capitalize(g), g})
	}
	return out
}

var patientFilters = []filterDef{
	{key: "gender", title: "gender", choices: genderChoices("All")},
	dateFilter("date created"),
}

func (a *Admin) registerPatients(r routes) {
	r.handle(http.MethodGet, "/patients", a.listPatients)
	a.export(r, "/patients/export", a.exportPatients)
	r.handle(http.MethodGet, "/patients/add", a.addPatient)
	r.handle(http.MethodPost, "/patients/add", a.createPatient)
	r.handle(http.MethodGet, "/patients/:id", a.changePatient)
	r.handle(http.MethodPost, "/patients/:id", a.updatePatient)
	a.registerCommon(r, patients)
}

func patientFilter(ls listState) models.AdminPatientFilter {
	return models.AdminPatientFilter{Gender: ls.get("gender"), OwnerID: ls.id("owner")} // a gender: checkFilters
}

// listPatients handles GET /admin/patients: every patient (staff-wide).
func (a *Admin) listPatients(c *gin.Context) error {
	ls, err := newListState(c, patients)
	if err != nil {
		return err
	}
	page, err := a.store.AdminPatients(c.Request.Context(), patientFilter(ls), ls.query(a.clinicNow()))
	refused, err := searchRefused(err)
	if err != nil {
		return err
	}
	rows := make([]templates.Row, 0, len(page.Items))
	for _, p := range page.Items {
		owner := templates.Cell{}
		if p.CreatedBy != nil {
			owner = templates.Cell{Text: p.CreatedBy.Email}
		}
		rows = append(rows, templates.Row{ID: itoa(p.ID), Label: p.Name, Cells: []templates.Cell{
			{Text: p.Name, URL: ls.objectURL(p.ID)}, {Text: formatDate(p.DateOfBirth)}, {Text: capitalize(p.Gender)},
			{Text: p.Phone}, {Text: p.Email}, owner, {Text: formatTime(p.CreatedAt, a.zone())},
		}})
	}
	cl, err := a.changeList(c, ls, patientColumns, patientFilters, rows, page.AdminPageInfo)
	if err != nil {
		return err
	}
	return a.renderChangeList(c, cl, refused)
}

// exportPatients handles GET /admin/patients/export: the filtered list as CSV.
func (a *Admin) exportPatients(c *gin.Context) error {
	ls, err := exportState(c, patients)
	if err != nil {
		return err
	}
	header := []string{"id", "name", "date_of_birth", "gender", "phone", "email", "address", "medical_history",
		"owner_id", "owner_email", "created_at_utc", "updated_at_utc"}
	return a.writeCSV(c, "patients", header, func(row func(...string) error) error {
		return a.store.EachAdminPatient(c.Request.Context(), patientFilter(ls), ls.query(a.clinicNow()), func(p *models.Patient) error {
			owner := ""
			if p.CreatedBy != nil {
				owner = p.CreatedBy.Email
			}
			return row(itoa(p.ID), p.Name, formatDate(p.DateOfBirth), p.Gender, p.Phone, p.Email, p.Address, p.MedicalHistory,
				itoa(p.CreatedByID), owner, formatTime(p.CreatedAt, time.UTC), formatTime(p.UpdatedAt, time.UTC))
		})
	})
}

// patientFields are the form's inputs.
var patientFields = []string{"name", "date_of_birth", "gender", "phone", "email", "address", "medical_history",
	models.FieldOwner, models.FieldAssignDoctor, models.FieldAssignNotes}

func patientFormValues(p *models.Patient) formValues {
	return formValues{
		"name": p.Name, "date_of_birth": formatDate(p.DateOfBirth), "gender": p.Gender, "phone": p.Phone,
		"email": p.Email, "address": p.Address, "medical_history": p.MedicalHistory,
		models.FieldOwner: itoa(p.CreatedByID),
	}
}

// patientForm builds the add (p nil) or change page, with the patient's
// doctors inline (ms; removed are the rows ticked for removal).
func (a *Admin) patientForm(c *gin.Context, p *models.Patient, v formValues, ms []models.Mapping, removed map[string]bool) (templates.Form, error) {
	var id int64
	var name string
	if p != nil {
		id, name = p.ID, p.Name
	}
	fr, err := a.newFormFrame(c, patients, id, name)
	if err != nil {
		return templates.Form{}, err
	}
	gender := v.selectField("gender", "Gender", genderChoices("")[1:])
	dateOfBirth := withHelp(v.input("date", "date_of_birth", "Date of birth", 0, false), "Not in the future, not before 1900-01-01.")
	dateOfBirth.Min, dateOfBirth.Max = models.EarliestBirth().String(), a.store.Today().String()
	owner := a.fk(c, v, models.FieldOwner, "Owner (the user the record belongs to)", users, true)
	if !currentUser(c).IsSuperuser {
		owner.LookupURL = "" // the user list is for superusers
	}
	record := []templates.Field{owner}
	if p != nil {
		record = append(record, readonly("id", "ID", itoa(p.ID)),
			readonly("created_at", zoned("Created", a.zone()), formatTime(p.CreatedAt, a.zone())),
			readonly("updated_at", zoned("Last changed", a.zone()), formatTime(p.UpdatedAt, a.zone())))
	}
	f := fr.form(templates.Form{
		Fieldsets: []templates.Fieldset{
			{Legend: "Patient", Fields: []templates.Field{
				v.input("text", "name", "Name", 100, true),
				dateOfBirth,
				gender,
			}},
			{Legend: "Contact", Fields: []templates.Field{
				withHelp(v.input("tel", "phone", "Phone", 20, false), "Digits, spaces and + - ( ) only."),
				v.input("email", "email", "Email", 254, false),
				v.input("textarea", "address", "Address", 500, false),
			}},
			{Legend: "Medical", Fields: []templates.Field{
				v.input("textarea", "medical_history", "Medical history", 10000, false),
			}},
			{Legend: "Record", Fields: record},
		},
		Inline: &templates.Inline{
			Title: "Assigned doctors", Columns: []string{"Doctor", "Specialization", "Notes", zoned("Assigned", a.zone())},
			Description: "Tick a doctor to remove the assignment, or choose one below to assign; both happen when you save.",
			RemoveName:  "remove_mapping", Empty: "No doctor is assigned yet.",
			Add: []templates.Field{
				a.fk(c, v, models.FieldAssignDoctor, "Doctor to assign", doctors, false),
				v.input("text", models.FieldAssignNotes, "Notes for the assignment", 1000, false),
			},
		},
	})
	for _, m := range ms {
		row := templates.InlineRow{ID: itoa(m.ID), Label: "#" + itoa(m.DoctorID), Remove: removed[itoa(m.ID)]}
		if m.Doctor != nil {
			row.Label = m.Doctor.Name
			row.Cells = []templates.Cell{{Text: m.Doctor.Name, URL: doctors.objectURL(m.DoctorID)}, {Text: m.Doctor.Specialization}}
		} else {
			row.Cells = []templates.Cell{{Text: row.Label}, {}}
		}
		row.Cells = append(row.Cells, templates.Cell{Text: m.Notes}, templates.Cell{Text: formatTime(m.CreatedAt, a.zone())})
		f.Inline.Rows = append(f.Inline.Rows, row)
	}
	return f, nil
}

func withHelp(f templates.Field, help string) templates.Field {
	f.Help = help
	return f
}

// addPatient handles GET /admin/patients/add.
func (a *Admin) addPatient(c *gin.Context) error {
	v := formValues{"gender": models.GenderUnknown, models.FieldOwner: itoa(currentUser(c).ID)}
	f, err := a.patientForm(c, nil, v, nil, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

// readPatient applies the posted form to p and reads the inline changes.
// Parse errors (a date or id that does not parse) are merged with the
// model's own validation, so every message shows at once; a stored
// patient's values (stored, the patient as read; nil for a new one) are
// judged only where the form changes them.
func (a *Admin) readPatient(c *gin.Context, p, stored *models.Patient) (formValues, models.PatientDoctorChanges, error) {
	v := postedValues(c, patientFields...)
	pe := models.FieldErrors{}
	p.Name, p.Gender, p.Phone, p.Email = v["name"], v["gender"], v["phone"], v["email"]
	p.Address, p.MedicalHistory = v["address"], v["medical_history"]
	parseDate(pe, "date_of_birth", v["date_of_birth"], &p.DateOfBirth)
	parseID(pe, models.FieldOwner, v[models.FieldOwner], &p.CreatedByID)
	var ch models.PatientDoctorChanges
	parseID(pe, models.FieldAssignDoctor, v[models.FieldAssignDoctor], &ch.AddDoctorID)
	ch.AddNotes = v[models.FieldAssignNotes]
	for _, s := range c.PostFormArray("remove_mapping") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			ch.Remove = append(ch.Remove, id)
		}
	}
	if len(pe) > 0 {
		check := *p
		return v, ch, pe.With(func() error { return check.CleanEdit(a.store.Today(), stored) })
	}
	return v, ch, nil
}

// createPatient handles POST /admin/patients/add.
func (a *Admin) createPatient(c *gin.Context) error {
	var p models.Patient
	v, ch, err := a.readPatient(c, &p, nil)
	if err == nil {
		err = a.store.AdminSavePatient(c.Request.Context(), currentUser(c).ID, &p, nil, ch)
	}
	if err != nil {
		return a.formError(c, http.StatusBadRequest, err, func() (templates.Form, error) { return a.patientForm(c, nil, v, nil, nil) })
	}
	return saved(c, a, patients, p.ID, p.Name, true)
}

// changePatient handles GET /admin/patients/{id}: an audited view.
func (a *Admin) changePatient(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	p, err := a.store.AdminViewPatient(ctx, id)
	if err != nil {
		return err
	}
	ms, err := a.store.AdminPatientMappings(ctx, id)
	if err != nil {
		return err
	}
	f, err := a.patientForm(c, p, patientFormValues(p), ms, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

// updatePatient handles POST /admin/patients/{id}: the patient and its
// assigned doctors, saved together or not at all.
func (a *Admin) updatePatient(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	p, err := a.store.AdminPatient(ctx, id)
	if err != nil {
		return err
	}
	orig := *p
	v, ch, err := a.readPatient(c, p, &orig)
	if err == nil {
		err = a.store.AdminSavePatient(ctx, currentUser(c).ID, p, &orig, ch)
	}
	if err == nil {
		return saved(c, a, patients, p.ID, p.Name, false)
	}
	return a.formError(c, http.StatusBadRequest, err, func() (templates.Form, error) {
		// The form sent back names the patient and its doctors: a view.
		if err := a.store.AdminRecordView(ctx, models.ObjectPatient, id); err != nil {
			return templates.Form{}, err
		}
		ms, err := a.store.AdminPatientMappings(ctx, id)
		if err != nil {
			return templates.Form{}, err
		}
		removed := map[string]bool{}
		for _, r := range c.PostFormArray("remove_mapping") {
			removed[r] = true
		}
		return a.patientForm(c, &orig, v, ms, removed)
	})
}
