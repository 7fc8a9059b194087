package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Values distinctive enough that finding them in output means a leak.
const (
	testSecret   = "s3cret-KEY-0123456789-abcdefghijklmnop-ZZZ"
	testPassword = "p@ss:w/rd#?%& é!TOPSECRET"
)

// mapEnv is a getenv backed by a map, so tests never touch the process
// environment and can run in parallel.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// prod is a minimal valid production environment; with adds to a copy.
func prod(extra ...string) map[string]string {
	m := map[string]string{"SECRET_KEY": testSecret}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func mustLoad(t *testing.T, m map[string]string) Config {
	t.Helper()
	c, err := Load(mapEnv(m))
	if err != nil {
		t.Fatalf("Load: unexpected error: %v", err)
	}
	return c
}

// assertNoSecrets fails if s contains the test secret or password in any
// encoding a formatter or URL builder might produce.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, bad := range []string{
		testSecret, testPassword,
		url.QueryEscape(testPassword), url.PathEscape(testPassword),
		url.UserPassword("u", testPassword).String(),
		"TOPSECRET", "s3cret-KEY",
		fmt.Sprint([]byte(testSecret)), strings.TrimPrefix(fmt.Sprintf("%#v", []byte(testSecret)), "[]byte"),
		fmt.Sprintf("%x", testSecret), fmt.Sprintf("% x", testSecret),
	} {
		if strings.Contains(s, bad) {
			t.Errorf("%s leaks a secret (%q):\n%s", what, bad, s)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, map[string]string{"DEBUG": "true"})

	if !c.Debug || !c.SecretGenerated || len(c.SecretKey) != 32 {
		t.Errorf("Debug=%v SecretGenerated=%v len(SecretKey)=%d, want true true 32", c.Debug, c.SecretGenerated, len(c.SecretKey))
	}
	want := Config{
		Debug:                  true,
		SecretKey:              c.SecretKey,
		SecretGenerated:        true,
		Addr:                   "127.0.0.1:8000",
		DB:                     Database{Driver: "sqlite", DSN: "healthcare.db"},
		AccessTokenTTL:         5 * time.Minute,
		TokenCacheTTL:          5 * time.Second,
		RefreshTokenTTL:        24 * time.Hour,
		MaxBodyBytes:           1048576,
		RequestTimeout:         10 * time.Second,
		TrustedProxies:         nil,
		TimeZone:               time.UTC,
		HashConcurrency:        0,
		APIRateLimit:           600,
		LoginRatePerIP:         60,
		RegisterRatePerIP:      60,
		RefreshRatePerIP:       120,
		LoginFailuresPerEmail:  10,
		MemoryLimit:            110 << 20,
		LogFormat:              "text",
		LogLevel:               slog.LevelInfo,
		MetricsEnabled:         true,
		MetricsAddr:            "",
		SecureCookies:          false,
		SessionIdleTimeout:     30 * time.Minute,
		SessionAbsoluteTimeout: 12 * time.Hour,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}

	// The generated key must be random, not a constant.
	c2 := mustLoad(t, map[string]string{"DEBUG": "true"})
	if bytes.Equal(c.SecretKey, c2.SecretKey) {
		t.Error("two generated development keys are equal")
	}
}

func TestLoadEveryVariable(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, map[string]string{
		"DEBUG":                      "false",
		"SECRET_KEY":                 testSecret,
		"ADDR":                       " :9000 ", // trimmed
		"SQLITE_PATH":                "/var/lib/hc/data.db",
		"ACCESS_TOKEN_LIFETIME":      "15m",
		"TOKEN_CACHE_TTL":            "0s",
		"REFRESH_TOKEN_LIFETIME":     "168h",
		"MAX_BODY_BYTES":             "2048",
		"REQUEST_TIMEOUT":            "1m30s",
		"SHUTDOWN_DELAY":             "5s",
		"TRUSTED_PROXIES":            " 10.0.0.1, 192.168.0.0/16 ,::1,fd00::/8,",
		"ALLOWED_HOSTS":              " API.example.com, .clinic.example,10.0.0.5 ,[::1],",
		"CORS_ALLOWED_ORIGINS":       "https://App.example.com, http://localhost:3000/,",
		"TIME_ZONE":                  " Asia/Tokyo ",
		"PASSWORD_HASH_CONCURRENCY":  "4",
		"API_RATE_LIMIT":             "0",
		"LOGIN_RATE_PER_IP":          "30",
		"REGISTER_RATE_PER_IP":       "5",
		"REFRESH_RATE_PER_IP":        "0",
		"LOGIN_FAILURES_PER_EMAIL":   "3",
		"MEMORY_LIMIT":               "1GiB",
		"PPROF_ADDR":                 "[::1]:6060",
		"LOG_FORMAT":                 "JSON",
		"LOG_LEVEL":                  "Warn",
		"METRICS":                    "off",
		"METRICS_ADDR":               "127.0.0.1:9100",
		"SECURE_COOKIES":             "yes",
		"ADMIN_SESSION_IDLE_TIMEOUT": "10m",
		"ADMIN_SESSION_MAX_AGE":      "8h",
	})
	want := Config{
		Debug:                  false,
		SecretKey:              []byte(testSecret),
		SecretGenerated:        false,
		Addr:                   ":9000",
		DB:                     Database{Driver: "sqlite", DSN: "/var/lib/hc/data.db"},
		AccessTokenTTL:         15 * time.Minute,
		TokenCacheTTL:          0,
		RefreshTokenTTL:        168 * time.Hour,
		MaxBodyBytes:           2048,
		RequestTimeout:         90 * time.Second,
		ShutdownDelay:          5 * time.Second,
		TrustedProxies:         []string{"10.0.0.1", "192.168.0.0/16", "::1", "fd00::/8"},
		AllowedHosts:           AllowedHosts{"api.example.com", ".clinic.example", "10.0.0.5", "[::1]"},
		CORSAllowedOrigins:     []string{"https://app.example.com", "http://localhost:3000"},
		TimeZone:               c.TimeZone, // a *time.Location: compared by name below
		HashConcurrency:        4,
		LoginRatePerIP:         30,
		RegisterRatePerIP:      5,
		RefreshRatePerIP:       0,
		LoginFailuresPerEmail:  3,
		MemoryLimit:            1 << 30,
		PprofAddr:              "[::1]:6060",
		LogFormat:              "json",
		LogLevel:               slog.LevelWarn,
		MetricsEnabled:         false,
		MetricsAddr:            "127.0.0.1:9100",
		SecureCookies:          true,
		SessionIdleTimeout:     10 * time.Minute,
		SessionAbsoluteTimeout: 8 * time.Hour,
	}
	if c.TimeZone.String() != "Asia/Tokyo" {
		t.Errorf("TimeZone = %v, want Asia/Tokyo", c.TimeZone)
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("\n got %#v\nwant %#v", c, want) // redacted either way, but fields show
		if !bytes.Equal(c.SecretKey, want.SecretKey) {
			t.Error("SecretKey differs")
		}
	}
}

// A setting that can be off is off in every spelling of nothing.
func TestLoadDurationsTurnedOff(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0", "0s", "0m", "0h0m", "off", "OFF"} {
		c := mustLoad(t, prod("TOKEN_CACHE_TTL", v, "SHUTDOWN_DELAY", v))
		if c.TokenCacheTTL != 0 || c.ShutdownDelay != 0 {
			t.Errorf("%q: TOKEN_CACHE_TTL %v, SHUTDOWN_DELAY %v, want both off", v, c.TokenCacheTTL, c.ShutdownDelay)
		}
	}
}

func TestLoadMemoryLimit(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"":           DefaultMemoryLimit,
		"off":        0,
		"OFF":        0,
		"120MiB":     120 << 20,
		" 1GiB ":     1 << 30,
		"65536KiB":   64 << 20,
		"1TiB":       1 << 40,
		"33554432":   32 << 20, // bare bytes, as GOMEMLIMIT takes them
		"33554432B":  32 << 20,
		"2147483648": 2 << 30,
	} {
		if got := mustLoad(t, prod("MEMORY_LIMIT", in)).MemoryLimit; got != want {
			t.Errorf("MEMORY_LIMIT=%q: got %d, want %d", in, got, want)
		}
	}
}

// PPROF_ADDR is loopback-only unless PPROF_ALLOW_REMOTE says otherwise.
func TestLoadPprofAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr, allow, want string
	}{
		{"", "", ""},
		{"127.0.0.1:6060", "", "127.0.0.1:6060"},
		{"localhost:6060", "", "localhost:6060"},
		{"[::1]:0", "", "[::1]:0"},
		{"127.0.0.1:0", "", "127.0.0.1:0"}, // port 0 is a fresh port, never ADDR's
		{"127.8.9.10:6060", "", "127.8.9.10:6060"},
		{"0.0.0.0:6060", "true", "0.0.0.0:6060"},
		{":6060", "yes", ":6060"},
		{"10.1.2.3:6060", "1", "10.1.2.3:6060"},
	} {
		c := mustLoad(t, prod("PPROF_ADDR", tc.addr, "PPROF_ALLOW_REMOTE", tc.allow, "ADDR", "127.0.0.1:0"))
		if c.PprofAddr != tc.want {
			t.Errorf("PPROF_ADDR=%q PPROF_ALLOW_REMOTE=%q: got %q, want %q", tc.addr, tc.allow, c.PprofAddr, tc.want)
		}
	}
	// Port 0 is a fresh port each time: METRICS_ADDR may be ADDR's too.
	if c := mustLoad(t, prod("METRICS_ADDR", "127.0.0.1:0", "ADDR", "127.0.0.1:0")); c.MetricsAddr != "127.0.0.1:0" {
		t.Errorf("METRICS_ADDR = %q, want 127.0.0.1:0 beside ADDR 127.0.0.1:0", c.MetricsAddr)
	}
	for addr, want := range map[string]bool{
		"127.0.0.1:1": true, "localhost:1": true, "LOCALHOST:1": true, "[::1]:1": true,
		":1": false, "0.0.0.0:1": false, "[::]:1": false, "192.168.1.1:1": false, "example.com:1": false, "nonsense": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestLoadBooleans(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", false}, {"true", true}, {"TRUE", true}, {"True", true}, {"1", true},
		{"yes", true}, {"Y", true}, {"on", true}, {"t", true}, {" on ", true},
		{"false", false}, {"FALSE", false}, {"0", false}, {"no", false},
		{"N", false}, {"off", false}, {"f", false},
	} {
		m := prod("DEBUG", tc.in, "SECURE_COOKIES", tc.in, "METRICS", tc.in)
		c := mustLoad(t, m)
		if c.Debug != tc.want || c.SecureCookies != tc.want {
			t.Errorf("%q: Debug=%v SecureCookies=%v, want %v", tc.in, c.Debug, c.SecureCookies, tc.want)
		}
		wantMetrics := tc.want || tc.in == "" // METRICS defaults to true
		if c.MetricsEnabled != wantMetrics {
			t.Errorf("METRICS=%q: got %v, want %v", tc.in, c.MetricsEnabled, wantMetrics)
		}
	}
}

func TestLoadLogLevels(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]slog.Level{
		"": slog.LevelInfo, "debug": slog.LevelDebug, "DEBUG": slog.LevelDebug,
		"info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		if got := mustLoad(t, prod("LOG_LEVEL", in)).LogLevel; got != want {
			t.Errorf("LOG_LEVEL=%q: got %v, want %v", in, got, want)
		}
	}
}

// TestLoadErrors checks each bad value yields one line that starts with the
// variable's name and quotes the bad value.
func TestLoadErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env      map[string]string
		variable string
		want     string // substring of the message
	}{
		{prod("DEBUG", "maybe"), "DEBUG", `invalid boolean "maybe"`},
		{prod("TIME_ZONE", "Mars/Olympus_Mons"), "TIME_ZONE", `unknown time zone "Mars/Olympus_Mons"`},
		{prod("TIME_ZONE", "Local"), "TIME_ZONE", `unknown time zone "Local"`},
		{prod("TIME_ZONE", "../../etc/passwd"), "TIME_ZONE", `unknown time zone`},
		// Files of the host's zone database, not IANA zones: what they mean
		// differs from host to host (Debian has them all).
		{prod("TIME_ZONE", "localtime"), "TIME_ZONE", `unknown time zone "localtime"`},
		{prod("TIME_ZONE", "posixrules"), "TIME_ZONE", `unknown time zone "posixrules"`},
		{prod("TIME_ZONE", "Factory"), "TIME_ZONE", `unknown time zone "Factory"`},
		{prod("TIME_ZONE", "posix/Asia/Tokyo"), "TIME_ZONE", `unknown time zone "posix/Asia/Tokyo"`},
		{prod("TIME_ZONE", "right/America/New_York"), "TIME_ZONE", `unknown time zone "right/America/New_York"`},
		{prod("TIME_ZONE", "./right/America/New_York"), "TIME_ZONE", `unknown time zone "./right/America/New_York"`},
		{prod("TIME_ZONE", "./posixrules"), "TIME_ZONE", `unknown time zone "./posixrules"`},
		{prod("TIME_ZONE", "Europe//Warsaw"), "TIME_ZONE", `unknown time zone "Europe//Warsaw"`},
		{prod("TIME_ZONE", "Europe/Warsaw/"), "TIME_ZONE", `unknown time zone "Europe/Warsaw/"`},
		{prod("ACCESS_TOKEN_LIFETIME", "100ms"), "ACCESS_TOKEN_LIFETIME", `whole number of seconds`},
		{prod("ACCESS_TOKEN_LIFETIME", "1.5s"), "ACCESS_TOKEN_LIFETIME", `whole number of seconds`},
		{prod("REFRESH_TOKEN_LIFETIME", "999ms"), "REFRESH_TOKEN_LIFETIME", `whole number of seconds`},
		{prod("METRICS", "enabled"), "METRICS", `"enabled"`},
		{prod("SECURE_COOKIES", "2"), "SECURE_COOKIES", `"2"`},
		{prod("ACCESS_TOKEN_LIFETIME", "5 minutes"), "ACCESS_TOKEN_LIFETIME", `invalid duration "5 minutes" (use Go syntax such as 5m or 1h30m)`},
		{prod("ACCESS_TOKEN_LIFETIME", "300"), "ACCESS_TOKEN_LIFETIME", `"300"`},
		{prod("ACCESS_TOKEN_LIFETIME", "0s"), "ACCESS_TOKEN_LIFETIME", `must be positive, got "0s"`},
		{prod("TOKEN_CACHE_TTL", "5"), "TOKEN_CACHE_TTL", `invalid duration "5"`},
		{prod("TOKEN_CACHE_TTL", "-1s"), "TOKEN_CACHE_TTL", `must be positive, got "-1s"`},
		{prod("REFRESH_TOKEN_LIFETIME", "-1h"), "REFRESH_TOKEN_LIFETIME", `"-1h"`},
		{prod("REQUEST_TIMEOUT", "ten"), "REQUEST_TIMEOUT", `"ten"`},
		{prod("SHUTDOWN_DELAY", "2m"), "SHUTDOWN_DELAY", "2m0s is over 1m"},
		{prod("SHUTDOWN_DELAY", "-1s"), "SHUTDOWN_DELAY", `must be positive, got "-1s"`},
		{prod("ADMIN_SESSION_IDLE_TIMEOUT", "1d"), "ADMIN_SESSION_IDLE_TIMEOUT", `"1d"`},
		{prod("ADMIN_SESSION_MAX_AGE", "0"), "ADMIN_SESSION_MAX_AGE", `"0"`},
		{prod("MAX_BODY_BYTES", "0"), "MAX_BODY_BYTES", `"0"`},
		{prod("MAX_BODY_BYTES", "-5"), "MAX_BODY_BYTES", `"-5"`},
		{prod("MAX_BODY_BYTES", "1MB"), "MAX_BODY_BYTES", `"1MB"`},
		{prod("PASSWORD_HASH_CONCURRENCY", "-1"), "PASSWORD_HASH_CONCURRENCY", `"-1"`},
		{prod("PASSWORD_HASH_CONCURRENCY", "many"), "PASSWORD_HASH_CONCURRENCY", `"many"`},
		{prod("API_RATE_LIMIT", "-5"), "API_RATE_LIMIT", `"-5"`},
		{prod("API_RATE_LIMIT", "lots"), "API_RATE_LIMIT", `"lots"`},
		{prod("LOGIN_RATE_PER_IP", "-1"), "LOGIN_RATE_PER_IP", `invalid value "-1" (want requests per minute, a whole number >= 0; 0 means no limit)`},
		{prod("REGISTER_RATE_PER_IP", "60/min"), "REGISTER_RATE_PER_IP", `"60/min"`},
		{prod("REFRESH_RATE_PER_IP", "1.5"), "REFRESH_RATE_PER_IP", `"1.5"`},
		{prod("LOGIN_FAILURES_PER_EMAIL", "ten"), "LOGIN_FAILURES_PER_EMAIL", `invalid value "ten" (want failed logins per 15 minutes`},
		{prod("MEMORY_LIMIT", "120MB"), "MEMORY_LIMIT", `invalid value "120MB" (want a size such as 120MiB or 1GiB, in GOMEMLIMIT's syntax, or off)`},
		{prod("MEMORY_LIMIT", "-1MiB"), "MEMORY_LIMIT", `"-1MiB"`},
		{prod("MEMORY_LIMIT", "99999999999TiB"), "MEMORY_LIMIT", `"99999999999TiB"`},
		{prod("MEMORY_LIMIT", "120"), "MEMORY_LIMIT", `"120" is too small: want at least 32MiB`},
		{prod("MEMORY_LIMIT", "0"), "MEMORY_LIMIT", `too small`},
		{prod("PPROF_ADDR", "6060"), "PPROF_ADDR", `invalid address "6060"`},
		{prod("PPROF_ADDR", ":6060"), "PPROF_ADDR", `":6060" is not a loopback address`},
		{prod("PPROF_ADDR", "0.0.0.0:6060"), "PPROF_ADDR", `PPROF_ALLOW_REMOTE=true`},
		{prod("PPROF_ADDR", "pprof.internal:6060"), "PPROF_ADDR", `not a loopback address`},
		{prod("PPROF_ADDR", "127.0.0.1:8000", "ADDR", "127.0.0.1:8000"), "PPROF_ADDR", `same as ADDR`},
		{prod("METRICS_ADDR", "127.0.0.1:8000", "ADDR", "127.0.0.1:8000"), "METRICS_ADDR", `same as ADDR`},
		{prod("PPROF_ADDR", "127.0.0.1:9100", "METRICS_ADDR", "127.0.0.1:9100"), "PPROF_ADDR", `same as METRICS_ADDR`},
		{prod("PPROF_ALLOW_REMOTE", "sure"), "PPROF_ALLOW_REMOTE", `"sure"`},
		{prod("TRUSTED_PROXIES", "10.0.0.1,proxy.local"), "TRUSTED_PROXIES", `"proxy.local"`},
		{prod("TRUSTED_PROXIES", "10.0.0.0/33"), "TRUSTED_PROXIES", `"10.0.0.0/33"`},
		{prod("TRUSTED_PROXIES", "300.1.1.1"), "TRUSTED_PROXIES", `"300.1.1.1"`},
		{prod("TRUSTED_PROXIES", "::ffff:10.0.0.0/64"), "TRUSTED_PROXIES", `"::ffff:10.0.0.0/64"`},
		{prod("TRUSTED_PROXIES", "fe80::1%eth0"), "TRUSTED_PROXIES", `"fe80::1%eth0"`},
		{prod("ALLOWED_HOSTS", "api.example.com:8000"), "ALLOWED_HOSTS", `invalid host "api.example.com:8000"`},
		{prod("ALLOWED_HOSTS", "https://api.example.com"), "ALLOWED_HOSTS", `"https://api.example.com"`},
		{prod("ALLOWED_HOSTS", "*.example.com"), "ALLOWED_HOSTS", `"*.example.com"`},
		{prod("ALLOWED_HOSTS", "[not-an-ip]"), "ALLOWED_HOSTS", `"[not-an-ip]"`},
		{prod("ALLOWED_HOSTS", "-bad.example"), "ALLOWED_HOSTS", `"-bad.example"`},
		{prod("CORS_ALLOWED_ORIGINS", "app.example.com"), "CORS_ALLOWED_ORIGINS", `invalid origin "app.example.com"`},
		{prod("CORS_ALLOWED_ORIGINS", "https://app.example.com/api"), "CORS_ALLOWED_ORIGINS", `"https://app.example.com/api"`},
		{prod("CORS_ALLOWED_ORIGINS", "ftp://app.example.com"), "CORS_ALLOWED_ORIGINS", `"ftp://app.example.com"`},
		{prod("CORS_ALLOWED_ORIGINS", "*"), "CORS_ALLOWED_ORIGINS", `"*"`},
		{prod("CORS_ALLOWED_ORIGINS", "https://u:p@app.example.com"), "CORS_ALLOWED_ORIGINS", `invalid origin`},
		{prod("LOG_FORMAT", "xml"), "LOG_FORMAT", `"xml"`},
		{prod("LOG_LEVEL", "verbose"), "LOG_LEVEL", `"verbose"`},
		{prod("ADDR", "8000"), "ADDR", `"8000"`},
		{prod("ADDR", "localhost:"), "ADDR", `"localhost:"`},
		{prod("METRICS_ADDR", "nonsense"), "METRICS_ADDR", `"nonsense"`},
		{prod("ADDR", ":8000", "METRICS_ADDR", ":8000"), "METRICS_ADDR", `same as ADDR`},
		// A port is a number 0-65535 (these failed only at net.Listen,
		// after the database had been opened and migrated).
		{prod("ADDR", "127.0.0.1:abc"), "ADDR", `"127.0.0.1:abc"`},
		{prod("ADDR", ":99999"), "ADDR", `":99999"`},
		{prod("ADDR", ":-1"), "ADDR", `":-1"`},
		// Addresses that take the same port without being spelled alike.
		{prod("ADDR", ":8000", "METRICS_ADDR", "127.0.0.1:8000"), "METRICS_ADDR", `same as ADDR`},
		{prod("ADDR", "127.0.0.1:8000", "METRICS_ADDR", "localhost:8000"), "METRICS_ADDR", `same as ADDR`},
		{prod("ADDR", "0.0.0.0:8000", "METRICS_ADDR", "10.0.0.5:8000"), "METRICS_ADDR", `same as ADDR`},
		{prod("ADDR", ":08000", "METRICS_ADDR", "127.0.0.1:8000"), "METRICS_ADDR", `same as ADDR`},
		{prod("PASSWORD_HASH_CONCURRENCY", "10000"), "PASSWORD_HASH_CONCURRENCY", `10000 is over 256`},
		// A typo in DB_NAME must not put the records in a local SQLite file.
		{prod("DB_HOST", "db.internal", "DB_USER", "app"), "DB_NAME", `not set, but DB_USER is`},
		{prod("DB_PASSWORD", "pw"), "DB_NAME", `not set, but DB_PASSWORD is`},
		{prod("DATABASE_URL", "mysql://u:p@h/db"), "DATABASE_URL", `unsupported scheme "mysql"`},
		{prod("DATABASE_URL", "healthcare.db"), "DATABASE_URL", `missing scheme`},
		{prod("DATABASE_URL", "postgres:///db"), "DATABASE_URL", `missing host`},
		{prod("DATABASE_URL", "postgres://u:"+testPassword+"@h:bad/db"), "DATABASE_URL", `not a valid URL`},
		{prod("DATABASE_URL", "postgres://u:%zzTOPSECRET@h/db"), "DATABASE_URL", `not a valid URL`},
		{prod("DB_NAME", "hc", "DB_PORT", "54x"), "DB_PORT", `invalid port "54x" (want a number 1-65535)`},
		{prod("DB_NAME", "hc", "DB_PORT", "0"), "DB_PORT", `"0"`},
		{prod("DB_NAME", "hc", "DB_PORT", "65536"), "DB_PORT", `"65536"`},
		{prod("DB_NAME", "hc", "DB_SSLMODE", "always"), "DB_SSLMODE", `"always"`},
		// Any deployment setting (here a database) requires SECRET_KEY.
		{map[string]string{"DATABASE_URL": "postgres://db/app"}, "SECRET_KEY", "SECRET_KEY is not set: set SECRET_KEY to a random string of at least 32 bytes (or DEBUG=true for development)"},
		{map[string]string{"DEBUG": "false"}, "SECRET_KEY", "SECRET_KEY is not set"},
		{map[string]string{"ADDR": "0.0.0.0:8000"}, "SECRET_KEY", "SECRET_KEY is not set"},
		{map[string]string{"DEBUG": "false", "SECRET_KEY": "   "}, "SECRET_KEY", "is not set"},
		{map[string]string{"SECRET_KEY": testSecret[:31]}, "SECRET_KEY", "at least 32 bytes"},
		{map[string]string{"SECRET_KEY": exampleSecretKey}, "SECRET_KEY", "placeholder"},
	} {
		c, err := Load(mapEnv(tc.env))
		if err == nil {
			t.Errorf("%v: no error (config %v)", tc.env, c)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: want one line, got:\n%s", tc.variable, msg)
		}
		if !strings.HasPrefix(msg, tc.variable+":") && !strings.HasPrefix(msg, tc.variable+" ") {
			t.Errorf("error does not start with %s: %q", tc.variable, msg)
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q does not contain %q", tc.variable, msg, tc.want)
		}
		assertNoSecrets(t, "error for "+tc.variable, msg)
		if !reflect.DeepEqual(c, Config{}) {
			t.Errorf("%s: Load returned a non-zero Config with an error", tc.variable)
		}
	}
}

// Nothing configured at all (a fresh clone's `go run .`): embedded SQLite
// on loopback with a random key for the run, flagged for the warning.
func TestLoadZeroSetupGeneratesKey(t *testing.T) {
	t.Parallel()
	c, err := Load(mapEnv(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Debug || !c.SecretGenerated || len(c.SecretKey) < MinSecretKeyLen || c.Addr != DefaultAddr || c.DB.Driver != "sqlite" {
		t.Fatalf("zero setup: %v", c)
	}
}

func TestLoadReportsEveryBadVariable(t *testing.T) {
	t.Parallel()
	_, err := Load(mapEnv(map[string]string{
		"DEBUG":                 "false",
		"ACCESS_TOKEN_LIFETIME": "soon",
		"MAX_BODY_BYTES":        "big",
		"LOG_LEVEL":             "loud",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"SECRET_KEY", "ACCESS_TOKEN_LIFETIME", "MAX_BODY_BYTES", "LOG_LEVEL"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for i, v := range want {
		if !strings.HasPrefix(lines[i], v) {
			t.Errorf("line %d = %q, want it to start with %s", i+1, lines[i], v)
		}
	}
}

func TestLoadInvalidDebugDoesNotAlsoBlameSecret(t *testing.T) {
	t.Parallel()
	_, err := Load(mapEnv(map[string]string{"DEBUG": "maybe"}))
	if err == nil || strings.Contains(err.Error(), "SECRET_KEY") {
		t.Errorf("got %v, want only the DEBUG error", err)
	}
}

func TestLoadSecretKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantKey   string // "" with wantGen: random
		wantGen   bool
		wantError bool
	}{
		{"prod key", map[string]string{"SECRET_KEY": testSecret}, testSecret, false, false},
		{"prod key exactly 32 bytes", map[string]string{"SECRET_KEY": strings.Repeat("k", 32)}, strings.Repeat("k", 32), false, false},
		{"key kept untrimmed", map[string]string{"SECRET_KEY": " " + testSecret + " "}, " " + testSecret + " ", false, false},
		{"debug short key allowed", map[string]string{"DEBUG": "1", "SECRET_KEY": "dev"}, "dev", false, false},
		{"debug placeholder refused", map[string]string{"DEBUG": "1", "SECRET_KEY": exampleSecretKey}, "", false, true},
		{"debug no key generates", map[string]string{"DEBUG": "on"}, "", true, false},
		{"prod short key", map[string]string{"SECRET_KEY": strings.Repeat("k", 31)}, "", false, true},
		{"prod no key", map[string]string{"DEBUG": "no"}, "", false, true},
	} {
		c, err := Load(mapEnv(tc.env))
		if (err != nil) != tc.wantError {
			t.Errorf("%s: err = %v, want error %v", tc.name, err, tc.wantError)
			continue
		}
		if err != nil {
			continue
		}
		if c.SecretGenerated != tc.wantGen {
			t.Errorf("%s: SecretGenerated = %v", tc.name, c.SecretGenerated)
		}
		if tc.wantGen {
			if len(c.SecretKey) != MinSecretKeyLen {
				t.Errorf("%s: generated key has %d bytes", tc.name, len(c.SecretKey))
			}
		} else if string(c.SecretKey) != tc.wantKey {
			t.Errorf("%s: wrong SecretKey", tc.name)
		}
	}
}

// Any deployment setting ends the zero setup: with it, a missing SECRET_KEY
// is an error, not a random key (a server behind a proxy, or with its
// database password set, is not somebody's `go run .`).
func TestLoadDeploymentSettingsRequireSecretKey(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"ADDR": "0.0.0.0:8000", "DATABASE_URL": "postgres://h/db", "SQLITE_PATH": "/data/x.db",
		"DB_NAME": "hc", "DB_HOST": "db", "DB_USER": "app", "DB_PASSWORD": "pw", "DB_PORT": "5432", "DB_SSLMODE": "require",
		"SECURE_COOKIES": "true", "TRUSTED_PROXIES": "127.0.0.1", "ALLOWED_HOSTS": "clinic.example",
		"CORS_ALLOWED_ORIGINS": "https://app.clinic.example",
	} {
		_, err := Load(mapEnv(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), "SECRET_KEY is not set") {
			t.Errorf("%s=%s without SECRET_KEY: err = %v, want SECRET_KEY is not set", name, value, err)
		}
	}
}

func TestLoadDatabaseSelection(t *testing.T) {
	t.Parallel()
	const pgURL = "postgresql://app:pw@db.example.com:6543/hc?sslmode=require"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Database
	}{
		{"default sqlite", prod(), Database{"sqlite", "healthcare.db"}},
		{"sqlite path", prod("SQLITE_PATH", "/data/x.db"), Database{"sqlite", "/data/x.db"}},
		{"database url", prod("DATABASE_URL", pgURL), Database{"postgres", pgURL}},
		{"database url postgres scheme", prod("DATABASE_URL", "postgres://h/db"), Database{"postgres", "postgres://h/db"}},
		{"database url unix socket", prod("DATABASE_URL", "postgres:///db?host=/run/postgresql"), Database{"postgres", "postgres:///db?host=/run/postgresql"}},
		{"database url wins over DB_NAME and SQLITE_PATH", prod("DATABASE_URL", pgURL, "DB_NAME", "other", "DB_PORT", "bad", "SQLITE_PATH", "x.db"), Database{"postgres", pgURL}},
		{"DB_NAME wins over SQLITE_PATH", prod("DB_NAME", "hc", "SQLITE_PATH", "x.db"), Database{"postgres", "postgres://localhost:5432/hc"}},
		{"django all vars", prod("DB_NAME", "hc", "DB_USER", "app", "DB_PASSWORD", "pw", "DB_HOST", "db.internal", "DB_PORT", "6000", "DB_SSLMODE", "verify-full"),
			Database{"postgres", "postgres://app:pw@db.internal:6000/hc?sslmode=verify-full"}},
		{"django user no password", prod("DB_NAME", "hc", "DB_USER", "app"), Database{"postgres", "postgres://app@localhost:5432/hc"}},
		{"django ipv6 host", prod("DB_NAME", "hc", "DB_HOST", "::1"), Database{"postgres", "postgres://[::1]:5432/hc"}},
		{"django bracketed ipv6 host", prod("DB_NAME", "hc", "DB_HOST", "[::1]"), Database{"postgres", "postgres://[::1]:5432/hc"}},
		{"django unix socket", prod("DB_NAME", "hc", "DB_HOST", "/var/run/postgresql"), Database{"postgres", "postgres:///hc?host=%2Fvar%2Frun%2Fpostgresql&port=5432"}},
		{"django sslmode case", prod("DB_NAME", "hc", "DB_SSLMODE", "Require"), Database{"postgres", "postgres://localhost:5432/hc?sslmode=require"}},
	} {
		c, err := Load(mapEnv(tc.env))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.DB != tc.want {
			t.Errorf("%s: DB = %#v, want Driver %q DSN %q (redacted: %v)", tc.name, c.DB, tc.want.Driver, tc.want.DSN, tc.want)
			if c.DB.DSN != tc.want.DSN {
				t.Logf("%s: DSN differs", tc.name)
			}
		}
	}
}

// TestLoadDjangoURLEscaping checks that awkward passwords, users and names
// come back out of the URL exactly as they went in.
func TestLoadDjangoURLEscaping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ user, password, name string }{
		{"app", testPassword, "hc"},
		{"a@b:c", "p/a?s#s%w o:r@d", "my db?"},
		{"", "only-password", "hc"},
		{"app", `back\slash"quote'`, "hc"},
	} {
		c := mustLoad(t, prod("DB_NAME", tc.name, "DB_USER", tc.user, "DB_PASSWORD", tc.password, "DB_HOST", "db.example.com", "DB_PORT", "5433"))
		u, err := url.Parse(c.DB.DSN)
		if err != nil {
			t.Errorf("DSN for %q does not parse: %v", tc.user, err)
			continue
		}
		pw, _ := u.User.Password()
		if u.Scheme != "postgres" || u.User.Username() != tc.user || pw != tc.password ||
			u.Hostname() != "db.example.com" || u.Port() != "5433" ||
			strings.TrimPrefix(u.Path, "/") != tc.name || u.RawQuery != "" {
			t.Errorf("round trip of user %q password %q name %q gave %#v", tc.user, tc.password, tc.name, u)
		}
	}
}

// TestRedaction is the guard on the promise that a Config may be logged.
func TestRedaction(t *testing.T) {
	t.Parallel()
	configs := map[string]Config{
		"django": mustLoad(t, prod("DB_NAME", "hc", "DB_USER", "app", "DB_PASSWORD", testPassword, "TRUSTED_PROXIES", "10.0.0.1")),
		"url": mustLoad(t, prod("DATABASE_URL",
			"postgres://app:"+url.QueryEscape(testPassword)+"@h/db?sslpassword=TOPSECRET&password="+url.QueryEscape(testPassword))),
		"kv DSN": {SecretKey: []byte(testSecret), DB: Database{"postgres", "host=h user=app password='" + testPassword + "' dbname=hc"}},
	}
	for name, c := range configs {
		var text, js bytes.Buffer
		slog.New(slog.NewTextHandler(&text, nil)).Info("start", "config", c)
		slog.New(slog.NewJSONHandler(&js, nil)).Info("start", slog.Any("config", c), slog.Any("db", c.DB))
		slog.New(slog.NewJSONHandler(&js, nil)).Info("start", slog.Any("config", &c))
		outputs := map[string]string{
			"Sprint":     fmt.Sprint(c),
			"%v":         fmt.Sprintf("%v", c),
			"%+v":        fmt.Sprintf("%+v", c),
			"%#v":        fmt.Sprintf("%#v", c),
			"%s":         fmt.Sprintf("%s", c),
			"pointer %v": fmt.Sprintf("%+v", &c),
			"DB %+v":     fmt.Sprintf("%+v", c.DB),
			"DB %#v":     fmt.Sprintf("%#v", c.DB),
			"slog text":  text.String(),
			"slog json":  js.String(),
		}
		for what, out := range outputs {
			assertNoSecrets(t, name+" "+what, out)
			if !strings.Contains(out, "xxxxx") {
				t.Errorf("%s %s: no redaction marker in %s", name, what, out)
			}
		}
		// Redaction must not hide what an operator needs to debug.
		if s := c.String(); !strings.Contains(s, "Driver:postgres") || !strings.Contains(s, "SecretKey:xxxxx") {
			t.Errorf("%s: String() lost information: %s", name, s)
		}
	}
}

// TestStringListsEveryField fails when a field is added to Config or
// Database without being added to attrs, so new fields are not silently
// missing from logs (and a new secret field forces a decision).
func TestStringListsEveryField(t *testing.T) {
	t.Parallel()
	s := Config{}.String()
	for _, typ := range []reflect.Type{reflect.TypeFor[Config](), reflect.TypeFor[Database]()} {
		for f := range typ.Fields() {
			if !regexp.MustCompile(`[{ ]` + f.Name + `:`).MatchString(s) {
				t.Errorf("String() does not show %s.%s: %s", typ.Name(), f.Name, s)
			}
		}
	}
	if s := (Config{}).String(); !strings.Contains(s, "SecretKey:[none]") {
		t.Errorf("empty key should show [none]: %s", s)
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"healthcare.db":                                   "healthcare.db",
		"postgres://app:pw@h:5432/db":                     "postgres://app:xxxxx@h:5432/db",
		"postgres://app@h/db?sslmode=disable":             "postgres://app@h/db?sslmode=disable",
		"postgres://h/db?password=pw&sslmode=require":     "postgres://h/db?password=xxxxx&sslmode=require",
		"postgres://h/db?sslpassword=pw":                  "postgres://h/db?sslpassword=xxxxx",
		"host=h password=pw dbname=db":                    "host=h password=xxxxx dbname=db",
		"host=h password = 'p w\\'x' dbname=db":           "host=h password = xxxxx dbname=db",
		"host=h PASSWORD=pw":                              "host=h PASSWORD=xxxxx",
		"postgres://app:%zz@h/db":                         "[unparseable DSN redacted]",
		"postgres:///hc?host=%2Fvar%2Frun%2Fpostgresql":   "postgres:///hc?host=%2Fvar%2Frun%2Fpostgresql",
		"postgres://app:p%40ss@h/db?application_name=api": "postgres://app:xxxxx@h/db?application_name=api",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEnvExample keeps .env.example in step with Load: it must parse, start
// a development server as is, be refused as is in production, and mention
// every variable Load reads.
func TestEnvExample(t *testing.T) {
	t.Parallel()
	const path = "../.env.example"
	getenv, err := WithDotEnv(path, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	c, err := Load(getenv)
	if err != nil {
		t.Fatalf(".env.example does not load: %v", err)
	}
	if !c.Debug || !c.SecretGenerated {
		t.Errorf(".env.example: Debug=%v, SecretGenerated=%v, want a random key in DEBUG mode", c.Debug, c.SecretGenerated)
	}
	if _, err := Load(func(k string) string {
		if k == "DEBUG" {
			return "false"
		}
		return getenv(k)
	}); err == nil || !strings.Contains(err.Error(), "SECRET_KEY is not set") {
		t.Errorf(".env.example with DEBUG=false: err = %v, want SECRET_KEY required", err)
	}
	// Its placeholder, uncommented, is refused in DEBUG mode too.
	if _, err := Load(func(k string) string {
		if k == "SECRET_KEY" {
			return exampleSecretKey
		}
		return getenv(k)
	}); err == nil || !strings.Contains(err.Error(), "placeholder") {
		t.Errorf(".env.example's placeholder key in DEBUG mode: err = %v, want it refused", err)
	}

	// Record every name Load asks for, along each database branch.
	read := map[string]bool{}
	for _, env := range []map[string]string{
		prod(), prod("DB_NAME", "x"), prod("DATABASE_URL", "postgres://h/db"),
	} {
		_, _ = Load(func(k string) string { read[k] = true; return env[k] })
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for k := range read {
		if !regexp.MustCompile(`(?m)^#?` + k + `=`).Match(data) {
			t.Errorf(".env.example does not mention %s", k)
		}
	}
	if len(read) < 24 {
		t.Errorf("only %d variables recorded; the recorder is broken", len(read))
	}
}

// Load must not consult the process environment when given a getenv.
func TestLoadUsesOnlyGetenv(t *testing.T) {
	t.Setenv("SECRET_KEY", "")
	t.Setenv("LOG_LEVEL", "nonsense")
	if _, err := Load(mapEnv(prod())); err != nil {
		t.Errorf("Load read the process environment: %v", err)
	}
	// And nil means os.Getenv.
	_, err := Load(nil)
	if err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("Load(nil) = %v, want the LOG_LEVEL error from the process environment", err)
	}
}

func TestErrorsAreJoinable(t *testing.T) {
	t.Parallel()
	_, err := Load(mapEnv(map[string]string{"DEBUG": "x", "ADDR": "y"}))
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 2 {
		t.Errorf("want an errors.Join of 2 errors, got %v", err)
	}
}

// Hosts are matched as Django's validate_host matches ALLOWED_HOSTS.
func TestAllowedHosts(t *testing.T) {
	t.Parallel()
	hosts := mustLoad(t, prod("ALLOWED_HOSTS", "api.example.com,.clinic.example,10.0.0.5,[::1]")).AllowedHosts
	for host, want := range map[string]bool{
		"api.example.com":          true,
		"API.Example.COM:8443":     true,
		"api.example.com.":         true,
		"clinic.example":           true,
		"eu.clinic.example:443":    true,
		"a.b.clinic.example":       true,
		"10.0.0.5:8000":            true,
		"[::1]:8000":               true,
		"[::1]":                    true,
		"example.com":              false,
		"evil.example.com":         false,
		"api.example.com.evil.net": false,
		"notclinic.example":        false,
		"evil/.clinic.example":     false,
		"evil@eu.clinic.example":   false,
		"10.0.0.6":                 false,
		"api.example.com:evil.net": false, // a port is digits (Django)
		"api.example.com:":         false,
		"[::1]:80a":                false,
		"::1":                      false,
		"":                         false,
	} {
		if got := hosts.Allow(host); got != want {
			t.Errorf("Allow(%q) = %v, want %v", host, got, want)
		}
	}
	if !(AllowedHosts{"*"}).Allow("anything.example:1") || (AllowedHosts{"*"}).Allow("bad host") {
		t.Error(`"*" must allow any valid host, and only valid ones`)
	}
	if !AllowedHosts(nil).Allow("anything/at all") {
		t.Error("no ALLOWED_HOSTS must allow every Host, as before the setting")
	}
}

// An IPv4 proxy written IPv4-mapped is kept in dotted form (and a mapped
// CIDR as its IPv4 CIDR): gin, and the scheme middleware, read a plain
// address as IPv4 and append "/32", which the mapped form turned into
// ::/32, trusting ::1 and not the proxy.
func TestTrustedProxiesIPv4Mapped(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, prod("TRUSTED_PROXIES", "::ffff:10.0.0.1, ::ffff:192.168.0.0/112, 10.1.0.0/16, ::1"))
	want := []string{"10.0.0.1", "192.168.0.0/16", "10.1.0.0/16", "::1"}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %q, want %q", c.TrustedProxies, want)
	}
}
