package lifecycle

// Thresholds bound what one run may do without --force. Zero disables one.
type Thresholds struct {
	MaxRemovals       int `yaml:"max_removals"`
	MaxRemovalPercent int `yaml:"max_removal_percent"`
	MaxRejects        int `yaml:"max_rejects"`
	MaxRenames        int `yaml:"max_renames"` // username changes an export lets through
}

// DefaultThresholds are the values the sample config shows.
func DefaultThresholds() Thresholds {
	return Thresholds{MaxRemovals: 50, MaxRemovalPercent: 10, MaxRejects: 100, MaxRenames: 10}
}
