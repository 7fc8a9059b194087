package models

import (
	"testing"
	"time"
)

// An entry answers only for the version it was learnt at; a request that
// read an older version leaves a newer entry alone.
func TestListMemoVersions(t *testing.T) {
	m := newListMemo()
	k := memoKey{owner: 1, search: memoSearch([]string{"b", "a"})}
	if k.search != memoSearch([]string{"a", "b"}) {
		t.Fatal("the words' order names another search")
	}
	m.setCount(k, 5, 40)
	if n, ok := m.count(k, 5); !ok || n != 40 {
		t.Fatalf("count at 5: %d %v", n, ok)
	}
	if _, ok := m.count(k, 6); ok {
		t.Fatal("a count of version 5 answered for version 6")
	}
	m.setCount(k, 6, 41)
	m.setCount(k, 5, 40) // late, from a request that read version 5
	if n, ok := m.count(k, 6); !ok || n != 41 {
		t.Fatalf("count at 6 after a late write of 5: %d %v", n, ok)
	}
	if _, ok := m.count(memoKey{owner: 2, search: k.search}, 6); ok {
		t.Fatal("another owner's count answered")
	}
}

// mark finds the nearest page start at or before a position; both the
// entries and each entry's marks are bounded.
func TestListMemoMarksAndBounds(t *testing.T) {
	m := newListMemo()
	k := memoKey{owner: 1}
	at := time.Unix(0, 0)
	for _, p := range []int{1000, 1020, 1100} {
		m.setMark(k, 1, p, rowKey{at: at, id: int64(p)})
	}
	for _, tc := range []struct {
		position, want int
		ok             bool
	}{{999, 0, false}, {1000, 1000, true}, {1019, 1000, true}, {1099, 1020, true}, {5000, 1100, true}} {
		p, key, ok := m.mark(k, 1, tc.position)
		if ok != tc.ok || (ok && (p != tc.want || key.id != int64(tc.want))) {
			t.Errorf("mark(%d) = %d %v %v, want %d %v", tc.position, p, key.id, ok, tc.want, tc.ok)
		}
	}
	if _, _, ok := m.mark(k, 2, 5000); ok {
		t.Error("a mark of version 1 answered for version 2")
	}
	for p := range 10 * listMemoMarks {
		m.setMark(k, 1, 2000+p, rowKey{at: at, id: 1})
	}
	if n := len(m.entries[k].marks); n != listMemoMarks {
		t.Errorf("%d marks kept, want %d", n, listMemoMarks)
	}
	for o := range int64(2 * listMemoEntries) {
		m.setCount(memoKey{owner: o}, 1, o)
	}
	if n := len(m.entries); n != listMemoEntries {
		t.Errorf("%d entries kept, want %d", n, listMemoEntries)
	}
}
