package lifecycle_test

import (
	"context"
	"slices"
	"testing"

	"github.com/spendsync/spendsync/lifecycle"
)

// record records an export with the given layout chunks (seq 0 last, as a
// writer hands them over) and stored persons, or rolls it back.
func record(t *testing.T, st *lifecycle.Store, id string, chunks []string, persons []string, commit bool) {
	t.Helper()
	ctx := context.Background()
	w, err := st.BeginExport(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Rollback()
	for i := 1; i < len(chunks); i++ {
		if err := w.Layout(i, []byte(chunks[i])); err != nil {
			t.Fatal(err)
		}
	}
	if len(chunks) > 0 {
		if err := w.Layout(0, []byte(chunks[0])); err != nil {
			t.Fatal(err)
		}
	}
	for _, emp := range persons {
		if err := w.Put(emp, "row "+emp, "", []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	if commit {
		if err := w.Commit(lifecycle.ExportRecord{ID: id, Date: "2025-01-01", Origin: "export", Manifest: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
}

func layout(t *testing.T, st *lifecycle.Store) []string {
	t.Helper()
	rd, err := st.ReadExport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []string
	for range 2 { // read twice: a second start reads it again from chunk 0
		out = out[:0]
		next := rd.Layout()
		for {
			b, err := next()
			if err != nil {
				t.Fatal(err)
			}
			if b == nil {
				break
			}
			out = append(out, string(b))
		}
		if b, _ := next(); b != nil {
			t.Fatal("a layout read on after its end")
		}
	}
	return out
}

// The last export's layout reads back chunk 0 first, then in order; an
// export that records one replaces it whole, one rolled back or one that
// records none (a copy of the last files) leaves it.
func TestOnlyARecordedExportReplacesTheLayout(t *testing.T) {
	st := newEnv(t).store
	record(t, st, "1", []string{"files 1", "a", "b", "c"}, nil, true)
	if got, want := layout(t, st), []string{"files 1", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("layout %q, want %q", got, want)
	}
	record(t, st, "2", []string{"files 2", "d"}, nil, false)
	if got, want := layout(t, st), []string{"files 1", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("after a rolled back export: layout %q, want %q", got, want)
	}
	record(t, st, "3", []string{"files 3", "e"}, nil, true)
	record(t, st, "4", nil, nil, true)
	if got, want := layout(t, st), []string{"files 3", "e"}; !slices.Equal(got, want) {
		t.Fatalf("layout %q, want %q", got, want)
	}
}

// Only limits the reader's walk of the last export to the persons named
// that it holds, in employee-number order.
func TestOnlyReadsTheNamedPersonsOfTheLastExport(t *testing.T) {
	st := newEnv(t).store
	record(t, st, "1", nil, []string{"001", "002", "003", "004"}, true)
	rd, err := st.ReadExport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if err := rd.Only([]string{"004", "009", "002"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		emp, _, ok, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if person, _ := rd.StoredRows(); person != "row "+emp {
			t.Errorf("%s's stored row %q", emp, person)
		}
		got = append(got, emp)
	}
	if want := []string{"002", "004"}; !slices.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
}
