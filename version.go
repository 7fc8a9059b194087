package main

import "runtime/debug"

// buildVersion is set by builds that have no Git metadata to stamp (the
// Dockerfile's, whose context leaves .git out):
// -ldflags '-X main.buildVersion=...'.
var buildVersion string

// version is the module version stamped by the Go toolchain (the VCS
// revision when built from a checkout).
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
