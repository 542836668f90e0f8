package ingest

import (
	"strings"
	"testing"

	"github.com/spendsync/spendsync/connector"
)

// Joiners staged on disk are written exactly as the plan held in memory
// writes them: the same persons, contracts, hashes, rejects, events (in
// another order) and report, through duplicates, rejected rows, orphans,
// warnings, a second source taking a joiner over, and a provider filling
// joiners' fields, on the first day and the next.
func TestStagedJoinersWriteWhatThePlanInMemoryWrites(t *testing.T) {
	days := []struct{ hr, hrContracts, hr2, hr2Contracts, ad string }{{
		hr: "employee_number;first_name;last_name;email\n" +
			"001;Jan;Boele;jan@example.nl\n002;Anna;Jansen;anna@other.org\n" +
			"003;Dup;One;d1@example.nl\n003;Dup;Two;d2@example.nl\n" +
			"004;Bad;Mail;not-an-email\n004;Bad;Mail;b@example.nl\n" +
			"005;Eve;Late;eve@example.nl\n006;No;Contracts;n@example.nl\n" +
			"009;Id;Less;il@example.nl\n010;Id;Conflict;ic@example.nl\n",
		hrContracts: contractsHeader +
			"001;c1;2020-01-01;;FIN;CTRL\n001;c2;2021-01-01;;HR;HRA\n" +
			"002;c3;2020-01-01;;FIN;CTRL\n002;c3;2020-02-01;;FIN;CTRL\n002;c4;2020-01-01;;ICT;DEV\n" +
			"003;c5;2020-01-01;;FIN;CTRL\n004;c6;2020-01-01;;FIN;CTRL\n005;c7;2020-01-01;;FIN;CTRL\n" +
			"099;c8;2020-01-01;;FIN;CTRL\n098;c9;2019-01-01;2019-12-31;FIN;CTRL\n" +
			"097;c12;2019-01-01;;FIN;CTRL\n097;c12;2019-02-01;;FIN;CTRL\n097;c12;2019-03-01;;FIN;CTRL\n097;c13;2019-01-01;;FIN;CTRL\n" +
			// Without a contract id: identical rows merge, differing ones conflict.
			"009;;2020-01-01;;FIN;CTRL\n009;;2020-01-01;;FIN;CTRL\n009;;2021-01-01;;HR;HRA\n" +
			"010;;2020-01-01;;FIN;CTRL\n010;;2020-01-01;;FIN;CTRL\n010;;2020-01-01;2020-06-30;FIN;CTRL\n010;;2021-01-01;;HR;HRA\n",
		hr2:          "employee_number;first_name;last_name;email\n005;Eve;Later;eve2@example.nl\n007;Zed;Two;z@example.nl\n",
		hr2Contracts: contractsHeader + "005;k1;2022-01-01;;OPS;OPS\n007;k2;2022-01-01;;OPS;OPS\n",
		ad:           "employeeID,mail,userPrincipalName\n001,jan.b@example.nl,jan\n002,anna@elsewhere.org,anna\n005,eve@example.nl,eve\n007,,zed\n500,x@example.nl,x\n",
	}, {
		hr: "employee_number;first_name;last_name;email\n" +
			"001;Jan;Boele-Smit;jan@example.nl\n004;Bad;Mail;b@example.nl\n" +
			"005;Eve;Late;eve@example.nl\n006;No;Contracts;n@example.nl\n008;New;Day2;new@other.org\n009;Id;Less;il@example.nl\n",
		hrContracts: contractsHeader +
			"001;c1;2020-01-01;;FIN;CTRL\n004;c6;2020-01-01;;FIN;CTRL\n005;c7;2020-01-01;;FIN;CTRL\n" +
			"006;c10;2024-01-01;;HR;HRA\n008;c11;2024-02-01;;ICT;DEV\n" +
			"009;;2020-01-01;2026-12-31;FIN;CTRL\n009;;2021-01-01;;HR;HRA\n009;;2020-01-01;2026-12-31;FIN;CTRL\n",
		hr2:          "employee_number;first_name;last_name;email\n005;Eve;Later;eve2@example.nl\n007;Zed;Two;z@example.nl\n",
		hr2Contracts: contractsHeader + "005;k1;2022-01-01;;OPS;OPS\n007;k2;2022-01-01;;OPS;OPS\n",
		ad:           "employeeID,mail,userPrincipalName\n001,jan.s@example.nl,jan\n008,new@example.nl,new\n",
	}}
	rules := connector.Rules{VerifiedDomains: []string{"example.nl"}}
	dump := func(staged bool) (string, int) {
		e := newEnv(t)
		var out []string
		joiners := 0
		for _, d := range days {
			ad := &connector.Source{Name: "ad", Profile: "ad", Provides: []string{"username", "email"}, Persons: e.write("ad.csv", d.ad)}
			if err := ad.Validate(); err != nil {
				t.Fatal(err)
			}
			_, rep, err := e.ingest(Config{Rules: rules, inMemory: !staged},
				e.source("hr", "", d.hr, d.hrContracts), e.source("hr2", "", d.hr2, d.hr2Contracts), ad)
			if err != nil && rep == nil {
				t.Fatal(err)
			}
			for _, p := range rep.Plans {
				out = append(out, p.Summary()+"; first orphan: "+p.OrphanExample)
				joiners += p.stagedJoined
			}
		}
		db := e.store.Path()
		for _, q := range []string{
			`SELECT employee_number, source, first_name, last_name, email, username, left_at IS NULL FROM persons ORDER BY 1`,
			`SELECT * FROM contracts ORDER BY 1, 2`,
			`SELECT source, employee_number, hex(person), hex(contracts) FROM source_hashes ORDER BY 1, 2`,
			`SELECT run_id, source, file, line, col, reason, raw, employee_number FROM rejects ORDER BY 1, 3, 4`,
			`SELECT run_id, source, kind, employee_number, details FROM events ORDER BY 1, 2, 3, 4, 5`,
		} {
			out = append(out, rowOf(t, db, q))
		}
		// Each run has its own folder: name it DIR. The rows are quoted
		// (%q) and the events' details are JSON inside that, so a Windows
		// path's backslashes appear escaped once or twice: every form.
		text := strings.Join(out, "\n")
		for _, form := range []string{strings.ReplaceAll(e.dir, `\`, `\\\\`), strings.ReplaceAll(e.dir, `\`, `\\`), e.dir} {
			text = strings.ReplaceAll(text, form, "DIR")
		}
		for _, sep := range []string{`DIR\\\\`, `DIR\\`, `DIR\`} {
			text = strings.ReplaceAll(text, sep, "DIR/")
		}
		return text, joiners
	}
	inMemory, none := dump(false)
	staged, joiners := dump(true)
	if none != 0 || joiners != 9 {
		t.Fatalf("joiners staged: %d without staging, %d with (want 0 and 9: 001 002 004 005 006 009 010 by hr and 007 by hr2 on day 1, 008 on day 2)", none, joiners)
	}
	if staged != inMemory {
		t.Fatalf("staged joiners wrote otherwise than the plan in memory:\n%s", lineDiff(inMemory, staged))
	}
	for _, want := range []string{"person.joined", "provided_by", "row.warning", "duplicate contract c12", "3 orphan contract rows", "first orphan: 097 (DIR/hr-contracts.csv line 15)",
		"1 contract rows merged", "conflicting rows for contract 2020-01-01|FIN|CTRL", "contract.ended"} {
		if !strings.Contains(staged, want) {
			t.Errorf("the scenario lost its point: no %q in\n%s", want, staged)
		}
	}
}

// lineDiff shows the lines of b that a lacks and the other way round.
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ia, ib := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !ib[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !ia[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
