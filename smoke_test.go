package main

import (
	"net/http"
	"testing"
)

func TestSmokePatientRoundTrip(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	u := app.mustUser(t, false)
	p := app.mustPatient(t, u, map[string]any{"name": " Ann ", "date_of_birth": "1990-05-06"})
	if p["name"] != "Ann" || p["date_of_birth"] != "1990-05-06" || p["email"] != "" {
		t.Fatalf("created patient = %v", p)
	}
	got := app.do(request{method: "GET", path: "/api/patients/", token: u.Access}).want(t, http.StatusOK).json(t)
	if got["count"] != float64(1) {
		t.Fatalf("list = %v", got)
	}
}
