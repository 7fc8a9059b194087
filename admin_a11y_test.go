package main

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Accessibility of the admin panel, checked where it happens: what a
// keyboard or screen-reader user meets in a real Chromium, and the
// server's HTML where the markup alone decides.

// a11yPanel serves a seeded panel and returns a Chromium tab of
// width×height signed in as the seed's superuser, and the server's URL.
func a11yPanel(t *testing.T, width, height int64) (context.Context, string, admSeedData) {
	t.Helper()
	ctx := admBrowser(t, int(width), int(height))
	app := newTestApp(t)
	seed := admSeed(t, app)
	srv := httptest.NewServer(app.router)
	t.Cleanup(srv.Close)
	admRun(t, ctx, "log in",
		chromedp.EmulateViewport(width, height),
		chromedp.Navigate(srv.URL+"/admin/login/"),
		chromedp.SendKeys(sel("login-email"), seed.super.Email),
		chromedp.SendKeys(sel("login-password"), seed.super.Password),
		chromedp.Click(sel("login-submit")),
		chromedp.WaitVisible(sel("recent-actions")),
	)
	return ctx, srv.URL, seed
}

// a11yEval evaluates a JavaScript expression in the tab.
func a11yEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// contrastOnWhite is WCAG's contrast ratio of the CSS colour rgb (as
// getComputedStyle gives it: "rgb(r, g, b)") against white.
func contrastOnWhite(t *testing.T, rgb string) float64 {
	t.Helper()
	var r, g, b float64
	if _, err := fmt.Sscanf(rgb, "rgb(%g, %g, %g)", &r, &g, &b); err != nil {
		t.Fatalf("colour %q: %v", rgb, err)
	}
	channel := func(c float64) float64 {
		c /= 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	l := 0.2126*channel(r) + 0.7152*channel(g) + 0.0722*channel(b)
	return 1.05 / (l + 0.05)
}

// A control that has the keyboard's focus shows a ring that WCAG 1.4.11
// can see (3:1 against the white it sits on), checkboxes included.
func TestAdminA11yFocusRingIsVisible(t *testing.T) {
	ctx, base, seed := a11yPanel(t, 1280, 900)
	type ring struct {
		Style, Width, Color string
		FocusVisible        bool
	}
	pages := map[string][]string{
		"/admin/patients/": {`[data-testid="select-all"]`, `#searchbar`},
		"/admin/patients/" + itoa64(seed.ann.ID) + "/": {`#id_name`, `#id_gender`, `#id_medical_history`},
		"/admin/users/" + itoa64(seed.super.ID) + "/":  {`#id_is_active`},
	}
	for path, controls := range pages {
		admRun(t, ctx, "open "+path, chromedp.Navigate(base+path), chromedp.WaitVisible(sel("logout")))
		for _, css := range controls {
			// A focus() before any click counts as the keyboard's
			// (:focus-visible), as a Tab would.
			got := a11yEval[ring](t, ctx, `(() => {
				const el = document.querySelector(`+fmt.Sprintf("%q", css)+`);
				el.focus();
				const s = getComputedStyle(el);
				return {Style: s.outlineStyle, Width: s.outlineWidth, Color: s.outlineColor, FocusVisible: el.matches(":focus-visible")};
			})()`)
			if !got.FocusVisible {
				t.Fatalf("%s %s: focus() did not count as keyboard focus; the test cannot see the ring", path, css)
			}
			width, _ := strconv.ParseFloat(strings.TrimSuffix(got.Width, "px"), 64)
			if got.Style != "solid" || width < 2 {
				t.Errorf("%s %s focused: outline %s %s, want a solid one of 2px or more", path, css, got.Style, got.Width)
			}
			if c := contrastOnWhite(t, got.Color); c < 3 {
				t.Errorf("%s %s focused: outline %s has contrast %.2f:1 on white, want at least 3:1", path, css, got.Color, c)
			}
		}
	}
}
