package main

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/lifecycle"
)

//go:embed sample.yaml
var sampleConfig []byte

func newInitCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Write a commented sample config and create the database",
		Long: `init writes a sample config with every key and its default to --config
(refusing to overwrite one) and creates the database it names, 0600 in a
0700 folder. Edit the sources and target, then run spendsync ingest --dry-run.`,
		Example: `  spendsync init --config /etc/spendsync/spendsync.yaml`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(g)
		},
	}
}

func runInit(g *globals) error {
	path := g.configPath
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create config folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return &usageError{fmt.Errorf("%s exists; init does not overwrite a config", path)}
	}
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(sampleConfig); err != nil {
		f.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	st, err := lifecycle.Open(cfg.Database, true, false)
	if err != nil {
		return err
	}
	g.log.Info("initialised", "config", path, "database", cfg.Database)
	return st.Close()
}
