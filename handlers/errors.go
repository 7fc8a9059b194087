package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/gin-gonic/gin"

	"healthcare/models"
)

// httpError is an error that exists only at the HTTP edge (wrong method,
// media type, body size, throttling); everything else is a *models.Error.
type httpError struct {
	status     int
	detail     string
	code       string // simplejwt's "code", when it sends one
	retryAfter int    // seconds, for 429
}

func (e *httpError) Error() string { return fmt.Sprintf("http %d: %s", e.status, e.detail) }

// statusOf is the one table from error codes to statuses.
var statusOf = map[string]int{
	models.Invalid:      http.StatusBadRequest,
	models.Unauthorized: http.StatusUnauthorized,
	models.Forbidden:    http.StatusForbidden,
	models.NotFound:     http.StatusNotFound,
	models.Conflict:     http.StatusConflict,
	models.Unavailable:  http.StatusServiceUnavailable,
	models.Internal:     http.StatusInternalServerError,
}

// Messages of the contract that are the same wherever they occur.
const (
	msgForbidden   = "You do not have permission to perform this action."
	msgNotFound    = "Not found."
	msgInternal    = "Internal server error."
	msgUnavailable = "Service temporarily unavailable."
	msgNoAuth      = "Authentication credentials were not provided."
)

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(c *gin.Context) error

// handle adapts h to gin: an error is recorded for the error middleware.
func handle(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			_ = c.Error(err)
			c.Abort()
		}
	}
}

// errorMiddleware writes the response for the error a handler returned, in
// the contract's DRF shapes. Internal errors are logged once, with the
// request id, and never shown.
func (a *API) errorMiddleware(c *gin.Context) {
	c.Next()
	a.answerError(c)
}

// answerError writes the answer of the request's last error, unless it has
// none or its answer is already written.
func (a *API) answerError(c *gin.Context) {
	if len(c.Errors) == 0 || c.Writer.Written() {
		return
	}
	a.writeError(c, c.Errors.Last().Err)
}

func (a *API) writeError(c *gin.Context, err error) {
	var he *httpError
	if errors.As(err, &he) {
		if he.retryAfter > 0 {
			c.Header("Retry-After", strconv.Itoa(he.retryAfter))
		}
		if he.status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Bearer realm="api"`)
		}
		body := gin.H{"detail": he.detail}
		if he.code != "" {
			body["code"] = he.code
		}
		c.JSON(he.status, body)
		return
	}
	var me *models.Error
	if !errors.As(err, &me) {
		a.log.ErrorContext(c.Request.Context(), "request failed", requestAttrs(c, slog.Any("error", err))...)
		c.JSON(http.StatusInternalServerError, gin.H{"detail": msgInternal})
		return
	}
	status := statusOf[me.Code]
	switch {
	case me.Code == models.Invalid && len(me.Fields) > 0:
		c.JSON(status, me.Fields)
	case me.Code == models.Unauthorized:
		c.Header("WWW-Authenticate", `Bearer realm="api"`)
		body := gin.H{"detail": me.Message}
		if me.TokenInvalid {
			body["code"] = "token_not_valid"
		}
		c.JSON(status, body)
	case me.Code == models.Unavailable:
		// Not a bug, but the operator must tell a refused connection from
		// a lock held past the deadline: the cause, once, with the request.
		// (Not a client that hung up: its query was cancelled, and nothing
		// is wrong with the database.)
		if ctx := c.Request.Context(); !models.ClientGone(ctx) {
			a.log.WarnContext(ctx, "database unavailable", requestAttrs(c, slog.Any("error", models.CauseOf(ctx, err)))...)
		}
		c.JSON(status, gin.H{"detail": msgUnavailable})
	case me.Code == models.Forbidden:
		c.JSON(status, gin.H{"detail": msgForbidden})
	default:
		c.JSON(status, gin.H{"detail": me.Message})
	}
}

// NotFound answers an unknown path under /api/ (and the service paths).
// Like every API answer it is kept out of caches: a cached 404 would hide
// a path once it exists.
func (a *API) NotFound(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusNotFound, gin.H{"detail": msgNotFound})
}

// MethodNotAllowed answers a known path with another method; gin has set
// the Allow header.
func (a *API) MethodNotAllowed(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if pattern, segments := a.needsToken.find(c.Request.URL.Path); pattern != nil {
		// DRF authenticates before it looks at the method: on a path that
		// needs a token, a request without a valid one is a 401 whatever
		// its method, and only an authenticated one learns what is allowed.
		defer a.withDeadline(c)()
		if a.authenticate(c); c.IsAborted() {
			c.Writer.Header().Del("Allow")
			a.writeError(c, c.Errors.Last().Err)
			return
		}
		// "A path id that is not one is 404" (API.md), as Django's <int:>
		// converter answers for any method: /api/patients/abc/ is no path.
		if !namesObject(pattern, segments) {
			c.Writer.Header().Del("Allow")
			a.NotFound(c)
			return
		}
	}
	c.JSON(http.StatusMethodNotAllowed, gin.H{"detail": fmt.Sprintf("Method %q not allowed.", c.Request.Method)})
}

// Recovery turns a panic into the contract's 500, logged with the request
// id; the stack goes to the log, never to the client.
func (a *API) Recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.log.ErrorContext(c.Request.Context(), "panic",
				slog.String("request_id", c.Writer.Header().Get("X-Request-ID")),
				slog.String("route", c.FullPath()), slog.Any("panic", r), slog.String("stack", stack()))
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"detail": msgInternal})
			} else {
				c.Abort()
			}
		}
	}()
	c.Next()
}

func stack() string { return string(debug.Stack()) }

// requestAttrs are the attributes that tie a log line to its request (the
// access log's request_id, method and route), then more.
func requestAttrs(c *gin.Context, more ...any) []any {
	return append([]any{slog.String("request_id", c.Writer.Header().Get("X-Request-ID")),
		slog.String("method", c.Request.Method), slog.String("route", c.FullPath())}, more...)
}
