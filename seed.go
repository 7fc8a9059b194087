package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"healthcare/models"
)

// runSeedDemo runs -seed-demo and prints the demo credentials.
func runSeedDemo(ctx context.Context, store *models.Store, opts models.SeedOptions, stdout io.Writer) error {
	start := time.Now()
	res, err := store.SeedDemo(models.WithActor(ctx, cliActor()), opts)
	if models.ErrorCode(err) == models.Internal {
		// The operator needs the cause (SQL, disk), not the API's message.
		return fmt.Errorf("seed demo data: %w", err)
	}
	if models.ErrorCode(err) == models.Conflict {
		return fmt.Errorf("seed demo data: %s: pass -force to add demo data anyway", models.ErrorMessage(err))
	}
	if err != nil {
		return fmt.Errorf("seed demo data: %s", models.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "Seeded %d patients, %d doctors and %d mappings in %s.\n",
		res.Patients, res.Doctors, res.Mappings, time.Since(start).Round(time.Millisecond))
	for _, acct := range []struct{ role, email, password string }{
		{"Demo user (API)", res.DemoEmail, res.DemoPassword},
		{"Staff user (API and /admin/)", res.StaffEmail, res.StaffPassword},
	} {
		pw := acct.password
		if pw == "" {
			pw = "(account existed: password unchanged)"
		}
		fmt.Fprintf(stdout, "%-30s %s  password: %s\n", acct.role+":", acct.email, pw)
	}
	return nil
}

// checkHealth answers -healthcheck: the image has no curl, so the binary
// probes itself.
func checkHealth(ctx context.Context, addr string) error {
	if addr == "" {
		addr = "127.0.0.1:8000"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: ADDR %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: status %d", resp.StatusCode)
	}
	return nil
}
