package lifecycle

import "testing"

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
