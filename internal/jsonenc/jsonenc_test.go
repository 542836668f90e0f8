package jsonenc

import (
	"encoding/json"
	"testing"
)

func TestStringsEncodeAsEncodingJSONDoes(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ back`, "<script>&amp;</script>", "line\nbreak\r\ttab\b\f",
		"\x00\x01\x1f\x7f", "emoji 😀 𝄞", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "é", "'); DROP TABLE x;--"} {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: got %s, want %s", s, got[1:], want)
		}
	}
}
