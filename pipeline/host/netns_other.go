//go:build !linux

package host

import (
	"errors"
	"os/exec"
)

func isolateNetwork(*exec.Cmd) {}

func networkIsolation() error {
	return errors.New("network namespaces exist on Linux only")
}
