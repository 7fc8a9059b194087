package templates

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCellContent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cell Cell
		want string
	}{
		{"plain text, escaped", Cell{Text: `Ann & "Bo" <b>O'Neil</b>`},
			`Ann &amp; &#34;Bo&#34; &lt;b&gt;O&#39;Neil&lt;/b&gt;`},
		{"empty", Cell{}, `<span class="empty" aria-label="empty">—</span>`},
		{"link, both escaped", Cell{Text: "<i>x</i>", URL: `/admin/patients/?q="a"&o='b'`},
			`<a href="/admin/patients/?q=&#34;a&#34;&amp;o=&#39;b&#39;">&lt;i&gt;x&lt;/i&gt;</a>`},
		{"yes", Cell{Kind: "bool", Text: "Yes", Yes: true}, `<span class="badge badge-yes">Yes</span>`},
		{"no, escaped", Cell{Kind: "bool", Text: "<No>"}, `<span class="badge badge-no">&lt;No&gt;</span>`},
	} {
		// Into a writer with WriteString and into one without.
		var buf strings.Builder
		if err := cellContent(tc.cell).Render(context.Background(), &buf); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if buf.String() != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, buf.String(), tc.want)
		}
		var plain plainWriter
		if err := cellContent(tc.cell).Render(context.Background(), &plain); err != nil {
			t.Fatalf("%s (plain writer): %v", tc.name, err)
		}
		if string(plain.b) != tc.want {
			t.Errorf("%s (plain writer):\n got %s\nwant %s", tc.name, plain.b, tc.want)
		}
	}
}

func TestCellContentStopsAtAWriteError(t *testing.T) {
	t.Parallel()
	w := &failingWriter{}
	err := cellContent(Cell{Text: "Ann", URL: "/admin/patients/1/"}).Render(context.Background(), w)
	if !errors.Is(err, errWrite) {
		t.Fatalf("err = %v, want the writer's", err)
	}
	if w.calls != 1 {
		t.Errorf("%d writes, want none after the failed one", w.calls)
	}
}

// plainWriter has Write only.
type plainWriter struct{ b []byte }

func (w *plainWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

var errWrite = errors.New("write failed")

// failingWriter fails every write and counts them.
type failingWriter struct{ calls int }

func (w *failingWriter) Write([]byte) (int, error) { w.calls++; return 0, errWrite }
