package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

// MEMORY_LIMIT sets the runtime's soft limit unless GOMEMLIMIT is in the
// environment; off leaves it alone. Not parallel: the limit is the
// process's.
func TestApplyMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	const start = 1 << 40 // far above anything MEMORY_LIMIT sets here
	for _, tc := range []struct {
		name       string
		limit      int64
		gomemlimit string
		want       int64
		wantLog    string
	}{
		{"default", 120 << 20, "", 120 << 20, "MEMORY_LIMIT=120MiB"},
		{"odd size", 100<<20 + 1, "", 100<<20 + 1, "MEMORY_LIMIT=104857601B"},
		{"GOMEMLIMIT wins", 120 << 20, "80MiB", start, "GOMEMLIMIT=80MiB"},
		{"off", 0, "", start, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(start)
			var logs strings.Builder
			got := applyMemoryLimit(tc.limit, tc.gomemlimit, slog.New(slog.NewTextHandler(&logs, nil)))
			if now := debug.SetMemoryLimit(-1); got != tc.want || now != tc.want {
				t.Errorf("applyMemoryLimit(%d, %q) = %d (runtime has %d), want %d", tc.limit, tc.gomemlimit, got, now, tc.want)
			}
			if !strings.Contains(logs.String(), tc.wantLog) || (tc.wantLog == "" && logs.Len() > 0) {
				t.Errorf("log = %q, want %q in it", logs.String(), tc.wantLog)
			}
		})
	}
	if got := byteSize(math.MaxInt64); got != "9223372036854775807B" {
		t.Errorf("byteSize(MaxInt64) = %q", got)
	}
}
