package argon2

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// implementations runs f with the vector (SSE4) blocks and with the
// generic Go ones, as x/crypto's own tests do.
func implementations(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer func(sse4 bool) { useSSE4 = sse4 }(useSSE4)
	if useSSE4 {
		t.Run("sse4", f)
		useSSE4 = false
	}
	t.Run("generic", f)
}

// dirty fills m with bytes no hash would leave, as if another hash had
// used it: a first pass that read a block before writing it would give
// another key.
func dirty(m *Memory, r *rand.Rand) {
	for i := range m.blocks {
		for j := range m.blocks[i] {
			m.blocks[i][j] = r.Uint64()
		}
	}
}

// The RFC 9106 section 5 vectors (argon2d, argon2i, argon2id: 32 KiB, 3
// passes, 4 lanes, with a secret and associated data), computed in memory
// left dirty by a previous use: the keys x/crypto's tests give.
func TestRFC9106VectorsInDirtyMemory(t *testing.T) {
	password := bytes.Repeat([]byte{0x01}, 32)
	salt := bytes.Repeat([]byte{0x02}, 16)
	secret := bytes.Repeat([]byte{0x03}, 8)
	ad := bytes.Repeat([]byte{0x04}, 12)
	vectors := []struct {
		name string
		mode int
		want string
	}{
		{"argon2d", argon2d, "512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb"},
		{"argon2i", argon2i, "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8"},
		{"argon2id", argon2id, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"},
	}
	implementations(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, v := range vectors {
			for _, mem := range []*Memory{nil, NewMemory(32), NewMemory(1024)} {
				if mem != nil {
					dirty(mem, r)
				}
				got := hex.EncodeToString(deriveKey(mem, v.mode, password, salt, secret, ad, 3, 32, 4, 32))
				if got != v.want {
					t.Errorf("%s in %v: got %s, want %s", v.name, describe(mem), got, v.want)
				}
			}
		}
	})
}

func describe(m *Memory) string {
	if m == nil {
		return "its own memory"
	}
	return fmt.Sprintf("a lent memory of %d KiB", len(m.blocks))
}

// IDKey gives x/crypto's argon2.IDKey for random passwords, salts and
// parameters, whatever memory it is lent: none, too small (it allocates),
// exactly the size, larger, and the same memory again and again, dirty
// from the previous hash or from random bytes.
func TestIDKeyMatchesXCrypto(t *testing.T) {
	implementations(t, func(t *testing.T) {
		seed := rand.Uint64()
		r := rand.New(rand.NewPCG(seed, 7))
		shared := NewMemory(2048)
		for i := range 60 {
			threads := uint8(1 + r.IntN(4))
			memory := uint32(r.IntN(1500)) // below 8*threads x/crypto rounds up
			time := uint32(1 + r.IntN(3))
			keyLen := uint32(1 + r.IntN(100))
			password := make([]byte, r.IntN(64))
			salt := make([]byte, 8+r.IntN(32))
			fill(r, password)
			fill(r, salt)
			want := xargon2.IDKey(password, salt, time, memory, threads, keyLen)

			lent := []*Memory{nil, shared, NewMemory(memory / 2), NewMemory(memory + 64)}
			if i%5 == 0 {
				dirty(shared, r)
			}
			for _, mem := range lent {
				got := IDKey(mem, password, salt, time, memory, threads, keyLen)
				if !bytes.Equal(got, want) {
					t.Fatalf("seed %d, case %d (t=%d m=%d p=%d len=%d) in %s: got %x, want %x",
						seed, i, time, memory, threads, keyLen, describe(mem), got, want)
				}
			}
		}
	})
}

func fill(r *rand.Rand, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(r.Uint32())
	}
}

// A lent memory large enough is the memory the hash works in: nothing of
// its size is allocated.
func TestIDKeyWorksInTheLentMemory(t *testing.T) {
	mem := NewMemory(19 * 1024)
	password, salt := []byte("correct-Horse-battery-9"), []byte("0123456789abcdef")
	if grew := allocated(func() { IDKey(mem, password, salt, 1, 19*1024, 1, 32) }); grew >= 1<<20 {
		t.Errorf("a hash in a lent 19 MiB memory allocated %d bytes", grew)
	}
	if grew := allocated(func() { IDKey(nil, password, salt, 1, 19*1024, 1, 32) }); grew < 19<<20 {
		t.Errorf("a hash in its own memory allocated %d bytes, want at least 19 MiB (is the measure broken?)", grew)
	}
}

// allocated is how many bytes the program allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// BenchmarkIDKey is the server's hash (OWASP: 19 MiB, 2 passes, 1 lane)
// in its own memory, as x/crypto runs it, and in lent memory.
func BenchmarkIDKey(b *testing.B) {
	password, salt := []byte("correct-Horse-battery-9"), []byte("0123456789abcdef")
	for _, lent := range []bool{false, true} {
		b.Run(fmt.Sprintf("lent=%v", lent), func(b *testing.B) {
			var mem *Memory
			if lent {
				mem = NewMemory(19 * 1024)
			}
			b.ReportAllocs()
			for b.Loop() {
				IDKey(mem, password, salt, 2, 19*1024, 1, 32)
			}
		})
	}
}

// forkedFrom is the golang.org/x/crypto release this package copies.
const forkedFrom = "v0.59.0"

// When go.mod moves golang.org/x/crypto, this copy of its argon2 must be
// compared with the new one (a fix there is not a fix here): this test
// fails until forkedFrom says that was done.
func TestForkedFromTheXCryptoInUse(t *testing.T) {
	// Test binaries carry no module versions (debug.ReadBuildInfo), so
	// read go.mod: the module's root is three directories up.
	gomod, err := os.ReadFile(filepath.Join("..", "..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*golang\.org/x/crypto (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require golang.org/x/crypto")
	}
	if v := string(m[1]); v != forkedFrom {
		t.Fatalf("go.mod has golang.org/x/crypto %s, this package copies the argon2 of %s: "+
			"diff its argon2 directory with this one, carry any change over, then set forkedFrom", v, forkedFrom)
	}
}
