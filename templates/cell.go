package templates

import (
	"context"
	"io"
	"strings"
)

// cellContent writes a table cell's content: a yes/no badge, a link, a
// dash for an empty value, or plain text. It is Go rather than a templ
// component because a changelist page has up to 700 cells: as a component
// each cell cost two closures, two contexts and templ's fmt.Sprint of its
// text, together a fifth of a 100-row page's server CPU (BENCHMARKS.md);
// as a value with a Render method, @cellContent(c) allocates nothing.
type cellContent Cell

// Render implements templ.Component.
func (c cellContent) Render(_ context.Context, w io.Writer) error {
	sw, ok := w.(io.StringWriter)
	if !ok {
		sw = &stringWriter{w: w}
	}
	var err error
	put := func(s string) {
		if err == nil {
			_, err = sw.WriteString(s)
		}
	}
	escape := func(s string) {
		if err == nil {
			_, err = htmlEscaper.WriteString(w, s)
		}
	}
	switch {
	case c.Kind == "bool":
		put(`<span class="`)
		put(badgeClass(Cell(c)))
		put(`">`)
		escape(c.Text)
		put(`</span>`)
	case c.URL != "":
		put(`<a href="`)
		escape(c.URL)
		put(`">`)
		escape(c.Text)
		put(`</a>`)
	case c.Text == "":
		put(`<span class="empty" aria-label="empty">—</span>`)
	default:
		escape(c.Text)
	}
	return err
}

// htmlEscaper escapes text and attribute values as html.EscapeString (and
// so templ) does, writing straight into the page instead of allocating the
// escaped copy.
var htmlEscaper = strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;")

// stringWriter adapts a writer without WriteString.
type stringWriter struct{ w io.Writer }

func (s *stringWriter) WriteString(str string) (int, error) { return s.w.Write([]byte(str)) }
