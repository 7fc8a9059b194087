package admin

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// render writes page with status as HTML.
func render(c *gin.Context, status int, page templ.Component) error {
	return writePage(c.Request.Context(), c, status, page)
}

// writePage renders page whole before sending it, with its length: a page
// that fails halfway is not sent half (the error page takes its place),
// and a changelist of 100 rows (~60 KB) leaves in one write instead of a
// chunk per 4 KB of the connection's buffer (a tenth of the page's server
// CPU went to those writes: BENCHMARKS.md).
func writePage(ctx context.Context, c *gin.Context, status int, page templ.Component) error {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		// A rare huge page (a long delete confirmation) is not kept.
		if buf.Cap() <= maxPooledPage {
			buf.Reset()
			pageBuffers.Put(buf)
		}
	}()
	if err := page.Render(ctx, buf); err != nil {
		return err
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Content-Length", strconv.Itoa(buf.Len()))
	c.Status(status)
	_, err := c.Writer.Write(buf.Bytes())
	return err
}

var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledPage = 1 << 20

// layout builds the frame of a page: the user, the sections they may open
// (section is the current one), the breadcrumbs and the pending flash
// messages, which it takes from the session. The session is saved if
// that (or a new CSRF token) changed it; flashes are taken only when
// there are some, since taking them marks a session changed even when it
// has none, and every page view would write the session row.
func (a *Admin) layout(c *gin.Context, title, section string, crumbs ...templates.Link) (templates.Layout, error) {
	l := templates.Layout{
		Title: title, CSRF: a.csrfToken(c),
		CSS: a.assets.url("admin.css"), JS: a.assets.url("admin.js"),
	}
	if u := sessionUser(c); u != nil && u.IsActive && u.IsStaff {
		l.User = shownName(u)
		l.Nav = navFor(u, section)
		if len(crumbs) > 0 || section != "" {
			l.Breadcrumbs = append([]templates.Link{{Label: "Home", URL: "/admin/"}}, crumbs...)
		}
	}
	s := session(c)
	var flashes []any
	if s.Get(flashKey) != nil {
		flashes = s.Flashes()
	}
	for _, f := range flashes {
		s, _ := f.(string)
		level, text, ok := strings.Cut(s, "|")
		if !ok {
			level, text = "info", s
		}
		l.Messages = append(l.Messages, templates.Message{Level: level, Text: text})
	}
	return l, saveSession(c)
}

// flashKey is where gorilla/sessions keeps flash messages by default.
const flashKey = "_flash"

// navFor lists the sections u may open.
func navFor(u *models.User, section string) []templates.Link {
	nav := []templates.Link{{Label: "Dashboard", URL: "/admin/", Active: section == "dashboard", TestID: "nav-dashboard"}}
	for _, r := range []*resource{patients, doctors, mappings, users} {
		if r.superuser && !u.IsSuperuser {
			continue
		}
		nav = append(nav, templates.Link{Label: r.title, URL: r.path, Active: section == r.objectType, TestID: "nav-" + r.plural})
	}
	if u.IsSuperuser {
		nav = append(nav, templates.Link{Label: "Audit log", URL: "/admin/audit/", Active: section == "audit", TestID: "nav-audit"})
	}
	return nav
}

// shownName is how the panel's top bar names the signed-in user: the name,
// or the email when the account has none.
func shownName(u *models.User) string {
	if u.Name == "" {
		return u.Email
	}
	return u.Name
}
