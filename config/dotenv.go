package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// WithDotEnv returns a getenv that answers from getenv (normally os.Getenv)
// first and falls back to the KEY=VALUE pairs of the file at path. That is
// python-decouple's precedence: the real environment, set by the deployment,
// overrides the developer's .env file. The file is read once, now; the
// returned function is safe for concurrent use. A nil getenv means os.Getenv.
//
// As with Load, an empty environment value counts as unset, so the file's
// value is used instead: getenv cannot tell "FOO=" from no FOO at all.
//
// A missing file is not an error (production usually has none): getenv is
// returned unchanged. A malformed line is an error naming the file and line
// number; the line's content is not quoted because it may hold a secret.
//
// File syntax, one assignment per line:
//
//	# comment
//	KEY=value            # surrounding whitespace trimmed; " #..." ends the value
//	export KEY=value     # the shell's export prefix is allowed
//	KEY='literal $tring' # single quotes: taken verbatim
//	KEY="a\nb \"q\" \\"  # double quotes: \n \r \t \" \\ escapes
//
// Keys must match [A-Za-z_][A-Za-z0-9_]*. A '#' not preceded by whitespace is
// part of an unquoted value (KEY=abc#def keeps the '#'), so passwords with
// '#' survive. There is no ${VAR} interpolation and no multi-line values,
// matching python-decouple. If a key repeats, the last line wins.
func WithDotEnv(path string, getenv func(string) string) (func(string) string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, err // already names the file, e.g. "open .env: permission denied"
	}
	vals, err := parseDotEnv(path, string(data))
	if err != nil {
		return nil, err
	}
	return func(key string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return vals[key]
	}, nil
}

// parseDotEnv parses the content of a .env file; path is only used in errors.
func parseDotEnv(path, data string) (map[string]string, error) {
	data = strings.TrimPrefix(data, "\uFEFF") // editors on Windows add a BOM
	vals := make(map[string]string)
	for i, line := range strings.Split(data, "\n") {
		lineNo := i + 1
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", path, lineNo, fmt.Sprintf(format, args...))
		}

		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && isBlank(rest[0]) {
			line = strings.TrimLeft(rest, " \t")
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fail("expected KEY=VALUE")
		}
		key = strings.TrimSpace(key)
		if !validKey(key) {
			// The "key" of a malformed line could be anything, secrets
			// included, so it is not echoed.
			return nil, fail("invalid variable name (must match [A-Za-z_][A-Za-z0-9_]*)")
		}
		val, err := parseValue(raw)
		if err != nil {
			return nil, fail("%s: %v", key, err)
		}
		vals[key] = val
	}
	return vals, nil
}

// parseValue parses what follows the '=' of one line.
func parseValue(raw string) (string, error) {
	v := strings.TrimLeft(raw, " \t")
	if v == "" {
		return "", nil
	}
	switch v[0] {
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '"':
				return b.String(), checkTrailing(v[i+1:])
			case c == '\\' && i+1 < len(v):
				i++
				switch v[i] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case '"', '\\':
					b.WriteByte(v[i])
				default:
					// Unknown escapes stay literal so Windows paths and
					// regexps need no doubling.
					b.WriteByte('\\')
					b.WriteByte(v[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated double-quoted value")
	case '\'':
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated single-quoted value")
		}
		return v[1 : 1+end], checkTrailing(v[2+end:])
	}
	// Unquoted: a '#' preceded by whitespace starts a comment. raw (not v)
	// is scanned so that "KEY= #comment" counts the space after '='.
	for i := 1; i < len(raw); i++ {
		if raw[i] == '#' && isBlank(raw[i-1]) {
			raw = raw[:i]
			break
		}
	}
	return strings.TrimSpace(raw), nil
}

// checkTrailing allows only whitespace and a comment after a closing quote,
// so that a stray quote inside a value is an error rather than a silently
// truncated password.
func checkTrailing(rest string) error {
	rest = strings.TrimLeft(rest, " \t")
	if rest == "" || rest[0] == '#' {
		return nil
	}
	return errors.New("unexpected text after closing quote")
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// validKey reports whether k matches [A-Za-z_][A-Za-z0-9_]*, the names a
// POSIX shell accepts, so the same file can also be sourced.
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
