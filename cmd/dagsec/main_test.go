package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/sarifio"
)

func dagsec(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestScanLeakyRepositoryExitsOneAndWritesRedactedReports(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	dir := testenv.GitRepo(t, testenv.LeakyFiles(t))
	out := filepath.Join(t.TempDir(), "reports")
	code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--out", out, dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, name := range []string{"report.json", "results.sarif", "summary.md"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{testenv.AWSKeyID, testenv.DBPassword} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds a secret value", name)
			}
		}
		if name == "results.sarif" {
			if err := sarifio.Validate(b); err != nil {
				t.Errorf("results.sarif: %v", err)
			}
		}
	}
	if strings.Contains(stdout+stderr, testenv.AWSKeyID) || strings.Contains(stdout+stderr, testenv.DBPassword) {
		t.Errorf("a secret value was printed")
	}
	if !strings.Contains(stdout, "secrets") || !strings.Contains(stdout, "blocked") {
		t.Errorf("stdout does not show the blocked stage: %s", stdout)
	}
}

func TestScanCleanRepositoryExitsZero(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	dir := testenv.GitRepo(t, testenv.CleanFiles())
	out := t.TempDir()
	// Flags after the path work too.
	code, stdout, stderr := dagsec(t, "scan", dir, "--out", out, "--stages", "secrets")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

func TestScanHistoryFindsRemovedSecret(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	dir := testenv.GitRepo(t, map[string]string{"config/db.env": "DATABASE_URL=" + testenv.DatabaseURL + "\n"})
	testenv.Write(t, dir, map[string]string{"config/db.env": "DATABASE_URL=\n"})
	testenv.Commit(t, dir, "drop url")
	if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--out", t.TempDir(), dir); code != 0 {
		t.Fatalf("working tree should be clean: exit %d %s", code, stderr)
	}
	if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--history", "--out", t.TempDir(), dir); code != 1 {
		t.Fatalf("history scan: exit %d, want 1: %s", code, stderr)
	}
}

func TestPolicyWithUnknownKeyExitsTwoNamingKeyAndLine(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	body := "version: 1\nstages:\n  secrets:\n    enabled: true\n    blok_on: high\n"
	if err := os.WriteFile(pol, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"policy", "validate", pol},
		{"scan", "--policy", pol, "--out", t.TempDir(), dir},
	} {
		code, _, stderr := dagsec(t, args...)
		if code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
		if !strings.Contains(stderr, "blok_on") || !strings.Contains(stderr, "policy.yaml:5") {
			t.Errorf("%v: error does not name the key and line: %s", args, stderr)
		}
	}
}

func TestInputErrorsExitTwo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"scan", "--stages", "nosuch", dir},
		{"scan", "--preset", "nosuch", dir},
		{"scan", filepath.Join(dir, "missing")},
		{"scan", file},
		{"scan", "--bogus-flag", dir},
		{"scan", dir, dir},
		{"policy", "validate", filepath.Join(dir, "missing.yaml")},
		{"policy", "show", "--preset", "nosuch"},
		{"tools", "install", "nosuchtool"},
	} {
		if code, _, stderr := dagsec(t, args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, code, stderr)
		}
	}
}

func TestPolicyShowRoundTrips(t *testing.T) {
	for _, preset := range []string{"default", "strict", "audit"} {
		code, stdout, stderr := dagsec(t, "policy", "show", "--preset", preset)
		if code != 0 {
			t.Fatalf("show %s: exit %d %s", preset, code, stderr)
		}
		p := filepath.Join(t.TempDir(), preset+".yaml")
		os.WriteFile(p, []byte(stdout), 0o644)
		if code, _, stderr := dagsec(t, "policy", "validate", p); code != 0 {
			t.Fatalf("shown %s policy does not validate: %s", preset, stderr)
		}
	}
}

func TestToolsInstallIsIdempotent(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	t.Setenv("DAGSEC_TOOLS_DIR", testenv.Installer(t).Dir)
	code, stdout, stderr := dagsec(t, "tools", "install", "gitleaks")
	if code != 0 || !strings.Contains(stdout, "already installed") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, _ = dagsec(t, "tools", "list")
	if code != 0 || !strings.Contains(stdout, "gitleaks") || !strings.Contains(stdout, "v8.30.1") {
		t.Fatalf("tools list: %d %s", code, stdout)
	}
	// Every pinned tool is listed, with how this machine gets it.
	for _, want := range []string{"gosec", "govulncheck", "osv-scanner", "trivy", "syft", "tfsec", "vulndb", "bandit", "Debian"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("tools list lacks %q:\n%s", want, stdout)
		}
	}
	for _, imageOnly := range []string{"semgrep", "checkov", "hadolint"} {
		if !strings.Contains(stdout, imageOnly) || !strings.Contains(stdout, "image only") {
			t.Errorf("tools list must show %s as image only:\n%s", imageOnly, stdout)
		}
	}
	if code, _, stderr := dagsec(t, "tools", "install", "semgrep"); code != 2 || !strings.Contains(stderr, "Dagger module") {
		t.Errorf("installing an image-only tool: exit %d, want 2 naming the Dagger module (%s)", code, stderr)
	}
}

func TestScanWithCrashingToolExitsTwo(t *testing.T) {
	inst := testenv.FakeTools(t, "gitleaks", `echo "fatal: boom" >&2; exit 1`)
	dir := testenv.Dir(t, testenv.CleanFiles())
	out := t.TempDir()
	code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--tools-dir", inst.Dir, "--no-install", "--out", out, dir)
	if code != 2 {
		t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// The reason is shown once, in the stage's line; stderr does not
	// repeat it in another format.
	if !strings.Contains(stdout, "secrets     error") || strings.Count(stdout+stderr, "fatal: boom") != 1 {
		t.Errorf("the tool error is not shown exactly once:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
	// --quiet keeps it (and only it, with the last line).
	code, stdout, stderr = dagsec(t, "scan", "-q", "--stages", "secrets", "--tools-dir", inst.Dir, "--no-install", "--out", out, dir)
	if code != 2 || strings.Count(stdout+stderr, "fatal: boom") != 1 || !strings.Contains(stderr, "dagsec: secrets: 1 tool error: gitleaks") {
		t.Errorf("--quiet: exit %d; the error's reason must be shown once:\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "started") || strings.Contains(stdout, "secrets     error") {
		t.Errorf("--quiet printed progress or stage lines:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
	// The reports are still written, saying why.
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || !bytes.Contains(b, []byte(`"status": "error"`)) {
		t.Errorf("report.json: %v\n%s", err, b)
	}
}

func TestReportConvertsASavedRunReport(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	dir := testenv.Dir(t, testenv.LeakyFiles(t))
	out := t.TempDir()
	if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--out", out, dir); code != 1 {
		t.Fatalf("scan exit %d: %s", code, stderr)
	}
	saved := filepath.Join(out, "report.json")
	for format, file := range map[string]string{"sarif": "results.sarif", "markdown": "summary.md", "json": "report.json"} {
		code, stdout, stderr := dagsec(t, "report", "--format", format, saved)
		if code != 0 {
			t.Fatalf("report --format %s: exit %d %s", format, code, stderr)
		}
		want, _ := os.ReadFile(filepath.Join(out, file))
		if stdout != string(want) {
			t.Errorf("report --format %s differs from the scan's %s", format, file)
		}
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	for _, body := range []string{"", "{", `{"schema_version":"99"}`, "\x00\x01", `{"schema_version":"1","findings":[{"stage":"s"}]}`} {
		os.WriteFile(bad, []byte(body), 0o644)
		if code, _, stderr := dagsec(t, "report", "--format", "sarif", bad); code != 2 || !strings.Contains(stderr, "bad.json") {
			t.Errorf("report of %q: exit %d, stderr %q", body, code, stderr)
		}
	}
	if code, _, _ := dagsec(t, "report", "--format", "pdf", saved); code != 2 {
		t.Errorf("unknown format accepted")
	}
}

// dagsec's own repository must pass its own secrets gate: planted test
// secrets are assembled at run time, never committed whole.
func TestOwnRepositoryHasNoSecrets(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--out", t.TempDir(), "../..")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// The host interface of the code stages: one command runs them all over a
// planted repository, blocks, and writes the reports and both SBOMs.
func TestScanCodeStagesOnPlantedRepository(t *testing.T) {
	inst := testenv.Installer(t)
	t.Setenv("DAGSEC_TOOLS_DIR", inst.Dir)
	dir := testenv.Dir(t, testenv.PlantedFiles())
	testenv.GoModTidy(t, dir)
	out := filepath.Join(t.TempDir(), "reports")
	code, stdout, stderr := dagsec(t, "scan", "--stages", "sast,sca,licenses,iac,dockerfile", "--out", out, dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (blocked)\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, line := range []string{"sca         blocked", "iac         blocked", "sast        warned", "licenses    blocked"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, stdout)
		}
	}
	for _, name := range []string{"report.json", "results.sarif", "summary.md", "sbom.cdx.json", "sbom.spdx.json"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	sarif, err := os.ReadFile(filepath.Join(out, "results.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sarifio.Validate(sarif); err != nil {
		t.Errorf("results.sarif: %v", err)
	}
	for _, id := range []string{"dagsec/sast/gosec/", "dagsec/sast/bandit/", "dagsec/sca/govulncheck/", "dagsec/iac/trivy/", "dagsec/licenses/syft/", "dagsec/dockerfile/dagsec/"} {
		if !bytes.Contains(sarif, []byte(id)) {
			t.Errorf("results.sarif has no run %s", id)
		}
	}
	checkCodeScanning(t, dir, sarif)
	checkDependencyScanning(t, out)
}
