package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"zombiezen.com/go/sqlite"
)

// HelloIDPerson is a persons row of a HelloID SpendCloud connector
// database, NULLs read as "".
type HelloIDPerson struct {
	ExternalID, FirstName, Prefix, LastName, Gender, Email, Username string
}

// HelloIDRole is a roles row of a HelloID SpendCloud connector database.
type HelloIDRole struct {
	Username, OU, Function, OUCode, FunctionCode string
}

// ReadHelloID reads the persons and roles of the HelloID SpendCloud
// connector database at path, read-only, after making sure it is one.
func ReadHelloID(ctx context.Context, path string) (persons []HelloIDPerson, roles []HelloIDRole, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, nil, err
	} else if fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is a folder, not a database file", path)
	}
	c, err := sqlite.OpenConn(readOnlyURI(abs), sqlite.OpenReadOnly|sqlite.OpenURI)
	if err != nil {
		return nil, nil, fmt.Errorf("open HelloID database %s: %w", path, err)
	}
	defer c.Close()
	c.SetBusyTimeout(busyTimeout)
	c.SetInterrupt(ctx.Done())
	if err := checkHelloID(c, path); err != nil {
		return nil, nil, err
	}
	err = each(c, `SELECT CAST(externalId AS TEXT), COALESCE(voornaam, ''), COALESCE(tussenvoegsel, ''),
		COALESCE(achternaam, ''), COALESCE(geslacht, ''), COALESCE(email, ''), COALESCE(gebruikersnaam, '') FROM persons`,
		func(st *sqlite.Stmt) error {
			var p HelloIDPerson
			scan(st, &p.ExternalID, &p.FirstName, &p.Prefix, &p.LastName, &p.Gender, &p.Email, &p.Username)
			persons = append(persons, p)
			return nil
		})
	if err != nil {
		return nil, nil, fmt.Errorf("read persons of HelloID database %s: %w", path, err)
	}
	err = each(c, `SELECT COALESCE(gebruikersnaam, ''), COALESCE(ou, ''), COALESCE(functie, ''),
		COALESCE(oucode, ''), COALESCE(functiecode, '') FROM roles`, func(st *sqlite.Stmt) error {
		var r HelloIDRole
		scan(st, &r.Username, &r.OU, &r.Function, &r.OUCode, &r.FunctionCode)
		roles = append(roles, r)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read roles of HelloID database %s: %w", path, err)
	}
	return persons, roles, nil
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

// helloIDColumns are the columns ReadHelloID reads, per table.
var helloIDColumns = map[string][]string{
	"persons": {"externalId", "voornaam", "tussenvoegsel", "achternaam", "geslacht", "email", "gebruikersnaam"},
	"roles":   {"gebruikersnaam", "ou", "functie", "oucode", "functiecode"},
}

// checkHelloID makes sure the database is a HelloID SpendCloud database
// before it is read, so a wrong file is named as such rather than by
// SQLite's "no such table".
func checkHelloID(c *sqlite.Conn, path string) error {
	for _, table := range slices.Sorted(maps.Keys(helloIDColumns)) {
		have := map[string]bool{}
		err := each(c, `SELECT name FROM pragma_table_info(?)`, func(st *sqlite.Stmt) error {
			have[strings.ToLower(st.ColumnText(0))] = true
			return nil
		}, table)
		if err != nil {
			if sqlite.ErrCode(err) == sqlite.ResultNotADB || strings.Contains(err.Error(), "file is not a database") {
				return fmt.Errorf("%s is not a SQLite database (expected the HelloID SpendCloud connector's SpendCloud.db)", path)
			}
			return fmt.Errorf("open HelloID database %s: %w", path, err)
		}
		if len(have) == 0 {
			return fmt.Errorf("%s is not a HelloID SpendCloud database: it has no %s table", path, table)
		}
		for _, col := range helloIDColumns[table] {
			if !have[strings.ToLower(col)] {
				return fmt.Errorf("%s is not a HelloID SpendCloud database: table %s has no column %s", path, table, col)
			}
		}
	}
	return nil
}
