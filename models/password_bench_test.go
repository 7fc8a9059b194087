package models

import (
	"context"
	"testing"
)

// BenchmarkHash is one argon2id hash with the OWASP parameters the server
// uses: its time is the floor of a login (logins/s per core = 1/its time).
func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultHashParams, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct-Horse-battery-9"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is the check a login runs against the stored hash.
func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultHashParams, 1)
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct-Horse-battery-9")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := h.Verify(ctx, encoded, "correct-Horse-battery-9"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkVerifyParallel runs as many verifications at once as
// -cpu says, through the Hasher's bound (GOMAXPROCS slots): throughput
// should scale with cores until memory bandwidth says otherwise.
func BenchmarkVerifyParallel(b *testing.B) {
	h := NewHasher(DefaultHashParams, 0)
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct-Horse-battery-9")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := h.Verify(ctx, encoded, "correct-Horse-battery-9"); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
