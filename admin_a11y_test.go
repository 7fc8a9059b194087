package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Accessibility of the admin panel, checked where it happens: what a
// keyboard or screen-reader user meets in a real Chromium, and the
// server's HTML where the markup alone decides.

// a11yPanel serves a seeded panel and returns a Chromium tab of
// width×height signed in as the seed's superuser, and the server's URL.
func a11yPanel(t *testing.T, width, height int64) (context.Context, string, admSeedData) {
	t.Helper()
	ctx, base, seed, _ := a11yPanelApp(t, width, height)
	return ctx, base, seed
}

// a11yPanelApp is a11yPanel with the app, for a test that adds records.
func a11yPanelApp(t *testing.T, width, height int64) (context.Context, string, admSeedData, *testApp) {
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
	return ctx, srv.URL, seed, app
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

// a11yName is the role and accessible name Chromium gives the element
// that css selects.
func a11yName(t *testing.T, ctx context.Context, css string) (role, name string) {
	t.Helper()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(css)))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("find %s: %v", css, err)
	}
	nodes[0].RLock()
	id := nodes[0].BackendNodeID
	nodes[0].RUnlock()
	no := false
	tree, err := chromedp.Call(ctx, accessibility.GetPartialAXTree,
		accessibility.GetPartialAXTreeParams{BackendNodeID: id, FetchRelatives: &no})
	if err != nil {
		t.Fatalf("accessibility of %s: %v", css, err)
	}
	for _, n := range tree.Nodes {
		if n.BackendDOMNodeID != id {
			continue
		}
		if n.Role != nil {
			json.Unmarshal(n.Role.Value, &role)
		}
		if n.Name != nil {
			json.Unmarshal(n.Name.Value, &name)
		}
		return role, name
	}
	t.Fatalf("%s has no accessibility node", css)
	return "", ""
}

// a11yActive describes the focused element by its data-testid, else its
// id, else its tag.
const a11yActive = `(() => { const a = document.activeElement;
	return a.dataset.testid || a.id || a.tagName; })()`

// The foreign-key picker is a combobox a keyboard and a screen reader can
// use: it is named by its label alone and carries its field's state (help,
// errors, required); its options are reached with the arrow keys, not Tab;
// a choice brings the focus back to it and is announced; Escape or leaving
// the picker closes the list; a submitted id that names nothing stays in
// sight with its error.
func TestAdminA11yForeignKeyPicker(t *testing.T) {
	ctx, base, seed := a11yPanel(t, 1280, 900)
	const box = `[data-testid="fk-search-doctor_id"]`
	attr := func(css, name string) string {
		t.Helper()
		return a11yEval[string](t, ctx, `document.querySelector(`+strconv.Quote(css)+`).getAttribute(`+strconv.Quote(name)+`) ?? "<none>"`)
	}
	wantAttr := func(css, name, want string) {
		t.Helper()
		if got := attr(css, name); got != want {
			t.Errorf("%s %s = %q, want %q", css, name, got, want)
		}
	}
	active := func(step, want string) {
		t.Helper()
		if got := a11yEval[string](t, ctx, a11yActive); got != want {
			t.Errorf("%s: focus on %q, want %q", step, got, want)
		}
	}
	admRun(t, ctx, "open the assignment form",
		chromedp.Navigate(base+"/admin/mappings/add/"),
		chromedp.WaitVisible(box),
	)

	// Combobox semantics, named by the label without its "*".
	wantAttr(box, "role", "combobox")
	wantAttr(box, "aria-expanded", "false")
	wantAttr(box, "aria-required", "true")
	if got := attr(box, "aria-describedby"); !strings.Contains(got, "help_doctor_id") {
		t.Errorf("%s aria-describedby = %q, want the field's help", box, got)
	}
	if role, name := a11yName(t, ctx, box); role != "combobox" || name != "Doctor" {
		t.Errorf("the box: role %q, name %q; want combobox \"Doctor\"", role, name)
	}
	wantAttr(`[data-testid="fk-label-doctor_id"]`, "aria-live", "polite")

	// A click on the label focuses the box.
	admRun(t, ctx, "click the label", chromedp.Click(chromedp.CSS(`[data-testid="field-doctor_id"] > label`)))
	active("click on the label", "fk-search-doctor_id")

	// Arrow keys into the options, Enter chooses, the focus comes back.
	house := `[data-testid="fk-option"][data-id="` + itoa64(seed.house.ID) + `"]`
	admRun(t, ctx, "search a doctor",
		chromedp.SendKeys(box, "hous"),
		chromedp.WaitVisible(house),
	)
	wantAttr(box, "aria-expanded", "true")
	wantAttr(house, "tabindex", "-1")
	listID := attr(box, "aria-controls")
	if role, name := a11yName(t, ctx, "#"+listID); role != "listbox" || name == "" {
		t.Errorf("the box's aria-controls (%q): role %q, name %q; want a named listbox", listID, role, name)
	}
	admRun(t, ctx, "arrow down", chromedp.KeyEvent(kb.ArrowDown))
	active("ArrowDown from the box", "fk-option")
	admRun(t, ctx, "choose with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitNotVisible(house))
	active("Enter on an option", "fk-search-doctor_id")
	wantAttr(box, "aria-expanded", "false")
	if got := a11yEval[string](t, ctx, `document.querySelector("#id_doctor_id").value`); got != itoa64(seed.house.ID) {
		t.Errorf("after Enter on House: doctor_id = %q, want %d", got, seed.house.ID)
	}
	if got := admText(t, ctx, "fk-label-doctor_id"); !strings.Contains(got, "Gregory House") {
		t.Errorf("after Enter on House: label %q", got)
	}

	// Escape closes the list; so does leaving the picker.
	admRun(t, ctx, "Escape closes",
		chromedp.SendKeys(box, "wil"),
		chromedp.WaitVisible(`[data-testid="fk-option"]`),
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotVisible(`[data-testid="fk-results-doctor_id"]`),
	)
	wantAttr(box, "aria-expanded", "false")
	admRun(t, ctx, "leaving closes",
		chromedp.SendKeys(box, "ch"),
		chromedp.WaitVisible(`[data-testid="fk-option"]`),
		chromedp.Focus(chromedp.CSS("#id_notes")),
		chromedp.WaitNotVisible(`[data-testid="fk-results-doctor_id"]`),
	)
	wantAttr(box, "aria-expanded", "false")

	// An id that names no doctor comes back with its error, in sight.
	admRun(t, ctx, "submit an unknown doctor",
		chromedp.SetValue(chromedp.CSS("#id_doctor_id"), "999999"),
		chromedp.Click(sel("save")),
		chromedp.WaitVisible(sel("error-doctor_id")),
		chromedp.WaitVisible(box),
	)
	wantAttr(box, "aria-invalid", "true")
	if got := attr(box, "aria-describedby"); !strings.Contains(got, "err_doctor_id") {
		t.Errorf("after the error: %s aria-describedby = %q, want the field's errors", box, got)
	}
	shown := a11yEval[bool](t, ctx, `(() => { const el = document.querySelector("#id_doctor_id");
		return el.value === "999999" && el.getClientRects().length > 0; })()`)
	if !shown {
		t.Errorf("after the error: the submitted id 999999 is not shown")
	}
}

// A changelist's filters come in the Tab order where they are drawn:
// above the list on a laptop, beside it from 1,400 px (WCAG 2.4.3).
func TestAdminA11yFiltersInTabOrder(t *testing.T) {
	type order struct {
		DOMFirst, DrawnFirst, Beside bool
	}
	for _, width := range []int64{1280, 1500} {
		ctx, base, _ := a11yPanel(t, width, 900)
		admRun(t, ctx, "open patients", chromedp.Navigate(base+"/admin/patients/"), chromedp.WaitVisible(sel("results")))
		got := a11yEval[order](t, ctx, `(() => {
			const f = document.querySelector("[data-testid=filters]"), s = document.querySelector("#searchbar");
			const a = f.getBoundingClientRect(), b = s.getBoundingClientRect();
			const above = a.bottom <= b.top, left = a.right <= b.left, right = a.left >= b.right;
			return {DOMFirst: !!(f.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING),
				DrawnFirst: above || (left && a.top < b.bottom), Beside: left || right};
		})()`)
		if got.DOMFirst != got.DrawnFirst {
			t.Errorf("%d px: the filters come %s the search box in the Tab order but are drawn %s it",
				width, map[bool]string{true: "before", false: "after"}[got.DOMFirst], map[bool]string{true: "before", false: "after"}[got.DrawnFirst])
		}
		if wantBeside := width >= 1400; got.Beside != wantBeside {
			t.Errorf("%d px: filters beside the list %v, want %v", width, got.Beside, wantBeside)
		}
	}
}

// Every box a wide table scrolls in is a named region in the Tab order, so
// a keyboard can reach it and scroll it (WCAG 2.1.1).
func TestAdminA11yTableRegions(t *testing.T) {
	app := newTestApp(t)
	seed := admSeed(t, app)
	cl := app.admLogin(t, seed.super)
	ann := "/admin/patients/" + itoa64(seed.ann.ID) + "/"
	for path, want := range map[string]string{
		"/admin/patients/": "Patients",
		"/admin/doctors/":  "Doctors",
		ann:                "Assigned doctors",
		ann + "history/":   "History: Ann Archer",
		"/admin/audit/":    "Audit log",
	} {
		boxes := cl.get(path).want(t, http.StatusOK).doc(t).Find(".table-wrap")
		if boxes.Length() == 0 {
			t.Errorf("GET %s: no .table-wrap", path)
		}
		boxes.Each(func(_ int, box *goquerySelection) {
			tabindex, role, label := box.AttrOr("tabindex", ""), box.AttrOr("role", ""), box.AttrOr("aria-label", "")
			if tabindex != "0" || role != "region" || label != want {
				t.Errorf("GET %s: table box tabindex=%q role=%q aria-label=%q, want 0, region, %q", path, tabindex, role, label, want)
			}
		})
	}
}

// A form that comes back with errors says so in its title and opens on
// its error summary, whose links take the focus to their fields (the
// picker's box for a foreign key).
func TestAdminA11yErrorSummary(t *testing.T) {
	ctx, base, _ := a11yPanel(t, 1280, 900)
	admRun(t, ctx, "save a doctor with a bad email",
		chromedp.Navigate(base+"/admin/doctors/add/"),
		chromedp.WaitVisible(sel("form-doctor")),
		chromedp.SendKeys(chromedp.CSS("#id_name"), "Remy Hadley"),
		chromedp.SendKeys(chromedp.CSS("#id_email"), "thirteen@"),
		chromedp.Click(sel("save")),
		chromedp.WaitVisible(sel("error-email")),
	)
	if got := a11yEval[string](t, ctx, a11yActive); got != "form-errors" {
		t.Errorf("after a failed save: focus on %q, want the error summary", got)
	}
	if got := a11yEval[string](t, ctx, "document.title"); !strings.HasPrefix(got, "Error: ") {
		t.Errorf("after a failed save: title %q, want it to begin with \"Error: \"", got)
	}
	if got := admText(t, ctx, "error-link-email"); got != "Email: Enter a valid email address." {
		t.Errorf("the email's link in the summary = %q", got)
	}
	admRun(t, ctx, "follow the email's link", chromedp.Click(sel("error-link-email")))
	if got := a11yEval[string](t, ctx, a11yActive); got != "id_email" {
		t.Errorf("after the email's link: focus on %q, want id_email", got)
	}
	admRun(t, ctx, "save an assignment without a doctor",
		chromedp.Navigate(base+"/admin/mappings/add/"),
		chromedp.WaitVisible(sel("form-mapping")),
		chromedp.Click(sel("save")),
		chromedp.WaitVisible(sel("error-link-doctor_id")),
		chromedp.Click(sel("error-link-doctor_id")),
	)
	if got := a11yEval[string](t, ctx, a11yActive); got != "fk-search-doctor_id" {
		t.Errorf("after the doctor's link: focus on %q, want the picker's box", got)
	}
}

// Links in running text are underlined, not told from the words around
// them by colour alone (WCAG 1.4.1).
func TestAdminA11yLinksInTextAreUnderlined(t *testing.T) {
	ctx, base, seed := a11yPanel(t, 1280, 900)
	underlined := func(page, css string) {
		t.Helper()
		got := a11yEval[string](t, ctx, `getComputedStyle(document.querySelector(`+strconv.Quote(css)+`)).textDecorationLine`)
		if got != "underline" {
			t.Errorf("%s: %s has text-decoration-line %q, want underline", page, css, got)
		}
	}
	admRun(t, ctx, "search", chromedp.Navigate(base+"/admin/patients/?q=archer"), chromedp.WaitVisible(sel("results")))
	underlined("a search", ".clear-link")
	underlined("a search", `[data-testid="clear-filters"]`)
	admRun(t, ctx, "open a patient", chromedp.Navigate(base+"/admin/patients/"+itoa64(seed.ann.ID)+"/"), chromedp.WaitVisible(sel("inline")))
	underlined("a patient", ".fk-browse")
	admRun(t, ctx, "save a bad doctor",
		chromedp.Navigate(base+"/admin/doctors/add/"),
		chromedp.WaitVisible(sel("form-doctor")),
		chromedp.Click(sel("save")),
		chromedp.WaitVisible(sel("form-errors")),
	)
	underlined("a form with errors", `[data-testid="form-errors"] a`)
}

// A flash message's status or alert role is inside its list item, which
// stays a list item of the messages' list.
func TestAdminA11yMessagesStayAList(t *testing.T) {
	app := newTestApp(t)
	_, cl := app.admSuper(t)
	cl.post("/admin/doctors/add/", url.Values{"name": {"Carol Skin"}, "specialization": {"Dermatology"},
		"email": {"carol@clinic.example"}}).wantRedirect(t, "/admin/doctors/")
	success := cl.get("/admin/doctors/").want(t, http.StatusOK)
	gone := cl.get("/admin/doctors/999999/")
	warning := cl.get(gone.Header().Get("Location")).want(t, http.StatusOK)
	for level, page := range map[string]*admResponse{"success": success, "warning": warning} {
		want := map[string]string{"success": "status", "warning": "alert"}[level]
		items := page.doc(t).Find(".messages").Children()
		if items.Length() == 0 {
			t.Fatalf("%s: no messages", level)
		}
		items.Each(func(_ int, li *goquerySelection) {
			if goquery.NodeName(li) != "li" || li.AttrOr("role", "") != "" {
				t.Errorf("%s: the messages' list holds <%s role=%q>, want an <li> without a role", level, goquery.NodeName(li), li.AttrOr("role", ""))
			}
			if got := li.Find("[role]").AttrOr("role", ""); got != want {
				t.Errorf("%s message: inner role %q, want %q", level, got, want)
			}
		})
	}
}

// Smaller fixes of the audit, in the server's HTML: headings do not skip
// a level (filters and "Add another" are h2 under the page's h1), a
// fieldset without a legend has no empty <legend>, and a row's checkbox
// names the row's id as well as its label (two Ann Archers differ).
func TestAdminA11yHeadingsLegendsAndRowLabels(t *testing.T) {
	app := newTestApp(t)
	seed := admSeed(t, app)
	cl := app.admLogin(t, seed.super)
	list := cl.get("/admin/patients/").want(t, http.StatusOK)
	if n := list.doc(t).Find(".filter h2").Length(); n == 0 || list.doc(t).Find(".filter h3").Length() > 0 {
		t.Errorf("GET /admin/patients/: %d filter titles in h2, want all of them", n)
	}
	want := "Select Ann Archer (#" + itoa64(seed.ann.ID) + ")"
	if got := list.testid(t, "select-"+itoa64(seed.ann.ID)).AttrOr("aria-label", ""); got != want {
		t.Errorf("GET /admin/patients/: Ann's checkbox is %q, want %q", got, want)
	}
	ann := cl.get("/admin/patients/"+itoa64(seed.ann.ID)+"/").want(t, http.StatusOK)
	if got := strings.TrimSpace(ann.doc(t).Find(".inline-add h2").Text()); got != "Add another" {
		t.Errorf("GET Ann's page: the inline's h2 is %q, want \"Add another\"", got)
	}
	cl.get("/admin/password_change/").want(t, http.StatusOK).doc(t).Find("legend").Each(func(_ int, l *goquerySelection) {
		if strings.TrimSpace(l.Text()) == "" {
			t.Error("GET /admin/password_change/: an empty <legend>")
		}
	})
}

// An empty cell's dash is muted text that can still be read (WCAG 1.4.3,
// 4.5:1).
func TestAdminA11yEmptyCellContrast(t *testing.T) {
	ctx, base, _ := a11yPanel(t, 1280, 900)
	admRun(t, ctx, "open patients", chromedp.Navigate(base+"/admin/patients/"), chromedp.WaitVisible(chromedp.CSS(".results .empty")))
	color := a11yEval[string](t, ctx, `getComputedStyle(document.querySelector(".results .empty")).color`)
	if c := contrastOnWhite(t, color); c < 4.5 {
		t.Errorf("an empty cell's dash is %s, %.2f:1 on white, want 4.5:1", color, c)
	}
}

// A name written right to left keeps to itself where the panel puts it
// inside its own words. Unisolated, the bidirectional algorithm joined a
// Hebrew patient's trailing digit to the "(#id)" after it, drawing
// "(#47) 5 אבי", and an assignment of a Hebrew patient to a Hebrew doctor
// ran right to left across its arrow, the doctor drawn where the patient
// should be. Checked where Chromium draws them: on the patient's delete
// confirmation, which lists the patient and its assignment.
func TestAdminRightToLeftNamesKeepTheirPlace(t *testing.T) {
	ctx, base, _, app := a11yPanelApp(t, 1280, 900)
	owner := app.admUser(t, false, false)
	patient := app.admPatient(t, owner.ID, "אבי 5")
	doctor := app.mustDoctor(t, "משה כהן", "קרדיולוגיה")
	app.admMapping(t, owner.ID, patient.ID, doctor.ID)

	admRun(t, ctx, "open the delete confirmation",
		chromedp.Navigate(base+"/admin/patients/"+itoa64(patient.ID)+"/delete/"),
		chromedp.WaitVisible(sel("delete-summary")))
	// left is the x where Chromium draws needle in the delete summary's
	// link whose text holds item.
	left := func(item, needle string) float64 {
		t.Helper()
		js := fmt.Sprintf(`(() => {
			const item = %q, needle = %q;
			for (const a of document.querySelectorAll('[data-testid="delete-summary"] a')) {
				const node = a.firstChild;
				if (!node.textContent.includes(item)) continue;
				const i = node.textContent.indexOf(needle);
				if (i < 0) return -1;
				const r = document.createRange();
				r.setStart(node, i); r.setEnd(node, i + needle.length);
				return r.getBoundingClientRect().left;
			}
			return -1;
		})()`, item, needle)
		x := a11yEval[float64](t, ctx, js)
		if x < 0 {
			t.Fatalf("no link of the delete summary holds %q and %q", item, needle)
		}
		return x
	}
	id := "(#" + itoa64(patient.ID) + ")"
	if name, id := left(id, "אבי"), left(id, id); name >= id {
		t.Errorf("the patient's name is drawn at x=%.0f, right of its id at x=%.0f: the name and the id reordered", name, id)
	}
	if p, arrow, d := left("→", "אבי"), left("→", "→"), left("→", "משה"); !(p < arrow && arrow < d) {
		t.Errorf("assignment drawn patient x=%.0f, arrow x=%.0f, doctor x=%.0f: want patient → doctor from left to right", p, arrow, d)
	}
}
