package models

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// A search's best plan depends on its words: a common last name is found
// fastest by walking the rows in the list's order until a page is full, a
// rare one through the trigram indexes. pgx prepares every statement once
// per connection, and PostgreSQL, after five executions of a prepared
// statement, may settle on one generic plan for any words, costed for a
// LIKE of unknown selectivity. At 1,000,000 patients it settled on the
// trigram bitmap for a user's search of "lopez" (1,592 matches): 18 ms a
// page instead of 2 (BENCHMARKS.md). Statements marked by planEachTime run
// unprepared instead (pgx's describe cache keeps the round trip to one),
// so PostgreSQL plans each with its own words, for a few tenths of a
// millisecond of planning.

// customPlanKey marks a statement whose plan depends on its values.
const customPlanKey = "healthcare:custom_plan"

// planEachTime marks db's statements to be planned with their values on
// every execution (PostgreSQL; SQLite plans every statement so anyway).
func planEachTime(db *gorm.DB) *gorm.DB {
	if db.Dialector.Name() != Postgres {
		return db
	}
	return db.Set(customPlanKey, true)
}

// keepMark is fresh (a new statement, which forgets settings) with
// planEachTime's mark of from.
func keepMark(from, fresh *gorm.DB) *gorm.DB {
	if marked, ok := from.Get(customPlanKey); ok {
		return fresh.Set(customPlanKey, marked)
	}
	return fresh
}

// registerCustomPlans has marked statements executed unprepared, when the
// connection prepares statements (pgx's default mode): the other modes
// plan every execution with its values already. The pool is unwrapped
// after the query, so nothing that reuses the statement (a transaction
// begun from it) meets the wrapper.
func registerCustomPlans(db *gorm.DB, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil || cfg.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
		return nil // gorm's driver reports a DSN it cannot parse
	}
	mode := pgx.QueryExecModeCacheDescribe // one round trip
	if cfg.DescriptionCacheCapacity == 0 {
		mode = pgx.QueryExecModeDescribeExec // needs no cache, one round trip more
	}
	wrap := func(tx *gorm.DB) {
		if marked, _ := tx.Get(customPlanKey); marked != true {
			return
		}
		if _, done := tx.Statement.ConnPool.(unpreparedPool); !done {
			tx.Statement.ConnPool = unpreparedPool{tx.Statement.ConnPool, mode}
		}
	}
	unwrap := func(tx *gorm.DB) {
		if p, ok := tx.Statement.ConnPool.(unpreparedPool); ok {
			tx.Statement.ConnPool = p.ConnPool
		}
	}
	cb := db.Callback()
	return errors.Join(
		cb.Query().Before("gorm:query").Register(customPlanKey, wrap),
		cb.Query().After("gorm:query").Register(customPlanKey+":done", unwrap),
		cb.Row().Before("gorm:row").Register(customPlanKey, wrap),
		cb.Row().After("gorm:row").Register(customPlanKey+":done", unwrap),
	)
}

// unpreparedPool runs its queries in mode (an unnamed statement, parsed
// and planned with its arguments each time).
type unpreparedPool struct {
	gorm.ConnPool
	mode pgx.QueryExecMode
}

func (p unpreparedPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.ConnPool.QueryContext(ctx, query, p.args(args)...)
}

func (p unpreparedPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.ConnPool.QueryRowContext(ctx, query, p.args(args)...)
}

func (p unpreparedPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.ConnPool.ExecContext(ctx, query, p.args(args)...)
}

// args puts the mode first, where pgx looks for it (and takes it out
// before binding the arguments).
func (p unpreparedPool) args(args []any) []any {
	return append([]any{p.mode}, args...)
}
