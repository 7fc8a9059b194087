package models

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"healthcare/models/internal/argon2"
)

// HashParams are argon2id cost parameters.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultHashParams is the OWASP Password Storage Cheat Sheet recommendation
// for argon2id: m=19456 KiB (19 MiB), t=2, p=1, with a 16-byte salt and a
// 32-byte key.
var DefaultHashParams = HashParams{
	Memory:  19 * 1024,
	Time:    2,
	Threads: 1,
	SaltLen: 16,
	KeyLen:  32,
}

// Bounds on hash parameters. They apply both to a Hasher's own parameters and
// to those read back from a stored hash, so a crafted or corrupted row cannot
// make a login allocate gigabytes or spin for minutes.
const (
	maxHashMemory  = 1 << 20 // KiB = 1 GiB
	maxHashTime    = 100
	minHashSaltLen = 8 // the Argon2 RFC 9106 minimum
	maxHashSaltLen = 256
	minHashKeyLen  = 16
	maxHashKeyLen  = 256
)

// argon2idPrefix is the only algorithm and version this package reads or
// writes.
const argon2idPrefix = "$argon2id$v=19$"

// ErrMalformedHash is wrapped by the error Verify returns for an encoded hash
// it cannot read or whose parameters are out of bounds.
var ErrMalformedHash = errors.New("malformed password hash")

// phcBase64 is the PHC string encoding: standard alphabet, no padding, and (Strict)
// no non-zero trailing bits, so each hash has exactly one spelling.
var phcBase64 = base64.RawStdEncoding.Strict()

// Validate reports whether p is within the bounds this package accepts:
// 8*Threads <= Memory <= 1 GiB, 1 <= Time <= 100, Threads >= 1,
// 8 <= SaltLen <= 256 and 16 <= KeyLen <= 256.
func (p HashParams) Validate() error {
	switch {
	case p.Threads < 1:
		return fmt.Errorf("argon2id: threads %d < 1", p.Threads)
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("argon2id: memory %d KiB < 8*threads", p.Memory)
	case p.Memory > maxHashMemory:
		return fmt.Errorf("argon2id: memory %d KiB > %d KiB", p.Memory, maxHashMemory)
	case p.Time < 1 || p.Time > maxHashTime:
		return fmt.Errorf("argon2id: time %d not in [1, %d]", p.Time, maxHashTime)
	case p.SaltLen < minHashSaltLen || p.SaltLen > maxHashSaltLen:
		return fmt.Errorf("argon2id: salt length %d not in [%d, %d]", p.SaltLen, minHashSaltLen, maxHashSaltLen)
	case p.KeyLen < minHashKeyLen || p.KeyLen > maxHashKeyLen:
		return fmt.Errorf("argon2id: key length %d not in [%d, %d]", p.KeyLen, minHashKeyLen, maxHashKeyLen)
	}
	return nil
}

// Hasher hashes with argon2id and bounds how many hashes run at once (each
// uses Memory KiB), so a login flood can't exhaust memory or starve other
// requests. It is safe for concurrent use.
type Hasher struct {
	params HashParams
	// sem holds one token per hash in progress; its capacity is the bound.
	sem chan struct{}
	// derive computes the key; it is argon2idKey, argon2.IDKey in the
	// Hasher's kept memory. Tests in this package swap it to observe
	// concurrency.
	derive   func(password, salt []byte, p HashParams) []byte
	memories *hashMemories

	dummyOnce sync.Once
	dummy     string

	// inFlight, when set (ShareCPUWith), counts the server's requests in
	// flight; inHasher counts those that are the Hasher's: requests marked
	// by Hashing, and the calls inside Hash and Verify (waiting or
	// hashing) of any other; running counts the hashes running.
	inFlight atomic.Pointer[func() int64]
	inHasher atomic.Int64
	mu       sync.Mutex
	running  int
}

// hashYieldPoll is how often a hash held back by ShareCPUWith looks again.
const hashYieldPoll = 2 * time.Millisecond

// ShareCPUWith makes the Hasher keep its last slot for when the server has
// nothing else to do: while inFlight() counts requests beyond those in the
// Hasher, at most concurrency-1 hashes run. A login flood alone still uses
// every core (logins/s = cores / one hash's time), but a flood beside
// other traffic leaves those requests a core instead of queueing them
// behind 25 ms hashes.
func (h *Hasher) ShareCPUWith(inFlight func() int64) { h.inFlight.Store(&inFlight) }

// hashingKey marks a context whose request Hashing counted.
type hashingKey struct{}

// Hashing counts the request of ctx as the Hasher's own until done is
// called: a login or a sign-up, whose other work (reading the user,
// writing its tokens) is short beside its hash. Without it, under a login
// flood alone, a login before or after its hash counts as another request
// in flight and holds the last slot back (ShareCPUWith) for work that is
// itself waiting to hash; waiters then poll, and newcomers overtake them
// (the flood's p99 was twice as long, BENCHMARKS.md). Hash and Verify
// under the returned context do not count the request again.
func (h *Hasher) Hashing(ctx context.Context) (context.Context, func()) {
	leave := h.enter(ctx) // nothing to count if ctx is marked already
	var once sync.Once
	return context.WithValue(ctx, hashingKey{}, h), func() { once.Do(leave) }
}

// enter counts a Hash or Verify call in inHasher unless its request is
// counted already (Hashing); the returned function undoes it.
func (h *Hasher) enter(ctx context.Context) (leave func()) {
	if ctx.Value(hashingKey{}) == h {
		return func() {}
	}
	h.inHasher.Add(1)
	return func() { h.inHasher.Add(-1) }
}

// NewHasher returns a Hasher using p that runs at most concurrency hashes at
// once; concurrency <= 0 means runtime.GOMAXPROCS(0). It panics if p fails
// HashParams.Validate, a configuration error best caught at start-up.
func NewHasher(p HashParams, concurrency int) *Hasher {
	if err := p.Validate(); err != nil {
		panic("models.NewHasher: " + err.Error())
	}
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{
		params:   p,
		sem:      make(chan struct{}, concurrency),
		memories: newHashMemories(p.Memory),
	}
	h.derive = h.argon2idKey
	return h
}

// argon2idKey is argon2id in memory the Hasher keeps between hashes.
func (h *Hasher) argon2idKey(password, salt []byte, p HashParams) []byte {
	mem := h.memories.get(p.Memory)
	defer h.memories.put(mem)
	return argon2.IDKey(mem, password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// Slots is how many hashes may run at once (the concurrency NewHasher
// was given, or GOMAXPROCS at the time).
func (h *Hasher) Slots() int { return cap(h.sem) }

// acquire takes a hashing slot, waiting no longer than ctx allows. It never
// returns nil once ctx is done, so no hash starts for an abandoned request.
func (h *Hasher) acquire(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case h.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		// select picks at random when both cases are ready.
		if err := ctx.Err(); err != nil {
			<-h.sem
			return err
		}
		if h.mayRun() {
			return nil
		}
		<-h.sem // the last slot, wanted by other requests: look again soon
		t := time.NewTimer(hashYieldPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// mayRun counts a hash as running unless it would be the last slot's while
// other requests are in flight (ShareCPUWith).
func (h *Hasher) mayRun() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	limit := cap(h.sem)
	if f := h.inFlight.Load(); f != nil && limit > 1 && (*f)() > h.inHasher.Load() {
		limit--
	}
	if h.running >= limit {
		return false
	}
	h.running++
	return true
}

func (h *Hasher) release() {
	h.mu.Lock()
	h.running--
	h.mu.Unlock()
	<-h.sem
}

// Hash returns the PHC string of password under a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, salt and key in unpadded
// standard base64. It returns ctx.Err() if ctx ends before a slot is free.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	defer h.enter(ctx)()
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("argon2id: reading salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := h.derive([]byte(password), salt, h.params)
	h.release()
	return encodeArgon2id(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, using the parameters
// stored in encoded rather than h's (so hashes made under older parameters
// keep working). The keys are compared in constant time. A malformed encoded
// hash gives false and an error wrapping ErrMalformedHash, after the time of a
// hash with h's parameters (an account with an unusable password, such as the
// demo's filler owners, or a hash from another system, must not answer a
// login faster than one with a real hash); ctx ending before a slot is free
// gives false and ctx.Err().
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, key, err := decodeArgon2id(encoded)
	if err != nil {
		h.VerifyDummy(ctx, password)
		return false, err
	}
	if longerThanAnyPassword(password) {
		return false, nil
	}
	defer h.enter(ctx)()
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := h.derive([]byte(password), salt, p)
	h.release()
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// VerifyDummy spends the time of a real Verify against a hash with h's
// parameters, and reports only Verify's error (ctx's, when it ended before
// the hash could run). Call it when no account matches a login so the
// response time does not reveal which emails have accounts.
//
// The dummy hash is made once, lazily. Its key is random bytes rather than
// the output of a hash: Verify's cost depends only on the parameters, and a
// random key is matched by no password, so making it costs no argon2 run.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		salt := make([]byte, h.params.SaltLen)
		key := make([]byte, h.params.KeyLen)
		// crypto/rand.Read never returns an error (Go 1.24+); were it to,
		// the zero bytes left would still give the same timing.
		_, _ = rand.Read(salt)
		_, _ = rand.Read(key)
		h.dummy = encodeArgon2id(h.params, salt, key)
	})
	_, err := h.Verify(ctx, h.dummy, password)
	return err
}

// longerThanAnyPassword reports whether password is longer than any that
// can be set (ValidatePassword's 128 characters), so that it matches no
// hash. Verify refuses it without hashing: a flood of logins with
// megabyte passwords, each waiting for a hashing slot with its password
// in memory, grew the server to five times its memory limit.
func longerThanAnyPassword(password string) bool {
	return len(password) > utf8.UTFMax*passwordMaxLength || utf8.RuneCountInString(password) > passwordMaxLength
}

func encodeArgon2id(p HashParams, salt, key []byte) string {
	var b strings.Builder
	b.Grow(len(argon2idPrefix) + 32 + phcBase64.EncodedLen(len(salt)) + phcBase64.EncodedLen(len(key)))
	b.WriteString(argon2idPrefix)
	b.WriteString("m=")
	b.WriteString(strconv.FormatUint(uint64(p.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(phcBase64.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(phcBase64.EncodeToString(key))
	return b.String()
}

// decodeArgon2id parses exactly the form encodeArgon2id writes: argon2id, version 19,
// parameters m, t, p in that order as canonical decimals, and salt and key in
// strict unpadded base64, all within HashParams.Validate's bounds.
func decodeArgon2id(encoded string) (p HashParams, salt, key []byte, err error) {
	malformed := func(why string) error {
		return fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	rest, ok := strings.CutPrefix(encoded, argon2idPrefix)
	if !ok {
		return p, nil, nil, malformed("not an argon2id v=19 hash")
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return p, nil, nil, malformed("want parameters, salt and key")
	}
	params := strings.Split(fields[0], ",")
	if len(params) != 3 {
		return p, nil, nil, malformed("want parameters m, t and p")
	}
	var vals [3]uint64
	for i, name := range [3]string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return p, nil, nil, malformed("want parameters m, t and p")
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil || strconv.FormatUint(n, 10) != v {
			return p, nil, nil, malformed("bad value for " + name)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return p, nil, nil, malformed("p out of range")
	}
	salt, serr := phcBase64.DecodeString(fields[1])
	key, kerr := phcBase64.DecodeString(fields[2])
	if serr != nil || kerr != nil {
		return p, nil, nil, malformed("bad base64")
	}
	p = HashParams{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if verr := p.Validate(); verr != nil {
		return HashParams{}, nil, nil, malformed(verr.Error())
	}
	return p, salt, key, nil
}
