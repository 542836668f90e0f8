package lifecycle

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/spendsync/spendsync/internal/duration"
)

// Days is a retention period written as "400d" (or a Go duration, "72h").
type Days time.Duration

// UnmarshalYAML reads "400d", "2w" or a Go duration.
func (d *Days) UnmarshalYAML(n *yaml.Node) error {
	v, err := duration.Parse(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*d = Days(v)
	return nil
}

// Retention says how long history is kept. Zero keeps everything.
type Retention struct {
	Events  Days `yaml:"events"`
	Exports int  `yaml:"exports"`
	Leavers Days `yaml:"leavers"`
}
