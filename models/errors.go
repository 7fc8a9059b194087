// Package models holds the GORM models, the queries over them (Store) and the
// one error vocabulary that the JSON API and the admin panel both translate
// into responses. It knows nothing of HTTP.
package models

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Error codes. Each maps to exactly one HTTP status in handlers and one page
// in admin; anything that is not an *Error is Internal.
const (
	Invalid      = "invalid"      // input failed validation
	Unauthorized = "unauthorized" // credentials or token missing or wrong
	Forbidden    = "forbidden"    // authenticated but not allowed
	NotFound     = "not_found"    // no such object, or not the caller's
	Conflict     = "conflict"     // a state conflict not tied to one field
	Unavailable  = "unavailable"  // the database cannot be reached
	Internal     = "internal"     // a bug
)

// NonFieldErrors is the key DRF uses for validation errors not tied to one field.
const NonFieldErrors = "non_field_errors"

// Error is the error type every layer speaks. Message is a sentence for
// users; Fields holds per-field validation messages for Invalid.
type Error struct {
	Code    string
	Message string
	Fields  map[string][]string
	// TokenInvalid marks an Unauthorized error caused by a presented token
	// that is not valid (DRF's code "token_not_valid").
	TokenInvalid bool
	// cause is the driver's error an Unavailable one stands for: for the
	// operator's log (a refused connection, a lock, a full pool), never
	// for the client. Not unwrapped: callers ask the code, not the driver.
	cause error
}

// Cause returns the underlying error of the first *Error in err's chain
// (the driver's failure behind an Unavailable error), or nil.
func Cause(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e.cause
	}
	return nil
}

// CauseOf is what the operator's log says for err, a request's failure
// whose context is ctx: its context's own cause when the server ended it
// with one (the shutdown cutting long requests, where the driver's error
// only says "context canceled"), else the driver's error behind err, else
// err itself (a failed write to the client is no driver's: its own text
// says what happened, where nil said nothing).
func CauseOf(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != ctx.Err() {
			return cause
		}
	}
	if cause := Cause(err); cause != nil {
		return cause
	}
	return err
}

// ClientGone reports whether ctx, a request's context, was cancelled by
// its client: net/http cancels it, with no cause of its own, when the
// connection closes. An ended deadline is not the client's, nor a cancel
// with a cause (the server's shutdown cutting long requests). A context
// that a middleware cancels itself once the handler returns (a deadline's)
// reads as gone after that: ask the server's own then (the access log does).
func ClientGone(ctx context.Context) bool {
	return ctx.Err() != nil && context.Cause(ctx) == context.Canceled
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Sprintf("%s: invalid fields %v", e.Code, keys)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, Internal for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the user-facing message of err, or a generic one for
// errors that are not *Error (their text may hold SQL or internals).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Internal server error."
}

// FieldErrors collects validation messages by field while a value is checked.
type FieldErrors map[string][]string

// Add records msg for field.
func (f FieldErrors) Add(field, msg string) { f[field] = append(f[field], msg) }

// Has reports whether field already has a message (later checks on the same
// field are skipped, as DRF stops at a field's first failing validator).
func (f FieldErrors) Has(field string) bool { return len(f[field]) > 0 }

// Err returns nil when no field failed, else an Invalid *Error.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "Invalid input.", Fields: f}
}

// Merge adds every message of other to f.
func (f FieldErrors) Merge(other FieldErrors) {
	for k, msgs := range other {
		f[k] = append(f[k], msgs...)
	}
}

// With returns f, the fields that did not parse, together with the
// validation errors of clean, as DRF reports every failing field at once;
// nil when f is empty (the caller validates as usual). clean's messages for
// a field that did not parse are dropped: the parse error says more. The
// API's JSON and the panel's forms both use it.
func (f FieldErrors) With(clean func() error) error {
	if len(f) == 0 {
		return nil
	}
	var e *Error
	if err := clean(); errors.As(err, &e) {
		for field, msgs := range e.Fields {
			if !f.Has(field) {
				f[field] = msgs
			}
		}
	}
	return f.Err()
}

// invalidField is shorthand for an Invalid error on one field.
func invalidField(field, msg string) *Error {
	return &Error{Code: Invalid, Message: msg, Fields: map[string][]string{field: {msg}}}
}

// notFound is the one NotFound error: it never says whether the object exists
// and belongs to someone else.
func notFound() *Error { return &Error{Code: NotFound, Message: "Not found."} }

// unavailable is the error of a database that cannot serve the request
// now, cause being the driver's failure (for the operator's log).
func unavailable(cause error) *Error {
	return &Error{Code: Unavailable, Message: "Service temporarily unavailable.", cause: cause}
}
