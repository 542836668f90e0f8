package connector

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/model"
)

// numericDate must accept only what time.Parse accepts, and give what
// Format gives: this fails if the quick way took a date the layout does
// not fit (day 31 of April, 29 February of 1900, a sign, a short field)
// or gave another ISO date.
func TestNumericDateAcceptsExactlyWhatTimeParseDoes(t *testing.T) {
	layouts := append([]string{model.DateLayout, "2006/01/02", "02-01-2006 15:04", "2-1-2006", "Jan 02 2006"}, dateLayouts...)
	var values []string
	for _, y := range []string{"0000", "1900", "2000", "2023", "2024", "9999", "+202", "-202", "20 4"} {
		for m := -1; m <= 13; m++ {
			for d := -1; d <= 32; d++ {
				mm, dd := fmt.Sprintf("%02d", m), fmt.Sprintf("%02d", d)
				values = append(values, dd+"-"+mm+"-"+y, mm+"-"+dd+"-"+y, y+mm+dd, dd+"/"+mm+"/"+y, mm+"/"+dd+"/"+y,
					dd+"."+mm+"."+y, y+"-"+mm+"-"+dd, y+"/"+mm+"/"+dd, dd+"-"+mm+"-"+y+" ", dd+"-"+mm+"-"+y+"0")
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = "0123456789-/. +"[r.IntN(15)]
		}
		values = append(values, string(b))
	}
	for _, l := range layouts {
		for _, v := range values {
			want, werr := "", error(nil)
			if tm, err := time.Parse(l, v); err == nil {
				want = tm.Format(model.DateLayout)
			} else {
				werr = err
			}
			got, ok := numericDate(v, l)
			if ok && (werr != nil || got != want) {
				t.Fatalf("numericDate(%q, %q) = %q; time.Parse: %q, %v", v, l, got, want, werr)
			}
		}
	}
	for _, c := range [][2]string{{"31-12-2024", "02-01-2006"}, {"20240229", "20060102"}, {"2024-02-29", model.DateLayout}, {"29.02.2000", "02.01.2006"}} {
		if _, ok := numericDate(c[0], c[1]); !ok {
			t.Errorf("numericDate(%q, %q) took the slow way", c[0], c[1])
		}
	}
}
