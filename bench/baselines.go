package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcare/models"
)

// patientColumns are the columns GET /api/patients/{id}/ reads.
const patientColumns = "id, name, date_of_birth, gender, phone, email, address, medical_history, created_by_id, created_at, updated_at"

// dbBaseline returns the database's own round trip for the API's
// single-row read: a primary-key SELECT of a whole patient row, with as
// many connections as the load generator has workers. PostgreSQL goes
// through a pgx pool; SQLite through database/sql on the connection pool
// models.Open makes for the server (its driver, file URI and pragmas).
func dbBaseline(ctx context.Context, t target, conns int, ids []int64) (reqFunc, func(), error) {
	const query = "SELECT " + patientColumns + " FROM patients WHERE id = "
	if t.driver == models.Postgres {
		cfg, err := pgxpool.ParseConfig(t.dsn)
		if err != nil {
			return nil, nil, err
		}
		cfg.MaxConns, cfg.MinConns = int32(conns), int32(conns)
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, nil, err
		}
		fn := func(ctx context.Context, w *worker) error {
			var (
				p         models.Patient
				dob       *time.Time
				createdBy int64
			)
			return pool.QueryRow(ctx, query+"$1", ids[w.rng.IntN(len(ids))]).Scan(&p.ID, &p.Name, &dob, &p.Gender,
				&p.Phone, &p.Email, &p.Address, &p.MedicalHistory, &createdBy, &p.CreatedAt, &p.UpdatedAt)
		}
		return fn, pool.Close, nil
	}
	gdb, err := models.Open(ctx, models.SQLite, t.dsn, models.PoolOptions{MaxOpenConns: conns})
	if err != nil {
		return nil, nil, err
	}
	db, err := gdb.DB()
	if err != nil {
		_ = models.Close(gdb)
		return nil, nil, err
	}
	fn := func(ctx context.Context, w *worker) error {
		var cols [11]any
		dst := make([]any, len(cols))
		for i := range cols {
			dst[i] = &cols[i]
		}
		return db.QueryRowContext(ctx, query+"?", ids[w.rng.IntN(len(ids))]).Scan(dst...)
	}
	return fn, func() { _ = models.Close(gdb) }, nil
}

// floorPath is the HTTP floor's only route.
const floorPath = "/ping"

// serveFloor serves the HTTP floor on addr until ctx ends: a gin engine in
// release mode with one handler that answers a small JSON object, and
// nothing else (no middleware, no database).
func serveFloor(ctx context.Context, addr string) error {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET(floorPath, func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	srv := &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("floor: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
