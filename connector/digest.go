package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/buildid"
	"github.com/spendsync/spendsync/internal/show"
)

// Digest hashes everything a source's diff depends on besides the state:
// its file contents (lookup files included), its settings, the rules, the
// fields other sources own (skip), and the binary. The fast path compares
// it with the digest of the source's last apply. The files are read until
// ctx ends: a signal stops the digest of a huge file at once.
func Digest(ctx context.Context, src *Source, rules Rules, skip []string) (string, error) {
	h := sha256.New()
	settings, err := json.Marshal(struct {
		Src   *Source
		Rules Rules
		Skip  []string
		Build string
	}{src, rules, skip, buildid.String()})
	if err != nil {
		return "", err
	}
	h.Write(settings)
	if src.API != nil {
		// What an API answers cannot be known without pulling it, so a
		// pulled source is always diffed: its digest never repeats.
		fmt.Fprintf(h, "\x00pull %d", time.Now().UnixNano())
	}
	for _, p := range src.Files() {
		f, _, err := src.open(ctx, p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "\x00%s\x00", p)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			if errors.Is(err, ctx.Err()) {
				return "", fmt.Errorf("read %s: %w", show.Text(p), err)
			}
			return "", atomicfile.Wrap("read", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
