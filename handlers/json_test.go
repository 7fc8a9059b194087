package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"healthcare/models"
	"healthcare/models/modelstest"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// jsonContext returns a gin context for a POST with body and content type
// ct ("" for none).
func jsonContext(body, ct string) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if ct != "" {
		c.Request.Header.Set("Content-Type", ct)
	}
	return c
}

// jsonStatus is the status err answers with and its body's detail (or
// non_field_errors for an Invalid *models.Error).
func jsonStatus(err error) (int, string) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.detail
	}
	var me *models.Error
	if errors.As(err, &me) {
		if msgs := me.Fields[models.NonFieldErrors]; len(msgs) > 0 {
			return statusOf[me.Code], msgs[0]
		}
		return statusOf[me.Code], me.Message
	}
	if err != nil {
		return 500, err.Error()
	}
	return 0, ""
}

func TestJSONReadObject(t *testing.T) {
	t.Parallel()
	const ct = "application/json"
	tests := []struct {
		name       string
		body, ct   string
		wantStatus int    // 0: success
		wantDetail string // prefix of detail / non_field_errors
		wantKeys   []string
	}{
		{name: "object", body: `{"name":"a","n":1}`, ct: ct, wantKeys: []string{"n", "name"}},
		{name: "object with surrounding white space", body: " \n{\"a\":1}\n\t ", ct: ct, wantKeys: []string{"a"}},
		{name: "empty body is an empty object", body: "", ct: ct, wantKeys: []string{}},
		{name: "empty body needs no content type", body: "", ct: "", wantKeys: []string{}},
		{name: "charset parameter", body: `{"a":1}`, ct: "application/json; charset=utf-8", wantKeys: []string{"a"}},
		{name: "media type is case-insensitive", body: `{"a":1}`, ct: "Application/JSON", wantKeys: []string{"a"}},
		{name: "unicode escapes and text", body: `{"name":"Zoë \u00e9"}`, ct: ct, wantKeys: []string{"name"}},

		{name: "text/plain", body: `{"a":1}`, ct: "text/plain", wantStatus: 415, wantDetail: `Unsupported media type "text/plain" in request.`},
		{name: "form", body: `a=1`, ct: "application/x-www-form-urlencoded", wantStatus: 415, wantDetail: `Unsupported media type "application/x-www-form-urlencoded" in request.`},
		{name: "no content type", body: `{"a":1}`, ct: "", wantStatus: 415, wantDetail: "Unsupported media type"},
		{name: "json suffix type", body: `{"a":1}`, ct: "application/merge-patch+json", wantStatus: 415, wantDetail: "Unsupported media type"},
		// DRF ignores a parameter that does not parse.
		{name: "malformed parameter", body: `{"a":1}`, ct: "application/json; charset", wantKeys: []string{"a"}},
		{name: "empty parameter", body: `{"a":1}`, ct: "application/json;;", wantKeys: []string{"a"}},
		{name: "parameter given twice", body: `{"a":1}`, ct: "application/json; charset=utf-8; charset=latin1", wantKeys: []string{"a"}},
		{name: "malformed type", body: `{"a":1}`, ct: "application/", wantStatus: 415, wantDetail: `Unsupported media type "application/" in request.`},

		{name: "syntax error", body: `{"a":}`, ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "truncated", body: `{"a":1`, ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "white space only", body: "   ", ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "trailing garbage", body: `{"name":"a"} x`, ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "two objects", body: `{"a":1}{"b":2}`, ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "trailing comma", body: `{"a":1,}`, ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "single quotes", body: `{'a':1}`, ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "NaN", body: `{"a":NaN}`, ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "invalid UTF-8", body: "{\"name\":\"\xff\xfe\"}", ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "byte order mark", body: "\ufeff{\"a\":1}", ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},
		{name: "too deep", body: strings.Repeat("[", 1000) + strings.Repeat("]", 1000), ct: ct, wantStatus: 400, wantDetail: "JSON parse error - "},

		{name: "array", body: `[{"a":1}]`, ct: ct, wantStatus: 400, wantDetail: "Invalid data. Expected a dictionary, but got list."},
		{name: "string", body: `"a"`, ct: ct, wantStatus: 400, wantDetail: "Invalid data. Expected a dictionary, but got str."},
		{name: "number", body: `42`, ct: ct, wantStatus: 400, wantDetail: "Invalid data. Expected a dictionary, but got int."},
		{name: "float", body: `4.2`, ct: ct, wantStatus: 400, wantDetail: "Invalid data. Expected a dictionary, but got float."},
		{name: "bool", body: `true`, ct: ct, wantStatus: 400, wantDetail: "Invalid data. Expected a dictionary, but got bool."},
		{name: "null", body: `null`, ct: ct, wantStatus: 400, wantDetail: "Invalid data. Expected a dictionary, but got NoneType."},
	}
	for _, tt := range tests {
		obj, err := readObject(jsonContext(tt.body, tt.ct))
		status, detail := jsonStatus(err)
		if status != tt.wantStatus {
			t.Errorf("%s: readObject(%.40q) status %d (%v), want %d", tt.name, tt.body, status, err, tt.wantStatus)
			continue
		}
		if tt.wantStatus != 0 {
			if !strings.HasPrefix(detail, tt.wantDetail) {
				t.Errorf("%s: detail %q, want prefix %q", tt.name, detail, tt.wantDetail)
			}
			jsonNoInternals(t, tt.name, detail)
			continue
		}
		var keys []string
		for k := range obj {
			keys = append(keys, k)
		}
		if len(keys) != len(tt.wantKeys) {
			t.Errorf("%s: keys %v, want %v", tt.name, keys, tt.wantKeys)
		}
		for _, k := range tt.wantKeys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: key %q missing from %v", tt.name, k, keys)
			}
		}
	}
}

// jsonNoInternals fails if an answer shown to a client carries Go, SQL or
// file-system details.
func jsonNoInternals(t *testing.T, name, s string) {
	t.Helper()
	lower := strings.ToLower(s)
	for _, leak := range []string{"/work", ".go:", "select ", "sql", "gorm", "runtime", "goroutine", "json: cannot unmarshal", "*models", "handlers."} {
		if strings.Contains(lower, leak) {
			t.Errorf("%s: answer %q contains %q", name, s, leak)
		}
	}
}

func TestJSONReadObjectBodyLimit(t *testing.T) {
	t.Parallel()
	r := gin.New()
	a := &API{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r.POST("/", a.errorMiddleware, bodyLimit(64), handle(func(c *gin.Context) error {
		obj, err := readObject(c)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"keys": len(obj)})
		return nil
	}))
	small := `{"a":"` + strings.Repeat("x", 40) + `"}`
	big := `{"a":"` + strings.Repeat("x", 100) + `"}`
	tests := []struct {
		name    string
		body    string
		chunked bool
		want    int
	}{
		{"under the limit", small, false, 200},
		{"under the limit, chunked", small, true, 200},
		{"over the limit", big, false, 413},
		{"over the limit, chunked", big, true, 413},
	}
	for _, tt := range tests {
		var body io.Reader = strings.NewReader(tt.body)
		if tt.chunked {
			body = io.MultiReader(strings.NewReader(tt.body)) // no known length
		}
		req := httptest.NewRequest(http.MethodPost, "/", body)
		if tt.chunked {
			req.ContentLength = -1
			req.TransferEncoding = []string{"chunked"}
		}
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tt.want {
			t.Errorf("%s: status %d, want %d; body %s", tt.name, w.Code, tt.want, w.Body)
		}
		if tt.want == 413 && strings.TrimSpace(w.Body.String()) != `{"detail":"Request body too large."}` {
			t.Errorf("%s: body %s", tt.name, w.Body)
		}
	}
}

func TestJSONCheckDepth(t *testing.T) {
	t.Parallel()
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	objNest := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"flat", `{"a":1}`, true},
		{"arrays at the limit", nest(maxJSONDepth), true},
		{"arrays one past the limit", nest(maxJSONDepth + 1), false},
		{"objects at the limit", objNest(maxJSONDepth), true},
		{"objects one past the limit", objNest(maxJSONDepth + 1), false},
		{"deep", nest(100000), false},
		{"brackets inside strings do not count", `{"a":"` + strings.Repeat("[{", 100) + `"}`, true},
		{"escaped quotes do not end strings", `{"a":"\"` + strings.Repeat("[", 100) + `"}`, true},
		{"escaped backslash ends before the quote", `{"a":"\\"}` + nest(maxJSONDepth+1), false},
		{"many shallow siblings", "[" + strings.Repeat("[],", 10000) + "[]]", true},
	}
	for _, tt := range tests {
		err := checkDepth([]byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("%s: checkDepth = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil {
			if status, detail := jsonStatus(err); status != 400 || !strings.HasPrefix(detail, "JSON parse error - ") {
				t.Errorf("%s: error %d %q, want 400 JSON parse error", tt.name, status, detail)
			}
		}
	}

	start := time.Now()
	_, err := readObject(jsonContext(strings.Repeat(`{"a":`, 1000)+"1"+strings.Repeat("}", 1000), "application/json"))
	if status, _ := jsonStatus(err); status != 400 {
		t.Errorf("depth 1000: status %d (%v), want 400", status, err)
	}
	if d := time.Since(start); d > 5*time.Second { // a pathology's bound, not a speed target
		t.Errorf("depth 1000 took %v", d)
	}
}

func TestJSONKind(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		``:          "nothing",
		`   `:       "nothing",
		`{}`:        "dict",
		` {"a":1} `: "dict",
		`[]`:        "list",
		`"x"`:       "str",
		`""`:        "str",
		`true`:      "bool",
		`false`:     "bool",
		`null`:      "NoneType",
		`0`:         "int",
		`-12`:       "int",
		`12.5`:      "float",
		`1e3`:       "float",
		`1E3`:       "float",
		`-0.0`:      "float",
	}
	for raw, want := range tests {
		if got := jsonKind(json.RawMessage(raw)); got != want {
			t.Errorf("jsonKind(%q) = %q, want %q", raw, got, want)
		}
	}
}

// jsonObject decodes a JSON object literal for the field reader tests.
func jsonObject(t *testing.T, s string) object {
	t.Helper()
	var o object
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		t.Fatalf("bad test object %s: %v", s, err)
	}
	return o
}

func TestJSONFieldReaderStr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		required bool
		partial  bool
		want     string // value after reading; starts as "old"
		wantErr  string
	}{
		{name: "string", body: `{"f":" Ann "}`, required: true, want: " Ann "}, // trimming is the model's job
		{name: "empty string is read (blank is the model's error)", body: `{"f":""}`, required: true, want: ""},
		{name: "missing required", body: `{}`, required: true, want: "old", wantErr: "This field is required."},
		{name: "missing required, partial", body: `{}`, required: true, partial: true, want: "old"},
		{name: "missing optional", body: `{}`, want: "old"},
		{name: "null", body: `{"f":null}`, want: "old", wantErr: "This field may not be null."},
		{name: "number", body: `{"f":123}`, required: true, want: "old", wantErr: "Not a valid string."},
		{name: "bool", body: `{"f":true}`, want: "old", wantErr: "Not a valid string."},
		{name: "list", body: `{"f":["a"]}`, want: "old", wantErr: "Not a valid string."},
		{name: "object", body: `{"f":{"a":1}}`, want: "old", wantErr: "Not a valid string."},
	}
	for _, tt := range tests {
		r := newFieldReader(jsonObject(t, tt.body), tt.partial)
		got := "old"
		r.str("f", tt.required, &got)
		if got != tt.want {
			t.Errorf("%s: value %q, want %q", tt.name, got, tt.want)
		}
		jsonCheckFieldErr(t, tt.name, r, tt.wantErr)
	}
}

// jsonCheckFieldErr checks the reader's errors for field "f".
func jsonCheckFieldErr(t *testing.T, name string, r *fieldReader, want string) {
	t.Helper()
	msgs := r.errs["f"]
	switch {
	case want == "" && len(msgs) > 0:
		t.Errorf("%s: errors %v, want none", name, msgs)
	case want != "" && (len(msgs) != 1 || msgs[0] != want):
		t.Errorf("%s: errors %v, want [%q]", name, msgs, want)
	}
	if err := r.err(); (err != nil) != (want != "") {
		t.Errorf("%s: err() = %v", name, err)
	} else if err != nil && models.ErrorCode(err) != models.Invalid {
		t.Errorf("%s: err() code %q, want invalid", name, models.ErrorCode(err))
	}
}

func TestJSONFieldReaderDate(t *testing.T) {
	t.Parallel()
	old := models.NewDate(2000, time.January, 1)
	tests := []struct {
		name    string
		body    string
		want    string // "null", "old" or a date
		wantErr string
	}{
		{name: "date", body: `{"f":"1990-05-06"}`, want: "1990-05-06"},
		{name: "date with spaces", body: `{"f":" 1990-05-06 "}`, want: "1990-05-06"},
		{name: "null clears", body: `{"f":null}`, want: "null"},
		{name: "empty string clears", body: `{"f":""}`, want: "null"},
		{name: "missing keeps", body: `{}`, want: "old"},
		{name: "bad format", body: `{"f":"06/05/1990"}`, want: "old", wantErr: models.MsgDateFormat},
		{name: "impossible date", body: `{"f":"1990-02-30"}`, want: "old", wantErr: models.MsgDateFormat},
		{name: "datetime", body: `{"f":"1990-05-06T00:00:00Z"}`, want: "old", wantErr: models.MsgDateFormat},
		{name: "number", body: `{"f":19900506}`, want: "old", wantErr: models.MsgDateFormat},
		{name: "bool", body: `{"f":false}`, want: "old", wantErr: models.MsgDateFormat},
	}
	for _, tt := range tests {
		r := newFieldReader(jsonObject(t, tt.body), false)
		d := &old
		r.date("f", &d)
		got := "null"
		switch {
		case d == &old:
			got = "old"
		case d != nil:
			got = d.String()
		}
		if got != tt.want {
			t.Errorf("%s: value %s, want %s", tt.name, got, tt.want)
		}
		jsonCheckFieldErr(t, tt.name, r, tt.wantErr)
	}
}

func TestJSONFieldReaderInteger(t *testing.T) {
	t.Parallel()
	const msgInt = "A valid integer is required."
	tests := []struct {
		name     string
		body     string
		required bool
		partial  bool
		want     int // starts as 7
		wantErr  string
	}{
		{name: "integer", body: `{"f":5}`, want: 5},
		{name: "zero", body: `{"f":0}`, want: 0},
		{name: "negative (range is the model's job)", body: `{"f":-3}`, want: -3},
		{name: "missing optional", body: `{}`, want: 7},
		{name: "missing required", body: `{}`, required: true, want: 7, wantErr: "This field is required."},
		{name: "missing required, partial", body: `{}`, required: true, partial: true, want: 7},
		{name: "string is not coerced", body: `{"f":"5"}`, want: 7, wantErr: msgInt},
		{name: "float", body: `{"f":5.5}`, want: 7, wantErr: msgInt},
		{name: "whole float", body: `{"f":5.0}`, want: 7, wantErr: msgInt},
		{name: "exponent", body: `{"f":1e2}`, want: 7, wantErr: msgInt},
		{name: "bool", body: `{"f":true}`, want: 7, wantErr: msgInt},
		// Beyond int64 still an integer: the nearest one, for the range check
		// to refuse with its own message (DRF's answer).
		{name: "overflow", body: `{"f":99999999999999999999999}`, want: math.MaxInt64},
		{name: "negative overflow", body: `{"f":-99999999999999999999999}`, want: math.MinInt64},
		{name: "list", body: `{"f":[5]}`, want: 7, wantErr: msgInt},
		// DRF validates null before the type: every non-nullable field says so.
		{name: "null", body: `{"f":null}`, want: 7, wantErr: "This field may not be null."},
	}
	for _, tt := range tests {
		r := newFieldReader(jsonObject(t, tt.body), tt.partial)
		got := 7
		r.integer("f", tt.required, &got)
		if got != tt.want {
			t.Errorf("%s: value %d, want %d", tt.name, got, tt.want)
		}
		jsonCheckFieldErr(t, tt.name, r, tt.wantErr)
	}
}

func TestJSONFieldReaderPK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		partial bool
		want    int64 // starts as 9
		wantErr string
	}{
		{name: "id", body: `{"f":12}`, want: 12},
		{name: "missing", body: `{}`, want: 9, wantErr: "This field is required."},
		{name: "missing, partial", body: `{}`, partial: true, want: 9},
		{name: "null", body: `{"f":null}`, want: 9, wantErr: "This field may not be null."},
		{name: "string", body: `{"f":"12"}`, want: 9, wantErr: "Incorrect type. Expected pk value, received str."},
		{name: "float", body: `{"f":1.5}`, want: 9, wantErr: "Incorrect type. Expected pk value, received float."},
		{name: "bool", body: `{"f":true}`, want: 9, wantErr: "Incorrect type. Expected pk value, received bool."},
		{name: "list", body: `{"f":[1]}`, want: 9, wantErr: "Incorrect type. Expected pk value, received list."},
		{name: "object", body: `{"f":{"id":1}}`, want: 9, wantErr: "Incorrect type. Expected pk value, received dict."},
		// An id beyond int64 names no row: the lookup's "not found".
		{name: "overflow", body: `{"f":99999999999999999999}`, want: math.MaxInt64},
		{name: "negative overflow", body: `{"f":-99999999999999999999}`, want: math.MinInt64},
	}
	for _, tt := range tests {
		r := newFieldReader(jsonObject(t, tt.body), tt.partial)
		var got int64 = 9
		r.pk("f", &got)
		if got != tt.want {
			t.Errorf("%s: value %d, want %d", tt.name, got, tt.want)
		}
		jsonCheckFieldErr(t, tt.name, r, tt.wantErr)
	}
}

func TestJSONFieldReaderErrWith(t *testing.T) {
	t.Parallel()
	cleaned := false
	clean := func() error {
		cleaned = true
		return models.FieldErrors{"f": {"model says f"}, "g": {"model says g"}}.Err()
	}
	// No type error: clean is not run here (the store runs it).
	r := newFieldReader(jsonObject(t, `{"f":"x"}`), false)
	var s string
	r.str("f", true, &s)
	if err := r.errs.With(clean); err != nil || cleaned {
		t.Fatalf("With without type errors = %v (cleaned %v), want nil and clean not run", err, cleaned)
	}
	// A type error: every field's errors at once, the type error winning.
	r = newFieldReader(jsonObject(t, `{"f":1}`), false)
	r.str("f", true, &s)
	err := r.errs.With(clean)
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.Invalid {
		t.Fatalf("With = %v, want Invalid", err)
	}
	if got := fmt.Sprint(me.Fields["f"]); got != "[Not a valid string.]" {
		t.Errorf("f errors = %s, want the type error only", got)
	}
	if got := fmt.Sprint(me.Fields["g"]); got != "[model says g]" {
		t.Errorf("g errors = %s, want the model's", got)
	}
}

// jsonRecoveryApp is an API and an engine with routes that fail in every
// way, behind the same middleware the /api group uses.
type jsonRecoveryApp struct {
	engine *gin.Engine
	logs   *jsonLogBuffer
}

type jsonLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *jsonLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *jsonLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const jsonSecretText = `pq: relation "users" at /work/main/models/user.go:42 SELECT password_hash FROM users`

func newJSONRecoveryApp(t *testing.T) *jsonRecoveryApp {
	t.Helper()
	opts := DefaultOptions()
	opts.JWTSecret = []byte("test-secret-key-of-at-least-32-bytes!!")
	logs := &jsonLogBuffer{}
	a := New(modelstest.Store(t), opts, slog.New(slog.NewTextHandler(logs, nil)))
	r := gin.New()
	r.Use(func(c *gin.Context) {
		if id := c.GetHeader("X-Request-ID"); id != "" {
			c.Header("X-Request-ID", id)
		}
		c.Next()
	})
	g := r.Group("", a.Recovery, a.errorMiddleware)
	g.GET("/panic", func(c *gin.Context) { panic(jsonSecretText) })
	g.GET("/panic-error", func(c *gin.Context) { panic(errors.New(jsonSecretText)) })
	g.GET("/panic-after-write", func(c *gin.Context) {
		c.String(http.StatusOK, "partial")
		panic("late panic")
	})
	g.GET("/abort-handler", func(c *gin.Context) { panic(http.ErrAbortHandler) })
	g.GET("/plain-error", handle(func(c *gin.Context) error { return errors.New(jsonSecretText) }))
	g.GET("/wrapped-model-error", handle(func(c *gin.Context) error {
		return fmt.Errorf("load: %w", &models.Error{Code: models.NotFound, Message: "Not found."})
	}))
	g.GET("/unavailable", handle(func(c *gin.Context) error {
		return &models.Error{Code: models.Unavailable, Message: jsonSecretText}
	}))
	g.GET("/forbidden", handle(func(c *gin.Context) error {
		return &models.Error{Code: models.Forbidden, Message: "anything"}
	}))
	g.GET("/invalid", handle(func(c *gin.Context) error {
		return models.FieldErrors{"name": {"This field is required."}}.Err()
	}))
	g.GET("/unauthorized", handle(func(c *gin.Context) error { return errTokenNotValid() }))
	return &jsonRecoveryApp{engine: r, logs: logs}
}

func (app *jsonRecoveryApp) get(path, requestID string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if requestID != "" {
		req.Header.Set("X-Request-ID", requestID)
	}
	w := httptest.NewRecorder()
	app.engine.ServeHTTP(w, req)
	return w
}

func TestRecoveryAnswers500AndLogsThePanic(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/panic", "/panic-error"} {
		app := newJSONRecoveryApp(t)
		w := app.get(path, "req-panic-1")
		if w.Code != http.StatusInternalServerError {
			t.Fatalf("GET %s: status = %d, want 500", path, w.Code)
		}
		if got := strings.TrimSpace(w.Body.String()); got != `{"detail":"Internal server error."}` {
			t.Errorf("GET %s: body = %s, want the generic 500", path, got)
		}
		jsonNoInternals(t, "GET "+path, w.Body.String())
		if strings.Contains(w.Body.String(), "password_hash") {
			t.Errorf("GET %s: body leaks the panic value: %s", path, w.Body)
		}
		logs := app.logs.String()
		if n := strings.Count(logs, "msg=panic"); n != 1 {
			t.Errorf("GET %s: %d panic log lines, want 1; logs:\n%s", path, n, logs)
		}
		for _, want := range []string{"req-panic-1", "password_hash", "stack=", "level=ERROR"} {
			if !strings.Contains(logs, want) {
				t.Errorf("GET %s: log lacks %q; logs:\n%s", path, want, logs)
			}
		}
	}
}

func TestRecoveryAfterTheResponseStarted(t *testing.T) {
	t.Parallel()
	app := newJSONRecoveryApp(t)
	w := app.get("/panic-after-write", "")
	if w.Code != http.StatusOK || w.Body.String() != "partial" {
		t.Fatalf("status %d body %q: want the partial answer left alone", w.Code, w.Body)
	}
	if !strings.Contains(app.logs.String(), "late panic") {
		t.Errorf("panic after write not logged: %s", app.logs)
	}
}

func TestRecoveryRepanicsErrAbortHandler(t *testing.T) {
	t.Parallel()
	app := newJSONRecoveryApp(t)
	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler to propagate to net/http", r)
		}
	}()
	app.get("/abort-handler", "")
	t.Error("http.ErrAbortHandler was swallowed")
}

func TestErrorMiddlewareOtherErrorsAre500(t *testing.T) {
	t.Parallel()
	app := newJSONRecoveryApp(t)
	w := app.get("/plain-error", "req-plain-7")
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	if got := strings.TrimSpace(w.Body.String()); got != `{"detail":"Internal server error."}` {
		t.Errorf("body = %s, want the generic 500", got)
	}
	jsonNoInternals(t, "plain error", w.Body.String())
	logs := app.logs.String()
	if n := strings.Count(logs, "request failed"); n != 1 {
		t.Errorf("error logged %d times, want once; logs:\n%s", n, logs)
	}
	if !strings.Contains(logs, "SELECT password_hash FROM users") {
		t.Errorf("log lacks the error itself:\n%s", logs)
	}
	if !strings.Contains(logs, "request_id=req-plain-7") || !strings.Contains(logs, "route=/plain-error") {
		t.Errorf("log lacks the request id or route:\n%s", logs)
	}
}

func TestErrorMiddlewareShapes(t *testing.T) {
	t.Parallel()
	app := newJSONRecoveryApp(t)
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
		wantHeader string // WWW-Authenticate
	}{
		{"/wrapped-model-error", 404, `{"detail":"Not found."}`, ""},
		{"/unavailable", 503, `{"detail":"Service temporarily unavailable."}`, ""},
		{"/forbidden", 403, `{"detail":"You do not have permission to perform this action."}`, ""},
		{"/invalid", 400, `{"name":["This field is required."]}`, ""},
		{"/unauthorized", 401, `{"code":"token_not_valid","detail":"Given token not valid for any token type"}`, `Bearer realm="api"`},
	}
	for _, tt := range tests {
		w := app.get(tt.path, "")
		if w.Code != tt.wantStatus {
			t.Errorf("GET %s: status = %d, want %d", tt.path, w.Code, tt.wantStatus)
		}
		if got := strings.TrimSpace(w.Body.String()); got != tt.wantBody {
			t.Errorf("GET %s: body = %s, want %s", tt.path, got, tt.wantBody)
		}
		if got := w.Header().Get("WWW-Authenticate"); got != tt.wantHeader {
			t.Errorf("GET %s: WWW-Authenticate = %q, want %q", tt.path, got, tt.wantHeader)
		}
		jsonNoInternals(t, "GET "+tt.path, w.Body.String())
	}
	if strings.Contains(app.logs.String(), "request failed") {
		t.Errorf("*models.Error answers were logged as failures:\n%s", app.logs)
	}
}
