package lifecycle

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Days is a retention period written as "400d" (or a Go duration, "72h").
type Days time.Duration

// UnmarshalYAML reads "400d" or a Go duration.
func (d *Days) UnmarshalYAML(n *yaml.Node) error {
	v := strings.TrimSpace(n.Value)
	if num, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(num)
		if err != nil || days < 0 {
			return fmt.Errorf("line %d: %q is not a number of days such as 400d", n.Line, v)
		}
		*d = Days(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	dur, err := time.ParseDuration(v)
	if err != nil || dur < 0 {
		return fmt.Errorf("line %d: %q is not a period such as 400d or 72h", n.Line, v)
	}
	*d = Days(dur)
	return nil
}

// Retention says how long history is kept. Zero keeps everything.
type Retention struct {
	Events  Days `yaml:"events"`
	Exports int  `yaml:"exports"`
	Leavers Days `yaml:"leavers"`
}
