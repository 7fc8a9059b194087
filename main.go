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
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"gorm.io/gorm"

	"healthcare/config"
	"healthcare/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	var usage usageError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "healthcare:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "healthcare:", err)
		os.Exit(1)
	}
}

// usageError is a command line that does not parse (exit code 2).
type usageError struct{ error }

// run is the whole program, with its environment passed in so tests can
// run it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	createSuperuser := fs.Bool("createsuperuser", false, "create an active staff superuser (needs -email; password from SUPERUSER_PASSWORD, a terminal prompt or one line of stdin) and exit")
	email := fs.String("email", "", "e-mail address for -createsuperuser")
	name := fs.String("name", "", "name for -createsuperuser (default: the e-mail's local part)")
	migrateOnly := fs.Bool("migrate", false, "apply database migrations and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	healthcheck := fs.Bool("healthcheck", false, "GET /healthz of the server at ADDR; exit 0 if it answers 200 (for container HEALTHCHECKs)")
	seedDemo := fs.Bool("seed-demo", false, "fill an empty database with demo data (a demo user, a staff user, patients, doctors, mappings) and exit")
	seedSize := fs.Int("seed-size", 1000, "number of patients -seed-demo creates")
	force := fs.Bool("force", false, "with -seed-demo: add demo data even if the database already has data")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))}
	}
	if *showVersion {
		fmt.Fprintln(stdout, "healthcare", version())
		return nil
	}
	if *healthcheck {
		return checkHealth(ctx, getenv("ADDR"))
	}

	getenv, err := config.WithDotEnv(".env", getenv)
	if err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if cfg.SecretGenerated {
		log.Warn("SECRET_KEY is not set: using a random key for this run (DEBUG mode). Tokens and sessions will not survive a restart. Set SECRET_KEY before deploying.")
	}

	db, err := models.Open(ctx, cfg.DB.Driver, cfg.DB.DSN, models.PoolOptions{})
	if err != nil {
		return fmt.Errorf("database (%s): %w", cfg.DB, err)
	}
	defer models.Close(db)
	if err := models.Migrate(db); err != nil {
		return err
	}
	store := models.NewStore(db, models.NewHasher(models.DefaultHashParams, cfg.HashConcurrency))

	switch {
	case *createSuperuser:
		return runCreateSuperuser(ctx, store, *email, *name, getenv, stdin, stdout)
	case *seedDemo:
		return runSeedDemo(ctx, store, models.SeedOptions{Patients: *seedSize, Force: *force}, stdout)
	case *migrateOnly:
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	}
	return serve(ctx, cfg, db, store, log)
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully:
// in-flight requests finish (bounded), then the database closes.
func serve(ctx context.Context, cfg config.Config, db *gorm.DB, store *models.Store, log *slog.Logger) error {
	router, err := newRouter(routerDeps{cfg: cfg, store: store, log: log})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           router,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 20*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	go purgeTokens(ctx, store, log)

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", slog.String("addr", "http://"+cfg.Addr), slog.String("database", cfg.DB.Driver))
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// purgeTokens deletes expired token records hourly.
func purgeTokens(ctx context.Context, store *models.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := store.PurgeExpiredTokens(ctx, time.Now().Add(-time.Hour)); err != nil {
				log.Warn("purge expired tokens", slog.Any("error", err))
			}
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
