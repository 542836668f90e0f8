package lifecycle

import (
	"maps"
	"testing"

	"github.com/spendsync/spendsync/export"
)

func TestRowCodecRoundTripsAnyText(t *testing.T) {
	rows := []export.Row{
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

func TestReadOnlyURI(t *testing.T) {
	cases := map[string]string{
		"/var/lib/hid/SpendCloud.db":  "file:///var/lib/hid/SpendCloud.db?mode=ro",
		"/tmp/a dir/with #hash?/x.db": "file:///tmp/a%20dir/with%20%23hash%3F/x.db?mode=ro",
		"C:/ProgramData/HID/Spend.db": "file:///C:/ProgramData/HID/Spend.db?mode=ro",
	}
	for in, want := range cases {
		if got := readOnlyURI(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
