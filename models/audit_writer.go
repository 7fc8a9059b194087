package models

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"
)

// auditWriter writes the audit events recorded outside a transaction (every
// read of patient data, failed logins) by group commit: concurrent events
// share one multi-row INSERT and one commit, and each caller returns only
// once its own event is stored. A read is therefore never answered
// unaudited, and nothing is buffered that a crash could lose; what is saved
// is a round trip and a commit per event, which were half the database time
// of GET /api/patients/{id}/.
//
// Batches form only under load: a lone event is written at once, by one of
// at most auditWriters goroutines, which exit after auditWriterIdle without
// work (a Store needs no Close).
type auditWriter struct {
	db      *gorm.DB
	ch      chan *pendingAudit
	mu      sync.Mutex // guards workers, and sends on ch against a worker's exit
	workers int
}

type pendingAudit struct {
	ev   AuditEvent
	done chan error
}

const (
	auditWriters    = 4
	auditBatchMax   = 128
	auditWriterIdle = time.Second
	// auditWriteTimeout bounds one batch, so a database outage cannot hold
	// a writer forever; callers give up earlier, at their own deadline.
	auditWriteTimeout = 30 * time.Second
)

func newAuditWriter(db *gorm.DB) *auditWriter {
	return &auditWriter{db: db, ch: make(chan *pendingAudit, auditWriters*auditBatchMax)}
}

// write stores ev and returns when it is committed, or when ctx ends (the
// event may then still be stored: an audit trail may say too much, never
// too little).
func (w *auditWriter) write(ctx context.Context, ev AuditEvent) error {
	p := &pendingAudit{ev: ev, done: make(chan error, 1)}
	w.mu.Lock()
	if w.workers == 0 || (w.workers < auditWriters && len(w.ch) > 0) {
		w.workers++
		go w.run()
	}
	// Queued under the lock: a worker leaves only with the lock held and
	// the channel empty, so an event is never left with no one to write
	// it. A full channel is waited on outside the lock (no worker leaves
	// while it is full), so a caller never waits past its deadline on mu.
	select {
	case w.ch <- p:
		w.mu.Unlock()
	default:
		w.mu.Unlock()
		select {
		case w.ch <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *auditWriter) run() {
	idle := time.NewTimer(auditWriterIdle)
	defer idle.Stop()
	for {
		select {
		case p := <-w.ch:
			batch := []*pendingAudit{p}
		drain:
			for len(batch) < auditBatchMax {
				select {
				case p := <-w.ch:
					batch = append(batch, p)
				default:
					break drain
				}
			}
			w.insert(batch)
			idle.Reset(auditWriterIdle)
		case <-idle.C:
			w.mu.Lock()
			if len(w.ch) == 0 {
				w.workers--
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			idle.Reset(auditWriterIdle)
		}
	}
}

func (w *auditWriter) insert(batch []*pendingAudit) {
	events := make([]AuditEvent, len(batch))
	for i, p := range batch {
		events[i] = p.ev
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditWriteTimeout)
	defer cancel()
	err := w.db.WithContext(ctx).Create(&events).Error
	for _, p := range batch {
		p.done <- err
	}
}
