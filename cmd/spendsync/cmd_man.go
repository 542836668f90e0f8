package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCommand generates man pages (make man); hidden from users.
func newManCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write man pages for every command into DIR",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			if err := doc.GenManTree(root, &doc.GenManHeader{Title: "SPENDSYNC", Section: "1", Source: "spendsync"}, args[0]); err != nil {
				return fmt.Errorf("generate man pages: %w", err)
			}
			fmt.Fprintf(g.stdout, "man pages in %s\n", args[0])
			return nil
		},
	}
}
