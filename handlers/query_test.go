package handlers

import "testing"

// mayRepeatKey finds every repeated key (escaped ones by the parser), and
// costs nothing for the queries of every list request.
func TestMayRepeatKey(t *testing.T) {
	for raw, want := range map[string]bool{
		"": false, "page=2": false, "page=2&page_size=5&search=a": false, "search=a&search=b": true,
		"page=1&x=1&page=2": true, "page&page": true, "p%61ge=1&page=2": true, "a+b=1": true,
	} {
		if got := mayRepeatKey(raw); got != want {
			t.Errorf("mayRepeatKey(%q) = %v, want %v", raw, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { mayRepeatKey("page=2&page_size=20&search=smith&ordering=name") }); n != 0 {
		t.Errorf("%v allocations for a query without repeats, want none", n)
	}
}
