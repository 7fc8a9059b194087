package models

import (
	"context"
	"database/sql"

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

// registerCustomPlans has marked statements executed unprepared.
func registerCustomPlans(db *gorm.DB) error {
	unprepared := func(tx *gorm.DB) {
		if marked, _ := tx.Get(customPlanKey); marked != true {
			return
		}
		if _, done := tx.Statement.ConnPool.(unpreparedPool); !done {
			tx.Statement.ConnPool = unpreparedPool{tx.Statement.ConnPool}
		}
	}
	if err := db.Callback().Query().Before("gorm:query").Register(customPlanKey, unprepared); err != nil {
		return err
	}
	return db.Callback().Row().Before("gorm:row").Register(customPlanKey, unprepared)
}

// unpreparedPool runs its queries in pgx's QueryExecModeCacheDescribe: an
// unnamed statement, parsed and planned with its arguments each time.
type unpreparedPool struct{ gorm.ConnPool }

func (p unpreparedPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.ConnPool.QueryContext(ctx, query, unpreparedArgs(args)...)
}

func (p unpreparedPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.ConnPool.QueryRowContext(ctx, query, unpreparedArgs(args)...)
}

func (p unpreparedPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.ConnPool.ExecContext(ctx, query, unpreparedArgs(args)...)
}

// unpreparedArgs puts the mode first, where pgx looks for it (and takes it
// out before binding the arguments).
func unpreparedArgs(args []any) []any {
	return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
}
