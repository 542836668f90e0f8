package transport

import "errors"

// drop is what putting a set of files in place needs of a drop folder;
// the folder target and the SFTP target each provide it. Every method
// returns an error that already says "dir:" or "sftp:" and names the path.
type drop interface {
	// stat reports whether name exists. Something that cannot be replaced
	// by a file (a folder) is an error that names it.
	stat(name string) (exists bool, err error)
	// link makes newname a second name of the file oldname (a hard link).
	// It fails where the drop has no hard links.
	link(oldname, newname string) error
	// replace renames oldname to newname, replacing newname if it exists
	// (in one step where the drop allows).
	replace(oldname, newname string) error
	// remove removes name; a missing file is not an error.
	remove(name string) error
}

// How the previous file under a final name is kept during a commit.
const (
	keptNone  = iota // no previous file, or not kept yet
	keptLink         // a hard link: the final name stays visible throughout
	keptAside        // renamed aside just before the new file was renamed in
)

// staged is one uploaded, checked file on its way to its final name.
type staged struct {
	name    string // the final name (a path in the drop)
	temp    string // the uploaded temporary file
	prev    string // where the previous file is kept while the set is renamed
	had     bool   // a file stood under name before
	kept    int    // keptNone, keptLink or keptAside
	touched bool   // something under name may have changed
	placed  bool   // temp was renamed to name
	undone  bool   // the previous state under name is back
}

// commit is one set of staged files, renamed into place together.
type commit struct {
	files []*staged
	// broken is set when a failed run could not put the previous files
	// back either; undo may be called again (on a new connection).
	broken error
	// between runs after each rename but the last (tests stop a server or
	// make a file immutable there).
	between func()
}

// newCommit prepares the renames of files, in order: temp is the path of
// each uploaded temporary file and join makes a path in the drop.
func newCommit(files []File, id string, temp func(File) string, join func(string) string) *commit {
	c := &commit{between: testBetweenRenames}
	for _, f := range files {
		c.files = append(c.files, &staged{name: join(f.Name), temp: temp(f), prev: join(prevName(f.Name, id))})
	}
	return c
}

// prevName is where the previous file under name is kept while a set is
// renamed into place: a temporary name, so a leftover is cleaned up.
func prevName(name, id string) string { return tempName(name, id+".prev") }

// run renames every staged file into place, in order. The previous files
// are first kept under their prev names by a hard link where the drop has
// them, else each is renamed aside just before its new file is renamed in.
// When any step fails after the first rename, the files already renamed
// are put back (the previous file, or none where there was none). The
// returned error says what failed; c.broken is set when putting back
// failed too, and undo may then be called again (on a new connection).
func (c *commit) run(d drop) error {
	// A name that cannot be replaced (a folder squatting on it) is found
	// before anything moves, so the set is never half replaced by it.
	for _, f := range c.files {
		exists, err := d.stat(f.name)
		if err != nil {
			c.broken = c.undo(d) // removes the temporary files
			return err
		}
		f.had = exists
	}
	for _, f := range c.files {
		if !f.had || d.link(f.name, f.prev) != nil {
			continue
		}
		// Only a link that is there keeps the previous file.
		if there, err := d.stat(f.prev); err == nil && there {
			f.kept = keptLink
		}
	}
	for i, f := range c.files {
		f.touched = true
		if f.had && f.kept == keptNone {
			f.kept = keptAside
			if err := d.replace(f.name, f.prev); err != nil {
				c.broken = c.undo(d)
				return err
			}
		}
		if err := d.replace(f.temp, f.name); err != nil {
			c.broken = c.undo(d)
			return err
		}
		f.placed = true
		if i < len(c.files)-1 && c.between != nil {
			c.between()
		}
	}
	for _, f := range c.files {
		if f.kept != keptNone {
			d.remove(f.prev) // a leftover is removed by the next delivery
		}
	}
	return nil
}

// undo puts back the previous state under every final name that a failed
// run touched, last renamed first, and removes the temporary files. It may
// be called again (on a new connection) until it succeeds.
func (c *commit) undo(d drop) error {
	var errs []error
	for i := len(c.files) - 1; i >= 0; i-- {
		f := c.files[i]
		if !f.touched || f.undone {
			continue
		}
		if !f.placed {
			// The rename failed, perhaps after the server did it: the
			// temporary file still there says it did not.
			inTemp, err := d.stat(f.temp)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if inTemp {
				if f.kept != keptAside {
					f.undone = true // name never changed
					continue
				}
				aside, err := d.stat(f.prev)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if !aside {
					f.undone = true // the rename aside did not happen either
					continue
				}
			}
		}
		var err error
		switch {
		case f.kept != keptNone:
			err = d.replace(f.prev, f.name)
		case !f.had:
			err = d.remove(f.name)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.undone = true
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.broken = nil
	for _, f := range c.files {
		d.remove(f.temp)
		d.remove(f.prev)
	}
	return nil
}

// testBetweenRenames, when set (tests only), runs between two renames.
var testBetweenRenames func()
