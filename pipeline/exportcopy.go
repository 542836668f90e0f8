package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/buildid"
	"github.com/spendsync/spendsync/lifecycle"
)

// An export on the inputs of the last one (the same state generation, the
// same export settings, and no contract whose window the date moved across)
// makes the same dump: the last export's stored rows, unchanged, with no
// change and no finding. It copies them into the files instead of walking
// the state. The last export only records its basis when its walk held
// nobody back and found nothing (no held person or rename, no formula or
// reused-email warning), since those are recorded anew by every export and
// depend on more than the stored rows.

// exportDigest hashes everything a walk depends on besides the state and
// the date: the export settings but for the folder, the rules with the
// allowed renames and the recently removed emails the store gave, and the
// binary.
func exportDigest(cfg *export.Config, rules export.Rules) (string, error) {
	// Where the files go makes no other dump: the same folder given once
	// relative and once absolute (a scheduled task and a person at a
	// prompt) must not make the next export walk everyone.
	c := *cfg
	c.Dir = ""
	b, err := json.Marshal(struct {
		Export *export.Config
		Rules  export.Rules
		Build  string
	}{&c, rules, buildid.String()})
	if err != nil {
		return "", fmt.Errorf("digest export settings: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// onLastSettings returns the last export's basis when it was computed on
// the settings of this one (digest), and the persons with a contract whose
// window the date moved across since: with none, and the same state
// generation, the last dump is this one's. nil: the export walks everyone.
func onLastSettings(rd *lifecycle.ExportReader, digest, date string, rules export.Rules) (*lifecycle.ExportBasis, []string, error) {
	b := rd.Basis()
	if b == nil || b.Digest != digest {
		return nil, nil, nil
	}
	moved, err := rd.WindowMoved(b.Date, date, rules.LeadDays, rules.GraceDays)
	if err != nil {
		return nil, nil, err
	}
	return b, moved, nil
}

// An export on the settings of the last one, after changes to some persons,
// makes the last dump but for them: it walks the persons marked as changed
// since the last export's basis and those whose contract windows the date
// moved across (lifecycle/exportmarks.go), and carries everyone else's
// stored rows. Beyond a fifth of the last dump's persons (and 1000) a
// full walk, which reads the persons in one scan, is as cheap.

// lastManifest returns the manifest recorded with the last export, or nil
// before the first or when a version with another manifest recorded it.
func lastManifest(rd *lifecycle.ExportReader) (*export.Manifest, error) {
	text, err := rd.LastManifest()
	if err != nil || text == "" {
		return nil, err
	}
	var m export.Manifest
	if json.Unmarshal([]byte(text), &m) != nil {
		return nil, nil
	}
	return &m, nil
}

// changedSince returns, sorted, the persons an export must walk when it
// can carry the rest from the last export (b and moved: onLastSettings;
// m: its manifest); nil when it must walk everyone.
func changedSince(rd *lifecycle.ExportReader, b *lifecycle.ExportBasis, m *export.Manifest, moved []string) ([]string, error) {
	if b == nil || m == nil || !partialExports {
		return nil, nil
	}
	marked, err := rd.Marked(b.Generation)
	if err != nil {
		return nil, err
	}
	changed := append(marked, moved...)
	slices.Sort(changed)
	changed = slices.Compact(changed)
	if len(changed) > max(m.Persons.Rows/5, 1000) {
		return nil, nil
	}
	if changed == nil {
		changed = []string{} // nobody: everyone is carried
	}
	return changed, nil
}

// partialExports lets a test compare a carrying export with a full walk;
// carryingWalks counts the walks that carried, splicingWalks those of them
// that copied the carried persons' bytes from the last files.
var (
	partialExports = true
	carryingWalks  int
	splicingWalks  int
)

// A splicer is a sink that can copy the carried persons' rows from the
// last export's files (export.Writer.Splice).
type splicer interface {
	splice(rd *lifecycle.ExportReader, dir string, last *export.Manifest, changed []string) (bool, error)
	spliceRest() (export.Carried, error)
}

func (s *exportSink) splice(rd *lifecycle.ExportReader, dir string, last *export.Manifest, changed []string) (bool, error) {
	return s.files.Splice(dir, last, rd.Layout, changed)
}

func (s *exportSink) spliceRest() (export.Carried, error) { return s.files.SpliceRest() }

// A filesCopier is a sink that can take the last export's files whole
// (export.Writer.Copy).
type filesCopier interface {
	copyFiles(dir string, last *export.Manifest) (bool, error)
}

func (s *exportSink) copyFiles(dir string, last *export.Manifest) (bool, error) {
	return s.files.Copy(dir, last)
}

// A dry run writes no files.
func (s *planSink) copyFiles(string, *export.Manifest) (bool, error) { return true, nil }

// copyFiles hands sink the last export's files (m describes them), when
// the export folder still holds them as recorded, and counts them as a
// walk would; ok is false when it did not. It is copyStored without
// reading or decoding a row: most of a no-change export's time was that.
func copyFiles(rd *lifecycle.ExportReader, sink export.Sink, dir string, m *export.Manifest) (_ *export.Stats, ok bool, err error) {
	fc, can := sink.(filesCopier)
	if !can || m == nil {
		return nil, false, nil // none, or recorded by a version with another manifest: copy the rows
	}
	if ok, err := fc.copyFiles(dir, m); !ok || err != nil {
		return nil, false, err
	}
	n := m.Persons.Rows
	return &export.Stats{Persons: n, Before: n, Roles: m.Roles.Rows, WithoutRole: rd.Basis().WithoutRole, Changes: map[string]int{}}, true, nil
}

// copyStored hands sink the last export's stored rows as this export's
// dump and counts them as a walk would.
func copyStored(rd *lifecycle.ExportReader, sink export.Sink) (*export.Stats, error) {
	st := &export.Stats{Changes: map[string]int{}}
	var p export.PersonRows
	err := rd.Stored(func(emp, person string, roles []string) error {
		var err error
		if p.Person, err = export.DecodePerson(person); err != nil {
			return fmt.Errorf("last export row of %s: %w", emp, err)
		}
		p.Roles = p.Roles[:0]
		for _, r := range roles {
			row, err := export.DecodeRole(r)
			if err != nil {
				return fmt.Errorf("last export row of %s: %w", emp, err)
			}
			p.Roles = append(p.Roles, row)
		}
		st.Before++
		st.Persons++
		st.Roles += len(p.Roles)
		if len(p.Roles) == 0 {
			st.WithoutRole++
		}
		return sink.Rows(&p)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// clean reports whether a walk's dump depends on nothing but its inputs:
// nothing held back or renamed, no warning that every export records again.
func clean(s *export.Stats) bool {
	return len(s.Held) == 0 && len(s.Renames) == 0 && len(s.Formulas) == 0 && len(s.Reused) == 0
}
