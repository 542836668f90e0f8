package pipeline

import (
	"context"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/lifecycle"
)

// Domain is an email domain in the state.
type Domain struct {
	Domain   string `json:"domain"`
	Persons  int    `json:"persons"`
	Verified bool   `json:"verified"`
}

// Domains lists the current persons' email domains, marking those in
// verified (rules.verified_domains).
func Domains(ctx context.Context, st *lifecycle.Store, verified []string) ([]Domain, error) {
	counts, err := st.EmailDomains(ctx)
	if err != nil {
		return nil, err
	}
	out := []Domain{}
	for _, c := range counts {
		out = append(out, Domain{Domain: c.Domain, Persons: c.Persons,
			Verified: slices.ContainsFunc(verified, func(v string) bool { return strings.EqualFold(v, c.Domain) })})
	}
	return out, nil
}
