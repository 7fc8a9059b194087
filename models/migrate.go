package models

import (
	"fmt"

	"gorm.io/gorm"
)

// Migrate creates or updates every table and index. It runs on boot and in
// every test database. AutoMigrate only adds: it never drops a column.
func Migrate(db *gorm.DB) error {
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
	if err := migratePatientCounts(db); err != nil {
		return fmt.Errorf("migrate: patient counts: %w", err)
	}
	if err := migrateSearchIndexes(db); err != nil {
		return fmt.Errorf("migrate: search indexes: %w", err)
	}
	return nil
}
