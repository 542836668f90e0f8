package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/internal/domaincheck"
	"github.com/spendsync/spendsync/lifecycle"
)

// domainsOptions are domains's flags.
type domainsOptions struct {
	format string
	check  bool
}

func (o *domainsOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.format, "format", "table", "table or json")
	f.BoolVar(&o.check, "check", false, "verify each domain live: DNS TXT, CNAME or HTTPS file (exit 5 when one holding persons fails)")
}

func newDomainsCommand(g *globals) *cobra.Command {
	var o domainsOptions
	cmd := &cobra.Command{
		Use:   "domains",
		Short: "List email domains in the data: persons per domain, verified or not",
		Long: `domains lists each email domain of the current persons with how many use it
and whether it is in rules.verified_domains. Persons on an unverified domain
cannot log in through Visma Connect.

With --check it verifies each domain live instead: the TXT record
(rules.connect_domains.DOMAIN.txt, or one starting with
visma-domain-verification=), the CNAME (...cname) or the HTTPS verification
file (...file, a path on https://DOMAIN), asking rules.dns_servers when set.
Each lookup waits at most 5s, the whole check 2 minutes. Exit 5 when a
domain holding persons is not verified.`,
		Example: `  spendsync domains --format json
  spendsync domains --check`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDomains(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runDomains(ctx context.Context, o domainsOptions, g *globals) error {
	if err := checkFormat(o.format, "table", "json"); err != nil {
		return err
	}
	return g.withReader(func(cfg *config, st *lifecycle.Store) error {
		if o.check {
			return checkDomains(ctx, g, cfg, st, o.format)
		}
		ds, err := listDomains(ctx, st, cfg.Rules.VerifiedDomains)
		if err != nil {
			return err
		}
		var rows [][]string
		for _, d := range ds {
			v := "no"
			if d.Verified {
				v = "yes"
			}
			rows = append(rows, []string{d.Domain, strconv.Itoa(d.Persons), v})
		}
		return render(g.stdout, o.format, []string{"domain", "persons", "verified"}, rows, ds)
	})
}

// findingsError: the command found something to report (exit 5).
type findingsError struct{ msg string }

func (e *findingsError) Error() string { return e.msg }

func findings(format string, args ...any) error {
	return &findingsError{fmt.Sprintf(format, args...)}
}

// checkDomains is domains --check.
func checkDomains(ctx context.Context, g *globals, cfg *config, st *lifecycle.Store, format string) error {
	counts, err := st.EmailDomains(ctx)
	if err != nil {
		return err
	}
	ds := make([]domaincheck.Domain, len(counts))
	for i, c := range counts {
		ds[i] = domaincheck.Domain{Name: c.Domain, Persons: c.Persons}
	}
	c := &domaincheck.Checker{Servers: cfg.Rules.DNSServers, Rules: cfg.Rules.ConnectDomains}
	rs := c.CheckAll(ctx, ds)
	var rows [][]string
	failed := 0
	for _, r := range rs {
		v := "no"
		if r.Verified {
			v = "yes"
		} else if r.Persons > 0 {
			failed++
		}
		rows = append(rows, []string{r.Domain, strconv.Itoa(r.Persons), v, r.By, r.Detail})
	}
	if err := render(g.stdout, format, []string{"domain", "persons", "verified", "by", "detail"}, rows, rs); err != nil {
		return err
	}
	if failed > 0 {
		return findings("%d domain(s) holding persons not verified for Visma Connect", failed)
	}
	return nil
}

// domain is an email domain in the state, as domains lists it.
type domain struct {
	Domain   string `json:"domain"`
	Persons  int    `json:"persons"`
	Verified bool   `json:"verified"`
}

// listDomains lists the current persons' email domains, marking those in
// verified (rules.verified_domains).
func listDomains(ctx context.Context, st *lifecycle.Store, verified []string) ([]domain, error) {
	counts, err := st.EmailDomains(ctx)
	if err != nil {
		return nil, err
	}
	out := []domain{}
	for _, c := range counts {
		out = append(out, domain{Domain: c.Domain, Persons: c.Persons,
			Verified: slices.ContainsFunc(verified, func(v string) bool { return strings.EqualFold(v, c.Domain) })})
	}
	return out, nil
}
