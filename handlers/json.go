package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// maxJSONDepth bounds nesting in request bodies: no endpoint takes nested
// values, and deep nesting is a cheap way to burn CPU.
const maxJSONDepth = 32

// bodyLimit rejects bodies over max bytes with 413, chunked ones included:
// the declared length is checked up front, the stream while it is read.
func bodyLimit(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			_ = c.Error(errTooLarge())
			c.Abort()
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		c.Next()
	}
}

func errTooLarge() *httpError {
	return &httpError{status: http.StatusRequestEntityTooLarge, detail: "Request body too large."}
}

func parseError(format string, args ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, detail: "JSON parse error - " + fmt.Sprintf(format, args...)}
}

// object is a decoded JSON object whose fields are decoded one by one, so a
// field of the wrong JSON type is that field's error, never coerced.
type object map[string]json.RawMessage

// bodyEdit is the edit of a PUT or PATCH (PATCH: partial) for the store's
// Update methods, which apply it to the row as it stands once locked. The
// body is read now, before the row is locked; set applies it. A body that
// cannot be read is answered from the edit, once the row is found: someone
// else's or no row is 404 first, as DRF finds the object before the data.
func bodyEdit[T any](c *gin.Context, set func(obj object, row *T, partial bool) error) func(*T) error {
	obj, err := readObject(c)
	partial := c.Request.Method == http.MethodPatch
	return func(row *T) error {
		if err != nil {
			return err
		}
		return set(obj, row, partial)
	}
}

// readObject reads the request body as one JSON object. An empty body is an
// empty object (as DRF treats it); a body of another media type is 415.
func readObject(c *gin.Context) (object, error) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge()
		}
		return nil, parseError("could not read the body")
	}
	if len(body) == 0 {
		return object{}, nil
	}
	// As DRF: the media type is matched without its parameters, whatever
	// they hold (`application/json; charset`, a charset given twice), and a
	// refusal quotes the header as sent, parameters included (DRF's
	// request.content_type).
	ct := c.GetHeader("Content-Type")
	if mediaType, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mediaType), "application/json") {
		return nil, &httpError{status: http.StatusUnsupportedMediaType,
			detail: `Unsupported media type "` + ct + `" in request.`}
	}
	if !utf8.Valid(body) {
		return nil, parseError("the body is not valid UTF-8")
	}
	if bytes.HasPrefix(body, []byte("\uFEFF")) {
		// JSON has no byte order mark (RFC 8259), as DRF refuses it; say
		// so rather than quote its first byte as a Latin-1 'ï'.
		return nil, parseError("the body begins with a byte order mark (BOM); send JSON without it")
	}
	if err := checkDepth(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, parseError("%s", describeJSONError(err))
	}
	// encoding/json stops after the first value: anything but white space
	// after it makes the body invalid.
	if _, err := dec.Token(); err != io.EOF {
		return nil, parseError("extra data after the JSON value")
	}
	if kind := jsonKind(raw); kind != "dict" {
		return nil, &models.Error{Code: models.Invalid, Message: "Invalid data.", Fields: map[string][]string{
			models.NonFieldErrors: {fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", kind)},
		}}
	}
	var obj object
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, parseError("%s", describeJSONError(err))
	}
	return obj, nil
}

// bodyIgnored holds a route that takes no body (a DELETE, logout of every
// session) to the contract's rules for a body a client sends anyway: JSON
// (else 415), one valid object (else 400), so a malformed request is never
// acted on. No body at all is fine.
var bodyIgnored = handle(func(c *gin.Context) error {
	_, err := readObject(c)
	return err
})

// describeJSONError words a decoding error without echoing Go type names.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of JSON input"
	}
	return "invalid JSON"
}

// checkDepth rejects bodies nested deeper than maxJSONDepth without decoding
// them.
func checkDepth(body []byte) error {
	depth, inString, escaped := 0, false, false
	for _, b := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			depth++
			if depth > maxJSONDepth {
				return parseError("nesting deeper than %d levels", maxJSONDepth)
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return nil
}

// jsonKind names the JSON type of raw as DRF (Python) names it.
func jsonKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "dict"
	case b[0] == '[':
		return "list"
	case b[0] == '"':
		return "str"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == 'n':
		return "NoneType"
	case bytes.ContainsAny(b, ".eE"):
		return "float"
	default:
		return "int"
	}
}

// fieldReader decodes the fields of an object, collecting per-field errors.
// With partial set (PATCH) no field is required.
type fieldReader struct {
	obj     object
	errs    models.FieldErrors
	partial bool
}

func newFieldReader(obj object, partial bool) *fieldReader {
	return &fieldReader{obj: obj, errs: models.FieldErrors{}, partial: partial}
}

// present returns the raw value of name, or records "required" when it is
// missing and required.
func (r *fieldReader) present(name string, required bool) (json.RawMessage, bool) {
	raw, ok := r.obj[name]
	if !ok {
		if required && !r.partial {
			r.errs.Add(name, models.MsgRequired())
		}
		return nil, false
	}
	return raw, true
}

// str decodes a string field into dst if present, untrimmed: the model's
// validation trims what it should, and never a password (NewUser.Clean).
func (r *fieldReader) str(name string, required bool, dst *string) {
	raw, ok := r.present(name, required)
	if !ok {
		return
	}
	switch jsonKind(raw) {
	case "str":
		_ = json.Unmarshal(raw, dst)
	case "NoneType":
		r.errs.Add(name, "This field may not be null.")
	default:
		r.errs.Add(name, "Not a valid string.")
	}
}

// date decodes a nullable "YYYY-MM-DD" field into dst if present.
func (r *fieldReader) date(name string, dst **models.Date) {
	raw, ok := r.present(name, false)
	if !ok {
		return
	}
	switch jsonKind(raw) {
	case "NoneType":
		*dst = nil
	case "str":
		var s string
		_ = json.Unmarshal(raw, &s)
		s = strings.TrimSpace(s)
		if s == "" {
			*dst = nil
			return
		}
		d, err := models.ParseDate(s)
		if err != nil {
			r.errs.Add(name, models.MsgDateFormat)
			return
		}
		*dst = &d
	default:
		r.errs.Add(name, models.MsgDateFormat)
	}
}

// integer decodes an integer field into dst if present: a JSON number with
// no fractional part; strings and booleans are errors.
func (r *fieldReader) integer(name string, required bool, dst *int) {
	raw, ok := r.present(name, required)
	if !ok {
		return
	}
	if jsonKind(raw) == "NoneType" {
		r.errs.Add(name, "This field may not be null.")
		return
	}
	if jsonKind(raw) != "int" {
		r.errs.Add(name, "A valid integer is required.")
		return
	}
	*dst = int(max(min(clampedInt(raw), math.MaxInt), math.MinInt)) // int may be 32 bits
}

// clampedInt is the JSON integer raw, or the nearest int64 to it when it
// is out of range: an integer of any size is still an integer (DRF answers
// 10**30 with the field's range message, not a type error), and the
// nearest int64 fails the same range or lookup checks it would.
func clampedInt(raw json.RawMessage) int64 {
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		if len(raw) > 0 && raw[0] == '-' {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return n
}

// pk decodes a primary-key reference into dst if present.
func (r *fieldReader) pk(name string, dst *int64) {
	raw, ok := r.present(name, true)
	if !ok {
		return
	}
	kind := jsonKind(raw)
	if kind == "NoneType" {
		r.errs.Add(name, "This field may not be null.")
		return
	}
	if kind != "int" {
		r.errs.Add(name, fmt.Sprintf("Incorrect type. Expected pk value, received %s.", kind))
		return
	}
	*dst = clampedInt(raw)
}

func (r *fieldReader) err() error { return r.errs.Err() }
