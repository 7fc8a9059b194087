// Package static holds the admin panel's own CSS and JavaScript, embedded
// in the binary: no CDN, nothing to deploy beside the executable.
package static

import "embed"

// FS holds admin.css and admin.js.
//
//go:embed admin.css admin.js
var FS embed.FS
