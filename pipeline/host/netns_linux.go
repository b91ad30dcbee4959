//go:build linux

package host

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// isolateNetwork starts cmd in a network namespace of its own, which has
// only a loopback interface that is down: the tool can reach nothing. An
// unprivileged user gets the namespace inside a user namespace that maps
// only itself, so files the tool writes stay the user's.
func isolateNetwork(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	a := cmd.SysProcAttr
	a.Cloneflags |= syscall.CLONE_NEWNET
	if uid, gid := os.Getuid(), os.Getgid(); uid != 0 {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
}

// networkIsolation reports once per process whether isolateNetwork works
// here: containers and hardened kernels often refuse new namespaces.
var networkIsolation = sync.OnceValue(func() error {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return fmt.Errorf("no sh to test namespaces with: %w", err)
	}
	cmd := exec.Command(sh, "-c", "exit 0")
	isolateNetwork(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("the kernel refused a network namespace: %v %s", err, strings.TrimSpace(string(out)))
	}
	return nil
})
