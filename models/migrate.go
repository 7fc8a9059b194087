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
	); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
