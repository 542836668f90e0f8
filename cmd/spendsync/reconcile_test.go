package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/reconcile"
)

// reconcileDemo runs the demo once and returns its config and folder.
func reconcileDemo(t *testing.T) (cfg, dir string) {
	t.Helper()
	cfg = demo(t)
	if code, _, stderr := cli(t, "--config", cfg, "run", "-q"); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	return cfg, filepath.Dir(cfg)
}

// demoConnect is the demo's last export as Connect lists it.
const demoConnect = `Email,ExternalId,Status,FirstName,LastName
jan.boele@example.nl,000101,Active,Jan,Boele
anna.jansen@example.nl,000102,Active,Anna,Jansen
noel.debruine@example.nl,000103,Active,Noël,Bruïne
sven.orsted@example.nl,000104,Active,Sven,Ørsted
fatima.elamrani@example.nl,000105,Active,Fatima,el Amrani
pieter.smit@example.nl,000106,Active,Pieter,Smit
els.terhorst@example.nl,000107,Active,Els,ter Horst
sanne.visser@example.nl,000111,Active,Sanne,Visser
tom.vanderberg@example.nl,000112,Active,Tom,Berg
old.leaver@example.nl,,Disabled,Old,Leaver
`

func TestReconcileOfAListInStepIsCleanAndRecordsAnEvent(t *testing.T) {
	cfg, dir := reconcileDemo(t)
	cols := "reconcile:\n  connect:\n    columns: {email: Email, employee_number: ExternalId, active: Status, first_name: FirstName, last_name: LastName}\n    active_values: [Active]\n"
	appendConfig(t, cfg, cols)
	list := filepath.Join(dir, "connect.csv")
	os.WriteFile(list, []byte(demoConnect), 0o600)
	code, out, stderr := cli(t, "--config", cfg, "reconcile", "--kind", "connect", "--file", list, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, want 0: %s\n%s", code, stderr, out)
	}
	var rep reconcile.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Findings() != 0 {
		t.Fatalf("%v: %s", err, out)
	}
	code, out, _ = cli(t, "--config", cfg, "events", "--kind", "reconcile", "--format", "json")
	if code != exitOK || !strings.Contains(out, `"accounts": 10`) || !strings.Contains(out, `"only_there": 0`) {
		t.Errorf("no reconcile event with the counts: %s", out)
	}
}

func TestReconcileReportsManualAccountsFailedImportsAndDifferences(t *testing.T) {
	cfg, dir := reconcileDemo(t)
	out0 := readTree(t, filepath.Join(dir, "state", "out"))
	list := filepath.Join(dir, "connect.csv")
	text := strings.NewReplacer(
		"anna.jansen@example.nl,000102", "anna.j@example.nl,000102", // changed there
		"000103,Active", "000103,Disabled", // a failed import: inactive there
		"tom.vanderberg@example.nl,000112,Active,Tom,Berg\n", "", // missing there
	).Replace(demoConnect) + "admin@example.nl,,Active,Ad,Min\nlotte.vanleeuwen@example.nl,000109,Active,Lotte,Leeuwen\n"
	os.WriteFile(list, []byte(text), 0o600)
	code, out, stderr := cli(t, "--config", cfg, "reconcile", "--kind", "connect", "--file", list, "--format", "json")
	if code != exitRejected {
		t.Fatalf("exit %d, want 5: %s\n%s", code, stderr, out)
	}
	if !strings.Contains(stderr, "5 account(s) out of step (2 only there, 2 missing there, 1 different)") {
		t.Errorf("stderr: %s", stderr)
	}
	var rep reconcile.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	find := func(items []reconcile.Item, emp, email, detail string) {
		t.Helper()
		for _, it := range items {
			if it.EmployeeNumber == emp && it.Email == email && strings.Contains(it.Detail, detail) {
				return
			}
		}
		t.Errorf("no item %s %s %q in %+v", emp, email, detail, items)
	}
	find(rep.OnlyThere, "", "admin@example.nl", "unknown to spendsync")
	find(rep.OnlyThere, "000109", "lotte.vanleeuwen@example.nl", "Lotte van Leeuwen, employee 000109, a current person without an account")
	find(rep.MissingThere, "000103", "noel.debruine@example.nl", `inactive there ("Disabled")`)
	find(rep.MissingThere, "000112", "tom.vanderberg@example.nl", "no account there")
	find(rep.Different, "000102", "anna.j@example.nl", `email there "anna.j@example.nl", spendsync exported "anna.jansen@example.nl"`)
	// Table and CSV carry the same findings.
	for _, format := range []string{"table", "csv"} {
		if code, out, _ := cli(t, "--config", cfg, "reconcile", "--kind", "connect", "--file", list, "--format", format); code != exitRejected ||
			strings.Count(out, "only_there") != 2 || strings.Count(out, "missing_there") != 2 || strings.Count(out, "different") != 1 {
			t.Errorf("--format %s: exit %d\n%s", format, code, out)
		}
	}
	// Reading changes nothing but the events.
	if out1 := readTree(t, filepath.Join(dir, "state", "out")); out1 != out0 {
		t.Error("reconcile changed the export folder")
	}
	if code, out, _ := cli(t, "--config", cfg, "events", "--kind", "reconcile", "--format", "json"); code != exitOK ||
		!strings.Contains(out, `"missing_there": 2`) || !strings.Contains(out, `"different": 1`) {
		t.Errorf("reconcile event: %s", out)
	}
}

func TestReconcileSpendCloudListByUsername(t *testing.T) {
	cfg, dir := reconcileDemo(t)
	list := filepath.Join(dir, "gebruikers.csv")
	var b strings.Builder
	b.WriteString("Personeelsnummer;Gebruikersnaam;Actief\r\n")
	for _, l := range strings.Split(strings.TrimSpace(demoConnect), "\n")[1:10] {
		f := strings.Split(l, ",")
		b.WriteString(f[1] + ";" + f[0] + ";Ja\r\n")
	}
	b.WriteString(";beheerder;Ja\r\n")
	os.WriteFile(list, []byte(b.String()), 0o600)
	code, out, stderr := cli(t, "--config", cfg, "reconcile", "--kind", "spendcloud", "--file", list, "--format", "json")
	if code != exitRejected || !strings.Contains(out, `"username": "beheerder"`) || strings.Count(out, "detail") != 1 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
}

func TestReconcileBadInputIsAClearError(t *testing.T) {
	cfg, dir := reconcileDemo(t)
	list := filepath.Join(dir, "connect.csv")
	os.WriteFile(list, []byte(demoConnect+"JAN.boele@example.nl,000199,Active,J,B\n"), 0o600)
	code, _, stderr := cli(t, "--config", cfg, "reconcile", "--kind", "connect", "--file", list)
	if code != exitFailed || !strings.Contains(stderr, list+` line 12 column "Email": email "jan.boele@example.nl" appears again (first on line 2)`) {
		t.Errorf("duplicate email: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, "--config", cfg, "reconcile", "--kind", "ldap", "--file", list); code != exitUsage || !strings.Contains(stderr, "--kind must be connect or spendcloud") {
		t.Errorf("bad kind: exit %d: %s", code, stderr)
	}
	appendConfig(t, cfg, "reconcile:\n  connect:\n    columns: {email: Email, phone: Tel}\n")
	if code, _, stderr := cli(t, "--config", cfg, "reconcile", "--kind", "connect", "--file", list); code != exitUsage || !strings.Contains(stderr, "reconcile.connect.columns.phone: unknown field") {
		t.Errorf("bad mapping: exit %d: %s", code, stderr)
	}
}

func appendConfig(t *testing.T, cfg, text string) {
	t.Helper()
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(text)
	f.Close()
}

// readTree returns every file under dir, names and contents, as one string.
func readTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			b.WriteString(p + "\n" + string(data) + "\n")
		}
		return err
	})
	return b.String()
}

// Through the real binary: exit 5 with findings and the JSON on stdout,
// exit 1 naming file, line and column for a broken list, and the demo's
// export folder and drop byte for byte as before.
func TestReconcileThroughTheBinary(t *testing.T) {
	bin := buildBinary(t)
	cfg, dir := reconcileDemo(t)
	before := readTree(t, filepath.Join(dir, "state", "out")) + readTree(t, filepath.Join(dir, "state", "drop"))
	list := filepath.Join(dir, "connect.csv")
	os.WriteFile(list, []byte(demoConnect+"admin@example.nl,,Active,Ad,Min\n"), 0o600)
	cmd := exec.Command(bin, "--config", cfg, "reconcile", "--kind", "connect", "--file", list, "--format", "json")
	cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
	out, err := cmd.Output()
	var rep reconcile.Report
	if code := cmd.ProcessState.ExitCode(); code != exitRejected || json.Unmarshal(out, &rep) != nil || len(rep.OnlyThere) != 1 ||
		rep.OnlyThere[0].Email != "admin@example.nl" || rep.OnlyThere[0].Line != 12 {
		t.Fatalf("exit %d (%v): %s", code, err, out)
	}
	os.WriteFile(list, []byte("Email,ExternalId,Status\na@x.nl,1,\"Active\nb\"@x.nl,2,Active\n"), 0o600)
	cmd = exec.Command(bin, "--config", cfg, "reconcile", "--kind", "connect", "--file", list)
	cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
	stderr, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitFailed || !strings.Contains(string(stderr), list+" line 3 column 2: ") {
		t.Errorf("broken list: exit %d: %s", code, stderr)
	}
	if after := readTree(t, filepath.Join(dir, "state", "out")) + readTree(t, filepath.Join(dir, "state", "drop")); after != before {
		t.Error("reconcile changed the export folder or the drop")
	}
}
