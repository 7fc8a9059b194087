package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// A periodic job runs at start, not only an hour later: a server restarted
// more often than hourly (deploys, scaling) purged nothing. The error of a
// run that shutdown interrupts is not a warning.
func TestHourlyRunsAtOnce(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		hourly(ctx, log, "test job", func() error {
			ran <- struct{}{}
			cancel() // shutdown while the job runs
			return context.Canceled
		})
	}()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not run at start")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("hourly did not return when its context ended")
	}
	if logs.String() != "" {
		t.Errorf("an interrupted run was logged: %s", logs.String())
	}

	// A failure while the server runs is logged.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		hourly(ctx2, log, "test job", func() error { return errors.New("disk full") })
	}()
	defer cancel2()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "disk full") {
		if time.Now().After(deadline) {
			t.Fatal("a failed run was not logged")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// -seed-demo on a database with data says how to seed it anyway.
func TestSeedDemoNamesForce(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	if err := runSeedDemo(context.Background(), store, models.SeedOptions{Patients: 5}, io.Discard); err != nil {
		t.Fatal(err)
	}
	err := runSeedDemo(context.Background(), store, models.SeedOptions{Patients: 5}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already has 5 patients") || !strings.HasSuffix(err.Error(), "pass -force to add demo data anyway") {
		t.Fatalf("second -seed-demo: %v, want the counts and the flag that overrides them", err)
	}
}

// -seed-demo reports a failure's cause to the operator, not the API's
// "Internal server error.".
func TestSeedDemoReportsTheCause(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	const name = "test:disk-full"
	if err := store.DB().Callback().Create().Before("gorm:create").Register(name, func(tx *gorm.DB) {
		_ = tx.AddError(errors.New("disk full"))
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.DB().Callback().Create().Remove(name) })
	err := runSeedDemo(context.Background(), store, models.SeedOptions{Patients: 10}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("runSeedDemo: %v, want the cause", err)
	}
}
