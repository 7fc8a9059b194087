package admin

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/templates"
)

// resource describes one model of the panel.
type resource struct {
	objectType string // models.ObjectPatient ...
	name       string // "patient"
	plural     string // "patients": also the URL segment
	title      string // "Patients"
	path       string // "/admin/patients/"
	superuser  bool   // only superusers may open it
}

func newResource(objectType, name, plural, title string, superuser bool) *resource {
	return &resource{objectType: objectType, name: name, plural: plural, title: title,
		path: "/admin/" + plural + "/", superuser: superuser}
}

// objectURL is the change page of object id.
func (r *resource) objectURL(id int64) string { return r.path + strconv.FormatInt(id, 10) + "/" }

// listURL is r's changelist with query filters (a changelist's encoded
// query, "" for none).
func (r *resource) listURL(filters string) string {
	if filters == "" {
		return r.path
	}
	return r.path + "?" + filters
}

// Preserved filters, Django's _changelist_filters: the query of the
// changelist a page was opened from travels with that page's links and
// forms, so that saving, deleting or going back returns to the same search,
// filters, ordering and page instead of the list's first page.
const paramPreserved = "_changelist_filters"

// keptFilters is the changelist of res that the request carries, its
// query re-encoded, or "". It is only ever appended to a list's own path
// after "?": whatever it holds, it cannot send the browser elsewhere. A
// value that res's list would refuse (checkFilters: an old bookmark, a
// hand-edited link) is dropped, so a save or a delete that succeeded does
// not land on the 400 page.
func keptFilters(c *gin.Context, res *resource) string {
	v, err := url.ParseQuery(c.Query(paramPreserved))
	if err != nil {
		return ""
	}
	v.Del(paramPreserved)
	for _, f := range fixedFilters(res) {
		if !f.offers(strings.TrimSpace(v.Get(f.key))) {
			v.Del(f.key)
		}
	}
	return v.Encode()
}

// carrying is u (a path without a query) carrying filters.
func carrying(u, filters string) string {
	if filters == "" {
		return u
	}
	return u + "?" + paramPreserved + "=" + url.QueryEscape(filters)
}

// resources are the panel's models.
var resources = []*resource{patients, doctors, mappings, users}

// resourceNamed returns the resource whose URL segment is plural, or nil.
func resourceNamed(plural string) *resource {
	for _, r := range resources {
		if r.plural == plural {
			return r
		}
	}
	return nil
}

// resourceOf returns the resource of an audited object type, or nil.
func resourceOf(objectType string) *resource {
	for _, r := range resources {
		if r.objectType == objectType {
			return r
		}
	}
	return nil
}

// Query parameters of a changelist.
const (
	paramSearch  = "q"
	paramOrder   = "o"
	paramPage    = "p"
	paramCreated = "created"
	msgBadNumber = "Enter a whole number."
)

// columnDef is a changelist column; key is the field it sorts by.
type columnDef struct {
	label, key string
	numeric    bool
	times      bool // its cells are times: the label names their zone
}

// filterDef is a sidebar filter: a query parameter and its choices.
type filterDef struct {
	key, title string
	choices    []choiceDef
}

type choiceDef struct{ label, value string }

// offers reports whether value is one of f's choices ("" is All).
func (f filterDef) offers(value string) bool {
	return slices.ContainsFunc(f.choices, func(ch choiceDef) bool { return ch.value == value })
}

// scopeDef narrows a list to the rows of one object (a user's patients, a
// patient's assignments), from the links of other pages: no sidebar
// choices, but a note naming the object, with a link that removes it.
type scopeDef struct{ key, title, objectType string }

// listScopes are the scopes of each list.
var listScopes = map[*resource][]scopeDef{
	patients: {{"owner", "Owner", models.ObjectUser}},
	mappings: {{"patient", "Patient", models.ObjectPatient}, {"doctor", "Doctor", models.ObjectDoctor}},
}

// dateFilter is the "date created" filter every changelist has.
func dateFilter(title string) filterDef {
	return filterDef{key: paramCreated, title: title, choices: []choiceDef{
		{"Any date", ""}, {"Today", "today"}, {"Past 7 days", "7d"}, {"This month", "month"}, {"This year", "year"},
	}}
}

// periodOf is a date filter's period at now, from since to until
// (exclusive), both zero for any date. As in Django's DateFieldListFilter,
// periods are whole days of now's zone, the clinic's (clinicNow), that end
// with today: Today; Past 7 days, from midnight seven days ago; This month
// and This year, to their ends. A row stamped after today (a restored
// database, a server whose clock ran fast) is in none of them.
func periodOf(value string, now time.Time) (since, until time.Time) {
	y, m, d := now.Date()
	// start is the start of the calendar day y-m-d, which may run past its
	// month ("the 32nd of December"): the date is counted in UTC, where no
	// day is skipped, then begun in the clinic's zone.
	start := func(y int, m time.Month, d int) time.Time {
		date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return models.StartOfDay(date.Year(), date.Month(), date.Day(), now.Location())
	}
	switch value {
	case "today":
		return start(y, m, d), start(y, m, d+1)
	case "7d":
		return start(y, m, d-7), start(y, m, d+1)
	case "month":
		return start(y, m, 1), start(y, m+1, 1)
	case "year":
		return start(y, 1, 1), start(y+1, 1, 1)
	}
	return time.Time{}, time.Time{}
}

// clinicNow is the time now in the clinic's zone (TIME_ZONE).
func (a *Admin) clinicNow() time.Time { return a.opts.Now().In(a.zone()) }

// zone is the clinic's time zone (TIME_ZONE), the panel's times' zone.
func (a *Admin) zone() *time.Location { return a.store.TimeZone() }

// listState is a changelist request: its query parameters, read once.
type listState struct {
	res    *resource
	values url.Values
	// carried is the query of the links that carry the list (its rows',
	// Add, Delete: preserved filters), "" when it has none; escaped once
	// for the page's hundred rows.
	carried string
}

// newListState reads a changelist request, and refuses a filter value the
// list does not offer (checkFilters).
func newListState(c *gin.Context, res *resource) (listState, error) {
	ls := listState{res: res, values: c.Request.URL.Query()}
	ls.values.Del(paramPreserved)
	ls.carried = carrying("", ls.values.Encode())
	return ls, ls.checkFilters()
}

// exportState is newListState for an export, whose search is checked here
// too: a HEAD (writeCSV) runs no query to refuse it.
func exportState(c *gin.Context, res *resource) (listState, error) {
	ls, err := newListState(c, res)
	if err == nil {
		err = models.CheckAdminSearch(ls.get(paramSearch))
	}
	return ls, err
}

// fixedFilters are the filters of res whose choices are fixed. The
// specialization filter is not one: it takes any value, matched in any
// case, as the API's does.
func fixedFilters(res *resource) []filterDef {
	switch res {
	case patients:
		return patientFilters
	case users:
		return userFilters
	case mappings:
		return []filterDef{dateFilter("date assigned")}
	}
	return []filterDef{dateFilter("date created")}
}

// checkFilters refuses (400) a value that none of the list's fixed filters
// offers, as Django's admin refuses an invalid lookup (it redirects to
// ?e=1): ignored, ?gender=Female would list, and export, every patient
// under a link that reads as a filter. An id filter that is not an id
// narrows the list to nothing instead (id), as Django's does for a choice
// that matches no row.
func (ls listState) checkFilters() error {
	for _, f := range fixedFilters(ls.res) {
		if !f.offers(ls.get(f.key)) {
			return models.Errorf(models.Invalid, "Unknown value for the %s filter: choose one of the list's filters.", f.title)
		}
	}
	return nil
}

// objectURL is the change page of the list's object id, carrying the list.
// One concatenation: a page has a hundred rows.
func (ls listState) objectURL(id int64) string {
	return ls.res.path + strconv.FormatInt(id, 10) + "/" + ls.carried
}

func (ls listState) get(key string) string { return strings.TrimSpace(ls.values.Get(key)) }

// boolChoice reads a yes/no filter ("1" or "0"; checkFilters refused any
// other value); nil means both.
func (ls listState) boolChoice(key string) *bool {
	switch ls.get(key) {
	case "1":
		t := true
		return &t
	case "0":
		f := false
		return &f
	}
	return nil
}

// id reads a positive id parameter: 0 when it is absent or empty, and -1,
// which no row has, when it is not an id (a broken link narrows the list
// to nothing rather than silently to everything).
func (ls listState) id(key string) int64 {
	raw := ls.get(key)
	if raw == "" {
		return 0
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 1 {
		return -1
	}
	return n
}

// query is the store query of the request at now.
func (ls listState) query(now time.Time) models.AdminQuery {
	page, _ := strconv.Atoi(ls.get(paramPage))
	q := models.AdminQuery{Search: ls.get(paramSearch), Ordering: ls.get(paramOrder), Page: page}
	q.Since, q.Until = periodOf(ls.get(paramCreated), now)
	return q
}

// url is this list with the parameters of set changed ("" removes one);
// changing anything but the page goes back to page 1.
func (ls listState) url(set map[string]string) string { return ls.urlAt(ls.res.path, set) }

// exportURL is the CSV export of the list as filtered, searched and
// ordered (every page).
func (ls listState) exportURL() string {
	return ls.urlAt(ls.res.path+"export/", map[string]string{paramPage: ""})
}

// urlAt is path with the list's parameters, changed as url changes them.
func (ls listState) urlAt(path string, set map[string]string) string {
	v := url.Values{}
	for k, vs := range ls.values {
		if len(vs) > 0 && vs[0] != "" {
			v.Set(k, vs[0])
		}
	}
	if _, ok := set[paramPage]; !ok {
		v.Del(paramPage)
	}
	for k, val := range set {
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// changeList builds the changelist page around rows.
func (a *Admin) changeList(c *gin.Context, ls listState, cols []columnDef, filters []filterDef,
	rows []templates.Row, page models.AdminPageInfo) (templates.ChangeList, error) {
	res := ls.res
	l, err := a.layout(c, res.title, res.objectType, templates.Link{Label: res.title})
	if err != nil {
		return templates.ChangeList{}, err
	}
	scopes, err := a.scopeLinks(c, ls)
	if err != nil {
		return templates.ChangeList{}, err
	}
	filterPanels, filtered := ls.filterPanels(filters)
	cl := templates.ChangeList{
		Layout: l, Model: res.name, Heading: "Select " + res.name + " to change",
		AddURL: res.path + "add/" + ls.carried, AddLabel: "Add " + res.name,
		ListURL: res.path, DeleteURL: res.path + "delete/" + ls.carried, ExportURL: ls.exportURL(),
		Search: ls.get(paramSearch), Hidden: ls.searchKeeps(),
		Columns: ls.columns(cols, a.zone()), Filters: filterPanels, Scopes: scopes,
		Rows: rows, Count: countLabel(page, res.name, res.plural), Pagination: pagination(ls, page),
	}
	if filtered || len(scopes) > 0 || ls.get(paramSearch) != "" {
		cl.ClearURL = ls.clearURL(filters)
	}
	return cl, nil
}

// searchKeeps are the hidden fields of the search form: the filters and
// ordering a new search keeps.
func (ls listState) searchKeeps() []templates.Param {
	var keep []templates.Param
	for k, vs := range ls.values {
		if k != paramSearch && k != paramPage && len(vs) > 0 && vs[0] != "" {
			keep = append(keep, templates.Param{Name: k, Value: vs[0]})
		}
	}
	return keep
}

// columns are the list's column headers, a sortable one linking to the
// list ordered by it (or, when it is already, the other way round); a
// column of times names their zone, loc.
func (ls listState) columns(cols []columnDef, loc *time.Location) []templates.Column {
	order := ls.get(paramOrder)
	sortKey, desc := strings.TrimPrefix(order, "-"), strings.HasPrefix(order, "-")
	out := make([]templates.Column, 0, len(cols))
	for _, col := range cols {
		tc := templates.Column{Label: col.label, Key: col.key, Numeric: col.numeric}
		if col.times {
			tc.Label = zoned(col.label, loc)
		}
		if models.AdminSortable(ls.res.objectType, col.key) {
			next := col.key
			if sortKey == col.key {
				tc.Sort = "asc"
				if desc {
					tc.Sort = "desc"
				} else {
					next = "-" + col.key
				}
			}
			tc.SortURL = ls.url(map[string]string{paramOrder: next})
		}
		out = append(out, tc)
	}
	return out
}

// filterPanels are the list's filters with a link per choice, and whether
// one of them narrows the list.
func (ls listState) filterPanels(filters []filterDef) (panels []templates.Filter, filtered bool) {
	for _, f := range filters {
		current := ls.get(f.key)
		tf := templates.Filter{Title: f.title, Key: f.key}
		for _, ch := range f.choices {
			// In any case: the specialization filter matches so (fixed
			// filters' values are exact, checkFilters).
			active := strings.EqualFold(ch.value, current)
			if active && current != "" {
				filtered = true
			}
			tf.Choices = append(tf.Choices, templates.Link{
				Label: ch.label, URL: ls.url(map[string]string{f.key: ch.value}), Active: active,
				TestID: "filter-" + f.key + "-" + orAll(ch.value),
			})
		}
		panels = append(panels, tf)
	}
	return panels, filtered
}

// scopeLinks name the objects the list is narrowed to (a doctor's
// mappings, say), each linking to the list without it.
func (a *Admin) scopeLinks(c *gin.Context, ls listState) ([]templates.Link, error) {
	var links []templates.Link
	for _, sc := range listScopes[ls.res] {
		if ls.get(sc.key) == "" {
			continue
		}
		name, err := a.scopeName(c, sc, ls.id(sc.key))
		if err != nil {
			return nil, err
		}
		links = append(links, templates.Link{Label: sc.title + ": " + isolated(name),
			URL: ls.url(map[string]string{sc.key: ""}), TestID: "scope-" + sc.key})
	}
	return links, nil
}

// clearURL is the list without its search, filters and scopes (its
// ordering kept).
func (ls listState) clearURL(filters []filterDef) string {
	clear := map[string]string{paramSearch: ""}
	for _, f := range filters {
		clear[f.key] = ""
	}
	for _, sc := range listScopes[ls.res] {
		clear[sc.key] = ""
	}
	return ls.url(clear)
}

// scopeName names the object a list is scoped to (id as listState.id
// read it).
func (a *Admin) scopeName(c *gin.Context, sc scopeDef, id int64) (string, error) {
	if id < 1 {
		return "not a valid ID", nil
	}
	item, err := a.store.ViewLookupLabel(c.Request.Context(), sc.objectType, id) // a patient's name is a view
	switch {
	case err == nil:
		return item.Label, nil
	case models.ErrorCode(err) == models.NotFound:
		return "#" + strconv.FormatInt(id, 10) + " (not found)", nil
	}
	return "", err
}

// searchRefused turns the store's refusal of a list's search (more words
// than it takes) into the message the changelist shows under its search
// box, with no rows, instead of an error page without the box; any other
// error is returned.
func searchRefused(err error) (string, error) {
	if models.ErrorCode(err) == models.Invalid {
		return models.ErrorMessage(err), nil
	}
	return "", err
}

// renderChangeList renders cl; a refused search (searchRefused) is a 400.
func (a *Admin) renderChangeList(c *gin.Context, cl templates.ChangeList, refused string) error {
	status := http.StatusOK
	if refused != "" {
		// Nothing was searched: no count, pages or export of it.
		cl.SearchError, status = refused, http.StatusBadRequest
		cl.Count, cl.Pagination, cl.ExportURL = "", templates.Pagination{}, ""
	}
	return render(c, status, templates.ChangeListPage(cl))
}

func orAll(v string) string {
	if v == "" {
		return "all"
	}
	return v
}

// countLabel is "1 patient", "3 patients", or, past the count limit,
// "more than 1000 patients".
func countLabel(page models.AdminPageInfo, one, many string) string {
	if page.Capped {
		return "More than " + itoa(page.Count) + " " + many
	}
	return plural(page.Count, one, many)
}

// pagination links pages 1, 2, the ones around the current one, and the
// last two; past the count limit, the pages up to the current one and
// "next" while there is a next page.
func pagination(ls listState, page models.AdminPageInfo) templates.Pagination {
	number, numPages := page.Number, page.NumPages
	p := templates.Pagination{Summary: "Page " + strconv.Itoa(number) + " of " + strconv.Itoa(numPages)}
	if page.Capped {
		p.Summary = "Page " + strconv.Itoa(number)
		numPages = max(numPages, number)
	}
	link := func(n int) string { return ls.url(map[string]string{paramPage: strconv.Itoa(n)}) }
	if number > 1 {
		p.Prev = link(number - 1)
		// A fresh start: without the page, and without the newest event a
		// history's pages count from (?upto=).
		p.First = ls.url(map[string]string{paramPage: "", paramUpTo: ""})
	}
	if page.HasNext {
		p.Next = link(number + 1)
	}
	// Only the pages shown are visited: a list may have millions.
	shown := []int{1, 2}
	for d := -2; d <= 2; d++ {
		if d > 0 && number > math.MaxInt-d {
			break
		}
		shown = append(shown, number+d)
	}
	if !page.Capped {
		shown = append(shown, numPages-1, numPages)
	}
	slices.Sort(shown)
	last := 0
	for _, n := range slices.Compact(shown) {
		if n < 1 || n > numPages {
			continue
		}
		if n > last+1 {
			p.Pages = append(p.Pages, templates.PageLink{Gap: true})
		}
		p.Pages = append(p.Pages, templates.PageLink{Label: strconv.Itoa(n), URL: link(n), Current: n == number})
		last = n
	}
	if last < numPages {
		p.Pages = append(p.Pages, templates.PageLink{Gap: true}) // a capped list's pages beyond
	}
	return p
}

// plural is "1 patient" or "3 patients".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
