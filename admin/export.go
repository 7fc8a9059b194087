package admin

import (
	"encoding/csv"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// writeCSV streams a CSV download: header, then the rows each writes.
// Once the first byte is out the status cannot change, so a later failure
// is logged and the download cut short.
func (a *Admin) writeCSV(c *gin.Context, name string, header []string, each func(row func(...string) error) error) error {
	filename := name + "-" + a.opts.Now().UTC().Format("20060102-150405") + ".csv"
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+filename+`"`)
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	row := func(cells ...string) error {
		for i, s := range cells {
			cells[i] = csvSafe(s)
		}
		return w.Write(cells)
	}
	err := row(header...)
	if err == nil {
		err = each(row)
	}
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err != nil {
		a.log.ErrorContext(c.Request.Context(), "csv export failed", slog.String("export", name), slog.Any("error", err))
		c.Abort()
	}
	return nil
}

// csvSafe defuses spreadsheet formulas: a cell that starts with = + - @
// or a control character is prefixed with a quote (OWASP CSV injection).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportAudit handles GET /admin/audit/export: the filtered audit log.
func (a *Admin) exportAudit(c *gin.Context) error {
	f, _ := auditFilter(c)
	header := []string{"id", "at", "user_id", "user_email", "action", "object_type", "object_id", "outcome", "source", "ip", "user_agent", "changes"}
	return a.writeCSV(c, "audit", header, func(row func(...string) error) error {
		return a.store.EachAdminAuditEvent(c.Request.Context(), f, func(ev models.AuditEvent) error {
			uid, oid := "", ""
			if ev.UserID != nil {
				uid = itoa(*ev.UserID)
			}
			if ev.ObjectID != nil {
				oid = itoa(*ev.ObjectID)
			}
			return row(itoa(ev.ID), ev.At.UTC().Format("2006-01-02T15:04:05.000000Z"), uid, ev.UserEmail, ev.Action,
				ev.ObjectType, oid, ev.Outcome, ev.Source, ev.IP, ev.UserAgent, ev.Changes)
		})
	})
}
