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
	date := time.Now().Format("2006-01-02")
	id := fmt.Sprintf("helloid-%s-%d", time.Now().UTC().Format("20060102T150405Z"), p.RunID)
	w, err := p.Store.BeginExport(ctx, p.RunID)
	if err != nil {
		return err
	}
	defer w.Rollback()
	if err := w.Clear(); err != nil {
		return err
	}
	roles := 0
	var encoded []string
	for _, emp := range slices.Sorted(maps.Keys(prev.Persons)) {
		rows := prev.Persons[emp]
		encoded = encoded[:0]
		for _, r := range rows.Roles {
			encoded = append(encoded, export.EncodeRole(r))
		}
		if err := w.Put(emp, export.EncodePerson(rows.Person), lifecycle.JoinRoles(encoded), export.Hash(rows)); err != nil {
			return err
		}
		roles += len(rows.Roles)
	}
	persons := len(prev.Persons)
	m := &export.Manifest{ExportID: id, Date: date, Created: time.Now().UTC().Format(time.RFC3339),
		Persons: export.FileInfo{File: "persons", Rows: persons}, Roles: export.FileInfo{File: "roles", Rows: roles}}
	ev := lifecycle.Event{Source: "migrate", Kind: lifecycle.Migrated, Details: map[string]any{
		"file": from, "persons": persons, "roles": roles, "roles_without_person": orphans, "export_id": id}}
	if err := w.Commit(lifecycle.ExportRecord{ID: id, Date: date, Origin: "migrate", Persons: persons, Roles: roles,
		Manifest: m, Events: []lifecycle.Event{ev}}); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout(), "adopted %s as the last export: %d persons, %d roles (%d roles matched no person)\n",
		from, persons, roles, orphans)
	return nil
}
