package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/lifecycle"
)

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
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.file, "file", "", "ingest this persons file instead of the source's configured one, or for an api: source a kept pull's folder (needs --source)")
	f.StringVar(&o.source, "source", "", "the source whose settings apply to --file")
	f.BoolVar(&o.dryRun, "dry-run", false, "report what would change; write nothing")
	f.BoolVar(&o.force, "force", false, "let a safety stop through once (recorded as a force event)")
	return cmd
}

func runIngest(cmd *cobra.Command, g *globals, o ingestOptions, args []string) error {
	if (o.file == "") != (o.source == "") {
		return &usageError{fmt.Errorf("--file and --source go together")}
	}
	if o.file != "" && len(args) > 0 {
		return &usageError{fmt.Errorf("name sources or use --file --source, not both")}
	}
	return g.withStore("ingest", o.dryRun, func(cfg *config, st *lifecycle.Store, runID int64) error {
		return ingest(cmd, g, cfg, st, runID, o, args)
	})
}

func ingest(cmd *cobra.Command, g *globals, cfg *config, st *lifecycle.Store, runID int64, o ingestOptions, args []string) error {
	sources, err := selectSources(cfg, args, o)
	if err != nil {
		return err
	}
	if o.dryRun {
		sources = withoutKeeping(sources)
	}
	rep, err := st.Ingest(cmd.Context(), runID, sources, lifecycle.IngestOptions{
		Rules: cfg.connectorRules(), Thresholds: cfg.Rules.Thresholds,
		DryRun: o.dryRun, Force: o.force, Now: time.Now(), Log: g.log, Progress: g.progress("reading"), Phases: g.phases(),
	})
	if err != nil {
		return err
	}
	perSource := map[string]any{}
	for _, p := range rep.Plans {
		perSource[p.Source] = map[string]any{"rows": p.Rows, "joined": p.Count(lifecycle.PersonJoined),
			"changed": p.Count(lifecycle.PersonChanged), "left": p.Count(lifecycle.PersonLeft), "rejected": len(p.Rejects),
			"removals_held": p.Count(lifecycle.PersonHeld), "orphans": p.Orphans, "orphan_example": p.OrphanExample,
			"contract_events": p.Count(lifecycle.ContractAdded) + p.Count(lifecycle.ContractChanged) + p.Count(lifecycle.ContractEnded) + p.Count(lifecycle.ContractRemoved)}
	}
	if err := st.Summarize(runID, map[string]any{"sources": perSource}); err != nil {
		return err
	}
	for _, p := range rep.Plans {
		prefix := ""
		if o.dryRun {
			prefix = "would: "
		}
		fmt.Fprintln(g.stdout, prefix+p.Summary())
		if o.dryRun && g.verbose {
			enc := json.NewEncoder(g.stdout)
			for _, e := range p.Events {
				enc.Encode(e)
			}
		}
	}
	if rep.Rejects > 0 {
		return fmt.Errorf("%d rows rejected: %w", rep.Rejects, errRejected)
	}
	return nil
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

// withoutKeeping copies the api: sources that keep their pages so a dry run
// keeps none: a dry run writes nothing anywhere.
func withoutKeeping(sources []*connector.Source) []*connector.Source {
	out := make([]*connector.Source, len(sources))
	for i, s := range sources {
		out[i] = s
		if s.API != nil && s.API.KeepResponses {
			c, a := *s, *s.API
			a.KeepResponses = false
			c.API = &a
			out[i] = &c
		}
	}
	return out
}
