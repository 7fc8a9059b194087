package models_test

import (
	"context"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// Zones east and west of UTC, fixed so the test needs no tzdata.
var (
	tokyo   = time.FixedZone("JST", 9*3600)
	newYork = time.FixedZone("EST", -5*3600)
)

// The Store compares instants, whatever zone a caller's time is in. SQLite
// stores a time as text in the zone it was given, so a cutoff in a zone
// east of UTC compared as text with times stored in UTC reads as hours
// later: the hourly purge, called with time.Now() on a host in Tokyo,
// deleted tokens that had hours to live and logged everyone out.
func TestStoreTimesInAnyZone(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := context.Background()
	u := admStoreUser(t, store, "zones@example.com", false)
	now := time.Now()

	access := models.IssuedToken{JTI: "zone-access", Type: models.AccessToken, ExpiresAt: now.Add(5 * time.Minute).In(tokyo).Truncate(time.Second)}
	refresh := models.IssuedToken{JTI: "zone-refresh", Type: models.RefreshToken, ExpiresAt: now.Add(3 * time.Hour).UTC().Truncate(time.Second)}
	if _, err := store.StartTokenFamily(ctx, u, access, refresh); err != nil {
		t.Fatal(err)
	}
	for _, cutoff := range []time.Time{now.Add(-time.Hour).In(tokyo), now.Add(-time.Hour).In(newYork), now.Add(-time.Hour)} {
		if n, err := store.PurgeExpiredTokens(ctx, cutoff); err != nil || n != 0 {
			t.Fatalf("purge before %v = %d, %v; want 0: both tokens are live", cutoff, n, err)
		}
	}
	if _, err := store.AuthenticateToken(ctx, access.JTI, u.ID); err != nil {
		t.Fatalf("the live access token no longer authenticates: %v", err)
	}
	// A cutoff past both ends, in a zone west of UTC, purges both.
	if n, err := store.PurgeExpiredTokens(ctx, now.Add(4*time.Hour).In(newYork)); err != nil || n != 2 {
		t.Fatalf("purge past both tokens' ends = %d, %v; want 2", n, err)
	}

	limits := models.SessionTimeouts{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	session := models.NewSessionToken()
	if err := store.SaveSession(ctx, session, &u.ID, `{}`, now.In(tokyo), limits); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now.Add(time.Minute).In(newYork), now.Add(time.Minute).In(tokyo)} {
		if n, err := store.PurgeExpiredSessions(ctx, at, limits.Idle); err != nil || n != 0 {
			t.Fatalf("purge sessions at %v = %d, %v; want 0: the session is a minute old", at, n, err)
		}
	}
	if _, err := store.Session(ctx, session, now.Add(time.Minute).In(newYork), limits.Idle); err != nil {
		t.Fatalf("the live session was lost: %v", err)
	}
	if n, err := store.PurgeExpiredSessions(ctx, now.Add(time.Hour).In(tokyo), limits.Idle); err != nil || n != 1 {
		t.Fatalf("purge sessions an hour idle = %d, %v; want 1", n, err)
	}
}

// "Not in the future" is judged by the clinic's date (TIME_ZONE), not
// UTC's: a clinic east of UTC records a baby born this morning before
// UTC's midnight, and one west of it does not take tomorrow's date. UTC+14
// and UTC-12 are 26 hours apart, so their dates always differ.
func TestTodayIsTheClinicsDate(t *testing.T) {
	t.Parallel()
	store := modelstest.Store(t)
	ctx := context.Background()
	owner := admStoreUser(t, store, "clinic-date@example.com", false)
	dateIn := func(loc *time.Location) models.Date {
		n := time.Now().In(loc)
		return models.NewDate(n.Year(), n.Month(), n.Day())
	}
	before := dateIn(time.UTC)
	got := store.Today()
	if after := dateIn(time.UTC); got != before && got != after { // either, should a midnight pass
		t.Fatalf("Today() = %v by default, want UTC's %v", got, after)
	}
	east, west := time.FixedZone("UTC+14", 14*3600), time.FixedZone("UTC-12", -12*3600)
	for range 3 { // again if a midnight passed between the dates and the checks
		born := dateIn(east)
		store.SetTimeZone(east)
		eastErr := store.CreatePatient(ctx, owner.ID, &models.Patient{Name: "Born East", DateOfBirth: &born})
		store.SetTimeZone(west)
		westErr := store.CreatePatient(ctx, owner.ID, &models.Patient{Name: "Born West", DateOfBirth: &born})
		if dateIn(east) != born {
			continue
		}
		if eastErr != nil {
			t.Fatalf("in UTC+14, born %v (today there): %v", born, eastErr)
		}
		if models.ErrorCode(westErr) != models.Invalid {
			t.Fatalf("in UTC-12, born %v (tomorrow or later there): %v, want invalid", born, westErr)
		}
		return
	}
	t.Fatal("a midnight passed during each of three tries")
}

// Where clocks went back from 01:00 to midnight (Amman, 2021-10-29), the
// day began at the first midnight (21:00 UTC, at UTC+3), not the second
// (22:00 UTC, at UTC+2): an event at 21:30 UTC, shown as 00:30 on the 29th,
// is the 29th's.
func TestStartOfDayMidnightTwice(t *testing.T) {
	t.Parallel()
	amman, err := time.LoadLocation("Asia/Amman")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := models.StartOfDay(2021, 10, 29, amman), time.Date(2021, 10, 28, 21, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("models.StartOfDay(2021-10-29, Amman) = %v, want %v", got, want)
	}
	// The days around it, and a day of the change back at 01:00 (Berlin,
	// 2026-10-25), begin at their one midnight.
	if got, want := models.StartOfDay(2021, 10, 30, amman), time.Date(2021, 10, 29, 22, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("models.StartOfDay(2021-10-30, Amman) = %v, want %v", got, want)
	}
	if got, want := models.StartOfDay(2021, 10, 28, amman), time.Date(2021, 10, 27, 21, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("models.StartOfDay(2021-10-28, Amman) = %v, want %v", got, want)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := models.StartOfDay(2026, 10, 25, berlin), time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("models.StartOfDay(2026-10-25, Berlin) = %v, want %v", got, want)
	}
}

// DaysIn spans whole days of the clinic: -from 2026-03-29 -to 2026-03-29 in
// Berlin is the 23 hours of the day its clocks go forward, and a zero date
// leaves its end open.
func TestDaysIn(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	from, to := models.DaysIn(day, day, berlin)
	if want := time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC); !from.Equal(want) {
		t.Errorf("from = %v, want %v", from, want)
	}
	if want := time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC); !to.Equal(want) {
		t.Errorf("to = %v, want %v", to, want)
	}
	if from, to := models.DaysIn(time.Time{}, day, time.UTC); !from.IsZero() || !to.Equal(day.AddDate(0, 0, 1)) {
		t.Errorf("DaysIn(zero, %v, UTC) = %v, %v; want an open start and the next midnight", day, from, to)
	}
	if from, to := models.DaysIn(day, time.Time{}, time.UTC); !from.Equal(day) || !to.IsZero() {
		t.Errorf("DaysIn(%v, zero, UTC) = %v, %v; want its midnight and an open end", day, from, to)
	}
}
