package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SeedOptions size the demo data.
type SeedOptions struct {
	Patients int // total patients (default 1000)
	// DemoPatients of them belong to the demo user (default: all up to
	// 1000, then 5%); the rest to filler users, 10,000 each, so the demo
	// user's lists behave as in a large clinic.
	DemoPatients int
	Doctors      int  // default max(20, Patients/1000)
	Force        bool // seed even if the database already has data
	Seed         uint64
}

// SeedResult reports what SeedDemo made.
type SeedResult struct {
	DemoEmail, DemoPassword   string // password "" if the user already existed
	StaffEmail, StaffPassword string
	Patients, Doctors         int
	Mappings                  int
}

// Demo accounts.
const (
	DemoEmail  = "demo@example.com"
	StaffEmail = "staff@example.com"
)

const seedBatch = 1000

// SeedLayout numbers how SeedDemo lays out its data, so a tool that keeps
// seeded databases (the benchmark) can tell one seeded the same way. 2:
// patients in creation order, owners interleaved. 3: with their search
// text (PostgreSQL's patients.search_text, filled by its trigger).
const SeedLayout = 3

// SeedDemo fills the database with realistic fake data for a demo user and
// a staff user, in batches. It refuses a database that already has patients
// or doctors unless opts.Force; accounts that exist are reused, never
// changed.
func (s *Store) SeedDemo(ctx context.Context, opts SeedOptions) (SeedResult, error) {
	if opts.Patients <= 0 {
		opts.Patients = 1000
	}
	if opts.DemoPatients <= 0 || opts.DemoPatients > opts.Patients {
		opts.DemoPatients = min(opts.Patients, max(1000, opts.Patients/20))
	}
	if opts.Doctors <= 0 {
		opts.Doctors = max(20, opts.Patients/1000)
	}
	db := s.db.WithContext(ctx)
	if !opts.Force {
		var n int64
		if err := db.Model(&Patient{}).Count(&n).Error; err != nil {
			return SeedResult{}, translate(err)
		}
		var d int64
		if err := db.Model(&Doctor{}).Count(&d).Error; err != nil {
			return SeedResult{}, translate(err)
		}
		if n+d > 0 {
			return SeedResult{}, Errorf(Conflict, "the database already has %d patients and %d doctors", n, d)
		}
	}
	rng := mathrand.New(mathrand.NewPCG(opts.Seed, 0x5eed))
	var res SeedResult
	demo, pw, err := s.seedAccount(ctx, DemoEmail, "Dana Demo", false)
	if err != nil {
		return res, err
	}
	res.DemoEmail, res.DemoPassword = DemoEmail, pw
	staff, pw, err := s.seedAccount(ctx, StaffEmail, "Sam Staff", true)
	if err != nil {
		return res, err
	}
	res.StaffEmail, res.StaffPassword = StaffEmail, pw

	doctorIDs, err := s.seedDoctors(ctx, rng, staff.ID, opts.Doctors)
	if err != nil {
		return res, err
	}
	res.Doctors = len(doctorIDs)

	// Patients arrive as a clinic's do: every owner's interleaved, each
	// created after the one before, over the last two years, so a table's
	// rows lie in the order of their creation. (Owner-sized blocks of
	// random times made a table no deployment has, where the rows of a page
	// in creation order each sit on a page of their own: BENCHMARKS.md.)
	ownerOf := make([]int64, 0, opts.Patients)
	for range opts.DemoPatients {
		ownerOf = append(ownerOf, demo.ID)
	}
	for left, i := opts.Patients-opts.DemoPatients, 1; left > 0; i++ {
		u, err := s.seedFiller(ctx, i)
		if err != nil {
			return res, err
		}
		n := min(left, 10000)
		for range n {
			ownerOf = append(ownerOf, u.ID)
		}
		left -= n
	}
	rng.Shuffle(len(ownerOf), func(i, j int) { ownerOf[i], ownerOf[j] = ownerOf[j], ownerOf[i] })
	now := s.db.NowFunc()
	const span = 730 * 24 * time.Hour
	step := span / time.Duration(len(ownerOf))
	first := now.Add(-span)
	for done := 0; done < len(ownerOf); done += seedBatch {
		batch := make([]Patient, min(seedBatch, len(ownerOf)-done))
		for i := range batch {
			k := done + i
			created := first.Add(time.Duration(k)*step + time.Duration(rng.Int64N(int64(step)))).Truncate(time.Microsecond)
			batch[i] = fakePatient(rng, ownerOf[k], created)
		}
		var mappings []Mapping
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&batch).Error; err != nil {
				return err
			}
			if len(doctorIDs) == 0 {
				return nil
			}
			for _, p := range batch {
				if p.CreatedByID != demo.ID {
					continue
				}
				for _, d := range pickDistinct(rng, doctorIDs, rng.IntN(3)) {
					owner := demo.ID
					mappings = append(mappings, Mapping{PatientID: p.ID, DoctorID: d, Notes: pick(rng, mappingNotes),
						CreatedByID: &owner, CreatedAt: p.CreatedAt.Add(time.Duration(rng.IntN(72)) * time.Hour)})
				}
			}
			if len(mappings) == 0 {
				return nil
			}
			return tx.CreateInBatches(&mappings, seedBatch).Error
		})
		if err != nil {
			return res, translate(err)
		}
		res.Patients += len(batch)
		res.Mappings += len(mappings)
	}
	return res, nil
}

// seedAccount returns the account email, creating it with a random
// password (returned) when missing.
func (s *Store) seedAccount(ctx context.Context, email, name string, staff bool) (*User, string, error) {
	u, err := s.UserByEmail(ctx, email)
	if err == nil {
		return u, "", nil
	}
	if ErrorCode(err) != NotFound {
		return nil, "", err
	}
	pw := demoPassword(rand.Reader, PasswordAttr{Name: "email address", Value: email}, PasswordAttr{Name: "name", Value: name})
	u, err = s.CreateUser(ctx, NewUser{Name: name, Email: email, Password: pw, IsActive: true, IsStaff: staff})
	return u, pw, err
}

// seedFiller returns filler owner i, whose password is unusable: nobody can
// log in as it.
func (s *Store) seedFiller(ctx context.Context, i int) (*User, error) {
	email := fmt.Sprintf("filler%d@example.com", i)
	if u, err := s.UserByEmail(ctx, email); err == nil {
		return u, nil
	}
	u := &User{Email: email, Name: fmt.Sprintf("Filler Owner %d", i), PasswordHash: "!unusable",
		IsActive: true, DateJoined: s.db.NowFunc()}
	return u, translate(s.db.WithContext(ctx).Create(u).Error)
}

func (s *Store) seedDoctors(ctx context.Context, rng *mathrand.Rand, staffID int64, n int) ([]int64, error) {
	now := s.db.NowFunc()
	suffix := randomSuffix()
	doctors := make([]Doctor, n)
	for i := range doctors {
		first, last := pick(rng, firstNames), pick(rng, lastNames)
		by := staffID
		doctors[i] = Doctor{
			Name: "Dr. " + first + " " + last, Specialization: pick(rng, specializations),
			Email:             fmt.Sprintf("%s.%s.%d.%s@clinic.example", emailPart(first), emailPart(last), i, suffix),
			Phone:             fakePhone(rng),
			YearsOfExperience: rng.IntN(41), CreatedByID: &by,
			CreatedAt: now.Add(-time.Duration(rng.IntN(730*24)) * time.Hour), UpdatedAt: now,
		}
	}
	if err := s.db.WithContext(ctx).CreateInBatches(&doctors, seedBatch).Error; err != nil {
		return nil, translate(err)
	}
	ids := make([]int64, n)
	for i, d := range doctors {
		ids[i] = d.ID
	}
	return ids, nil
}

// asciiLetters spells the seed's accented letters in ASCII for emails,
// whose user part is ASCII (ValidEmail).
var asciiLetters = strings.NewReplacer("é", "e", "ë", "e", "ü", "u")

// emailPart is a name as an email's user part: lower case, ASCII.
func emailPart(name string) string { return asciiLetters.Replace(strings.ToLower(name)) }

func fakePatient(rng *mathrand.Rand, owner int64, created time.Time) Patient {
	first, last := pick(rng, firstNames), pick(rng, lastNames)
	p := Patient{
		Name: first + " " + last, Gender: pick(rng, Genders),
		Phone:          fakePhone(rng),
		Email:          fmt.Sprintf("%s.%s%d@mail.example", emailPart(first), emailPart(last), rng.IntN(1000)),
		Address:        fmt.Sprintf("%d %s, %s", 1+rng.IntN(999), pick(rng, streets), pick(rng, cities)),
		MedicalHistory: pick(rng, histories),
		CreatedByID:    owner, CreatedAt: created, UpdatedAt: created,
	}
	dob := NewDate(1930+rng.IntN(90), time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
	p.DateOfBirth = &dob
	return p
}

func fakePhone(rng *mathrand.Rand) string {
	return fmt.Sprintf("+1 (%03d) %03d-%04d", 200+rng.IntN(800), rng.IntN(1000), rng.IntN(10000))
}

func pick(rng *mathrand.Rand, from []string) string { return from[rng.IntN(len(from))] }

func pickDistinct(rng *mathrand.Rand, from []int64, n int) []int64 {
	if n > len(from) {
		n = len(from)
	}
	out := make([]int64, 0, n)
	for _, i := range rng.Perm(len(from))[:n] {
		out = append(out, from[i])
	}
	return out
}

// demoPassword is a random password, from random, that the password rules
// accept for an account of attrs. One random password in about 11,000 was
// "too similar to the email address" (the rule compares the characters
// the two have in common, in any order: sixteen random ones can hold most
// of "example.com"), and -seed-demo failed with "Invalid input.".
func demoPassword(random io.Reader, attrs ...PasswordAttr) string {
	var pw string
	for range 100 { // one try in 11,000 fails: a hundred never all do
		b := make([]byte, 12)
		_, _ = io.ReadFull(random, b)
		if pw = "Demo-" + base64.RawURLEncoding.EncodeToString(b); len(ValidatePassword(pw, attrs...)) == 0 {
			break
		}
	}
	return pw
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

var (
	firstNames = []string{"Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Mateo",
		"Isabella", "Lucas", "Mia", "Levi", "Charlotte", "Asher", "Harper", "James", "Evelyn", "Leo", "Aisha",
		"Chen", "Fatima", "Hiroshi", "Ingrid", "José", "Kwame", "Léa", "Mohammed", "Nadia", "Priya", "Sven", "Zoë"}
	lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
		"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
		"Nguyen", "Kim", "Patel", "Müller", "Rossi", "Dubois", "Okafor", "Tanaka", "Kowalski", "Johansson", "Silva"}
	streets = []string{"Maple Street", "Oak Avenue", "Cedar Lane", "Elm Road", "Pine Court", "Birch Way",
		"Harbor Drive", "Hillcrest Road", "Sunset Boulevard", "River Road", "Park Place", "Mill Lane"}
	cities = []string{"Springfield", "Riverside", "Fairview", "Greenville", "Madison", "Georgetown", "Franklin",
		"Clinton", "Salem", "Ashland", "Burlington", "Dover"}
	specializations = []string{"Cardiology", "Dermatology", "Endocrinology", "Family Medicine", "Gastroenterology",
		"Neurology", "Obstetrics and Gynecology", "Oncology", "Ophthalmology", "Orthopedics", "Pediatrics",
		"Psychiatry", "Pulmonology", "Radiology", "Rheumatology", "Urology"}
	histories = []string{"", "No known allergies.", "Hypertension, controlled with medication.",
		"Type 2 diabetes; HbA1c monitored quarterly.", "Asthma since childhood; uses inhaler as needed.",
		"Penicillin allergy.", "Appendectomy in 2015. No complications.", "Seasonal allergies.",
		"History of migraines.", "Hypothyroidism, on levothyroxine.", "Former smoker (quit 2018).",
		"Mild scoliosis; physiotherapy completed."}
	mappingNotes = []string{"", "Primary care", "Referred for consultation", "Follow-up in 3 months",
		"Annual check-up", "Second opinion"}
)
