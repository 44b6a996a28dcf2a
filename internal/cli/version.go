package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is what `version` prints.
type Version struct {
	Program  string `json:"program"`
	Module   string `json:"module"`
	Version  string `json:"version"`  // the module version; "(devel)" when built from a checkout
	Go       string `json:"go"`       // the Go toolchain that built the program
	Platform string `json:"platform"` // GOOS/GOARCH
	Revision string `json:"revision"` // VCS revision; "unknown" without VCS information
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
}

// ReadVersion reads the program's version from the build information the Go toolchain embeds.
// `go build` in a git checkout records the revision; `go run` and -buildvcs=false do not, and
// the revision is then "unknown".
func ReadVersion(program string) Version {
	v := Version{Program: program, Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Revision: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Module, v.Version = bi.Main.Path, bi.Main.Version
	if v.Version == "" {
		v.Version = "unknown"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v Version) write(w io.Writer, format string) error {
	if format == "json" {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	rev := v.Revision
	if v.Modified {
		rev += " (modified)"
	}
	if v.Time != "" {
		rev += ", " + v.Time
	}
	_, err := fmt.Fprintf(w, "%s %s\n  module:   %s\n  go:       %s %s\n  revision: %s\n", v.Program, v.Version, v.Module, v.Go, v.Platform, rev)
	return err
}

// NewVersionCommand returns the `version` command of program.
func NewVersionCommand(program string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the version, Go version and VCS revision this program was built from",
		Long: `Prints the module version, the Go toolchain and platform, and the VCS revision the program
was built from, read from the build information Go embeds (runtime/debug.ReadBuildInfo).
'go build' in a git checkout records the revision; 'go run' and -buildvcs=false do not, and it
is then "unknown". A program built from a checkout has version "(devel)"; one installed with
'go install MODULE@VERSION' has that version.`,
		Example: "  " + program + " version\n  " + program + " version --format json",
		Args:    NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return ReadVersion(program).write(cmd.OutOrStdout(), format)
		},
	}
	EnumVar(cmd, &format, "format", "table", []string{"table", "json"}, "output format")
	return cmd
}
