package admin

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// tableSize shows a dashboard count: "about 1000000" for PostgreSQL's
// estimate of a big table, "10000+" where only a lower bound is known.
func tableSize(n models.TableSize) string {
	switch {
	case n.Approx:
		return "about " + itoa(n.N)
	case n.AtLeast:
		return itoa(n.N) + "+"
	}
	return itoa(n.N)
}

// dashboard handles GET /admin/: the models with counts and add links,
// and this user's recent actions.
func (a *Admin) dashboard(c *gin.Context) error {
	ctx := c.Request.Context()
	u := currentUser(c)
	counts, err := a.store.Counts(ctx)
	if err != nil {
		return err
	}
	recent, err := a.store.RecentActions(ctx, u.ID, 10)
	if err != nil {
		return err
	}
	l, err := a.layout(c, "Dashboard", "dashboard")
	if err != nil {
		return err
	}
	l.Breadcrumbs = nil
	vm := templates.Dashboard{Layout: l, Zone: a.zone().String()}
	for _, m := range []struct {
		res *resource
		n   models.TableSize
	}{{patients, counts.Patients}, {doctors, counts.Doctors}, {mappings, counts.Mappings}, {users, counts.Users}} {
		if m.res.superuser && !u.IsSuperuser {
			continue
		}
		vm.Models = append(vm.Models, templates.ModelCard{
			Name: m.res.name, Plural: m.res.title, URL: m.res.path, AddURL: m.res.path + "add/",
			Count: tableSize(m.n), TestID: "model-" + m.res.plural,
		})
	}
	for i := range recent {
		vm.Recent = append(vm.Recent, event(&recent[i], a.zone()))
	}
	return render(c, http.StatusOK, templates.DashboardPage(vm))
}
