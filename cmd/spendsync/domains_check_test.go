package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/dnstest"
	"github.com/spendsync/spendsync/internal/domaincheck"
)

// withRules puts text at the top of the demo config's rules section.
func withRules(t *testing.T, cfg, text string) {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "rules:\n", "rules:\n"+text, 1)), 0o600)
}

func TestDomainsCheckAnswersPerDomainFromTheConfiguredDNSServer(t *testing.T) {
	cases := []struct {
		name, records, rules string
		code                 int
		want                 domaincheck.Result
	}{
		{"txt with the configured value", `example.nl. 60 IN TXT "connect=42"`, `{txt: "connect=42"}`, exitOK,
			domaincheck.Result{Domain: "example.nl", Persons: 11, Verified: true, By: "txt", Detail: `TXT "connect=42"`}},
		{"txt with another value", `example.nl. 60 IN TXT "connect=41"`, `{txt: "connect=42"}`, exitRejected,
			domaincheck.Result{Domain: "example.nl", Persons: 11, Detail: `txt: no TXT record holding "connect=42" (found 1: connect=41)`}},
		{"cname", `example.nl. 60 IN CNAME verify.connect.visma.com.`, `{cname: verify.connect.visma.com}`, exitOK,
			domaincheck.Result{Domain: "example.nl", Persons: 11, Verified: true, By: "cname", Detail: `CNAME "verify.connect.visma.com"`}},
		{"nxdomain", `other.nl. 60 IN TXT "x"`, `{txt: "connect=42", cname: verify.connect.visma.com}`, exitRejected,
			domaincheck.Result{Domain: "example.nl", Persons: 11, Detail: "txt: no TXT record (NXDOMAIN or no such record); cname: no CNAME record (NXDOMAIN or no such record)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := demo(t)
			if code, _, stderr := cli(t, "--config", cfg, "run", "-q"); code != exitOK {
				t.Fatalf("run: %d %s", code, stderr)
			}
			withRules(t, cfg, "  dns_servers: ["+dnstest.Serve(t, tc.records)+"]\n  connect_domains:\n    Example.NL: "+tc.rules+"\n")
			code, out, stderr := cli(t, "--config", cfg, "domains", "--check", "--format", "json")
			var got []domaincheck.Result
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("exit %d: %v: %s %s", code, err, out, stderr)
			}
			if code != tc.code || len(got) != 1 || got[0] != tc.want {
				t.Errorf("exit %d, %+v; want exit %d, %+v (%s)", code, got, tc.code, tc.want, stderr)
			}
		})
	}
}

func TestDomainsCheckOfADNSServerThatNeverAnswersIsATimeoutNotAFailedCommand(t *testing.T) {
	pc := dnstest.ListenUDP(t)
	defer pc.Close()
	cfg := demo(t)
	if code, _, stderr := cli(t, "--config", cfg, "run", "-q"); code != exitOK {
		t.Fatalf("run: %d %s", code, stderr)
	}
	withRules(t, cfg, "  dns_servers: ["+pc.LocalAddr().String()+"]\n")
	start := time.Now()
	code, out, stderr := cli(t, "--config", cfg, "domains", "--check")
	if took := time.Since(start); took > domaincheck.LookupTimeout+3*time.Second {
		t.Errorf("took %s; one lookup waits at most %s", took, domaincheck.LookupTimeout)
	}
	if code != exitRejected || !strings.Contains(out, "example.nl") || !strings.Contains(out, "DNS timed out after 5s") ||
		!strings.Contains(stderr, "1 domain(s) holding persons not verified") {
		t.Errorf("exit %d: %s\n%s", code, out, stderr)
	}
}

func TestDomainsCheckConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ rules, want string }{
		{"  dns_servers: [10.0.0.53]\n", "rules.dns_servers[0]: must be HOST:PORT"},
		{"  connect_domains:\n    example.nl: {file: visma.html}\n", "rules.connect_domains.example.nl.file: must be a URL path starting with /"},
		{"  connect_domains:\n    example.nl: {txt: x, mx: y}\n", "mx"},
	} {
		cfg := demo(t)
		withRules(t, cfg, tc.rules)
		if code, _, stderr := cli(t, "--config", cfg, "domains", "--check"); code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d: %s", tc.rules, code, stderr)
		}
	}
}
