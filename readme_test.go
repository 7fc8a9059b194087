package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"healthcare/config"
)

// readmeEnvVars returns every environment variable the program reads:
// those config.Load asks for (recorded along each database branch) and
// those the main package reads itself, as getenv("NAME") calls.
func readmeEnvVars(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, env := range []map[string]string{
		{"DEBUG": "true"},
		{"DEBUG": "true", "DB_NAME": "x"},
		{"DEBUG": "true", "DATABASE_URL": "postgres://h/db"},
	} {
		_, _ = config.Load(func(k string) string { seen[k] = true; return env[k] })
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			fn, ok := call.Fun.(*ast.Ident)
			lit, isLit := call.Args[0].(*ast.BasicLit)
			if !ok || fn.Name != "getenv" || !isLit || lit.Kind != token.STRING {
				return true
			}
			if v, err := strconv.Unquote(lit.Value); err == nil {
				seen[v] = true
			}
			return true
		})
	}
	var names []string
	for k := range seen {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// TestReadmeListsEveryEnvVar fails when the program reads an environment
// variable that the README's configuration table does not list.
func TestReadmeListsEveryEnvVar(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := readmeEnvVars(t)
	// The recorder and the source scan both work.
	for _, want := range []string{"SECRET_KEY", "DB_PASSWORD", "LOGIN_RATE_PER_IP", "MEMORY_LIMIT", "PPROF_ADDR", "SUPERUSER_PASSWORD", "GOMEMLIMIT"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not found among the variables read (%v): the scan is broken", want, names)
		}
	}
	for _, name := range names {
		// The variable is in the first cell of a table row.
		row := regexp.MustCompile("(?m)^\\|[^|\\n]*`" + regexp.QuoteMeta(name) + "`")
		if !row.Match(readme) {
			t.Errorf("README.md: the configuration table has no row for %s, which the program reads", name)
		}
	}
}
