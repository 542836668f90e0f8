package main

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/lifecycle"
)

//go:embed sample.yaml
var sampleConfig []byte

func newInitCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Write a commented sample config and create the database",
		Long: `init writes a sample config with every key and its default to --config
and creates the database it names, 0600 in a 0700 folder. When the config
exists, init leaves it as it is and only creates its database (refusing
when that exists too). The sample reads one source, hr/medewerkers.csv and
hr/dienstverbanden.csv next to the config; a second source, the delivery
target and metrics are commented out. init prints the next steps.`,
		Example: `  spendsync init --config /etc/spendsync/spendsync.yaml`,
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return runInit(g) },
	}
}

func runInit(g *globals) error {
	path := g.configPath
	if err := atomicfile.MkdirPrivate(filepath.Dir(path)); err != nil {
		return fmt.Errorf("create config folder: %w", err)
	}
	// 0600; on Windows the owner, SYSTEM and Administrators only.
	f, err := atomicfile.CreatePrivate(path)
	if errors.Is(err, os.ErrExist) {
		return initDatabase(g, path)
	}
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(sampleConfig); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err) // names path
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	st, err := lifecycle.Open(cfg.Database, lifecycle.Create)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	g.log.Debug("initialised", "config", path, "database", cfg.Database)
	printNextSteps(g, path, cfg)
	return nil
}

// initDatabase creates the database an existing config names, as a
// command that finds none advises; the config itself is never touched.
func initDatabase(g *globals, path string) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.Database); err == nil {
		return &usageError{fmt.Errorf("%s and its database %s exist; init does not overwrite either", path, cfg.Database)}
	}
	st, err := lifecycle.Open(cfg.Database, lifecycle.Create)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "kept %s as it is and created %s\n", path, cfg.Database)
	return nil
}

// printNextSteps tells a new user what to do after init: the sample's first
// ingest needs the HR files it names, and nothing is delivered until a
// target is switched on.
func printNextSteps(g *globals, path string, cfg *config) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	self := "spendsync --config " + abs
	var files []string
	for _, s := range cfg.Sources {
		for _, f := range []string{s.Persons, s.Contracts} {
			if f != "" {
				files = append(files, "       "+f)
			}
		}
	}
	fmt.Fprintf(g.stdout, "wrote %s and created %s\n\nnext steps:\n", abs, cfg.Database)
	fmt.Fprintf(g.stdout, `  1. put the HR exports where the config expects them:
%s
     or edit sources: in the config (another HR system: change profile:)
  2. %s ingest --dry-run -v
     reads and checks everything, writes nothing
  3. switch on a target in the config (target.sftp or target.dir); for SFTP
     first run spendsync hostkey HOST and add its line to known_hosts, and
     make the RSA key Spend Cloud asks for with spendsync keygen FILE (paste
     the line it prints under Application Management > General > SCP)
  4. %s run
     ingests, exports and delivers; schedule it (docs/operations.md)
`, strings.Join(files, "\n"), self, self)
}
