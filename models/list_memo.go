package models

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// listMemo remembers, per owner and search, the two parts of an owner's
// patient list whose cost grows with the owner's rows: the exact count of
// a search's matches (the contract's `count` visits every match) and where
// deep pages start (an OFFSET walks every row it skips). Each entry holds
// the owner's list version it was learnt at (PatientCount.Version, moved
// by the database's triggers in every transaction that writes the owner's
// patients) and is used only by a request that read the same version, so
// it changes what a page costs, never what it says. The versions live in
// the database: server processes, each with a memo of its own, never
// disagree. An owner's version only grows while the owner exists, and user
// ids are never reused (SQLite's AUTOINCREMENT, PostgreSQL's sequences), so
// no (owner, version) pair names two states of a list.
//
// The statements that use or fill an entry check, in their own snapshot,
// that the list is still at the entry's version (listSpec.stillAt): a
// write that commits between a request's reading of the version and of
// the rows sends that request back to OFFSET and COUNT, so its page is
// one state of the list, never a remembered start over changed rows. As
// before the memo, its count and its rows are two statements, and may be
// one write apart.
type listMemo struct {
	mu      sync.Mutex
	entries map[memoKey]*memoEntry
}

const (
	// listMemoEntries bounds the (owner, search) pairs remembered: about
	// 3 KiB of heap each at most (32 marks, a 256-byte search), so about
	// 6 MiB in all.
	listMemoEntries = 2048
	// listMemoSearchMax bounds the length of a search remembered: longer
	// ones (rare, and free to make up) are counted on every request.
	listMemoSearchMax = 256
	// listMemoMarks bounds the page starts remembered per pair.
	listMemoMarks = 32
)

type memoKey struct {
	owner  int64
	search string // the search's words, sorted and joined by NUL
}

type memoEntry struct {
	version int64
	count   int64 // -1 until counted
	marks   map[int]rowKey
}

// rowKey is a row's position in the default order (-created_at, -id).
// marks[n] is the key of the row just before position n (from 0), so the
// rows from position n on are those after it in that order.
type rowKey struct {
	at time.Time
	id int64
}

func newListMemo() *listMemo { return &listMemo{entries: map[memoKey]*memoEntry{}} }

// memoSearch is the memo's name for a search's words: their order does not
// change the matches.
func memoSearch(words []string) string {
	sorted := slices.Clone(words)
	slices.Sort(sorted)
	return strings.Join(sorted, "\x00")
}

// entry returns the entry of key learnt at version, nil if there is none.
// With create, it makes one, replacing an entry of an older version (a
// request that read an older version than the entry's leaves it alone).
// The caller holds mu.
func (m *listMemo) entry(key memoKey, version int64, create bool) *memoEntry {
	e := m.entries[key]
	if e != nil && e.version == version {
		return e
	}
	if !create || (e != nil && e.version > version) {
		return nil
	}
	if e == nil && len(m.entries) >= listMemoEntries {
		deleteAny(m.entries)
	}
	e = &memoEntry{version: version, count: -1}
	m.entries[key] = e
	return e
}

// count returns the count remembered for key at version.
func (m *listMemo) count(key memoKey, version int64) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entry(key, version, false); e != nil && e.count >= 0 {
		return e.count, true
	}
	return 0, false
}

func (m *listMemo) setCount(key memoKey, version, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entry(key, version, true); e != nil {
		e.count = n
	}
}

// mark returns the remembered page start nearest at or before position.
func (m *listMemo) mark(key memoKey, version int64, position int) (int, rowKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entry(key, version, false)
	if e == nil {
		return 0, rowKey{}, false
	}
	best, found := -1, false
	for p := range e.marks {
		if p <= position && p > best {
			best, found = p, true
		}
	}
	return best, e.marks[best], found
}

func (m *listMemo) setMark(key memoKey, version int64, position int, k rowKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entry(key, version, true)
	if e == nil {
		return
	}
	if e.marks == nil {
		e.marks = map[int]rowKey{}
	}
	if _, ok := e.marks[position]; !ok && len(e.marks) >= listMemoMarks {
		deleteAny(e.marks)
	}
	e.marks[position] = k
}

// deleteAny makes room in a full map: any one key goes (Go's map order is
// random, so no key is favoured).
func deleteAny[K comparable, V any](m map[K]V) {
	for k := range m {
		delete(m, k)
		return
	}
}
