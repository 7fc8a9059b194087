package main

import (
	"log/slog"
	"runtime"
	"strings"
	"testing"
)

// The server runs one more P than hashing slots unless GOMAXPROCS is set;
// never fewer Ps than it had. Not parallel: GOMAXPROCS is the process's.
func TestAddSpareProc(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	for _, tc := range []struct {
		name       string
		start      int
		slots      int
		gomaxprocs string
		want       int
		wantLog    string
	}{
		{"one spare over the hashing slots", 2, 2, "", 3, "GOMAXPROCS=3"},
		{"one core", 1, 1, "", 2, "GOMAXPROCS=2"},
		{"fewer slots than Ps: left alone", 4, 2, "", 4, "GOMAXPROCS=4"},
		{"GOMAXPROCS wins", 2, 2, "2", 2, "from the environment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GOMAXPROCS(tc.start)
			var logs strings.Builder
			got := addSpareProc(tc.slots, tc.gomaxprocs, slog.New(slog.NewTextHandler(&logs, nil)))
			if now := runtime.GOMAXPROCS(0); got != tc.want || now != tc.want {
				t.Errorf("addSpareProc(%d, %q) from %d = %d (runtime has %d), want %d", tc.slots, tc.gomaxprocs, tc.start, got, now, tc.want)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log = %q, want %q in it", logs.String(), tc.wantLog)
			}
		})
	}
}
