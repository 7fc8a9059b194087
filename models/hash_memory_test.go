package models

import (
	"context"
	"crypto/subtle"
	"sync"
	"testing"
	"time"

	xargon2 "golang.org/x/crypto/argon2"

	"healthcare/models/internal/memtest"
)

// A Hasher hashes in memory it keeps: one memory for hashes one after
// another, never more than its slots for hashes at once.
func TestHasherKeepsItsHashesMemory(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheapParams, 2)
	for range 5 {
		if _, err := h.Hash(ctx, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if made, kept := h.memories.counts(); made != 1 || kept != 1 {
		t.Fatalf("after 5 hashes one after another: %d memories made, %d kept; want 1 and 1", made, kept)
	}

	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := h.Hash(ctx, "pw"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if made, kept := h.memories.counts(); made > 2 || kept != made {
		t.Fatalf("after 16 hashes on 2 slots: %d memories made, %d kept; want at most 2, all kept", made, kept)
	}
}

// Kept memory is let go once no hash has run for the idle time, and the
// next hash makes a new one.
func TestHasherLetsItsMemoryGoWhenIdle(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheapParams, 1)
	h.memories.idle = 20 * time.Millisecond
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, kept := h.memories.counts(); kept != 0; _, kept = h.memories.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("%d memories still kept long after the idle time", kept)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	if made, _ := h.memories.counts(); made != 2 {
		t.Fatalf("%d memories made, want 2 (one let go, one new)", made)
	}
}

// Hashes made in kept memory are x/crypto's argon2id, and hashes x/crypto
// made (every stored hash before the Hasher kept its memory), with the
// Hasher's parameters or others, still verify.
func TestHasherAgreesWithXCrypto(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheapParams, 1)
	for _, pw := range []string{"pw", "correct-Horse-battery-9", ""} {
		encoded, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatal(err)
		}
		p, salt, key, err := decodeArgon2id(encoded)
		if err != nil {
			t.Fatal(err)
		}
		if want := xargon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen); subtle.ConstantTimeCompare(key, want) != 1 {
			t.Fatalf("Hash(%q) key %x, x/crypto %x", pw, key, want)
		}
	}
	salt := []byte("0123456789abcdef")
	for _, p := range []HashParams{
		cheapParams,
		{Memory: 256, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 48}, // more memory than h keeps
		{Memory: 32, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 16},  // less
	} {
		stored := encodeArgon2id(p, salt, xargon2.IDKey([]byte("pw"), salt, p.Time, p.Memory, p.Threads, p.KeyLen))
		for _, tc := range []struct {
			pw   string
			want bool
		}{{"pw", true}, {"pW", false}} {
			if ok, err := h.Verify(ctx, stored, tc.pw); err != nil || ok != tc.want {
				t.Fatalf("Verify(%s, %q) = %v, %v; want %v", stored, tc.pw, ok, err, tc.want)
			}
		}
	}
}

// The Hasher's hashes work in the memory it keeps: after the first, a hash
// with its parameters allocates nothing of the memory's size, and a stored
// hash made with more memory allocates its own without taking or making a
// kept one. Not parallel: it counts the whole program's allocations.
func TestHasherHashesInItsKeptMemory(t *testing.T) {
	ctx := context.Background()
	p := HashParams{Memory: 8 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32} // 8 MiB
	h := NewHasher(p, 1)

	big := p
	big.Memory = 16 << 10
	salt := []byte("0123456789abcdef")
	stored := encodeArgon2id(big, salt, xargon2.IDKey([]byte("pw"), salt, big.Time, big.Memory, big.Threads, big.KeyLen))
	var ok bool
	var err error
	if grew := memtest.Allocated(func() { ok, err = h.Verify(ctx, stored, "pw") }); err != nil || !ok || grew < 16<<20 {
		t.Fatalf("Verify of a 16 MiB hash: %v, %v, %d bytes allocated, want true and at least 16 MiB", ok, err, grew)
	}
	if made, _ := h.memories.counts(); made != 0 {
		t.Fatalf("the 16 MiB hash made %d kept memories, want none (it cannot use one)", made)
	}

	encoded, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if grew := memtest.Allocated(func() { ok, err = h.Verify(ctx, encoded, "pw") }); err != nil || !ok || grew >= 1<<20 {
		t.Fatalf("a Verify with the Hasher's parameters: %v, %v, %d bytes allocated, want true and under 1 MiB", ok, err, grew)
	}
	if made, kept := h.memories.counts(); made != 1 || kept != 1 {
		t.Fatalf("%d memories made, %d kept; want 1 and 1", made, kept)
	}
}

// counts reports how many memories were ever made and how many wait for a
// hash now.
func (m *hashMemories) counts() (made, kept int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.made, len(m.free)
}
