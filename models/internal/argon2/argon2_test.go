package argon2

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"

	"healthcare/models/internal/memtest"
)

// implementations runs f with the vector blocks (SSE4 on amd64, LSX on
// loong64) and without them, as x/crypto's own tests do. Without them
// amd64 still mixes blocks in SSE2 assembly; .ci/run also runs these tests
// with -tags purego, which is all Go.
func implementations(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer func(sse4, lsx bool) { useSSE4, useLSX = sse4, lsx }(useSSE4, useLSX)
	if useSSE4 {
		t.Run("sse4", f)
		useSSE4 = false
	}
	if useLSX {
		t.Run("lsx", f)
		useLSX = false
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

// x/crypto's vectors from the reference implementation (password
// "password", salt "somesalt"; up to 8 lanes), each computed twice in one
// memory dirty from the hash before.
func TestReferenceVectorsInDirtyMemory(t *testing.T) {
	password, salt := []byte("password"), []byte("somesalt")
	implementations(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		mem := NewMemory(1024)
		dirty(mem, r)
		for i, v := range testVectors {
			for range 2 {
				got := hex.EncodeToString(deriveKey(mem, v.mode, password, salt, nil, nil, v.time, v.memory, v.threads, uint32(len(v.hash)/2)))
				if got != v.hash {
					t.Errorf("vector %d (mode %d t=%d m=%d p=%d): got %s, want %s", i, v.mode, v.time, v.memory, v.threads, got, v.hash)
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

			larger := NewMemory(memory + 64)
			dirty(larger, r)
			lent := []*Memory{nil, shared, NewMemory(memory / 2), larger}
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
	if grew := memtest.Allocated(func() { IDKey(mem, password, salt, 1, 19*1024, 1, 32) }); grew >= 1<<20 {
		t.Errorf("a hash in a lent 19 MiB memory allocated %d bytes", grew)
	}
	if grew := memtest.Allocated(func() { IDKey(nil, password, salt, 1, 19*1024, 1, 32) }); grew < 19<<20 {
		t.Errorf("a hash in its own memory allocated %d bytes, want at least 19 MiB (is the measure broken?)", grew)
	}
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

// The files copied unchanged are still x/crypto's, byte for byte (the
// module is in the module cache: this test imports it).
func TestCopiedFilesAreXCryptos(t *testing.T) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	upstream := filepath.Join(strings.TrimSpace(string(out)), "golang.org", "x", "crypto@"+forkedFrom, "argon2")
	for _, name := range []string{"blake2b.go", "blamka_amd64.go", "blamka_amd64.s", "blamka_generic.go",
		"blamka_loong64.go", "blamka_loong64.s", "blamka_ref.go"} {
		want, err := os.ReadFile(filepath.Join(upstream, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from x/crypto %s's", name, forkedFrom)
		}
	}
}

// Generated with the CLI of https://github.com/P-H-C/phc-winner-argon2/blob/master/argon2-specs.pdf
var testVectors = []struct {
	mode         int
	time, memory uint32
	threads      uint8
	hash         string
}{
	{
		mode: argon2i, time: 1, memory: 64, threads: 1,
		hash: "b9c401d1844a67d50eae3967dc28870b22e508092e861a37",
	},
	{
		mode: argon2d, time: 1, memory: 64, threads: 1,
		hash: "8727405fd07c32c78d64f547f24150d3f2e703a89f981a19",
	},
	{
		mode: argon2id, time: 1, memory: 64, threads: 1,
		hash: "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 1,
		hash: "8cf3d8f76a6617afe35fac48eb0b7433a9a670ca4a07ed64",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 1,
		hash: "3be9ec79a69b75d3752acb59a1fbb8b295a46529c48fbb75",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 1,
		hash: "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 2,
		hash: "2089f3e78a799720f80af806553128f29b132cafe40d059f",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 2,
		hash: "68e2462c98b8bc6bb60ec68db418ae2c9ed24fc6748a40e9",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 2,
		hash: "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362",
	},
	{
		mode: argon2i, time: 3, memory: 256, threads: 2,
		hash: "f5bbf5d4c3836af13193053155b73ec7476a6a2eb93fd5e6",
	},
	{
		mode: argon2d, time: 3, memory: 256, threads: 2,
		hash: "f4f0669218eaf3641f39cc97efb915721102f4b128211ef2",
	},
	{
		mode: argon2id, time: 3, memory: 256, threads: 2,
		hash: "4668d30ac4187e6878eedeacf0fd83c5a0a30db2cc16ef0b",
	},
	{
		mode: argon2i, time: 4, memory: 4096, threads: 4,
		hash: "a11f7b7f3f93f02ad4bddb59ab62d121e278369288a0d0e7",
	},
	{
		mode: argon2d, time: 4, memory: 4096, threads: 4,
		hash: "935598181aa8dc2b720914aa6435ac8d3e3a4210c5b0fb2d",
	},
	{
		mode: argon2id, time: 4, memory: 4096, threads: 4,
		hash: "145db9733a9f4ee43edf33c509be96b934d505a4efb33c5a",
	},
	{
		mode: argon2i, time: 4, memory: 1024, threads: 8,
		hash: "0cdd3956aa35e6b475a7b0c63488822f774f15b43f6e6e17",
	},
	{
		mode: argon2d, time: 4, memory: 1024, threads: 8,
		hash: "83604fc2ad0589b9d055578f4d3cc55bc616df3578a896e9",
	},
	{
		mode: argon2id, time: 4, memory: 1024, threads: 8,
		hash: "8dafa8e004f8ea96bf7c0f93eecf67a6047476143d15577f",
	},
	{
		mode: argon2i, time: 2, memory: 64, threads: 3,
		hash: "5cab452fe6b8479c8661def8cd703b611a3905a6d5477fe6",
	},
	{
		mode: argon2d, time: 2, memory: 64, threads: 3,
		hash: "22474a423bda2ccd36ec9afd5119e5c8949798cadf659f51",
	},
	{
		mode: argon2id, time: 2, memory: 64, threads: 3,
		hash: "4a15b31aec7c2590b87d1f520be7d96f56658172deaa3079",
	},
	{
		mode: argon2i, time: 3, memory: 1024, threads: 6,
		hash: "d236b29c2b2a09babee842b0dec6aa1e83ccbdea8023dced",
	},
	{
		mode: argon2d, time: 3, memory: 1024, threads: 6,
		hash: "a3351b0319a53229152023d9206902f4ef59661cdca89481",
	},
	{
		mode: argon2id, time: 3, memory: 1024, threads: 6,
		hash: "1640b932f4b60e272f5d2207b9a9c626ffa1bd88d2349016",
	},
}

// Clear leaves no trace of the last hash in the memory.
func TestClearZeroesTheMemory(t *testing.T) {
	mem := NewMemory(64)
	IDKey(mem, []byte("pw"), []byte("0123456789abcdef"), 1, 64, 1, 32)
	mem.Clear()
	for i := range mem.blocks {
		if mem.blocks[i] != (block{}) {
			t.Fatalf("block %d not zero after Clear", i)
		}
	}
}
