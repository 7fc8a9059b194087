// Package config loads the server's settings from the environment (and an
// optional .env file, see WithDotEnv), the way the original Django project
// did with python-decouple.
//
// Everything is read through a getenv function rather than os.Getenv
// directly so that tests can feed a map and so that the .env fallback can be
// layered underneath the real environment without mutating the process
// environment.
//
// Load validates every variable up front: a typo in a duration or a missing
// SECRET_KEY must stop start-up with a message naming the variable, not
// surface later as a confusing runtime failure. Error messages never contain
// the value of SECRET_KEY or any database password.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // TIME_ZONE means the same on every host (timeZone)
)

// Database drivers Load can select. They match the names models.Open accepts.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// MinSecretKeyLen is the shortest SECRET_KEY accepted outside DEBUG. RFC 7518
// §3.2 requires an HS256 key at least as long as the SHA-256 output (32
// bytes); shorter keys make JWT signatures and session keys brute-forceable
// offline.
const MinSecretKeyLen = 32

// exampleSecretKey is the placeholder shipped in .env.example. It is long
// enough to pass the length check, so it is rejected explicitly: copying the
// example file to production must not yield a publicly known signing key.
const exampleSecretKey = "change-me-to-a-random-string-of-at-least-32-bytes"

// Defaults, named so the doc comments, .env.example and tests agree.
const (
	DefaultAddr                   = "127.0.0.1:8000"
	DefaultSQLitePath             = "healthcare.db"
	DefaultDBHost                 = "localhost"
	DefaultDBPort                 = "5432"
	DefaultAccessTokenTTL         = 5 * time.Minute
	DefaultTokenCacheTTL          = 5 * time.Second
	DefaultRefreshTokenTTL        = 24 * time.Hour
	DefaultMaxBodyBytes           = 1 << 20 // 1 MiB
	DefaultRequestTimeout         = 10 * time.Second
	DefaultSessionIdleTimeout     = 30 * time.Minute
	DefaultSessionAbsoluteTimeout = 12 * time.Hour
	DefaultAPIRateLimit           = 600
	DefaultLoginRatePerIP         = 60
	DefaultRegisterRatePerIP      = 60
	DefaultRefreshRatePerIP       = 120
	DefaultLoginFailuresPerEmail  = 10
	// DefaultMemoryLimit is MEMORY_LIMIT's default soft memory limit: with
	// GOGC=100 alone the heap may grow to twice what is live before a
	// collection, and what is live includes 19 MiB of argon2id memory per
	// hashing slot while logins come and for a minute after (the main
	// package's applyMemoryLimit says more).
	DefaultMemoryLimit = 110 << 20
	// MinMemoryLimit is the smallest MEMORY_LIMIT accepted. Below it the
	// collector would run almost constantly; it mostly catches a unit left
	// out ("120" is 120 bytes, not 120 MiB).
	MinMemoryLimit = 32 << 20
)

// Config is the validated server configuration. Its String, GoString and
// LogValue methods redact SecretKey and database passwords, so a Config may be
// printed or logged whole; do not log its fields one by one.
type Config struct {
	// Debug is DEBUG. It relaxes the SECRET_KEY requirements so a developer
	// can start the server with no configuration at all.
	Debug bool

	// SecretKey is SECRET_KEY: the JWT signing key (admin sessions are
	// random ids kept in the database and need no key).
	SecretKey []byte

	// SecretGenerated is true when Debug is on and SECRET_KEY was unset, so
	// SecretKey is 32 random bytes. API tokens then die with the process;
	// the caller should warn loudly.
	SecretGenerated bool

	// Addr is ADDR, the main listener (default 127.0.0.1:8000: loopback
	// unless the operator opts in to exposure).
	Addr string

	// DB is chosen from DATABASE_URL, the Django DB_* variables or
	// SQLITE_PATH; see Load.
	DB Database

	// TokenCacheTTL is TOKEN_CACHE_TTL (default 5s; 0 turns the cache
	// off): how long a verified access token is trusted without asking the
	// database, on PostgreSQL, while the revocation listener is live.
	TokenCacheTTL time.Duration

	// AccessTokenTTL is ACCESS_TOKEN_LIFETIME (default 5m, simplejwt's).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is REFRESH_TOKEN_LIFETIME (default 24h, simplejwt's).
	RefreshTokenTTL time.Duration

	// MaxBodyBytes is MAX_BODY_BYTES (default 1 MiB), the request body cap.
	MaxBodyBytes int64
	// RequestTimeout is REQUEST_TIMEOUT (default 10s) per request.
	RequestTimeout time.Duration
	// ShutdownDelay is SHUTDOWN_DELAY (default 0, at most 1m): how long a
	// SIGTERM leaves the server serving with /readyz answering 503, so a
	// load balancer stops sending requests before the listener closes.
	ShutdownDelay time.Duration

	// TrustedProxies is TRUSTED_PROXIES, comma-separated IPs or CIDRs whose
	// X-Forwarded-For (and X-Forwarded-Proto) is believed. Nil means none; note that gin trusts every
	// proxy unless SetTrustedProxies(nil) is called, so pass it through even
	// when empty.
	TrustedProxies []string

	// AllowedHosts is ALLOWED_HOSTS, Django's setting: comma-separated host
	// names or IP addresses (lower-cased, no port) that a request's Host
	// must name, or it is answered 400. A leading "." also matches every
	// subdomain; "*" matches any host. Nil (the default) accepts any Host:
	// set it in production, since the API's absolute pagination links are
	// built from the Host a client sent.
	AllowedHosts AllowedHosts

	// CORSAllowedOrigins is CORS_ALLOWED_ORIGINS, as django-cors-headers'
	// setting: comma-separated origins ("https://app.example.com", scheme,
	// host and port only) whose browser pages may call the API. Nil (the
	// default) sends no CORS headers: only same-origin pages can.
	CORSAllowedOrigins []string

	// TimeZone is TIME_ZONE, Django's setting of that name (an IANA name,
	// default UTC): the clinic's zone, which says what "today" is: the
	// latest date of birth accepted, and where the admin's Today, This
	// month and This year filters begin; the admin panel shows times in it.
	// Times are stored in UTC, and the API and exports give them in UTC.
	TimeZone *time.Location

	// HashConcurrency is PASSWORD_HASH_CONCURRENCY, the number of password
	// hashes allowed to run at once. 0 (the default) means the caller picks
	// GOMAXPROCS.
	HashConcurrency int

	// APIRateLimit is API_RATE_LIMIT (default 600): the API requests each
	// authenticated user may make per minute, per server process; 0 turns
	// the limit off.
	APIRateLimit int

	// LoginRatePerIP is LOGIN_RATE_PER_IP (default 60): login attempts per
	// minute from one client address, API and admin panel together.
	LoginRatePerIP int
	// RegisterRatePerIP is REGISTER_RATE_PER_IP (default 60): registrations
	// per minute from one client address.
	RegisterRatePerIP int
	// RefreshRatePerIP is REFRESH_RATE_PER_IP (default 120): token refreshes
	// per minute from one client address.
	RefreshRatePerIP int
	// LoginFailuresPerEmail is LOGIN_FAILURES_PER_EMAIL (default 10): failed
	// logins for one email, API and admin panel together, that lock it for
	// the rest of a 15-minute window. All four limits are per server
	// process; 0 turns a limit off.
	LoginFailuresPerEmail int

	// MemoryLimit is MEMORY_LIMIT (default 110 MiB): the Go runtime's soft
	// memory limit in bytes, set when serving unless GOMEMLIMIT is in the
	// environment. 0 ("off") leaves the runtime's default (no limit).
	MemoryLimit int64

	// PprofAddr is PPROF_ADDR. Empty (the default) serves no profiles; set,
	// it serves net/http/pprof's /debug/pprof/ on a listener of its own,
	// never on the main one.
	PprofAddr string
	// PprofAllowRemote is PPROF_ALLOW_REMOTE (default false). Without it
	// PPROF_ADDR must be a loopback address.
	PprofAllowRemote bool

	// LogFormat is LOG_FORMAT: "text" (default) or "json".
	LogFormat string
	// LogLevel is LOG_LEVEL: debug, info (default), warn or error.
	LogLevel slog.Level

	// MetricsEnabled is METRICS (default true).
	MetricsEnabled bool
	// MetricsAddr is METRICS_ADDR. Empty (the default) serves /metrics on the
	// main listener; set it to keep metrics off the public port.
	MetricsAddr string

	// SecureCookies is SECURE_COOKIES (default false because development runs
	// over plain HTTP). When true the server sends HSTS, marks cookies
	// Secure, and builds https links.
	SecureCookies bool

	// SessionIdleTimeout is ADMIN_SESSION_IDLE_TIMEOUT (default 30m): an
	// admin session unused this long expires.
	SessionIdleTimeout time.Duration
	// SessionAbsoluteTimeout is ADMIN_SESSION_MAX_AGE (default 12h): an admin
	// session expires this long after login however active it is.
	SessionAbsoluteTimeout time.Duration
}

// Database says which engine to open and how to reach it.
type Database struct {
	Driver string // DriverSQLite or DriverPostgres
	DSN    string // sqlite: a file path; postgres: a URL pgx accepts (may contain a password)
}

// Load reads settings through getenv (os.Getenv in production; a map in
// tests; nil means os.Getenv), applies defaults and validates them.
//
// An empty value counts as unset and takes the default, because getenv
// cannot tell the two apart and a template line like "ADDR=" should not
// break start-up.
//
// The database is chosen, first match wins:
//
//  1. DATABASE_URL: a postgres:// or postgresql:// URL, used as is. It wins
//     over DB_NAME so that a platform-provided URL (Heroku, Fly, ...)
//     overrides stale Django-era variables; the DB_* variables are then
//     ignored and not validated.
//  2. DB_NAME (with DB_USER, DB_PASSWORD, DB_HOST default localhost, DB_PORT
//     default 5432, optional DB_SSLMODE): the Django settings, turned into a
//     postgres URL. A DB_HOST starting with "/" is a Unix socket directory,
//     as in Django.
//  3. Otherwise SQLite at SQLITE_PATH (default healthcare.db).
//
// On failure the error is an errors.Join of one line per bad variable, each
// starting with the variable's name, so the operator can fix them all in one
// go. The returned Config is only meaningful when the error is nil.
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	l := loader{getenv: getenv}
	c := Config{}

	debug, debugOK := l.boolean("DEBUG", false)
	c.Debug = debug
	// When DEBUG itself is invalid its error is already reported; guessing a
	// value would add a misleading SECRET_KEY complaint on top.
	if debugOK {
		c.SecretKey, c.SecretGenerated = l.secret(debug, l.zeroSetup())
	}

	c.Addr = l.addr("ADDR", DefaultAddr)
	c.DB = l.database()
	c.AccessTokenTTL = l.tokenLifetime("ACCESS_TOKEN_LIFETIME", DefaultAccessTokenTTL)
	c.TokenCacheTTL = l.durationOrOff("TOKEN_CACHE_TTL", DefaultTokenCacheTTL)
	c.RefreshTokenTTL = l.tokenLifetime("REFRESH_TOKEN_LIFETIME", DefaultRefreshTokenTTL)
	c.MaxBodyBytes = l.positiveInt64("MAX_BODY_BYTES", DefaultMaxBodyBytes)
	c.RequestTimeout = l.duration("REQUEST_TIMEOUT", DefaultRequestTimeout)
	if c.ShutdownDelay = l.durationOrOff("SHUTDOWN_DELAY", 0); c.ShutdownDelay > time.Minute {
		l.fail("SHUTDOWN_DELAY", "%s is over 1m: a load balancer notices a 503 within seconds", c.ShutdownDelay)
	}
	c.TrustedProxies = l.proxies("TRUSTED_PROXIES")
	c.AllowedHosts = l.hosts("ALLOWED_HOSTS")
	c.CORSAllowedOrigins = l.origins("CORS_ALLOWED_ORIGINS")
	c.TimeZone = l.timeZone("TIME_ZONE")
	c.HashConcurrency = l.hashConcurrency("PASSWORD_HASH_CONCURRENCY")
	c.APIRateLimit = l.rateLimit("API_RATE_LIMIT", DefaultAPIRateLimit, perMinute)
	c.LoginRatePerIP = l.rateLimit("LOGIN_RATE_PER_IP", DefaultLoginRatePerIP, perMinute)
	c.RegisterRatePerIP = l.rateLimit("REGISTER_RATE_PER_IP", DefaultRegisterRatePerIP, perMinute)
	c.RefreshRatePerIP = l.rateLimit("REFRESH_RATE_PER_IP", DefaultRefreshRatePerIP, perMinute)
	c.LoginFailuresPerEmail = l.rateLimit("LOGIN_FAILURES_PER_EMAIL", DefaultLoginFailuresPerEmail, "failed logins per 15 minutes")
	c.MemoryLimit = l.memoryLimit("MEMORY_LIMIT", DefaultMemoryLimit)
	c.LogFormat = l.logFormat("LOG_FORMAT")
	c.LogLevel = l.logLevel("LOG_LEVEL")
	c.MetricsEnabled, _ = l.boolean("METRICS", true)
	c.MetricsAddr = l.addr("METRICS_ADDR", "")
	if sameListener(c.MetricsAddr, c.Addr) {
		l.fail("METRICS_ADDR", "%q is the same as ADDR (leave METRICS_ADDR empty to serve /metrics on the main listener)", c.MetricsAddr)
	}
	c.PprofAllowRemote, _ = l.boolean("PPROF_ALLOW_REMOTE", false)
	c.PprofAddr = l.pprofAddr("PPROF_ADDR", c)
	c.SecureCookies, _ = l.boolean("SECURE_COOKIES", false)
	c.SessionIdleTimeout = l.duration("ADMIN_SESSION_IDLE_TIMEOUT", DefaultSessionIdleTimeout)
	c.SessionAbsoluteTimeout = l.duration("ADMIN_SESSION_MAX_AGE", DefaultSessionAbsoluteTimeout)

	if err := errors.Join(l.errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// loader accumulates one error per bad variable so Load can report them all.
type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) fail(name, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// get returns the trimmed value of name. Trimming forgives stray spaces from
// shell quoting or .env files; secrets are read untrimmed elsewhere.
func (l *loader) get(name string) string {
	return strings.TrimSpace(l.getenv(name))
}

// parseBool accepts the same spellings as python-decouple's Config.bool, so
// existing Django .env files keep working.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "true", "t", "yes", "y", "on":
		return true, true
	case "0", "false", "f", "no", "n", "off":
		return false, true
	}
	return false, false
}

// boolean reports whether the value was valid (or unset) as its second result.
func (l *loader) boolean(name string, def bool) (bool, bool) {
	v := l.get(name)
	if v == "" {
		return def, true
	}
	b, ok := parseBool(v)
	if !ok {
		l.fail(name, "invalid boolean %q (use true/false, yes/no, on/off or 1/0)", v)
		return def, false
	}
	return b, true
}

func (l *loader) duration(name string, def time.Duration) time.Duration {
	v := l.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail(name, "invalid duration %q (use Go syntax such as 5m or 1h30m)", v)
		return def
	}
	if d <= 0 {
		l.fail(name, "duration must be positive, got %q", v)
		return def
	}
	return d
}

// tokenLifetime is duration in whole seconds, at least one: a token's
// exp counts whole seconds (RFC 7519's NumericDate, as simplejwt writes
// it), so 100ms gave tokens that had expired when they were issued, and
// 1.5s tokens that lived one second.
func (l *loader) tokenLifetime(name string, def time.Duration) time.Duration {
	d := l.duration(name, def)
	if d%time.Second != 0 {
		l.fail(name, "%s is not a whole number of seconds (a token's expiry counts seconds): use 1s or more", d)
		return def
	}
	return d
}

// durationOrOff is duration that also takes "off" or any zero duration
// (0, 0s, 0m) for 0 (turned off).
func (l *loader) durationOrOff(name string, def time.Duration) time.Duration {
	v := l.get(name)
	if d, err := time.ParseDuration(v); strings.EqualFold(v, "off") || v == "0" || (err == nil && d == 0) {
		return 0
	}
	return l.duration(name, def)
}

func (l *loader) positiveInt64(name string, def int64) int64 {
	v := l.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		l.fail(name, "invalid value %q (want a positive whole number of bytes, e.g. %d)", v, def)
		return def
	}
	return n
}

// perMinute is the unit of most rate limits, for their error messages.
const perMinute = "requests per minute"

// rateLimit reads a number of events per window (unit names both, for the
// error message); 0 means no limit.
func (l *loader) rateLimit(name string, def int, unit string) int {
	v := l.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		l.fail(name, "invalid value %q (want %s, a whole number >= 0; 0 means no limit)", v, unit)
		return def
	}
	return n
}

// byteUnits are the suffixes of Go's GOMEMLIMIT syntax, largest first.
var byteUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// memoryLimit reads a byte count in GOMEMLIMIT's syntax (a whole number
// with an optional B, KiB, MiB, GiB or TiB suffix), or "off" for 0.
func (l *loader) memoryLimit(name string, def int64) int64 {
	v := l.get(name)
	if v == "" {
		return def
	}
	if strings.EqualFold(v, "off") {
		return 0
	}
	digits, shift := v, uint(0)
	for _, u := range byteUnits {
		if d, ok := strings.CutSuffix(v, u.suffix); ok {
			digits, shift = d, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		l.fail(name, "invalid value %q (want a size such as 120MiB or 1GiB, in GOMEMLIMIT's syntax, or off)", v)
		return def
	}
	if n <<= shift; n < MinMemoryLimit {
		l.fail(name, "%q is too small: want at least %dMiB (with a unit, such as 120MiB), or off", v, MinMemoryLimit>>20)
		return def
	}
	return n
}

// pprofAddr reads PPROF_ADDR: a listen address apart from ADDR and
// METRICS_ADDR, on loopback unless PPROF_ALLOW_REMOTE is set. Profiles are
// unauthenticated and a CPU profile or trace costs the server real work.
func (l *loader) pprofAddr(name string, c Config) string {
	v := l.addr(name, "")
	if v == "" {
		return "" // unset, or invalid and already reported
	}
	switch {
	case sameListener(v, c.Addr):
		l.fail(name, "%q is the same as ADDR: profiles need a listener of their own (e.g. 127.0.0.1:6060)", v)
		return ""
	case sameListener(v, c.MetricsAddr):
		l.fail(name, "%q is the same as METRICS_ADDR: profiles need a listener of their own (e.g. 127.0.0.1:6060)", v)
		return ""
	case !c.PprofAllowRemote && !IsLoopback(v):
		l.fail(name, "%q is not a loopback address: profiles must not be reachable from the network (use 127.0.0.1:6060, or set PPROF_ALLOW_REMOTE=true on a private network)", v)
		return ""
	}
	return v
}

// sameListener reports whether listen addresses a and b would take the
// same port: the same fixed port (port 0 asks for a fresh one each time,
// so it never clashes) on hosts that overlap. All interfaces ("", 0.0.0.0,
// [::]) overlap every host, and localhost is the loopback address.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	// As numbers, as the listener reads them: "08000" is port 8000.
	na, errA2 := strconv.ParseUint(pa, 10, 16)
	nb, errB2 := strconv.ParseUint(pb, 10, 16)
	if errors.Join(errA, errB, errA2, errB2) != nil || na == 0 || na != nb {
		return false
	}
	norm := func(h string) string {
		if strings.EqualFold(h, "localhost") {
			return "127.0.0.1"
		}
		if ip := net.ParseIP(h); ip != nil {
			if ip.IsUnspecified() {
				return ""
			}
			return ip.String()
		}
		return strings.ToLower(h)
	}
	ha, hb = norm(ha), norm(hb)
	return ha == "" || hb == "" || ha == hb
}

// IsLoopback reports whether the host:port addr listens on loopback only:
// "localhost" or a loopback IP. An empty host (all interfaces) or another
// name is not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l *loader) nonNegativeInt(name string, def int) int {
	v := l.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		l.fail(name, "invalid value %q (want a whole number >= 0; 0 means one per CPU)", v)
		return def
	}
	return n
}

// MaxHashConcurrency bounds PASSWORD_HASH_CONCURRENCY: each slot can hold
// an argon2id hash's 19 MiB, and the server runs one scheduler thread per
// slot (plus one), so 10,000 slots took 318 MB and 2,500 threads idle.
// More hashes at once than cores only queue them inside the CPU instead of
// in the Hasher.
const MaxHashConcurrency = 256

func (l *loader) hashConcurrency(name string) int {
	n := l.nonNegativeInt(name, 0)
	if n > MaxHashConcurrency {
		l.fail(name, "%d is over %d (each hash at once holds 19 MiB and a scheduler thread; 0 means one per CPU)", n, MaxHashConcurrency)
		return 0
	}
	return n
}

// addr checks host:port syntax now rather than letting net.Listen fail after
// the database has been opened and migrated.
func (l *loader) addr(name, def string) string {
	v := l.get(name)
	if v == "" {
		return def
	}
	_, port, err := net.SplitHostPort(v)
	if _, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil { // digits, 0-65535
		l.fail(name, "invalid address %q (want host:port such as 127.0.0.1:8000 or :8000, a port 0-65535)", v)
		return def
	}
	return v
}

func (l *loader) proxies(name string) []string {
	return l.list(name, func(p string) (string, bool) {
		if strings.Contains(p, "/") {
			prefix, err := netip.ParsePrefix(p)
			if _, _, cerr := net.ParseCIDR(p); err != nil || cerr != nil {
				return p, false
			}
			if prefix.Addr().Is4In6() {
				if prefix.Bits() < 96 {
					return p, false // wider than IPv4's space: not what was meant
				}
				return netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96).String(), true
			}
			return p, true
		}
		ip, err := netip.ParseAddr(p)
		if err != nil || ip.Zone() != "" || net.ParseIP(p) == nil {
			return p, false
		}
		if ip.Is4In6() {
			// An IPv4 address written IPv4-mapped (::ffff:10.0.0.1) is kept
			// dotted: gin, and publicScheme, read an address with no
			// prefix as a /32 when it parses as IPv4 and append "/32" to
			// it, which this form then makes ::/32 (trusting ::1, not
			// 10.0.0.1).
			return ip.Unmap().String(), true
		}
		return p, true
	}, "invalid IP address or CIDR %q")
}

// list reads name as a comma-separated list (spaces around items and empty
// items, as in "a, b,", are forgiven). keep returns an item as stored, and
// false for an invalid one, which fails with invalid (given the item).
func (l *loader) list(name string, keep func(item string) (string, bool), invalid string) []string {
	var out []string
	for _, item := range strings.Split(l.get(name), ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		kept, ok := keep(item)
		if !ok {
			l.fail(name, invalid, item)
			continue
		}
		out = append(out, kept)
	}
	return out
}

// hostPattern is an ALLOWED_HOSTS entry without its leading "." (DNS
// labels), or an IPv6 address in brackets (checked with net.ParseIP).
var hostPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

func (l *loader) hosts(name string) AllowedHosts {
	return l.list(name, func(h string) (string, bool) {
		h = strings.ToLower(h)
		return h, h == "*" || validHost(strings.TrimPrefix(h, "."))
	}, "invalid host %q (want a name such as api.example.com or .example.com, an IP address, or *; no port)")
}

func (l *loader) origins(name string) []string {
	return l.list(name, func(o string) (string, bool) {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") {
			return "", false
		}
		// As a browser's Origin header: lower-case scheme and host, no slash.
		return strings.ToLower(u.Scheme + "://" + u.Host), true
	}, "invalid origin %q (want scheme://host[:port], e.g. https://app.example.com)")
}

// validHost reports whether h (lower-case, without a port) is a host name
// or an IP address, IPv6 in brackets.
func validHost(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		ip := net.ParseIP(h[1 : len(h)-1])
		return ip != nil && ip.To4() == nil
	}
	return hostPattern.MatchString(h)
}

// AllowedHosts is ALLOWED_HOSTS (Config.AllowedHosts).
type AllowedHosts []string

// Allow reports whether a request naming host (its Host header, perhaps
// with a port) may be served, matching as Django's validate_host: the
// host without its port and trailing dot, lower-cased, must be a valid
// host and equal an entry, or end with an entry that starts with ".", or
// there must be a "*" entry. No entries allow every host.
func (a AllowedHosts) Allow(host string) bool {
	if len(a) == 0 {
		return true
	}
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		if !allDigits(port) { // Django's host_validation_re: a port is digits
			return false
		}
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	host = strings.TrimSuffix(host, ".")
	if !validHost(host) {
		return false
	}
	for _, p := range a {
		if p == "*" || p == host || (strings.HasPrefix(p, ".") && (host == p[1:] || strings.HasSuffix(host, p))) {
			return true
		}
	}
	return false
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// timeZone reads an IANA zone name ("Europe/Warsaw"); unset is UTC. The
// zone database is compiled in (time/tzdata) for a host that has none; Go
// reads the host's /usr/share/zoneinfo first. Names that mean something
// else on each host are refused: "Local" and "localtime" (the host's own
// zone), "posixrules" and "Factory", and the posix/ and right/ trees,
// whose right/ zones count leap seconds that Go does not (their clocks
// change 27 seconds off the hour) and that the compiled-in copy lacks.
func (l *loader) timeZone(name string) *time.Location {
	v := l.get(name)
	if v == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(v)
	if err != nil || hostZoneName(v) {
		l.fail(name, "unknown time zone %q (want an IANA name such as Europe/Warsaw or Asia/Tokyo, or UTC)", v)
		return time.UTC
	}
	return loc
}

// hostZoneName reports whether v is a file of a host's zone database
// rather than a zone of IANA's, one that may differ from host to host. A
// name not in its one clean form ("./right/UTC", "Europe//Warsaw") is
// refused too: time.LoadLocation reads it as the path it is, and it would
// slip past the names below.
func hostZoneName(v string) bool {
	if path.Clean(v) != v {
		return true
	}
	switch v {
	case "Local", "localtime", "posixrules", "Factory":
		return true
	}
	return strings.HasPrefix(v, "posix/") || strings.HasPrefix(v, "right/")
}

func (l *loader) logFormat(name string) string {
	v := strings.ToLower(l.get(name))
	switch v {
	case "":
		return "text"
	case "text", "json":
		return v
	}
	l.fail(name, "invalid log format %q (want text or json)", l.get(name))
	return "text"
}

func (l *loader) logLevel(name string) slog.Level {
	v := l.get(name)
	switch strings.ToLower(v) {
	case "", "info":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	l.fail(name, "invalid log level %q (want debug, info, warn or error)", v)
	return slog.LevelInfo
}

// deploymentSettings are the variables that say a server is being
// deployed: DEBUG (set at all), where it listens, its database, and what
// only matters behind a proxy or a domain.
var deploymentSettings = []string{
	"DEBUG", "ADDR",
	"DATABASE_URL", "DB_NAME", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_SSLMODE", "SQLITE_PATH",
	"SECURE_COOKIES", "TRUSTED_PROXIES", "ALLOWED_HOSTS", "CORS_ALLOWED_ORIGINS",
}

// zeroSetup reports a machine where none of the deploymentSettings is set,
// so the server would serve the embedded SQLite file on loopback. There,
// as in DEBUG mode, a missing SECRET_KEY gets a random key for the run
// (and a loud warning), so that `go run .` works on a fresh clone. Setting
// any of them, as every deployment does, brings back the rule that
// SECRET_KEY is required.
func (l *loader) zeroSetup() bool {
	for _, name := range deploymentSettings {
		if l.get(name) != "" {
			return false
		}
	}
	return true
}

// secret reads SECRET_KEY untrimmed: the bytes are key material and must be
// exactly what the operator set. Its value never appears in an error.
func (l *loader) secret(debug, zeroSetup bool) ([]byte, bool) {
	const name = "SECRET_KEY"
	v := l.getenv(name)
	if strings.TrimSpace(v) == "" {
		if !debug && !zeroSetup {
			l.errs = append(l.errs, errors.New("SECRET_KEY is not set: set SECRET_KEY to a random string of at least 32 bytes (or DEBUG=true for development)"))
			return nil, false
		}
		key := make([]byte, MinSecretKeyLen)
		if _, err := rand.Read(key); err != nil {
			l.fail(name, "not set and a random development key could not be generated: %v", err)
			return nil, false
		}
		return key, true
	}
	// Refused in DEBUG mode too: a .env copied from the example (DEBUG on)
	// and pointed at a real database signed tokens with a published key.
	if v == exampleSecretKey {
		l.fail(name, "still the placeholder from .env.example: generate a random one (e.g. openssl rand -base64 48), or leave it unset in DEBUG mode")
		return nil, false
	}
	if !debug && len(v) < MinSecretKeyLen {
		l.fail(name, "too short (%d bytes): must be at least %d bytes when DEBUG is off (e.g. openssl rand -base64 48)", len(v), MinSecretKeyLen)
		return nil, false
	}
	return []byte(v), false
}

func (l *loader) database() Database {
	if v := l.get("DATABASE_URL"); v != "" {
		return l.databaseURL(v)
	}
	if l.get("DB_NAME") != "" {
		return l.djangoDatabase()
	}
	// A typo in DB_NAME must not put the records in a local SQLite file.
	for _, name := range []string{"DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "DB_SSLMODE"} {
		if l.get(name) != "" {
			l.fail("DB_NAME", "not set, but %s is: set DB_NAME for PostgreSQL (or unset the DB_* variables to use SQLITE_PATH)", name)
			return Database{}
		}
	}
	path := l.get("SQLITE_PATH")
	if path == "" {
		path = DefaultSQLitePath
	}
	return Database{Driver: DriverSQLite, DSN: path}
}

// databaseURL validates DATABASE_URL. The URL usually carries a password, so
// it is never echoed: not even url.Parse's error, which can quote fragments
// of the userinfo.
func (l *loader) databaseURL(v string) Database {
	const name = "DATABASE_URL"
	u, err := url.Parse(v)
	if err != nil {
		l.fail(name, "not a valid URL (value not shown as it may contain a password; percent-encode special characters in the user name and password)")
		return Database{}
	}
	switch strings.ToLower(u.Scheme) {
	case "postgres", "postgresql":
	case "":
		l.fail(name, "missing scheme (want postgres://user:password@host:5432/dbname)")
		return Database{}
	default:
		l.fail(name, "unsupported scheme %q (want postgres:// or postgresql://; unset DATABASE_URL to use SQLITE_PATH)", u.Scheme)
		return Database{}
	}
	// A host query parameter is how pgx spells a Unix socket directory, and
	// is what the DB_* path generates for one, so it counts as a host.
	if u.Hostname() == "" && u.Query().Get("host") == "" {
		l.fail(name, "missing host (want postgres://user:password@host:5432/dbname)")
		return Database{}
	}
	return Database{Driver: DriverPostgres, DSN: v}
}

// sslModes are the values libpq and pgx accept for sslmode.
var sslModes = map[string]bool{
	"disable": true, "allow": true, "prefer": true,
	"require": true, "verify-ca": true, "verify-full": true,
}

// djangoDatabase builds a postgres URL from the Django-era DB_* variables.
// url.URL does the escaping, so passwords containing @ : / # ? % or spaces
// survive intact.
func (l *loader) djangoDatabase() Database {
	name := l.get("DB_NAME")
	user := l.get("DB_USER")
	password := l.getenv("DB_PASSWORD") // untrimmed: it is a secret, used verbatim
	host := l.get("DB_HOST")
	if host == "" {
		host = DefaultDBHost
	}
	port := l.get("DB_PORT")
	if port == "" {
		port = DefaultDBPort
	}
	ok := true
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		l.fail("DB_PORT", "invalid port %q (want a number 1-65535)", port)
		ok = false
	}
	sslmode := strings.ToLower(l.get("DB_SSLMODE"))
	if sslmode != "" && !sslModes[sslmode] {
		l.fail("DB_SSLMODE", "invalid value %q (want disable, allow, prefer, require, verify-ca or verify-full)", l.get("DB_SSLMODE"))
		ok = false
	}
	if !ok {
		return Database{}
	}

	u := url.URL{Scheme: "postgres", Path: "/" + name}
	switch {
	case password != "":
		u.User = url.UserPassword(user, password)
	case user != "":
		u.User = url.User(user)
	}
	q := url.Values{}
	if strings.HasPrefix(host, "/") {
		// Django treats a HOST starting with "/" as a Unix socket directory;
		// a URL authority cannot hold a path, so pgx takes it as a parameter.
		q.Set("host", host)
		q.Set("port", port)
	} else {
		u.Host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	if sslmode != "" {
		q.Set("sslmode", sslmode)
	}
	u.RawQuery = q.Encode()
	return Database{Driver: DriverPostgres, DSN: u.String()}
}

// redacted stands in for secrets in String and LogValue output. It is the
// same marker net/url uses, so redacted DSNs and fields look alike.
const redacted = "xxxxx"

// kvPassword matches password=... in a libpq keyword/value DSN, quoted or
// not. models.dsnSecrets finds the same places for the driver's errors (a
// new one goes in both: models imports no config).
var kvPassword = regexp.MustCompile(`(?i)(\b\w*password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// RedactDSN returns dsn with any password replaced by "xxxxx": the userinfo
// password and password-like query parameters of a URL, or password=... in
// a keyword/value DSN. Other parts are kept because they are what an
// operator needs to see when a connection fails.
func RedactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// Unparseable, so we cannot tell where the password is.
			return "[unparseable DSN redacted]"
		}
		q := u.Query()
		changed := false
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q.Set(k, redacted)
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}"+redacted)
}

// String prints the driver and the DSN with its password redacted.
func (d Database) String() string {
	return fmt.Sprintf("{Driver:%s DSN:%s}", d.Driver, RedactDSN(d.DSN))
}

// GoString makes %#v as safe as %v.
func (d Database) GoString() string { return "config.Database" + d.String() }

// LogValue logs the database with its password redacted.
func (d Database) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("Driver", d.Driver),
		slog.String("DSN", RedactDSN(d.DSN)),
	)
}

// listValue logs a list setting as "[a b]" ("[]" when empty).
func listValue(items []string) slog.Value {
	return slog.StringValue("[" + strings.Join(items, " ") + "]")
}

// attrs is the single redacted view of a Config behind String and LogValue,
// so the two cannot drift apart. A test checks every field is listed.
func (c Config) attrs() []slog.Attr {
	secret := "[none]"
	if len(c.SecretKey) > 0 {
		secret = redacted
	}
	return []slog.Attr{
		slog.Bool("Debug", c.Debug),
		slog.String("SecretKey", secret),
		slog.Bool("SecretGenerated", c.SecretGenerated),
		slog.String("Addr", c.Addr),
		slog.Attr{Key: "DB", Value: c.DB.LogValue()},
		slog.Duration("AccessTokenTTL", c.AccessTokenTTL),
		slog.Duration("TokenCacheTTL", c.TokenCacheTTL),
		slog.Duration("RefreshTokenTTL", c.RefreshTokenTTL),
		slog.Int64("MaxBodyBytes", c.MaxBodyBytes),
		slog.Duration("RequestTimeout", c.RequestTimeout),
		slog.Duration("ShutdownDelay", c.ShutdownDelay),
		{Key: "TrustedProxies", Value: listValue(c.TrustedProxies)},
		{Key: "AllowedHosts", Value: listValue(c.AllowedHosts)},
		{Key: "CORSAllowedOrigins", Value: listValue(c.CORSAllowedOrigins)},
		slog.String("TimeZone", c.TimeZone.String()),
		slog.Int("HashConcurrency", c.HashConcurrency),
		slog.Int("APIRateLimit", c.APIRateLimit),
		slog.Int("LoginRatePerIP", c.LoginRatePerIP),
		slog.Int("RegisterRatePerIP", c.RegisterRatePerIP),
		slog.Int("RefreshRatePerIP", c.RefreshRatePerIP),
		slog.Int("LoginFailuresPerEmail", c.LoginFailuresPerEmail),
		slog.Int64("MemoryLimit", c.MemoryLimit),
		slog.String("PprofAddr", c.PprofAddr),
		slog.Bool("PprofAllowRemote", c.PprofAllowRemote),
		slog.String("LogFormat", c.LogFormat),
		slog.String("LogLevel", c.LogLevel.String()),
		slog.Bool("MetricsEnabled", c.MetricsEnabled),
		slog.String("MetricsAddr", c.MetricsAddr),
		slog.Bool("SecureCookies", c.SecureCookies),
		slog.Duration("SessionIdleTimeout", c.SessionIdleTimeout),
		slog.Duration("SessionAbsoluteTimeout", c.SessionAbsoluteTimeout),
	}
}

// String formats the Config like %+v would, but with SecretKey and database
// passwords redacted. Because Config implements fmt.Stringer, %v, %+v and
// %s all go through here.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("{")
	writeAttrs(&b, c.attrs())
	b.WriteString("}")
	return b.String()
}

func writeAttrs(b *strings.Builder, attrs []slog.Attr) {
	for i, a := range attrs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Key)
		b.WriteByte(':')
		if a.Value.Kind() == slog.KindGroup {
			b.WriteByte('{')
			writeAttrs(b, a.Value.Group())
			b.WriteByte('}')
			continue
		}
		b.WriteString(a.Value.String())
	}
}

// GoString makes %#v as safe as %v.
func (c Config) GoString() string { return "config.Config" + c.String() }

// LogValue makes slog.Any("config", cfg) log a redacted group.
func (c Config) LogValue() slog.Value { return slog.GroupValue(c.attrs()...) }
