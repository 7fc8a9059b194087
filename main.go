// Command healthcare serves the clinic's records: a JWT-protected JSON API
// under /api/ and an admin panel under /admin/, over one database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"gorm.io/gorm"

	"healthcare/config"
	"healthcare/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts the graceful shutdown; a second one (Ctrl-C
	// again during SHUTDOWN_DELAY) ends the process at once, as by default.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	var usage usageError
	var logged loggedError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "healthcare:", oneLine(err))
		os.Exit(2)
	case errors.As(err, &logged):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "healthcare:", oneLine(err))
		os.Exit(1)
	}
}

// usageError is a command line that does not parse (exit code 2).
type usageError struct{ error }

// loggedError is an error the server's log has recorded already (exit
// code 1, nothing more printed).
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// oneLine is err's message on one line: a driver's error can hold several
// (pgx lists each address it tried on its own line), which a log shipper
// reading lines splits into events that explain nothing.
func oneLine(err error) string {
	return strings.NewReplacer(":\n\t", ": ", "\n\t", "; ", "\n", "; ").Replace(err.Error())
}

// commandLine is what the flags ask for: a mode (one of modeFlags' names,
// or "" to serve) and the mode's values.
type commandLine struct {
	mode        string
	email, name string             // -createsuperuser
	exportDays  dayRange           // -audit-export
	seed        models.SeedOptions // -seed-demo
}

// parseCommandLine reads args. Every mistake in them is a usageError,
// found before anything else happens: no database is opened for a command
// line that cannot run.
func parseCommandLine(args []string, stderr io.Writer) (commandLine, error) {
	fs := flag.NewFlagSet("healthcare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, m := range modeFlags {
		fs.Bool(m.mode, false, m.usage)
	}
	email := fs.String("email", "", "e-mail address for -createsuperuser")
	name := fs.String("name", "", "name for -createsuperuser (default: the e-mail's local part)")
	auditFrom := fs.String("from", "", "first day, YYYY-MM-DD in TIME_ZONE, inclusive, for -audit-export (default: no lower bound)")
	auditTo := fs.String("to", "", "last day, YYYY-MM-DD in TIME_ZONE, inclusive, for -audit-export (default: no upper bound)")
	seedSize := fs.Int("seed-size", 1000, "number of patients -seed-demo creates")
	force := fs.Bool("force", false, "with -seed-demo: add demo data even if the database already has data")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return commandLine{}, err
		}
		return commandLine{}, usageError{err}
	}
	if fs.NArg() > 0 {
		return commandLine{}, usageError{fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))}
	}
	mode, err := checkModes(fs)
	if err != nil {
		return commandLine{}, usageError{err}
	}
	cl := commandLine{mode: mode, email: *email, name: *name, seed: models.SeedOptions{Patients: *seedSize, Force: *force}}
	if mode == modeCreateSuperuser && models.NormalizeEmail(*email) == "" {
		return commandLine{}, usageError{errors.New("-createsuperuser needs -email")}
	}
	if mode == modeSeedDemo && *seedSize <= 0 {
		return commandLine{}, usageError{fmt.Errorf("-seed-size %d: want a number of patients above 0", *seedSize)}
	}
	if cl.exportDays, err = parseDayRange(*auditFrom, *auditTo); err != nil {
		return commandLine{}, usageError{err}
	}
	return cl, nil
}

// run is the whole program, with its environment passed in so tests can
// run it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	cl, err := parseCommandLine(args, stderr)
	if err != nil {
		return err
	}
	if cl.mode == modeVersion {
		fmt.Fprintln(stdout, "healthcare", version())
		return nil
	}
	// GOMEMLIMIT and GOMAXPROCS only count in the real environment: the
	// runtime reads them at start-up, before any .env file.
	gomemlimit := getenv("GOMEMLIMIT")
	gomaxprocs := getenv("GOMAXPROCS")
	getenv, err = config.WithDotEnv(".env", getenv)
	if err != nil {
		return err
	}
	if cl.mode == modeHealthcheck {
		// Before config.Load: the probe needs ADDR alone, not a SECRET_KEY.
		return checkHealth(ctx, getenv("ADDR"))
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if cl.mode == "" {
		// Why a server stopped belongs in its log, in the log's format (one
		// JSON record under LOG_FORMAT=json), not in a plain line beside it.
		defer func() {
			if err != nil {
				log.Error("the server failed", slog.String("error", oneLine(err)))
				err = loggedError{err}
			}
		}()
	}
	if cfg.SecretGenerated {
		log.Warn("SECRET_KEY is not set: using a random key for this run (DEBUG mode, or nothing configured). API tokens will not survive a restart. Set SECRET_KEY before deploying.")
	}

	db, err := models.Open(ctx, cfg.DB.Driver, cfg.DB.DSN, models.PoolOptions{})
	if err != nil {
		return fmt.Errorf("database (%s): %w", cfg.DB, err)
	}
	defer models.Close(db)
	if err := models.Migrate(db.WithContext(ctx)); err != nil {
		return err
	}
	if warning := models.SearchIndexWarning(db); warning != "" {
		log.Warn(warning)
	}
	if warning := models.SQLiteModeWarning(cfg.DB.Driver, cfg.DB.DSN); warning != "" {
		log.Warn(warning)
	}
	store := models.NewStore(db, models.NewHasher(models.DefaultHashParams, cfg.HashConcurrency))
	store.SetTimeZone(cfg.TimeZone)

	switch cl.mode {
	case modeCreateSuperuser:
		return runCreateSuperuser(ctx, store, cl.email, cl.name, getenv, stdin, stdout)
	case modeSeedDemo:
		return runSeedDemo(ctx, store, cl.seed, stdout)
	case modeAuditExport:
		// A reader that stops early (| head) must not kill the process
		// before it records the export: while SIGPIPE is being notified,
		// the write fails with EPIPE instead, and the export is recorded as
		// failed. (Not signal.Ignore: it would outlive the export in a test
		// process, and pass on to every child it starts.)
		pipe := make(chan os.Signal, 1)
		signal.Notify(pipe, syscall.SIGPIPE)
		defer signal.Stop(pipe)
		return runAuditExport(ctx, store, cl.exportDays.filter(cfg.TimeZone), stdout)
	case modeMigrate:
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	}
	applyMemoryLimit(cfg.MemoryLimit, gomemlimit, log)
	addSpareProc(store.Hasher().Slots(), gomaxprocs, log)
	if !cfg.SecretGenerated && len(cfg.AllowedHosts) == 0 {
		// A deployment (its own SECRET_KEY) that serves any Host: say so
		// once, as Django refuses to start without ALLOWED_HOSTS.
		log.Warn("ALLOWED_HOSTS is not set: requests naming any Host are served, and the API's pagination links name the Host a request sent. Set ALLOWED_HOSTS to the site's host names.")
	}
	return serve(ctx, cfg, db, store, log)
}

// The modes: each a flag that chooses what the program does instead of
// serving.
const (
	modeCreateSuperuser = "createsuperuser"
	modeMigrate         = "migrate"
	modeAuditExport     = "audit-export"
	modeSeedDemo        = "seed-demo"
	modeHealthcheck     = "healthcheck"
	modeVersion         = "version"
)

// modeFlags are the mode flags, registered from here, with the flags that
// only go with each.
var modeFlags = []struct {
	mode, usage string
	companions  []string
}{
	{modeCreateSuperuser, "create an active staff superuser (needs -email; password from SUPERUSER_PASSWORD, a terminal prompt or one line of stdin) and exit",
		[]string{"email", "name"}},
	{modeMigrate, "apply database migrations and exit", nil},
	{modeAuditExport, "write the audit events of -from to -to to stdout as JSON lines (one event a line, oldest first) and exit",
		[]string{"from", "to"}},
	{modeSeedDemo, "fill an empty database with demo data (a demo user, a staff user, patients, doctors, mappings) and exit",
		[]string{"seed-size", "force"}},
	{modeHealthcheck, "GET /healthz of the server at ADDR; exit 0 if it answers 200 (for container HEALTHCHECKs)", nil},
	{modeVersion, "print the version and exit", nil},
}

// checkModes returns the mode a command line asks for ("" to serve). It
// refuses one that asks for two things at once (-migrate -seed-demo did
// only one of them) or sets a flag without the mode it goes with (-force
// alone started the server).
func checkModes(fs *flag.FlagSet) (string, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	chosen := ""
	for _, m := range modeFlags {
		if fs.Lookup(m.mode).Value.String() != "true" { // every mode is a flag off by default
			continue
		}
		if chosen != "" {
			return "", fmt.Errorf("-%s and -%s cannot be combined", chosen, m.mode)
		}
		chosen = m.mode
	}
	for _, m := range modeFlags {
		for _, c := range m.companions {
			if set[c] && chosen != m.mode {
				return "", fmt.Errorf("-%s only goes with -%s", c, m.mode)
			}
		}
	}
	return chosen, nil
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully:
// in-flight requests finish (bounded), then the database closes.
func serve(ctx context.Context, cfg config.Config, db *gorm.DB, store *models.Store, log *slog.Logger) error {
	m, err := newMetrics(cfg, db)
	if err != nil {
		return err
	}
	var drain drainer
	router, err := newRouter(routerDeps{cfg: cfg, store: store, log: log, metrics: m, notReady: drain.notReady.Load})
	if err != nil {
		return err
	}
	stopMetrics, err := serveMetrics(cfg, m, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	stopPprof, err := servePprof(cfg, log)
	if err != nil {
		return err
	}
	defer stopPprof()
	// Every request's context descends from requests, which shutdown
	// cancels shortly before its time is up (see shutdown).
	requests, cancelRequests := requestsContext()
	defer cancelRequests()
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return requests },
		Addr:              cfg.Addr,
		Handler:           drain.handler(router),
		ConnState:         drain.connState,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 20*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// Revocations reach the cache through LISTEN/NOTIFY (PostgreSQL only).
	// Not ctx: the cache serves until the server stops (SHUTDOWN_DELAY
	// serves on after the signal); stopTokenCache ends it.
	stopTokenCache, err := store.StartTokenCache(context.WithoutCancel(ctx), tokenCacheOptions(cfg.TokenCacheTTL, log))
	if err != nil {
		return err
	}
	defer stopTokenCache()
	if m != nil {
		m.TokenCacheLive(store.TokenCacheLive)
	}
	// Listening first means a taken port fails here, and the log names the
	// real address (ADDR may ask for port 0).
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR: listen: %w", err)
	}
	// The background jobs end with serve: it waits for them, so run never
	// closes the database under one.
	jobCtx, stopJobs := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	defer func() {
		stopJobs()
		jobs.Wait()
	}()
	jobs.Go(func() { backfillSearchText(jobCtx, store, log) })
	jobs.Go(func() { purgeTokens(jobCtx, store, log) })
	jobs.Go(func() { purgeSessions(jobCtx, store, cfg.SessionIdleTimeout, log) }) // admin panel sessions

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", slog.String("addr", "http://"+ln.Addr().String()), slog.String("database", cfg.DB.Driver), slog.String("version", version()))
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if cfg.ShutdownDelay > 0 {
		log.Info("shutting down: not ready, serving for SHUTDOWN_DELAY", slog.Duration("delay", cfg.ShutdownDelay))
	}
	if err := drain.notReadyFor(cfg.ShutdownDelay, errc); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down")
	if err := shutdown(srv, &drain, ln, errc, cancelRequests, shutdownGrace); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// tokenCacheOptions configure the cache of verified access tokens.
func tokenCacheOptions(ttl time.Duration, log *slog.Logger) models.TokenCacheOptions {
	opts := models.DefaultTokenCacheOptions()
	opts.TTL = ttl
	opts.OnListenError = func(err error) {
		log.Warn("token cache bypassed: its revocation listener is not connected", slog.Any("error", err))
	}
	return opts
}

// backfillSearchText fills the search text of patients and doctors that a
// database from an earlier version lacks, once, while the server serves
// (searches are right meanwhile, only slower).
func backfillSearchText(ctx context.Context, store *models.Store, log *slog.Logger) {
	n, err := store.BackfillSearchText(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Warn("filling the search text of patients and doctors", slog.Int64("rows", n), slog.Any("error", err))
	case n > 0:
		log.Info("filled the search text of patients and doctors", slog.Int64("rows", n))
	}
}

// purgeSessions deletes expired admin panel sessions hourly (an expired
// session is refused when presented anyway; this keeps the table small).
func purgeSessions(ctx context.Context, store *models.Store, idle time.Duration, log *slog.Logger) {
	hourly(ctx, log, "purge expired admin sessions", func() error {
		_, err := store.PurgeExpiredSessions(ctx, time.Now().UTC(), idle)
		return err
	})
}

// purgeTokens deletes expired token records hourly.
func purgeTokens(ctx context.Context, store *models.Store, log *slog.Logger) {
	hourly(ctx, log, "purge expired tokens", func() error {
		_, err := store.PurgeExpiredTokens(ctx, time.Now().UTC().Add(-time.Hour))
		return err
	})
}

// hourly runs job at once, then every hour, until ctx ends, logging (as
// what) its errors: a server restarted more often than hourly (deploys,
// scaling) still runs it.
func hourly(ctx context.Context, log *slog.Logger, what string, job func() error) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := job(); err != nil && ctx.Err() == nil {
			log.Warn(what, slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
