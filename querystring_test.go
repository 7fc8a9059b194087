package main

import "testing"

// escapeLiterally's edges: escapes at either end, a '%' one or two
// characters short of an escape, valid escapes kept; a query with nothing
// to escape is the same string, not a copy (it runs on every request).
func TestEscapeLiterally(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"page=2&search=ab": "page=2&search=ab",
		"q=a%20b%2Bc":      "q=a%20b%2Bc",
		";q=1;":            "%3Bq=1%3B",
		"q=%":              "q=%25",
		"q=%4":             "q=%254",
		"q=%4g":            "q=%254g",
		"q=%zz&p=%41":      "q=%25zz&p=%41",
		"%%41":             "%25%41",
	} {
		got := escapeLiterally(in)
		if got != want {
			t.Errorf("escapeLiterally(%q) = %q, want %q", in, got, want)
		}
		if got == in {
			if n := testing.AllocsPerRun(10, func() { escapeLiterally(in) }); n != 0 {
				t.Errorf("escapeLiterally(%q) allocated %v times for a query with nothing to escape", in, n)
			}
		}
	}
}
