package models_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Concurrent audited reads share INSERTs, yet each read returns only after
// its own event is stored: every one is there, once, with its actor.
func TestAuditedReadsUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "reader@example.com")
	p := listPatient(t, s, owner, models.Patient{Name: "Read Often"})
	var inserts int
	var mu sync.Mutex
	if err := s.DB().Callback().Create().After("gorm:create").Register("test:count_audit_inserts", func(db *gorm.DB) {
		if db.Statement.Table == "audit_events" {
			mu.Lock()
			inserts++
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	const readers, reads = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, readers*reads)
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := models.WithActor(context.Background(), models.Actor{UserID: owner, Email: "reader@example.com", IP: "10.0.0." + string(rune('1'+r%9))})
			for range reads {
				if _, err := s.ViewPatient(ctx, owner, p.ID); err != nil {
					errs <- err
					return
				}
				// The event is stored by the time the read returns.
				var n int64
				if err := s.DB().Model(&models.AuditEvent{}).Where("action = ? AND object_id = ?", models.ActionView, p.ID).Count(&n).Error; err != nil {
					errs <- err
					return
				}
				if n == 0 {
					errs <- errors.New("the read returned before its event was stored")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("audited read: %v", err)
	}
	var events []models.AuditEvent
	if err := s.DB().Where("action = ? AND object_id = ?", models.ActionView, p.ID).Find(&events).Error; err != nil {
		t.Fatal(err)
	}
	if len(events) != readers*reads {
		t.Fatalf("%d view events, want %d", len(events), readers*reads)
	}
	for _, ev := range events {
		if ev.UserID == nil || *ev.UserID != owner || ev.UserEmail != "reader@example.com" || ev.IP == "" {
			t.Fatalf("event without its actor: %+v", ev)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// Sixteen readers at once: some events must have shared an INSERT.
	if inserts < 1 || inserts >= readers*reads {
		t.Fatalf("%d audit INSERTs for %d events, want fewer INSERTs than events", inserts, readers*reads)
	}
	t.Logf("%d events in %d INSERTs", readers*reads, inserts)
}

// A read whose audit event cannot be stored fails: no unaudited read.
func TestAuditedReadFailsWhenTheEventCannotBeStored(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "fail@example.com")
	p := listPatient(t, s, owner, models.Patient{Name: "Unauditable"})
	refuse := []string{`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events
	  BEGIN SELECT RAISE(ABORT, 'refused'); END`}
	if modelstest.Engine() == models.Postgres {
		refuse = []string{
			`CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END; $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()`,
		}
	}
	for _, stmt := range refuse {
		if err := s.DB().Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := s.ViewPatient(context.Background(), owner, p.ID); err == nil {
				t.Errorf("read answered without its audit event: %+v", got)
			}
			if _, err := s.Patients(context.Background(), owner, models.ListQuery{}); err == nil {
				t.Error("list answered without its audit event")
			}
		}()
	}
	wg.Wait()
	// A cancelled request gives up too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.ViewPatient(ctx, owner, p.ID); err == nil {
		t.Fatal("read with a cancelled context succeeded")
	}
}

// While audit inserts cannot proceed (the table locked by another
// transaction), reads give up at their own deadline, even behind more
// waiting reads (with later deadlines) than the writer queues.
func TestAuditedReadsKeepTheirDeadlineWhileInsertsBlock(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "blocked@example.com")
	p := listPatient(t, s, owner, models.Patient{Name: "Blocked"})
	lock := s.DB().Begin()
	if lock.Error != nil {
		t.Fatal(lock.Error)
	}
	locked := true
	unlock := func() {
		if locked {
			lock.Rollback()
			locked = false
		}
	}
	defer unlock()
	if modelstest.Engine() == models.Postgres {
		if err := lock.Exec("LOCK TABLE audit_events IN EXCLUSIVE MODE").Error; err != nil {
			t.Fatal(err)
		}
	} // on SQLite, Begin took the write lock (IMMEDIATE)
	read := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := s.ViewPatient(ctx, owner, p.ID)
		return err
	}
	// More patient readers than the writer queues, with long deadlines.
	var slow sync.WaitGroup
	for range 700 {
		slow.Add(1)
		go func() {
			defer slow.Done()
			_ = read(8 * time.Second)
		}()
	}
	time.Sleep(300 * time.Millisecond) // let them queue
	var wg sync.WaitGroup
	var answered atomic.Int64
	start := time.Now()
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if read(300*time.Millisecond) == nil {
				answered.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	unlock()
	slow.Wait()
	if n := answered.Load(); n != 0 {
		t.Fatalf("%d reads answered while their audit events could not be stored", n)
	}
	// Generous for a noisy machine, and still short of the 8 s the reads
	// ahead of them may wait, which is the failure this guards against.
	if elapsed > 6*time.Second {
		t.Fatalf("reads with a 300 ms deadline took %v behind reads with later deadlines", elapsed)
	}
}

// Exports read the audit trail in keyset batches: every event once, oldest
// first, across batch boundaries, filtered alike through both entry points.
func TestAuditExportsCrossBatches(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	const n = 1201 // two full batches of 500 and a partial one
	events := make([]models.AuditEvent, n)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range events {
		action := models.ActionView
		if i%3 == 0 {
			action = models.ActionList
		}
		events[i] = models.AuditEvent{At: at.Add(time.Duration(i) * time.Second), UserEmail: "e@example.com",
			Action: action, ObjectType: models.ObjectPatient, IP: "10.0.0.1", Source: "api", Outcome: models.OutcomeSuccess, Changes: "{}"}
	}
	if err := s.DB().CreateInBatches(events, 300).Error; err != nil {
		t.Fatal(err)
	}
	collect := func(each func(func(models.AuditEvent) error) error) []int64 {
		t.Helper()
		var ids []int64
		if err := each(func(ev models.AuditEvent) error { ids = append(ids, ev.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	all := collect(func(fn func(models.AuditEvent) error) error {
		return s.EachAuditEvent(context.Background(), models.AuditFilter{}, fn)
	})
	if len(all) != n {
		t.Fatalf("%d events exported, want %d", len(all), n)
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("event %d (id %d) after id %d: not oldest first, or repeated", i, all[i], all[i-1])
		}
	}
	lists := collect(func(fn func(models.AuditEvent) error) error {
		f := models.AdminAuditFilter{AuditFilter: models.AuditFilter{Action: models.ActionList}}
		return s.EachAdminAuditEvent(context.Background(), f, fn)
	})
	if want := (n + 2) / 3; len(lists) != want {
		t.Fatalf("%d list events exported, want %d", len(lists), want)
	}
}
