package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/spendsync/spendsync/internal/domaincheck"
	"github.com/spendsync/spendsync/internal/show"
	"github.com/spendsync/spendsync/reconcile"
)

// validateConnect checks rules.connect_domains and rules.dns_servers, and
// keys the domains in lower case.
func (r *rules) validateConnect(kerr func(key, format string, args ...any) error) error {
	lower := map[string]domaincheck.Rule{}
	for d, rule := range r.ConnectDomains {
		key := "rules.connect_domains." + d
		if d == "" || strings.ContainsAny(d, "@/: ") {
			return kerr(key, "%s is not a domain", show.Quote(d))
		}
		if rule.File != "" && !strings.HasPrefix(rule.File, "/") {
			return kerr(key+".file", "must be a URL path starting with /, not %s", show.Quote(rule.File))
		}
		if strings.ContainsAny(rule.File, "?# ") {
			return kerr(key+".file", "must be a plain URL path, not %s", show.Quote(rule.File))
		}
		lower[strings.ToLower(d)] = rule
	}
	r.ConnectDomains = lower
	for i, s := range r.DNSServers {
		if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
			return kerr(fmt.Sprintf("rules.dns_servers[%d]", i), "must be HOST:PORT (e.g. 10.0.0.53:53), not %s", show.Quote(s))
		}
	}
	return nil
}

// reconcileConfig is the reconcile section: how each kind of account
// list is read. A kind left out reads its usual export (reconcile.Default).
type reconcileConfig struct {
	Connect    *reconcile.Mapping `yaml:"connect"`
	SpendCloud *reconcile.Mapping `yaml:"spendcloud"`
}

func (r *reconcileConfig) validate(keyed func(section string, err error) error) error {
	for key, m := range map[string]*reconcile.Mapping{"reconcile.connect": r.Connect, "reconcile.spendcloud": r.SpendCloud} {
		if m == nil {
			continue
		}
		if err := m.Validate(); err != nil {
			return keyed(key, err)
		}
	}
	return nil
}

// mapping returns kind's mapping.
func (r *reconcileConfig) mapping(kind string) reconcile.Mapping {
	m := r.Connect
	if kind == "spendcloud" {
		m = r.SpendCloud
	}
	if m == nil {
		return reconcile.Default(kind)
	}
	return *m
}
