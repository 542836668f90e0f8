//go:build !windows

package main

import (
	"os"
	"syscall"
)

// killHard ends p at once, as a crash or a power cut would: SIGKILL.
func killHard(p *os.Process) { p.Signal(syscall.SIGKILL) }

// killedHard reports whether killHard, not the process itself, ended it.
func killedHard(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
