package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/slowtest"
	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/lifecycle"
)

// genDataset writes an AFAS-style pair of files: n persons, about 1.5
// contracts each. variant shifts names, OUs and who is listed, so moving
// between variants means real joins, changes and leaves. Variants 11 and
// 12 are variant 1 with every hundredth person renamed (two different
// sets): between them an export walks a few persons and copies the rest
// from the last files.
func genDataset(t testing.TB, dir string, n, variant int) {
	renamed := -1
	if variant > 10 {
		variant, renamed = 1, variant-10
	}
	t.Helper()
	os.MkdirAll(dir, 0o700)
	write := func(name, header string, rows func(w *bufio.Writer)) {
		f, err := os.Create(filepath.Join(dir, name+".new"))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		w.WriteString(header + "\n")
		rows(w)
		w.Flush()
		f.Close()
		os.Rename(filepath.Join(dir, name+".new"), filepath.Join(dir, name))
	}
	listed := func(i int) bool { return (i+variant)%10 != 0 } // a tenth changes sides
	write("persons.csv", "Medewerker;Roepnaam;Geboortenaam;Email_werk;UPN", func(w *bufio.Writer) {
		for i := range n {
			if listed(i) {
				suffix := ""
				if i%100 == renamed {
					suffix = "-renamed"
				}
				fmt.Fprintf(w, "%06d;Voornaam%d;Achternaam%d-%d%s;p%d@example.nl;p%d@example.nl\n", i, i, i, (i*variant)%3, suffix, i, i)
			}
		}
	})
	write("contracts.csv", "Medewerker;ExternalID;Begindatum_functie;Einddatum_functie;Organisatorische_eenheid_code;Organisatorische_eenheid_omschrijving;Functie_code", func(w *bufio.Writer) {
		for i := range n {
			if !listed(i) {
				continue
			}
			fmt.Fprintf(w, "%06d;%d-1;2020-01-01;;OU%d;Eenheid %d;F%d\n", i, i, (i+variant)%40, (i+variant)%40, i%7)
			if i%2 == 0 {
				fmt.Fprintf(w, "%06d;%d-2;2021-01-01;;OU%d;Eenheid %d;G%d\n", i, i, (i+3)%40, (i+3)%40, i%5)
			}
		}
	})
}

type crashRig struct {
	t        *testing.T
	bin, cfg string
	data     string // the source folder the config reads
	out      string // export.dir
	drop     string // where delivered files land
	db       string
}

func (r *crashRig) run(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.bin, "--config", r.cfg, "--log-format", "json", "run")
	cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
	return cmd
}

func (r *crashRig) runToEnd() {
	r.t.Helper()
	out, err := r.run(context.Background()).CombinedOutput()
	if err != nil {
		r.t.Fatalf("run after a kill did not complete: %v\n%s", err, out)
	}
}

func fileSum(path string) (string, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("%x", sha256.Sum256(data)), true
}

// dump returns the current persons.csv and roles.csv of a folder.
func dumpOf(t *testing.T, dir string) [2]string {
	t.Helper()
	var d [2]string
	for i, name := range []string{"persons.csv", "roles.csv"} {
		sum, ok := fileSum(filepath.Join(dir, name))
		if !ok {
			t.Fatalf("%s missing in %s", name, dir)
		}
		d[i] = sum
	}
	return d
}

func newCrashRig(t *testing.T, bin string, target string) *crashRig {
	dir := t.TempDir()
	r := &crashRig{t: t, bin: bin, data: filepath.Join(dir, "hr"), out: filepath.Join(dir, "state", "out"),
		db: filepath.Join(dir, "state", "spendsync.db"), cfg: filepath.Join(dir, "spendsync.yaml")}
	cfg := `database: state/spendsync.db
sources:
  - {name: afas, profile: afas, persons: hr/persons.csv, contracts: hr/contracts.csv}
rules:
  thresholds: {max_removals: 0, max_removal_percent: 0, max_rejects: 0}
export: {dir: state/out}
retention: {exports: 3}
`
	switch target {
	case "folder":
		r.drop = filepath.Join(dir, "drop")
		cfg += "target: {dir: {path: drop}}\n"
	case "sftp":
		s := sshdtest.Start(t)
		r.drop = s.Drop
		_, port, _ := strings.Cut(s.Addr, ":")
		cfg += fmt.Sprintf("target:\n  sftp: {host: 127.0.0.1, port: %s, user: %s, key_file: %s, known_hosts: %s, remote_dir: %s, timeout: 10s, retries: 0}\n",
			port, s.User, s.ClientKey, s.KnownHosts, s.Drop)
	}
	os.WriteFile(r.cfg, []byte(cfg), 0o600)
	return r
}

// TestCrashLoop kills spendsync run with SIGKILL at random moments and
// checks the guarantees after every kill. SPENDSYNC_CRASH_KILLS sets the
// number of kills per run (default 30 folder + 20 SFTP + 15 folder with
// few changes = 65).
func TestCrashLoop(t *testing.T) {
	slowtest.Require(t)
	if testing.Short() {
		t.Skip("crash loop skipped with -short")
	}
	bin := buildBinary(t)
	loops := []struct {
		name, target string
		variants     [2]int
		kills        int
	}{
		{"folder", "folder", [2]int{1, 2}, 30},
		{"sftp", "sftp", [2]int{1, 2}, 20},
		// Runs whose exports copy most persons' lines from the last files.
		{"folder, few changes", "folder", [2]int{11, 12}, 15},
	}
	const persons = 4000
	for _, l := range loops {
		target, variants := l.target, l.variants
		kills := map[string]int{target: l.kills}
		if v, err := strconv.Atoi(os.Getenv("SPENDSYNC_CRASH_KILLS")); err == nil {
			kills[target] = v
		}
		t.Run(l.name, func(t *testing.T) {
			// Reference dumps: each variant from a fresh, uninterrupted run.
			refs := map[int][2]string{}
			for _, v := range variants {
				ref := newCrashRig(t, bin, "folder")
				genDataset(t, ref.data, persons, v)
				ref.runToEnd()
				refs[v] = dumpOf(t, ref.out)
			}
			known := map[string]bool{}
			for _, d := range refs {
				known[d[0]], known[d[1]] = true, true
			}
			r := newCrashRig(t, bin, target)
			genDataset(t, r.data, persons, variants[0])
			r.runToEnd()
			// The span kills are drawn from: a run from one variant to the
			// other, as every attempt is (the first, where everyone joins,
			// takes longer: with few changes, most kills drawn from it
			// came after the run had ended).
			genDataset(t, r.data, persons, variants[1])
			start := time.Now()
			r.runToEnd()
			span := time.Since(start)
			// Starting a process is most of a short run under Wine: draw the
			// kills from after it, or none lands past the ingest.
			bootStart := time.Now()
			exec.Command(bin, "version").Run()
			boot := min(time.Since(bootStart), span/2)
			rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
			stages := map[string]int{}
			// Every attempt feeds the other variant than the state holds, so
			// no run takes the no-change fast path; only a kill that finds
			// the process still running counts.
			applied, landed, attempts, finished := variants[1], 0, 0, 0
			for landed < kills[target] && attempts < 4*kills[target] {
				k := attempts
				attempts++
				variant := variants[0] + variants[1] - applied
				genDataset(t, r.data, persons, variant)
				cmd := r.run(context.Background())
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				delay := boot + time.Duration(rng.Int64N(int64(span)*11/10-int64(boot)))
				time.Sleep(delay)
				killHard(cmd.Process)
				cmd.Wait()
				if killedHard(cmd.ProcessState) {
					landed++
					stages[stageOf(stderr.String())]++
				} else {
					finished++
					// The run had ended: runs are shorter than the span
					// (the timed one was slow, as a first run under Wine
					// is), so the next kills come sooner.
					span = max(span*4/5, boot*5/4)
				}

				if err := lifecycle.IntegrityCheck(context.Background(), r.db); err != nil && !os.IsNotExist(err) {
					t.Fatalf("kill %d after %v: %v", k, delay, err)
				}
				for _, dir := range []string{r.out, r.drop} {
					for _, name := range []string{"persons.csv", "roles.csv"} {
						if sum, ok := fileSum(filepath.Join(dir, name)); ok && !known[sum] {
							t.Fatalf("kill %d after %v: %s/%s is not a whole file of any export", k, delay, dir, name)
						}
					}
				}
				r.runToEnd()
				applied = variant
				// A kill while an ingest staged new persons leaves its
				// stage file; the next run removes it.
				if left, _ := filepath.Glob(r.db + ".stage-*"); len(left) > 0 {
					t.Fatalf("kill %d: stage files left after the next run: %v", k, left)
				}
				for _, dir := range []string{r.out, r.drop} {
					entries, _ := os.ReadDir(dir)
					for _, e := range entries {
						if strings.HasSuffix(e.Name(), ".tmp") {
							t.Fatalf("kill %d: leftover %s in %s after the next run", k, e.Name(), dir)
						}
					}
					if got := dumpOf(t, dir); got != refs[variant] {
						t.Fatalf("kill %d after %v: the dump in %s differs from an uninterrupted run's", k, delay, dir)
					}
				}
			}
			if landed < kills[target] {
				t.Fatalf("only %d of %d attempts killed a live process", landed, attempts)
			}
			t.Logf("%s: %d kills landed on a live run, %d runs finished before their kill, %d attempts (~%v a run); last stage logged before the kill: %v",
				target, landed, finished, attempts, span, stages)
		})
	}
}

// stageOf names the last stage a killed run had logged.
func stageOf(log string) string {
	switch {
	case strings.Contains(log, `"msg":"delivered"`):
		return "after push"
	case strings.Contains(log, `"msg":"export"`):
		return "push"
	case strings.Contains(log, `"msg":"ingest"`):
		return "export"
	case log == "":
		return "start or ingest"
	}
	return "ingest"
}
