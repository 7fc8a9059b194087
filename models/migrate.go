package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Migrate creates or updates every table and index. It runs on boot and in
// every test database. AutoMigrate only adds: it never drops a column.
//
// Several processes may start at once on one database (replicas of a
// deployment): their CREATE TABLEs race and all but one fail. On
// PostgreSQL they take turns on an advisory lock; on SQLite, where no lock
// outlives a pooled connection, a process that lost a race retries (every
// step is idempotent, so the retry finds the work done).
//
// The context of db (db.WithContext) bounds it all, the wait for another
// process's lock included: a replica told to stop while it waits stops.
func Migrate(db *gorm.DB) error {
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if db.Dialector.Name() == Postgres {
		unlock, err := migrationLock(ctx, db)
		if err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer unlock()
		return migrate(db)
	}
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if err = migrate(db); err == nil {
			return nil
		}
		if !sleepCtx(ctx, time.Duration(attempt*50)*time.Millisecond) {
			return err
		}
	}
	return err
}

// migrationLock holds a PostgreSQL advisory lock, per schema, on a
// connection of its own until unlock is called.
func migrationLock(ctx context.Context, db *gorm.DB) (unlock func(), err error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if sqlDB.Stats().MaxOpenConnections == 1 {
		// The lock's connection would be the only one: migrating would wait
		// for it forever.
		return func() {}, nil
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	const key = `hashtext('healthcare.migrate:' || current_schema())`
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return func() {
		// Released even when ctx has ended (closing the connection would
		// too, but a pooled one is not closed).
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`)
		_ = conn.Close()
	}, nil
}

func migrate(db *gorm.DB) error {
	if err := db.AutoMigrate(
		&User{},
		&TokenFamily{},
		&IssuedToken{},
		&Patient{},
		&Doctor{},
		&Mapping{},
		&AuditEvent{},
		&Session{},
		&PatientCount{},
		&MappingCount{},
	); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		for _, stmt := range auditTriggers[db.Dialector.Name()] {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: audit triggers: %w", err)
	}
	if err := migrateDoctorEmailKey(db); err != nil {
		return fmt.Errorf("migrate: doctors' email key: %w", err)
	}
	if err := migrateUserEmails(db); err != nil {
		return fmt.Errorf("migrate: users' emails: %w", err)
	}
	if err := migratePatientCounts(db); err != nil {
		return fmt.Errorf("migrate: patient counts: %w", err)
	}
	if err := migrateMappingCounts(db); err != nil {
		return fmt.Errorf("migrate: mapping counts: %w", err)
	}
	if err := migrateSearchIndexes(db); err != nil {
		return fmt.Errorf("migrate: search indexes: %w", err)
	}
	if err := migrateSearchText(db); err != nil {
		return fmt.Errorf("migrate: search text of patients and doctors: %w", err)
	}
	if err := migrateAuthTriggers(db); err != nil {
		return fmt.Errorf("migrate: token cache triggers: %w", err)
	}
	return nil
}
