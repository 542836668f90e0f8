package main

import "os"

// metricsModeWant is the mode metrics_mode "0640" gives the metrics file:
// none on Windows, where the file stays private.
func metricsModeWant() os.FileMode { return 0o600 }
