package admin

import (
	"strings"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// render writes page with status as HTML.
func render(c *gin.Context, status int, page templ.Component) error {
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	return page.Render(c.Request.Context(), c.Writer)
}

// layout builds the frame of a page: the user, the sections they may open
// (section is the current one), the breadcrumbs and the pending flash
// messages, which it takes from the session. The session is saved if
// that (or a new CSRF token) changed it; flashes are taken only when
// there are some, since taking them marks a session changed even when it
// has none, and every page view would write the session row.
func (a *Admin) layout(c *gin.Context, title, section string, crumbs ...templates.Link) (templates.Layout, error) {
	l := templates.Layout{
		Title: title, CSRF: csrfToken(c),
		CSS: a.assets.url("admin.css"), JS: a.assets.url("admin.js"),
	}
	if u := sessionUser(c); u != nil && u.IsActive && u.IsStaff {
		l.User = u.Name
		if l.User == "" {
			l.User = u.Email
		}
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
