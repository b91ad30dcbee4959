// Command dagsec runs the dagsec pipeline's steps on this machine (the host
// runner) and manages policies and pinned tools.
//
// Exit codes: 0 passed, 1 a gate blocked, 2 a tool or input error, 3
// nothing scanned.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

const (
	exitPassed  = 0
	exitBlocked = 1
	exitError   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := commands()
	if len(args) == 0 {
		fmt.Fprint(stderr, helpPage(root))
		return exitError
	}
	switch args[0] {
	case "-v", "-version", "--version":
		return printVersion(stdout)
	}
	code, err := dispatch(ctx, root, args, stdout, stderr)
	if err != nil {
		printError(stderr, err)
		return exitError
	}
	return code
}

func printVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "dagsec %s\n", pipeline.Version)
	return exitPassed
}

func loadPolicy(file, preset string) (*policies.Policy, error) {
	if file != "" {
		return policies.Load(file, preset)
	}
	if preset == "" {
		preset = "default"
	}
	return policies.Preset(preset)
}

// repoPolicy returns the source's own policy file (policies.RepoFile at its
// root), or "" when it has none. Only a regular file counts: a link could
// point out of the source, and a folder or device is a mistake to report.
func repoPolicy(source string) (string, error) {
	if fi, err := os.Stat(source); err != nil || !fi.IsDir() {
		return "", nil // not a folder: the runner reports that
	}
	p := filepath.Join(source, policies.RepoFile)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read policy: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", fmt.Errorf("policy %s is a symlink; it must be a regular file (or pass --policy FILE)", p)
	case fi.IsDir():
		return "", fmt.Errorf("policy %s is a folder, not a file (or pass --policy FILE)", p)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("policy %s is not a regular file (or pass --policy FILE)", p)
	}
	return p, nil
}
