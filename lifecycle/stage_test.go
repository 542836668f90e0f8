package lifecycle_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// The stage holds personal data: it is a private file beside the
// database, gone when closed, and one a killed run left is removed by the
// next run's stage.
func TestStageIsPrivateAndRemoved(t *testing.T) {
	dir := t.TempDir()
	s, err := lifecycle.Open(filepath.Join(dir, "db", "spendsync.db"), lifecycle.Create)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	left := s.Path() + ".stage-killed"
	if err := os.WriteFile(left, []byte("rows of a killed run"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("a killed run's stage is still there: %v", err)
	}
	files, _ := filepath.Glob(s.Path() + ".stage-*")
	if len(files) != 1 {
		t.Fatalf("stage files %v, want one", files)
	}
	if perm := accesstest.Perm(t, files[0]); perm != 0o600 {
		t.Errorf("stage file mode %v, want 0600", perm)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(s.Path() + ".stage-*"); len(files) != 0 {
		t.Errorf("stage files after Close: %v", files)
	}
}

// Staged rows come back grouped by employee number in order, whatever
// order they were staged in: the person, its contract rows in line order,
// and the providers' rows; contract rows without a person come alone.
func TestStageGivesRowsBackByEmployeeNumber(t *testing.T) {
	st := newStage(t)
	st.Begin(context.Background())
	st.Contract(0, &model.Contract{EmployeeNumber: "002", Key: "k2", OUCode: "HR"}, 5, lifecycle.Hash{})
	st.Person(0, &model.Person{EmployeeNumber: "002", LastName: "Jansen"}, 3, []string{"a warning"}, lifecycle.Hash{1})
	st.Contract(0, &model.Contract{EmployeeNumber: "002", Key: "k1", OUCode: "FIN"}, 4, lifecycle.Hash{})
	st.Contract(0, &model.Contract{EmployeeNumber: "001", Key: "k0"}, 2, lifecycle.Hash{})
	st.Person(1, &model.Person{EmployeeNumber: "002", LastName: "Other source"}, 2, nil, lifecycle.Hash{})
	st.Provide(2, "002", 7, []string{"jan", ""}, nil, lifecycle.Hash{2})
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	st.Begin(context.Background()) // a later source's rows
	st.Person(0, &model.Person{EmployeeNumber: "003", LastName: "Late 'quote\n"}, 9, nil, lifecycle.Hash{3})
	var got []string
	show := func(g *lifecycle.StagedGroup) error {
		line := g.Emp + ":"
		if p := g.Person; p != nil {
			line += fmt.Sprintf(" person %q line %d %q %x", p.LastName, p.Line, p.Warnings, p.Hash[:1])
		}
		for _, c := range g.Contracts {
			line += fmt.Sprintf(" contract %s %s line %d", c.Key, c.OUCode, c.Line)
		}
		for _, p := range g.Provided {
			line += fmt.Sprintf(" provided by %d %q line %d %x", p.Src, p.Values, p.Line, p.Hash[:1])
		}
		got = append(got, line)
		return nil
	}
	if err := st.Each(context.Background(), 0, true, show); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"001: contract k0  line 2",
		`002: person "Jansen" line 3 ["a warning"] 01 contract k1 FIN line 4 contract k2 HR line 5 provided by 2 ["jan" ""] line 7 02`,
		`003: person "Late 'quote\n" line 9 [] 03`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("groups:\n got %q\nwant %q", got, want)
	}
	// EachLine: the same groups, with lines and keys only.
	got = nil
	if err := st.EachLine(context.Background(), 0, show); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"001: contract k0  line 2",
		`002: person "" line 3 [] 00 contract k1  line 4 contract k2  line 5`,
		`003: person "" line 9 [] 00`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EachLine groups:\n got %q\nwant %q", got, want)
	}
	p, cs, err := st.Load(context.Background(), 1, "002")
	if err != nil || p == nil || p.LastName != "Other source" || len(cs) != 0 {
		t.Fatalf("Load: %+v %v %v", p, cs, err)
	}
}

// Rows wait in chunks sorted before they are written (sortedruns.go):
// rows staged in random order from two goroutines all come back once, in
// employee order, with their own lines.
func TestStageGivesBackEveryRowOfShuffledFilesInOrder(t *testing.T) {
	st := newStage(t)
	const n = 40_000
	order := rand.New(rand.NewPCG(1, 2)).Perm(n)
	lineOf := make([]int, n)
	for line, i := range order {
		lineOf[i] = line + 2
	}
	st.Begin(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for line, i := range order {
			st.Person(0, &model.Person{EmployeeNumber: fmt.Sprintf("%06d", i), LastName: fmt.Sprint(i)}, line+2, nil, lifecycle.Hash{1})
		}
	})
	wg.Go(func() {
		for line, i := range slices.Backward(order) {
			st.Contract(0, &model.Contract{EmployeeNumber: fmt.Sprintf("%06d", i), Key: "k", OUCode: fmt.Sprint(i)}, line+2, lifecycle.Hash{})
		}
	})
	wg.Wait()
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	next := 0
	err := st.Each(context.Background(), 0, false, func(g *lifecycle.StagedGroup) error {
		want := fmt.Sprintf("%06d", next)
		if g.Emp != want || g.Person == nil || g.Person.LastName != fmt.Sprint(next) || len(g.Contracts) != 1 ||
			g.Contracts[0].OUCode != fmt.Sprint(next) || g.Person.Line != lineOf[next] || g.Contracts[0].Line != lineOf[next] {
			return fmt.Errorf("group %d: %+v, want employee %s", next, g, want)
		}
		next++
		return nil
	})
	if err != nil || next != n {
		t.Fatalf("%d groups of %d: %v", next, n, err)
	}
}

// newStage is a stage of a fresh store, closed with the test.
func newStage(t *testing.T) *lifecycle.Stage {
	t.Helper()
	st, err := newEnv(t).store.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
