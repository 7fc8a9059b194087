package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// doctorResponse is a doctor as the API shows it.
type doctorResponse struct {
	ID                int64     `json:"id"`
	Name              string    `json:"name"`
	Specialization    string    `json:"specialization"`
	Email             string    `json:"email"`
	Phone             string    `json:"phone"`
	YearsOfExperience int       `json:"years_of_experience"`
	CreatedBy         *int64    `json:"created_by"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func newDoctorResponse(d *models.Doctor) doctorResponse {
	return doctorResponse{
		ID: d.ID, Name: d.Name, Specialization: d.Specialization, Email: d.Email, Phone: d.Phone,
		YearsOfExperience: d.YearsOfExperience, CreatedBy: d.CreatedByID,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

func (a *API) registerDoctors(r routes) {
	r.handle(http.MethodPost, "/doctors", a.createDoctor, requireStaff)
	r.handle(http.MethodGet, "/doctors", a.listDoctors)
	r.handle(http.MethodGet, "/doctors/:id", a.getDoctor)
	r.handle(http.MethodPut, "/doctors/:id", a.updateDoctor, requireStaff)
	r.handle(http.MethodPatch, "/doctors/:id", a.updateDoctor, requireStaff)
	r.handle(http.MethodDelete, "/doctors/:id", a.deleteDoctor, requireStaff, bodyIgnored)
}

// readDoctor applies a create's body onto d (see readPatient).
func readDoctor(c *gin.Context, d *models.Doctor) error {
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	return setDoctor(obj, d, false)
}

// setDoctor sets d's fields from the request body obj, as readDoctor.
func setDoctor(obj object, d *models.Doctor, partial bool) error {
	stored := models.StoredCopy(d, d.ID)
	r := newFieldReader(obj, partial)
	r.str("name", true, &d.Name)
	r.str("specialization", true, &d.Specialization)
	r.str("email", true, &d.Email)
	r.str("phone", false, &d.Phone)
	r.integer("years_of_experience", false, &d.YearsOfExperience)
	return r.errs.With(func() error { return d.CleanEdit(stored) })
}

// createDoctor handles POST /api/doctors (staff only).
func (a *API) createDoctor(c *gin.Context) error {
	var d models.Doctor
	if err := readDoctor(c, &d); err != nil {
		return a.store.WithTakenEmail(c.Request.Context(), err, models.ObjectDoctor, 0, d.Email)
	}
	if err := a.store.CreateDoctor(c.Request.Context(), currentUser(c).ID, &d); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, newDoctorResponse(&d))
	return nil
}

// listDoctors handles GET /api/doctors.
func (a *API) listDoctors(c *gin.Context) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	filter := models.DoctorFilter{Specialization: c.Query("specialization")}
	page, err := a.store.Doctors(c.Request.Context(), filter, q)
	if err != nil {
		return err
	}
	writePage(c, q, page, newDoctorResponse)
	return nil
}

// getDoctor handles GET /api/doctors/{id}.
func (a *API) getDoctor(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := a.store.Doctor(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newDoctorResponse(d))
	return nil
}

// updateDoctor handles PUT and PATCH /api/doctors/{id} (staff only).
func (a *API) updateDoctor(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := a.store.UpdateDoctor(c.Request.Context(), id, bodyEdit(c, setDoctor))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newDoctorResponse(d))
	return nil
}

// deleteDoctor handles DELETE /api/doctors/{id} (staff only).
func (a *API) deleteDoctor(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.store.DeleteDoctor(c.Request.Context(), id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
