package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// patientResponse is a patient as the API shows it. Unset optional strings
// are "" and an unset date is null, never left out.
type patientResponse struct {
	ID             int64        `json:"id"`
	Name           string       `json:"name"`
	DateOfBirth    *models.Date `json:"date_of_birth"`
	Gender         string       `json:"gender"`
	Phone          string       `json:"phone"`
	Email          string       `json:"email"`
	Address        string       `json:"address"`
	MedicalHistory string       `json:"medical_history"`
	CreatedBy      int64        `json:"created_by"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

func newPatientResponse(p *models.Patient) patientResponse {
	return patientResponse{
		ID: p.ID, Name: p.Name, DateOfBirth: p.DateOfBirth, Gender: p.Gender, Phone: p.Phone,
		Email: p.Email, Address: p.Address, MedicalHistory: p.MedicalHistory,
		CreatedBy: p.CreatedByID, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
}

func (a *API) registerPatients(r routes) {
	r.handle(http.MethodPost, "/patients", a.createPatient)
	r.handle(http.MethodGet, "/patients", a.listPatients)
	r.handle(http.MethodGet, "/patients/:id", a.getPatient)
	r.handle(http.MethodPut, "/patients/:id", a.updatePatient)
	r.handle(http.MethodPatch, "/patients/:id", a.updatePatient)
	r.handle(http.MethodDelete, "/patients/:id", a.deletePatient, bodyIgnored)
}

// readPatient applies a create's body onto p: the required fields must be
// present. (Updates read theirs through bodyEdit.)
func (a *API) readPatient(c *gin.Context, p *models.Patient) error {
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	return a.setPatient(obj, p, false)
}

// setPatient sets p's fields from the request body obj, as readPatient.
func (a *API) setPatient(obj object, p *models.Patient, partial bool) error {
	stored := models.StoredCopy(p, p.ID)
	r := newFieldReader(obj, partial)
	r.str("name", true, &p.Name)
	r.date("date_of_birth", &p.DateOfBirth)
	r.str("gender", false, &p.Gender)
	r.str("phone", false, &p.Phone)
	r.str("email", false, &p.Email)
	r.str("address", false, &p.Address)
	r.str("medical_history", false, &p.MedicalHistory)
	return r.errs.With(func() error { return p.CleanEdit(a.store.Today(), stored) })
}

// createPatient handles POST /api/patients.
func (a *API) createPatient(c *gin.Context) error {
	var p models.Patient
	if err := a.readPatient(c, &p); err != nil {
		return err
	}
	if err := a.store.CreatePatient(c.Request.Context(), currentUser(c).ID, &p); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, newPatientResponse(&p))
	return nil
}

// listPatients handles GET /api/patients: the caller's patients only.
func (a *API) listPatients(c *gin.Context) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	page, err := a.store.Patients(c.Request.Context(), currentUser(c).ID, q)
	if err != nil {
		return err
	}
	writePage(c, q, page, newPatientResponse)
	return nil
}

// getPatient handles GET /api/patients/{id}.
func (a *API) getPatient(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := a.store.ViewPatient(c.Request.Context(), currentUser(c).ID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newPatientResponse(p))
	return nil
}

// updatePatient handles PUT and PATCH /api/patients/{id}.
func (a *API) updatePatient(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := a.store.UpdatePatient(c.Request.Context(), currentUser(c).ID, id, bodyEdit(c, a.setPatient))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newPatientResponse(p))
	return nil
}

// deletePatient handles DELETE /api/patients/{id}.
func (a *API) deletePatient(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.store.DeletePatient(c.Request.Context(), currentUser(c).ID, id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
