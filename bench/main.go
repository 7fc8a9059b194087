// Command bench measures the healthcare server against the limits of the
// machine. It seeds a database to a chosen size (reusing it when it already
// has that size), builds and starts the real server binary on loopback,
// drives each API scenario with a fixed number of workers for a fixed time,
// and measures in the same run two baselines: the database's own
// primary-key round trip (what no API can beat) and a trivial gin handler
// (the HTTP floor). It prints a table and can write it as JSON to compare
// commits. BENCHMARKS.md explains every figure.
//
//	go run ./bench -db postgres -patients 1000000 -owned 50000 -json out.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	db          string // sqlite or postgres
	dsn         string // postgres URL
	sqlitePath  string
	patients    int
	owned       int
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	startups    int
	jsonOut     string
	compare     string
	reseed      bool
	only        []string
	cpuProfile  string // directory
	memProfile  string // directory
	perfDir     string // directory
	serverBin   string
	serverEnv   []string
	adminLogin  string
	adminList   string
}

// serveFloorFlag makes the command serve the HTTP floor instead: bench
// starts itself with it, so the floor runs in its own process like the real
// server.
const serveFloorFlag = "-serve-floor"

// measureHashFlag makes the command measure the server's password hash and
// print it (measureHashElsewhere): a fresh process, not the load generator.
const measureHashFlag = "-measure-hash"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 2 && args[0] == serveFloorFlag {
		return serveFloor(ctx, args[1])
	}
	if len(args) == 1 && args[0] == measureHashFlag {
		return printHashMeasurement(ctx, stdout)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{o: o, out: stdout, log: stderr}
	return b.run(ctx)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench [flags]\n\nscenarios and baselines (for -only): %s\n\nflags:\n",
			strings.Join(scenarioNames(), ", "))
		fs.PrintDefaults()
	}
	fs.StringVar(&o.db, "db", "sqlite", "database engine: sqlite or postgres")
	fs.StringVar(&o.dsn, "dsn", "", "postgres URL (default postgres://postgres@127.0.0.1:5432/healthcare_bench_p<patients>_o<owned>"+
		"?sslmode=disable, created through the postgres maintenance database)")
	fs.StringVar(&o.sqlitePath, "sqlite", "", "SQLite file (default "+
		filepath.Join(os.TempDir(), "healthcare-bench", "bench-p<patients>-o<owned>.db")+")")
	fs.IntVar(&o.patients, "patients", 1000, "patients in the database")
	fs.IntVar(&o.owned, "owned", 0, "patients owned by the benchmark (demo) user (default min(patients, 50000))")
	fs.IntVar(&o.concurrency, "concurrency", 32, "workers, each with its own keep-alive connection")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each scenario")
	fs.IntVar(&o.startups, "startups", 3, "server start-ups to time (start-up to /readyz 200)")
	fs.StringVar(&o.jsonOut, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.compare, "compare", "", "a JSON file of an earlier run: adds its p50 and the growth ratio to the table")
	fs.BoolVar(&o.reseed, "reseed", false, "drop and recreate the benchmark database, then seed it")
	only := fs.String("only", "", "comma-separated scenarios to run (the db-pk baseline always runs: ratios need it)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "directory for a CPU profile of the load generator per scenario")
	fs.StringVar(&o.memProfile, "memprofile", "", "directory for a heap profile of the load generator at the end")
	fs.StringVar(&o.perfDir, "perf", "", "directory for a `perf record` CPU profile of the server process per scenario (needs perf)")
	fs.StringVar(&o.serverBin, "server-bin", "", "use this server binary instead of building the repository's")
	serverEnv := fs.String("server-env", "", "extra KEY=VALUE settings for the server, comma-separated (e.g. PASSWORD_HASH_CONCURRENCY=1)")
	fs.StringVar(&o.adminLogin, "admin-login", "/admin/login/", "admin panel login form path")
	fs.StringVar(&o.adminList, "admin-list", "/admin/patients/", "admin panel patient changelist path (searched with ?q=)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch o.db {
	case "sqlite", "postgres":
	default:
		return o, fmt.Errorf("-db %q: want sqlite or postgres", o.db)
	}
	if o.dsn != "" && o.db != "postgres" {
		return o, errors.New("-dsn is for -db postgres")
	}
	if o.sqlitePath != "" && o.db != "sqlite" {
		return o, errors.New("-sqlite is for -db sqlite")
	}
	if o.patients < 1 {
		return o, errors.New("-patients must be at least 1")
	}
	if o.owned == 0 {
		o.owned = min(o.patients, 50000)
	}
	if o.owned < 1 || o.owned > o.patients {
		return o, fmt.Errorf("-owned must be between 1 and -patients (%d)", o.patients)
	}
	if o.concurrency < 1 || o.duration <= 0 || o.warmup < 0 || o.startups < 1 {
		return o, errors.New("-concurrency, -duration and -startups must be positive, -warmup not negative")
	}
	for _, name := range strings.Split(*only, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(scenarioNames(), name) {
			return o, fmt.Errorf("-only: unknown scenario %q (have %s)", name, strings.Join(scenarioNames(), ", "))
		}
		o.only = append(o.only, name)
	}
	for _, kv := range strings.Split(*serverEnv, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if !strings.Contains(kv, "=") {
			return o, fmt.Errorf("-server-env: %q is not KEY=VALUE", kv)
		}
		o.serverEnv = append(o.serverEnv, kv)
	}
	return o, nil
}

// selected reports whether -only lets scenario name run.
func (o options) selected(name string) bool {
	return len(o.only) == 0 || name == "db-pk" || slices.Contains(o.only, name)
}
