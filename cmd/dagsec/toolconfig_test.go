package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/stages"
)

// scanReport runs `dagsec scan` and reads the report.json it wrote; an
// exit code other than want fails the test.
func scanReport(t *testing.T, want int, args ...string) (*pipeline.Report, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report")
	code, stdout, stderr := dagsec(t, append([]string{"scan", "--out", out}, args...)...)
	if code != want {
		t.Fatalf("scan %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout, stderr)
	}
	rep, err := pipeline.ReadReportFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	return rep, stdout + stderr
}

// toolRow is the report row of a tool in a stage.
func toolRow(t *testing.T, rep *pipeline.Report, stage, tool string) pipeline.ToolReport {
	t.Helper()
	for _, s := range rep.Stages {
		for _, tr := range s.Tools {
			if s.Name == stage && tr.Name == tool {
				return tr
			}
		}
	}
	t.Fatalf("no %s row in stage %s", tool, stage)
	return pipeline.ToolReport{}
}

// ruleIDs lists the rules a tool found, sorted, without repeats.
func ruleIDs(rep *pipeline.Report, tool string) []string {
	var out []string
	for _, f := range rep.Findings {
		switch {
		case f.Tool == tool:
			out = append(out, f.RuleID)
		case slices.Contains(f.AlsoFoundBy, tool):
			// Another tool's copy kept: a dagsec Dockerfile rule names the
			// trivy check it merged (DAGSEC-DF004 is AVD-DS-0026).
			if r, ok := stages.LookupHardeningRule(f.RuleID); ok && r.SameAs != "" {
				out = append(out, strings.TrimPrefix(r.SameAs, "AVD-"))
			} else {
				out = append(out, f.RuleID)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The repository's bandit.yaml (real bandit 1.6.2): the test it skips is
// gone, the others stay, exclude_dirs (which bandit 1.6.2 ignores) leaves a
// folder out, and report.json names the file; the policy's per_tool config
// replaces it; a broken one is an input error naming file and line.
func TestScanHonoursTheRepositorysBanditConfig(t *testing.T) {
	app := testenv.PlantedFiles()["app/app.py"]
	files := map[string]string{"app/app.py": app, "tests/test_app.py": "assert eval('1') == 1\n"}

	t.Run("none", func(t *testing.T) {
		rep, _ := scanReport(t, 0, "--stages", "sast", testenv.Dir(t, files))
		for _, want := range []string{"B101", "B301", "B307", "B506", "B602"} {
			if !slices.Contains(ruleIDs(rep, "bandit"), want) {
				t.Errorf("without a config bandit should find %s: %v", want, ruleIDs(rep, "bandit"))
			}
		}
		if c := toolRow(t, rep, "sast", "bandit").Config; c != nil {
			t.Errorf("config = %v, want none", c)
		}
	})

	tests := []struct {
		name    string
		files   map[string]string
		args    []string
		config  []string
		gone    []string
		present []string
	}{
		{"bandit.yaml", map[string]string{"bandit.yaml": "skips: [B602]\nexclude_dirs: [tests, venv, .venv]\n"}, nil,
			[]string{"bandit.yaml"}, []string{"B602", "B101"}, []string{"B301", "B307", "B506"}},
		{".bandit", map[string]string{".bandit": "[bandit]\nskips = B602,B506\n"}, nil,
			[]string{".bandit"}, []string{"B602", "B506"}, []string{"B101", "B301", "B307"}},
		{"tests limits the run", map[string]string{"bandit.yaml": "tests: [B307]\n"}, nil,
			[]string{"bandit.yaml"}, []string{"B101", "B301", "B506", "B602"}, []string{"B307"}},
		{"policy per_tool config", map[string]string{
			"bandit.yaml": "skips: [B307]\n", "ci/bandit.yaml": "skips: [B602]\n",
			"policy.yaml": "stages:\n  sast:\n    per_tool:\n      bandit: {config: ci/bandit.yaml}\n"},
			[]string{"--policy", "POLICY"}, []string{"ci/bandit.yaml"}, []string{"B602"}, []string{"B307", "B301"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testenv.Dir(t, files)
			testenv.Write(t, dir, tt.files)
			args := append([]string{"--stages", "sast"}, tt.args...)
			if i := slices.Index(args, "POLICY"); i >= 0 {
				args[i] = filepath.Join(dir, "policy.yaml")
			}
			rep, _ := scanReport(t, 0, append(args, dir)...)
			got := ruleIDs(rep, "bandit")
			for _, r := range tt.gone {
				if slices.Contains(got, r) {
					t.Errorf("%s is still reported: %v", r, got)
				}
			}
			for _, r := range tt.present {
				if !slices.Contains(got, r) {
					t.Errorf("%s is missing: %v", r, got)
				}
			}
			if c := toolRow(t, rep, "sast", "bandit").Config; !slices.Equal(c, tt.config) {
				t.Errorf("report.json config = %v, want %v", c, tt.config)
			}
		})
	}

	broken := []struct {
		name, file, body string
		want             []string
	}{
		{"bandit.yaml not YAML", "bandit.yaml", "skips: [B602\ntests: x\n", []string{"bandit configuration bandit.yaml:", "invalid YAML"}},
		{"bandit.yaml skips not a list", "bandit.yaml", "tests: [B101]\nskips: B602\n", []string{"bandit configuration bandit.yaml:2:", "skips"}},
		{"bandit.yaml empty", "bandit.yaml", "", []string{"bandit configuration bandit.yaml:", "empty"}},
		{".bandit without its section", ".bandit", "[tool]\nskips = B602\n", []string{"bandit configuration .bandit:", "[bandit]"}},
	}
	for _, tt := range broken {
		t.Run(tt.name, func(t *testing.T) {
			dir := testenv.Dir(t, files)
			testenv.Write(t, dir, map[string]string{tt.file: tt.body})
			rep, out := scanReport(t, 2, "--stages", "sast", dir)
			for _, w := range tt.want {
				if !strings.Contains(out, w) || !strings.Contains(strings.Join(rep.Errors, "\n"), w) {
					t.Errorf("output and report errors should hold %q:\n%s\n%v", w, out, rep.Errors)
				}
			}
		})
	}
}

// The repository's .trivyignore (real trivy v0.74.0 config scan of a
// Dockerfile): the check it names is gone, the others stay, report.json
// names the file; one trivy would misread is an input error naming it.
func TestScanHonoursTheRepositorysTrivyIgnore(t *testing.T) {
	testenv.Tool(t, "trivy")
	dockerfile := map[string]string{"Dockerfile": testenv.PlantedFiles()["Dockerfile"]}

	dir := testenv.Dir(t, dockerfile)
	rep, _ := scanReport(t, 1, "--stages", "dockerfile", dir)
	before := ruleIDs(rep, "trivy")
	if !slices.Contains(before, "DS-0001") || !slices.Contains(before, "DS-0026") {
		t.Fatalf("trivy should find DS-0001 and DS-0026 without an ignore file: %v", before)
	}

	testenv.Write(t, dir, map[string]string{".trivyignore": "# accepted until the base moves\nDS-0026 exp:2099-12-31\n"})
	rep, _ = scanReport(t, 1, "--stages", "dockerfile", dir)
	after := ruleIDs(rep, "trivy")
	if slices.Contains(after, "DS-0026") || !slices.Contains(after, "DS-0001") {
		t.Errorf("with DS-0026 ignored: %v (before %v)", after, before)
	}
	if c := toolRow(t, rep, "dockerfile", "trivy").Config; !slices.Equal(c, []string{".trivyignore"}) {
		t.Errorf("report.json config = %v, want [.trivyignore]", c)
	}

	testenv.Write(t, dir, map[string]string{".trivyignore": "DS-0026\nDS-0001 exp:2099-31-12\n"})
	_, out := scanReport(t, 2, "--stages", "dockerfile", dir)
	if !strings.Contains(out, "trivy configuration .trivyignore:2:") || !strings.Contains(out, "exp:YYYY-MM-DD") {
		t.Errorf("a broken .trivyignore should be named with its line:\n%s", out)
	}

	os.Remove(filepath.Join(dir, ".trivyignore"))
	testenv.Write(t, dir, map[string]string{"trivy.yaml": "severity: [HIGH\n"})
	_, out = scanReport(t, 2, "--stages", "dockerfile", dir)
	if !strings.Contains(out, "trivy configuration trivy.yaml:") {
		t.Errorf("a broken trivy.yaml should be named:\n%s", out)
	}
}
