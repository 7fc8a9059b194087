package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// oasLoad parses the embedded document with kin-openapi and validates it
// (examples included) as OpenAPI 3.1.
func oasLoad(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load openapi document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi document is not valid: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid31(t *testing.T) {
	t.Parallel()
	doc := oasLoad(t, openAPIYAML)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	// The JSON served is the same document.
	raw, err := openAPIJSON()
	if err != nil {
		t.Fatalf("openAPIJSON: %v", err)
	}
	fromJSON := oasLoad(t, raw)
	a, _ := json.Marshal(doc)
	b, _ := json.Marshal(fromJSON)
	if string(a) != string(b) {
		t.Errorf("the JSON document differs from the YAML one")
	}
}

// TestOpenAPISchemaExamplesAreValid validates the JSON Schema "examples"
// of the components, which kin-openapi's document validation leaves out
// (it checks the media types' examples).
func TestOpenAPISchemaExamplesAreValid(t *testing.T) {
	t.Parallel()
	doc := oasLoad(t, openAPIYAML)
	checked := 0
	for name, ref := range doc.Components.Schemas {
		for i, ex := range ref.Value.Examples {
			checked++
			if err := ref.Value.VisitJSON(ex, openapi3.EnableJSONSchema2020()); err != nil {
				t.Errorf("schema %s: example %d is not valid: %v", name, i, err)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no schema examples found")
	}
}

// TestOpenAPIOperationsAreComplete checks what every operation of the
// contract must say: an id, a tag, 401 and 429 (the per-user rate limit)
// when it needs a token, and the body errors when it takes a body.
func TestOpenAPIOperationsAreComplete(t *testing.T) {
	t.Parallel()
	doc := oasLoad(t, openAPIYAML)
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", where)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q also used by %s", where, op.OperationID, other)
			}
			ids[op.OperationID] = where
			if len(op.Tags) != 1 {
				t.Errorf("%s: tags = %v, want one", where, op.Tags)
			}
			if op.Summary == "" {
				t.Errorf("%s: no summary", where)
			}
			public := op.Security != nil && len(*op.Security) == 0
			if !public && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s needs a token but documents no 401", where)
			}
			if !public && !oasThrottled(op) {
				t.Errorf("%s needs a token (so counts against the per-user rate limit) but documents no 429 with Retry-After", where)
			}
			if public != oasPublic(path) {
				t.Errorf("%s: public = %v, want %v", where, public, !public)
			}
			want := []int{}
			if op.RequestBody != nil {
				want = append(want, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
			}
			if strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/api/docs") && path != "/api/schema/" {
				want = append(want, http.StatusInternalServerError, http.StatusServiceUnavailable)
			}
			if strings.Contains(path, "{") && strings.HasPrefix(path, "/api/") {
				want = append(want, http.StatusNotFound)
			}
			if strings.HasPrefix(path, "/api/") {
				// ALLOWED_HOSTS and the body limit apply to every method
				// of every path but the probes'.
				want = append(want, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			}
			if strings.HasPrefix(path, "/api/docs") || path == "/api/schema/" {
				// Served with http.ServeContent and an ETag.
				want = append(want, http.StatusPartialContent, http.StatusNotModified, http.StatusPreconditionFailed, http.StatusRequestedRangeNotSatisfiable)
			}
			for _, status := range want {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s: no %d response", where, status)
				}
			}
		}
	}
}

// oasPublic lists the paths the contract serves without a token.
func oasPublic(path string) bool {
	return slices.Contains([]string{"/api/auth/register/", "/api/auth/login/", "/api/auth/token/refresh/",
		"/healthz", "/readyz", "/metrics", "/api/schema/", "/api/docs/", "/api/docs/assets/{file}"}, path)
}

// oasThrottled reports whether op documents a 429 with a Retry-After
// header.
func oasThrottled(op *openapi3.Operation) bool {
	r := op.Responses.Status(http.StatusTooManyRequests)
	return r != nil && r.Value != nil && r.Value.Headers["Retry-After"] != nil
}

// TestOpenAPIEmailsHaveTheirLimit: every email of a request or a response
// is at most 254 characters (Django's EmailField), as the server checks;
// only login takes any string (a longer one simply matches no account).
func TestOpenAPIEmailsHaveTheirLimit(t *testing.T) {
	t.Parallel()
	doc := oasLoad(t, openAPIYAML)
	checked := 0
	for name, ref := range doc.Components.Schemas {
		email := ref.Value.Properties["email"]
		if email == nil || name == "LoginRequest" {
			continue
		}
		checked++
		if max := email.Value.MaxLength; max == nil || *max != 254 {
			t.Errorf("schema %s: email has no maxLength 254", name)
		}
	}
	if checked < 7 {
		t.Errorf("only %d schemas with an email checked", checked)
	}
}

// TestOpenAPISaysStringsAreTrimmed: the server trims the strings of a
// request before it checks them, so maxLength, enum and format hold for
// the trimmed value (" male " is a gender). A schema cannot say that
// without refusing what the server takes; the document says it in words,
// in the info and in every request schema with a string, where a reader
// of a generated client finds it.
func TestOpenAPISaysStringsAreTrimmed(t *testing.T) {
	t.Parallel()
	doc := oasLoad(t, openAPIYAML)
	if !strings.Contains(doc.Info.Description, "Strings are trimmed") || !strings.Contains(doc.Info.Description, `" male "`) {
		t.Errorf("the info description does not say that strings are trimmed before they are validated")
	}
	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			for _, media := range op.RequestBody.Value.Content {
				schema := media.Schema.Value
				strs := false
				for _, p := range schema.Properties {
					strs = strs || p.Value.Type.Is("string") || (p.Value.Type == nil && len(p.Value.OneOf) > 0)
				}
				if !strs {
					continue
				}
				checked++
				if !strings.Contains(schema.Description, "trimmed") {
					t.Errorf("%s %s: the request schema's description does not say its strings are trimmed", method, path)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d request bodies checked", checked)
	}
}

// TestOpenAPISaysCursorPagesKeepTheDefaultOrder: with cursor the server
// ignores ordering (API.md: cursor pages are in the default order); the
// cursor parameter and every ordering parameter say so.
func TestOpenAPISaysCursorPagesKeepTheDefaultOrder(t *testing.T) {
	t.Parallel()
	doc := oasLoad(t, openAPIYAML)
	cursor := doc.Components.Parameters["Cursor"].Value.Description
	if !strings.Contains(cursor, "default order") || !strings.Contains(cursor, "`ordering`") {
		t.Errorf("the cursor parameter does not say that ordering is ignored with it: %q", cursor)
	}
	orderings := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			hasCursor := false
			for _, p := range op.Parameters {
				hasCursor = hasCursor || p.Value.Name == "cursor"
			}
			for _, p := range op.Parameters {
				if p.Value.Name != "ordering" {
					continue
				}
				orderings++
				if !hasCursor || !strings.Contains(p.Value.Description, "Ignored with `cursor`") {
					t.Errorf("%s %s: ordering does not say it is ignored with cursor: %q", method, path, p.Value.Description)
				}
			}
		}
	}
	if orderings < 2 {
		t.Errorf("only %d ordering parameters found", orderings)
	}
}

// TestOpenAPIServerIsRelative: the document names its server as "/", the
// host it was fetched from, so a generated client or Swagger UI calls the
// API where it is served rather than a default such as http://localhost.
func TestOpenAPIServerIsRelative(t *testing.T) {
	t.Parallel()
	doc := oasLoad(t, openAPIYAML)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
		var urls []string
		for _, s := range doc.Servers {
			urls = append(urls, s.URL)
		}
		t.Errorf("servers = %v, want [/]", urls)
	}
}
