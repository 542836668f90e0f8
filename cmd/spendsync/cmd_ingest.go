package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// ingestOptions are ingest's flags.
type ingestOptions struct {
	file, source  string
	dryRun, force bool
}

func newIngestCommand(g *globals) *cobra.Command {
	var o ingestOptions
	cmd := &cobra.Command{
		Use:   "ingest [SOURCE...]",
		Short: "Read the HR sources and record joiners, movers and leavers",
		Long: `ingest reads every configured source (or the named ones), validates each row,
diffs it against the stored state and records each change as an event. Bad
rows are stored as rejects (spendsync rejects) and change nothing; the exit
code is then 5. A safety stop (empty or stale source, too many removals or
rejects) exits 3 and changes nothing; --force lets it through once.`,
		Example: `  spendsync ingest --dry-run -v
  spendsync ingest afas
  spendsync ingest --source afas --file /tmp/medewerkers-correctie.csv
  spendsync ingest --source afas --file /var/lib/spendsync/responses/afas/20260101T020000.000000000Z`,
		RunE: func(cmd *cobra.Command, args []string) error { return runIngest(cmd.Context(), o, g, args) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func (o *ingestOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.file, "file", "", "ingest this persons file instead of the source's configured one, or for an api: source a kept pull's folder (needs --source)")
	f.StringVar(&o.source, "source", "", "the source whose settings apply to --file")
	f.BoolVar(&o.dryRun, "dry-run", false, "report what would change; write nothing")
	f.BoolVar(&o.force, "force", false, "let a safety stop through once (recorded as a force event)")
}

func runIngest(ctx context.Context, o ingestOptions, g *globals, args []string) error {
	if (o.file == "") != (o.source == "") {
		return &usageError{fmt.Errorf("--file and --source go together")}
	}
	if o.file != "" && len(args) > 0 {
		return &usageError{fmt.Errorf("name sources or use --file --source, not both")}
	}
	return g.withStore("ingest", o.dryRun, func(cfg *config, st *lifecycle.Store, runID int64) error {
		sources, err := selectSources(cfg, args, o)
		if err != nil {
			return err
		}
		return g.pipeline(cfg, st, runID).Ingest(ctx, pipeline.IngestOptions{Sources: sources, DryRun: o.dryRun, Force: o.force})
	})
}

// selectSources picks the sources to read: the named ones, the --file
// override, or all.
func selectSources(cfg *config, args []string, o ingestOptions) ([]*connector.Source, error) {
	byName := map[string]*connector.Source{}
	for _, s := range cfg.Sources {
		byName[s.Name] = s
	}
	if o.source != "" {
		s, ok := byName[o.source]
		if !ok {
			return nil, &usageError{fmt.Errorf("--source %q is not a configured source", o.source)}
		}
		c := *s
		if s.API != nil {
			// A pulled source replays a kept pull: --file names its folder.
			a := *s.API
			a.Replay = o.file
			c.API = &a
			return []*connector.Source{&c}, nil
		}
		c.Persons = o.file // the contracts file, if any, stays as configured
		return []*connector.Source{&c}, nil
	}
	if len(args) == 0 {
		if len(cfg.Sources) == 0 {
			return nil, &configError{file: cfg.path, key: "sources", err: fmt.Errorf("no sources configured")}
		}
		return cfg.Sources, nil
	}
	var out []*connector.Source
	for _, a := range args {
		s, ok := byName[a]
		if !ok {
			return nil, &usageError{fmt.Errorf("%q is not a configured source", a)}
		}
		out = append(out, s)
	}
	return out, nil
}
