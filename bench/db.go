package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"healthcare/config"
	"healthcare/models"
)

// Each size gets a database of its own by default, so runs at 1,000 and
// at 1,000,000 patients can alternate without reseeding.
func defaultPGDatabase(o options) string {
	return fmt.Sprintf("healthcare_bench_p%d_o%d", o.patients, o.owned)
}

func defaultSQLitePath(o options) string {
	return filepath.Join(os.TempDir(), "healthcare-bench", fmt.Sprintf("bench-p%d-o%d.db", o.patients, o.owned))
}

// target is the database under test.
type target struct {
	driver  string // models.SQLite or models.Postgres
	dsn     string // what the server is given: a postgres URL or an absolute file path
	display string // dsn with any password redacted
	// disposable databases (the default ones, or a postgres database whose
	// name says "bench") may be dropped when their data does not match the
	// requested size; any other only with -reseed.
	disposable bool
	pgName     string // postgres database name
	pgAdminDSN string // the same server's maintenance database
}

func resolveTarget(o options) (target, error) {
	if o.db == "sqlite" {
		path := o.sqlitePath
		if path == "" {
			path = defaultSQLitePath(o)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return target{}, err
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return target{}, err
		}
		return target{driver: models.SQLite, dsn: abs, display: abs, disposable: o.sqlitePath == ""}, nil
	}
	dsn := o.dsn
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/" + defaultPGDatabase(o) + "?sslmode=disable"
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return target{}, errors.New("-dsn: want a postgres:// URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return target{}, errors.New("-dsn: the URL names no database")
	}
	admin := *u
	admin.Path = "/postgres"
	return target{
		driver: models.Postgres, dsn: dsn, display: config.RedactDSN(dsn),
		disposable: o.dsn == "" || strings.Contains(name, "bench"),
		pgName:     name, pgAdminDSN: admin.String(),
	}, nil
}

// create makes the database if it does not exist (SQLite files make
// themselves).
func (t target) create(ctx context.Context) error {
	if t.driver != models.Postgres {
		return nil
	}
	conn, err := pgx.Connect(ctx, t.pgAdminDSN)
	if err != nil {
		return fmt.Errorf("connect to the maintenance database: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", t.pgName).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{t.pgName}.Sanitize())
	return err
}

// drop deletes the database.
func (t target) drop(ctx context.Context) error {
	if t.driver != models.Postgres {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(t.dsn + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	conn, err := pgx.Connect(ctx, t.pgAdminDSN)
	if err != nil {
		return fmt.Errorf("connect to the maintenance database: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{t.pgName}.Sanitize()+" WITH (FORCE)")
	return err
}

// open connects and migrates, as the server does on boot.
func (t target) open(ctx context.Context) (*gorm.DB, *models.Store, error) {
	db, err := models.Open(ctx, t.driver, t.dsn, models.PoolOptions{})
	if err != nil {
		return nil, nil, err
	}
	if err := models.Migrate(db); err != nil {
		_ = models.Close(db)
		return nil, nil, err
	}
	if err := db.AutoMigrate(&benchSeed{}); err != nil {
		_ = models.Close(db)
		return nil, nil, fmt.Errorf("bench_seed table: %w", err)
	}
	return db, models.NewStore(db, models.NewHasher(models.DefaultHashParams, 0)), nil
}

// benchSeed is the benchmark's own record of what it seeded: the size, and
// the highest ids the seeding made. Rows above them were made by benchmark
// runs (POST scenarios) and are deleted before and after each run, so the
// size stays what was asked.
type benchSeed struct {
	ID           int64 `gorm:"primaryKey"`
	Patients     int   `gorm:"not null"`
	Owned        int   `gorm:"not null"`
	MaxPatientID int64 `gorm:"not null"`
	MaxMappingID int64 `gorm:"not null"`
	SeededAt     time.Time
	SeedSeconds  float64
	// Layout is models.SeedLayout at seeding: a database seeded another
	// way is seeded again, so runs compare like with like.
	Layout int `gorm:"not null;default:0"`
}

func (benchSeed) TableName() string { return "bench_seed" }

// fixture is what the scenarios need to know about the seeded data.
type fixture struct {
	seed          benchSeed
	reused        bool
	demoPassword  string
	staffPassword string
	demoPatients  []int64 // ids of the seeded patients the demo user owns
	doctors       []int64
	mapped        map[[2]int64]bool // existing (patient, doctor) pairs
	patientWord   string            // a word that some demo patients' names contain
	doctorWord    string            // the most common specialization's first word
	deepPage      int               // page number of the deep-page scenarios (page_size 20)
}

// prepare makes the database hold exactly the requested data, seeding it
// when needed, and sets fresh passwords on the demo and staff accounts.
func prepare(ctx context.Context, o options, t target, logf func(string, ...any)) (*fixture, error) {
	if o.reseed {
		logf("dropping %s (-reseed)", t.display)
		if err := t.drop(ctx); err != nil {
			return nil, fmt.Errorf("drop database: %w", err)
		}
	}
	if err := t.create(ctx); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	db, store, err := t.open(ctx)
	if err != nil {
		return nil, err
	}
	// Closes whichever database db is when prepare returns.
	defer func() {
		if db != nil {
			_ = models.Close(db)
		}
	}()
	fx := &fixture{}
	if fx.reused, err = reusable(ctx, db, o, &fx.seed); err != nil {
		return nil, err
	}
	if !fx.reused {
		var n, u int64
		if err := db.WithContext(ctx).Model(&models.Patient{}).Count(&n).Error; err != nil {
			return nil, err
		}
		if err := db.WithContext(ctx).Model(&models.User{}).Count(&u).Error; err != nil {
			return nil, err
		}
		if n+u > 0 {
			if !t.disposable && !o.reseed {
				return nil, fmt.Errorf("%s has data that is not this version's benchmark seed of %d patients (%d owned; seed layout %d): pass -reseed to drop and recreate it", t.display, o.patients, o.owned, models.SeedLayout)
			}
			logf("%s does not hold this version's seed of %d patients (%d owned): dropping and recreating it", t.display, o.patients, o.owned)
			_ = models.Close(db)
			if err := t.drop(ctx); err != nil {
				return nil, fmt.Errorf("drop database: %w", err)
			}
			if err := t.create(ctx); err != nil {
				return nil, fmt.Errorf("create database: %w", err)
			}
			if db, store, err = t.open(ctx); err != nil {
				return nil, err
			}
		}
		if err := seed(ctx, db, store, o, &fx.seed, logf); err != nil {
			return nil, err
		}
	}
	// Whatever earlier runs left, start from a vacuumed, analyzed table
	// (quick when it already is).
	if err := vacuum(ctx, db, "patients", "mappings", "doctors", "users"); err != nil {
		return nil, err
	}
	if err := fx.load(ctx, db, store); err != nil {
		return nil, err
	}
	fx.deepPage = 1000
	if o.owned < 20000 {
		fx.deepPage = (o.owned + 19) / 20 // the last page
	}
	return fx, nil
}

// reusable reports whether the database already holds the requested seed,
// after deleting what earlier benchmark runs added to it.
func reusable(ctx context.Context, db *gorm.DB, o options, rec *benchSeed) (bool, error) {
	err := db.WithContext(ctx).Order("id DESC").Take(rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if rec.Patients != o.patients || rec.Owned != o.owned || rec.Layout != models.SeedLayout {
		return false, nil
	}
	if err := cleanup(ctx, db, *rec); err != nil {
		return false, err
	}
	var total, owned int64
	if err := db.WithContext(ctx).Model(&models.Patient{}).Count(&total).Error; err != nil {
		return false, err
	}
	err = db.WithContext(ctx).Model(&models.Patient{}).
		Where("created_by_id = (SELECT id FROM users WHERE email = ?)", models.DemoEmail).Count(&owned).Error
	if err != nil {
		return false, err
	}
	return total == int64(o.patients) && owned == int64(o.owned), nil
}

// pairDoctorDomain marks the doctors addPairDoctors adds (a reserved
// domain: no seeded or real doctor has it).
const pairDoctorDomain = "@bench-pairs.invalid"

// addPairDoctors adds n doctors for mapping-create's pairs and returns
// their ids.
func addPairDoctors(ctx context.Context, t target, n int) ([]int64, error) {
	db, err := models.Open(ctx, t.driver, t.dsn, models.PoolOptions{})
	if err != nil {
		return nil, err
	}
	defer models.Close(db)
	docs := make([]models.Doctor, n)
	stamp := time.Now().UnixNano()
	for i := range docs {
		docs[i] = models.Doctor{Name: fmt.Sprintf("Pair Doctor %d", i), Specialization: "Benchmark pairs",
			Email: fmt.Sprintf("pair-%d-%d%s", stamp, i, pairDoctorDomain), Phone: "+1 555 0199", YearsOfExperience: 1}
	}
	if err := db.WithContext(ctx).CreateInBatches(docs, 500).Error; err != nil {
		return nil, err
	}
	ids := make([]int64, n)
	for i := range docs {
		ids[i] = docs[i].ID
	}
	return ids, nil
}

// cleanup deletes the rows benchmark runs added after the seed.
func cleanup(ctx context.Context, db *gorm.DB, rec benchSeed) error {
	q := db.WithContext(ctx)
	m := q.Exec("DELETE FROM mappings WHERE id > ?", rec.MaxMappingID)
	if m.Error != nil {
		return fmt.Errorf("clean up mappings: %w", m.Error)
	}
	// mapping-create's extra doctors (their mappings are gone already).
	if err := q.Exec("DELETE FROM doctors WHERE email LIKE ?", "%"+pairDoctorDomain).Error; err != nil {
		return fmt.Errorf("clean up doctors: %w", err)
	}
	p := q.Exec("DELETE FROM patients WHERE id > ?", rec.MaxPatientID)
	if p.Error != nil {
		return fmt.Errorf("clean up patients: %w", p.Error)
	}
	if m.RowsAffected+p.RowsAffected > 0 {
		// The deleted rows were the owner's newest: left as dead tuples
		// they would sit at the very start of every page-1 scan until
		// autovacuum came by.
		return vacuum(ctx, db, "patients", "mappings")
	}
	return nil
}

// vacuum brings PostgreSQL tables to the state of a long-lived database:
// planner statistics fresh (ANALYZE) and the visibility map set (VACUUM),
// so index-only scans work as they would after autovacuum has run.
func vacuum(ctx context.Context, db *gorm.DB, tables ...string) error {
	if db.Dialector.Name() != "postgres" {
		return nil
	}
	stmt := "VACUUM (ANALYZE)"
	if len(tables) > 0 {
		stmt += " " + strings.Join(tables, ", ")
	}
	if err := db.WithContext(ctx).Exec(stmt).Error; err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}

// cleanupAfter opens the database again to delete what this run added.
func cleanupAfter(ctx context.Context, t target, rec benchSeed) error {
	db, err := models.Open(ctx, t.driver, t.dsn, models.PoolOptions{})
	if err != nil {
		return err
	}
	defer models.Close(db)
	return cleanup(ctx, db, rec)
}

func seed(ctx context.Context, db *gorm.DB, store *models.Store, o options, rec *benchSeed, logf func(string, ...any)) error {
	logf("seeding %d patients (%d owned by %s) ...", o.patients, o.owned, models.DemoEmail)
	start := time.Now()
	res, err := store.SeedDemo(ctx, models.SeedOptions{Patients: o.patients, DemoPatients: o.owned, Seed: 1})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	// Fresh bulk-loaded tables have no planner statistics and no
	// visibility map until autovacuum gets to them; a real database has
	// had time to.
	if err := vacuum(ctx, db); err != nil {
		return err
	}
	*rec = benchSeed{Patients: o.patients, Owned: o.owned, SeededAt: time.Now().UTC(), SeedSeconds: time.Since(start).Seconds(),
		Layout: models.SeedLayout}
	q := db.WithContext(ctx)
	if err := q.Model(&models.Patient{}).Select("COALESCE(MAX(id), 0)").Scan(&rec.MaxPatientID).Error; err != nil {
		return err
	}
	if err := q.Model(&models.Mapping{}).Select("COALESCE(MAX(id), 0)").Scan(&rec.MaxMappingID).Error; err != nil {
		return err
	}
	if err := q.Create(rec).Error; err != nil {
		return err
	}
	logf("seeded %d patients, %d doctors, %d mappings in %s", res.Patients, res.Doctors, res.Mappings,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// load resets the two accounts' passwords and reads the ids and words the
// scenarios use.
func (fx *fixture) load(ctx context.Context, db *gorm.DB, store *models.Store) error {
	q := db.WithContext(ctx)
	var err error
	if fx.staffPassword, _, err = resetPassword(ctx, store, models.StaffEmail); err != nil {
		return err
	}
	var demo *models.User
	if fx.demoPassword, demo, err = resetPassword(ctx, store, models.DemoEmail); err != nil {
		return err
	}
	if err := q.Model(&models.Patient{}).Where("created_by_id = ? AND id <= ?", demo.ID, fx.seed.MaxPatientID).
		Order("id").Pluck("id", &fx.demoPatients).Error; err != nil {
		return err
	}
	if err := q.Model(&models.Doctor{}).Order("id").Pluck("id", &fx.doctors).Error; err != nil {
		return err
	}
	var pairs []struct{ PatientID, DoctorID int64 }
	if err := q.Model(&models.Mapping{}).Select("patient_id", "doctor_id").Find(&pairs).Error; err != nil {
		return err
	}
	fx.mapped = make(map[[2]int64]bool, len(pairs))
	for _, p := range pairs {
		fx.mapped[[2]int64{p.PatientID, p.DoctorID}] = true
	}
	if len(fx.demoPatients) == 0 || len(fx.doctors) == 0 {
		return errors.New("the seed has no demo patients or no doctors")
	}
	var first models.Patient
	if err := q.Where("id = ?", fx.demoPatients[0]).Take(&first).Error; err != nil {
		return err
	}
	words := strings.Fields(first.Name)
	fx.patientWord = strings.ToLower(words[len(words)-1])
	var specs []string
	if err := q.Model(&models.Doctor{}).Pluck("specialization", &specs).Error; err != nil {
		return err
	}
	counts := map[string]int{}
	for _, s := range specs {
		counts[s]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(counts[b]-counts[a], strings.Compare(a, b)) })
	fx.doctorWord = strings.ToLower(strings.Fields(keys[0])[0])
	return nil
}

// resetPassword gives the account a fresh random password, as the admin
// panel would (Store.SetUserPassword), so the benchmark can log in to a
// database it did not seed in this run.
func resetPassword(ctx context.Context, store *models.Store, email string) (string, *models.User, error) {
	u, err := store.UserByEmail(ctx, email)
	if err != nil {
		return "", nil, fmt.Errorf("account %s: %w", email, err)
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	pw := "Bench-" + base64.RawURLEncoding.EncodeToString(b)
	return pw, u, store.SetUserPassword(ctx, u.ID, pw, "")
}
