package lifecycle

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// appendDetails appends v as encoding/json would marshal it, for the
// shapes event details take (strings, booleans, string lists and maps of
// those), without reflection: a first export writes a quarter of a
// million events at 100k persons. ok is false for any other shape; the
// caller then uses encoding/json.
func appendDetails(dst []byte, v any) (_ []byte, ok bool) {
	switch v := v.(type) {
	case string:
		return appendJSONString(dst, v), true
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
			dst = appendJSONString(dst, s)
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
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = appendDetails(dst, any(m[k])); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding (HTML characters,
// U+2028 and U+2029 escaped; invalid UTF-8 as U+FFFD).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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
