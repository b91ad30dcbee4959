package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Golden compares got with the golden file path or, when update is set
// (a test package's -update flag), rewrites the file with it.
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what the test got (-update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}
