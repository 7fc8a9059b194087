// Package memtest measures what code allocates, for tests of the password
// hashes' kept memory on both sides of the argon2 copy (models and
// models/internal/argon2, which cannot share a test file).
package memtest

import "runtime"

// Allocated is how many bytes the program allocated while f ran.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
