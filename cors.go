package main

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// corsMaxAge is how long a browser may reuse a preflight's answer.
const corsMaxAge = "600"

// cors lets the pages of the allowed origins (CORS_ALLOWED_ORIGINS) call
// the API from a browser, as django-cors-headers does for a DRF project:
// a preflight (OPTIONS with Access-Control-Request-Method) from such an
// origin is answered 204 before authentication (a browser never sends a
// token with it), and every API response to such an origin names it in
// Access-Control-Allow-Origin. No credentials: the API's are Bearer
// tokens, never cookies. Other origins, and paths outside /api/ (the
// admin panel), get no CORS headers, so browsers keep their pages out.
func cors(origins []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		path := c.Request.URL.Path
		if len(origins) == 0 || (path != "/api" && !strings.HasPrefix(path, "/api/")) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Add("Vary", "Origin")
		origin := c.GetHeader("Origin")
		if origin == "" || !slices.Contains(origins, strings.ToLower(origin)) {
			c.Next()
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", corsMaxAge)
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		// What a client reads besides the body: the wait of a 429 and the
		// scheme of a 401.
		h.Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
		c.Next()
	}
}
