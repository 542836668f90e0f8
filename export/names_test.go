package export_test

import (
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/model"
)

// TestNamingConventions documents, for every convention and every mix of
// present and missing prefixes and partner names, what each style exports.
func TestNamingConventions(t *testing.T) {
	type want struct{ last, prefix string }
	cases := []struct {
		conv, prefix, last, pprefix, plast string
		helloid, split                     want
	}{
		// Complete names: the HelloID connector's own examples.
		{"B", "van den", "Boele", "de", "Vries", want{"Boele van den", "van den"}, want{"Boele", "van den"}},
		{"BP", "van den", "Boele", "de", "Vries", want{"Boele - de Vries van den", "van den"}, want{"Boele - de Vries", "van den"}},
		{"P", "van den", "Boele", "de", "Vries", want{"Vries de", "de"}, want{"Vries", "de"}},
		{"PB", "van den", "Boele", "de", "Vries", want{"Vries - van den Boele de", "de"}, want{"Vries - van den Boele", "de"}},
		{"", "van den", "Boele", "de", "Vries", want{"Boele van den", "van den"}, want{"Boele", "van den"}},
		// No own prefix.
		{"B", "", "Boele", "de", "Vries", want{"Boele", ""}, want{"Boele", ""}},
		{"BP", "", "Boele", "de", "Vries", want{"Boele - de Vries", ""}, want{"Boele - de Vries", ""}},
		{"P", "", "Boele", "de", "Vries", want{"Vries de", "de"}, want{"Vries", "de"}},
		{"PB", "", "Boele", "de", "Vries", want{"Vries - Boele de", "de"}, want{"Vries - Boele", "de"}},
		// No partner prefix.
		{"B", "van den", "Boele", "", "Vries", want{"Boele van den", "van den"}, want{"Boele", "van den"}},
		{"BP", "van den", "Boele", "", "Vries", want{"Boele - Vries van den", "van den"}, want{"Boele - Vries", "van den"}},
		{"P", "van den", "Boele", "", "Vries", want{"Vries", ""}, want{"Vries", ""}},
		{"PB", "van den", "Boele", "", "Vries", want{"Vries - van den Boele", ""}, want{"Vries - van den Boele", ""}},
		// No prefixes at all.
		{"BP", "", "Boele", "", "Vries", want{"Boele - Vries", ""}, want{"Boele - Vries", ""}},
		{"PB", "", "Boele", "", "Vries", want{"Vries - Boele", ""}, want{"Vries - Boele", ""}},
		// No partner surname: P and PB fall back to B; BP shows no dash.
		{"BP", "van den", "Boele", "de", "", want{"Boele van den", "van den"}, want{"Boele", "van den"}},
		{"P", "van den", "Boele", "de", "", want{"Boele van den", "van den"}, want{"Boele", "van den"}},
		{"PB", "van den", "Boele", "de", "", want{"Boele van den", "van den"}, want{"Boele", "van den"}},
		// No own surname.
		{"BP", "", "", "de", "Vries", want{"de Vries", ""}, want{"de Vries", ""}},
		{"PB", "van", "", "de", "Vries", want{"Vries - van de", "de"}, want{"Vries - van", "de"}},
		// Stray spaces in the source are not carried over.
		{"BP", " van den ", " Boele ", " de ", " Vries ", want{"Boele - de Vries van den", "van den"}, want{"Boele - de Vries", "van den"}},
	}
	for _, tc := range cases {
		p := &model.Person{NamingConvention: tc.conv, Prefix: tc.prefix, LastName: tc.last, PartnerPrefix: tc.pprefix, PartnerLastName: tc.plast}
		for _, style := range []struct {
			name string
			want want
		}{{export.StyleHelloID, tc.helloid}, {export.StyleSplit, tc.split}} {
			last, prefix := export.Name(p, style.name, true)
			if last != style.want.last || prefix != style.want.prefix {
				t.Errorf("%s %s %+v: got (%q, %q), want (%q, %q)", style.name, tc.conv, *p, last, prefix, style.want.last, style.want.prefix)
			}
		}
	}
}

func TestDiacriticsRemoval(t *testing.T) {
	cases := []struct{ in, stripped string }{
		{"Müller", "Muller"},
		{"Bruïne", "Bruine"},
		{"Noël", "Noel"},
		{"Çelik", "Celik"},
		{"José", "Jose"},
		{"Ørsted", "Ørsted"},       // ø has no decomposition: kept, as the connector keeps it
		{"Weiß", "Weiß"},           // ß likewise
		{"ĳsselmeer", "ĳsselmeer"}, // the ĳ ligature only decomposes under NFKD: kept
		{"Dvořák", "Dvorak"},
		{"van 't Hof", "van 't Hof"},
	}
	for _, tc := range cases {
		p := &model.Person{LastName: tc.in, Prefix: tc.in}
		if last, prefix := export.Name(p, export.StyleSplit, true); last != tc.stripped || prefix != tc.stripped {
			t.Errorf("%q: got %q/%q, want %q", tc.in, last, prefix, tc.stripped)
		}
		if last, _ := export.Name(p, export.StyleSplit, false); last != tc.in {
			t.Errorf("%q with remove_diacritics off: got %q", tc.in, last)
		}
	}
}

func TestGenderMap(t *testing.T) {
	m := map[string]string{"M": "M", "V": "V", "F": "V"}
	for in, want := range map[string]string{"M": "M", "V": "V", "F": "V", "f": "V", "X": "O", "": "O", "Man": "O"} {
		if got := export.Gender(in, m); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
