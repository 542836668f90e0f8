package lifecycle

import (
	"maps"
	"testing"
)

func TestRowCodecRoundTripsAnyText(t *testing.T) {
	rows := []map[string]string{
		{},
		{"employee_number": "001", "last_name": ""},
		{"first_name": `a,b:"c"\d`, "last_name": "two\nlines\x00\x1f😀", "prefix": "'); DROP TABLE x;--", "email": "=1+1"},
	}
	for _, r := range rows {
		got, err := decodeRow(encodeRow(r))
		if err != nil || !maps.Equal(got, r) {
			t.Fatalf("%q -> %q -> %q, %v", r, encodeRow(r), got, err)
		}
	}
	legacy, err := decodeRow(`{"employee_number":"001","last_name":"Boele"}`)
	if err != nil || legacy["last_name"] != "Boele" {
		t.Fatalf("JSON rows of earlier versions: %v %v", legacy, err)
	}
	for _, bad := range []string{"k", `k:"unterminated`, `k:x`} {
		if _, err := decodeRow(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}
