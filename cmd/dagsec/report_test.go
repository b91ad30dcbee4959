package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
)

// One scan writes every CI format next to report.json, and `report`
// converts the saved report into the same files.
func TestScanWritesEveryCIFormatAndReportConvertsThem(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	dir := testenv.Dir(t, testenv.LeakyFiles(t))
	out := t.TempDir()
	// A file of an earlier run that this one does not write is removed.
	stale := filepath.Join(out, "gl-dast-report.json")
	if err := os.WriteFile(stale, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567")
	if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--out", out, dir); code != 1 {
		t.Fatalf("scan exit %d: %s", code, stderr)
	}
	for _, name := range []string{"report.json", "results.sarif", "summary.md", "junit.xml", "gl-secret-detection-report.json", "gl-code-quality-report.json"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatalf("scan did not write %s: %v", name, err)
		}
		for _, secret := range []string{testenv.AWSKeyID, testenv.DBPassword} {
			if strings.Contains(string(data), secret) {
				t.Errorf("%s holds a secret value", name)
			}
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale gl-dast-report.json of an earlier run is still there")
	}
	var sec struct {
		Vulnerabilities []struct {
			Location struct {
				Commit struct{ SHA string } `json:"commit"`
			} `json:"location"`
		} `json:"vulnerabilities"`
	}
	data, _ := os.ReadFile(filepath.Join(out, "gl-secret-detection-report.json"))
	if err := json.Unmarshal(data, &sec); err != nil || len(sec.Vulnerabilities) == 0 || sec.Vulnerabilities[0].Location.Commit.SHA != os.Getenv("CI_COMMIT_SHA") {
		t.Fatalf("secret detection report: %v %+v", err, sec)
	}

	saved := filepath.Join(out, "report.json")
	conv := t.TempDir()
	if code, _, stderr := dagsec(t, "report", "--format", "gitlab", "--out", conv, saved); code != 0 {
		t.Fatalf("report --format gitlab: exit %d %s", code, stderr)
	}
	for _, name := range []string{"gl-secret-detection-report.json", "gl-code-quality-report.json"} {
		want, _ := os.ReadFile(filepath.Join(out, name))
		got, err := os.ReadFile(filepath.Join(conv, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("report --format gitlab: %s differs from the scan's (%v)", name, err)
		}
	}
	code, stdout, stderr := dagsec(t, "report", "--format", "junit", saved)
	if want, _ := os.ReadFile(filepath.Join(out, "junit.xml")); code != 0 || stdout != string(want) {
		t.Errorf("report --format junit: exit %d, differs from the scan's junit.xml: %s", code, stderr)
	}
}

// --format github speaks GitHub Actions: workflow commands on stdout, the
// summary and outputs into the files the runner names.
func TestReportFormatGitHub(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	dir := testenv.Dir(t, testenv.LeakyFiles(t))
	out := t.TempDir()
	if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--out", out, dir); code != 1 {
		t.Fatalf("scan exit %d: %s", code, stderr)
	}
	gh := t.TempDir()
	summary, outputs := filepath.Join(gh, "summary"), filepath.Join(gh, "output")
	for _, f := range []string{summary, outputs} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	t.Setenv("GITHUB_OUTPUT", outputs)
	code, stdout, stderr := dagsec(t, "report", "--format", "github", filepath.Join(out, "report.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "::error ") || !strings.Contains(stdout, "file=config/db.env,line=1") {
		t.Errorf("annotations: %q", stdout)
	}
	for _, secret := range []string{testenv.AWSKeyID, testenv.DBPassword} {
		if strings.Contains(stdout, secret) {
			t.Error("an annotation holds a secret value")
		}
	}
	md, _ := os.ReadFile(summary)
	if want, _ := os.ReadFile(filepath.Join(out, "summary.md")); !strings.Contains(string(md), strings.TrimSpace(string(want))[:40]) {
		t.Errorf("job summary not appended: %q", md)
	}
	o, _ := os.ReadFile(outputs)
	sc := bufio.NewScanner(strings.NewReader(string(o)))
	found := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "passed<<") {
			sc.Scan()
			found = sc.Text() == "false"
		}
	}
	if !found {
		t.Errorf("outputs lack passed=false: %q", o)
	}
}
