package models

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Page sizes of the API's lists.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ListQuery is a parsed list request.
type ListQuery struct {
	Page     int // from 1; ignored in cursor mode
	PageSize int // 1..MaxPageSize; other values mean DefaultPageSize
	// UseCursor selects keyset pagination; Cursor is the opaque position
	// ("" for the first page).
	UseCursor bool
	Cursor    string
	Search    string // words that must each match one searchable field
	Ordering  string // comma-separated field names, "-" for descending
}

// Page is one page of a list. In page mode Count and the Has flags are set;
// in cursor mode NextCursor and PrevCursor ("" when there is none).
type Page[T any] struct {
	Items      []T
	Count      int64
	HasNext    bool
	HasPrev    bool
	NextCursor string
	PrevCursor string
}

// listSpec says which fields of a list can be searched and ordered.
type listSpec struct {
	search   []string          // columns matched by ?search=
	folded   string            // the search columns lowered (applyWords), on PostgreSQL
	ordering map[string]string // API name -> column
	nullable map[string]bool   // columns that may be NULL (sorted as PostgreSQL does)
	preload  []string          // associations loaded with the rows (not for the count)
	// state, if set, reads the unsearched list's size and version without
	// reading its rows (the owner's patient counter); with memo, what a
	// request learns of the list is remembered while the version stays.
	state func() (listState, error)
	memo  *listMemo
	// countSearchInPage reads a searched page and the search's count in
	// one statement (a window count), for lists with no counter or memo
	// to count them: the matches are scanned once, where a count and a
	// page scan them twice. (Unsearched, a count and an index walk of 20
	// rows cost less than sorting every row beside a window.)
	countSearchInPage bool
	// stillAt, required with memo, adds to a statement over the list the
	// condition that the list is still at a state's version, read in the
	// statement's own snapshot: a statement that uses or records what the
	// memo holds then sees exactly the rows of that version, or none.
	stillAt func(db *gorm.DB, st listState) *gorm.DB
}

// listState is a list's unsearched size and version: the version changes
// whenever the list's rows may have.
type listState struct{ owner, total, version int64 }

// listView is what a page request knows of its list before reading rows.
type listView struct {
	spec     listSpec
	state    listState
	known    bool      // state was read: for the total, or for the memo
	searched bool      // the search has words (or is refused for them)
	memo     *listMemo // nil: nothing is remembered for this request
	key      memoKey
}

// stillAt limits db to the list at the version this request read.
func (v listView) stillAt(db *gorm.DB) *gorm.DB { return v.spec.stillAt(db, v.state) }

// view reads the list's state, if spec has one and the request needs it:
// for the total of an unsearched list, or for the memo. A search refused
// for its words (wordsErr) is counted, and fails, as without a memo.
func (spec listSpec) view(words []string, wordsErr error) (listView, error) {
	v := listView{spec: spec, searched: wordsErr != nil || len(words) > 0}
	search := memoSearch(words)
	remember := spec.memo != nil && wordsErr == nil && len(search) <= listMemoSearchMax
	if spec.state == nil || (v.searched && !remember) {
		return v, nil
	}
	state, err := spec.state()
	if err != nil {
		return v, err
	}
	v.state, v.known = state, true
	if remember {
		v.memo = spec.memo
		v.key = memoKey{owner: state.owner, search: search}
	}
	return v, nil
}

func (spec listSpec) load(db *gorm.DB) *gorm.DB {
	for _, assoc := range spec.preload {
		db = db.Preload(assoc)
	}
	return db
}

func (q ListQuery) size() int {
	if q.PageSize < 1 {
		return DefaultPageSize
	}
	return min(q.PageSize, MaxPageSize)
}

// errInvalidPage answers a page number outside the list.
func errInvalidPage() *Error { return &Error{Code: NotFound, Message: "Invalid page."} }

// errInvalidCursor answers a cursor that cannot be decoded.
func errInvalidCursor() *Error { return &Error{Code: Invalid, Message: "Invalid cursor."} }

// list runs the list query q over base (already scoped to what the caller
// may see) and returns one page.
func list[T any](base *gorm.DB, spec listSpec, q ListQuery) (Page[T], error) {
	words, wordsErr := searchWords(q.Search)
	base = applyWords(base, spec.search, spec.folded, words, wordsErr)
	if q.UseCursor {
		return listByCursor[T](spec.load(base), q)
	}
	var page Page[T]
	if q.Page < 1 {
		return page, errInvalidPage()
	}
	v, err := spec.view(words, wordsErr)
	if err != nil {
		return page, err
	}
	size := q.size()
	if q.Page-1 > (math.MaxInt-size)/size {
		// Past any list's end; (Page-1)*size would wrap to a negative
		// offset, which gorm leaves out: page 1 again, with a next link.
		return page, errInvalidPage()
	}
	offset := (q.Page - 1) * size
	if spec.countSearchInPage && v.searched && v.memo == nil && len(spec.preload) == 0 && offset < deferredJoinOffset {
		rows, total, err := pageCounted[T](applyOrdering(base.Session(&gorm.Session{}), spec, q.Ordering), offset, size)
		if err != nil {
			return page, err
		}
		// No row at offset: the list is empty (page 1) or ends before it.
		if len(rows) == 0 && q.Page > 1 {
			return page, errInvalidPage()
		}
		page.Items, page.Count = rows, total
		page.HasPrev = q.Page > 1
		page.HasNext = int64(offset+len(rows)) < total
		return page, nil
	}
	if err := v.count(base, &page.Count); err != nil {
		return page, err
	}
	if q.Page > 1 && int64(offset) >= page.Count {
		return page, errInvalidPage()
	}
	if v.memo != nil && offset >= deferredJoinOffset && orderedByDefault(q.Ordering, spec.ordering, "created_at") {
		page.Items, err = pageFromMark[T](base, spec, v, offset, size)
	} else {
		page.Items, err = pageAt[T](applyOrdering(base.Session(&gorm.Session{}), spec, q.Ordering), spec, q.Ordering, offset, size)
	}
	if err != nil {
		return page, err
	}
	page.HasPrev = q.Page > 1
	page.HasNext = int64(offset+len(page.Items)) < page.Count
	return page, nil
}

// pageAt reads size rows of the ordered query from offset.
func pageAt[T any](ordered *gorm.DB, spec listSpec, ordering string, offset, size int) ([]T, error) {
	query := ordered.Offset(offset).Limit(size)
	if offset >= deferredJoinOffset {
		// Deep pages: find the page's ids first, from the index alone when
		// the order is the index's, then read only those rows, instead of
		// reading every row that OFFSET skips.
		ids := query.Select("id")
		query = applyOrdering(keepMark(ordered, ordered.Session(&gorm.Session{NewDB: true})).Model(new(T)).Where("id IN (?)", ids), spec, ordering)
	}
	var rows []T
	if err := spec.load(query).Find(&rows).Error; err != nil {
		return nil, translate(err)
	}
	return rows, nil
}

// withListTotal is a row of T with the size of the whole list beside it.
type withListTotal[T any] struct {
	Row       T     `gorm:"embedded"`
	ListTotal int64 `gorm:"column:list_total"`
}

// pageCounted reads size rows of the ordered query from offset and, from
// the same statement, how many rows the query has: 0 with no row.
func pageCounted[T any](ordered *gorm.DB, offset, size int) ([]T, int64, error) {
	// The model's columns by name, as every other read (QueryFields), not
	// "*": a table may hold more (doctors.search_text, on PostgreSQL).
	stmt := ordered.Statement
	if err := stmt.Parse(new(T)); err != nil {
		return nil, 0, translate(err)
	}
	columns := make([]string, 0, len(stmt.Schema.DBNames)+1)
	for _, name := range stmt.Schema.DBNames {
		columns = append(columns, stmt.Quote(clause.Column{Table: stmt.Table, Name: name}))
	}
	columns = append(columns, "COUNT(*) OVER () AS list_total")
	var counted []withListTotal[T]
	err := ordered.Select(strings.Join(columns, ", ")).Offset(offset).Limit(size).Find(&counted).Error
	if err != nil || len(counted) == 0 {
		return nil, 0, translate(err)
	}
	rows := make([]T, len(counted))
	for i := range counted {
		rows[i] = counted[i].Row
	}
	return rows, counted[0].ListTotal, nil
}

// pageFromMark is pageAt in the default order, from the remembered page
// start nearest at or before offset: a page read before, or the next one,
// costs one index range whatever its depth. It remembers where this page
// and the next one start.
func pageFromMark[T any](base *gorm.DB, spec listSpec, v listView, offset, size int) ([]T, error) {
	query := v.stillAt(base.Session(&gorm.Session{}))
	skip := offset
	if pos, k, ok := v.memo.mark(v.key, v.state.version, offset); ok {
		query = query.Where("(created_at, id) < (?, ?)", k.at, k.id)
		skip = offset - pos
	}
	// With rows to skip, the row before the page is read too: its key
	// marks where the page starts.
	lead := min(skip, 1)
	rows, err := pageAt[T](applyOrdering(query, spec, ""), spec, "", skip-lead, size+lead)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		// The list moved on since its version was read (or the page is
		// empty): read the page as OFFSET does, and remember nothing.
		return pageAt[T](applyOrdering(base.Session(&gorm.Session{}), spec, ""), spec, "", offset, size)
	}
	if lead == 1 {
		v.memo.setMark(v.key, v.state.version, offset, rowKeyOf(&rows[0]))
		rows = rows[1:]
	}
	if len(rows) > 0 {
		v.memo.setMark(v.key, v.state.version, offset+len(rows), rowKeyOf(&rows[len(rows)-1]))
	}
	return rows, nil
}

func rowKeyOf[T any](row *T) rowKey {
	at, id := any(row).(keyed).key()
	return rowKey{at: at, id: id}
}

// deferredJoinOffset is the OFFSET from which a page reads its ids before
// its rows, and from which the memo remembers page starts.
const deferredJoinOffset = 1000

// count sets n to the size of the list base (already searched): the
// state's total when there is no search, the memo's count while the list
// is unchanged, by counting otherwise.
func (v listView) count(base *gorm.DB, n *int64) error {
	switch {
	case v.known && !v.searched:
		*n = v.state.total
		return nil
	case v.memo == nil:
		return translate(base.Session(&gorm.Session{}).Count(n).Error)
	}
	if c, ok := v.memo.count(v.key, v.state.version); ok {
		*n = c
		return nil
	}
	// Counted at the version read, in the count's own snapshot, so what is
	// remembered is that version's count.
	if err := v.stillAt(base.Session(&gorm.Session{})).Count(n).Error; err != nil {
		return translate(err)
	}
	if *n == 0 {
		// No match, or the list moved on since its version was read: if
		// the version is still the same now, it was the former.
		st, err := v.spec.state()
		if err != nil {
			return err
		}
		if st.version != v.state.version {
			return translate(base.Session(&gorm.Session{}).Count(n).Error)
		}
	}
	v.memo.setCount(v.key, v.state.version, *n)
	return nil
}

// applyWords adds, for each word of a search (searchWords), a condition
// that one of columns contains it, case-insensitively, with % and _ taken
// literally. Too many words make the query fail (engines cap bind
// parameters, SQLite at 32766) or crawl, so searchWords' error, err, is
// then the query's (an Invalid *Error).
// folded, when not "", is a column holding the searched columns lowered
// and newline-separated (searchText.folded; used on PostgreSQL, the only
// engine that has it, and ignored on SQLite): each word
// is tested against it first, one LIKE instead of a lower() per column,
// and the per-column test runs only on the rows it lets through (and on
// rows where it is NULL). The per-column test stays for the planner: the
// trigram indexes serve it, not the folded column.
func applyWords(db *gorm.DB, columns []string, folded string, words []string, err error) *gorm.DB {
	if len(columns) == 0 {
		return db
	}
	if err != nil {
		db = db.Session(&gorm.Session{})
		_ = db.AddError(err)
		return db
	}
	for _, w := range words {
		if utf8.RuneCountInString(w) > longestText {
			// No field holds that much text, so nothing contains the word;
			// and SQLite refuses LIKE patterns over 50,000 bytes.
			return db.Where("1 = 0")
		}
	}
	if len(words) > 0 {
		db = planEachTime(db)
	}
	if db.Dialector.Name() != Postgres {
		folded = ""
	}
	for _, w := range words {
		var ors, prefilter []string
		var args, prefilterArgs []any
		for _, form := range textForms(w) {
			if utf8.RuneCountInString(form) > longestText {
				// A spelling longer than any field (composing or
				// decomposing may lengthen a word three times over) is
				// contained in nothing, and SQLite would refuse its pattern.
				continue
			}
			pattern := "%" + likeEscaper.Replace(form) + "%"
			if strings.ContainsAny(form, greekSigmas) {
				// A Greek sigma: LOWER keeps a final ς as typed and makes Σ
				// a σ, so "ΝΙΚΌΛΑΟΣ" and "Νικόλαος" lower to different
				// words. The columns are compared with every ς as σ, as
				// DRF's UPPER on both sides compares them; the indexes (on
				// LOWER) serve the same pattern with a one-letter wildcard
				// where a sigma stands, and the exact test runs on what
				// they find.
				exact := "%" + likeEscaper.Replace(oneSigma(form)) + "%"
				pattern = sigmaWildcards.Replace(pattern)
				for _, col := range columns {
					ors = append(ors, "(LOWER("+col+`) LIKE ? ESCAPE '\' AND `+oneSigmaSQL(col)+` LIKE ? ESCAPE '\')`)
					args = append(args, pattern, exact)
				}
			} else {
				for _, col := range columns {
					ors = append(ors, "LOWER("+col+`) LIKE ? ESCAPE '\'`)
					args = append(args, pattern)
				}
			}
			prefilter = append(prefilter, folded+` LIKE ? ESCAPE '\'`)
			prefilterArgs = append(prefilterArgs, pattern)
		}
		if len(ors) == 0 {
			return db.Where("1 = 0")
		}
		cond := "(" + strings.Join(ors, " OR ") + ")"
		if folded != "" {
			// PostgreSQL evaluates the cheaper condition of an AND first.
			cond = "(COALESCE(" + strings.Join(prefilter, " OR ") + ", TRUE) AND " + cond + ")"
			args = append(prefilterArgs, args...)
		}
		db = db.Where(cond, args...)
	}
	return db
}

// maxSearchWords bounds the distinct words of a search.
const maxSearchWords = 20

// searchWords returns the lower-cased words of search that decide its
// result: a repeated word, or one contained in another word, adds nothing
// (whatever contains the longer word contains it too), so it is dropped.
// More than maxSearchWords words left is an Invalid error.
func searchWords(search string) ([]string, error) {
	// As DRF's SearchFilter: NUL is stripped (PostgreSQL refuses it), and
	// bytes that are not UTF-8 read as U+FFFD, as Django decodes them.
	return decisiveWords(strings.FieldsFunc(storableText(search), func(r rune) bool {
		return r == ',' || isPySpace(r)
	}))
}

// adminSearchWords are searchWords for the admin panel, whose searches keep
// quoted phrases together, as Django's admin does (phraseTerms).
func adminSearchWords(search string) ([]string, error) {
	return decisiveWords(phraseTerms(storableText(search)))
}

// decisiveWords are the distinct lower-cased terms that decide a search's
// result (see searchWords), or the Invalid error for too many.
func decisiveWords(terms []string) ([]string, error) {
	tooMany := &Error{Code: Invalid, Message: fmt.Sprintf("Too many search terms: use at most %d words.", maxSearchWords)}
	seen := map[string]bool{}
	var words []string
	for _, w := range terms {
		w = strings.ToLower(w)
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	if len(words) > 10*maxSearchWords {
		return nil, tooMany // before the quadratic pass below
	}
	forms := make([][]string, len(words)) // each word's spellings, once
	for i, w := range words {
		forms[i] = textForms(w)
	}
	kept := words[:0:0]
	for i, w := range words {
		implied := false
		for j, other := range words {
			if i != j && len(other) > len(w) && impliedBy(forms[i], forms[j]) {
				implied = true
				break
			}
		}
		if !implied {
			kept = append(kept, w)
		}
	}
	if len(kept) > maxSearchWords {
		return nil, tooMany
	}
	return kept, nil
}

// impliedBy reports whether every row a search for a word of spellings
// others (textForms) finds also contains the word of spellings ws:
// whichever spelling of the other a row holds, one of w's is inside it.
// "jose" is not implied by "jose\u0301", whose composed spelling "josé"
// does not contain it.
func impliedBy(ws, others []string) bool {
	for _, f := range others {
		if !slices.ContainsFunc(ws, func(g string) bool { return strings.Contains(f, g) }) {
			return false
		}
	}
	return true
}

// CheckAdminSearch returns the error an admin list gives search (Invalid:
// too many words), or nil, without running it: a HEAD of an export answers
// as its GET would.
func CheckAdminSearch(search string) error {
	_, err := adminSearchWords(search)
	return err
}

// MaxQueryFields is Django's DATA_UPLOAD_MAX_NUMBER_FIELDS, for the API's
// queries and the admin panel's alike.
const MaxQueryFields = 1000

// MsgTooManyQueryFields says why a query over MaxQueryFields is refused.
const MsgTooManyQueryFields = "Too many query parameters: at most 1000."

// CheckQuerySize refuses (Invalid) a raw query of more than MaxQueryFields
// pairs, as Django does (TooManyFieldsSent): Go's parser drops every pair
// past 10,000 without a word, and a search or filter it dropped would list
// more than was asked. It counts separators, before anything is parsed.
func CheckQuerySize(rawQuery string) error {
	if strings.Count(rawQuery, "&") >= MaxQueryFields {
		return &Error{Code: Invalid, Message: MsgTooManyQueryFields}
	}
	return nil
}

// greekSigmas are the two lower-case forms of Σ: σ, and ς at a word's end.
const greekSigmas = "σς"

// oneSigma is lower-cased text with its final sigmas as σ: what a search
// or filter compares, so that σ and ς are one letter (applyWords).
func oneSigma(s string) string { return strings.ReplaceAll(s, "ς", "σ") }

// oneSigmaSQL is oneSigma of column col, lower-cased, in SQL.
func oneSigmaSQL(col string) string { return "REPLACE(LOWER(" + col + "), 'ς', 'σ')" }

// sigmaWildcards makes each sigma of a LIKE pattern a one-letter wildcard.
var sigmaWildcards = strings.NewReplacer("σ", "_", "ς", "_")

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// applyOrdering orders by the allow-listed fields of ordering (unknown ones
// are ignored), then newest first, so pages never overlap.
func applyOrdering(db *gorm.DB, spec listSpec, ordering string) *gorm.DB {
	return orderBy(db, ordering, spec.ordering, spec.nullable, "created_at", "id")
}

// orderedByDefault reports whether orderBy sorts by ordering as it does by
// no ordering: newest first, by created and then id descending. It may say
// no to an ordering that sorts the same ("-created_at,created_at").
func orderedByDefault(ordering string, columns map[string]string, created string) bool {
	for _, f := range strings.Split(ordering, ",") {
		f = strings.TrimSpace(f)
		if col, ok := columns[strings.TrimPrefix(f, "-")]; ok && (col != created || !strings.HasPrefix(f, "-")) {
			return false
		}
	}
	return true
}

// orderBy sorts db by the fields of ordering ("name,-created_at") that
// columns allows (field -> column; others are ignored), NULLs last
// ascending and first descending on both engines for the nullable
// columns, then by created descending and id descending, so that the
// order is total and pages never overlap.
func orderBy(db *gorm.DB, ordering string, columns map[string]string, nullable map[string]bool, created, id string) *gorm.DB {
	seen := map[string]bool{}
	for _, f := range strings.Split(ordering, ",") {
		f = strings.TrimSpace(f)
		dir := "ASC"
		if strings.HasPrefix(f, "-") {
			dir, f = "DESC", f[1:]
		}
		col, ok := columns[f]
		if !ok || seen[col] {
			continue
		}
		seen[col] = true
		if nullable[col] {
			// Empty values last going up, first going down, on both
			// engines (SQLite's own default puts NULL first going up).
			// Spelled NULLS LAST/FIRST rather than as "col IS NULL",
			// which no index on col can serve.
			nulls := " NULLS LAST"
			if dir == "DESC" {
				nulls = " NULLS FIRST"
			}
			db = db.Order(col + " " + dir + nulls)
			continue
		}
		db = db.Order(col + " " + dir)
	}
	if !seen[created] {
		db = db.Order(created + " DESC")
	}
	return db.Order(id + " DESC")
}

// cursor is a keyset position in the default order (-created_at, -id).
// Reverse cursors page towards newer rows (a "previous" link).
type cursor struct {
	reverse bool
	at      time.Time
	id      int64
}

func (c cursor) encode() string {
	dir := "n"
	if c.reverse {
		dir = "p"
	}
	raw := fmt.Sprintf("%s.%d.%d", dir, c.at.UnixMicro(), c.id)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// maxCursorMicros is 10000-01-01T00:00:00Z in Unix microseconds.
const maxCursorMicros = 253402300800000000

func decodeCursor(s string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, errInvalidCursor()
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || (parts[0] != "n" && parts[0] != "p") {
		return cursor{}, errInvalidCursor()
	}
	micros, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	// Past year 9999 no row can be: SQLite, which compares times as
	// text, and PostgreSQL would answer differently.
	if err1 != nil || err2 != nil || id < 1 || micros < 0 || micros >= maxCursorMicros {
		return cursor{}, errInvalidCursor()
	}
	return cursor{reverse: parts[0] == "p", at: time.UnixMicro(micros).UTC(), id: id}, nil
}

// keyed is implemented by every listed model: the keyset position of a row.
type keyed interface{ key() (time.Time, int64) }

// listByCursor returns the page after (or, reversed, before) the cursor's
// position, one index range scan whatever the depth.
func listByCursor[T any](base *gorm.DB, q ListQuery) (Page[T], error) {
	var page Page[T]
	var pos *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return page, err
		}
		pos = &c
	}
	size := q.size()
	query := base.Session(&gorm.Session{})
	reverse := pos != nil && pos.reverse
	switch {
	case pos == nil:
		query = query.Order("created_at DESC").Order("id DESC")
	case reverse:
		// Row values, not "a > x OR (a = x AND b > y)": PostgreSQL reads a
		// row comparison as one range of the (owner, created_at, id) index.
		query = query.Where("(created_at, id) > (?, ?)", pos.at, pos.id).
			Order("created_at ASC").Order("id ASC")
	default:
		query = query.Where("(created_at, id) < (?, ?)", pos.at, pos.id).
			Order("created_at DESC").Order("id DESC")
	}
	var rows []T
	if err := query.Limit(size + 1).Find(&rows).Error; err != nil {
		return page, translate(err)
	}
	more := len(rows) > size
	if more {
		rows = rows[:size]
	}
	if reverse {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	page.Items = rows
	if len(rows) == 0 {
		// An empty page past either end: offer the way back to the rows.
		if pos != nil {
			c := *pos
			c.reverse = !pos.reverse
			if reverse {
				page.NextCursor = c.encode()
			} else {
				page.PrevCursor = c.encode()
			}
		}
		return page, nil
	}
	first, last := any(&rows[0]).(keyed), any(&rows[len(rows)-1]).(keyed)
	ft, fid := first.key()
	lt, lid := last.key()
	if (reverse && more) || (!reverse && pos != nil) {
		page.PrevCursor = cursor{reverse: true, at: ft, id: fid}.encode()
	}
	if (!reverse && more) || reverse {
		page.NextCursor = cursor{at: lt, id: lid}.encode()
	}
	return page, nil
}
