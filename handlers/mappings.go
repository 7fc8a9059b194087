package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// mappingResponse is a mapping with its doctor.
type mappingResponse struct {
	ID        int64           `json:"id"`
	PatientID int64           `json:"patient_id"`
	DoctorID  int64           `json:"doctor_id"`
	Doctor    *doctorResponse `json:"doctor"`
	Notes     string          `json:"notes"`
	CreatedBy *int64          `json:"created_by"`
	CreatedAt time.Time       `json:"created_at"`
}

func newMappingResponse(m *models.Mapping) mappingResponse {
	r := mappingResponse{ID: m.ID, PatientID: m.PatientID, DoctorID: m.DoctorID, Notes: m.Notes,
		CreatedBy: m.CreatedByID, CreatedAt: m.CreatedAt.UTC()}
	if m.Doctor != nil {
		d := newDoctorResponse(m.Doctor)
		r.Doctor = &d
	}
	return r
}

func (a *API) registerMappings(r routes) {
	r.handle(http.MethodPost, "/mappings", a.createMapping)
	r.handle(http.MethodGet, "/mappings", a.listMappings)
	r.handle(http.MethodGet, "/mappings/:id", a.patientDoctors)
	r.handle(http.MethodDelete, "/mappings/delete/:id", a.deleteMapping, bodyIgnored)
}

// createMapping handles POST /api/mappings.
func (a *API) createMapping(c *gin.Context) error {
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	var m models.Mapping
	r := newFieldReader(obj, false)
	r.pk("patient_id", &m.PatientID)
	r.pk("doctor_id", &m.DoctorID)
	r.str("notes", false, &m.Notes)
	if err := r.err(); err != nil {
		return err
	}
	if err := a.store.CreateMapping(c.Request.Context(), currentUser(c).ID, &m); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, newMappingResponse(&m))
	return nil
}

// listMappings handles GET /api/mappings: mappings of the caller's own
// patients, filtered by ?patient_id= and ?doctor_id=.
func (a *API) listMappings(c *gin.Context) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	var filter models.MappingFilter
	// Every invalid filter is reported, as django-filter does.
	invalid := models.FieldErrors{}
	for _, f := range []struct {
		param string
		dst   *int64
	}{{"patient_id", &filter.PatientID}, {"doctor_id", &filter.DoctorID}} {
		raw, ok := c.GetQuery(f.param)
		if !ok || raw == "" {
			continue
		}
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id < 1 {
			invalid.Add(f.param, "Select a valid choice. That choice is not one of the available choices.")
			continue
		}
		*f.dst = id
	}
	if len(invalid) > 0 {
		return &models.Error{Code: models.Invalid, Message: "Invalid filter.", Fields: invalid}
	}
	page, err := a.store.Mappings(c.Request.Context(), currentUser(c).ID, filter, q)
	if err != nil {
		return err
	}
	writePage(c, q, page, newMappingResponse)
	return nil
}

// patientDoctors handles GET /api/mappings/{patient_id}: every doctor of
// one of the caller's patients.
func (a *API) patientDoctors(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	doctors, err := a.store.PatientDoctors(c.Request.Context(), currentUser(c).ID, id)
	if err != nil {
		return err
	}
	out := make([]doctorResponse, len(doctors))
	for i := range doctors {
		out[i] = newDoctorResponse(&doctors[i])
	}
	c.JSON(http.StatusOK, gin.H{"patient_id": id, "doctors": out})
	return nil
}

// deleteMapping handles DELETE /api/mappings/delete/{id}.
func (a *API) deleteMapping(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.store.DeleteMapping(c.Request.Context(), currentUser(c).ID, id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
