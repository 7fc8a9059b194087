package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"healthcare/models"
)

// The admin panel is server-rendered; its login is a form with a CSRF
// token. The benchmark fills in whatever form the login page has: hidden
// fields keep their values, the e-mail (or username) and password fields
// get the staff account's, so it does not depend on the field names.
var (
	formTag  = regexp.MustCompile(`(?is)<form\b[^>]*>.*?</form>`)
	inputTag = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attr     = regexp.MustCompile(`(?is)\b([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

func attrs(tag string) map[string]string {
	m := map[string]string{}
	for _, a := range attr.FindAllStringSubmatch(tag, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3] + a[4])
	}
	return m
}

// adminSession logs the staff user in to the admin panel and returns the
// Cookie header of its session. A panel that is not there skips the
// scenario.
func (b *bench) adminSession(ctx context.Context, search string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: b.tr, Jar: jar, Timeout: 30 * time.Second}
	loginURL := b.srv.base + b.o.adminLogin
	page, status, err := fetch(ctx, c, http.MethodGet, loginURL, nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", skipError{fmt.Sprintf("admin not available: GET %s answers %d", b.o.adminLogin, status)}
	}
	var form string
	for _, f := range formTag.FindAllString(page, -1) {
		if strings.Contains(strings.ToLower(f), "password") {
			form = f
			break
		}
	}
	if form == "" {
		return "", skipError{"admin not available: no login form with a password field at " + b.o.adminLogin}
	}
	values := url.Values{}
	for _, tag := range inputTag.FindAllString(form, -1) {
		a := attrs(tag)
		name, typ := a["name"], strings.ToLower(a["type"])
		lname := strings.ToLower(name)
		switch {
		case name == "":
		case typ == "password" || strings.Contains(lname, "password"):
			values.Set(name, b.fx.staffPassword)
		case typ == "email" || strings.Contains(lname, "email") || strings.Contains(lname, "user") || strings.Contains(lname, "login"):
			values.Set(name, models.StaffEmail)
		case typ == "checkbox" || typ == "radio":
		default:
			values.Set(name, a["value"])
		}
	}
	action := loginURL
	if a := attrs(form[:strings.Index(form, ">")+1])["action"]; a != "" {
		ref, err := url.Parse(a)
		if err != nil {
			return "", fmt.Errorf("admin login form action %q: %w", a, err)
		}
		base, _ := url.Parse(loginURL)
		action = base.ResolveReference(ref).String()
	}
	if _, status, err = fetch(ctx, c, http.MethodPost, action, values); err != nil {
		return "", err
	}
	if status >= 400 {
		return "", skipError{fmt.Sprintf("admin login failed: POST %s answered %d", action, status)}
	}
	// Without following redirects, the changelist must answer 200 itself.
	list := b.srv.base + b.o.adminList + "?q=" + url.QueryEscape(search)
	check := &http.Client{Transport: b.tr, Jar: jar, Timeout: 30 * time.Second, CheckRedirect: noRedirect}
	if _, status, err = fetch(ctx, check, http.MethodGet, list, nil); err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", skipError{fmt.Sprintf("admin login did not give access: GET %s answers %d", b.o.adminList, status)}
	}
	u, _ := url.Parse(b.srv.base + "/admin/")
	var cookies []string
	for _, ck := range jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	return strings.Join(cookies, "; "), nil
}

// fetch GETs or POSTs a form and returns the body (at most 1 MiB) and
// status.
func fetch(ctx context.Context, c *http.Client, method, u string, form url.Values) (string, int, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "", 0, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// Same-origin, as a browser would say, for CSRF checks that look.
		origin, _ := url.Parse(u)
		req.Header.Set("Origin", origin.Scheme+"://"+origin.Host)
		req.Header.Set("Referer", u)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(raw), resp.StatusCode, err
}

func (b *bench) planAdminChangelist(ctx context.Context) (plan, error) {
	cookie, err := b.adminSession(ctx, b.fx.patientWord)
	if err != nil {
		return plan{}, err
	}
	path := b.o.adminList + "?q=" + url.QueryEscape(b.fx.patientWord)
	u := b.srv.base + path
	p := b.apiPlan(func(ctx context.Context, _ *worker) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Cookie", cookie)
		return send(b.client, req, http.StatusOK)
	})
	p.after = func(r *result, _ []loadStats) { r.Note = path }
	return p, nil
}
