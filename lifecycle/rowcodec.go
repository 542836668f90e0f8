package lifecycle

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Exported rows are stored as key:"quoted value" pairs, sorted by key:
// several times cheaper to write and read than JSON objects for the 250k
// rows of a large dump, and exact for any text (strconv quoting). Rows
// stored as JSON by earlier versions are still read.

func encodeRow(r map[string]string) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(strconv.Quote(r[k]))
	}
	return b.String()
}

func decodeRow(s string) (map[string]string, error) {
	if strings.HasPrefix(s, "{") {
		var r map[string]string
		err := json.Unmarshal([]byte(s), &r)
		return r, err
	}
	// Sized for its pairs up front: growing 250k small maps key by key was
	// a seventh of an export's CPU. (A comma inside a value only over-counts.)
	r := make(map[string]string, strings.Count(s, ",")+1)
	for s != "" {
		k, rest, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("stored row: no value for %q", k)
		}
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return nil, fmt.Errorf("stored row: %w", err)
		}
		v, err := strconv.Unquote(q)
		if err != nil {
			return nil, fmt.Errorf("stored row: %w", err)
		}
		r[k] = v
		s = strings.TrimPrefix(rest[len(q):], ",")
	}
	return r, nil
}
