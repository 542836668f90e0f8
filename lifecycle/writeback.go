package lifecycle

import (
	"os"
	"sync"
	"time"
)

// A large write transaction (a first ingest's staged joiners, an
// export's rows and events) leaves its pages in the kernel's cache until
// SQLite syncs them: the WAL at COMMIT, the database after the checkpoint
// that follows. At 100k persons that is about 110 MB each, written out
// while nothing else runs. While such a transaction runs, writeback asks
// the kernel every writebackEvery to start writing what is dirty, without
// waiting for it (sync_file_range on Linux, as RocksDB's bytes_per_sync
// does), so the syncs find most of it on disk already. Durability is
// SQLite's as before: this only starts writes early. Elsewhere it does
// nothing.
const writebackEvery = 100 * time.Millisecond

// writeback starts nudging the database's files; stop ends it, once.
func (s *Store) writeback() (stop func()) {
	if !canWriteback {
		return func() {}
	}
	var files []*os.File
	for _, p := range []string{s.path + "-wal", s.path} {
		if f, err := os.Open(p); err == nil {
			files = append(files, f)
		}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(writebackEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, f := range files {
					startWrites(f)
				}
			}
		}
	}()
	return sync.OnceFunc(func() {
		close(done)
		<-finished
		for _, f := range files {
			f.Close()
		}
	})
}
