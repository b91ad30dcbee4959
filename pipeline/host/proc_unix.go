//go:build unix

package host

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// killGroup makes a cancelled or timed-out tool take its children with it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// peakMemory is the most memory, in bytes, the tool or any process it
// waited for held at once (wait4's maximum resident set size); 0 unknown.
func peakMemory(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss // bytes there, kilobytes elsewhere
	}
	return ru.Maxrss * 1024
}
