package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/policies"
)

// savedReport is the part of report.json these tests read.
type savedReport struct {
	Policy string `json:"policy"`
	Stages []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"stages"`
}

func readSavedReport(t *testing.T, out string) savedReport {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r savedReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r savedReport) status(stage string) string {
	for _, s := range r.Stages {
		if s.Name == stage {
			return s.Status
		}
	}
	return ""
}

// scan without --policy applies the source's .dagsec.yaml, as if it had
// been given as --policy; --policy, when given, is the only policy read. The
// source holds a planted secret, so the default policy blocks.
func TestScanAppliesSourcePolicy(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	elsewhere := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(elsewhere, []byte("version: 1\nstages:\n  secrets:\n    warn_only: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		repoPolicy string // "" is none
		args       []string
		code       int
		status     string // the secrets stage's
		policy     string // report.json's policy; "<repo>" is the source's .dagsec.yaml
	}{
		{"no .dagsec.yaml", "", nil, 1, "blocked", "default"},
		{"warn_only", "version: 1\nstages:\n  secrets:\n    warn_only: true\n", nil, 0, "warned", "<repo>"},
		{"stage disabled", "stages: {secrets: {enabled: false}}\n", nil, 3, "skipped", "<repo>"}, // nothing scanned
		{"over --preset", "version: 1\nstages:\n  secrets:\n    warn_only: true\n", []string{"--preset", "audit"}, 0, "warned", "<repo>"},
		{"--preset conflicts with its extends", "extends: strict\n", []string{"--preset", "audit"}, 2, "", ""},
		{"--policy wins", "stages: {secrets: {blok_on: high}}\n", []string{"--policy", elsewhere}, 0, "warned", elsewhere},
		{"--policy not layered over it", "stages: {secrets: {enabled: false}}\n", []string{"--policy", elsewhere}, 0, "warned", elsewhere},
		{"--policy over --preset", "stages: {secrets: {enabled: false}}\n", []string{"--policy", elsewhere, "--preset", "strict"}, 0, "warned", elsewhere},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := testenv.Dir(t, testenv.LeakyFiles(t))
			repoFile := filepath.Join(src, policies.RepoFile)
			if tc.repoPolicy != "" {
				if err := os.WriteFile(repoFile, []byte(tc.repoPolicy), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "report")
			args := append([]string{"scan", "--stages", "secrets", "--out", out}, tc.args...)
			code, stdout, stderr := dagsec(t, append(args, src)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if code == 2 {
				if !strings.Contains(stderr, repoFile+":1") {
					t.Errorf("the error does not name %s:1: %s", repoFile, stderr)
				}
				return
			}
			want := tc.policy
			if want == "<repo>" {
				want = repoFile
			}
			r := readSavedReport(t, out)
			if r.Policy != want {
				t.Errorf("report.json policy = %q, want %q", r.Policy, want)
			}
			if got := r.status("secrets"); got != tc.status {
				t.Errorf("secrets is %q, want %q\nstdout: %s", got, tc.status, stdout)
			}
			// Saying so only when the source's policy applied.
			if said := strings.Contains(stderr, "the source's own"); said != (tc.policy == "<repo>") {
				t.Errorf("stderr mentions the source's policy: %v, want %v\n%s", said, !said, stderr)
			}
		})
	}
}

// With no PATH, scan's source is the current folder, and so is its .dagsec.yaml.
func TestScanCurrentFolderAppliesItsPolicy(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	src := testenv.Dir(t, testenv.LeakyFiles(t))
	testenv.Write(t, src, map[string]string{policies.RepoFile: "stages:\n  secrets:\n    warn_only: true\n"})
	out := filepath.Join(t.TempDir(), "report")
	t.Chdir(src)
	code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if r := readSavedReport(t, out); r.Policy != policies.RepoFile || r.status("secrets") != "warned" {
		t.Errorf("report.json policy %q, secrets %q; want %q, warned", r.Policy, r.status("secrets"), policies.RepoFile)
	}
	if strings.Contains(stderr, "the source's own") {
		t.Errorf("--quiet printed the policy note: %s", stderr)
	}
}

// policy validate with no FILE checks ./.dagsec.yaml.
func TestPolicyValidateDefaultsToRepoFile(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		args    []string
		code    int
		want    string // in stdout when code is 0, else in stderr
		notWant string // in either
	}{
		{"valid", write(policies.RepoFile, "version: 1\nimages:\n  trivy: mirror.internal/aquasec/trivy:0.74.0\n"),
			nil, 0, ".dagsec.yaml: valid policy (extends default)", ""},
		{"extends strict", write(policies.RepoFile, "extends: strict\n"), nil, 0, ".dagsec.yaml: valid policy (extends strict)", ""},
		{"over --preset", write(policies.RepoFile, "version: 1\n"), []string{"--preset", "audit"}, 0, ".dagsec.yaml: valid policy (extends audit)", ""},
		{"unknown key", write(policies.RepoFile, "version: 1\nimages:\n  gitleak: m/gitleaks:1\n"), nil, 2, `.dagsec.yaml:3: unknown key "gitleak" in images`, ""},
		{"none", func(*testing.T, string) {}, nil, 2, "no FILE given and no .dagsec.yaml here", ""},
		{"only another file", write("policy.yaml", "version: 1\n"), nil, 2, "no FILE given and no .dagsec.yaml here", ""},
		{"symlink", func(t *testing.T, dir string) {
			write("policy.yaml", "version: 1\n")(t, dir)
			if err := os.Symlink("policy.yaml", filepath.Join(dir, policies.RepoFile)); err != nil {
				t.Fatal(err)
			}
		}, nil, 2, "symlink", "valid policy"},
		{"folder", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, policies.RepoFile), 0o755); err != nil {
				t.Fatal(err)
			}
		}, nil, 2, "folder", ""},
		{"FILE given", func(t *testing.T, dir string) {
			write(policies.RepoFile, "bogus: 1\n")(t, dir)
			write("policy.yaml", "version: 1\n")(t, dir)
		}, []string{"policy.yaml"}, 0, "policy.yaml: valid policy", "bogus"},
		{"two FILEs", write("policy.yaml", "version: 1\n"), []string{"policy.yaml", "policy.yaml"}, 2, "takes one FILE", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			t.Chdir(dir)
			code, stdout, stderr := dagsec(t, append([]string{"policy", "validate"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			got := stderr
			if code == 0 {
				got = stdout
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tc.want, stdout, stderr)
			}
			if tc.notWant != "" && strings.Contains(stdout+stderr, tc.notWant) {
				t.Errorf("output has %q:\nstdout: %s\nstderr: %s", tc.notWant, stdout, stderr)
			}
		})
	}
}

func write(name, body string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		testenv.Write(t, dir, map[string]string{name: body})
	}
}

// policy show prints a policy's images, sorted, and what it prints validates.
func TestPolicyShowPrintsImages(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mirror.yaml")
	body := "version: 1\nimages:\n  trivy: registry.internal/mirror/aquasec/trivy:0.74.0\n  helper: registry.internal/mirror/library/busybox:1.37.0\n  gitleaks: registry.internal/mirror/gitleaks/gitleaks:v8.30.1\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := dagsec(t, "policy", "show", "--policy", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "images:\n  gitleaks: registry.internal/mirror/gitleaks/gitleaks:v8.30.1\n  helper: registry.internal/mirror/library/busybox:1.37.0\n  trivy: registry.internal/mirror/aquasec/trivy:0.74.0\n"
	if !strings.Contains(stdout, want) {
		t.Errorf("policy show lacks\n%s\ngot\n%s", want, stdout)
	}
	shown := filepath.Join(dir, "shown.yaml")
	os.WriteFile(shown, []byte(stdout), 0o644)
	if code, _, stderr := dagsec(t, "policy", "validate", shown); code != 0 {
		t.Errorf("shown policy does not validate: %s", stderr)
	}
}
