package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/spendsync/spendsync/internal/sqlrows"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/export"
)

// readHelloID reads a HelloID SpendCloud connector database (tables
// persons and roles), read-only, as the export Spend Cloud last received.
// Roles whose gebruikersnaam matches no person cannot be keyed and are
// counted in orphans.
func readHelloID(ctx context.Context, path string) (prev *export.Previous, orphans int, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, 0, err
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, 0, err
	} else if fi.IsDir() {
		return nil, 0, fmt.Errorf("%s is a folder, not a database file", path)
	}
	db, err := sql.Open("sqlite", readOnlyURI(abs))
	if err != nil {
		return nil, 0, fmt.Errorf("open HelloID database %s: %w", path, err)
	}
	defer db.Close()
	if err := checkHelloID(ctx, db, path); err != nil {
		return nil, 0, err
	}
	prev = export.NewPrevious()
	byUser := map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT CAST(externalId AS TEXT), COALESCE(voornaam, ''), COALESCE(tussenvoegsel, ''),
		COALESCE(achternaam, ''), COALESCE(geslacht, ''), COALESCE(email, ''), COALESCE(gebruikersnaam, '') FROM persons`)
	if err != nil {
		return nil, 0, fmt.Errorf("read persons of HelloID database %s: %w", path, err)
	}
	if err := sqlrows.Each(rows, func() error {
		var emp, first, prefix, last, gender, email, user string
		if err := rows.Scan(&emp, &first, &prefix, &last, &gender, &email, &user); err != nil {
			return err
		}
		prev.Persons[emp] = &export.PersonRows{Person: export.PersonRow(map[string]string{"employee_number": emp, "first_name": first,
			"prefix": prefix, "last_name": last, "gender": gender, "email": email, "username": user})}
		if user != "" {
			byUser[strings.ToLower(user)] = emp
		}
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("read persons of HelloID database %s: %w", path, err)
	}
	rows, err = db.QueryContext(ctx, `SELECT COALESCE(gebruikersnaam, ''), COALESCE(ou, ''), COALESCE(functie, ''),
		COALESCE(oucode, ''), COALESCE(functiecode, '') FROM roles`)
	if err != nil {
		return nil, 0, fmt.Errorf("read roles of HelloID database %s: %w", path, err)
	}
	if err := sqlrows.Each(rows, func() error {
		var user, ou, function, ouCode, functionCode string
		if err := rows.Scan(&user, &ou, &function, &ouCode, &functionCode); err != nil {
			return err
		}
		emp, ok := byUser[strings.ToLower(user)]
		if !ok {
			orphans++
			return nil
		}
		// functiecode is what HelloID delivered as the role profile, whether
		// the connector filled it from the function or a business rule: it
		// stands for both function_code and role, so a role_map that
		// reproduces the business rule shows no change.
		p := prev.Persons[emp]
		p.Roles = append(p.Roles, export.RoleRow(map[string]string{"employee_number": emp, "username": user, "ou_code": ouCode,
			"ou_name": ou, "function_code": functionCode, "function_name": function, "role": functionCode}))
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("read roles of HelloID database %s: %w", path, err)
	}
	return prev, orphans, nil
}

// readOnlyURI is a SQLite URI opening the file at abs read-only; a
// Windows path (C:\x) becomes file:///C:/x, and URI-special characters in
// folder names are escaped.
func readOnlyURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: "mode=ro"}
	return u.String()
}

// helloIDColumns are the columns migrate reads, per table.
var helloIDColumns = map[string][]string{
	"persons": {"externalId", "voornaam", "tussenvoegsel", "achternaam", "geslacht", "email", "gebruikersnaam"},
	"roles":   {"gebruikersnaam", "ou", "functie", "oucode", "functiecode"},
}

// checkHelloID makes sure path is a HelloID SpendCloud database before it
// is read, so a wrong file is named as such rather than by SQLite's "no
// such table".
func checkHelloID(ctx context.Context, db *sql.DB, path string) error {
	for _, table := range slices.Sorted(maps.Keys(helloIDColumns)) {
		rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			if strings.Contains(err.Error(), "file is not a database") {
				return fmt.Errorf("%s is not a SQLite database (expected the HelloID SpendCloud connector's SpendCloud.db)", path)
			}
			return fmt.Errorf("open HelloID database %s: %w", path, err)
		}
		have := map[string]bool{}
		err = sqlrows.Each(rows, func() error {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			have[strings.ToLower(name)] = true
			return nil
		})
		if err != nil {
			if strings.Contains(err.Error(), "file is not a database") {
				return fmt.Errorf("%s is not a SQLite database (expected the HelloID SpendCloud connector's SpendCloud.db)", path)
			}
			return fmt.Errorf("open HelloID database %s: %w", path, err)
		}
		if len(have) == 0 {
			return fmt.Errorf("%s is not a HelloID SpendCloud database: it has no %s table", path, table)
		}
		for _, c := range helloIDColumns[table] {
			if !have[strings.ToLower(c)] {
				return fmt.Errorf("%s is not a HelloID SpendCloud database: table %s has no column %s", path, table, c)
			}
		}
	}
	return nil
}
