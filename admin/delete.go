package admin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// Confirmation pages list what a delete removes; the store decides what
// cascades (models.Deletion), so the page and the delete always agree.

// deletePage handles GET /admin/{plural}/{id}/delete: the confirmation.
func (a *Admin) deletePage(res *resource) handlerFunc {
	return func(c *gin.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		return a.renderDeletion(c, res, []int64{id}, false)
	}
}

// deleteOne handles POST /admin/{plural}/{id}/delete.
func (a *Admin) deleteOne(res *resource) handlerFunc {
	return func(c *gin.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		name := a.objectName(ctx, res, id)
		if _, err := a.store.AdminDelete(ctx, currentUser(c).ID, res.objectType, []int64{id}); err != nil {
			if models.ErrorCode(err) == models.Invalid {
				a.flash(c, "error", models.ErrorMessage(err))
				return redirect(c, carrying(res.objectURL(id), keptFilters(c, res)))
			}
			return err
		}
		a.flash(c, "success", fmt.Sprintf("The %s “%s” was deleted successfully.", res.name, isolated(name)))
		return redirect(c, res.listURL(keptFilters(c, res)))
	}
}

// bulkDelete handles POST /admin/{plural}/delete: the rows ticked on the
// changelist. Without confirm=yes it shows the confirmation page; with it,
// it deletes.
func (a *Admin) bulkDelete(res *resource) handlerFunc {
	return func(c *gin.Context) error {
		var ids []int64
		for _, s := range c.PostFormArray("ids") {
			if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
				ids = append(ids, id)
			}
		}
		ids = models.AdminIDs(ids)
		list := res.listURL(keptFilters(c, res))
		if len(ids) == 0 {
			a.flash(c, "warning", "Items must be selected in order to perform actions on them. No items have been changed.")
			return redirect(c, list)
		}
		if c.PostForm("confirm") != "yes" {
			return a.renderDeletion(c, res, ids, true)
		}
		n, err := a.store.AdminDelete(c.Request.Context(), currentUser(c).ID, res.objectType, ids)
		switch models.ErrorCode(err) {
		case "":
			a.flash(c, "success", "Successfully deleted "+plural(n, res.name, res.plural)+".")
		case models.Invalid:
			a.flash(c, "error", models.ErrorMessage(err))
		case models.NotFound:
			a.flash(c, "warning", "The selected "+res.plural+" no longer exist. No items have been changed.")
		default:
			return err
		}
		return redirect(c, list)
	}
}

// renderDeletion shows the confirmation of the deletion of res's ids,
// ticked on the list (bulk) or one record's own (its change page's Delete).
// The form posts back where it came from, Cancel goes back to the list or
// the record, and a record's breadcrumbs go through it, named as on its
// change page; all carry the list the page was opened from.
func (a *Admin) renderDeletion(c *gin.Context, res *resource, ids []int64, bulk bool) error {
	d, err := a.store.AdminDeletion(c.Request.Context(), res.objectType, ids)
	if err != nil {
		return err
	}
	if d.Empty() {
		return models.Errorf(models.NotFound, "Not found.")
	}
	kept := keptFilters(c, res)
	crumbs := []templates.Link{{Label: res.title, URL: res.listURL(kept)}}
	vm := templates.DeleteConfirm{Model: res.name, Heading: "Are you sure?",
		Action: carrying(res.path+"delete/", kept), CancelURL: res.listURL(kept)}
	if !bulk {
		vm.Action = carrying(res.objectURL(ids[0])+"delete/", kept)
		vm.CancelURL = carrying(res.objectURL(ids[0]), kept)
		crumbs = append(crumbs, templates.Link{Label: deletionName(d, res, ids[0]), URL: vm.CancelURL})
	}
	for _, id := range ids {
		vm.IDs = append(vm.IDs, itoa(id))
		if res == users && id == currentUser(c).ID {
			vm.Blocked = "You cannot delete your own account."
		}
	}
	vm.Intro = fmt.Sprintf("Are you sure you want to delete the selected %s? All of the following objects and their related items will be deleted:",
		res.plural)
	if len(ids) == 1 {
		vm.Intro = fmt.Sprintf("Are you sure you want to delete this %s? All of the following objects and their related items will be deleted:", res.name)
	}
	if len(d.Users) > 0 {
		g := templates.DeleteGroup{Title: plural(int64(len(d.Users)), "User", "Users")}
		for _, u := range d.Users {
			g.Items = append(g.Items, templates.Link{Label: u.Email, URL: users.objectURL(u.ID)})
		}
		vm.Groups = append(vm.Groups, g)
	}
	if len(d.Doctors) > 0 {
		g := templates.DeleteGroup{Title: plural(int64(len(d.Doctors)), "Doctor", "Doctors")}
		for _, doc := range d.Doctors {
			g.Items = append(g.Items, templates.Link{Label: isolated(doc.Name) + " (" + isolated(doc.Specialization) + ")", URL: doctors.objectURL(doc.ID)})
		}
		vm.Groups = append(vm.Groups, g)
	}
	if d.NumPatients > 0 {
		g := templates.DeleteGroup{Title: plural(d.NumPatients, "Patient", "Patients")}
		for _, p := range d.Patients {
			g.Items = append(g.Items, templates.Link{Label: isolated(p.Name) + " (#" + itoa(p.ID) + ")", URL: patients.objectURL(p.ID)})
		}
		if more := d.NumPatients - int64(len(d.Patients)); more > 0 {
			g.More = "and " + itoa(more) + " more"
		}
		vm.Groups = append(vm.Groups, g)
	}
	if d.NumMappings > 0 {
		g := templates.DeleteGroup{Title: plural(d.NumMappings, "Doctor assignment", "Doctor assignments")}
		for _, m := range d.Mappings {
			g.Items = append(g.Items, templates.Link{Label: mappingLabel(&m), URL: mappings.objectURL(m.ID)})
		}
		if more := d.NumMappings - int64(len(d.Mappings)); more > 0 {
			g.More = "and " + itoa(more) + " more"
		}
		vm.Groups = append(vm.Groups, g)
	}
	if vm.Layout, err = a.layout(c, "Are you sure?", res.objectType, append(crumbs, templates.Link{Label: "Delete"})...); err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.DeletePage(vm))
}

// objectName names object id for messages; "#id" if it cannot be found.
func (a *Admin) objectName(ctx context.Context, res *resource, id int64) string {
	if res == mappings {
		if m, err := a.store.AdminMapping(ctx, id); err == nil {
			return mappingLabel(m)
		}
		return "#" + itoa(id)
	}
	item, err := a.store.LookupLabel(ctx, res.objectType, id)
	if err != nil {
		return "#" + itoa(id)
	}
	return item.Label
}

// deletionName is object id's name as objectName gives it, read from the
// deletion d of id, which holds the row already (a deletion that holds
// nothing is a 404 before any name is asked; "#id" only for safety).
func deletionName(d *models.Deletion, res *resource, id int64) string {
	switch res {
	case users:
		for _, u := range d.Users {
			if u.ID == id {
				return u.Email
			}
		}
	case doctors:
		for _, doc := range d.Doctors {
			if doc.ID == id {
				return doc.Name
			}
		}
	case patients:
		for _, p := range d.Patients {
			if p.ID == id {
				return p.Name
			}
		}
	case mappings:
		for i := range d.Mappings {
			if d.Mappings[i].ID == id {
				return mappingLabel(&d.Mappings[i])
			}
		}
	}
	return "#" + itoa(id)
}

// mappingLabel is "Patient → Doctor" for a mapping with both loaded.
func mappingLabel(m *models.Mapping) string {
	p, d := "patient #"+itoa(m.PatientID), "doctor #"+itoa(m.DoctorID)
	if m.Patient != nil {
		p = m.Patient.Name
	}
	if m.Doctor != nil {
		d = m.Doctor.Name
	}
	return isolated(p) + " → " + isolated(d)
}
