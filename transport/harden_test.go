package transport_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/transport"
)

func TestSFTPRefusesAKeyFileGroupOrOthersCanReach(t *testing.T) {
	s := sshdtest.Start(t)
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o640, false}, {0o604, false}, {0o620, false}, {0o644, false}} {
		t.Run(fmt.Sprintf("%04o", tc.mode), func(t *testing.T) {
			accesstest.Chmod(t, s.ClientKey, tc.mode)
			t.Cleanup(func() { accesstest.Chmod(t, s.ClientKey, 0o600) })
			target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { three := 3; c.Retries = &three }))
			start := time.Now()
			_, err := target.Deliver(context.Background(), "m", files(t, 1))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := fmt.Sprintf("mode %04o", tc.mode)
			if runtime.GOOS == "windows" { // the DACL, not mode bits
				want = "is open to Everyone"
			}
			if err == nil || !strings.Contains(err.Error(), s.ClientKey) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want a refusal naming %s and its mode", err, s.ClientKey)
			}
			if time.Since(start) > 900*time.Millisecond {
				t.Fatal("a refused key file was retried")
			}
		})
	}
}
