package main

import (
	"log/slog"
	"runtime/debug"
	"strconv"
)

// applyMemoryLimit gives the Go runtime a soft memory limit of limit bytes
// (MEMORY_LIMIT; 0 means off) unless gomemlimit, the process environment's
// GOMEMLIMIT, is set: the runtime has applied that one itself at start-up,
// and the operator's explicit choice wins.
//
// Why a default limit: with GOGC=100 alone the heap may grow to twice
// what is live before the next collection, and what is live includes 19
// MiB of argon2id memory per hashing slot while logins come and for a
// minute after (models/hash_memory.go). Near the limit the collector runs sooner
// instead. It was set when each hash allocated its 19 MiB afresh (a login
// run's peak went from 149 to 113 MB with GOMEMLIMIT=80MiB); since the
// Hasher keeps that memory the benchmark's peaks are the same with and
// without it (BENCHMARKS.md), and it stays as a bound on what else the
// heap may grow to. The limit is soft: the process never fails for
// reaching it, it spends more CPU on collection.
//
// It returns the limit in force afterwards (math.MaxInt64 for none).
func applyMemoryLimit(limit int64, gomemlimit string, log *slog.Logger) int64 {
	switch {
	case gomemlimit != "":
		log.Info("memory limit from GOMEMLIMIT (MEMORY_LIMIT ignored)", slog.String("GOMEMLIMIT", gomemlimit))
	case limit > 0:
		debug.SetMemoryLimit(limit)
		log.Info("memory limit", slog.String("MEMORY_LIMIT", byteSize(limit)))
	}
	return debug.SetMemoryLimit(-1) // -1 reads it without a change
}

// byteSize writes n in GOMEMLIMIT's syntax, in the largest whole unit.
func byteSize(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n > 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
