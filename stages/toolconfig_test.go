package stages

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestConfigChecksNameTheLine(t *testing.T) {
	tests := []struct {
		name  string
		check configCheck
		body  string
		line  int    // 0: valid
		msg   string // part of the message
	}{
		{"bandit yaml", checkBanditYAML, "skips: [B101, B601]\nexclude_dirs: [tests, venv, .venv]\ntests: [B102, B103]\n", 0, ""},
		{"bandit yaml plugin settings", checkBanditYAML, "assert_used:\n  skips: ['*_test.py']\n", 0, ""},
		{"bandit yaml syntax", checkBanditYAML, "skips: [B101\n", 1, "invalid YAML"},
		{"bandit yaml skips scalar", checkBanditYAML, "tests: [B101]\nskips: B602\n", 2, "skips: want a list"},
		{"bandit yaml list of lists", checkBanditYAML, "skips:\n  - [B101]\n", 2, "non-empty strings"},
		{"bandit yaml empty", checkBanditYAML, "", 0, "empty"},
		{"bandit yaml top-level list", checkBanditYAML, "- B101\n", 1, "mapping"},
		{"bandit ini", checkBanditINI, "# settings\n[bandit]\nskips = B101,B601\nexclude: ./tests\n  ,./venv\n", 0, ""},
		{"bandit ini no section", checkBanditINI, "[other]\nskips = B101\n", 0, "[bandit]"},
		{"bandit ini setting before section", checkBanditINI, "skips = B101\n[bandit]\n", 1, "before any"},
		{"bandit ini bad header", checkBanditINI, "[bandit\nskips = B1\n", 1, "closing"},
		{"bandit ini bare word", checkBanditINI, "[bandit]\nskips\n", 2, "key = value"},
		{"binary", checkBanditINI, "[bandit]\x00\n", 0, "not a text file"},
		{"hadolint", checkHadolint, "ignored: [DL3008, SC2086]\ntrustedRegistries: [docker.io]\noverride:\n  error: [DL3001]\nfailure-threshold: warning\n", 0, ""},
		{"hadolint typo", checkHadolint, "ignore: [DL3008]\n", 1, `unknown key "ignore"`},
		{"hadolint override level", checkHadolint, "override:\n  fatal: [DL3001]\n", 2, `unknown level "fatal"`},
		{"hadolint override list", checkHadolint, "override:\n  error: DL3001\n", 2, "override.error"},
		{"hadolint threshold", checkHadolint, "failure-threshold: severe\n", 1, "failure-threshold"},
		{"trivyignore", checkTrivyIgnore, "# comment\nCVE-2023-1234\nDS-0026 exp:2027-01-31 # until v2\n\n", 0, ""},
		{"trivyignore bad date", checkTrivyIgnore, "CVE-1\nDS-0001 exp:2027-31-01\n", 2, "exp:YYYY-MM-DD"},
		{"trivyignore exp first", checkTrivyIgnore, "exp:2027-01-01 CVE-1\n", 1, "starts with exp:"},
		{"semgrep", checkSemgrepRules, "rules:\n  - id: x\n    pattern: eval(...)\n    message: m\n    languages: [python]\n    severity: ERROR\n", 0, ""},
		{"semgrep no rules", checkSemgrepRules, "rule: []\n", 0, "rules:"},
		{"semgrep rules scalar", checkSemgrepRules, "rules: x\n", 1, "list of rules"},
		{"tfsec", checkTfsec, "exclude: [aws-s3-enable-bucket-logging]\nminimum_severity: MEDIUM\nseverity_overrides:\n  aws-s3-enable-versioning: LOW\n", 0, ""},
		{"tfsec json", checkTfsec, `{"exclude": ["aws-vpc-no-public-ingress-sgr"]}`, 0, ""},
		{"tfsec severity", checkTfsec, "minimum_severity: SEVERE\n", 1, "minimum_severity"},
		{"yaml duplicate key", checkYAMLMapping, "severity: [HIGH]\nseverity: [LOW]\n", 2, "duplicate"},
		{"toml", checkTOML, "title = \"x\"\n[extend]\nuseDefault = true\n", 0, ""},
		{"toml broken", checkTOML, "[extend]\nuseDefault = \n", 2, "invalid TOML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.check([]byte(tt.body))
			if tt.msg == "" {
				if e != nil {
					t.Fatalf("valid file refused: %v", e)
				}
				return
			}
			if e == nil {
				t.Fatal("broken file accepted")
			}
			if e.Line != tt.line || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got line %d %q, want line %d and %q", e.Line, e.Msg, tt.line, tt.msg)
			}
		})
	}
}

// Each tool is handed the configuration it finds, explicitly, and the plan
// records it; the policy's per_tool config replaces the main file.
func TestPlansPassTheRepositorysToolConfigs(t *testing.T) {
	src := map[string]string{
		"app.py": "x = 1\n", "main.go": "package main\n", "Dockerfile": "FROM scratch\n",
		"main.tf":           "resource \"aws_s3_bucket\" \"b\" {}\n",
		"bandit.yaml":       "skips: [B602]\nexclude_dirs: [tests, src/legacy]\n",
		".semgrep.yml":      "rules: []\n",
		".semgrepignore":    "tests/\n",
		".hadolint.yaml":    "ignored: [DL3008]\n",
		"trivy.yaml":        "severity: [HIGH, CRITICAL]\n",
		".trivyignore":      "DS-0026\n",
		".checkov.yaml":     "skip-check: [CKV_AWS_18]\n",
		".tfsec/config.yml": "exclude: [aws-s3-enable-versioning]\n",
		"ci/hadolint.yaml":  "ignored: [DL3007]\n",
	}
	probe := treeProbe{files: src, tools: everyTool}
	tests := []struct {
		stage, tool string
		opts        Options
		config      []string
		args        [][]string // each in argv, in order
	}{
		{SAST, "bandit", Options{}, []string{"bandit.yaml"},
			[][]string{{"-c", SourceDir + "/bandit.yaml"}, {"-x", strings.Join(banditExcludes, ",") + ",/tests/,./src/legacy/"}}},
		{SAST, "semgrep", Options{}, []string{".semgrep.yml", ".semgrepignore"}, [][]string{{"--config", SourceDir + "/.semgrep.yml", "."}}},
		{Dockerfile, "hadolint", Options{}, []string{".hadolint.yaml"}, [][]string{{"hadolint", "--config", SourceDir + "/.hadolint.yaml"}}},
		{Dockerfile, "hadolint", Options{ToolConfigs: map[string]string{"hadolint": "ci/hadolint.yaml"}}, []string{"ci/hadolint.yaml"},
			[][]string{{"--config", SourceDir + "/ci/hadolint.yaml"}}},
		{Dockerfile, "trivy", Options{}, []string{"trivy.yaml", ".trivyignore"},
			[][]string{{"--config", SourceDir + "/trivy.yaml"}, {"--ignorefile", SourceDir + "/.trivyignore"}}},
		{IaC, "checkov", Options{}, []string{".checkov.yaml"}, [][]string{{"--config-file", SourceDir + "/.checkov.yaml"}}},
		{IaC, "tfsec", Options{Tools: []string{"tfsec"}}, []string{".tfsec/config.yml"}, [][]string{{"--config-file", SourceDir + "/.tfsec/config.yml"}}},
		{Secrets, "gitleaks", Options{}, nil, [][]string{{"--config", InputDir + "/gitleaks.toml"}}},
	}
	for _, tt := range tests {
		t.Run(tt.stage+"/"+tt.tool, func(t *testing.T) {
			p := planned(t, tt.stage, tt.opts, probe)[tt.stage+"/"+tt.tool]
			if !slices.Equal(p.Config, tt.config) {
				t.Errorf("config %v, want %v", p.Config, tt.config)
			}
			for _, want := range tt.args {
				if !containsRun(p.Step.Argv, want) {
					t.Errorf("argv %q lacks %q", p.Step.Argv, want)
				}
			}
		})
	}

	// A broken file is an error naming it and its line; so is a per_tool
	// config that is not in the source.
	broken := []struct {
		file, body, tool string
		opts             Options
		stage, want      string
	}{
		{".hadolint.yaml", "ignored: DL3008\n", "hadolint", Options{}, Dockerfile, "hadolint configuration .hadolint.yaml:1: ignored: want a list"},
		{".checkov.yaml", "skip-check: [\n", "checkov", Options{}, IaC, "checkov configuration .checkov.yaml:"},
		{".gitleaks.toml", "[extend\n", "gitleaks", Options{}, Secrets, "gitleaks configuration .gitleaks.toml:2: invalid TOML"},
		{"unused", "", "trivy", Options{ToolConfigs: map[string]string{"trivy": "ci/trivy.yaml"}}, Dockerfile, "trivy configuration ci/trivy.yaml: does not exist"},
		{"unused", "", "gitleaks", Options{Config: "ci/gitleaks.toml"}, Secrets, "gitleaks configuration ci/gitleaks.toml: does not exist"},
	}
	for _, tt := range broken {
		t.Run("broken "+tt.file+" "+tt.tool, func(t *testing.T) {
			files := map[string]string{tt.file: tt.body, "Dockerfile": "FROM scratch\n", "main.tf": src["main.tf"]}
			_, err := PlanStage(context.Background(), tt.stage, tt.opts, treeProbe{files: files, tools: everyTool})
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a ConfigError with %q", err, tt.want)
			}
		})
	}
}

// containsRun reports whether want appears in argv as consecutive items.
func containsRun(argv, want []string) bool {
	for i := 0; i+len(want) <= len(argv); i++ {
		if slices.Equal(argv[i:i+len(want)], want) {
			return true
		}
	}
	return false
}
