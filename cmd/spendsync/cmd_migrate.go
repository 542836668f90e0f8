package main

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
)

func newMigrateCommand(g *globals) *cobra.Command {
	var from string
	var force bool
	cmd := &cobra.Command{
		Use:   "migrate --from-helloid DB",
		Short: "Adopt a HelloID SpendCloud.db as the last export",
		Long: `migrate reads the HelloID SpendCloud connector's SQLite database (tables
persons and roles; opened read-only) and records its content as the last
export, so the next export's diff shows only real changes instead of a wave
of creates. Run it once, after the first ingest and before the first export;
a second migrate is refused unless --force.`,
		Example: `  spendsync migrate --from-helloid 'C:\ProgramData\Tools4ever\HelloID\SpendCloud.db'`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return &usageError{fmt.Errorf("--from-helloid is required")}
			}
			prev, orphans, err := lifecycle.ReadHelloID(cmd.Context(), from)
			if err != nil {
				return err
			}
			w, err := g.openWriter("migrate")
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			err = func() error {
				if done, err := w.store.Migrated(ctx); err != nil {
					return err
				} else if done != "" && !force {
					return &usageError{fmt.Errorf("already migrated (export %s); a second migrate would replace what spendsync exported since: pass --force to do it anyway", done)}
				}
				old, err := w.store.LastExport(ctx)
				if err != nil {
					return err
				}
				dump := &export.Dump{Date: time.Now().Format("2006-01-02")}
				roles := 0
				for _, emp := range slices.Sorted(maps.Keys(prev.Persons)) {
					dump.Persons = append(dump.Persons, prev.Persons[emp])
					dump.Roles = append(dump.Roles, prev.Roles[emp]...)
					roles += len(prev.Roles[emp])
				}
				id := fmt.Sprintf("helloid-%s-%d", time.Now().UTC().Format("20060102T150405Z"), w.runID)
				m := &export.Manifest{ExportID: id, Date: dump.Date, Created: time.Now().UTC().Format(time.RFC3339),
					Persons: export.FileInfo{File: "persons", Rows: len(dump.Persons)}, Roles: export.FileInfo{File: "roles", Rows: roles}}
				ev := lifecycle.Event{Source: "migrate", Kind: lifecycle.Migrated, Details: map[string]any{
					"file": from, "persons": len(dump.Persons), "roles": roles, "roles_without_person": orphans, "export_id": id}}
				if err := w.store.RecordExport(ctx, w.runID, old, lifecycle.ExportRecord{Manifest: m, Origin: "migrate",
					Dump: dump, Extra: []lifecycle.Event{ev}}); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "adopted %s as the last export: %d persons, %d roles (%d roles matched no person)\n",
					from, len(dump.Persons), roles, orphans)
				return nil
			}()
			return w.close(err)
		},
	}
	cmd.Flags().StringVar(&from, "from-helloid", "", "path of the HelloID SpendCloud connector database")
	cmd.Flags().BoolVar(&force, "force", false, "migrate again although an earlier migrate was recorded")
	return cmd
}
