package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The sample's first-use story: init, put the HR exports where the one
// active source expects them (hr/ next to the config), ingest --dry-run.
func TestInitSampleIngestsOnFirstUseAndPrintsNextSteps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	path := filepath.Join(dir, "spendsync.yaml")
	code, out, stderr := cli(t, "--config", path, "init")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	persons, contracts := filepath.Join(dir, "hr", "medewerkers.csv"), filepath.Join(dir, "hr", "dienstverbanden.csv")
	for _, want := range []string{"next steps", persons, contracts, "--config " + path + " ingest --dry-run", "target.sftp or target.dir", "run"} {
		if !strings.Contains(out, want) {
			t.Errorf("init's next steps lack %q:\n%s", want, out)
		}
	}

	// Before the HR files are there the first ingest fails naming the file.
	code, _, stderr = cli(t, "--config", path, "ingest", "--dry-run")
	if code != exitFailed || !strings.Contains(stderr, persons) {
		t.Fatalf("ingest without the HR files: exit %d, want 1 naming %s\n%s", code, persons, stderr)
	}

	os.MkdirAll(filepath.Dir(persons), 0o700)
	writeFile(t, persons, "Medewerker;Roepnaam;Voorvoegsel;Geboortenaam;Naamgebruik_code;Geslacht;Email_werk;UPN\r\n"+
		"000101;Jan;van den;Boele;0;M;jan.boele@example.nl;jboele@example.nl\r\n"+
		"000102;Anna;;Jansen;0;V;anna.jansen@example.nl;ajansen@example.nl\r\n")
	writeFile(t, contracts, "Medewerker;ExternalID;Begindatum_functie;Einddatum_functie;Organisatorische_eenheid_code;Organisatorische_eenheid_omschrijving;Functie_code;Functie_omschrijving\r\n"+
		"000101;101-1;01-01-2015;;FIN;Financiën;CTRL;Controller\r\n"+
		"000102;102-1;2020-03-01T00:00:00Z;;HR;Personeelszaken;HRA;HR-adviseur\r\n")
	code, out, stderr = cli(t, "--config", path, "ingest", "--dry-run")
	if code != 0 || !strings.Contains(out, "2 joined") {
		t.Fatalf("first ingest --dry-run on the sample: exit %d, want 0 with 2 joined\n%s\n%s", code, out, stderr)
	}
	// run without a target ingests and exports, and delivers nothing.
	code, out, stderr = cli(t, "--config", path, "run")
	if code != 0 || !strings.Contains(stderr, "no target configured") {
		t.Fatalf("run on the sample: exit %d, want 0 and a no-target warning\n%s\n%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "persons.csv")); err != nil {
		t.Fatalf("run on the sample wrote no dump: %v", err)
	}
}

// commentedKey is a commented-out config line: "# key: ...", "# - key: ..."
// or "# - {flow: map}", indented as the key would be. Prose comments start
// with a capital or have no "word:" at their start.
var commentedKey = regexp.MustCompile(`^(\s*)# (\s*(- )?([a-z_]+:(\s.*)?|\{.*))$`)

// uncomment switches on every commented-out key of the sample, except the
// blocks starting at a line whose key is in skip (alternatives that exclude
// another key); it returns the text and how many lines it switched on.
func uncomment(sample string, skip map[string]bool) (string, int) {
	lines := strings.Split(sample, "\n")
	n, skipDepth := 0, -1
	for i, line := range lines {
		m := commentedKey.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		depth := len(m[1]) + len(m[2]) - len(strings.TrimLeft(m[2], " "))
		if skipDepth >= 0 && depth > skipDepth {
			continue
		}
		skipDepth = -1
		key := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(strings.TrimSpace(m[2]), "- "), ":", 2)[0])
		if skip[key] {
			skipDepth = depth
			continue
		}
		lines[i] = m[1] + m[2]
		n++
	}
	return strings.Join(lines, "\n"), n
}

// Every key in the sample, commented out or not, is one the loader accepts:
// with every comment switched on (but one of each pair of exclusive
// alternatives) the sample still loads.
func TestSampleLoadsWithEveryCommentedKeySwitchedOn(t *testing.T) {
	// target.dir excludes target.sftp; columns.deleted needs mode: delta.
	text, n := uncomment(string(sampleConfig), map[string]bool{"dir": true, "deleted": true})
	if n < 20 {
		t.Fatalf("only %d commented keys switched on; the sample's commented-out keys are not in the form \"# key: value\"", n)
	}
	path := filepath.Join(t.TempDir(), "spendsync.yaml")
	writeFile(t, path, text)
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatalf("the sample with its comments switched on does not load: %v\n%s", err, text)
	}
	if len(cfg.Sources) != 3 || cfg.Sources[1].API == nil || cfg.Target.SFTP == nil || cfg.Metrics == "" || len(cfg.Sources[0].Columns) == 0 || len(cfg.Sources[0].NamingMap) == 0 ||
		len(cfg.Sources[0].Lookups) != 1 || cfg.Sources[0].Lookups[0].Where == nil ||
		len(cfg.Rules.Scope.Include) != 1 || len(cfg.Rules.Scope.Exclude) != 1 || len(cfg.Export.RoleMap) != 2 {
		t.Fatalf("commented-out keys were not switched on: %+v\n%s", cfg, text)
	}
	// And the other alternative: the folder target instead of SFTP.
	text, _ = uncomment(string(sampleConfig), map[string]bool{"sftp": true, "deleted": true})
	writeFile(t, path, text)
	if cfg, err = loadConfig(path); err != nil || cfg.Target.Dir == nil {
		t.Fatalf("the sample with target.dir switched on: %v", err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Every man page carries the sections cobra does not generate, before SEE
// ALSO, and lists every exit code.
func TestManPagesHaveExitStatusEnvironmentAndFiles(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := cli(t, "gen-man", dir); code != 0 {
		t.Fatalf("gen-man: exit %d\n%s", code, stderr)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(pages) < 10 {
		t.Fatalf("only %d man pages: %v", len(pages), pages)
	}
	for _, want := range []string{"spendsync.1", "spendsync-export.1", "spendsync-person-block.1"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("no page %s: %v", want, err)
		}
	}
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		page := string(b)
		last := -1
		for _, section := range []string{".SH NAME", ".SH EXIT STATUS", ".SH ENVIRONMENT", ".SH FILES", ".SH SEE ALSO"} {
			i := strings.Index(page, "\n"+section+"\n")
			if i < 0 || i < last {
				t.Errorf("%s: %q missing or out of order", filepath.Base(p), section)
			}
			last = i
		}
		for _, want := range []string{".B 0\n", ".B 1\n", ".B 2\n", ".B 3\n", ".B 4\n", ".B 5\n", "SPENDSYNC_CONFIG", "known_hosts"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %q", filepath.Base(p), want)
			}
		}
	}
}

// configKeys lists every key the loader accepts, as docs/configuration.md
// writes them: full paths from the top, except that a source's keys are
// written without "sources[].". Types that read themselves (durations,
// columns, conditions) are leaves.
func configKeys(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		*out = append(*out, strings.TrimPrefix(path, "sources[]."))
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		suffix := "."
		if ft.Kind() == reflect.Slice {
			ft, suffix = ft.Elem(), "[]."
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
		}
		if ft.Kind() == reflect.Struct && hasYAMLFields(ft) {
			configKeys(ft, path+suffix, out)
		}
	}
}

func hasYAMLFields(t reflect.Type) bool {
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			return true
		}
	}
	return false
}

// A key added to the config without a line in the configuration reference
// fails here: the reference names every key the loader accepts.
func TestConfigurationReferenceNamesEveryKey(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	configKeys(reflect.TypeFor[config](), "", &keys)
	if len(keys) < 60 {
		t.Fatalf("only %d keys found in the config type: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/configuration.md does not name the key `%s`: add a table row with its type, default and meaning", k)
		}
	}
}
