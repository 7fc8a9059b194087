package models

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// Every failed login costs one password hash, like a successful one:
// unknown email, wrong password, inactive account with the right password
// (the contract's "the same 401 ... in similar time"; timing itself is too
// noisy to assert, the work is not).
func TestAuthenticateCostsOneHashWhateverFails(t *testing.T) {
	t.Parallel()
	db := openSQLiteForTest(t, filepath.Join(t.TempDir(), "auth.db"), true)
	h := NewHasher(HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1)
	var derived atomic.Int64
	h.derive = func(pw, salt []byte, p HashParams) []byte {
		derived.Add(1)
		return h.argon2idKey(pw, salt, p)
	}
	s := NewStore(db, h)
	ctx := context.Background()
	const pw = "correct-Horse-battery-9"
	for _, u := range []NewUser{
		{Name: "Active", Email: "active@example.com", Password: pw, IsActive: true},
		{Name: "Inactive", Email: "inactive@example.com", Password: pw, IsActive: false},
	} {
		if _, err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	// An unusable password (the demo's filler owners) or a hash from another
	// system cannot be checked, but answers in the time of one that can.
	unusable, err := s.CreateUser(ctx, NewUser{Name: "Unusable", Email: "unusable@example.com", Password: pw, IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Model(unusable).UpdateColumn("password_hash", "!unusable").Error; err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, email, password string }{
		{"unknown email", "nobody@example.com", pw},
		{"unusable password", "unusable@example.com", pw},
		{"wrong password", "active@example.com", "wrong-Horse-battery-9"},
		{"inactive account", "inactive@example.com", pw},
		{"success", "active@example.com", pw},
	} {
		before := derived.Load()
		_, err := s.Authenticate(ctx, tc.email, tc.password)
		if (tc.name == "success") != (err == nil) {
			t.Errorf("%s: Authenticate = %v", tc.name, err)
		}
		if n := derived.Load() - before; n != 1 {
			t.Errorf("%s: %d password hashes, want 1", tc.name, n)
		}
	}
}
