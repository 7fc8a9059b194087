package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Reconnection delays of the listener, doubling from min to max, and the
// time it gives a connection attempt or one of its own queries.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 5 * time.Second
	listenTimeout  = 10 * time.Second
)

// tokenListener applies every process's announcements of changes to
// authentication (notifyAuthChanged) to one cache, over a PostgreSQL
// connection of its own.
type tokenListener struct {
	cache    *tokenCache
	db       *gorm.DB // the pool, to name the channel as the notifiers do
	config   *pgx.ConnConfig
	interval time.Duration
	onError  func(error)
}

// run listens, reconnecting after failures, until ctx ends. Between
// connections the cache is bypassed.
func (l *tokenListener) run(ctx context.Context) {
	defer l.cache.down()
	wait, reported := listenRetryMin, false
	for {
		synced, err := l.session(ctx)
		l.cache.down()
		if ctx.Err() != nil {
			return
		}
		if synced {
			wait, reported = listenRetryMin, false
		}
		if !reported && l.onError != nil {
			l.onError(err)
			reported = true
		}
		if !sleepCtx(ctx, wait) {
			return
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// session listens on one connection until it fails or ctx ends. synced
// reports whether the cache went live during it.
//
// Every interval it sends a notification to a channel of its own and,
// when that comes back, marks the cache in sync as of the sending:
// PostgreSQL delivers notifications in commit order, so every revocation
// committed before then has been applied. A listener that stops hearing
// (a silent network failure) thus turns the cache off within 2 intervals.
func (l *tokenListener) session(ctx context.Context) (synced bool, err error) {
	var channel string
	if err := l.db.WithContext(ctx).Raw("SELECT " + authChannelSQL).Scan(&channel).Error; err != nil {
		return false, fmt.Errorf("token cache listener: channel name: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, listenTimeout)
	conn, err := pgx.ConnectConfig(cctx, l.config)
	cancel()
	if err != nil {
		return false, fmt.Errorf("token cache listener: connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	syncChannel := "healthcare_sync:" + hex.EncodeToString(nonce)
	for _, ch := range []string{channel, syncChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return false, fmt.Errorf("token cache listener: listen: %w", err)
		}
	}
	// Requests that asked the database before LISTEN took effect may have
	// read a token that was revoked before it, unheard: outdate them.
	l.cache.clear()

	pending := map[string]int64{} // sync payload -> when it was sent
	for seq := uint64(1); ; seq++ {
		payload := strconv.FormatUint(seq, 10)
		sent := l.cache.elapsed()
		pctx, cancel := context.WithTimeout(ctx, listenTimeout)
		_, err := conn.Exec(pctx, "SELECT pg_notify($1, $2)", syncChannel, payload)
		cancel()
		if err != nil {
			return synced, fmt.Errorf("token cache listener: sync: %w", err)
		}
		if len(pending) > 16 { // echoes lost: only recent ones matter
			clear(pending)
		}
		pending[payload] = sent
		l.cache.sweep()

		next := time.Now().Add(l.interval)
		for {
			wctx, cancel := context.WithDeadline(ctx, next)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if n != nil {
				if n.Channel != syncChannel {
					l.apply(n.Payload)
				} else if at, ok := pending[n.Payload]; ok {
					delete(pending, n.Payload)
					l.cache.synced(at)
					synced = true
				}
			}
			if err != nil {
				if ctx.Err() == nil && pgconn.Timeout(err) {
					break // time to sync again
				}
				return synced, fmt.Errorf("token cache listener: %w", err)
			}
		}
	}
}

// apply forgets the users a notification names: user ids separated by
// commas. Anything else ("*", say, sent by hand) clears the whole cache.
func (l *tokenListener) apply(payload string) {
	ids := strings.Split(payload, ",")
	userIDs := make([]int64, 0, len(ids))
	for _, s := range ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			l.cache.clear()
			return
		}
		userIDs = append(userIDs, id)
	}
	l.cache.forget(userIDs...)
}
