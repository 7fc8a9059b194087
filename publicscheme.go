package main

import (
	"net"
	"strings"

	"github.com/gin-gonic/gin"
)

// publicScheme records in the request's URL the scheme clients reached the
// server by, for the absolute links the API builds (pagination's next and
// previous): https over TLS; https for every request when secure is set
// (SECURE_COOKIES: the site is served over HTTPS, its cookies and HSTS say
// so); otherwise what X-Forwarded-Proto says, from a proxy in trusted
// (TRUSTED_PROXIES) only, as gorilla's ProxyHeaders and Django's
// SECURE_PROXY_SSL_HEADER read it. A TLS proxy's next links were http://
// unless the proxy also sent an X-Forwarded-For naming another address:
// mixed content for a browser app, and a bearer token sent in clear to
// whatever answers on port 80.
func publicScheme(trusted []string, secure bool) gin.HandlerFunc {
	nets := make([]*net.IPNet, 0, len(trusted))
	for _, p := range trusted {
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		if _, n, err := net.ParseCIDR(p); err == nil { // config checked them
			nets = append(nets, n)
		}
	}
	fromProxy := func(c *gin.Context) bool {
		ip := net.ParseIP(c.RemoteIP())
		for _, n := range nets {
			if ip != nil && n.Contains(ip) {
				return true
			}
		}
		return false
	}
	return func(c *gin.Context) {
		scheme := "http"
		switch {
		case c.Request.TLS != nil || secure:
			scheme = "https"
		case len(nets) > 0 && fromProxy(c):
			// The first value: a chain of proxies appends theirs after the
			// one that faced the client.
			first, _, _ := strings.Cut(c.GetHeader("X-Forwarded-Proto"), ",")
			if strings.EqualFold(strings.TrimSpace(first), "https") {
				scheme = "https"
			}
		}
		c.Request.URL.Scheme = scheme
		c.Next()
	}
}
