package models_test

import (
	"context"
	"sync"
	"testing"

	"gorm.io/gorm"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Several server processes starting at once on one empty database (replicas
// of a deployment) all migrate it: each must succeed, and the result must
// work.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	dsn := modelstest.EmptyDSN(t)
	var dbs []*gorm.DB
	for range 4 {
		db, err := models.Open(context.Background(), dsn.Driver, dsn.DSN, models.PoolOptions{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = models.Close(db) })
		dbs = append(dbs, db)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = models.Migrate(db)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	s := models.NewStore(dbs[0], models.NewHasher(modelstest.CheapHash, 0))
	owner := listOwner(t, s, "after@example.com")
	listPatient(t, s, owner, models.Patient{Name: "Counted"})
	wantCounts(t, s, map[int64]int64{owner: 1})
}
