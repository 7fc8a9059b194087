// Package templates renders the admin panel's HTML with templ. Pages are
// composed from small components (layout, table, form field, pagination,
// messages) and take view models whose fields are ready to display: all
// formatting happens in Go, in the admin package, never in markup.
package templates

// Layout is what every page shows around its content.
type Layout struct {
	Title       string
	User        string // the signed-in staff user's name; "" on the login page
	CSRF        string // token for the logout form and every other POST
	CSS, JS     string // asset URLs (versioned, cached)
	Nav         []Link // the sections this user may open
	Breadcrumbs []Link // from the dashboard to this page (the last has no URL)
	Messages    []Message
}

// Link is a labelled URL; Active marks the current section or choice.
type Link struct {
	Label, URL string
	Active     bool
	TestID     string
}

// Message is a flash message: Level is "success", "info", "warning" or "error".
type Message struct {
	Level, Text string
}

// Login is the login page.
type Login struct {
	Layout
	Email, Next string
	Error       string // why the last attempt failed
	Info        string // e.g. "You have been logged out."
}

// Dashboard is the admin's home page.
type Dashboard struct {
	Layout
	Models []ModelCard
	Recent []Event // this user's latest changes
	Zone   string  // the zone of their times (TIME_ZONE)
}

// ModelCard is one model on the dashboard.
type ModelCard struct {
	Name, Plural, URL, AddURL string // AddURL "" when the user may not add
	Count                     string
	TestID                    string
}

// ChangeList is a model's list page: search, filters, sortable columns,
// selectable rows, pagination and export.
type ChangeList struct {
	Layout
	Model     string // "patient": for test ids and CSS
	Heading   string
	AddURL    string // "" when the user may not add
	AddLabel  string
	ListURL   string // the search form's action
	ExportURL string // the current filtered list as CSV
	DeleteURL string // where selected rows are posted for confirmation
	Search    string
	// SearchError says why the search was refused (too many words); the
	// list is then empty.
	SearchError string
	Hidden      []Param // filters and ordering kept when searching
	Columns     []Column
	Rows        []Row
	Filters     []Filter
	Scopes      []Link // the objects the list is narrowed to; URL removes one
	Count       string // "3 patients"
	Pagination  Pagination
	ClearURL    string // the list without search or filters; "" when none is set
}

// Param is a query parameter carried through a form.
type Param struct{ Name, Value string }

// Column is a changelist column header. SortURL is "" for columns that
// cannot be sorted; Sort is "asc", "desc" or "".
type Column struct {
	Label, Key, SortURL, Sort string
	Numeric                   bool
}

// Row is a changelist row; the first cell links to the change page.
type Row struct {
	ID    string
	Label string // what the row is, for the checkbox's accessible name
	Cells []Cell
}

// Cell is one value. Kind "bool" shows Text as a yes/no badge. URL is
// written as it is (escaped, not sanitized): the admin builds it from its
// own paths and ids, never from stored text.
type Cell struct {
	Text, URL, Kind string
	Yes             bool
}

// Filter is one sidebar filter with its choices.
type Filter struct {
	Title, Key string
	Choices    []Link
}

// Pagination links the pages of a list.
type Pagination struct {
	Summary    string // "Page 2 of 5"
	Prev, Next string // "" at either end
	Pages      []PageLink
	// First is the list's first page, "" on it. A page after it with no
	// rows is past the end of a list too long to count (whose page number
	// is not clamped to its last page): the page says so and links here,
	// rather than "Nothing matches".
	First string
}

// PageLink is one page number; Gap is an ellipsis.
type PageLink struct {
	Label, URL   string
	Current, Gap bool
}

// Form is an add or change page.
type Form struct {
	Layout
	Model     string
	Heading   string
	Action    string
	Errors    []string // errors not tied to one field
	Fieldsets []Fieldset
	Inline    *Inline
	Links     []Link // history, set password ...
	DeleteURL string // "" on add pages or without permission
	// AddAnother offers "Save and add another"; Continue offers "Save and
	// continue editing".
	AddAnother, Continue bool
	SubmitLabel          string // "" means "Save"
}

// Fieldset groups fields under a legend.
type Fieldset struct {
	Legend, Description string
	Fields              []Field
}

// Field is one form field. Kind is text, email, tel, date, number,
// textarea, select, checkbox, password, fk (a foreign key: an id input
// that admin.js turns into a search-as-you-type picker) or readonly.
type Field struct {
	Name, Label, Kind, Value, Help string
	Required, Checked              bool
	Errors                         []string
	Options                        []Option
	MaxLength                      int
	Min, Max                       string // a number's or a date's bounds, for the browser's picker
	Autocomplete                   string
	Lookup                         string // fk: the JSON endpoint to search
	LookupLabel                    string // fk: what the current value is
	LookupURL                      string // fk: the changelist to browse without JS
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// Inline is a table of related rows edited with the form (a patient's
// doctors): rows to remove and fields to add one.
type Inline struct {
	Title, Description string
	Columns            []string
	Rows               []InlineRow
	RemoveName         string // checkbox name of the rows to remove
	Add                []Field
	Empty              string
}

// InlineRow is one related row.
type InlineRow struct {
	ID     string
	Label  string // what the row is, for its remove box's label ("Gregory House")
	Cells  []Cell
	Remove bool
}

// DeleteConfirm asks before deleting objects and lists what goes with them.
type DeleteConfirm struct {
	Layout
	Model     string
	Heading   string
	Intro     string
	Action    string
	IDs       []string
	Groups    []DeleteGroup
	CancelURL string
	Blocked   string // why the delete cannot be done; "" when it can
}

// DeleteGroup is one kind of object that will be deleted.
type DeleteGroup struct {
	Title string
	Items []Link
	More  string // "and 12 more"
}

// History is the audit trail of one object.
type History struct {
	Layout
	Heading    string
	ObjectURL  string
	Events     []Event
	When       string // the events' time column's label, naming its zone
	Note       string
	Count      string // "3 events", "More than 1000 events"
	Pagination Pagination
}

// Event is one audit event, formatted.
type Event struct {
	When, Who, Action, Object, ObjectURL string
	Kind                                 string // the raw action, for styling
	Source, IP, Outcome                  string
	Failed                               bool
	Changes                              []Change
}

// Change is one field's old and new value; Old is "" when the field had
// none (a new object).
type Change struct {
	Field, Old, New string
}

// AuditLog is the superusers' filterable, read-only audit log.
type AuditLog struct {
	Layout
	Filters    []Field
	Events     []Event
	When       string // as History's
	Count      string
	Pagination Pagination
	ExportURL  string
	ClearURL   string
	// Invalid: a typed filter (an id, a day) could not be read; its
	// message is on its field, and no events are listed.
	Invalid bool
}

// ErrorPage is a 403, 404, 500 or 503 page.
type ErrorPage struct {
	Layout
	Status           int
	Heading, Message string
}
