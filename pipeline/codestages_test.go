package pipeline_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// runCode runs the code stages (all of them when none are named) with the
// real tools over dir, offline, with the pinned Go vulnerability database.
func runCode(t *testing.T, dir string, pol *policies.Policy, only ...string) *pipeline.Report {
	t.Helper()
	if len(only) == 0 {
		only = stages.CodeStages
	}
	return runOffline(t, dir, pol, only, nil)
}

// runOffline runs the stages with the real tools over dir, offline, with
// the pinned Go vulnerability database; setup adjusts the host runner.
func runOffline(t *testing.T, dir string, pol *policies.Policy, only []string, setup func(*host.Runner)) *pipeline.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	inst := testenv.Installer(t)
	db, err := inst.EnsureVulnDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := host.NewRunner(dir, inst)
	if err != nil {
		t.Fatal(err)
	}
	r.DBDir = db
	if setup != nil {
		setup(r)
	}
	rep, err := pipeline.Run(ctx, pipeline.Config{
		Runner: r, Policy: pol, Stages: only, Source: dir, VulnDB: db, Offline: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func stageStatus(rep *pipeline.Report) map[string]policies.Status {
	out := map[string]policies.Status{}
	for _, s := range rep.Stages {
		out[s.Name] = s.Status
	}
	return out
}

// find returns the findings of one tool and rule.
func find(rep *pipeline.Report, stage, tool, rule string) []findings.Finding {
	var out []findings.Finding
	for _, f := range rep.Findings {
		if f.Stage == stage && f.Tool == tool && f.RuleID == rule {
			out = append(out, f)
		}
	}
	return out
}

func TestPlantedRepositoryEveryCodeStageFindsItsIssue(t *testing.T) {
	dir := testenv.Dir(t, testenv.PlantedFiles())
	testenv.GoModTidy(t, dir)

	rep := runCode(t, dir, preset(t, "default"))
	for _, s := range rep.Stages {
		t.Logf("%-10s %-8s %s", s.Name, s.Status, s.Reason)
		for _, tr := range s.Tools {
			t.Logf("    %-12s findings=%d skipped=%q error=%q db=%q", tr.Name, tr.Findings, tr.Skipped, tr.Error, tr.Database)
		}
	}
	for _, f := range rep.Findings {
		t.Logf("%s/%s %s %s %s:%d", f.Stage, f.Tool, f.RuleID, f.Severity, f.Location.Path, f.Location.Line)
	}

	want := []struct {
		stage, tool, rule string
		severity          findings.Severity
		path              string
	}{
		{stages.SAST, "gosec", "G204", findings.SeverityMedium, "main.go"},
		{stages.SAST, "gosec", "G401", findings.SeverityMedium, "main.go"},
		{stages.SAST, "bandit", "B307", findings.SeverityMedium, "app/app.py"},
		{stages.SAST, "bandit", "B301", findings.SeverityMedium, "app/app.py"},
		{stages.SAST, "bandit", "B506", findings.SeverityMedium, "app/app.py"},
		{stages.SAST, "bandit", "B602", findings.SeverityHigh, "app/app.py"},
		{stages.SCA, "govulncheck", "GO-2021-0113", findings.SeverityHigh, "main.go"},
		{stages.Dockerfile, stages.HardeningTool, "DAGSEC-DF001", findings.SeverityHigh, "Dockerfile"},
		{stages.Dockerfile, stages.HardeningTool, "DAGSEC-DF002", findings.SeverityMedium, "Dockerfile"},
		{stages.Licenses, "syft", "license-denied", findings.SeverityHigh, "web/package-lock.json"},
	}
	for _, w := range want {
		fs := find(rep, w.stage, w.tool, w.rule)
		if len(fs) == 0 {
			t.Errorf("%s/%s did not report %s", w.stage, w.tool, w.rule)
			continue
		}
		if fs[0].Severity != w.severity || fs[0].Location.Path != w.path {
			t.Errorf("%s/%s %s: got %s at %s, want %s at %s", w.stage, w.tool, w.rule, fs[0].Severity, fs[0].Location.Path, w.severity, w.path)
		}
	}
	// trivy's Dockerfile checks are the same issues as dagsec's: merged.
	for _, rule := range []string{"DAGSEC-DF001", "DAGSEC-DF002"} {
		if fs := find(rep, stages.Dockerfile, stages.HardeningTool, rule); len(fs) != 1 || !slices.Contains(fs[0].AlsoFoundBy, "trivy") {
			t.Errorf("dockerfile %s: %+v, want one finding also found by trivy", rule, fs)
		}
	}
	// The IaC findings: the public bucket and the open SSH port, high or worse.
	var iacHigh []string
	for _, f := range rep.Findings {
		if f.Stage == stages.IaC && f.Tool == "trivy" && f.Severity >= findings.SeverityHigh && f.Location.Path == "infra/main.tf" {
			iacHigh = append(iacHigh, f.RuleID)
		}
	}
	for _, id := range []string{"AWS-0086", "AWS-0107"} {
		if !slices.ContainsFunc(iacHigh, func(s string) bool { return strings.Contains(s, id) }) {
			t.Errorf("iac/trivy: no high finding %s in infra/main.tf (got %v)", id, iacHigh)
		}
	}

	got := stageStatus(rep)
	wantStatus := map[string]policies.Status{
		stages.Secrets:    policies.StatusPassed,
		stages.SAST:       policies.StatusWarned, // nothing critical
		stages.SCA:        policies.StatusBlocked,
		stages.IaC:        policies.StatusBlocked,
		stages.Dockerfile: policies.StatusBlocked,
		stages.Licenses:   policies.StatusBlocked,
	}
	for stage, w := range wantStatus {
		if got[stage] != w {
			t.Errorf("default policy: stage %s is %s, want %s", stage, got[stage], w)
		}
	}
	if rep.ExitCode != 1 {
		t.Errorf("exit code %d, want 1", rep.ExitCode)
	}
	if _, ok := rep.Artifacts[stages.SBOMSPDX]; !ok {
		t.Errorf("no SPDX SBOM among the artifacts")
	}
	// Every vulnerability scanner that ran says which database it read.
	for _, s := range rep.Stages {
		for _, tr := range s.Tools {
			if s.Name == stages.SCA && tr.Skipped == "" && tr.Error == "" && tr.Database == "" {
				t.Errorf("sca/%s records no database", tr.Name)
			}
			if tr.Name == "govulncheck" && !strings.Contains(tr.Database, "file://") {
				t.Errorf("govulncheck database %q, want the local file:// database", tr.Database)
			}
		}
	}

	strict := runCode(t, dir, preset(t, "strict"))
	if s := stageStatus(strict)[stages.SAST]; s != policies.StatusBlocked {
		t.Errorf("strict policy: sast is %s, want blocked (bandit B602 is high)", s)
	}
}

func TestCleanRepositoryPassesEveryCodeStage(t *testing.T) {
	dir := testenv.Dir(t, testenv.CleanCodeFiles())
	testenv.GoModTidy(t, dir)
	rep := runCode(t, dir, preset(t, "default"))
	// The one thing a clean module cannot avoid is the toolchain it is
	// checked with: go1.26.8's standard library has known vulnerabilities
	// (fixed in later patch releases) that this code never calls. They are
	// reported low and tagged, and only warn.
	toolchainOnly := true
	for _, f := range rep.Findings {
		if f.Stage == stages.SCA && f.Tool == "govulncheck" && f.Severity == findings.SeverityLow &&
			slices.Contains(f.Tags, "stdlib") && slices.Contains(f.Tags, "unreachable") {
			continue
		}
		toolchainOnly = false
		t.Errorf("unexpected finding %s/%s %s at %s:%d: %s", f.Stage, f.Tool, f.RuleID, f.Location.Path, f.Location.Line, f.Message)
	}
	for _, s := range rep.Stages {
		// Clean code without an API definition has no api stage to run.
		nothing := s.Name == stages.API && s.Status == policies.StatusSkipped && strings.HasPrefix(s.Reason, "nothing to scan: no OpenAPI")
		ok := nothing || s.Status == policies.StatusPassed || (s.Name == stages.SCA && s.Status == policies.StatusWarned && toolchainOnly)
		if !ok {
			t.Errorf("stage %s is %s (%s), want passed", s.Name, s.Status, s.Reason)
		}
	}
	if rep.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", rep.ExitCode)
	}
	// Every default tool that can run here did run, so "passed" means scanned.
	ran := map[string]bool{}
	for _, s := range rep.Stages {
		for _, tr := range s.Tools {
			if tr.Skipped == "" && tr.Error == "" {
				ran[s.Name+"/"+tr.Name] = true
			}
		}
	}
	for _, k := range []string{"secrets/gitleaks", "sast/gosec", "sast/bandit", "sca/govulncheck", "sca/osv-scanner",
		"licenses/syft", "iac/trivy", "dockerfile/trivy", "dockerfile/" + stages.HardeningTool} {
		if !ran[k] {
			t.Errorf("%s did not run on the clean repository", k)
		}
	}
}

// A scanner that hangs or crashes makes its stage error, never pass.
func TestCodeStageToolFailuresAreErrors(t *testing.T) {
	cases := []struct {
		stage, tool, script string
	}{
		{stages.SAST, "gosec", "sleep 30"},
		{stages.SAST, "gosec", "echo 'panic: runtime error' >&2; exit 2"},
		{stages.IaC, "tfsec", "kill -SEGV $$"},
		{stages.IaC, "tfsec", "echo '{\"results\": [' > \"$(echo \"$@\" | sed 's/.*--out \\([^ ]*\\).*/\\1/')\"; exit 0"},
	}
	for _, c := range cases {
		t.Run(c.tool+"/"+c.script, func(t *testing.T) {
			dir := testenv.Dir(t, testenv.PlantedFiles())
			inst := testenv.FakeTools(t, c.tool, c.script)
			r, err := host.NewRunner(dir, inst)
			if err != nil {
				t.Fatal(err)
			}
			r.AutoInstall, r.AllowPATH = false, false
			pol := preset(t, "default")
			sp := pol.Stages[c.stage]
			sp.Tools = []string{c.tool}
			sp.Timeout = 2 * time.Second
			pol.Stages[c.stage] = sp
			rep, err := pipeline.Run(context.Background(), pipeline.Config{Runner: r, Policy: pol, Stages: []string{c.stage}, Offline: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := stageStatus(rep)[c.stage]; got != policies.StatusError {
				t.Fatalf("stage %s is %s (%s), want error", c.stage, got, rep.Stages[0].Reason)
			}
			if rep.ExitCode != 2 {
				t.Errorf("exit code %d, want 2", rep.ExitCode)
			}
		})
	}
}

// A default tool this runner cannot run is recorded as not run; one the
// policy names is required, and its absence is an error.
func TestUnavailableToolSkippedUnlessRequired(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{"go.mod": "module example.com/x\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() {}\n"})
	inst := &host.Installer{Dir: t.TempDir()}
	r, err := host.NewRunner(dir, inst)
	if err != nil {
		t.Fatal(err)
	}
	r.AutoInstall, r.AllowPATH = false, false
	pol := preset(t, "default")
	sp := pol.Stages[stages.SAST]
	sp.Tools = []string{"semgrep"}
	pol.Stages[stages.SAST] = sp
	rep, err := pipeline.Run(context.Background(), pipeline.Config{Runner: r, Policy: pol, Stages: []string{stages.SAST}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := stageStatus(rep)[stages.SAST]; got != policies.StatusError {
		t.Errorf("required semgrep missing: sast is %s, want error", got)
	}

	pol = preset(t, "default")
	rep, err = pipeline.Run(context.Background(), pipeline.Config{Runner: r, Policy: pol, Stages: []string{stages.SAST}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	sr := rep.Stages[0]
	if sr.Status != policies.StatusSkipped {
		t.Errorf("sast is %s (%s), want skipped: no tool could scan the Go module", sr.Status, sr.Reason)
	}
	for _, tr := range sr.Tools {
		if tr.Skipped == "" {
			t.Errorf("tool %s: want a reason it did not run", tr.Name)
		}
	}
}

// govulncheck checks the standard library of the Go the module's go.mod
// selects (its toolchain line), even where go.env says local, unless the
// caller's environment sets GOTOOLCHAIN; the report names that Go.
func TestGoAnalysersUseTheModulesToolchain(t *testing.T) {
	files := map[string]string{
		"go.mod":  "module example.com/tc\n\ngo 1.26.1\n\ntoolchain go1.26.11\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n",
	}
	// The installed Go, whatever it is here.
	cmd := exec.Command("go", "env", "GOVERSION")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	local, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ env, want string }{
		{"", "standard library of go1.26.11"},
		{"local", "standard library of " + strings.TrimSpace(string(local))},
	}
	for _, tc := range cases {
		t.Run("GOTOOLCHAIN="+tc.env, func(t *testing.T) {
			t.Setenv("GOTOOLCHAIN", tc.env) // restored after the test
			if tc.env == "" {
				os.Unsetenv("GOTOOLCHAIN") // as where the caller sets none
			}
			rep := runCode(t, testenv.Dir(t, files), preset(t, "default"), stages.SCA)
			var dbs []string
			for _, tr := range stage(t, rep, stages.SCA).Tools {
				if tr.Name == "govulncheck" {
					dbs = append(dbs, tr.Database)
				}
			}
			if len(dbs) != 1 || !strings.HasSuffix(dbs[0], tc.want) {
				t.Errorf("govulncheck databases %q, want one ending %q", dbs, tc.want)
			}
		})
	}
}

// Terraform at the root of the source: trivy adds a result for the folder
// itself ("."), which must not cost its report; the public bucket it finds
// in main.tf blocks iac there.
func TestTerraformAtTheRoot(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{"main.tf": `resource "aws_s3_bucket" "public" {
  bucket = "dagsec-public"
  acl    = "public-read"
}
`})
	rep := runCode(t, dir, preset(t, "default"), stages.IaC)
	s := stage(t, rep, stages.IaC)
	if s.Status != policies.StatusBlocked {
		t.Fatalf("iac %s (%s), want blocked: %v", s.Status, s.Reason, s.Errors)
	}
	var at []string
	for _, f := range rep.Findings {
		if f.Tool == "trivy" && f.Severity >= findings.SeverityHigh {
			at = append(at, f.RuleID+"@"+f.Location.Path)
			if f.Location.Path != "main.tf" {
				t.Errorf("%s at %q, want main.tf", f.RuleID, f.Location.Path)
			}
		}
	}
	if len(at) == 0 {
		t.Fatalf("no high trivy finding for the public bucket: %+v", rep.Findings)
	}
}

// A Dockerfile without USER is one high finding, found by trivy (DS-0002,
// about the whole file) and dagsec (DAGSEC-DF001, at FROM), not two; the
// same holds for the latest tag and the missing HEALTHCHECK.
func TestDockerfileChecksOfBothToolsCountOnce(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{"Dockerfile": "FROM alpine:latest\nRUN echo hi\nCMD [\"sh\"]\n"})
	rep := runCode(t, dir, preset(t, "default"), stages.Dockerfile)
	s := stage(t, rep, stages.Dockerfile)
	if s.Counts["high"] != 1 {
		t.Errorf("%d high findings, want 1: %+v", s.Counts["high"], rep.Findings)
	}
	for _, rule := range []string{stages.HardeningRootUser, stages.HardeningLatestTag, stages.HardeningNoHealthcheck} {
		fs := find(rep, stages.Dockerfile, stages.HardeningTool, rule)
		if len(fs) != 1 || !slices.Contains(fs[0].AlsoFoundBy, "trivy") {
			t.Errorf("%s: %+v, want one finding also found by trivy", rule, fs)
		}
	}
	for _, rule := range []string{"DS-0001", "DS-0002", "DS-0026"} {
		if fs := find(rep, stages.Dockerfile, "trivy", rule); len(fs) != 0 {
			t.Errorf("trivy's %s is still separate: %+v", rule, fs)
		}
	}
}

// Every tool that ran says what network it had: none for the tools and
// steps that need none (trivy config, osv-scanner against the local
// database, gitleaks, syft), cut off in a namespace of their own, or why
// it needed it (gosec and govulncheck: Go module downloads).
func TestEveryToolRunSaysItsNetwork(t *testing.T) {
	dir := testenv.Dir(t, testenv.PlantedFiles())
	testenv.GoModTidy(t, dir)
	rep := runCode(t, dir, preset(t, "default"))
	want := map[string]string{
		"secrets/gitleaks": "none", "sast/bandit": "none", "sca/osv-scanner": "none", "licenses/syft": "none",
		"iac/trivy": "none", "dockerfile/trivy": "none",
		"sast/gosec": "needed: go/packages", "sca/govulncheck": "needed: Go module downloads",
	}
	seen := map[string]bool{}
	for _, s := range rep.Stages {
		for _, tr := range s.Tools {
			if tr.Skipped != "" || tr.Name == stages.HardeningTool {
				continue
			}
			key := s.Name + "/" + tr.Name
			if tr.Network == "" {
				t.Errorf("%s (%s) records no network", key, tr.Target)
			}
			// The host knows each tool run's peak memory.
			if tr.PeakMemoryMB <= 0 {
				t.Errorf("%s (%s) records no peak memory", key, tr.Target)
			}
			if w, ok := want[key]; ok {
				seen[key] = true
				if !strings.HasPrefix(tr.Network, w) {
					t.Errorf("%s: network %q, want %q…", key, tr.Network, w)
				}
			}
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s did not run", k)
		}
	}
}

// countingRunner counts the steps the real host runner runs, by tool.
type countingRunner struct {
	*host.Runner
	mu sync.Mutex
	n  map[string]int
}

func (c *countingRunner) Run(ctx context.Context, step stages.Step) (stages.StepResult, error) {
	c.mu.Lock()
	c.n[step.Tool]++
	c.mu.Unlock()
	return c.Runner.Run(ctx, step)
}

// With Terraform and a Dockerfile, iac and dockerfile share one trivy
// config run, and each stage keeps its own part of the report.
func TestTrivyConfigRunsOnceForIaCAndDockerfile(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{
		"infra/main.tf": "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n  acl    = \"public-read\"\n}\n",
		"Dockerfile":    "FROM alpine:3.20\nRUN echo hi\nCMD [\"sh\"]\n",
	})
	r, err := host.NewRunner(dir, testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingRunner{Runner: r, n: map[string]int{}}
	rep, err := pipeline.Run(context.Background(), pipeline.Config{Runner: cr, Policy: preset(t, "default"),
		Stages: []string{stages.IaC, stages.Dockerfile}, Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	if cr.n["trivy"] != 1 {
		t.Errorf("trivy ran %d times, want once for both stages", cr.n["trivy"])
	}
	for _, f := range rep.Findings {
		if f.Tool != "trivy" {
			continue
		}
		if dockerfile := f.Location.Path == "Dockerfile"; dockerfile != (f.Stage == stages.Dockerfile) {
			t.Errorf("%s finding %s at %s: in the wrong stage", f.Stage, f.RuleID, f.Location.Path)
		}
	}
	if len(find(rep, stages.IaC, "trivy", "AWS-0092")) == 0 {
		t.Errorf("iac lost trivy's public-read finding: %+v", rep.Findings)
	}
	if fs := find(rep, stages.Dockerfile, stages.HardeningTool, stages.HardeningRootUser); len(fs) != 1 || !slices.Contains(fs[0].AlsoFoundBy, "trivy") {
		t.Errorf("dockerfile lost trivy's DS-0002: %+v", fs)
	}
}
