package handlers

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
)

// openAPIYAML is the OpenAPI 3.1 document of the API, written by hand; the
// tests in the repository root keep it true to the router and to real
// responses.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// openAPIJSON converts the document to JSON once, keeping its key order
// (Swagger UI shows paths in document order).
var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	raw, err := yaml.YAMLToJSON(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi: convert to JSON: %w", err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, fmt.Errorf("openapi: converted document is not JSON: %w", err)
	}
	return out.Bytes(), nil
})

// schema handles GET /api/schema: the OpenAPI document as JSON, or as the
// original YAML with ?format=yaml. No token needed.
func (a *API) schema(c *gin.Context) error {
	body, contentType := openAPIYAML, "application/yaml; charset=utf-8"
	if c.Query("format") != "yaml" {
		doc, err := openAPIJSON()
		if err != nil {
			return err
		}
		body, contentType = doc, "application/json; charset=utf-8"
	}
	// Public and the same for everyone, but it changes with each release:
	// caches keep it and check with the ETag.
	c.Header("Cache-Control", "no-cache")
	serveBytes(c, contentType, etag(body), body)
	return nil
}

// serveBytes answers body with its type and ETag; http.ServeContent
// answers If-None-Match with 304 and handles Range.
func serveBytes(c *gin.Context, contentType, tag string, body []byte) {
	c.Header("Content-Type", contentType)
	c.Header("ETag", tag)
	http.ServeContent(c.Writer, c.Request, "", zeroTime, bytes.NewReader(body))
}
