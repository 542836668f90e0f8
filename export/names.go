package export

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/spendsync/spendsync/internal/model"
)

// Name styles.
const (
	StyleHelloID = "helloid"
	StyleSplit   = "split"
)

// Name returns the exported achternaam and tussenvoegsel of p.
//
// helloid reproduces the HelloID SpendCloud connector: the prefix that
// belongs to the name shown first follows the whole surname (B: "Boele van
// den", BP: "Boele - de Vries van den", P: "Vries de", PB: "Vries - van den
// Boele de"). split leaves prefixes out of achternaam except inside the
// second half of a double name. tussenvoegsel is the own prefix for B, BP
// and unknown conventions, the partner's for P and PB. P and PB without a
// partner surname fall back to B: there is no partner name to show.
func Name(p *model.Person, style string, removeDiacritics bool) (lastName, prefix string) {
	// Clean each part before joining: a part that was only combining marks
	// must vanish with its separator (found by fuzzing).
	clean := func(s string) string {
		if removeDiacritics {
			s = stripMarks(s)
		}
		return strings.TrimSpace(s)
	}
	own, partner := clean(p.LastName), clean(p.PartnerLastName)
	ownPre, partnerPre := clean(p.Prefix), clean(p.PartnerPrefix)
	conv := p.NamingConvention
	if (conv == "P" || conv == "PB") && partner == "" {
		conv = "B"
	}
	var first, firstPre, second string
	switch conv {
	case "BP":
		first, firstPre = own, ownPre
		if partner != "" { // a partner prefix alone is no name
			second = join(" ", partnerPre, partner)
		}
	case "P":
		first, firstPre = partner, partnerPre
	case "PB":
		first, firstPre, second = partner, partnerPre, join(" ", ownPre, own)
	default:
		first, firstPre = own, ownPre
	}
	switch style {
	case StyleSplit:
		lastName = join(" - ", first, second)
	default:
		lastName = join(" ", join(" - ", first, second), firstPre)
	}
	return lastName, firstPre
}

// join joins the non-empty (after trimming) parts with sep, so missing
// parts never leave stray spaces or dashes.
func join(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// stripMarks removes combining marks after canonical decomposition, as the
// connector's FormD + NonSpacingMark filter does: é -> e, but ø, ß and ĳ,
// which do not decompose, stay.
func stripMarks(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s // most names: nothing to decompose, and the transform is costly
	}
	// Without a transform.Chain per name: building one cost a quarter of
	// an export's allocations.
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

// Gender maps a source gender through the configured map; anything else is O.
func Gender(v string, genderMap map[string]string) string {
	if g, ok := genderMap[v]; ok {
		return g
	}
	for k, g := range genderMap {
		if strings.EqualFold(k, strings.TrimSpace(v)) {
			return g
		}
	}
	return "O"
}
