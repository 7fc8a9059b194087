package models

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cheapParams keeps tests fast; only TestDefaultHashParams uses the defaults.
var cheapParams = HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestDefaultHashParamsAreOWASP(t *testing.T) {
	want := HashParams{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if DefaultHashParams != want {
		t.Fatalf("DefaultHashParams = %+v, want %+v", DefaultHashParams, want)
	}
}

func TestDefaultHashParams(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(DefaultHashParams, 1)
	if got := h.params; got != DefaultHashParams {
		t.Fatalf("params = %+v, want %+v", got, DefaultHashParams)
	}
	enc, err := h.Hash(ctx, "s3cret-Passw0rd")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(enc, prefix) {
		t.Fatalf("Hash = %q, want prefix %q", enc, prefix)
	}
	parts := strings.Split(strings.TrimPrefix(enc, prefix), "$")
	// 16 bytes -> 22 unpadded base64 characters, 32 bytes -> 43.
	if len(parts) != 2 || len(parts[0]) != 22 || len(parts[1]) != 43 {
		t.Fatalf("Hash = %q, want 22-char salt and 43-char key", enc)
	}
	if ok, err := h.Verify(ctx, enc, "s3cret-Passw0rd"); !ok || err != nil {
		t.Fatalf("Verify(right password) = %v, %v, want true, nil", ok, err)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheapParams, 2)
	tests := []struct {
		name, password, wrong string
	}{
		{"ascii", "correct horse battery staple", "correct horse battery stapl"},
		{"empty", "", " "},
		{"unicode", "pässwörd-日本語-🔑", "passwörd-日本語-🔑"},
		{"case", "Password", "password"},
		{"trailing space", "secret ", "secret"},
		{"longest", strings.Repeat("x", passwordMaxLength), strings.Repeat("x", passwordMaxLength-1)}, // longer: TestVerifyRefusesOverlongPasswordsWithoutHashing
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatalf("Hash(%q): %v", tt.password, err)
			}
			if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Fatalf("Hash(%q) = %q, want $argon2id$v=19$m=64,t=1,p=1$ prefix", tt.password, enc)
			}
			if strings.Count(enc, "=") != 4 { // v=, m=, t=, p=
				t.Fatalf("Hash(%q) = %q, want no base64 padding", tt.password, enc)
			}
			if ok, err := h.Verify(ctx, enc, tt.password); !ok || err != nil {
				t.Fatalf("Verify(%q, right password) = %v, %v, want true, nil", enc, ok, err)
			}
			if ok, err := h.Verify(ctx, enc, tt.wrong); ok || err != nil {
				t.Fatalf("Verify(%q, %q) = %v, %v, want false, nil", enc, tt.wrong, ok, err)
			}
			again, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatalf("Hash(%q): %v", tt.password, err)
			}
			if again == enc {
				t.Fatalf("Hash(%q) twice gave %q both times, want fresh salts", tt.password, enc)
			}
		})
	}
}

func TestHashVerifyUsesEncodedParams(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(HashParams{Memory: 32, Time: 3, Threads: 2, SaltLen: 8, KeyLen: 16}, 1)
	enc, err := old.Hash(ctx, "hunter2hunter2")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=32,t=3,p=2$") {
		t.Fatalf("Hash = %q, want m=32,t=3,p=2", enc)
	}
	p, salt, key, err := decodeArgon2id(enc)
	if err != nil {
		t.Fatalf("decodeArgon2id(%q): %v", enc, err)
	}
	want := HashParams{Memory: 32, Time: 3, Threads: 2, SaltLen: 8, KeyLen: 16}
	if p != want || len(salt) != 8 || len(key) != 16 {
		t.Fatalf("decodeArgon2id(%q) = %+v (salt %d, key %d bytes), want %+v", enc, p, len(salt), len(key), want)
	}
	// A hasher with other parameters still verifies it, with the stored ones.
	cur := NewHasher(cheapParams, 1)
	var used []HashParams
	orig := cur.derive
	cur.derive = func(pw, salt []byte, p HashParams) []byte {
		used = append(used, p)
		return orig(pw, salt, p)
	}
	if ok, err := cur.Verify(ctx, enc, "hunter2hunter2"); !ok || err != nil {
		t.Fatalf("Verify(%q) with other params = %v, %v, want true, nil", enc, ok, err)
	}
	if ok, err := cur.Verify(ctx, enc, "hunter3hunter3"); ok || err != nil {
		t.Fatalf("Verify(%q, wrong) = %v, %v, want false, nil", enc, ok, err)
	}
	if len(used) != 2 || used[0] != want || used[1] != want {
		t.Fatalf("derive called with %+v, want %+v twice", used, want)
	}
}

func TestHashVerifyRejectsMalformed(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheapParams, 1)
	good, err := h.Hash(ctx, "password-123")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	const params = "$argon2id$v=19$m=64,t=1,p=1$"
	fields := strings.Split(strings.TrimPrefix(good, params), "$")
	if !strings.HasPrefix(good, params) || len(fields) != 2 {
		t.Fatalf("Hash = %q, want %s<salt>$<key>", good, params)
	}
	salt, key := fields[0], fields[1]
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"bcrypt", "$2b$12$abcdefghijklmnopqrstuu5Y0gQ2hq3L4V.d3I3p1Op0m7zTnu0G2"},
		{"django pbkdf2", "pbkdf2_sha256$600000$salt$" + key},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"missing key", params + salt},
		{"extra field", params + salt + "$" + key + "$x"},
		{"empty salt", params + "$" + key},
		{"empty key", params + salt + "$"},
		{"params reordered", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"params missing", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"params extra", "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key},
		{"memory 0", "$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + key},
		{"memory below 8p", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key},
		{"memory over 1GiB", "$argon2id$v=19$m=1048577,t=1,p=1$" + salt + "$" + key},
		{"memory overflow", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"time 0", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"time over 100", "$argon2id$v=19$m=64,t=101,p=1$" + salt + "$" + key},
		{"threads 0", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"threads over 255", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key},
		{"padded salt", params + salt + "==$" + key},
		{"padded key", params + salt + "$" + key + "="},
		{"bad base64", params + "!!!!!!!!!!!!!!!!!!!!!!$" + key},
		{"url base64", params + strings.Repeat("-", 22) + "$" + key},
		{"salt too short", params + "AAAAAAAAAA$" + key}, // 7 bytes
		{"key too short", params + salt + "$AAAAAAAAAAAAAAAAAAAA"},
		{"key too long", params + salt + "$" + strings.Repeat("A", 344)}, // 258 bytes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(ctx, tt.enc, "password-123")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) = %v, %v, want false, ErrMalformedHash", tt.enc, ok, err)
			}
		})
	}
	// A well-formed hash whose key or salt was changed is simply wrong.
	flip := func(s string) string {
		b := []byte(s)
		if b[5] == 'A' {
			b[5] = 'B'
		} else {
			b[5] = 'A'
		}
		return string(b)
	}
	for _, enc := range []string{params + flip(salt) + "$" + key, params + salt + "$" + flip(key)} {
		if ok, err := h.Verify(ctx, enc, "password-123"); ok || err != nil {
			t.Fatalf("Verify(tampered %q) = %v, %v, want false, nil", enc, ok, err)
		}
	}
	if ok, err := h.Verify(ctx, good, "password-123"); !ok || err != nil {
		t.Fatalf("Verify(%q) = %v, %v, want true, nil", good, ok, err)
	}
}

func TestHashParamsValidate(t *testing.T) {
	tests := []struct {
		p  HashParams
		ok bool
	}{
		{DefaultHashParams, true},
		{cheapParams, true},
		{HashParams{Memory: 1 << 20, Time: 100, Threads: 255, SaltLen: 256, KeyLen: 256}, true},
		{HashParams{Memory: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16}, true},
		{HashParams{Memory: 7, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{HashParams{Memory: 64, Time: 1, Threads: 9, SaltLen: 16, KeyLen: 32}, false},
		{HashParams{Memory: 1<<20 + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{HashParams{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{HashParams{Memory: 64, Time: 101, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{HashParams{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}, false},
		{HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 7, KeyLen: 32}, false},
		{HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 257, KeyLen: 32}, false},
		{HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 15}, false},
		{HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 257}, false},
		{HashParams{}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.p, err, tt.ok)
		}
	}
}

func TestNewHasher(t *testing.T) {
	if got, want := cap(NewHasher(cheapParams, 0).sem), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("NewHasher(p, 0) allows %d hashes at once, want GOMAXPROCS = %d", got, want)
	}
	if got, want := cap(NewHasher(cheapParams, -3).sem), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("NewHasher(p, -3) allows %d hashes at once, want GOMAXPROCS = %d", got, want)
	}
	if got := cap(NewHasher(cheapParams, 5).sem); got != 5 {
		t.Errorf("NewHasher(p, 5) allows %d hashes at once, want 5", got)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("NewHasher(invalid params) did not panic")
		}
	}()
	NewHasher(HashParams{Memory: 1 << 30, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1)
}

// countDerive wraps h.derive so that it records the most derivations ever in
// flight at once and how many ran in all; hold keeps each one in flight a
// while so overlaps show.
func countDerive(h *Hasher, hold time.Duration) (maxInFlight, total *atomic.Int64) {
	var cur atomic.Int64
	maxInFlight, total = new(atomic.Int64), new(atomic.Int64)
	orig := h.derive
	h.derive = func(pw, salt []byte, p HashParams) []byte {
		n := cur.Add(1)
		total.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(hold)
		defer cur.Add(-1)
		return orig(pw, salt, p)
	}
	return maxInFlight, total
}

func TestHasherConcurrencyBound(t *testing.T) {
	const bound, workers = 3, 24
	ctx := context.Background()
	h := NewHasher(cheapParams, bound)
	maxInFlight, total := countDerive(h, 5*time.Millisecond)
	enc, err := h.Hash(ctx, "shared-password")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch i % 3 {
			case 0:
				_, err = h.Hash(ctx, "p")
			case 1:
				var ok bool
				if ok, err = h.Verify(ctx, enc, "shared-password"); err == nil && !ok {
					err = errors.New("Verify = false, want true")
				}
			case 2:
				h.VerifyDummy(ctx, "nobody@example.com")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := total.Load(); got != workers+1 {
		t.Errorf("%d derivations ran, want %d", got, workers+1)
	}
	t.Logf("at most %d hashes ran at once (bound %d)", maxInFlight.Load(), bound)
	if got := maxInFlight.Load(); got > bound {
		t.Fatalf("%d hashes ran at once, want at most %d", got, bound)
	} else if got < 2 {
		// Not a correctness failure, but the bound should not serialise.
		t.Logf("only %d hashes ran at once (bound %d)", got, bound)
	}
	if n := len(h.sem); n != 0 {
		t.Fatalf("%d slots still held after all calls returned", n)
	}
}

func TestHashHonoursContext(t *testing.T) {
	h := NewHasher(cheapParams, 2)
	_, total := countDerive(h, 0)
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	// Occupy every slot, as two long hashes would.
	h.sem <- struct{}{}
	h.sem <- struct{}{}
	before := total.Load()

	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash with all slots busy, ctx cancelled: err = %v, want context.Canceled", err)
		}
	})
	t.Run("deadline while waiting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		ok, err := h.Verify(ctx, enc, "pw")
		if ok || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Verify with all slots busy, ctx timed out: = %v, %v, want false, context.DeadlineExceeded", ok, err)
		}
	})
	t.Run("dummy while waiting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		h.VerifyDummy(ctx, "pw")
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("VerifyDummy ignored ctx: returned after %v", d)
		}
	})
	if got := total.Load(); got != before {
		t.Fatalf("%d hashes ran while every slot was busy, want 0", got-before)
	}
	<-h.sem
	<-h.sem

	// Slots free but ctx already done: nothing is hashed either.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash(done ctx): err = %v, want context.Canceled", err)
	}
	if ok, err := h.Verify(ctx, enc, "pw"); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify(done ctx) = %v, %v, want false, context.Canceled", ok, err)
	}
	h.VerifyDummy(ctx, "pw")
	if got := total.Load(); got != before {
		t.Fatalf("%d hashes ran for a done ctx, want 0", got-before)
	}
	if n := len(h.sem); n != 0 {
		t.Fatalf("%d slots still held", n)
	}
	// And the hasher still works.
	if ok, err := h.Verify(context.Background(), enc, "pw"); !ok || err != nil {
		t.Fatalf("Verify after cancellations = %v, %v, want true, nil", ok, err)
	}
}

// A password longer than any that can be set matches no hash, and is
// refused at once, without waiting for a hashing slot: a login flood with
// megabyte passwords held each one in memory while it waited. A password
// of the longest length still waits and is hashed.
func TestVerifyRefusesOverlongPasswordsWithoutHashing(t *testing.T) {
	h := NewHasher(cheapParams, 1)
	longest := strings.Repeat("é", passwordMaxLength)
	enc, err := h.Hash(context.Background(), longest)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(context.Background(), enc, longest); !ok || err != nil {
		t.Fatalf("Verify of the longest password = %v, %v, want true", ok, err)
	}
	h.sem <- struct{}{} // every slot busy, as a flood's hashes keep them
	defer func() { <-h.sem }()
	for _, pw := range []string{longest + "x", strings.Repeat("a", 1<<20), strings.Repeat("é", passwordMaxLength+1)} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ok, err := h.Verify(ctx, enc, pw)
		cancel()
		if ok || err != nil {
			t.Errorf("Verify of a %d-byte password with every slot busy = %v, %v, want false at once", len(pw), ok, err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		err = h.VerifyDummy(ctx, pw)
		cancel()
		if err != nil {
			t.Errorf("VerifyDummy of a %d-byte password with every slot busy: %v, want no wait", len(pw), err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Verify(ctx, enc, longest); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify of the longest password with every slot busy: %v, want it to wait for a slot", err)
	}
}

func TestHashVerifyDummy(t *testing.T) {
	ctx := context.Background()
	p := HashParams{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := NewHasher(p, 1)
	var used []HashParams
	orig := h.derive
	h.derive = func(pw, salt []byte, p HashParams) []byte {
		used = append(used, p)
		return orig(pw, salt, p)
	}
	h.VerifyDummy(ctx, "guess-1")
	first := h.dummy
	h.VerifyDummy(ctx, "guess-2")
	if h.dummy != first {
		t.Fatalf("dummy hash changed from %q to %q, want it made once", first, h.dummy)
	}
	if got, _, _, err := decodeArgon2id(first); err != nil || got != p {
		t.Fatalf("dummy hash %q decodes to %+v, %v, want %+v", first, got, err, p)
	}
	// Each call costs exactly one derivation with h's parameters, as a real
	// Verify of a user's hash would.
	if len(used) != 2 || used[0] != p || used[1] != p {
		t.Fatalf("VerifyDummy derived with %+v, want %+v twice", used, p)
	}
	// The dummy hash matches no password.
	for _, pw := range []string{"", "guess-1", "password"} {
		if ok, err := h.Verify(ctx, first, pw); ok || err != nil {
			t.Fatalf("Verify(dummy, %q) = %v, %v, want false, nil", pw, ok, err)
		}
	}
}

func TestHashVerifyDummyConcurrentInit(t *testing.T) {
	h := NewHasher(cheapParams, 4)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.VerifyDummy(context.Background(), "x")
		}()
	}
	wg.Wait()
	if _, _, _, err := decodeArgon2id(h.dummy); err != nil {
		t.Fatalf("dummy hash %q: %v", h.dummy, err)
	}
}

// holdHashes makes h's hashes wait for release once started; waitStarted
// waits (5 s at most) until exactly want hashes have started.
func holdHashes(t *testing.T, h *Hasher) (started *atomic.Int64, release chan struct{}, waitStarted func(want int64)) {
	started, release = new(atomic.Int64), make(chan struct{})
	h.derive = func(pw, salt []byte, p HashParams) []byte {
		started.Add(1)
		<-release
		return h.argon2idKey(pw, salt, p)
	}
	return started, release, func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for started.Load() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d hashes started, want %d", started.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// With ShareCPUWith, the last slot runs a hash only while no other request
// is in flight; the others run whatever the load.
func TestHasherLeavesACoreToOtherRequests(t *testing.T) {
	t.Parallel()
	h := NewHasher(cheapParams, 2)
	var others atomic.Int64
	h.ShareCPUWith(func() int64 { return h.inHasher.Load() + others.Load() })
	started, release, waitStarted := holdHashes(t, h)
	others.Store(1) // a read is in flight
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash(context.Background(), "pw"); err != nil {
				t.Error(err)
			}
		}()
	}
	waitStarted(1)
	time.Sleep(20 * hashYieldPoll)
	if n := started.Load(); n != 1 {
		t.Fatalf("%d hashes run beside another request, want 1", n)
	}
	others.Store(0) // the read is done: the last slot is free to use
	waitStarted(2)
	close(release)
	wg.Wait()
	if n := len(h.sem); n != 0 {
		t.Fatalf("%d slots still held", n)
	}
}

// A login (Hashing) between its hash and its answer is the Hasher's own
// request, not another request to keep a core for: a login flood alone
// hashes on every slot. A request that is not marked still holds the last
// slot back, and a marked request's Hash does not count it twice.
func TestHasherCountsLoginRequestsAsItsOwn(t *testing.T) {
	t.Parallel()
	h := NewHasher(cheapParams, 2)
	var requests atomic.Int64 // what the router counts: every request in flight
	h.ShareCPUWith(requests.Load)
	started, release, waitStarted := holdHashes(t, h)
	login := func() (context.Context, func()) {
		requests.Add(1)
		ctx, done := h.Hashing(context.Background())
		return ctx, func() { done(); requests.Add(-1) }
	}
	var wg sync.WaitGroup
	hashingLogin := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, done := login()
			defer done()
			if _, err := h.Hash(ctx, "pw"); err != nil {
				t.Error(err)
			}
		}()
	}
	// A login that has hashed and is writing its tokens.
	_, doneA := login()
	hashingLogin()
	hashingLogin()
	waitStarted(2)
	if n := h.inHasher.Load(); n != 3 {
		t.Errorf("inHasher = %d with three logins in flight, want 3", n)
	}
	doneA()
	// A read arrives: the next hash waits for the last slot.
	requests.Add(1)
	hashingLogin()
	for deadline := time.Now().Add(5 * time.Second); h.inHasher.Load() != 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("inHasher = %d, want 3 once the third login is in", h.inHasher.Load())
		}
	}
	release <- struct{}{} // one of the two hashes ends
	time.Sleep(20 * hashYieldPoll)
	if n := started.Load(); n != 2 {
		t.Fatalf("%d hashes started beside a read, want 2 (one at a time)", n)
	}
	requests.Add(-1) // the read is done
	waitStarted(3)
	close(release)
	wg.Wait()
	if n := h.inHasher.Load(); n != 0 {
		t.Fatalf("inHasher = %d after every login, want 0", n)
	}
}

// Slots is the concurrency the Hasher was given, or one per P by default
// (the server adds its spare P from it).
func TestHasherSlots(t *testing.T) {
	t.Parallel()
	if got := NewHasher(cheapParams, 3).Slots(); got != 3 {
		t.Errorf("Slots() = %d, want 3", got)
	}
	if got, want := NewHasher(cheapParams, 0).Slots(), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("default Slots() = %d, want GOMAXPROCS %d", got, want)
	}
}

// The demo accounts' random passwords pass the rules for their account: a
// draw too similar to the email address (its random characters holding
// most of "example.com") is drawn again.
func TestDemoPasswordPassesTheRules(t *testing.T) {
	attrs := []PasswordAttr{{Name: "email address", Value: "staff@example.com"}, {Name: "name", Value: "Sam Staff"}}
	similar, err := base64.RawURLEncoding.DecodeString("EXAMPLEcomSTAFFx") // "Demo-EXAMPLEcomSTAFFx"
	if err != nil {
		t.Fatal(err)
	}
	if msgs := ValidatePassword("Demo-EXAMPLEcomSTAFFx", attrs...); len(msgs) == 0 {
		t.Fatal("the first draw of the test passes the rules: it tests nothing")
	}
	next := bytes.Repeat([]byte{0x5a, 0x3c, 0x91}, 4)
	pw := demoPassword(io.MultiReader(bytes.NewReader(similar), bytes.NewReader(next)), attrs...)
	if msgs := ValidatePassword(pw, attrs...); len(msgs) > 0 || pw == "Demo-EXAMPLEcomSTAFFx" {
		t.Fatalf("demoPassword = %q: %v", pw, msgs)
	}
}
