package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and Go version",
		Example: `  spendsync version`,
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return runVersion(cmd.OutOrStdout()) },
	}
}

func runVersion(w io.Writer) error {
	_, err := fmt.Fprint(w, versionText())
	return err
}

// stampedVersion and stampedCommit are set by make build and make windows
// (-ldflags -X, from git describe and git rev-parse): where builds run
// with -buildvcs=false, or from a tree without .git, the build info has
// no commit.
var stampedVersion, stampedCommit string

// versionText is what both "spendsync version" and "spendsync --version"
// print: the module version, the commit and the Go version.
func versionText() string {
	version, commit, goVersion := "(devel)", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, goVersion = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					commit += "-dirty"
				}
			}
		}
	}
	if stampedVersion != "" {
		version = stampedVersion
	}
	if stampedCommit != "" {
		commit = stampedCommit
	}
	return fmt.Sprintf("spendsync %s\ncommit %s\n%s\n", version, commit, goVersion)
}
