package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// LookupItem is one choice of the admin's foreign-key picker.
type LookupItem struct {
	ID     int64  `json:"id"`
	Label  string `json:"label"`
	Detail string `json:"detail"`
}

// lookupSearch says what the picker searches, by object type: patients
// and doctors as their API lists do (search_text first, on PostgreSQL).
var lookupSearch = map[string]listSpec{
	ObjectUser:    {search: []string{"email", "name"}},
	ObjectPatient: patientList,
	ObjectDoctor:  doctorList,
}

// Lookup returns up to limit objectType objects matching query (its words,
// or an id), by name, for a picker. Finding patients is audited as a list.
func (s *Store) Lookup(ctx context.Context, objectType, query string, limit int) ([]LookupItem, error) {
	spec, ok := lookupSearch[objectType]
	if !ok {
		return nil, notFound()
	}
	db := s.db.WithContext(ctx)
	words, wordsErr := adminSearchWords(query)
	q := applyWords(db, spec.search, spec.folded, words, wordsErr)
	if id, err := strconv.ParseInt(strings.TrimSpace(query), 10, 64); err == nil && id > 0 {
		q = db.Where("id = ?", id)
	}
	order := "name"
	if objectType == ObjectUser {
		order = "email"
	}
	q = q.Order(order).Order("id").Limit(limit)
	var items []LookupItem
	var err error
	switch objectType {
	case ObjectUser:
		var rows []User
		err = q.Find(&rows).Error
		for _, u := range rows {
			items = append(items, userItem(&u))
		}
	case ObjectPatient:
		var rows []Patient
		err = q.Find(&rows).Error
		for _, p := range rows {
			items = append(items, patientItem(&p))
		}
	case ObjectDoctor:
		var rows []Doctor
		err = q.Find(&rows).Error
		for _, d := range rows {
			items = append(items, doctorItem(&d))
		}
	}
	if err != nil {
		return nil, translate(err)
	}
	if objectType == ObjectPatient {
		return items, s.audit(ctx, auditEntry{action: ActionList, objectType: ObjectPatient})
	}
	return items, nil
}

// LookupLabel returns the picker's item for objectType object id (the
// current value of a foreign key), or NotFound. Not audited: for names in
// messages about a write, which is audited itself; a page that shows the
// item uses ViewLookupLabel.
func (s *Store) LookupLabel(ctx context.Context, objectType string, id int64) (LookupItem, error) {
	db := s.db.WithContext(ctx)
	take := func(dst any) error { return translate(db.Take(dst, id).Error) }
	switch objectType {
	case ObjectUser:
		var u User
		if err := take(&u); err != nil {
			return LookupItem{}, err
		}
		return userItem(&u), nil
	case ObjectPatient:
		var p Patient
		if err := take(&p); err != nil {
			return LookupItem{}, err
		}
		return patientItem(&p), nil
	case ObjectDoctor:
		var d Doctor
		if err := take(&d); err != nil {
			return LookupItem{}, err
		}
		return doctorItem(&d), nil
	}
	return LookupItem{}, translate(gorm.ErrRecordNotFound)
}

// ViewLookupLabel is LookupLabel for a person to see: a patient's item
// (name and date of birth) is patient data, so its read is audited, as the
// picker's lists are.
func (s *Store) ViewLookupLabel(ctx context.Context, objectType string, id int64) (LookupItem, error) {
	item, err := s.LookupLabel(ctx, objectType, id)
	if err != nil || objectType != ObjectPatient {
		return item, err
	}
	return item, s.audit(ctx, auditEntry{action: ActionView, objectType: ObjectPatient, objectID: id})
}

func userItem(u *User) LookupItem {
	return LookupItem{ID: u.ID, Label: u.Email, Detail: u.Name}
}

func patientItem(p *Patient) LookupItem {
	detail := fmt.Sprintf("#%d", p.ID)
	if p.DateOfBirth != nil {
		detail += ", born " + p.DateOfBirth.String()
	}
	return LookupItem{ID: p.ID, Label: p.Name, Detail: detail}
}

func doctorItem(d *Doctor) LookupItem {
	return LookupItem{ID: d.ID, Label: d.Name, Detail: d.Specialization}
}
