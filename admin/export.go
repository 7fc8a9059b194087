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
// A failure before the first byte is out is answered with its error page.
// After it, the status cannot change: the connection is cut before the
// response's end, so the client reports a failed download instead of
// keeping a file that looks complete but lacks rows.
func (a *Admin) writeCSV(c *gin.Context, name string, header []string, each func(row func(...string) error) error) error {
	filename := name + "-" + a.opts.Now().UTC().Format("20060102-150405") + ".csv"
	h := c.Writer.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("Cache-Control", "no-store")
	if c.Request.Method == http.MethodHead {
		// The headers are the answer: net/http would discard the rows,
		// after reading every one from the database and recording an
		// export that delivered nothing.
		c.Status(http.StatusOK)
		return nil
	}
	w := csv.NewWriter(c.Writer) // buffered: nothing is out before 4 KiB of rows
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
	if err == nil {
		w.Flush()
		err = w.Error()
	}
	if err == nil {
		return nil
	}
	if !c.Writer.Written() {
		h.Del("Content-Type")
		h.Del("Content-Disposition")
		return err
	}
	// Not a failure of the server's when the client cancelled its download:
	// the access log marks the request client_closed too.
	level, ctx := slog.LevelError, c.Request.Context()
	if models.ClientGone(ctx) {
		level = slog.LevelInfo
	}
	// The request's end, when the server ended it, rather than what the
	// database made of it ("unavailable"): the shutdown's cut names itself.
	a.log.Log(ctx, level, "csv export cut short", slog.String("export", name),
		slog.String("request_id", c.Writer.Header().Get("X-Request-ID")), slog.Any("error", models.CauseOf(ctx, err)))
	panic(http.ErrAbortHandler)
}

// csvSafe defuses spreadsheet formulas: a cell that starts with = + - @
// or a control character, after any double quotes, is prefixed with a
// quote (OWASP CSV injection).
// Phone numbers too ("+44 20 7946 0958"): unquoted, a spreadsheet would
// still run them as arithmetic ("+1-555-0100" shows -654), which the
// quote prevents as well.
//
// A cell's text after a semicolon, a tab or a line break is defused the
// same way: Excel in a locale whose list separator is ";" (German, French)
// opens a .csv by splitting its lines at ";", LibreOffice does when ";" or
// tab is ticked, and such a split ignores the CSV's quotes, so
// "Eve;=HYPERLINK(…)" became a cell of its own, and so did a line of a
// multi-line note.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	lead := ""
	if formulaAt(s, 0, "=+-@\t\r") {
		lead = "'"
	}
	if !strings.ContainsAny(s, csvSplitters) {
		return lead + s
	}
	var b strings.Builder
	b.Grow(len(lead) + len(s) + 8)
	b.WriteString(lead)
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if strings.IndexByte(csvSplitters, s[i]) >= 0 && formulaAt(s, i+1, "=+-@") {
			b.WriteByte('\'')
		}
	}
	return b.String()
}

// csvSplitters are where a spreadsheet that ignores quotes may split a cell
// (csvSafe).
const csvSplitters = ";\t\r\n"

// formulaAt reports whether the text at i starts a formula: one of signs,
// after any double quotes, since a split that ignores the CSV's quoting
// leaves them there and a quoted "=1+1" still computes.
func formulaAt(s string, i int, signs string) bool {
	for i < len(s) && s[i] == '"' {
		i++
	}
	return i < len(s) && strings.IndexByte(signs, s[i]) >= 0
}

// exportAudit handles GET /admin/audit/export: the filtered audit log.
func (a *Admin) exportAudit(c *gin.Context) error {
	f, _, err := auditFilter(c, a.zone())
	if err != nil {
		return err
	}
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
