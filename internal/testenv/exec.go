package testenv

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ExecResult is one real tool run.
type ExecResult struct {
	Code           int
	Stdout, Stderr []byte
	Duration       time.Duration
}

// Exec runs a tool the way a plan's step would: argv[0] (the tool's name)
// replaced by bin, in dir, with env (nil: the test's own environment). A
// tool that cannot start or overruns timeout fails the test; any exit code
// is returned for the caller to judge.
func Exec(t testing.TB, bin, dir string, argv, env []string, timeout time.Duration) ExecResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Duration: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s: %s", filepath.Base(bin), timeout, res.Stderr)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", bin, err)
	}
	return res
}
