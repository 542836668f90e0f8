package export

// Previous is a last export held in memory (a HelloID database being
// adopted, tests): the store streams the real one.
type Previous struct {
	Persons map[string]*PersonRows // by employee number
}

// NewPrevious returns an empty last export.
func NewPrevious() *Previous { return &Previous{Persons: map[string]*PersonRows{}} }
