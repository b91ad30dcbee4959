package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// fiveModules is a source of five Go modules, each with a gosec finding.
func fiveModules(t *testing.T) string {
	files := map[string]string{}
	for i := 1; i <= 5; i++ {
		m := fmt.Sprintf("mod%d", i)
		files[m+"/go.mod"] = "module example.com/" + m + "\n\ngo 1.22\n"
		files[m+"/main.go"] = "package main\n\nimport (\n\t\"crypto/md5\"\n\t\"fmt\"\n)\n\nfunc main() { fmt.Println(md5.Sum([]byte(\"" + m + "\"))) }\n"
	}
	return testenv.Dir(t, files)
}

// runCached runs sast and sca over dir, offline, keeping results in
// results ("" runs every tool).
func runCached(t *testing.T, dir, results string) *pipeline.Report {
	t.Helper()
	return runOffline(t, dir, preset(t, "default"), []string{stages.SAST, stages.SCA}, func(r *host.Runner) { r.ResultsDir = results })
}

// After one file of one module changed, a second run runs that module's
// tools again and takes the others' results from the cache (report.json
// says which), and its findings and fingerprints are a fresh run's.
func TestIncrementalRunRerunsOnlyWhatChanged(t *testing.T) {
	dir, cache := fiveModules(t), t.TempDir()
	first := runCached(t, dir, cache)
	for _, s := range first.Stages {
		for _, tr := range s.Tools {
			if tr.Cached {
				t.Errorf("first run: %s/%s (%s) cached", s.Name, tr.Name, tr.Target)
			}
		}
	}
	p := filepath.Join(dir, "mod3", "main.go")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(data, []byte("\n// changed\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	second := runCached(t, dir, cache)
	for _, s := range second.Stages {
		for _, tr := range s.Tools {
			if tr.Skipped != "" || (tr.Name != "gosec" && tr.Name != "govulncheck") {
				continue
			}
			if want := tr.Target != "mod3"; tr.Cached != want {
				t.Errorf("second run: %s/%s (%s) cached %v, want %v", s.Name, tr.Name, tr.Target, tr.Cached, want)
			}
		}
	}
	fresh := runCached(t, dir, "")
	key := func(rep *pipeline.Report) []string {
		var out []string
		for _, f := range rep.Findings {
			out = append(out, fmt.Sprintf("%s %s %s %s:%d %s", f.Stage, f.Tool, f.RuleID, f.Location.Path, f.Location.Line, f.Fingerprint))
		}
		slices.Sort(out)
		return out
	}
	if got, want := key(second), key(fresh); !slices.Equal(got, want) {
		t.Errorf("the incremental run's findings differ from a fresh run's:\n%q\nwant\n%q", got, want)
	}
	if len(key(fresh)) < 5 {
		t.Errorf("only %d findings: the planted G401s are missing", len(key(fresh)))
	}
}
