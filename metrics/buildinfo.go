package metrics

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// modulePath is tollgate's module path, looked up in the binary's build information.
const modulePath = "github.com/tollgate/tollgate"

// buildVersion returns tollgate's module version as built into the running binary ("devel"
// for a build from a working tree, "unknown" without build information) and the Go version.
func buildVersion() (version, goVersion string) {
	goVersion = runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown", goVersion
	}
	version = ""
	if bi.Main.Path == modulePath {
		version = bi.Main.Version
	} else {
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				version = d.Version
				if d.Replace != nil && d.Replace.Version != "" {
					version = d.Replace.Version
				}
				break
			}
		}
	}
	switch {
	case version == "" && strings.HasSuffix(bi.Path, ".test"):
		version = "devel" // a test binary of a tollgate package
	case version == "":
		version = "unknown"
	case version == "(devel)":
		version = "devel"
	}
	return version, goVersion
}
