package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// swaggerUI holds Swagger UI from the npm package swagger-ui-dist 5.35.0
// (Apache-2.0; LICENSE and NOTICE beside it, see swaggerui/README.md), and
// the page and start-up script around it. Nothing is fetched from a CDN.
//
//go:embed swaggerui
var swaggerUI embed.FS

// docsCSP lets the docs page run only its own files: no inline script or
// style, and no request to another origin.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// zeroTime tells http.ServeContent that there is no modification time: the
// ETag decides.
var zeroTime time.Time

// docAsset is one file under /api/docs/assets/.
type docAsset struct {
	contentType string
	etag        string
	body        []byte
	gzipped     []byte // nil when compressing does not pay
}

// docsFiles are the page and its assets, read and compressed once.
type docsFiles struct {
	page    []byte // index.html with the assets' version filled in
	version string // changes whenever any asset does
	assets  map[string]*docAsset
}

var loadDocs = sync.OnceValues(func() (*docsFiles, error) {
	entries, err := fs.ReadDir(swaggerUI, "swaggerui")
	if err != nil {
		return nil, err
	}
	d := &docsFiles{assets: map[string]*docAsset{}}
	var page []byte
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	all := sha256.New()
	for _, name := range names {
		body, err := fs.ReadFile(swaggerUI, "swaggerui/"+name)
		if err != nil {
			return nil, err
		}
		switch name {
		case "index.html":
			page = body
			continue
		case "README.md":
			continue // notes for maintainers, not served
		}
		all.Write([]byte(name))
		all.Write(body)
		a := &docAsset{contentType: assetType(name), etag: etag(body), body: body}
		if strings.HasPrefix(a.contentType, "text/") && len(body) > 1024 {
			a.gzipped = compress(body)
		}
		d.assets[name] = a
	}
	d.version = hex.EncodeToString(all.Sum(nil))[:12]
	d.page = bytes.ReplaceAll(page, []byte("{{v}}"), []byte(d.version))
	return d, nil
})

func (a *API) registerDocs(r routes) {
	r.handle(http.MethodGet, "/schema", a.schema)
	r.handle(http.MethodGet, "/docs", a.docs)
	r.Match(WithHead(http.MethodGet), "/docs/assets/:file", handle(a.docsAsset))
}

// docs handles GET /api/docs: Swagger UI over /api/schema/. No token
// needed; "Authorize" takes one for trying the endpoints.
func (a *API) docs(c *gin.Context) error {
	d, err := loadDocs()
	if err != nil {
		return err
	}
	c.Header("Content-Security-Policy", docsCSP)
	c.Header("Cache-Control", "no-cache")
	serveBytes(c, "text/html; charset=utf-8", etag(d.page), d.page)
	return nil
}

// docsAsset handles GET /api/docs/assets/{file}. The page links each
// asset with ?v=<version>: such a URL never changes content, so browsers
// may keep it for a year; without the current version, they revalidate.
func (a *API) docsAsset(c *gin.Context) error {
	d, err := loadDocs()
	if err != nil {
		return err
	}
	asset, ok := d.assets[c.Param("file")]
	if !ok {
		return errNotFound()
	}
	if c.Query("v") == d.version {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	body, tag := asset.body, asset.etag
	if asset.gzipped != nil {
		c.Header("Vary", "Accept-Encoding")
		if acceptsGzip(c.GetHeader("Accept-Encoding")) {
			c.Header("Content-Encoding", "gzip")
			body, tag = asset.gzipped, strings.TrimSuffix(asset.etag, `"`)+`-gz"`
		}
	}
	serveBytes(c, asset.contentType, tag, body)
	return nil
}

// assetType is the media type of an asset by its name; the system's MIME
// tables are not consulted, so every host answers alike.
func assetType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".png":
		return "image/png"
	default: // LICENSE, NOTICE, *.txt
		return "text/plain; charset=utf-8"
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") || strings.TrimSpace(coding) == "*" {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func compress(body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	return buf.Bytes()
}

// etag is a strong validator for body.
func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

func errNotFound() error { return &httpError{status: http.StatusNotFound, detail: msgNotFound} }
