package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/gin-gonic/gin"
)

// assets are the embedded CSS and JavaScript, with a content hash each.
// Pages link them as /admin/static/NAME?v=HASH, which may be cached for a
// year: a new build changes the hash, and so the URL.
type assets struct {
	files map[string]asset
}

type asset struct {
	body        []byte
	hash        string
	contentType string
}

// assetNames are the files the pages link; New fails if one is missing.
var assetNames = []string{"admin.css", "admin.js"}

func loadAssets(fsys fs.FS) (*assets, error) {
	if fsys == nil {
		return nil, fmt.Errorf("admin: no assets (set Options.Assets to static.FS)")
	}
	as := &assets{files: map[string]asset{}}
	for _, name := range assetNames {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("admin: asset %s: %w", name, err)
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		as.files[name] = asset{body: body, hash: hex.EncodeToString(sum[:6]), contentType: ct}
	}
	return as, nil
}

// url is the versioned URL of asset name.
func (as *assets) url(name string) string {
	return "/admin/static/" + name + "?v=" + as.files[name].hash
}

// serveAsset handles GET /admin/static/{name}.
func (a *Admin) serveAsset(c *gin.Context) {
	f, ok := a.assets.files[c.Param("name")]
	if !ok {
		a.NotFound(c)
		return
	}
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+f.hash+`"`)
	if c.Query("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	if c.GetHeader("If-None-Match") == `"`+f.hash+`"` {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, f.contentType, f.body)
}
