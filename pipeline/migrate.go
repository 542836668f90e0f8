package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
)

// ErrMigrated refuses a second migrate without force: it would replace
// what spendsync exported since.
var ErrMigrated = errors.New("already migrated")

// Migrate adopts a HelloID SpendCloud connector database as the last
// export, so the first export's diff shows only real changes. A second
// migrate is refused unless force.
func (p *Pipeline) Migrate(ctx context.Context, from string, force bool) error {
	prev, orphans, err := readHelloID(ctx, from)
	if err != nil {
		return err
	}
	if done, err := p.Store.Migrated(ctx); err != nil {
		return err
	} else if done != "" && !force {
		return fmt.Errorf("%w (export %s); a second migrate would replace what spendsync exported since: pass --force to do it anyway", ErrMigrated, done)
	}
	old, err := p.Store.LastExport(ctx)
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
	id := fmt.Sprintf("helloid-%s-%d", time.Now().UTC().Format("20060102T150405Z"), p.RunID)
	m := &export.Manifest{ExportID: id, Date: dump.Date, Created: time.Now().UTC().Format(time.RFC3339),
		Persons: export.FileInfo{File: "persons", Rows: len(dump.Persons)}, Roles: export.FileInfo{File: "roles", Rows: roles}}
	ev := lifecycle.Event{Source: "migrate", Kind: lifecycle.Migrated, Details: map[string]any{
		"file": from, "persons": len(dump.Persons), "roles": roles, "roles_without_person": orphans, "export_id": id}}
	if err := p.Store.RecordExport(ctx, p.RunID, old, exportRecord(m, "migrate", dump, nil, []lifecycle.Event{ev}, nil)); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout(), "adopted %s as the last export: %d persons, %d roles (%d roles matched no person)\n",
		from, len(dump.Persons), roles, orphans)
	return nil
}
