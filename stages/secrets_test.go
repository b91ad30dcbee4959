package stages_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// testdata/gitleaks-v8.30.1.json was written by gitleaks v8.30.1 itself:
// `gitleaks dir . -c stages/config/gitleaks.toml -f json --redact --exit-code 3`
// over a two-line config.py holding an AWS key id and a postgres URL.
func TestParseGitleaksGenuineSample(t *testing.T) {
	data, err := os.ReadFile("testdata/gitleaks-v8.30.1.json")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := stages.ParseGitleaks(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"aws-access-token": 1, "dagsec-database-url-credentials": 2}
	if len(fs) != len(want) {
		t.Fatalf("got %d findings, want %d: %+v", len(fs), len(want), fs)
	}
	for _, f := range fs {
		line, ok := want[f.RuleID]
		if !ok || f.Location.Line != line || f.Location.Path != "config.py" {
			t.Errorf("unexpected finding %s at %s:%d", f.RuleID, f.Location.Path, f.Location.Line)
		}
		if f.Severity != findings.SeverityCritical || f.Stage != stages.Secrets || f.Tool != "gitleaks" {
			t.Errorf("finding %s: severity %s stage %s tool %s", f.RuleID, f.Severity, f.Stage, f.Tool)
		}
		if f.Fingerprint == "" || strings.Contains(f.Message, "REDACTED") {
			t.Errorf("finding %s: fingerprint %q message %q", f.RuleID, f.Fingerprint, f.Message)
		}
	}
}

func TestParseGitleaksRejectsBadReports(t *testing.T) {
	for name, in := range map[string]string{
		"empty":       "",
		"whitespace":  " \n",
		"object":      `{"RuleID":"x"}`,
		"truncated":   `[{"RuleID":"aws-access-token","File":"a"`,
		"garbage":     "\x00\x01\x02not json",
		"trailing":    `[] []`,
		"no rule":     `[{"File":"a.txt","StartLine":1}]`,
		"no file":     `[{"RuleID":"x","StartLine":1}]`,
		"wrong types": `[{"RuleID":1,"File":"a"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if fs, err := stages.ParseGitleaks([]byte(in)); err == nil {
				t.Fatalf("no error for %q, got %v", in, fs)
			}
		})
	}
	fs, err := stages.ParseGitleaks([]byte("[]\n"))
	if err != nil || len(fs) != 0 {
		t.Fatalf("clean report: %v, %v", fs, err)
	}
}

func FuzzParseGitleaks(f *testing.F) {
	if data, err := os.ReadFile("testdata/gitleaks-v8.30.1.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("[]"))
	f.Add([]byte(`[{"RuleID":"a","File":"b","StartLine":-1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := stages.ParseGitleaks(data)
		if err != nil {
			return
		}
		for _, fd := range fs {
			if err := fd.Validate(); err != nil {
				t.Fatalf("parser returned an invalid finding: %v", err)
			}
		}
	})
}

// scanSecrets runs the secrets stage's real gitleaks step over dir.
func scanSecrets(t *testing.T, dir string, opts stages.Options) []findings.Finding {
	t.Helper()
	testenv.Tool(t, "gitleaks")
	r, err := host.NewRunner(dir, testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	r.AllowPATH = false
	ctx := context.Background()
	plans, err := stages.PlanStage(ctx, stages.Secrets, opts, r)
	if err != nil {
		t.Fatal(err)
	}
	var all []findings.Finding
	for _, p := range plans {
		res, err := r.Run(ctx, p.Step)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Step.Classify(res.ExitCode); got == stages.OutcomeToolError {
			t.Fatalf("%s exited %d: %s", p.Step.Tool, res.ExitCode, res.Stderr)
		}
		fs, err := p.Parse(res.Report)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	return all
}

func rules(fs []findings.Finding) map[string]findings.Finding {
	out := map[string]findings.Finding{}
	for _, f := range fs {
		out[f.RuleID] = f
	}
	return out
}

func TestGitleaksFindsPlantedSecrets(t *testing.T) {
	dir := testenv.Dir(t, testenv.LeakyFiles(t))
	got := rules(scanSecrets(t, dir, stages.Options{}))
	for rule, loc := range map[string]findings.Location{
		"aws-access-token":                {Path: "app/settings.py", Line: 3},
		"private-key":                     {Path: "deploy/id_ec.pem", Line: 1},
		"dagsec-database-url-credentials": {Path: "config/db.env", Line: 1},
	} {
		f, ok := got[rule]
		if !ok {
			t.Errorf("planted %s not found; got %v", rule, got)
			continue
		}
		if f.Location.Path != loc.Path || f.Location.Line != loc.Line {
			t.Errorf("%s at %s:%d, want %s:%d", rule, f.Location.Path, f.Location.Line, loc.Path, loc.Line)
		}
	}
}

func TestGitleaksCleanTreeHasNoFindings(t *testing.T) {
	if fs := scanSecrets(t, testenv.Dir(t, testenv.CleanFiles()), stages.Options{}); len(fs) != 0 {
		t.Fatalf("clean tree gave findings: %+v", fs)
	}
}

func TestFingerprintSurvivesLineMove(t *testing.T) {
	files := testenv.LeakyFiles(t)
	dir := testenv.Dir(t, files)
	before := rules(scanSecrets(t, dir, stages.Options{}))
	files["app/settings.py"] = strings.Repeat("# padding\n", 20) + files["app/settings.py"]
	testenv.Write(t, dir, files)
	after := rules(scanSecrets(t, dir, stages.Options{}))

	b, a := before["aws-access-token"], after["aws-access-token"]
	if a.Location.Line != b.Location.Line+20 {
		t.Fatalf("finding did not move: line %d then %d", b.Location.Line, a.Location.Line)
	}
	if a.Fingerprint != b.Fingerprint {
		t.Fatalf("fingerprint changed after a 20-line move: %s -> %s", b.Fingerprint, a.Fingerprint)
	}
}

func TestTwoSecretsOfOneRuleInOneFileDiffer(t *testing.T) {
	other := "AKIA" + "Q4XPLMN2B7RT6VWY"
	dir := testenv.Dir(t, map[string]string{
		"keys.txt": "first = \"" + testenv.AWSKeyID + "\"\nsecond = \"" + other + "\"\n",
	})
	fs := scanSecrets(t, dir, stages.Options{})
	if len(fs) < 2 {
		t.Fatalf("want both keys found, got %+v", fs)
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Fingerprint] {
			t.Fatalf("two findings share fingerprint %s", f.Fingerprint)
		}
		seen[f.Fingerprint] = true
	}
}

func TestGitleaksRepositoryConfigAndBaseline(t *testing.T) {
	files := testenv.LeakyFiles(t)
	// The repository's own config replaces dagsec's: with only the default
	// rules, the database URL is no longer reported.
	files[".gitleaks.toml"] = "[extend]\nuseDefault = true\n"
	dir := testenv.Dir(t, files)
	got := rules(scanSecrets(t, dir, stages.Options{}))
	if _, ok := got["dagsec-database-url-credentials"]; ok {
		t.Fatalf("repository .gitleaks.toml was not used: %v", got)
	}
	if _, ok := got["aws-access-token"]; !ok {
		t.Fatalf("default rules lost: %v", got)
	}

}

func TestGitleaksBaselineSuppressesKnownLeaks(t *testing.T) {
	gl := testenv.Tool(t, "gitleaks")
	dir := testenv.Dir(t, map[string]string{"app/settings.py": "AWS_ACCESS_KEY_ID = \"" + testenv.AWSKeyID + "\"\n"})
	// The baseline is a report of gitleaks itself, as its users make one.
	cmd := exec.Command(gl, "dir", ".", "--redact", "--no-banner", "-f", "json", "-r", ".gitleaks-baseline.json", "--exit-code", "0")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making baseline: %v\n%s", err, out)
	}
	testenv.Write(t, dir, map[string]string{"config/db.env": "DATABASE_URL=" + testenv.DatabaseURL + "\n"})

	got := rules(scanSecrets(t, dir, stages.Options{Baseline: ".gitleaks-baseline.json"}))
	if _, ok := got["aws-access-token"]; ok {
		t.Errorf("baselined AWS key still reported")
	}
	if _, ok := got["dagsec-database-url-credentials"]; !ok {
		t.Errorf("new database URL not reported: %v", got)
	}
}

func TestGitleaksHistoryFindsRemovedSecret(t *testing.T) {
	dir := testenv.GitRepo(t, map[string]string{"settings.py": "KEY = \"" + testenv.AWSKeyID + "\"\n"})
	testenv.Write(t, dir, map[string]string{"settings.py": "KEY = os.environ[\"KEY\"]\n"})
	testenv.Commit(t, dir, "remove key")

	if fs := scanSecrets(t, dir, stages.Options{}); len(fs) != 0 {
		t.Fatalf("working tree scan should be clean now, got %+v", fs)
	}
	fs := scanSecrets(t, dir, stages.Options{History: true})
	got := rules(fs)
	if _, ok := got["aws-access-token"]; !ok {
		t.Fatalf("history scan missed the removed key: %+v", fs)
	}
	if !strings.Contains(got["aws-access-token"].Message, "commit") {
		t.Errorf("history finding should name its commit: %q", got["aws-access-token"].Message)
	}
}

func TestPlanRejectsPathsOutsideSource(t *testing.T) {
	dir := testenv.Dir(t, testenv.CleanFiles())
	r, err := host.NewRunner(dir, testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []stages.Options{
		{Config: "../outside.toml"},
		{Config: "/etc/passwd"},
		{Baseline: "../../baseline.json"},
		{Config: "missing.toml"},
		{Tools: []string{"detect-secrets"}},
	} {
		if _, err := stages.PlanStage(context.Background(), stages.Secrets, opts, r); err == nil {
			t.Errorf("options %+v accepted", opts)
		}
	}
}

func TestGitleaksIgnoreFileIsHonoured(t *testing.T) {
	files := testenv.LeakyFiles(t)
	// gitleaks' own fingerprint format for a working-tree finding: file:rule:line.
	files[".gitleaksignore"] = "app/settings.py:aws-access-token:3\n"
	got := rules(scanSecrets(t, testenv.Dir(t, files), stages.Options{}))
	if _, ok := got["aws-access-token"]; ok {
		t.Errorf(".gitleaksignore entry not honoured")
	}
	if _, ok := got["private-key"]; !ok {
		t.Errorf("an entry for one finding silenced others: %v", got)
	}
}

func TestParseGitleaksRejectsTrailingData(t *testing.T) {
	for _, in := range []string{"[] }", "[]]", "[{}] {", "[] x"} {
		if _, err := stages.ParseGitleaks([]byte(in)); err == nil {
			t.Errorf("ParseGitleaks(%q) accepted trailing data", in)
		}
	}
}
