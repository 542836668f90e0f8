package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles writes a CPU profile to $SPENDSYNC_CPUPROFILE and a heap
// profile (taken at exit, after a GC, with in-use and allocated totals) to
// $SPENDSYNC_MEMPROFILE, for measuring the stages on real-sized data
// (docs/development.md). Unset, it does nothing.
func startProfiles() (stop func()) {
	var stops []func()
	if path := os.Getenv("SPENDSYNC_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("SPENDSYNC_MEMPROFILE"); path != "" {
		runtime.MemProfileRate = 64 << 10
		stops = append(stops, func() {
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
