package pipeline_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/sarifio"
	"github.com/dagsec/dagsec/stages"
)

func preset(t *testing.T, name string) *policies.Policy {
	t.Helper()
	p, err := policies.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runOn(t *testing.T, dir string, inst *host.Installer, pol *policies.Policy) *pipeline.Report {
	t.Helper()
	r, err := host.NewRunner(dir, inst)
	if err != nil {
		t.Fatal(err)
	}
	r.AllowPATH = false
	// The faults are injected into gitleaks; trufflehog stays out.
	if sp := pol.Stages[stages.Secrets]; len(sp.Tools) == 0 {
		sp.Tools = []string{"gitleaks"}
		pol.Stages[stages.Secrets] = sp
	}
	rep, err := pipeline.Run(context.Background(), pipeline.Config{Runner: r, Policy: pol, Source: dir, Stages: []string{stages.Secrets}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

type outputs struct{ json, sarif, md string }

func render(t *testing.T, rep *pipeline.Report) outputs {
	t.Helper()
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	sf, err := rep.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	if err := sarifio.Validate(sf); err != nil {
		t.Fatalf("merged SARIF is not valid SARIF 2.1.0: %v", err)
	}
	return outputs{string(js), string(sf), rep.Markdown()}
}

func stage(t *testing.T, rep *pipeline.Report, name string) pipeline.StageReport {
	t.Helper()
	for _, s := range rep.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %s in report", name)
	return pipeline.StageReport{}
}

func TestLeakyRepositoryBlocksWithoutPrintingSecrets(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	files := testenv.LeakyFiles(t)
	dir := testenv.Dir(t, files)
	rep := runOn(t, dir, testenv.Installer(t), preset(t, "default"))

	if rep.Status != policies.StatusBlocked || rep.ExitCode != 1 {
		t.Fatalf("status %s exit %d, want blocked 1; errors %v", rep.Status, rep.ExitCode, rep.Errors)
	}
	s := stage(t, rep, stages.Secrets)
	if s.Status != policies.StatusBlocked || s.Blocking < 3 {
		t.Fatalf("secrets stage %s with %d blocking findings", s.Status, s.Blocking)
	}
	out := render(t, rep)
	keyBody := strings.Split(files["deploy/id_ec.pem"], "\n")[1]
	for name, text := range map[string]string{"report.json": out.json, "results.sarif": out.sarif, "summary.md": out.md} {
		for _, secret := range []string{testenv.AWSKeyID, testenv.DBPassword, keyBody} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains a secret value", name)
			}
		}
	}
	for _, rule := range []string{"aws-access-token", "private-key", "dagsec-database-url-credentials"} {
		if !strings.Contains(out.json, rule) || !strings.Contains(out.sarif, rule) || !strings.Contains(out.md, rule) {
			t.Errorf("rule %s missing from an output", rule)
		}
	}

	// A saved report.json gives back the same SARIF.
	var saved pipeline.Report
	if err := json.Unmarshal([]byte(out.json), &saved); err != nil {
		t.Fatal(err)
	}
	if again, err := saved.SARIF(); err != nil || string(again) != out.sarif {
		t.Errorf("SARIF from the saved report differs (err %v)", err)
	}

	var back map[string]any
	if err := json.Unmarshal([]byte(out.json), &back); err != nil {
		t.Fatal(err)
	}
	if back["schema_version"] != pipeline.SchemaVersion || back["status"] != "blocked" {
		t.Errorf("report header: %v %v", back["schema_version"], back["status"])
	}
	if tools := s.Tools; len(tools) != 1 || tools[0].Version != "v8.30.1" || tools[0].Runner != "host" {
		t.Errorf("tool versions not recorded: %+v", tools)
	}
}

func TestCleanRepositoryPasses(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	rep := runOn(t, testenv.Dir(t, testenv.CleanFiles()), testenv.Installer(t), preset(t, "default"))
	if rep.Status != policies.StatusPassed || rep.ExitCode != 0 || len(rep.Findings) != 0 {
		t.Fatalf("clean repository: %s exit %d, %d findings, errors %v", rep.Status, rep.ExitCode, len(rep.Findings), rep.Errors)
	}
	out := render(t, rep)
	if !strings.Contains(out.sarif, `"results": []`) {
		t.Errorf("a clean tool run must still be in SARIF with empty results, so old alerts close")
	}
}

// Fault injection: the pinned gitleaks replaced by scripts that misbehave.
// The runner, the exit-code check and the parser are the real ones.
const reportPathArg = `out=""; while [ $# -gt 0 ]; do [ "$1" = "--report-path" ] && out="$2"; shift; done`

func TestBrokenToolsFailClosed(t *testing.T) {
	cases := []struct {
		name, script, want string
	}{
		{"crash", `echo "panic: runtime error: index out of range" >&2; exit 2`, "exited with code 2"},
		{"killed", `kill -9 $$`, "killed"},
		{"garbage report", reportPathArg + `; printf '{{{not json' > "$out"; exit 0`, "unreadable report"},
		{"truncated report", reportPathArg + `; printf '[{"RuleID":"aws-access-token","File":"a"' > "$out"; exit 3`, "unreadable report"},
		{"no report", `exit 0`, "wrote no report"},
		{"findings code, empty report", reportPathArg + `; printf '[]' > "$out"; exit 3`, "report lists none"},
		{"hangs", `sleep 30`, "timed out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pol := preset(t, "default")
			sp := pol.Stages[stages.Secrets]
			sp.Timeout = 500 * time.Millisecond
			pol.Stages[stages.Secrets] = sp
			rep := runOn(t, testenv.Dir(t, testenv.CleanFiles()), testenv.FakeTools(t, "gitleaks", tc.script), pol)
			s := stage(t, rep, stages.Secrets)
			if s.Status != policies.StatusError || rep.Status != policies.StatusError || rep.ExitCode != 2 {
				t.Fatalf("stage %s, run %s exit %d; want error, error, 2", s.Status, rep.Status, rep.ExitCode)
			}
			if err := rep.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not say %q", err, tc.want)
			}
			out := render(t, rep)
			if strings.Contains(out.sarif, `"gitleaks"`) {
				t.Errorf("a failed tool must not appear in SARIF as a clean run")
			}
			if !strings.Contains(out.md, "What blocked") {
				t.Errorf("summary does not explain the error")
			}
		})
	}
}

func TestToolErrorCanOnlyWarnWhenPolicySaysSo(t *testing.T) {
	pol := preset(t, "default")
	sp := pol.Stages[stages.Secrets]
	sp.PerTool = map[string]policies.ToolPolicy{"gitleaks": {OnError: policies.ErrorWarn}}
	pol.Stages[stages.Secrets] = sp
	rep := runOn(t, testenv.Dir(t, testenv.CleanFiles()), testenv.FakeTools(t, "gitleaks", "exit 2"), pol)
	s := stage(t, rep, stages.Secrets)
	if s.Status != policies.StatusWarned || rep.ExitCode != 0 {
		t.Fatalf("per_tool on_error warn: stage %s exit %d", s.Status, rep.ExitCode)
	}
	if !strings.Contains(s.Reason, "gitleaks") || !strings.Contains(s.Reason, "per_tool.gitleaks.on_error: warn") {
		t.Errorf("warning reason %q does not name the failed tool and the setting that allowed it", s.Reason)
	}
	if len(s.Tools) != 1 || s.Tools[0].Error == "" || s.Tools[0].ErrorAllowed != "per_tool.gitleaks.on_error: warn" {
		t.Errorf("the tool's report does not say its error was allowed: %+v", s.Tools)
	}
}

func TestDisabledStageIsSkippedWithReason(t *testing.T) {
	pol := preset(t, "default")
	sp := pol.Stages[stages.Secrets]
	sp.Enabled = false
	pol.Stages[stages.Secrets] = sp
	rep := runOn(t, testenv.Dir(t, testenv.CleanFiles()), testenv.FakeTools(t, "gitleaks", "exit 2"), pol)
	s := stage(t, rep, stages.Secrets)
	// The only stage asked for scanned nothing: the run is not a pass.
	if s.Status != policies.StatusSkipped || !strings.Contains(s.Reason, "disabled") || rep.ExitCode != 3 {
		t.Fatalf("disabled stage: %s %q exit %d", s.Status, s.Reason, rep.ExitCode)
	}
}

// The report lists stages in pipeline order however they were asked for,
// and a tool run on the host names no image: none ran.
func TestReportRecordsWhatRan(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	dir := testenv.Dir(t, testenv.CleanFiles())
	r, err := host.NewRunner(dir, testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	r.AllowPATH = false
	rep, err := pipeline.Run(context.Background(), pipeline.Config{Runner: r, Policy: preset(t, "default"), Source: dir,
		Stages: []string{stages.Dockerfile, stages.Secrets}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range rep.Stages {
		names = append(names, s.Name)
		for _, tr := range s.Tools {
			if tr.Image != "" {
				t.Errorf("%s/%s on the host records image %q", s.Name, tr.Name, tr.Image)
			}
		}
	}
	if strings.Join(names, ",") != "secrets,dockerfile" {
		t.Errorf("stages listed as %v, want pipeline order secrets,dockerfile", names)
	}
	gl := stage(t, rep, stages.Secrets)
	if len(gl.Tools) != 2 {
		t.Fatalf("secrets tools: %+v", gl.Tools)
	}
	for _, tr := range gl.Tools {
		if tr.Runner != "host" || tr.Version == "" || tr.Error != "" {
			t.Errorf("secrets tool: %+v", tr)
		}
	}
	if th := gl.Tools[1]; th.Name != "trufflehog" || th.Note != "" {
		t.Errorf("trufflehog, verifying (the run is not offline): %+v", th)
	}
}
