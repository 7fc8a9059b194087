package models_test

import (
	"context"
	"sync"
	"testing"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Transactions that read, then write, run concurrently: with DEFERRED
// transactions on SQLite some fail at once with "database is locked"
// (SQLITE_BUSY_SNAPSHOT); with IMMEDIATE ones they queue and all succeed.
func TestConcurrentReadThenWriteTransactions(t *testing.T) {
	t.Parallel()
	s := modelstest.Store(t)
	owner := listOwner(t, s, "rw@example.com")
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				errs <- s.DB().WithContext(context.Background()).Transaction(func(tx *gorm.DB) error {
					var n int64
					if err := tx.Model(&models.Patient{}).Where("created_by_id = ?", owner).Count(&n).Error; err != nil {
						return err
					}
					return tx.Create(&models.Patient{Name: "RW", Gender: models.GenderUnknown, CreatedByID: owner,
						Phone: string(rune('a'+w)) + string(rune('a'+r))}).Error
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("read-then-write transaction: %v", err)
		}
	}
	if n := trueCount(t, s, owner); n != workers*rounds {
		t.Fatalf("%d patients, want %d", n, workers*rounds)
	}
}
