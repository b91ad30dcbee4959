//go:build !unix

package host

import (
	"os"
	"os/exec"
)

func killGroup(*exec.Cmd) {}

func peakMemory(*os.ProcessState) int64 { return 0 }
