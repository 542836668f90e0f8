package connector

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// validUTF8 passes valid chunks through without the decoder: what it
// gives must be what the decoder gives, however the input is cut, for
// ill-formed, truncated and surrogate sequences too.
func TestValidUTF8DecodesAsTheDecoderWhereverTheInputIsCut(t *testing.T) {
	pieces := []string{"a", "Jansen;", "é", "€", "😀", "\xe2\x82", "\xf0\x9f", "\xed\xa0\x80", "\xc0\xaf", "\xff", "\x80", "\n", "\ufeff"}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		var in []byte
		for range r.IntN(4000) + 1 {
			in = append(in, pieces[r.IntN(len(pieces))]...)
		}
		want, err := io.ReadAll(transform.NewReader(bytes.NewReader(in), unicode.UTF8.NewDecoder()))
		if err != nil {
			t.Fatal(err)
		}
		var src io.Reader = bytes.NewReader(in)
		switch i % 3 {
		case 1:
			src = iotest.OneByteReader(src)
		case 2:
			src = iotest.HalfReader(src)
		}
		got, err := io.ReadAll(transform.NewReader(src, validUTF8{unicode.UTF8.NewDecoder()}))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("input %d (%q...): decoded otherwise than the decoder", i, in[:min(len(in), 40)])
		}
	}
}
