package examples_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"
)

// The engine loads only what dagger.json's include lists from the root
// module; a root package the module imports but include leaves out builds
// here and fails on a real engine. Every root package the module depends
// on, directly or not, must be included.
func TestDaggerIncludeCoversTheModulesImports(t *testing.T) {
	data, err := os.ReadFile("../dagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var mod struct {
		Include []string `json:"include"`
	}
	if err := json.Unmarshal(data, &mod); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".")
	cmd.Dir = "../.dagger"
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in .dagger: %v", err)
	}
	const root = "github.com/dagsec/dagsec/"
	n := 0
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, root)
		if !ok {
			continue
		}
		n++
		covered := false
		for _, inc := range mod.Include {
			dir, recursive := strings.CutSuffix(inc, "/**")
			if rel == dir || (recursive && strings.HasPrefix(rel, dir+"/")) {
				covered = true
			}
			if m, _ := path.Match(inc, rel); m {
				covered = true
			}
		}
		if !covered {
			t.Errorf("the module imports %s, which dagger.json's include leaves out", pkg)
		}
	}
	if n == 0 {
		t.Fatalf("the module imports no root package: go list found none under %s", root)
	}
}
