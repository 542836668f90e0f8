package lifecycle

import "time"

// Retention says how long history is kept. Zero keeps everything.
type Retention struct {
	Events  time.Duration `yaml:"events"`
	Exports int           `yaml:"exports"`
	Leavers time.Duration `yaml:"leavers"`
}
