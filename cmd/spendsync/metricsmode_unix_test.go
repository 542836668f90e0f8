//go:build !windows

package main

import "os"

// metricsModeWant is the mode metrics_mode "0640" gives the metrics file.
func metricsModeWant() os.FileMode { return 0o640 }
