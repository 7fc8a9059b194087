package models

import (
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"
)

// AdminPageSize is the number of rows on one page of an admin changelist.
const AdminPageSize = 100

// AdminQuery is an admin changelist request. Unlike the API's lists, the
// admin sees every row (staff-wide), and a page past the end shows the last
// page instead of failing.
type AdminQuery struct {
	Search   string    // words that must each match one searchable field
	Ordering string    // comma-separated allow-listed fields, "-" for descending
	Page     int       // from 1
	Since    time.Time // created at or after; zero for any time
	Until    time.Time // created before; zero for any time
}

// maxAdminPage is the largest page number a changelist reads: its offset
// fits any int.
const maxAdminPage = math.MaxInt32 / AdminPageSize

// AdminCountLimit bounds how many matching rows a changelist counts.
// Counting every match of a search over a million patients costs a scan of
// the table on every page view; like Django admin's
// show_full_result_count=False, but for filtered lists too, the panel says
// "more than 1000" instead and pages on with a next link.
const AdminCountLimit = 1000

// AdminPage is one page of an admin changelist.
type AdminPage[T any] struct {
	Items []T
	AdminPageInfo
}

// AdminPageInfo places a page in its list.
type AdminPageInfo struct {
	Count    int64 // rows matching, over every page; exact unless Capped
	Capped   bool  // more than Count rows match
	Number   int   // this page, from 1
	NumPages int   // at least 1; the pages within Count when Capped
	HasNext  bool
}

// cappedCount counts the rows of q up to limit, or limit+1 if there are
// more: the database stops reading at the limit.
func cappedCount(q *gorm.DB, idColumn string, limit int) (int64, error) {
	sub := q.Session(&gorm.Session{}).Select(idColumn).Limit(limit + 1)
	var n int64
	err := keepMark(q, q.Session(&gorm.Session{NewDB: true})).Table("(?) AS capped", sub).Count(&n).Error
	return n, translate(err)
}

// pageOf places page number (from 1) in a list of n counted rows (or more,
// if n exceeds AdminCountLimit), AdminPageSize to a page. A page past the
// end of a fully counted list is the last page.
func pageOf(n int64, number int) AdminPageInfo {
	// A page number so large that its offset would wrap is past any end.
	info := AdminPageInfo{Count: n, Number: min(max(number, 1), maxAdminPage)}
	if n > AdminCountLimit {
		info.Count, info.Capped = AdminCountLimit, true
	}
	info.NumPages = max(1, int((info.Count+AdminPageSize-1)/AdminPageSize))
	if !info.Capped {
		info.Number = min(info.Number, info.NumPages)
		info.HasNext = info.Number < info.NumPages
	}
	return info
}

// fetchPage reads the rows of page info from query (ordered), with scan
// (nil: gorm's Find), and for a capped list finds out whether a next page
// exists.
func fetchPage[T any](query *gorm.DB, scan func(*gorm.DB, any) error, info *AdminPageInfo, items *[]T) error {
	query = query.Offset((info.Number - 1) * AdminPageSize).Limit(AdminPageSize + 1)
	if scan != nil {
		if err := scan(query, items); err != nil {
			return err
		}
	} else if err := query.Find(items).Error; err != nil {
		return translate(err)
	}
	if len(*items) > AdminPageSize {
		*items = (*items)[:AdminPageSize]
		info.HasNext = true
	}
	return nil
}

// adminSpec says how a changelist searches, orders and filters by date.
// Columns are qualified with their table, so lists that join stay
// unambiguous.
type adminSpec struct {
	table  string
	search []string // qualified columns matched by AdminQuery.Search
	// folded, when set, holds the search columns lowered (applyWords) on
	// PostgreSQL.
	folded   string
	ordering map[string]string // field -> qualified column
	nullable map[string]bool   // qualified columns that may be NULL
	created  string            // qualified creation column: the default order, Since and Until
	preload  []string
	// page, when set, shapes the read of a changelist page instead of
	// preload: only what the page shows of its rows and their associations
	// (never medical histories or password hashes for a list). Exports
	// (adminEach) still read whole rows.
	page func(*gorm.DB) *gorm.DB
	// scan, when set, reads the rows of a page query shaped by page into
	// its argument (*[]T) instead of gorm's Find.
	scan func(query *gorm.DB, dst any) error
}

// AdminSortable reports whether the changelist of objectType (ObjectPatient,
// ...) can be sorted by field, so the panel links only allow-listed headers.
func AdminSortable(objectType, field string) bool {
	spec, ok := adminSpecs[objectType]
	if !ok {
		return false
	}
	_, ok = spec.ordering[field]
	return ok
}

// adminSpecs are the changelists, by object type.
var adminSpecs = map[string]adminSpec{
	ObjectPatient: adminPatientList,
	ObjectDoctor:  adminDoctorList,
	ObjectMapping: adminMappingList,
	ObjectUser:    adminUserList,
}

// filter applies the search words and the date bound of q, and says
// whether there were words to search.
func (spec adminSpec) filter(base *gorm.DB, q AdminQuery) (filtered *gorm.DB, searching bool) {
	words, err := adminSearchWords(q.Search)
	base = applyWords(base, spec.search, spec.folded, words, err)
	if !q.Since.IsZero() {
		base = base.Where(spec.created+" >= ?", q.Since.UTC())
	}
	if !q.Until.IsZero() {
		base = base.Where(spec.created+" < ?", q.Until.UTC())
	}
	return base, err == nil && len(words) > 0
}

// order sorts by the allow-listed fields of ordering (unknown ones are
// ignored), then newest first, so pages never overlap.
func (spec adminSpec) order(db *gorm.DB, ordering string) *gorm.DB {
	return orderBy(db, ordering, spec.ordering, spec.nullable, spec.created, spec.table+".id")
}

func (spec adminSpec) load(db *gorm.DB) *gorm.DB {
	for _, assoc := range spec.preload {
		db = db.Preload(assoc)
	}
	return db
}

// loadPage is load for a changelist page.
func (spec adminSpec) loadPage(db *gorm.DB) *gorm.DB {
	if spec.page != nil {
		return spec.page(db)
	}
	return spec.load(db)
}

// adminList returns page q.Page of base (clamped to the pages there are).
//
// With search words, matching a row costs a LIKE per searchable column, so
// counting a million rows' matches (even up to AdminCountLimit) costs more
// than the page: the page is read first, and only a page that is not full
// tells the count ("3 patients"); a full one says "more than 100" and
// links the next. Without search words, the filters are cheap to count and
// the count is capped at AdminCountLimit.
func adminList[T any](base *gorm.DB, spec adminSpec, q AdminQuery) (AdminPage[T], error) {
	var page AdminPage[T]
	// A page number so large that its offset would wrap is past any end.
	q.Page = min(q.Page, maxAdminPage)
	base, searching := spec.filter(base, q)
	// A Session, so the two reads below do not share one statement.
	query := spec.loadPage(spec.order(base.Session(&gorm.Session{}), q.Ordering)).Session(&gorm.Session{})
	if searching {
		page.Number = max(q.Page, 1)
		if err := fetchPage(query, spec.scan, &page.AdminPageInfo, &page.Items); err != nil {
			return page, err
		}
		shown := int64((page.Number-1)*AdminPageSize + len(page.Items))
		switch {
		case page.HasNext:
			page.Count, page.Capped, page.NumPages = shown, true, page.Number
			return page, nil
		case len(page.Items) > 0 || page.Number == 1:
			page.Count, page.NumPages = shown, page.Number
			return page, nil
		}
		// Past the end: count (capped) to find the last page.
	}
	n, err := cappedCount(base, spec.table+".id", AdminCountLimit)
	if err != nil {
		return page, err
	}
	page.AdminPageInfo = pageOf(n, q.Page)
	return page, fetchPage(query, spec.scan, &page.AdminPageInfo, &page.Items)
}

// adminEach calls fn for every row of base matching q, in the changelist's
// order, in linear time: one query reads the ids in order, and each batch
// of them is then read with its associations. (Batches by OFFSET re-read
// every earlier row: an export of 1,000,000 patients read about 10^9.) A
// row deleted while the export runs is left out.
//
// The ids are read whole rather than streamed: a stream held its
// connection while each batch took another, so as many exports at once
// as the pool has connections each held one and waited for a second, and
// every request of the server waited with them (503s for up to the
// exports' 10 minutes). A client that reads its download slowly no longer
// holds a connection, nor, on SQLite, a snapshot that kept the WAL from
// being checkpointed. They are kept in batch-sized blocks (adminIDs), 8
// bytes a row (8 MB at a million), each let go once its rows are written.
func adminEach[T any](base *gorm.DB, spec adminSpec, q AdminQuery, fn func(*T) error) error {
	base, _ = spec.filter(base, q)
	blocks, err := adminIDs(spec.order(base.Session(&gorm.Session{}), q.Ordering).Select(spec.table + ".id"))
	if err != nil {
		return translate(err)
	}
	for i, chunk := range blocks {
		blocks[i] = nil
		var items []T
		query := spec.load(base.Session(&gorm.Session{NewDB: true}).Model(new(T)))
		if err := query.Where(spec.table+".id IN ?", chunk).Find(&items).Error; err != nil {
			return translate(err)
		}
		byID := make(map[int64]*T, len(items))
		for i := range items {
			byID[adminRowID(&items[i])] = &items[i]
		}
		for _, id := range chunk {
			if item, ok := byID[id]; ok {
				if err := fn(item); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// adminExportBatch is how many rows an export reads at once (adminEach).
const adminExportBatch = 500

// adminIDs reads the ids that query selects, in its order, in blocks of
// adminExportBatch. Blocks of a fixed size are never copied as they fill,
// where one slice grown by append held up to twice the ids at its
// largest (Pluck, with a reflected value per row besides: 22-28 MB of
// heap at a million rows, where the blocks peaked at 11-12 MB; see
// BENCHMARKS.md, twenty-third session).
func adminIDs(query *gorm.DB) ([][]int64, error) {
	rows, err := query.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var blocks [][]int64
	var block []int64
	for rows.Next() {
		if block == nil {
			block = make([]int64, 0, adminExportBatch)
		}
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if block = append(block, id); len(block) == adminExportBatch {
			blocks, block = append(blocks, block), nil
		}
	}
	if block != nil {
		blocks = append(blocks, block)
	}
	return blocks, rows.Err()
}

// adminRowID is the primary key of a changelist row.
func adminRowID(row any) int64 {
	switch r := row.(type) {
	case *Patient:
		return r.ID
	case *Doctor:
		return r.ID
	case *Mapping:
		return r.ID
	case *User:
		return r.ID
	}
	panic(fmt.Sprintf("adminRowID: %T is not a changelist row", row))
}

// AdminIDs keeps the positive, distinct ids of ids, in order.
func AdminIDs(ids []int64) []int64 {
	seen := map[int64]bool{}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id > 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
