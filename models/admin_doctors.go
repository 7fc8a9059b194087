package models

import (
	"context"
	"strings"

	"gorm.io/gorm"
)

// AdminDoctorFilter narrows the admin's doctor list; zero values match all.
type AdminDoctorFilter struct {
	Specialization string // exact, case-insensitive
}

var adminDoctorList = adminSpec{
	table:  "doctors",
	search: doctorSearch.qualified(),
	folded: doctorSearch.folded(),
	ordering: map[string]string{
		"id": "doctors.id", "name": "doctors.name", "specialization": "doctors.specialization",
		"email": "doctors.email", "years_of_experience": "doctors.years_of_experience", "created_at": "doctors.created_at",
	},
	created: "doctors.created_at",
}

func (s *Store) adminDoctors(ctx context.Context, f AdminDoctorFilter) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&Doctor{})
	if sp := strings.TrimSpace(f.Specialization); sp != "" {
		q = whereLowerEq(q, "doctors.specialization", sp)
	}
	return q
}

// AdminDoctors returns a page of the doctors matching f and q.
func (s *Store) AdminDoctors(ctx context.Context, f AdminDoctorFilter, q AdminQuery) (AdminPage[Doctor], error) {
	return adminList[Doctor](s.adminDoctors(ctx, f), adminDoctorList, q)
}

// EachAdminDoctor calls fn for every doctor matching f and q (an export).
func (s *Store) EachAdminDoctor(ctx context.Context, f AdminDoctorFilter, q AdminQuery, fn func(*Doctor) error) error {
	return s.exportAudited(ctx, ObjectDoctor, q.Search, func() error {
		return adminEach(s.adminDoctors(ctx, f), adminDoctorList, q, fn)
	})
}

// Specializations returns the distinct specializations of the doctors, for
// the changelist's filter.
func (s *Store) Specializations(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Model(&Doctor{}).Distinct("specialization").Order("specialization").
		Limit(200).Pluck("specialization", &out).Error
	return out, translate(err)
}
