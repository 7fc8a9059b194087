package models

import (
	"strings"
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
}

// AdminPage is one page of an admin changelist.
type AdminPage[T any] struct {
	Items    []T
	Count    int64 // rows matching, over every page
	Number   int   // this page, from 1
	NumPages int   // at least 1
}

// adminSpec says how a changelist searches, orders and filters by date.
// Columns are qualified with their table, so lists that join stay
// unambiguous.
type adminSpec struct {
	table    string
	search   []string          // qualified columns matched by AdminQuery.Search
	ordering map[string]string // field -> qualified column
	nullable map[string]bool   // qualified columns that may be NULL
	created  string            // qualified creation column: the default order and Since
	preload  []string
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

// filter applies the search words and the date bound of q.
func (spec adminSpec) filter(base *gorm.DB, q AdminQuery) *gorm.DB {
	base = applySearch(base, listSpec{search: spec.search}, q.Search)
	if !q.Since.IsZero() {
		base = base.Where(spec.created+" >= ?", q.Since.UTC())
	}
	return base
}

// order sorts by the allow-listed fields of ordering (unknown ones are
// ignored), then newest first, so pages never overlap.
func (spec adminSpec) order(db *gorm.DB, ordering string) *gorm.DB {
	seen := map[string]bool{}
	for _, f := range strings.Split(ordering, ",") {
		f = strings.TrimSpace(f)
		dir := "ASC"
		if strings.HasPrefix(f, "-") {
			dir, f = "DESC", f[1:]
		}
		col, ok := spec.ordering[f]
		if !ok || seen[col] {
			continue
		}
		seen[col] = true
		if spec.nullable[col] {
			// NULLs last ascending, first descending, on both engines.
			db = db.Order("(" + col + " IS NULL) " + dir)
		}
		db = db.Order(col + " " + dir)
	}
	if !seen[spec.created] {
		db = db.Order(spec.created + " DESC")
	}
	return db.Order(spec.table + ".id DESC")
}

func (spec adminSpec) load(db *gorm.DB) *gorm.DB {
	for _, assoc := range spec.preload {
		db = db.Preload(assoc)
	}
	return db
}

// adminList returns page q.Page of base (clamped to the pages there are).
func adminList[T any](base *gorm.DB, spec adminSpec, q AdminQuery) (AdminPage[T], error) {
	var page AdminPage[T]
	base = spec.filter(base, q)
	if err := base.Session(&gorm.Session{}).Count(&page.Count).Error; err != nil {
		return page, translate(err)
	}
	page.NumPages = max(1, int((page.Count+AdminPageSize-1)/AdminPageSize))
	page.Number = min(max(q.Page, 1), page.NumPages)
	query := spec.load(spec.order(base.Session(&gorm.Session{}), q.Ordering))
	if err := query.Offset((page.Number - 1) * AdminPageSize).Limit(AdminPageSize).Find(&page.Items).Error; err != nil {
		return page, translate(err)
	}
	return page, nil
}

// adminEach calls fn for every row of base matching q, in the changelist's
// order, reading in batches so an export of any size runs in constant
// memory.
func adminEach[T any](base *gorm.DB, spec adminSpec, q AdminQuery, fn func(*T) error) error {
	const batch = 500
	base = spec.filter(base, q)
	for offset := 0; ; offset += batch {
		var rows []T
		query := spec.load(spec.order(base.Session(&gorm.Session{}), q.Ordering))
		if err := query.Offset(offset).Limit(batch).Find(&rows).Error; err != nil {
			return translate(err)
		}
		for i := range rows {
			if err := fn(&rows[i]); err != nil {
				return err
			}
		}
		if len(rows) < batch {
			return nil
		}
	}
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
