package pipeline

// WalkEveryone makes exports walk every person, as before they carried
// the unchanged ones, until the returned func is called.
func WalkEveryone() (restore func()) {
	partialExports = false
	return func() { partialExports = true }
}

// CarryingWalks counts the export walks that carried the unchanged persons.
func CarryingWalks() int { return carryingWalks }

// SplicingWalks counts the carrying walks that copied the carried persons'
// bytes from the last export's files.
func SplicingWalks() int { return splicingWalks }
