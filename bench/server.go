package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"healthcare/models"
)

// repoRoot is the directory of the module's go.mod.
func repoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the benchmark inside the healthcare module (go run ./bench)")
	}
	return filepath.Dir(mod), nil
}

// buildServer builds the repository's server binary into dir.
func buildServer(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "healthcare")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out.String())
	}
	return bin, nil
}

// server is a running server process.
type server struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// serverEnv is the server's whole environment: nothing is inherited but
// PATH, HOME, TMPDIR and GOMAXPROCS, so a developer's DATABASE_URL or .env
// cannot change what is measured.
func serverEnv(t target, o options, addr string) []string {
	secret := make([]byte, 48)
	_, _ = rand.Read(secret)
	env := []string{
		"SECRET_KEY=" + base64.RawURLEncoding.EncodeToString(secret),
		"ADDR=" + addr,
		"LOG_LEVEL=warn",
		// The login scenarios send a distinct X-Forwarded-For per request so
		// the per-address login limit (60/min) measures nothing but hashing.
		"TRUSTED_PROXIES=127.0.0.1",
		// Outlive the whole run, so no scenario meets an expired token.
		"ACCESS_TOKEN_LIFETIME=2h",
		// One user makes every request: the per-user limit (600/min) would
		// measure nothing but itself. Its cost (one limiter lookup) stays in.
		"API_RATE_LIMIT=0",
	}
	env = append(env, inherited("PATH", "HOME", "TMPDIR", "GOMAXPROCS")...)
	if t.driver == models.Postgres {
		env = append(env, "DATABASE_URL="+t.dsn)
	} else {
		env = append(env, "SQLITE_PATH="+t.dsn)
	}
	return append(env, o.serverEnv...)
}

// startProcess runs name with args and env in dir, its output to logPath,
// and waits until GET base+readyPath answers 200. It returns the time from
// starting the process to that answer.
func startProcess(ctx context.Context, bin string, args, env []string, dir, logPath, addr, readyPath string) (*server, time.Duration, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir // no stray .env file
	cmd.Stdout, cmd.Stderr = logFile, logFile
	s := &server{cmd: cmd, base: "http://" + addr, logPath: logPath, done: make(chan struct{})}
	poll := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, 0, err
	}
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	deadline := time.After(2 * time.Minute)
	for {
		resp, err := poll.Get(s.base + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, time.Since(start), nil
			}
		}
		select {
		case <-s.done:
			return nil, 0, fmt.Errorf("server exited before it was ready (%v):\n%s", s.waitErr, tail(logPath, 20))
		case <-deadline:
			s.stop()
			return nil, 0, fmt.Errorf("server not ready after 2 minutes:\n%s", tail(logPath, 20))
		case <-ctx.Done():
			s.stop()
			return nil, 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stop asks the server to shut down gracefully, then kills it.
func (s *server) stop() {
	if s == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(25 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// exited reports whether the server process has ended.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// memory reads VmRSS and VmHWM (peak resident set) of pid in bytes.
func memory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s: %w", key, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

// rssSampler records the highest VmRSS of a process while it runs.
type rssSampler struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	peak  int64
}

func sampleRSS(pid int) *rssSampler {
	r := &rssSampler{stopc: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := memory(pid); err == nil && rss > r.peak {
				r.peak = rss
			}
			select {
			case <-r.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// stop ends sampling and returns the peak in bytes.
func (r *rssSampler) stop() int64 {
	close(r.stopc)
	r.wg.Wait()
	return r.peak
}

// perfRecorder runs `perf record` on a process for the measured window.
type perfRecorder struct {
	cmd *exec.Cmd
}

func startPerf(pid int, out string) (*perfRecorder, error) {
	cmd := exec.Command("perf", "record", "-F", "499", "--call-graph", "fp", "-p", strconv.Itoa(pid), "-o", out, "--quiet")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record: %w", err)
	}
	return &perfRecorder{cmd: cmd}, nil
}

func (p *perfRecorder) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	_ = p.cmd.Wait()
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the user plus system CPU time pid has used (all its threads).
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	_, rest, ok := strings.Cut(string(raw), ") ")
	if !ok {
		return 0, errors.New("unexpected /proc/pid/stat format")
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc/pid/stat format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc/pid/stat format")
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// loadAverage is the machine's one-minute load average.
func loadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// inherited is KEY=value for each of keys set in this process's
// environment: what a child process gets of it, no more.
func inherited(keys ...string) []string {
	var env []string
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
