package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/slowtest"
)

// TestBenchSuspendingLeavers times 1% of 100k persons leaving in one
// ingest, with their suspension at the local SCIM server, beside the
// ingest's own time (docs/performance.md). SPENDSYNC_SLOW=1.
func TestBenchSuspendingLeavers(t *testing.T) {
	slowtest.Require(t)
	const n, every = 100000, 100
	e := newSCIMEnv(t, "")
	write := func(skip bool) {
		p, _ := os.Create(e.persons)
		c, _ := os.Create(e.contrs)
		pw, cw := bufio.NewWriter(p), bufio.NewWriter(c)
		pw.WriteString("employee_number;first_name;last_name;email;username\n")
		cw.WriteString("employee_number;contract_id;start_date;end_date;ou_code;function_code\n")
		for i := range n {
			if skip && i%every == 0 {
				continue
			}
			fmt.Fprintf(pw, "%06d;P%d;L%d;p%d@x.nl;%06d\n", i, i, i, i, i)
			fmt.Fprintf(cw, "%06d;c%d;2020-01-01;;OU1;F1\n", i, i)
		}
		pw.Flush()
		cw.Flush()
		p.Close()
		c.Close()
	}
	write(false)
	e.mustCLI("--log-format", "json", "ingest")
	// The service holds the leavers' users (a service of 100k users would
	// time the test server's linear filter scan, not spendsync).
	for i := 0; i < n; i += every {
		e.scim.Add(fmt.Sprintf("p%d@x.nl", i), fmt.Sprintf("%06d", i), fmt.Sprintf("P%d", i), fmt.Sprintf("L%d", i), true)
	}
	write(true)
	start := time.Now()
	_, stderr, _ := func() (int, string, string) {
		code, out, stderr := e.cli("--log-format", "json", "ingest")
		if code != 0 {
			t.Fatalf("ingest: %d %s %s", code, out, stderr)
		}
		return code, stderr, ""
	}()
	total := time.Since(start)
	var scim string
	for _, line := range strings.Split(stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "scim" {
			scim = fmt.Sprint(m["duration"], " for ", m["suspended"], " suspended")
		}
	}
	for i := 0; i < n; i += every {
		if e.active(fmt.Sprintf("p%d@x.nl", i)) {
			t.Fatalf("p%d not suspended", i)
		}
	}
	t.Logf("ingest of %d persons with %d leavers: %s in all; SCIM phase %s; max %d calls at once", n, n/every, total, scim, e.scim.MaxInFlight())
}
