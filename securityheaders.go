package main

import "github.com/gin-gonic/gin"

// hstsValue makes browsers use HTTPS only for a year, subdomains included.
// It is sent only when the operator says the site is served over HTTPS
// (SECURE_COOKIES): over plain HTTP it would lock browsers out.
const hstsValue = "max-age=31536000; includeSubDomains"

// securityHeaders sets the headers every response carries, whatever route
// (API, admin, docs, 404) answers it. It only fills in what nobody chose:
// a header a middleware placed before it has set is left alone, and the
// handlers that run after it may still override these defaults (the admin
// panel sets its own).
func securityHeaders(https bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		setDefault := func(name, value string) {
			if h.Get(name) == "" {
				h.Set(name, value)
			}
		}
		// No MIME sniffing: a JSON body (which may echo user input) is
		// never run as HTML or script.
		setDefault("X-Content-Type-Options", "nosniff")
		// URLs carry record ids; they never leave the site in a Referer.
		setDefault("Referrer-Policy", "same-origin")
		// Nothing here is meant to be framed (clickjacking).
		setDefault("X-Frame-Options", "DENY")
		if https {
			setDefault("Strict-Transport-Security", hstsValue)
		}
		c.Next()
	}
}
