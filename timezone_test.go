package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"healthcare/models"
	"healthcare/models/modelstest"
)

// TIME_ZONE reaches the server's "today" (config, main, the store): the
// same date of birth, today in UTC+14, is accepted by a clinic there and
// is in the future for one in UTC-12 (26 hours apart: their dates always
// differ). The zone names are the zone database's (compiled in, so the
// distroless image knows them too); POSIX's Etc/GMT-14 is UTC+14.
func TestServerTodayIsInTimeZone(t *testing.T) {
	t.Parallel()
	db, dsn := modelstest.OpenDSN(t)
	store := models.NewStore(db, models.NewHasher(modelstest.CheapHash, 1))
	if _, err := store.CreateUser(context.Background(), models.NewUser{
		Name: "Zones", Email: "zones@example.com", Password: testPassword, IsActive: true,
	}); err != nil {
		t.Fatal(err)
	}
	east := time.FixedZone("UTC+14", 14*3600)
	for _, tc := range []struct {
		zone string
		want int
	}{
		{"Etc/GMT-14", http.StatusCreated},
		{"Etc/GMT+12", http.StatusBadRequest},
	} {
		srv := secStartServer(t, dsn, "TIME_ZONE="+tc.zone)
		base := "http://" + srv.addr
		resp, err := http.Post(base+"/api/auth/login/", "application/json",
			strings.NewReader(`{"email":"zones@example.com","password":"`+testPassword+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		var tokens struct{ Access string }
		_ = json.NewDecoder(resp.Body).Decode(&tokens)
		resp.Body.Close()
		for attempt := 0; ; attempt++ {
			born := time.Now().In(east).Format(models.DateLayout)
			req, _ := http.NewRequest(http.MethodPost, base+"/api/patients/",
				strings.NewReader(`{"name":"Born `+tc.zone+`","date_of_birth":"`+born+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tokens.Access)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var created struct {
				CreatedAt string `json:"created_at"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&created)
			resp.Body.Close()
			if time.Now().In(east).Format(models.DateLayout) != born && attempt < 2 {
				continue // a midnight passed: again
			}
			if resp.StatusCode != tc.want {
				t.Errorf("TIME_ZONE=%s, born %s: status %d, want %d", tc.zone, born, resp.StatusCode, tc.want)
			}
			// API.md: timestamps are RFC 3339 UTC, whatever the clinic's zone.
			if resp.StatusCode == http.StatusCreated {
				if at, err := time.Parse(time.RFC3339Nano, created.CreatedAt); err != nil || !strings.HasSuffix(created.CreatedAt, "Z") || time.Since(at).Abs() > time.Hour {
					t.Errorf("TIME_ZONE=%s: created_at %q, want RFC 3339 UTC, now", tc.zone, created.CreatedAt)
				}
			}
			break
		}
	}
}
