package models

import "time"

// StartOfDay is the first instant of a day in loc, in UTC: its midnight,
// or where a daylight-saving change skips midnight (Santiago, Havana), the
// change itself, which time.Date would have put an hour into the day
// before; where clocks go back to midnight, so that it happens twice
// (Amman in 2021), the first, as Django's zoneinfo (fold=0) takes it,
// which time.Date does not.
//
// The admin's date filters and audit-log days, and -audit-export's days,
// all begin here, so one date selects the same events wherever it is typed.
func StartOfDay(year int, month time.Month, day int, loc *time.Location) time.Time {
	t := time.Date(year, month, day, 0, 0, 0, 0, loc)
	if t.Day() != day {
		_, t = t.ZoneBounds() // the end of the zone the day before was in
	}
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		before := start.Add(-time.Nanosecond).In(loc)
		if y, m, d := before.Date(); y == year && m == month && d == day {
			_, offset := before.Zone() // the day began in the zone before
			t = time.Date(year, month, day, 0, 0, 0, 0, time.FixedZone("", offset))
		}
	}
	return t.UTC()
}

// DaysIn is the span of calendar days first to last, both inclusive, in
// loc, as an AuditFilter's From and To: from first's start to the start
// of the day after last. Only the dates' year, month and day count; a zero
// date leaves its end open.
func DaysIn(first, last time.Time, loc *time.Location) (from, to time.Time) {
	if !first.IsZero() {
		from = StartOfDay(first.Year(), first.Month(), first.Day(), loc)
	}
	if !last.IsZero() {
		next := last.AddDate(0, 0, 1)
		to = StartOfDay(next.Year(), next.Month(), next.Day(), loc)
	}
	return from, to
}
