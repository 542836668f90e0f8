package lifecycle

import (
	"encoding/json"
	"slices"

	"github.com/spendsync/spendsync/internal/jsonenc"
)

// appendDetails appends v as encoding/json would marshal it, for the
// shapes event details take (strings, booleans, string lists and maps of
// those), without reflection: a first export writes a quarter of a
// million events at 100k persons. ok is false for any other shape; the
// caller then uses encoding/json.
func appendDetails(dst []byte, v any) (_ []byte, ok bool) {
	switch v := v.(type) {
	case string:
		return jsonenc.AppendString(dst, v), true
	case bool:
		if v {
			return append(dst, "true"...), true
		}
		return append(dst, "false"...), true
	case []string:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonenc.AppendString(dst, s)
		}
		return append(dst, ']'), true
	case map[string]string:
		return appendMap(dst, v)
	case map[string]map[string]string:
		return appendMap(dst, v)
	case map[string]any:
		return appendMap(dst, v)
	}
	return dst, false
}

func appendMap[V any](dst []byte, m map[string]V) ([]byte, bool) {
	if m == nil {
		return append(dst, "null"...), true
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, k)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = appendDetails(dst, any(m[k])); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// EncodeDetails appends an event's details as stored (JSON) to buf[:0].
func EncodeDetails(buf []byte, details map[string]any) ([]byte, error) {
	if out, ok := appendDetails(buf[:0], details); ok {
		return out, nil
	}
	out, err := json.Marshal(details)
	if err != nil {
		return buf, err
	}
	return append(buf[:0], out...), nil
}
