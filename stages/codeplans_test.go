package stages

import (
	"context"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/samples"
)

// treeProbe is a source tree in memory, seen the way runners see theirs.
type treeProbe struct {
	files map[string]string
	tools []string // tools the runner has
}

func (p treeProbe) Exists(_ context.Context, rel string) (bool, error) {
	_, ok := p.files[rel]
	return ok, nil
}

func (p treeProbe) Glob(_ context.Context, pattern string) ([]string, error) {
	var out []string
	for f := range p.files {
		if MatchGlob(pattern, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (p treeProbe) ReadFile(_ context.Context, rel string) ([]byte, error) {
	s, ok := p.files[rel]
	if !ok {
		return nil, os.ErrNotExist
	}
	return []byte(s), nil
}

func (p treeProbe) HasTool(_ context.Context, tool string) bool {
	return slices.Contains(p.tools, tool)
}

var everyTool = []string{"gosec", "bandit", "semgrep", "govulncheck", "osv-scanner", "trivy", "syft", "checkov", "tfsec", "hadolint"}

// planned lists "tool" for plans that run and "tool: reason" for skips.
func planned(t *testing.T, stage string, opts Options, probe Probe) map[string]Plan {
	t.Helper()
	plans, err := PlanStage(context.Background(), stage, opts, probe)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Plan{}
	for _, p := range plans {
		name := p.Tool
		if p.Step.Name != "" {
			name = p.Step.Name
			if err := p.Step.Validate(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, dup := out[name]; dup && p.Skipped == "" {
			t.Errorf("two plans named %s", name)
		}
		if p.Skipped == "" || out[name].Step.Name == "" {
			out[name] = p
		}
	}
	return out
}

func TestLanguageDetectionChoosesTools(t *testing.T) {
	py := treeProbe{files: map[string]string{"app/main.py": "print(1)\n", "testdata/x/go.mod": "module x\n"}, tools: everyTool}
	got := planned(t, SAST, Options{}, py)
	if got["gosec"].Skipped == "" {
		t.Errorf("gosec planned for a tree without go.mod (testdata does not count)")
	}
	if got["sast/bandit"].Step.Name == "" {
		t.Errorf("bandit not planned for Python: %+v", got)
	}
	if got["sast/semgrep"].Step.Name == "" {
		t.Errorf("semgrep not planned")
	}

	multi := treeProbe{files: map[string]string{"go.mod": "module a\n", "main.go": "package main\n", "tools/go.mod": "module b\n",
		"tools/t.go": "package t\n", "vendor/c/go.mod": ""}, tools: everyTool}
	got = planned(t, SAST, Options{}, multi)
	for _, name := range []string{"sast/gosec", "sast/gosec:tools"} {
		if got[name].Step.Name == "" {
			t.Errorf("no plan %s (one gosec run per Go module): %v", name, keys(got))
		}
	}
	if got["sast/gosec:tools"].Step.Workdir != SourceDir+"/tools" {
		t.Errorf("gosec in tools/ runs in %s", got["sast/gosec:tools"].Step.Workdir)
	}
}

func keys(m map[string]Plan) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestUnavailableToolIsSkippedUnlessNamed(t *testing.T) {
	tree := treeProbe{files: map[string]string{"main.py": ""}, tools: []string{"bandit"}}
	got := planned(t, SAST, Options{}, tree)
	if p := got["semgrep"]; !p.Unavailable || !strings.Contains(p.Skipped, "Dagger module") {
		t.Errorf("semgrep: want an unavailable skip naming the Dagger module, got %+v", p)
	}
	got = planned(t, SAST, Options{Tools: []string{"semgrep"}}, tree)
	if got["sast/semgrep"].Step.Name == "" {
		t.Errorf("semgrep named in the policy must be planned (and fail if missing): %v", keys(got))
	}
}

func TestSemgrepRulesetsFromPolicy(t *testing.T) {
	tree := treeProbe{files: map[string]string{"main.py": ""}, tools: everyTool}
	got := planned(t, SAST, Options{Rulesets: []string{"p/jwt", "rules/custom.yaml"}}, tree)
	argv := strings.Join(got["sast/semgrep"].Step.Argv, " ")
	for _, want := range []string{"--config p/jwt", "--config " + SourceDir + "/rules/custom.yaml", "--metrics off", "--sarif"} {
		if !strings.Contains(argv, want) {
			t.Errorf("semgrep argv %q lacks %q", argv, want)
		}
	}
	if strings.Contains(argv, "p/owasp-top-ten") {
		t.Errorf("policy rulesets must replace the defaults: %q", argv)
	}
	if _, err := PlanStage(context.Background(), SAST, Options{Rulesets: []string{"../outside.yaml"}}, tree); err == nil {
		t.Errorf("a ruleset outside the source must be refused")
	}
}

func TestSCADatabases(t *testing.T) {
	tree := treeProbe{files: map[string]string{"go.mod": "", "main.go": "package main\n", "web/package-lock.json": "{}"}, tools: everyTool}

	// Offline with the local Go database: govulncheck and osv-scanner read
	// it; osv-scanner checks only go.mod and says what it left out; trivy
	// cannot get its database and says so.
	got := planned(t, SCA, Options{VulnDB: "/db", Offline: true}, tree)
	gv := got["sca/govulncheck"].Step
	if !gv.DB || !slices.Contains(gv.Argv, "file://"+DBDir+"/"+VulnDBGovulncheck) || !gv.StdoutReport {
		t.Errorf("govulncheck step %+v", gv)
	}
	osv := got["sca/osv-scanner"].Step
	if !osv.DB || !slices.Contains(osv.Argv, "go.mod") || slices.Contains(osv.Argv, "web/package-lock.json") {
		t.Errorf("osv-scanner argv %v", osv.Argv)
	}
	if !strings.Contains(got["osv-scanner"].Skipped, "web/package-lock.json") {
		t.Errorf("osv-scanner must name the manifests it could not check: %+v", got["osv-scanner"])
	}
	if got["trivy"].Skipped == "" {
		t.Errorf("trivy planned offline without a database")
	}
	// ...unless the policy names it: then it runs, and fails closed.
	got = planned(t, SCA, Options{VulnDB: "/db", Offline: true, Tools: []string{"trivy"}}, tree)
	if got["sca/trivy"].Step.Name == "" {
		t.Errorf("trivy named in the policy must be planned")
	}

	// Online (the Dagger module): databases live in cache volumes and are
	// refreshed on the policy's schedule.
	got = planned(t, SCA, Options{DBRefresh: 6 * 3600e9}, tree)
	tv := got["sca/trivy"].Step
	if !slices.Contains(tv.Caches, "trivy") || len(tv.DBUpdate) == 0 || tv.DBRefresh.Hours() != 6 || !slices.Contains(tv.Argv, "--skip-db-update") {
		t.Errorf("trivy online step %+v", tv)
	}
	if got["sca/govulncheck"].Step.DB || got["sca/govulncheck"].Step.DBRefresh == 0 {
		t.Errorf("online govulncheck must use its own database and rerun per refresh period")
	}
}

func TestIaCDetection(t *testing.T) {
	tree := treeProbe{files: map[string]string{
		"deploy/app.yaml":   "apiVersion: apps/v1\nkind: Deployment\n",
		"config/other.yaml": "name: not iac\n",
	}, tools: everyTool}
	got := planned(t, IaC, Options{}, tree)
	if got["iac/trivy"].Step.Name == "" || got["iac/checkov"].Step.Name == "" {
		t.Errorf("a Kubernetes manifest must bring trivy and checkov: %v", keys(got))
	}
	if _, ok := got["tfsec"]; ok {
		t.Errorf("tfsec runs only when named")
	}
	got = planned(t, IaC, Options{Tools: []string{"tfsec"}}, tree)
	if got["tfsec"].Skipped == "" {
		t.Errorf("tfsec without Terraform files must be skipped")
	}
	none := planned(t, IaC, Options{}, treeProbe{files: map[string]string{"config/other.yaml": "a: 1\n"}, tools: everyTool})
	for name, p := range none {
		if p.Skipped == "" {
			t.Errorf("%s planned without IaC files", name)
		}
	}
}

func TestDockerfileHardeningRunsInline(t *testing.T) {
	tree := treeProbe{files: map[string]string{"svc/Dockerfile": "FROM alpine:latest\n"}, tools: everyTool}
	got := planned(t, Dockerfile, Options{}, tree)
	p := got[HardeningTool]
	if p.Inline == nil {
		t.Fatalf("no inline hardening plan: %v", keys(got))
	}
	fs, err := p.Inline(context.Background(), tree)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.RuleID+"@"+f.Location.Path)
	}
	for _, want := range []string{"DAGSEC-DF001@svc/Dockerfile", "DAGSEC-DF002@svc/Dockerfile"} {
		if !slices.Contains(ids, want) {
			t.Errorf("hardening findings %v lack %s", ids, want)
		}
	}
	h := got["dockerfile/hadolint"].Step
	if !h.StdoutReport || !slices.Contains(h.Argv, "svc/Dockerfile") {
		t.Errorf("hadolint step %+v", h)
	}
}

// The online osv-scanner database is named by what was downloaded and when,
// read by the same shell command the step runs.
func TestOSVScannerDatabaseFromDBInfo(t *testing.T) {
	db := t.TempDir()
	for _, eco := range []string{"Go", "PyPI"} {
		if err := os.MkdirAll(db+"/osv-scalibr/"+eco, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(db+"/osv-scalibr/"+eco+"/all.zip", []byte("zip"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	argv := osvScannerDBInfoArgv(db)
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := osvScannerDatabase(out)
	if !strings.HasPrefix(got, "osv.dev offline databases: Go 20") || !strings.Contains(got, ", PyPI 20") {
		t.Errorf("osvScannerDatabase = %q (from %q)", got, out)
	}
	if got := osvScannerDatabase(nil); !strings.Contains(got, "unknown") {
		t.Errorf("no output: %q", got)
	}
}

// The policy's unreachable_severity reaches govulncheck's findings through
// the plan: genuine output of a module that imports a vulnerable package
// without calling it.
func TestUnreachableSeverityFromPolicy(t *testing.T) {
	report := samples.Read(t, "govulncheck-v1.9.0-imported.json.gz")
	tree := treeProbe{files: map[string]string{"go.mod": "", "main.go": "package main\n"}, tools: everyTool}
	for _, sev := range []findings.Severity{0, findings.SeverityMedium, findings.SeverityHigh} {
		want := sev
		if want == 0 {
			want = findings.SeverityLow // the default
		}
		got := planned(t, SCA, Options{VulnDB: "/db", Offline: true, UnreachableSeverity: sev}, tree)
		fs, err := got["sca/govulncheck"].Parse(report)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range fs {
			if slices.Contains(f.Tags, "unreachable") {
				n++
				if f.Severity != want {
					t.Errorf("unreachable_severity %v: %s is %s, want %s", sev, f.RuleID, f.Severity, want)
				}
			}
		}
		if n == 0 {
			t.Fatalf("the sample has no unreachable finding")
		}
	}
}

// trufflehog verifying secrets needs the network and its result is never
// reused (a secret can be revoked without the repository changing); not
// verifying (offline, or the policy's verify: false), it runs cut off
// from the network and its result depends on the source alone.
func TestTrufflehogNetworkAndReuseFollowVerification(t *testing.T) {
	tree := treeProbe{files: map[string]string{"a.txt": "x\n"}, tools: []string{"gitleaks", "trufflehog"}}
	for _, tt := range []struct {
		name               string
		opts               Options
		wantLive, wantNone bool
	}{
		{"verifies", Options{}, true, false},
		{"offline", Options{Offline: true}, false, true},
		{"verify: false", Options{NoVerify: true}, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := planned(t, Secrets, tt.opts, tree)[Secrets+"/trufflehog"]
			if !ok {
				t.Fatal("no trufflehog plan")
			}
			if p.Step.Live != tt.wantLive || p.Step.NoNetwork != tt.wantNone || (p.Step.NetworkNeed() == "") != tt.wantNone {
				t.Errorf("live %v, no network %v, need %q; want live %v, no network %v", p.Step.Live, p.Step.NoNetwork, p.Step.NetworkNeed(), tt.wantLive, tt.wantNone)
			}
		})
	}
}

// countingProbe counts the source reads a probe serves.
type countingProbe struct {
	treeProbe
	reads atomic.Int64
}

func (p *countingProbe) Glob(ctx context.Context, pattern string) ([]string, error) {
	p.reads.Add(1)
	return p.treeProbe.Glob(ctx, pattern)
}

func (p *countingProbe) ReadFile(ctx context.Context, rel string) ([]byte, error) {
	p.reads.Add(1)
	return p.treeProbe.ReadFile(ctx, rel)
}

// Through a run's probe the Go modules are read once however many stages
// ask (sast, its coverage, sca, licenses), and are the same modules.
func TestRunProbeReadsGoModulesOnce(t *testing.T) {
	files := map[string]string{"go.mod": "module a\n\ngo 1.22\n", "main.go": "package main\n", "tools/go.mod": "module b\n", "tools/t.go": "package t\n"}
	direct := &countingProbe{treeProbe: treeProbe{files: files}}
	want, err := FindGoModules(context.Background(), direct)
	if err != nil || len(want.Modules) != 2 {
		t.Fatalf("modules %+v, %v", want.Modules, err)
	}
	once := direct.reads.Load()
	counted := &countingProbe{treeProbe: treeProbe{files: files}}
	rp := NewRunProbe(counted)
	for range 4 {
		got, err := FindGoModules(context.Background(), rp)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("through the run's probe: %+v, %v; want %+v", got, err, want)
		}
	}
	if n := counted.reads.Load(); n != once {
		t.Errorf("four lookups read the source %d times, one reads it %d", n, once)
	}
}
