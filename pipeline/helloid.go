package pipeline

import (
	"context"
	"strings"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
)

// readHelloID reads a HelloID SpendCloud connector database (tables
// persons and roles), read-only, as the export Spend Cloud last received.
// Roles whose gebruikersnaam matches no person cannot be keyed and are
// counted in orphans.
func readHelloID(ctx context.Context, path string) (prev *export.Previous, orphans int, err error) {
	persons, roles, err := lifecycle.ReadHelloID(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	prev = export.NewPrevious()
	byUser := map[string]string{}
	for _, p := range persons {
		emp := p.ExternalID
		prev.Persons[emp] = &export.PersonRows{Person: export.PersonRow(map[string]string{"employee_number": emp, "first_name": p.FirstName,
			"prefix": p.Prefix, "last_name": p.LastName, "gender": p.Gender, "email": p.Email, "username": p.Username})}
		if p.Username != "" {
			byUser[strings.ToLower(p.Username)] = emp
		}
	}
	for _, r := range roles {
		emp, ok := byUser[strings.ToLower(r.Username)]
		if !ok {
			orphans++
			continue
		}
		// functiecode is what HelloID delivered as the role profile, whether
		// the connector filled it from the function or a business rule: it
		// stands for both function_code and role, so a role_map that
		// reproduces the business rule shows no change.
		p := prev.Persons[emp]
		p.Roles = append(p.Roles, export.RoleRow(map[string]string{"employee_number": emp, "username": r.Username, "ou_code": r.OUCode,
			"ou_name": r.OU, "function_code": r.FunctionCode, "function_name": r.Function, "role": r.FunctionCode}))
	}
	return prev, orphans, nil
}
