package admin

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// lookupTargets are the models a foreign-key picker can search.
var lookupTargets = map[string]string{
	"user": models.ObjectUser, "patient": models.ObjectPatient, "doctor": models.ObjectDoctor,
}

// lookupMax is how many matches the picker lists.
const lookupMax = 20

// lookup handles GET /admin/lookup/{model}?q=...: up to lookupMax matches
// as JSON {"results": [{"id", "label", "detail"}], "more": bool}, for
// admin.js's picker, which says when there are more (type more to narrow
// them). Staff need it to choose patients' owners, so users are
// searchable by email and name (never more).
func (a *Admin) lookup(c *gin.Context) error {
	objectType, ok := lookupTargets[c.Param("model")]
	if !ok {
		return models.Errorf(models.NotFound, "Not found.")
	}
	q := strings.TrimSpace(c.Query("q"))
	items := []models.LookupItem{}
	if q != "" {
		found, err := a.store.Lookup(c.Request.Context(), objectType, q, lookupMax+1)
		if err != nil {
			return err
		}
		items = append(items, found...)
	}
	more := len(items) > lookupMax
	if more {
		items = items[:lookupMax]
	}
	c.JSON(http.StatusOK, gin.H{"results": items, "more": more})
	return nil
}
