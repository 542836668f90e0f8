package export_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/model"
)

// FuzzName: whatever the parts, the exported surname never has stray
// spaces or dashes, and the prefix is one of the given prefixes.
func FuzzName(f *testing.F) {
	f.Add("BP", "van den", "Boele", "de", "Vries", true)
	f.Add("PB", "", "Müller", "", "", false)
	f.Add("P", " ", " - ", "-", "", true)
	f.Add("X", "ĳ", "Ørsted", "d'", "O'Brien", true)
	f.Fuzz(func(t *testing.T, conv, prefix, last, pprefix, plast string, strip bool) {
		p := &model.Person{NamingConvention: conv, Prefix: prefix, LastName: last, PartnerPrefix: pprefix, PartnerLastName: plast}
		for _, style := range []string{export.StyleHelloID, export.StyleSplit} {
			got, pre := export.Name(p, style, strip)
			if !utf8.ValidString(last + prefix + plast + pprefix) {
				continue
			}
			if got != strings.TrimSpace(got) || strings.Contains(got, "  ") && !strings.Contains(last+prefix+plast+pprefix, "  ") {
				t.Fatalf("%s %+v: stray space in %q", style, *p, got)
			}
			// A dash at an edge can only be the input's own (found by fuzzing:
			// a partner prefix "-"), never the double-name separator.
			if (strings.HasPrefix(got, "- ") || strings.HasSuffix(got, " -")) && !strings.Contains(last+prefix+plast+pprefix, "-") {
				t.Fatalf("%s %+v: stray dash in %q", style, *p, got)
			}
			if pre != "" && !strip && pre != strings.TrimSpace(prefix) && pre != strings.TrimSpace(pprefix) {
				t.Fatalf("%s %+v: prefix %q is neither prefix", style, *p, pre)
			}
		}
	})
}
