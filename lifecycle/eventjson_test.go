package lifecycle

import (
	"encoding/json"
	"testing"
)

func TestEventDetailsEncodeAsEncodingJSONDoes(t *testing.T) {
	texts := []string{"", "plain", `quote " and \ back`, "<script>&amp;</script>", "line\nbreak\r\ttab\b\f",
		"\x00\x01\x1f\x7f", "emoji 😀 𝄞", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "é", "'); DROP TABLE x;--"}
	var values []map[string]any
	for _, s := range texts {
		values = append(values,
			map[string]any{"row": map[string]string{s: s, "k": s}, "export_id": s},
			map[string]any{"columns": map[string]map[string]string{s: {"old": s, "new": "x"}}},
			map[string]any{"reason": s, "fields": []string{s, "b"}, "kept_last_export": len(s)%2 == 0},
			map[string]any{"fields": []string(nil), "m": map[string]string(nil), "n": map[string]any{"x": s}})
	}
	values = append(values, nil, map[string]any{})
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeDetails(nil, v)
		if err != nil || string(got) != string(want) {
			t.Errorf("%#v:\n got %s\nwant %s", v, got, want)
		}
	}
	// Other shapes go through encoding/json.
	got, err := EncodeDetails(nil, map[string]any{"n": 3, "f": 1.5})
	if err != nil || string(got) != `{"f":1.5,"n":3}` {
		t.Errorf("fallback: %s %v", got, err)
	}
}
