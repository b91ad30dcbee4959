package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// onlyStages is the default preset with every stage but keep disabled, so
// production's gates are exactly the kept stages.
func onlyStages(t *testing.T, keep ...string) *policies.Policy {
	t.Helper()
	p := preset(t, "default")
	for _, name := range stages.Names() {
		if !slices.Contains(keep, name) {
			sp := p.Stage(name)
			sp.Enabled = false
			p.Stages[name] = sp
		}
	}
	return p
}

// deployStep writes a marker file when production really deploys.
func deployStep(t *testing.T) (pipeline.DeployStep, string) {
	mark := filepath.Join(t.TempDir(), "deployed")
	return pipeline.DeployStep{
		Image:   "docker.io/library/alpine:3.22",
		Command: []string{"sh", "-c", `echo "$TARGET" > "$MARK"`},
		Env:     map[string]string{"MARK": mark, "TARGET": "prod"},
	}, mark
}

func runDelivery(t *testing.T, dir string, inst *host.Installer, pol *policies.Policy, selected []string, d pipeline.Delivery) *pipeline.Report {
	t.Helper()
	r, err := host.NewRunner(dir, inst)
	if err != nil {
		t.Fatal(err)
	}
	r.AllowPATH = false
	rep, err := pipeline.Run(context.Background(), pipeline.Config{Runner: r, Policy: pol, Source: dir, Stages: selected, Delivery: d})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestProductionDeploysOnlyWhenEveryGatePassedOnTheProductionBranch(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	clean := testenv.Dir(t, testenv.CleanFiles())
	leaky := testenv.Dir(t, testenv.LeakyFiles(t))
	pol := onlyStages(t, stages.Secrets, stages.Production)
	selected := []string{stages.Secrets, stages.Production}

	tests := []struct {
		name       string
		dir        string
		branch     string
		selected   []string
		deployed   bool
		wantReason string
	}{
		{"clean on main deploys", clean, "main", selected, true, "deploy step ran"},
		{"a blocked gate holds it back", leaky, "main", selected, false, "needs secrets (blocked)"},
		{"a feature branch is not production", clean, "feature/login", selected, false, "not deployed: branch feature/login is not the production branch main"},
		{"an unknown branch is not production", clean, "", selected, false, "not deployed: the branch is unknown; production deploys only from main"},
		{"gates that did not run hold it back", clean, "main", []string{stages.Production}, false, "not deployed: the gates of secrets did not run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, mark := deployStep(t)
			rep := runDelivery(t, tc.dir, testenv.Installer(t), pol, tc.selected,
				pipeline.Delivery{Branch: tc.branch, Production: pipeline.ProductionSpec{Deploy: &step}})
			prod := stage(t, rep, stages.Production)
			_, err := os.Stat(mark)
			if deployed := err == nil; deployed != tc.deployed {
				t.Fatalf("deployed = %v, want %v (production %s: %s)", deployed, tc.deployed, prod.Status, prod.Reason)
			}
			wantStatus := policies.StatusSkipped
			if tc.deployed {
				wantStatus = policies.StatusPassed
			}
			if prod.Status != wantStatus || !strings.Contains(prod.Reason, tc.wantReason) {
				t.Fatalf("production = %s %q, want %s containing %q", prod.Status, prod.Reason, wantStatus, tc.wantReason)
			}
		})
	}
}

func TestProductionCountsEarlierRunsAsGates(t *testing.T) {
	dir := testenv.Dir(t, testenv.CleanFiles())
	pol := onlyStages(t, stages.Secrets, stages.DAST, stages.Production)
	tests := []struct {
		name       string
		earlier    map[string]policies.Status
		deployed   bool
		wantReason string
	}{
		{"both passed", map[string]policies.Status{stages.Secrets: policies.StatusPassed, stages.DAST: policies.StatusWarned}, true, "deploy step ran"},
		{"dast errored earlier", map[string]policies.Status{stages.Secrets: policies.StatusPassed, stages.DAST: policies.StatusError}, false, "not deployed: earlier runs of dast (error) did not pass"},
		{"dast missing", map[string]policies.Status{stages.Secrets: policies.StatusPassed}, false, "not deployed: the gates of dast did not run"},
		{"secrets skipped earlier", map[string]policies.Status{stages.Secrets: policies.StatusSkipped, stages.DAST: policies.StatusPassed}, false, "earlier runs of secrets (skipped) did not pass"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, mark := deployStep(t)
			rep := runDelivery(t, dir, &host.Installer{Dir: t.TempDir()}, pol, []string{stages.Production},
				pipeline.Delivery{Branch: "main", Earlier: tc.earlier, Production: pipeline.ProductionSpec{Deploy: &step}})
			prod := stage(t, rep, stages.Production)
			_, err := os.Stat(mark)
			if (err == nil) != tc.deployed || !strings.Contains(prod.Reason, tc.wantReason) {
				t.Fatalf("deployed=%v production %s %q; want deployed=%v and %q", err == nil, prod.Status, prod.Reason, tc.deployed, tc.wantReason)
			}
		})
	}
}

func TestProductionIsRefusedWhenDASTErrored(t *testing.T) {
	// wapiti crashing mid-scan: the same path a real crash takes.
	inst := testenv.FakeTools(t, "wapiti", `echo "Traceback: boom" >&2; exit 134`)
	dir := testenv.Dir(t, testenv.CleanFiles())
	step, mark := deployStep(t)
	pol := onlyStages(t, stages.Staging, stages.DAST, stages.Production)
	rep := runDelivery(t, dir, inst, pol, []string{stages.Staging, stages.DAST, stages.Production}, pipeline.Delivery{
		Branch: "main", Target: "http://127.0.0.1:9/", Production: pipeline.ProductionSpec{Deploy: &step},
	})
	if s := stage(t, rep, stages.Staging); s.Status != policies.StatusPassed || !strings.Contains(s.Reason, "external staging at http://127.0.0.1:9/") {
		t.Fatalf("staging = %s %q", s.Status, s.Reason)
	}
	if s := stage(t, rep, stages.DAST); s.Status != policies.StatusError || !strings.Contains(strings.Join(s.Errors, "\n"), "wapiti: exited with code 134") {
		t.Fatalf("dast = %s %q %v, want error from wapiti's crash", s.Status, s.Reason, s.Errors)
	}
	prod := stage(t, rep, stages.Production)
	if prod.Status != policies.StatusSkipped || prod.Reason != "needs dast (error)" {
		t.Fatalf("production = %s %q, want skipped: needs dast (error)", prod.Status, prod.Reason)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("production deployed although DAST errored")
	}
	if rep.ExitCode != 2 {
		t.Fatalf("exit code %d, want 2", rep.ExitCode)
	}
}

func TestHostRunnerCannotBuildSoDeliveryIsHeldBack(t *testing.T) {
	dir := testenv.Dir(t, testenv.CleanFiles())
	step, mark := deployStep(t)
	pol := onlyStages(t, stages.Build, stages.Image, stages.Staging, stages.Production)
	rep := runDelivery(t, dir, &host.Installer{Dir: t.TempDir()}, pol,
		[]string{stages.Build, stages.Image, stages.Staging, stages.Production},
		pipeline.Delivery{Branch: "main", Production: pipeline.ProductionSpec{Deploy: &step}})
	build := stage(t, rep, stages.Build)
	if build.Status != policies.StatusSkipped || !strings.Contains(build.Reason, "needs a container engine") || !strings.Contains(build.Reason, "--image-tar") {
		t.Fatalf("build = %s %q, want skipped for lack of an engine", build.Status, build.Reason)
	}
	for _, name := range []string{stages.Image, stages.Staging, stages.Production} {
		if s := stage(t, rep, name); s.Status != policies.StatusSkipped || !strings.HasPrefix(s.Reason, "needs ") {
			t.Errorf("%s = %s %q, want skipped behind build", name, s.Status, s.Reason)
		}
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("production deployed without a build")
	}
}

func TestDeployStepsGetSecretsButNeverPrintThem(t *testing.T) {
	const token = "s3cr3t-deploy-token-value"
	dir := testenv.Dir(t, testenv.CleanFiles())
	r, err := host.NewRunner(dir, &host.Installer{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r.Secrets = map[string]string{"deploy-token": token}
	step := pipeline.DeployStep{
		Command:   []string{"sh", "-c", `echo "using $TOKEN"; echo "auth failed for $TOKEN" >&2; exit 3`},
		SecretEnv: map[string]string{"TOKEN": "deploy-token"},
	}
	_, err = r.Deploy(context.Background(), stages.Production, step)
	if err == nil || !strings.Contains(err.Error(), "exited with code 3") || !strings.Contains(err.Error(), "auth failed for [REDACTED]") {
		t.Fatalf("err = %v, want exit 3 with the token redacted", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatal("the error prints the secret")
	}
	step.Command = []string{"sh", "-c", `echo "https://staging.example.test/?t=$TOKEN"`}
	out, err := r.Deploy(context.Background(), stages.Staging, step)
	if err != nil || strings.Contains(out, token) || !strings.Contains(out, "t=[REDACTED]") {
		t.Fatalf("out %q err %v: want the secret redacted", out, err)
	}
	step.SecretEnv = map[string]string{"TOKEN": "missing"}
	if _, err := r.Deploy(context.Background(), stages.Staging, step); err == nil || !strings.Contains(err.Error(), `secret "missing" (for TOKEN) was not given`) {
		t.Fatalf("err = %v, want a missing secret named", err)
	}
}

func TestDetectBranch(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"github push", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main", "GITHUB_REF": "refs/heads/main"}, "main"},
		{"github pull request", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_HEAD_REF": "main", "GITHUB_REF_NAME": "7/merge", "GITHUB_REF": "refs/pull/7/merge"}, "refs/pull/7/merge"},
		{"github tag", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "main", "GITHUB_REF": "refs/tags/main"}, "refs/tags/main"},
		{"gitlab branch", map[string]string{"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main"}, "main"},
		{"gitlab merge request", map[string]string{"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "4"}, ""},
		{"no CI", map[string]string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pipeline.DetectBranch(func(k string) string { return tc.env[k] }); got != tc.want {
				t.Fatalf("DetectBranch = %q, want %q", got, tc.want)
			}
		})
	}
	if got := pipeline.BranchFromHead([]byte("ref: refs/heads/release/1.2\n")); got != "release/1.2" {
		t.Fatalf("BranchFromHead = %q", got)
	}
	if got := pipeline.BranchFromHead([]byte("0123456789abcdef0123456789abcdef01234567\n")); got != "" {
		t.Fatalf("detached HEAD gave %q", got)
	}
}
