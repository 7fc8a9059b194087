package config

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeEnv writes content to a .env file in a fresh temporary directory.
func writeEnv(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseDotEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		{"empty file", "", map[string]string{}},
		{"blank lines and comments", "\n  \n# comment\n   # indented comment\nA=1\n", map[string]string{"A": "1"}},
		{"basic", "A=1\nB_2=two\n_c=x", map[string]string{"A": "1", "B_2": "two", "_c": "x"}},
		{"whitespace trimmed", "  A  =   spaced value  \t", map[string]string{"A": "spaced value"}},
		{"empty value", "A=\nB=   ", map[string]string{"A": "", "B": ""}},
		{"export prefix", "export A=1\nexport\tB=2", map[string]string{"A": "1", "B": "2"}},
		{"key named export", "export=1\nexporter=2", map[string]string{"export": "1", "exporter": "2"}},
		{"inline comment", "A=value # comment\nB=v\t# tab comment", map[string]string{"A": "value", "B": "v"}},
		{"only a comment", "A= # nothing here", map[string]string{"A": ""}},
		{"hash without space is data", "A=abc#def\nB=#start", map[string]string{"A": "abc#def", "B": "#start"}},
		{"equals in value", "A=postgres://u:p@h/db?x=1&y=2", map[string]string{"A": "postgres://u:p@h/db?x=1&y=2"}},
		{"double quoted", `A="  keep spaces # not a comment  "`, map[string]string{"A": "  keep spaces # not a comment  "}},
		{"double quoted escapes", `A="line1\nline2\t\"q\" \\ \r"`, map[string]string{"A": "line1\nline2\t\"q\" \\ \r"}},
		{"unknown escape kept", `A="C:\path\x"`, map[string]string{"A": `C:\path\x`}},
		{"double quoted then comment", `A="v" # c`, map[string]string{"A": "v"}},
		{"single quoted literal", `A='no \n escapes "here" # or comments'`, map[string]string{"A": `no \n escapes "here" # or comments`}},
		{"single quoted then comment", `A='v'   #c`, map[string]string{"A": "v"}},
		{"empty quotes", `A=""` + "\n" + `B=''`, map[string]string{"A": "", "B": ""}},
		{"quote inside unquoted", `A=it's "fine"`, map[string]string{"A": `it's "fine"`}},
		{"crlf", "A=1\r\nB=\"2\"\r\n", map[string]string{"A": "1", "B": "2"}},
		{"bom", "\uFEFFA=1", map[string]string{"A": "1"}},
		{"last wins", "A=1\nA=2", map[string]string{"A": "2"}},
		{"utf-8 value", "A=héllo wörld", map[string]string{"A": "héllo wörld"}},
	} {
		got, err := parseDotEnv("x.env", tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseDotEnvErrors(t *testing.T) {
	t.Parallel()
	const secret = "TOPSECRET"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"no equals", "A=1\n" + secret, "x.env:2: expected KEY=VALUE"},
		{"bad key dash", "\n\nMY-" + secret + "=1", "x.env:3: invalid variable name"},
		{"bad key digit", "1A=1", "x.env:1: invalid variable name"},
		{"bad key space", "A B=" + secret, "x.env:1: invalid variable name"},
		{"empty key", "=" + secret, "x.env:1: invalid variable name"},
		{"export without assignment", "export A", "x.env:1: expected KEY=VALUE"},
		{"unterminated double", `A="` + secret, "x.env:1: A: unterminated double-quoted value"},
		{"escaped closing quote", `A="` + secret + `\"`, "x.env:1: A: unterminated double-quoted value"},
		{"trailing backslash", `A="` + secret + `\`, "x.env:1: A: unterminated double-quoted value"},
		{"unterminated single", "A='" + secret, "x.env:1: A: unterminated single-quoted value"},
		{"multi-line not supported", "A=\"one\ntwo\"", "x.env:1: A: unterminated"},
		{"text after double quote", `A="abc"` + secret, "x.env:1: A: unexpected text after closing quote"},
		{"text after single quote", `A='abc' ` + secret, "x.env:1: A: unexpected text after closing quote"},
	} {
		_, err := parseDotEnv("x.env", tc.in)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want prefix %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error echoes the line: %q", tc.name, err)
		}
	}
}

func TestWithDotEnvPrecedence(t *testing.T) {
	t.Parallel()
	path := writeEnv(t, "A=from-file\nB=from-file\nC=from-file\nEMPTY=\n")
	getenv, err := WithDotEnv(path, mapEnv(map[string]string{"A": "from-env", "C": "", "D": "env-only"}))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"A":     "from-env",  // the environment wins
		"B":     "from-file", // the file fills gaps
		"C":     "from-file", // an empty env value counts as unset
		"D":     "env-only",
		"EMPTY": "",
		"NONE":  "",
	} {
		if got := getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestWithDotEnvFeedsLoad(t *testing.T) {
	t.Parallel()
	path := writeEnv(t, "export DEBUG=false\nSECRET_KEY='"+testSecret+"'\nACCESS_TOKEN_LIFETIME=1m # short\n")
	getenv, err := WithDotEnv(path, mapEnv(map[string]string{"ACCESS_TOKEN_LIFETIME": "2m"}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.SecretKey) != testSecret || c.AccessTokenTTL.String() != "2m0s" || c.Debug {
		t.Errorf("got %v", c)
	}
}

func TestWithDotEnvMissingFile(t *testing.T) {
	t.Parallel()
	env := mapEnv(map[string]string{"A": "1"})
	getenv, err := WithDotEnv(filepath.Join(t.TempDir(), "absent.env"), env)
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if getenv("A") != "1" || getenv("B") != "" {
		t.Error("missing file changed the lookups")
	}
	// nil getenv means os.Getenv, even when there is no file.
	if g, err := WithDotEnv(filepath.Join(t.TempDir(), "absent.env"), nil); err != nil || g == nil {
		t.Errorf("nil getenv: %v, %v", g == nil, err)
	}
}

func TestWithDotEnvErrors(t *testing.T) {
	t.Parallel()
	path := writeEnv(t, "# header\nA=1\nB=\"TOPSECRET\n")
	_, err := WithDotEnv(path, mapEnv(nil))
	if err == nil {
		t.Fatal("malformed file accepted")
	}
	if want := path + ":3: B: unterminated"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want prefix %q", err, want)
	}
	if strings.Contains(err.Error(), "TOPSECRET") {
		t.Errorf("error echoes the value: %q", err)
	}

	// A path that exists but cannot be read is an error, not "no file".
	if _, err := WithDotEnv(t.TempDir(), mapEnv(nil)); err == nil {
		t.Error("reading a directory did not fail")
	}
}
