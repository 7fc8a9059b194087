package handlers

import (
	"testing"
	"time"

	"healthcare/models"
)

// benchSigner is a signer as the server builds it.
func benchSigner() *signer {
	return newSigner([]byte("benchmark-secret-of-at-least-32-bytes!!"), 5*time.Minute, 24*time.Hour, time.Now)
}

// BenchmarkSignerVerify is the CPU cost of checking an access token, paid
// by every authenticated request before its database work.
func BenchmarkSignerVerify(b *testing.B) {
	s := benchSigner()
	token, _, err := s.issue(models.AccessToken, 42)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.verify(token, models.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignerPair is the signing part of a login or a refresh.
func BenchmarkSignerPair(b *testing.B) {
	s := benchSigner()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.pair(42); err != nil {
			b.Fatal(err)
		}
	}
}
