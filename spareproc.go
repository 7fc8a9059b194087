package main

import (
	"log/slog"
	"runtime"
)

// addSpareProc gives the Go scheduler one more P than the hashSlots
// password hashes that may run at once, unless gomaxprocs, the process
// environment's GOMAXPROCS, is set (the operator's explicit choice wins;
// the runtime has applied it itself). It returns GOMAXPROCS afterwards.
//
// Why: an argon2id hash is 20 ms of uninterrupted CPU. With one P per
// core and every P hashing (a login flood), everything else — the logins'
// own HTTP and database work, any other request — runs only when the
// scheduler preempts a hash, in its own, non-FIFO order: the flood's p99
// was 4–5× its p50 (1.4–1.9 s against 0.3 s; the wait for a hashing slot
// itself was under 70 ms at p99). With a spare P that work always has a
// thread, and the OS shares the cores fairly between the threads: p99
// 0.47–0.56 s, logins/s 4–5% higher (BENCHMARKS.md).
func addSpareProc(hashSlots int, gomaxprocs string, log *slog.Logger) int {
	if gomaxprocs != "" {
		log.Info("GOMAXPROCS from the environment", slog.String("GOMAXPROCS", gomaxprocs))
		return runtime.GOMAXPROCS(0)
	}
	if n := hashSlots + 1; n > runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
	n := runtime.GOMAXPROCS(0)
	log.Info("scheduler", slog.Int("GOMAXPROCS", n), slog.Int("hash_slots", hashSlots))
	return n
}
