package pipeline_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// A Python application scanned offline: no tool here can check its
// requirements.txt (the local database holds Go only, trivy's cannot be
// downloaded), so sca scanned nothing and says which manifest, not "passed".
// With a Go module beside it, sca covers one of the two: partial coverage,
// warned, never passed; the coverage is in report.json, summary.md, the
// SARIF runs' properties and the metrics.
func TestSCACoverage(t *testing.T) {
	python := map[string]string{"requirements.txt": "flask==2.0.0\n", "app.py": "print('hi')\n"}
	rep := runCode(t, testenv.Dir(t, python), preset(t, "default"), stages.SCA)
	s := stage(t, rep, stages.SCA)
	if s.Status != policies.StatusSkipped || !strings.Contains(s.Reason, "scanned nothing: requirements.txt") {
		t.Errorf("python: sca %s %q, want skipped naming requirements.txt", s.Status, s.Reason)
	}
	if c := s.Coverage; c == nil || c.Targets != 1 || c.Covered != 0 || c.NotCovered[0].Path != "requirements.txt" ||
		!strings.Contains(c.NotCovered[0].Reason, "osv-scanner: the offline database holds Go only") {
		t.Errorf("python: coverage %+v", s.Coverage)
	}
	if rep.Status != policies.StatusSkipped || rep.ExitCode != 3 {
		t.Errorf("python: run %s exit %d, want skipped, 3 (nothing scanned)", rep.Status, rep.ExitCode)
	}

	mixed := map[string]string{"go.mod": "module example.com/m\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() {}\n"}
	for k, v := range python {
		mixed[k] = v
	}
	rep = runCode(t, testenv.Dir(t, mixed), preset(t, "default"), stages.SCA)
	s = stage(t, rep, stages.SCA)
	if s.Status != policies.StatusWarned || !strings.Contains(s.Reason, "partial coverage: 1 of 2 manifests scanned (not covered: requirements.txt") {
		t.Errorf("mixed: sca %s %q, want warned with partial coverage", s.Status, s.Reason)
	}
	if !strings.Contains(rep.Markdown(), "**sca** scanned 1 of 2: manifest `requirements.txt`") {
		t.Errorf("summary.md does not say what was not scanned:\n%s", rep.Markdown())
	}
	sarif, err := rep.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Properties map[string]any `json:"properties"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(sarif, &log); err != nil {
		t.Fatal(err)
	}
	covers := ""
	for _, r := range log.Runs {
		if c, ok := r.Properties["covers"]; ok {
			js, _ := json.Marshal(c)
			covers += string(js)
		}
	}
	if !strings.Contains(covers, "manifest go.mod") {
		t.Errorf("no SARIF run says it covered go.mod: %s", covers)
	}
	if m := metrics.Run(rep); len(m.Stages.Partial) != 1 || m.Stages.Partial[0] != stages.SCA || m.Stages.Complete() {
		t.Errorf("metrics: %+v, want sca partial and the run not complete", m.Stages)
	}
}

// An empty folder has nothing for any stage to scan: each says so, none
// passes, and the run is not a pass either (exit 3).
func TestEmptySourceIsNotAPass(t *testing.T) {
	rep := runCode(t, t.TempDir(), preset(t, "default"))
	for _, s := range rep.Stages {
		if s.Status != policies.StatusSkipped || !strings.HasPrefix(s.Reason, "nothing to scan") {
			t.Errorf("%s: %s %q, want skipped: nothing to scan", s.Name, s.Status, s.Reason)
		}
	}
	if rep.Status != policies.StatusSkipped || rep.ExitCode != 3 {
		t.Errorf("run %s exit %d, want skipped, 3", rep.Status, rep.ExitCode)
	}
	if md := rep.Markdown(); !strings.Contains(md, "NOTHING SCANNED") {
		t.Errorf("summary.md heading: %s", strings.SplitN(md, "\n", 2)[0])
	}
}

// Any code stage run alone on an empty folder scanned nothing: the run is
// skipped with exit code 3, never passed (api included).
func TestEveryCodeStageAloneOnNothingExitsThree(t *testing.T) {
	dir := t.TempDir()
	for _, name := range stages.CodeStages {
		t.Run(name, func(t *testing.T) {
			rep := runCode(t, dir, preset(t, "default"), name)
			if s := stage(t, rep, name); s.Status != policies.StatusSkipped || !strings.HasPrefix(s.Reason, "nothing to scan: ") {
				t.Errorf("stage %s %q, want skipped, nothing to scan", s.Status, s.Reason)
			}
			if rep.Status != policies.StatusSkipped || rep.ExitCode != pipeline.ExitNothingScanned {
				t.Errorf("run %s exit %d, want skipped, 3", rep.Status, rep.ExitCode)
			}
		})
	}
}
