package templates

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsCurrent fails when a *_templ.go file is not what the
// pinned templ (go tool templ) generates from its .templ file, or when a
// .templ file is not formatted: edit the .templ, then run
// `go tool templ fmt . && go tool templ generate`.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the templ generator")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	sources, err := filepath.Glob("*.templ")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no .templ files: %v", err)
	}
	// The generated code names each file by its path from where the
	// generator runs (the module root: "templates/x.templ"), so the copy
	// keeps that layout.
	root := t.TempDir()
	dir := filepath.Join(root, "templates")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, src := range sources {
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, src), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(goBin, append([]string{"tool", "templ"}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("go tool templ %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	}
	run("fmt", "-fail", dir)
	run("generate", "-path", root)
	for _, src := range sources {
		gen := strings.TrimSuffix(src, ".templ") + "_templ.go"
		want, err := os.ReadFile(filepath.Join(dir, gen))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatalf("%s is missing: run go tool templ generate", gen)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run go tool templ generate", gen)
		}
	}
}
