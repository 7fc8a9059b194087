package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// result is one line of the table.
type result struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	What      string  `json:"what"`
	Skipped   string  `json:"skipped,omitempty"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	RPS       float64 `json:"rps"`
	P50Ms     float64 `json:"p50_ms"`
	P90Ms     float64 `json:"p90_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	RatioToDB float64 `json:"ratio_to_db"`
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
	// ServerCPUs is the CPU time the serving process (the server, or the
	// floor) used in the measured window; CPUMsPerReq divides it by the
	// requests, a figure less sensitive to a busy machine than req/s.
	ServerCPUs  float64 `json:"server_cpu_s,omitempty"`
	CPUMsPerReq float64 `json:"server_cpu_ms_per_req,omitempty"`
	ServerCores float64 `json:"server_cores_used,omitempty"`
	// DBCPUs is the CPU time of the local PostgreSQL backends serving the
	// benchmark database (all of them: the server's pool, or db-pk's).
	DBCPUs        float64 `json:"db_cpu_s,omitempty"`
	DBCPUMsPerReq float64 `json:"db_cpu_ms_per_req,omitempty"`
	// ClientCPUs is the load generator's own CPU time (the whole bench
	// process; for db-pk that includes the pgx pool's work).
	ClientCPUs        float64 `json:"client_cpu_s"`
	ClientCPUMsPerReq float64 `json:"client_cpu_ms_per_req"`
	// Load1 is the machine's one-minute load average at the end of the
	// window: far above the CPU count means other work competed.
	Load1        float64  `json:"load1"`
	Target       string   `json:"target,omitempty"`
	Met          *bool    `json:"target_met,omitempty"`
	Note         string   `json:"note,omitempty"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	// Filled by -compare.
	PrevP50Ms float64 `json:"prev_p50_ms,omitempty"`
	Growth    float64 `json:"p50_growth,omitempty"`
}

// machine describes where the run happened.
type machine struct {
	NumCPU    int    `json:"num_cpu"`
	CPUModel  string `json:"cpu_model"`
	MemTotal  string `json:"mem_total"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

func describeMachine() machine {
	m := machine{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	return m
}

// procField returns the value of the first "key: value" line of a /proc
// file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// report is the whole run, as printed and as written to -json.
type report struct {
	Commit  string    `json:"commit"`
	Time    time.Time `json:"time"`
	Machine machine   `json:"machine"`
	Config  struct {
		DB          string   `json:"db"`
		Patients    int      `json:"patients"`
		Owned       int      `json:"owned"`
		Doctors     int      `json:"doctors"`
		Concurrency int      `json:"concurrency"`
		DurationS   float64  `json:"duration_s"`
		WarmupS     float64  `json:"warmup_s"`
		DeepPage    int      `json:"deep_page"`
		ServerEnv   []string `json:"server_env,omitempty"`
	} `json:"config"`
	Seed struct {
		Reused   bool      `json:"reused"`
		SeededAt time.Time `json:"seeded_at"`
		Seconds  float64   `json:"seconds"`
	} `json:"seed"`
	StartupS        []float64 `json:"startup_s"`
	StartupMedianS  float64   `json:"startup_median_s"`
	HashMs          float64   `json:"hash_cpu_ms"`
	HashWallMs      float64   `json:"hash_wall_ms"`
	LoginHashMs     float64   `json:"hash_cpu_ms_before_login,omitempty"`
	ExpectedLoginPS float64   `json:"expected_logins_per_s"`
	HashesAtOnce    float64   `json:"hashes_per_s_all_cores"`
	ServerPeakRSSMB float64   `json:"server_peak_rss_mb"`
	Results         []result  `json:"results"`
	ComparedWith    string    `json:"compared_with,omitempty"`
}

func (b *bench) report(hwm int64) *report {
	rep := &report{Commit: gitCommit(), Time: time.Now().UTC().Truncate(time.Second), Machine: b.mach, Results: b.results}
	rep.Config.DB = b.o.db
	rep.Config.Patients, rep.Config.Owned = b.o.patients, b.o.owned
	rep.Config.Doctors = len(b.fx.doctors)
	rep.Config.Concurrency = b.o.concurrency
	rep.Config.DurationS, rep.Config.WarmupS = b.o.duration.Seconds(), b.o.warmup.Seconds()
	rep.Config.DeepPage = b.fx.deepPage
	rep.Config.ServerEnv = b.o.serverEnv
	rep.Seed.Reused, rep.Seed.SeededAt, rep.Seed.Seconds = b.fx.reused, b.fx.seed.SeededAt, b.fx.seed.SeedSeconds
	for _, d := range b.startups {
		rep.StartupS = append(rep.StartupS, d.Seconds())
	}
	sorted := slices.Clone(rep.StartupS)
	slices.Sort(sorted)
	rep.StartupMedianS = sorted[len(sorted)/2]
	rep.HashMs, rep.HashWallMs, rep.LoginHashMs = ms(b.hashTime), ms(b.hashWall), ms(b.loginHashTime)
	rep.ExpectedLoginPS = b.expectedLogins()
	rep.HashesAtOnce = b.hashesAtOnce
	rep.ServerPeakRSSMB = mb(hwm)
	return rep
}

// gitCommit names the code measured: the HEAD commit, marked dirty when
// the work tree has changes.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "-dirty"
	}
	return c
}

// growthScenarios are the growth targets: p50 within 2× of the
// small database's.
var growthScenarios = []string{"patients-page1", "patients-by-name", "patients-deep", "patients-cursor", "patients-search", "doctors-search", "mappings-page1", "admin-changelist"}

// compareWith adds an earlier run's p50 and the growth ratio to each line.
func (rep *report) compareWith(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-compare: %w", err)
	}
	var prev report
	if err := json.Unmarshal(raw, &prev); err != nil {
		return fmt.Errorf("-compare %s: %w", path, err)
	}
	rep.ComparedWith = fmt.Sprintf("%s (%s, %d patients, %d owned, %s)", path, prev.Commit, prev.Config.Patients, prev.Config.Owned, prev.Config.DB)
	for i := range rep.Results {
		r := &rep.Results[i]
		for _, p := range prev.Results {
			if p.Name == r.Name && p.Skipped == "" && r.Skipped == "" && p.P50Ms > 0 {
				r.PrevP50Ms, r.Growth = p.P50Ms, r.P50Ms/p.P50Ms
			}
		}
	}
	return nil
}

func (rep *report) write(path string) error {
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

func (rep *report) print(w io.Writer) {
	c := rep.Config
	fmt.Fprintf(w, "\nhealthcare benchmark %s  %s\n", rep.Commit, rep.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "machine: %d CPUs, %s, %s RAM, %s %s\n", rep.Machine.NumCPU, rep.Machine.CPUModel, rep.Machine.MemTotal, rep.Machine.GoVersion, rep.Machine.OS)
	seed := "seeded now"
	if rep.Seed.Reused {
		seed = "reused seed"
	}
	fmt.Fprintf(w, "database: %s, %d patients (%d owned by the benchmark user), %d doctors, %s\n", c.DB, c.Patients, c.Owned, c.Doctors, seed)
	fmt.Fprintf(w, "load: %d workers, %gs warm-up + %gs per scenario\n", c.Concurrency, c.WarmupS, c.DurationS)
	if len(c.ServerEnv) > 0 {
		fmt.Fprintf(w, "server settings: %s\n", strings.Join(c.ServerEnv, " "))
	}
	if rep.ComparedWith != "" {
		fmt.Fprintf(w, "compared with: %s\n", rep.ComparedWith)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "scenario\treq/s\tp50 ms\tp99 ms\terrors\t×DB\tsrv CPU ms/req\tDB CPU ms/req\tRSS MB\tload\ttarget\t"
	if rep.ComparedWith != "" {
		header += "prev p50\tgrowth\t"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rep.Results {
		if r.Skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t\t\n", r.Name)
			continue
		}
		target := ""
		if r.Met != nil {
			target = "no: " + r.Target
			if *r.Met {
				target = "yes: " + r.Target
			}
		}
		rss := "-"
		if r.PeakRSSMB > 0 {
			rss = fmt.Sprintf("%.0f", r.PeakRSSMB)
		}
		cpu := "-"
		if r.CPUMsPerReq > 0 {
			cpu = fmt.Sprintf("%.3f", r.CPUMsPerReq)
		}
		dbcpu := "-"
		if r.DBCPUMsPerReq > 0 {
			dbcpu = fmt.Sprintf("%.3f", r.DBCPUMsPerReq)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.2f\t%d\t%.2f\t%s\t%s\t%s\t%.1f\t%s\t",
			r.Name, r.RPS, r.P50Ms, r.P99Ms, r.Errors, r.RatioToDB, cpu, dbcpu, rss, r.Load1, target)
		if rep.ComparedWith != "" {
			if r.Growth > 0 {
				mark := ""
				if slices.Contains(growthScenarios, r.Name) {
					mark = map[bool]string{true: " ok", false: " >2×"}[r.Growth <= 2]
				}
				fmt.Fprintf(tw, "%.2f\t%.2f×%s\t", r.PrevP50Ms, r.Growth, mark)
			} else {
				fmt.Fprint(tw, "-\t-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rep.Results {
		switch {
		case r.Skipped != "":
			fmt.Fprintf(w, "  %-18s skipped: %s\n", r.Name, r.Skipped)
		case r.Note != "":
			fmt.Fprintf(w, "  %-18s %s\n", r.Name, r.Note)
		}
	}
	startups := make([]string, len(rep.StartupS))
	for i, s := range rep.StartupS {
		startups[i] = fmt.Sprintf("%.0f ms", s*1000)
	}
	fmt.Fprintf(w, "\nstart-up to ready (/readyz 200): %s (median %.0f ms; target < 2 s at 1,000,000 patients)\n",
		strings.Join(startups, ", "), rep.StartupMedianS*1000)
	fmt.Fprintf(w, "server peak resident memory (VmHWM over the run): %.0f MB (target < 150 MB)\n", rep.ServerPeakRSSMB)
	fmt.Fprintf(w, "one argon2id hash: %.1f ms of CPU (%.1f ms wall)", rep.HashMs, rep.HashWallMs)
	if rep.LoginHashMs > 0 {
		fmt.Fprintf(w, " at the start, %.1f ms just before the login scenario", rep.LoginHashMs)
	}
	fmt.Fprintf(w, ", so logins/s should be about %.1f\n", rep.ExpectedLoginPS)
	if rep.ExpectedLoginPS > 0 {
		fmt.Fprintf(w, "one hash per core at once: %.1f hashes/s, %.0f%% of that (the cores share caches and memory bandwidth)\n",
			rep.HashesAtOnce, 100*rep.HashesAtOnce/rep.ExpectedLoginPS)
	}
}
