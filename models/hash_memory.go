package models

import (
	"sync"
	"time"

	"healthcare/models/internal/argon2"
)

// hashMemoryIdle is how long a Hasher keeps its hashes' working memory
// after the last hash: a login flood reuses it, a quiet server gives it
// back to the collector.
const hashMemoryIdle = time.Minute

// hashMemories lends each running hash working memory of the Hasher's size
// and keeps it between hashes. Why: x/crypto's argon2 allocates 19 MiB a
// hash, and under a login flood that garbage kept the collector running
// against the memory limit and made the kernel fault the pages in again:
// a login cost 1.6 to 2 hashes of CPU (BENCHMARKS.md). Only a slot's
// holder hashes, so at most one memory per slot is in use or kept.
type hashMemories struct {
	kib  uint32
	idle time.Duration

	mu    sync.Mutex
	free  []*argon2.Memory
	made  int // memories ever made (for tests: counts)
	timer *time.Timer
}

func newHashMemories(kib uint32) *hashMemories {
	return &hashMemories{kib: kib, idle: hashMemoryIdle}
}

// get returns a kept memory, or a new one, for a hash of kib KiB; nil for
// a hash larger than the memories kept (a stored hash made with more
// memory than the Hasher's: argon2.IDKey allocates its own, and no kept
// memory is taken or made that it could not use). Validate's Memory >=
// 8*Threads means kib is all a hash needs.
func (m *hashMemories) get(kib uint32) *argon2.Memory {
	if kib > m.kib {
		return nil
	}
	m.mu.Lock()
	if n := len(m.free); n > 0 {
		mem := m.free[n-1]
		m.free[n-1] = nil
		m.free = m.free[:n-1]
		m.mu.Unlock()
		return mem
	}
	m.made++
	m.mu.Unlock()
	return argon2.NewMemory(m.kib) // 19 MiB: not under the lock
}

// put keeps mem, from get, for the next hash, until the memories have
// been idle for m.idle.
func (m *hashMemories) put(mem *argon2.Memory) {
	if mem == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.free = append(m.free, mem)
	if m.timer == nil {
		m.timer = time.AfterFunc(m.idle, m.letGo)
	} else {
		m.timer.Reset(m.idle)
	}
}

// letGo drops the kept memories, cleared first: they hold the last
// hashes' blocks, derived from passwords, which as garbage could stay in
// the heap for long. A hash running now keeps its own and brings it back.
func (m *hashMemories) letGo() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mem := range m.free {
		mem.Clear()
	}
	clear(m.free)
	m.free = m.free[:0]
}
