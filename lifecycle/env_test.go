package lifecycle_test

import (
	"path/filepath"
	"testing"

	"github.com/spendsync/spendsync/lifecycle"
)

// env is a fresh store in a temporary folder (ingest tests have their own,
// in pipeline).
type env struct{ store *lifecycle.Store }

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := lifecycle.Open(filepath.Join(t.TempDir(), "db", "spendsync.db"), lifecycle.Create)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{store: st}
}
