package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"healthcare/config"
)

// probePaths answer whatever Host a request names: health checks and
// metrics scrapers address the process by its IP (a container's, a
// pod's, 127.0.0.1 for -healthcheck), and these paths build no links.
var probePaths = map[string]bool{
	"/healthz": true, "/healthz/": true, "/readyz": true, "/readyz/": true, "/metrics": true, "/metrics/": true,
}

// allowedHosts refuses a request whose Host is not one of hosts
// (ALLOWED_HOSTS), as Django does: the API builds its absolute pagination
// links from the Host, so a forged one, passed on by a proxy, would send
// clients (and their tokens) elsewhere. The refusal is a 400 that does not
// echo the Host.
func allowedHosts(hosts config.AllowedHosts) gin.HandlerFunc {
	return func(c *gin.Context) {
		if hosts.Allow(c.Request.Host) || probePaths[c.Request.URL.Path] {
			c.Next()
			return
		}
		c.Header("Cache-Control", "no-store")
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"detail": "Invalid host header."})
	}
}
