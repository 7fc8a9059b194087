package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// secServeEnv marks the re-executed test binary as the server process.
const secServeEnv = "SEC_SERVE_PROCESS"

// TestSecServeProcess is the server process of TestSecGracefulShutdown: the
// test binary run again with secServeEnv set, running the real main (signal
// handling and exit code included) with its configuration from the
// environment.
func TestSecServeProcess(t *testing.T) {
	if os.Getenv(secServeEnv) != "1" {
		t.Skip("the server process that TestSecGracefulShutdown starts")
	}
	os.Args = []string{"healthcare"}
	main() // exits non-zero itself on failure
}

// secServer is a server process started by secStartServer.
type secServer struct {
	cmd  *exec.Cmd
	addr string // host:port it listens on
	logs *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done
}

// secStartServer starts the server in its own process over dsn, with the
// extra KEY=VALUE settings given, and waits until it listens.
func secStartServer(t *testing.T, dsn modelstest.DSN, extra ...string) *secServer {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGTERM")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecServeProcess$", "-test.count=1")
	cmd.Dir = t.TempDir() // no stray .env
	env := []string{secServeEnv + "=1", "SECRET_KEY=" + string(testSecret), "ADDR=127.0.0.1:0", "LOG_FORMAT=json", "METRICS=false"}
	if dsn.Driver == models.Postgres {
		env = append(env, "DATABASE_URL="+dsn.DSN)
	} else {
		env = append(env, "SQLITE_PATH="+dsn.DSN)
	}
	cmd.Env = append(append(os.Environ(), env...), extra...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &secServer{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server process: %v", err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.logs, line)
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addrc <- strings.TrimPrefix(rec.Addr, "http://")
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.addr = <-addrc:
	case <-s.done:
		t.Fatalf("server process exited before serving: %v\n%s", s.err, s.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("server process did not start serving:\n%s", s.logs)
	}
	return s
}

// secBurstResult is how one request of the burst ended.
type secBurstResult struct {
	name   string
	status int
	id     int64
	err    error
}

// SIGTERM during a burst of writes: the process stops accepting, finishes
// what is in flight, closes the database and exits 0. Each request either
// completed (201, and the patient is in the database) or was refused at
// connect time (ECONNREFUSED on dial: the server never saw it). Nothing
// else is allowed: no reset or EOF on an open connection, no 5xx, and no
// patient in the database that its client was not told about.
func TestSecGracefulShutdown(t *testing.T) {
	t.Parallel()
	db, dsn := modelstest.OpenDSN(t)
	store := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	u, err := store.CreateUser(context.Background(), models.NewUser{
		Name: "Burst", Email: "burst@example.com", Password: testPassword, IsActive: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := secStartServer(t, dsn)
	base := "http://" + srv.addr

	// Keep-alive connections, as real clients use them.
	const workers = 16
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true},
		Timeout:   30 * time.Second,
	}
	defer client.CloseIdleConnections()
	resp, err := client.Post(base+"/api/auth/login/", "application/json",
		strings.NewReader(`{"email":"burst@example.com","password":"`+testPassword+`"}`))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	var tokens struct{ Access string }
	err = json.NewDecoder(resp.Body).Decode(&tokens)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}

	var (
		mu         sync.Mutex
		results    []secBurstResult
		acked      atomic.Int64
		signalled  atomic.Bool
		afterTerm  atomic.Int64 // 201s that arrived after SIGTERM was sent
		signalOnce sync.Once
		wg         sync.WaitGroup
	)
	const signalAfter = 150 // acknowledged writes before SIGTERM
	deadline := time.Now().Add(45 * time.Second)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; time.Now().Before(deadline); seq++ {
				name := fmt.Sprintf("burst %02d-%04d", w, seq)
				req, _ := http.NewRequest("POST", base+"/api/patients/", strings.NewReader(`{"name":"`+name+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tokens.Access)
				r := secBurstResult{name: name}
				resp, err := client.Do(req)
				if err == nil {
					r.status = resp.StatusCode
					var p struct{ ID int64 }
					if derr := json.NewDecoder(resp.Body).Decode(&p); derr != nil {
						r.err = fmt.Errorf("read body: %w", derr)
					}
					resp.Body.Close()
					r.id = p.ID
				} else {
					r.err = err
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if r.err != nil || r.status != http.StatusCreated {
					return // refused (the server is gone) or a failure to report
				}
				if signalled.Load() {
					afterTerm.Add(1)
				}
				if acked.Add(1) >= signalAfter {
					signalOnce.Do(func() {
						signalled.Store(true)
						if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
							t.Errorf("SIGTERM: %v", err)
						}
					})
				}
			}
		}()
	}
	wg.Wait()

	select {
	case <-srv.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not exit after SIGTERM:\n%s", srv.logs)
	}
	if srv.err != nil {
		t.Errorf("server process: %v (want exit status 0)\n%s", srv.err, srv.logs)
	}
	if !signalled.Load() {
		t.Fatalf("the burst never reached %d writes; server log:\n%s", signalAfter, srv.logs)
	}

	ackedIDs := map[int64]string{}
	refused := 0
	for _, r := range results {
		switch {
		case r.err == nil && r.status == http.StatusCreated && r.id > 0:
			ackedIDs[r.id] = r.name
		case r.err != nil && secRefusedAtConnect(r.err):
			refused++
		default:
			t.Errorf("%s: status %d, error %v; want 201 or a connection refused at dial", r.name, r.status, r.err)
		}
	}
	if refused != workers {
		t.Errorf("%d requests refused at connect, want one per worker (%d)", refused, workers)
	}
	if afterTerm.Load() == 0 {
		t.Errorf("no write completed after SIGTERM was sent: the signal did not land mid-burst")
	}

	// Every acknowledged write is stored, and nothing else is.
	var stored []models.Patient
	if err := db.Where("created_by_id = ?", u.ID).Find(&stored).Error; err != nil {
		t.Fatal(err)
	}
	for _, p := range stored {
		name, ok := ackedIDs[p.ID]
		if !ok {
			t.Errorf("patient %d %q is stored but its client got no 201", p.ID, p.Name)
		} else if name != p.Name {
			t.Errorf("patient %d is %q, acknowledged as %q", p.ID, p.Name, name)
		}
		delete(ackedIDs, p.ID)
	}
	for id, name := range ackedIDs {
		t.Errorf("acknowledged patient %d %q is not in the database", id, name)
	}
	t.Logf("%d writes acknowledged (%d after SIGTERM), %d refused at connect", len(stored), afterTerm.Load(), refused)
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(srv.logs.String(), want) {
			t.Errorf("server log lacks %s:\n%s", want, srv.logs)
		}
	}
}

// secRefusedAtConnect reports whether err is a dial that the server's
// host refused: the request never reached the server.
func secRefusedAtConnect(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNREFUSED)
}

// A deployment (its own SECRET_KEY) started without ALLOWED_HOSTS says, once,
// that it serves any Host; with ALLOWED_HOSTS it does not.
func TestWarnsWithoutAllowedHosts(t *testing.T) {
	t.Parallel()
	const warning = "ALLOWED_HOSTS is not set"
	for _, tc := range []struct {
		extra []string
		warns bool
	}{{nil, true}, {[]string{"ALLOWED_HOSTS=api.example.com"}, false}} {
		_, dsn := modelstest.OpenDSN(t)
		srv := secStartServer(t, dsn, tc.extra...)
		if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-srv.done
		if got := strings.Count(srv.logs.String(), warning); got != map[bool]int{true: 1, false: 0}[tc.warns] {
			t.Errorf("settings %v: the warning appears %d times; logs:\n%s", tc.extra, got, srv.logs)
		}
	}
}

// With SHUTDOWN_DELAY, a SIGTERM first makes the process not ready (/readyz
// 503, the contract's body) while it goes on serving: a load balancer takes
// it out before its listener closes. Then it stops as without one.
func TestShutdownDelayKeepsServingWhileNotReady(t *testing.T) {
	t.Parallel()
	_, dsn := modelstest.OpenDSN(t)
	srv := secStartServer(t, dsn, "SHUTDOWN_DELAY=4s")
	base := "http://" + srv.addr
	get := func(path string) (int, string) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("before SIGTERM: /readyz = %d %s", code, body)
	}
	signalled := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	notReady := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !notReady; time.Sleep(50 * time.Millisecond) {
		code, body := get("/readyz")
		notReady = code == http.StatusServiceUnavailable && body == `{"status":"unavailable"}`
	}
	if !notReady {
		t.Fatalf("/readyz did not answer 503 after SIGTERM; logs:\n%s", srv.logs)
	}
	// Still serving: new connections are accepted and answered.
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("during the delay: /healthz = %d %s, want 200", code, body)
	}
	if code, body := get("/api/patients/"); code != http.StatusUnauthorized {
		t.Errorf("during the delay: /api/patients/ = %d %s, want the 401 of a request without a token", code, body)
	}
	select {
	case <-srv.done:
		if srv.err != nil {
			t.Errorf("exit: %v; logs:\n%s", srv.err, srv.logs)
		}
		if waited := time.Since(signalled); waited < 4*time.Second { // the delay is a floor, not a speed
			t.Errorf("the process stopped %v after SIGTERM, before its 4s delay", waited.Round(time.Millisecond))
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("the process did not stop after its delay; logs:\n%s", srv.logs)
	}
	if !strings.Contains(srv.logs.String(), "not ready, serving for SHUTDOWN_DELAY") {
		t.Errorf("the delay is not logged:\n%s", srv.logs)
	}
}

// A request that outlasts the shutdown's grace (a CSV export runs for
// minutes) has its context cancelled before the grace is up, so it ends
// and the shutdown completes instead of timing out and closing the
// database under it.
func TestShutdownCancelsLongRequests(t *testing.T) {
	t.Parallel()
	requests, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	started := make(chan struct{})
	var drain drainer
	srv := &http.Server{
		BaseContext: func(net.Listener) context.Context { return requests },
		Handler: drain.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("first rows\n"))
			w.(http.Flusher).Flush()
			close(started)
			<-r.Context().Done() // an export waits on its database reads
		})),
		ConnState: drain.connState,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/export"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-started
	const grace = cancelLongRequests + time.Second
	begin := time.Now()
	if err := shutdown(srv, &drain, ln, served, cancelRequests, grace); err != nil {
		t.Fatalf("shutdown with a long request in flight: %v", err)
	}
	if took := time.Since(begin); took >= grace {
		t.Errorf("shutdown took %v, its whole grace", took)
	}
}
