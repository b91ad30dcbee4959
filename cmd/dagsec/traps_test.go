package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
)

// `policy show --preset NAME` prints that preset as extends, and what it
// prints loads back as the same preset.
func TestPolicyShowNamesThePreset(t *testing.T) {
	for _, preset := range []string{"default", "strict", "audit"} {
		code, stdout, stderr := dagsec(t, "policy", "show", "--preset", preset)
		if code != 0 || !strings.Contains(stdout, "\nextends: "+preset+"\n") {
			t.Errorf("policy show --preset %s: exit %d, want extends: %s\n%s%s", preset, code, preset, stdout, stderr)
		}
	}
}

// A suppression past its date: policy validate warns naming its line and
// still exits 0; the scan's stage line says any finding blocks, and the
// summary names the suppression (what it matched, owner, line, date).
func TestExpiredSuppressionIsNamed(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	src := testenv.Dir(t, testenv.LeakyFiles(t))
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	body := "version: 1\nsuppressions:\n" +
		"  - path: config/db.env\n    justification: test database\n    owner: platform-team\n    expires: 2025-01-31\n"
	if err := os.WriteFile(pol, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := dagsec(t, "policy", "validate", pol)
	want := pol + ":3: warning: the suppression of path config/db.env (owner platform-team) expired on 2025-01-31"
	if code != 0 || !strings.Contains(stdout, "valid policy") || !strings.Contains(stderr, want) {
		t.Errorf("validate: exit %d; want 0 and a warning %q\nstdout: %s\nstderr: %s", code, want, stdout, stderr)
	}

	out := filepath.Join(t.TempDir(), "r")
	code, stdout, stderr = dagsec(t, "scan", "--stages", "secrets", "--policy", pol, "--out", out, src)
	if code != 1 || !strings.Contains(stdout, "secrets     blocked  any finding blocks (policy: block_on info): 3 findings (3 critical)") {
		t.Fatalf("scan: exit %d, want 1 saying any finding blocks\n%s\n%s", code, stdout, stderr)
	}
	summary, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "- path config/db.env: owner platform-team, expired 2025-01-31 (`" + pol + ":3`); matches 1 finding(s)"; !strings.Contains(string(summary), want) {
		t.Errorf("summary.md does not name the expired suppression %q:\n%s", want, summary)
	}
}

// The small traps of item 6 of issue 21, each with the message that helps.
func TestSmallTrapsHaveHelpfulMessages(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	src := testenv.Dir(t, testenv.CleanFiles())
	prev := filepath.Join(t.TempDir(), "prev")
	if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--branch", "feature/login", "--out", prev, src); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	report := filepath.Join(prev, "report.json")
	sarif := filepath.Join(prev, "results.sarif")
	empty := t.TempDir()

	for _, tt := range []struct {
		name string
		args []string
		want []string // in stderr
		once string   // in stderr exactly once
	}{
		{"metrics --history of a file", []string{"metrics", "--history", report},
			[]string{"--history " + report + " is a file", "dagsec metrics " + report}, ""},
		{"report of a SARIF file", []string{"report", "--format", "markdown", sarif},
			[]string{"results.sarif", "this is a SARIF log, not a dagsec run report", "report.json"}, ""},
		{"metrics of a SARIF file", []string{"metrics", sarif},
			[]string{"SARIF log"}, ""},
		{"--baseline of a folder without report.json", []string{"scan", "--stages", "secrets", "--baseline", empty, "--out", t.TempDir(), src},
			[]string{"--baseline " + empty, "holds no report.json"}, ""},
		{"dast without --target", []string{"scan", "--stages", "dast", "--out", t.TempDir(), src},
			[]string{"--target URL"}, ""},
		{"missing source", []string{"scan", filepath.Join(empty, "nowhere")},
			[]string{"no such file or directory"}, "nowhere"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := dagsec(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.once != "" && strings.Count(stderr, tt.once) != 1 {
				t.Errorf("stderr names %q %d times, want once:\n%s", tt.once, strings.Count(stderr, tt.once), stderr)
			}
		})
	}

	t.Run("--baseline, report and metrics take a report folder", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r")
		if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--baseline", prev, "--out", out, src); code != 0 {
			t.Fatalf("--baseline DIR: exit %d: %s", code, stderr)
		}
		rep, err := pipeline.ReadReportFile(filepath.Join(out, "report.json"))
		if err != nil || rep.Baseline != report {
			t.Errorf("baseline %q, want %s (%v)", rep.Baseline, report, err)
		}
		summary, _ := os.ReadFile(filepath.Join(prev, "summary.md"))
		if code, stdout, stderr := dagsec(t, "report", "--format", "markdown", prev); code != 0 || stdout != string(summary) {
			t.Errorf("report DIR: exit %d, not the folder's summary: %s", code, stderr)
		}
		if code, _, stderr := dagsec(t, "metrics", prev); code != 0 {
			t.Errorf("metrics DIR: exit %d: %s", code, stderr)
		}
	})

	t.Run("metrics on a feature branch suggests --branch", func(t *testing.T) {
		hist := filepath.Dir(prev)
		code, _, stderr := dagsec(t, "metrics", "--history", hist)
		if code != 0 || !strings.Contains(stderr, `no run in `+hist+` is on the production branch "main" (the runs are on feature/login); pass --branch NAME`) {
			t.Errorf("exit %d; no hint to pass --branch:\n%s", code, stderr)
		}
		if code, _, stderr = dagsec(t, "metrics", "--history", hist, "--branch", "feature/login"); code != 0 || stderr != "" {
			t.Errorf("--branch feature/login: exit %d, stderr %q", code, stderr)
		}
	})
}
