package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/dagsec/dagsec/pipeline/host"
)

// TestMain gives the scans of this test binary a result cache of their own,
// so every test runs the real tools at least once per run rather than
// taking a result an earlier `go test` left in the user's cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dagsec-results-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv(host.ResultsDirEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
