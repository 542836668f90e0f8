package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// killedExit is the exit code killHard gives: Windows has no signals, and
// os.Process.Kill's code 1 would look like spendsync's own exit 1.
const killedExit = 137

// killHard ends p at once, as a crash, Task Scheduler's "End" or a power
// cut would: TerminateProcess, which leaves the process no moment to
// clean up, like SIGKILL.
func killHard(p *os.Process) {
	h, err := windows.OpenProcess(windows.PROCESS_TERMINATE, false, uint32(p.Pid))
	if err != nil {
		return // already gone
	}
	defer windows.CloseHandle(h)
	windows.TerminateProcess(h, killedExit)
}

// killedHard reports whether killHard, not the process itself, ended it.
func killedHard(ps *os.ProcessState) bool { return ps.ExitCode() == killedExit }
