package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// monorepo is a go.work over a root module, a library module the root
// calls, a module of tests only and a module of a tools-tagged file only.
// With vulnerable, the library calls golang.org/x/text/language.Parse
// (GO-2021-0113) and the root calls the library.
func monorepo(t *testing.T, vulnerable bool) string {
	t.Helper()
	lib := "package lib\n\n// Hello greets.\nfunc Hello() string { return \"hello\" }\n"
	libMod := "module example.com/mono/lib\n\ngo 1.22\n"
	if vulnerable {
		lib = "package lib\n\nimport \"golang.org/x/text/language\"\n\n// Hello greets.\nfunc Hello() string {\n" +
			"\ttag, _ := language.Parse(\"en-US\")\n\treturn tag.String()\n}\n"
		libMod += "\nrequire golang.org/x/text v0.3.0\n"
	}
	dir := testenv.Dir(t, map[string]string{
		"go.work":                "go 1.22\n\nuse (\n\t.\n\t./lib\n\t./compliance\n\t./tools\n)\n",
		"go.mod":                 "module example.com/mono\n\ngo 1.22\n",
		"main.go":                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/mono/lib\"\n)\n\nfunc main() { fmt.Println(lib.Hello()) }\n",
		"lib/go.mod":             libMod,
		"lib/lib.go":             lib,
		"compliance/go.mod":      "module example.com/mono/compliance\n\ngo 1.22\n",
		"compliance/api_test.go": "package compliance\n\nimport \"testing\"\n\nfunc TestAPI(t *testing.T) {}\n",
		"tools/go.mod":           "module example.com/mono/tools\n\ngo 1.22\n",
		"tools/tools.go":         "//go:build tools\n\npackage tools\n\nimport _ \"golang.org/x/text/language\"\n",
	})
	if vulnerable {
		// The library's go.sum, in module mode (the workspace reads it).
		cmd := exec.Command("go", "mod", "tidy")
		cmd.Dir = filepath.Join(dir, "lib")
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go mod tidy: %v\n%s", err, out)
		}
	}
	return dir
}

// toolRow finds the report row of a tool run on one target.
func toolRow(t *testing.T, s pipeline.StageReport, tool, target string) pipeline.ToolReport {
	t.Helper()
	for _, tr := range s.Tools {
		if tr.Name == tool && tr.Target == target {
			return tr
		}
	}
	t.Fatalf("%s has no %s row for %s: %+v", s.Name, tool, target, s.Tools)
	return pipeline.ToolReport{}
}

// sarifCategories lists the automation ids of the report's SARIF runs.
func sarifCategories(t *testing.T, rep *pipeline.Report) []string {
	t.Helper()
	data, err := rep.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			AutomationDetails struct{ ID string } `json:"automationDetails"`
			Results           []json.RawMessage   `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range log.Runs {
		out = append(out, r.AutomationDetails.ID)
	}
	return out
}

// A clean workspace passes: the modules with Go packages are analysed, the
// test-only and tools-only ones are listed as not scanned with why, and
// every row and SARIF run names its module.
func TestWorkspaceModulesScannedOrExplained(t *testing.T) {
	dir := monorepo(t, false)
	rep := runCode(t, dir, preset(t, "default"), stages.SAST, stages.SCA)
	if rep.ExitCode != 0 {
		t.Fatalf("exit %d (%s): %v", rep.ExitCode, rep.Status, rep.Errors)
	}
	for _, name := range []string{stages.SAST, stages.SCA} {
		s := stage(t, rep, name)
		tool := map[string]string{stages.SAST: "gosec", stages.SCA: "govulncheck"}[name]
		for _, target := range []string{".", "lib"} {
			if tr := toolRow(t, s, tool, target); tr.Skipped != "" || tr.Error != "" {
				t.Errorf("%s/%s (%s) did not run: %+v", name, tool, target, tr)
			}
		}
		if tr := toolRow(t, s, tool, "compliance"); !strings.Contains(tr.Skipped, "only 1 test file") {
			t.Errorf("%s/%s (compliance): skipped %q, want the test-only reason", name, tool, tr.Skipped)
		}
		if tr := toolRow(t, s, tool, "tools"); !strings.Contains(tr.Skipped, "build tags of their own") {
			t.Errorf("%s/%s (tools): skipped %q, want the build-tag reason", name, tool, tr.Skipped)
		}
	}
	cats := sarifCategories(t, rep)
	for _, want := range []string{"dagsec/sast/gosec/", "dagsec/sast/gosec/lib/", "dagsec/sca/govulncheck/", "dagsec/sca/govulncheck/lib/"} {
		if !slices.Contains(cats, want) {
			t.Errorf("no SARIF run %s: %q", want, cats)
		}
	}
	md := rep.Markdown()
	for _, want := range []string{"**sast/gosec** (`compliance`) not run: no Go package to analyse", "| sast | gosec | `lib` |"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
}

// A vulnerable call in the library, reached from the root: govulncheck
// places it in the library's own file (its positions are relative to the
// module that owns them), once, however many modules' runs reach it.
func TestWorkspacePositionsUnderTheOwningModule(t *testing.T) {
	rep := runCode(t, monorepo(t, true), preset(t, "default"), stages.SCA)
	fs := find(rep, stages.SCA, "govulncheck", "GO-2021-0113")
	var called []string
	for _, f := range fs {
		if slices.Contains(f.Tags, "called") {
			called = append(called, f.Location.Path+":"+f.Target)
			if f.Location.Path != "lib/lib.go" || f.Location.Line != 7 || f.Target != "lib" {
				t.Errorf("call site %+v of target %q, want lib/lib.go:7, the library's own run", f.Location, f.Target)
			}
		}
	}
	if len(called) != 1 {
		t.Errorf("reachable GO-2021-0113 reported %d times: %q", len(called), called)
	}
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		if seen[f.Fingerprint] {
			t.Errorf("fingerprint %s twice (%s %s)", f.Fingerprint, f.RuleID, f.Location.Path)
		}
		seen[f.Fingerprint] = true
	}
}

// One module's gosec crashes: the stage fails closed, and the SARIF log
// still holds the other module's gosec run under its own category (the
// crashed module's category is left out, so its alerts stay open).
func TestWorkspaceOneModuleFailsTheOthersStay(t *testing.T) {
	real := testenv.Tool(t, "gosec")
	inst := testenv.FakeTools(t, "gosec", `case "$PWD" in */lib) echo "panic: boom" >&2; exit 2;; esac; exec `+real+` "$@"`)
	dir := monorepo(t, false)
	r, err := host.NewRunner(dir, inst)
	if err != nil {
		t.Fatal(err)
	}
	r.AutoInstall, r.AllowPATH = false, false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := pipeline.Run(ctx, pipeline.Config{Runner: r, Policy: preset(t, "default"), Stages: []string{stages.SAST}, Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := stage(t, rep, stages.SAST)
	if s.Status != policies.StatusError || rep.ExitCode != 2 {
		t.Fatalf("sast %s, exit %d; want error, 2", s.Status, rep.ExitCode)
	}
	if !strings.Contains(s.Reason, "gosec (lib): exited with code 2") {
		t.Errorf("reason %q does not name the module", s.Reason)
	}
	if tr := toolRow(t, s, "gosec", "."); tr.Error != "" {
		t.Errorf("root gosec: %s", tr.Error)
	}
	cats := sarifCategories(t, rep)
	if !slices.Contains(cats, "dagsec/sast/gosec/") || slices.Contains(cats, "dagsec/sast/gosec/lib/") {
		t.Errorf("SARIF runs %q: want the root's gosec run and none for lib", cats)
	}
}
