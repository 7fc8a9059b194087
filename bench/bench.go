package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"healthcare/models"
)

// bench is one run of the command.
type bench struct {
	o        options
	out, log io.Writer
	t        target
	fx       *fixture
	srv      *server
	tmp      string
	tr       *http.Transport
	client   *http.Client
	ipSeq    atomic.Uint64
	hashTime time.Duration // CPU time of one hash, at the start
	hashWall time.Duration
	// loginHashTime is the CPU time of one hash measured again just
	// before the login scenario: on a shared host the figure moves from
	// minute to minute (15.5 to 19.4 ms within one run, BENCHMARKS.md),
	// so the start's can be stale when logins run.
	loginHashTime time.Duration
	// hashesAtOnce is how many hashes per second this machine computes
	// with one hash per core at once: below cores ÷ hashTime when the
	// cores share caches and memory bandwidth.
	hashesAtOnce float64
	mach         machine
	results      []result
	startups     []time.Duration
	dbCPU        *dbCPU
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bench) run(ctx context.Context) (err error) {
	b.mach = describeMachine()
	root, err := repoRoot(ctx)
	if err != nil {
		return err
	}
	if b.t, err = resolveTarget(b.o); err != nil {
		return err
	}
	b.tmp, err = os.MkdirTemp("", "healthcare-bench-run-")
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if keep {
			b.logf("server logs kept in %s", b.tmp)
			return
		}
		os.RemoveAll(b.tmp)
	}()

	b.logf("database: %s %s", b.t.driver, b.t.display)
	if b.fx, err = prepare(ctx, b.o, b.t, b.logf); err != nil {
		return err
	}
	if b.fx.reused {
		b.logf("reusing the seed of %s (%d patients, %d owned by %s)", b.fx.seed.SeededAt.Format(time.RFC3339),
			b.fx.seed.Patients, b.fx.seed.Owned, models.DemoEmail)
	}
	defer func() {
		// Leave the database at the seeded size for the next run.
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if cerr := cleanupAfter(cctx, b.t, b.fx.seed); cerr != nil {
			b.logf("clean up: %v", cerr)
		}
	}()
	start, err := measureHashElsewhere(ctx)
	if err != nil {
		return err
	}
	b.hashTime, b.hashWall, b.hashesAtOnce = start.CPU, start.Wall, start.AtOnce

	bin := b.o.serverBin
	if bin == "" {
		b.logf("building the server (go build . in %s)", root)
		if bin, err = buildServer(ctx, root, b.tmp); err != nil {
			return err
		}
	}
	for i := range b.o.startups {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		srv, took, err := startProcess(ctx, bin, nil, serverEnv(b.t, b.o, addr), b.tmp,
			filepath.Join(b.tmp, fmt.Sprintf("server-%d.log", i)), addr, "/readyz")
		if err != nil {
			keep = true
			return err
		}
		b.startups = append(b.startups, took)
		b.logf("start-up %d: ready in %s", i+1, took.Round(time.Millisecond))
		if i < b.o.startups-1 {
			srv.stop()
			continue
		}
		b.srv = srv
	}
	defer b.srv.stop()

	b.tr = newTransport(b.o.concurrency)
	defer b.tr.CloseIdleConnections()
	b.client = &http.Client{Transport: b.tr, Timeout: 30 * time.Second, CheckRedirect: noRedirect}
	b.dbCPU = newDBCPU(ctx, b.t)
	defer b.dbCPU.close()

	for _, dir := range []string{b.o.cpuProfile, b.o.memProfile, b.o.perfDir} {
		if dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
	}
	for _, sc := range scenarios {
		if !b.o.selected(sc.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r := b.runScenario(ctx, sc)
		b.results = append(b.results, r)
		if r.Errors > 0 {
			keep = true
		}
		if b.srv.exited() {
			keep = true
			return fmt.Errorf("the server exited during %s (%v):\n%s", sc.name, b.srv.waitErr, tail(b.srv.logPath, 20))
		}
	}
	_, hwm, memErr := memory(b.srv.cmd.Process.Pid)
	if memErr != nil {
		b.logf("server memory: %v", memErr)
	}
	if b.o.memProfile != "" {
		if err := writeHeapProfile(filepath.Join(b.o.memProfile, "client.heap.pprof")); err != nil {
			b.logf("memprofile: %v", err)
		}
	}

	rep := b.report(hwm)
	if b.o.compare != "" {
		if err := rep.compareWith(b.o.compare); err != nil {
			b.logf("%v", err)
		}
	}
	rep.print(b.out)
	if b.o.jsonOut != "" {
		if err := rep.write(b.o.jsonOut); err != nil {
			return err
		}
		b.logf("wrote %s", b.o.jsonOut)
	}
	return nil
}

// runScenario plans, runs and measures one scenario.
func (b *bench) runScenario(ctx context.Context, sc scenario) result {
	r := result{Name: sc.name, Kind: sc.kind, What: sc.what, Target: sc.target}
	p, err := sc.plan(b, ctx)
	if err != nil {
		var skip skipError
		if errors.As(err, &skip) {
			r.Skipped = skip.reason
		} else {
			r.Skipped = "setup failed: " + err.Error()
		}
		b.logf("%-18s skipped: %s", sc.name, r.Skipped)
		return r
	}
	if p.cleanup != nil {
		defer p.cleanup()
	}
	b.logf("%-18s running %d workers, %s warm-up + %s ...", sc.name, b.o.concurrency, b.o.warmup, b.o.duration)

	var h hooks
	var sampler *rssSampler
	var perf *perfRecorder
	var cpuFile *os.File
	var cpu0, self0 time.Duration
	var db0 map[int]time.Duration
	cpuErr := errors.New("no process")
	h.start = func() {
		self0 = processCPU()
		db0 = b.dbCPU.sample(ctx)
		if p.pid != 0 {
			sampler = sampleRSS(p.pid)
			cpu0, cpuErr = cpuTime(p.pid)
			if b.o.perfDir != "" {
				if perf, err = startPerf(p.pid, filepath.Join(b.o.perfDir, sc.name+".server.perf.data")); err != nil {
					b.logf("%v", err)
				}
			}
		}
		if b.o.cpuProfile != "" {
			cpuFile, err = os.Create(filepath.Join(b.o.cpuProfile, sc.name+".client.cpu.pprof"))
			if err == nil {
				err = pprof.StartCPUProfile(cpuFile)
			}
			if err != nil {
				b.logf("cpuprofile: %v", err)
				cpuFile = nil
			}
		}
	}
	h.stop = func() {
		if cpuErr == nil {
			if cpu1, err := cpuTime(p.pid); err == nil {
				r.ServerCPUs = (cpu1 - cpu0).Seconds()
			}
		}
		r.Load1 = loadAverage()
		r.ClientCPUs = (processCPU() - self0).Seconds()
		if d, ok := used(db0, b.dbCPU.sample(ctx)); ok {
			r.DBCPUs = d.Seconds()
		}
		if cpuFile != nil {
			pprof.StopCPUProfile()
			cpuFile.Close()
		}
		perf.stop()
	}
	stats := runLoad(ctx, b.o.warmup, b.o.duration, h, p.groups...)
	if sampler != nil {
		r.PeakRSSMB = mb(sampler.stop())
	}
	s := stats[0]
	r.Requests, r.Errors, r.RPS = s.Requests, s.Errors, s.RPS
	r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs = ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max)
	r.ErrorSamples = s.ErrorSamples
	if r.ServerCPUs > 0 && r.Requests > 0 {
		r.CPUMsPerReq = r.ServerCPUs * 1000 / float64(r.Requests)
		r.ServerCores = r.ServerCPUs / b.o.duration.Seconds()
	}
	if r.Requests > 0 {
		r.DBCPUMsPerReq = r.DBCPUs * 1000 / float64(r.Requests)
		r.ClientCPUMsPerReq = r.ClientCPUs * 1000 / float64(r.Requests)
	}
	if sc.name == "db-pk" {
		r.RatioToDB = 1
	} else if db := b.result("db-pk"); db != nil && db.RPS > 0 {
		r.RatioToDB = r.RPS / db.RPS
	}
	if p.after != nil {
		p.after(&r, stats)
	}
	if sc.check != nil {
		met := sc.check(b, &r) && r.Requests > 0
		r.Met = &met
	}
	if r.Requests == 0 {
		// Every worker was still in its warm-up request when the window
		// closed: each takes longer than warm-up plus duration.
		r.Note = fmt.Sprintf("NO REQUEST STARTED IN THE WINDOW: each takes over %s; raise -warmup and -duration. ", b.o.warmup+b.o.duration) + r.Note
	}
	b.logf("%-18s %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  %d errors", sc.name, r.RPS, r.P50Ms, r.P99Ms, r.Errors)
	for _, e := range r.ErrorSamples {
		b.logf("%-18s error: %s", sc.name, e)
	}
	return r
}

// result returns the measured result of scenario name, or nil.
func (b *bench) result(name string) *result {
	for i := range b.results {
		if b.results[i].Name == name && b.results[i].Skipped == "" {
			return &b.results[i]
		}
	}
	return nil
}

// hashMeasurement is what a process of its own measures of the server's
// password hash (measureHashFlag).
type hashMeasurement struct {
	CPU, Wall time.Duration // one hash, median
	AtOnce    float64       // hashes/s with one hash per core at once
}

// measureHashElsewhere measures the server's password hash in a fresh
// process of this command (measureHashFlag), as idle as the server's
// hashing goroutines find it. Measured in the load generator itself, the
// same hash took 16-17 ms at the start of a run and 23-30 ms later in it
// or after seeding (run after run: its heap, its goroutines), where
// `go test -bench Hash` and the server's own CPU per login (19-20 ms for a
// whole login, 95% of it in argon2) said 16-17; a login cannot cost less
// CPU than its hash, so those figures were not the server's.
func measureHashElsewhere(ctx context.Context) (hashMeasurement, error) {
	var m hashMeasurement
	exe, err := os.Executable()
	if err != nil {
		return m, err
	}
	cmd := exec.CommandContext(ctx, exe, measureHashFlag)
	cmd.Env = inherited("PATH", "HOME", "GOMAXPROCS")
	out, err := cmd.Output()
	if err != nil {
		return m, fmt.Errorf("measure the password hash: %w", err)
	}
	if err := json.Unmarshal(out, &m); err != nil || m.CPU <= 0 || m.AtOnce <= 0 {
		return m, fmt.Errorf("measure the password hash: unexpected output %q", out)
	}
	return m, nil
}

// printHashMeasurement is measureHashFlag's process: it measures the
// server's hash and writes the hashMeasurement as JSON.
func printHashMeasurement(ctx context.Context, w io.Writer) error {
	h := models.NewHasher(models.DefaultHashParams, runtime.NumCPU())
	var m hashMeasurement
	m.CPU, m.Wall = measureHash(ctx, h)
	m.AtOnce = measureHashesAtOnce(ctx, h)
	if m.CPU <= 0 || m.AtOnce <= 0 {
		return errors.New("hashing failed")
	}
	return json.NewEncoder(w).Encode(m)
}

// measureHash times one password hash with the server's parameters here:
// the cost a login cannot avoid. It returns the median CPU time of the
// process per hash (not wall time, which other processes on a busy machine
// would inflate) and the median wall time.
func measureHash(ctx context.Context, h *models.Hasher) (cpu, wall time.Duration) {
	var cpus, walls []time.Duration
	for i := range 6 {
		c0, w0 := processCPU(), time.Now()
		if _, err := h.Hash(ctx, "benchmark-password"); err != nil {
			return 0, 0
		}
		if i == 0 {
			continue // the first run may pay for the Hasher's memory
		}
		cpus, walls = append(cpus, processCPU()-c0), append(walls, time.Since(w0))
	}
	slices.Sort(cpus)
	slices.Sort(walls)
	return cpus[len(cpus)/2], walls[len(walls)/2]
}

// measureHashesAtOnce runs one hash per core at once, several rounds, and
// returns the hashes per second of wall time: the most logins this machine
// could ever serve, with nothing else running.
func measureHashesAtOnce(ctx context.Context, h *models.Hasher) float64 {
	const rounds = 8
	cores := h.Slots()
	if _, err := h.Hash(ctx, "benchmark-password"); err != nil { // make the Hasher's memory first
		return 0
	}
	var wg sync.WaitGroup
	start := time.Now()
	for range cores {
		wg.Go(func() {
			for range rounds {
				if _, err := h.Hash(ctx, "benchmark-password"); err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(cores*rounds) / time.Since(start).Seconds()
}

// processCPU is this process's user plus system CPU time, in microseconds
// (getrusage), finer than /proc's clock ticks.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }
