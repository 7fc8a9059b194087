package admin

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

var mappings = newResource(models.ObjectMapping, "mapping", "mappings", "Mappings", false)

var mappingColumns = []columnDef{
	{label: "ID", key: "id", numeric: true}, {label: "Patient", key: "patient"}, {label: "Doctor", key: "doctor"},
	{label: "Specialization", key: "specialization"}, {label: "Notes", key: "notes"}, {label: "Assigned by", key: "created_by"},
	{label: "Assigned", key: "created_at", times: true},
}

func (a *Admin) registerMappings(r routes) {
	r.handle(http.MethodGet, "/mappings", a.listMappings)
	a.export(r, "/mappings/export", a.exportMappings)
	r.handle(http.MethodGet, "/mappings/add", a.addMapping)
	r.handle(http.MethodPost, "/mappings/add", a.createMapping)
	r.handle(http.MethodGet, "/mappings/:id", a.changeMapping)
	r.handle(http.MethodPost, "/mappings/:id", a.updateMapping)
	a.registerCommon(r, mappings)
}

// mappingFilter is the list's and the export's filter.
func mappingFilter(ls listState) models.AdminMappingFilter {
	return models.AdminMappingFilter{
		PatientID: ls.id("patient"), DoctorID: ls.id("doctor"),
		Specialization: ls.get("specialization"),
	}
}

// listMappings handles GET /admin/mappings: every assignment of a doctor
// to a patient; ?patient= and ?doctor= narrow it to one of either.
func (a *Admin) listMappings(c *gin.Context) error {
	ls, err := newListState(c, mappings)
	if err != nil {
		return err
	}
	filters, err := a.specializationFilters(c, "doctor's specialization", "date assigned")
	if err != nil {
		return err
	}
	page, err := a.store.AdminMappings(c.Request.Context(), mappingFilter(ls), ls.query(a.clinicNow()))
	refused, err := searchRefused(err)
	if err != nil {
		return err
	}
	rows := make([]templates.Row, 0, len(page.Items))
	for _, m := range page.Items {
		m := m
		row := templates.Row{ID: itoa(m.ID), Label: mappingLabel(&m), Cells: []templates.Cell{
			{Text: "#" + itoa(m.ID), URL: ls.objectURL(m.ID)},
		}}
		if m.Patient != nil {
			row.Cells = append(row.Cells, templates.Cell{Text: m.Patient.Name, URL: patients.objectURL(m.PatientID)})
		} else {
			row.Cells = append(row.Cells, templates.Cell{Text: "#" + itoa(m.PatientID)})
		}
		spec := ""
		if m.Doctor != nil {
			row.Cells = append(row.Cells, templates.Cell{Text: m.Doctor.Name, URL: doctors.objectURL(m.DoctorID)})
			spec = m.Doctor.Specialization
		} else {
			row.Cells = append(row.Cells, templates.Cell{Text: "#" + itoa(m.DoctorID)})
		}
		by := ""
		if m.CreatedBy != nil {
			by = m.CreatedBy.Email
		}
		row.Cells = append(row.Cells, templates.Cell{Text: spec}, templates.Cell{Text: ellipsis(m.Notes, 80)},
			templates.Cell{Text: by}, templates.Cell{Text: formatTime(m.CreatedAt, a.zone())})
		rows = append(rows, row)
	}
	cl, err := a.changeList(c, ls, mappingColumns, filters, rows, page.AdminPageInfo)
	if err != nil {
		return err
	}
	return a.renderChangeList(c, cl, refused)
}

// exportMappings handles GET /admin/mappings/export.
func (a *Admin) exportMappings(c *gin.Context) error {
	ls, err := exportState(c, mappings)
	if err != nil {
		return err
	}
	f := mappingFilter(ls)
	header := []string{"id", "patient_id", "patient_name", "doctor_id", "doctor_name", "specialization", "notes", "created_by", "created_at_utc"}
	return a.writeCSV(c, "mappings", header, func(row func(...string) error) error {
		return a.store.EachAdminMapping(c.Request.Context(), f, ls.query(a.clinicNow()), func(m *models.Mapping) error {
			pname, dname, spec, by := "", "", "", ""
			if m.Patient != nil {
				pname = m.Patient.Name
			}
			if m.Doctor != nil {
				dname, spec = m.Doctor.Name, m.Doctor.Specialization
			}
			if m.CreatedBy != nil {
				by = m.CreatedBy.Email
			}
			return row(itoa(m.ID), itoa(m.PatientID), pname, itoa(m.DoctorID), dname, spec, m.Notes, by, formatTime(m.CreatedAt, time.UTC))
		})
	})
}

var mappingFields = []string{"patient_id", "doctor_id", "notes"}

func (a *Admin) mappingForm(c *gin.Context, m *models.Mapping, v formValues) (templates.Form, error) {
	var id int64
	var name string
	if m != nil {
		id, name = m.ID, mappingLabel(m)
	}
	fr, err := a.newFormFrame(c, mappings, id, name)
	if err != nil {
		return templates.Form{}, err
	}
	f := fr.form(templates.Form{
		Fieldsets: []templates.Fieldset{{Legend: "Assignment", Fields: []templates.Field{
			a.fk(c, v, "patient_id", "Patient", patients, true),
			a.fk(c, v, "doctor_id", "Doctor", doctors, true),
			v.input("textarea", "notes", "Notes", 1000, false),
		}}},
	})
	if m != nil {
		by := ""
		if m.CreatedBy != nil {
			by = m.CreatedBy.Email
		}
		f.Fieldsets = append(f.Fieldsets, templates.Fieldset{Legend: "Record", Fields: []templates.Field{
			readonly("id", "ID", itoa(m.ID)), readonly("created_by", "Assigned by", by),
			readonly("created_at", zoned("Assigned", a.zone()), formatTime(m.CreatedAt, a.zone())),
		}})
	}
	return f, nil
}

// addMapping handles GET /admin/mappings/add (?patient= and ?doctor=
// prefill the choice).
func (a *Admin) addMapping(c *gin.Context) error {
	v := formValues{"patient_id": c.Query("patient"), "doctor_id": c.Query("doctor")}
	f, err := a.mappingForm(c, nil, v)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

func readMapping(c *gin.Context, m *models.Mapping) (formValues, error) {
	v := postedValues(c, mappingFields...)
	pe := models.FieldErrors{}
	parseID(pe, "patient_id", v["patient_id"], &m.PatientID)
	parseID(pe, "doctor_id", v["doctor_id"], &m.DoctorID)
	m.Notes = v["notes"]
	return v, pe.Err()
}

// mappingFormError sends the mapping form back with err's messages; a
// stored mapping's form names its patient, so sending it back is a view.
func (a *Admin) mappingFormError(c *gin.Context, m *models.Mapping, v formValues, err error) error {
	return a.formError(c, http.StatusBadRequest, err, func() (templates.Form, error) {
		if m != nil {
			if err := a.store.AdminRecordView(c.Request.Context(), models.ObjectMapping, m.ID); err != nil {
				return templates.Form{}, err
			}
		}
		return a.mappingForm(c, m, v)
	})
}

// createMapping handles POST /admin/mappings/add.
func (a *Admin) createMapping(c *gin.Context) error {
	var m models.Mapping
	v, err := readMapping(c, &m)
	if err == nil {
		err = a.store.AdminSaveMapping(c.Request.Context(), currentUser(c).ID, &m)
	}
	if err != nil {
		return a.mappingFormError(c, nil, v, err)
	}
	return saved(c, a, mappings, m.ID, a.objectName(c.Request.Context(), mappings, m.ID), true)
}

// changeMapping handles GET /admin/mappings/{id}: it names the patient,
// so it is an audited view.
func (a *Admin) changeMapping(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := a.store.AdminViewMapping(c.Request.Context(), id)
	if err != nil {
		return err
	}
	v := formValues{"patient_id": itoa(m.PatientID), "doctor_id": itoa(m.DoctorID), "notes": m.Notes}
	f, err := a.mappingForm(c, m, v)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.FormPage(f))
}

// updateMapping handles POST /admin/mappings/{id}.
func (a *Admin) updateMapping(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	m, err := a.store.AdminMapping(ctx, id)
	if err != nil {
		return err
	}
	orig := *m
	v, err := readMapping(c, m)
	if err == nil {
		err = a.store.AdminSaveMapping(ctx, currentUser(c).ID, m)
	}
	if err != nil {
		return a.mappingFormError(c, &orig, v, err)
	}
	return saved(c, a, mappings, m.ID, a.objectName(ctx, mappings, m.ID), false)
}
