package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// newDocsRouter is an engine with the API's routes; the docs and the schema
// need no database.
func newDocsRouter(t *testing.T) *gin.Engine {
	t.Helper()
	opts := DefaultOptions()
	opts.JWTSecret = []byte("docs-test-secret-of-at-least-32-bytes")
	a := New(nil, opts, slog.New(slog.DiscardHandler))
	r := gin.New()
	a.Register(&r.RouterGroup)
	r.NoRoute(a.NotFound)
	return r
}

func docsGet(r http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

var (
	docsScriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	docsAssetURL  = regexp.MustCompile(`(?:src|href)="(/api/docs/assets/[^"?]+)\?v=([0-9a-f]+)"`)
)

// TestDocsPageWorksUnderItsCSP checks the page keeps to its own
// Content-Security-Policy: no inline script or style, every asset local.
func TestDocsPageWorksUnderItsCSP(t *testing.T) {
	t.Parallel()
	r := newDocsRouter(t)
	for _, path := range []string{"/api/docs/", "/api/docs"} {
		w := docsGet(r, path)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: status = %d, want 200", path, w.Code)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type = %q", path, ct)
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self'", "default-src 'none'", "connect-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-") {
			t.Errorf("GET %s: CSP %q allows unsafe sources", path, csp)
		}
		page := w.Body.String()
		scripts := docsScriptTag.FindAllStringSubmatch(page, -1)
		if len(scripts) == 0 {
			t.Fatalf("GET %s: no script tags in\n%s", path, page)
		}
		for _, s := range scripts {
			if !strings.Contains(s[1], "src=") || strings.TrimSpace(s[2]) != "" {
				t.Errorf("GET %s: inline script %q", path, s[0])
			}
		}
		if strings.Contains(page, "<style") || strings.Contains(page, " style=") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
			t.Errorf("GET %s: inline style or a remote URL in\n%s", path, page)
		}
		if !strings.Contains(page, `data-schema-url="/api/schema/"`) {
			t.Errorf("GET %s: page does not point Swagger UI at /api/schema/", path)
		}
	}
}

func TestDocsAssets(t *testing.T) {
	t.Parallel()
	r := newDocsRouter(t)
	page := docsGet(r, "/api/docs/").Body.String()
	links := docsAssetURL.FindAllStringSubmatch(page, -1)
	want := map[string]string{
		"/api/docs/assets/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
		"/api/docs/assets/swagger-ui.css":       "text/css; charset=utf-8",
		"/api/docs/assets/docs.js":              "text/javascript; charset=utf-8",
		"/api/docs/assets/docs.css":             "text/css; charset=utf-8",
		"/api/docs/assets/favicon-32x32.png":    "image/png",
	}
	found := map[string]bool{}
	for _, l := range links {
		path, version := l[1], l[2]
		found[path] = true
		w := docsGet(r, path+"?v="+version)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: status = %d, want 200", path, w.Code)
			continue
		}
		if ct, ok := want[path]; ok && w.Header().Get("Content-Type") != ct {
			t.Errorf("GET %s: Content-Type = %q, want %q", path, w.Header().Get("Content-Type"), ct)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s?v=<current>: Cache-Control = %q, want a year, immutable", path, cc)
		}
		// Without the current version the URL may serve other content
		// later: no long caching.
		if cc := docsGet(r, path).Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control = %q, want no-cache", path, cc)
		}
		// Revalidation answers 304.
		if tag := w.Header().Get("ETag"); tag == "" {
			t.Errorf("GET %s: no ETag", path)
		} else if c := docsGet(r, path+"?v="+version, "If-None-Match", tag).Code; c != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: status = %d, want 304", path, c)
		}
	}
	for path := range want {
		if !found[path] {
			t.Errorf("the page does not link %s", path)
		}
	}

	// The bundle is compressed for clients that take gzip, and is the
	// npm package's file.
	plain := docsGet(r, "/api/docs/assets/swagger-ui-bundle.js").Body.Bytes()
	if !bytes.Contains(plain, []byte("SwaggerUIBundle")) || len(plain) < 1<<20 {
		t.Fatalf("swagger-ui-bundle.js: %d bytes, not Swagger UI", len(plain))
	}
	w := docsGet(r, "/api/docs/assets/swagger-ui-bundle.js", "Accept-Encoding", "gzip, deflate, br")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: Content-Encoding %q, Vary %q", w.Header().Get("Content-Encoding"), w.Header().Get("Vary"))
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain) {
		t.Errorf("gzip: decompressed body differs from the plain one")
	}
	if w.Body.Len() > len(plain)/2 {
		t.Errorf("gzip: %d bytes of %d", w.Body.Len(), len(plain))
	}
	if got := docsGet(r, "/api/docs/assets/swagger-ui-bundle.js", "Accept-Encoding", "gzip;q=0").Header().Get("Content-Encoding"); got != "" {
		t.Errorf("gzip;q=0: Content-Encoding = %q, want none", got)
	}

	for _, path := range []string{"/api/docs/assets/nope.js", "/api/docs/assets/index.html", "/api/docs/assets/README.md", "/api/docs/assets/..%2fopenapi.yaml"} {
		w := docsGet(r, path)
		if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"detail":"Not found."`) {
			t.Errorf("GET %s: %d %s, want 404 Not found.", path, w.Code, w.Body)
		}
	}
	// The license travels with the code.
	if w := docsGet(r, "/api/docs/assets/LICENSE"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Apache License") {
		t.Errorf("GET LICENSE: %d", w.Code)
	}
}

func TestSchemaEndpoint(t *testing.T) {
	t.Parallel()
	r := newDocsRouter(t)
	for _, path := range []string{"/api/schema/", "/api/schema", "/api/schema/?format=json"} {
		w := docsGet(r, path)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Header().Get("Content-Type"))
		}
		oasLoad(t, w.Body.Bytes())
	}
	w := docsGet(r, "/api/schema/?format=yaml")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/yaml; charset=utf-8" {
		t.Fatalf("GET ?format=yaml: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if !bytes.Equal(w.Body.Bytes(), openAPIYAML) {
		t.Errorf("GET ?format=yaml: not the document")
	}
}
