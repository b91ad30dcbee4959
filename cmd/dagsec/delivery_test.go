package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/sarifio"
)

type savedRun struct {
	Status string `json:"status"`
	Stages []struct {
		Name, Status, Reason string
	} `json:"stages"`
	Findings []struct {
		Stage    string `json:"stage"`
		Tool     string `json:"tool"`
		RuleID   string `json:"rule_id"`
		Severity string `json:"severity"`
		Location struct {
			Path    string `json:"path"`
			Line    int    `json:"line"`
			Request *struct {
				Method, Path, Param string
			} `json:"request"`
		} `json:"location"`
	} `json:"findings"`
}

func readRun(t *testing.T, dir string) savedRun {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var run savedRun
	if err := json.Unmarshal(data, &run); err != nil {
		t.Fatal(err)
	}
	return run
}

// The host's DAST path end to end: a running staging given by URL, real
// wapiti against the sample app, the planted XSS found at the request and
// at the route's handler, and the gate deciding by the policy.
func TestScanDASTFindsTheSampleAppsXSS(t *testing.T) {
	if _, err := exec.LookPath("wapiti"); err != nil {
		t.Fatalf("wapiti is required (apt-get install wapiti; make deps installs it): %v", err)
	}
	target := testenv.StartSampleApp(t)
	src := testenv.SampleAppDir(t)
	strict := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(strict, []byte("stages:\n  dast:\n    block_on: medium\n    warn_only: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		policy   []string
		code     int
		dastWant string
	}{
		{"default policy warns", nil, 0, "warned"},
		{"blocking policy blocks", []string{"--policy", strict}, 1, "blocked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"scan", "--stages", "staging,dast", "--target", target, "--out", out}, tc.policy...)
			code, stdout, stderr := dagsec(t, append(args, src)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			run := readRun(t, out)
			for _, s := range run.Stages {
				if s.Name == "dast" && s.Status != tc.dastWant {
					t.Fatalf("dast %s (%s), want %s", s.Status, s.Reason, tc.dastWant)
				}
			}
			found := false
			for _, f := range run.Findings {
				if q := f.Location.Request; f.Stage == "dast" && f.Tool == "wapiti" && f.RuleID == "wapiti-xss" &&
					q != nil && q.Method == "GET" && q.Path == "/search" && q.Param == "q" {
					found = true
					// The handler the sample app registers for GET /search.
					if f.Location.Path != "main.go" || f.Location.Line != sampleAppRouteLine(t, src, `"GET /search"`) {
						t.Errorf("wapiti-xss at %s:%d, want the /search handler in main.go", f.Location.Path, f.Location.Line)
					}
				}
			}
			if !found {
				t.Fatalf("no wapiti-xss finding on GET /search?q in %+v", run.Findings)
			}
			checkDASTReports(t, out)
		})
	}
}

func TestScanDeliveryFlagErrors(t *testing.T) {
	dir := testenv.Dir(t, testenv.CleanFiles())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing image tarball", []string{"--stages", "build", "--image-tar", filepath.Join(dir, "nope.tar")}, "--image-tar"},
		{"unset deploy secret", []string{"--stages", "production", "--deploy-prod-cmd", "true", "--deploy-env", "DAGSEC_TEST_UNSET_VARIABLE"}, "DAGSEC_TEST_UNSET_VARIABLE: the variable is not set"},
		{"staging url without command", []string{"--stages", "staging", "--deploy-staging-url", "http://x.test/"}, "--deploy-staging-url needs --deploy-staging-cmd"},
		{"bad deploy env name", []string{"--deploy-env", "A=B"}, "want an environment variable name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"scan", "--out", t.TempDir()}, tc.args...), dir)
			code, _, stderr := dagsec(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d stderr %q, want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

// build and image on the host: a saved image tarball stands in for the
// engine's build; real gitleaks, trivy and syft check it.
func TestScanChecksAndScansASavedImage(t *testing.T) {
	for _, tool := range []string{"gitleaks", "trivy", "syft"} {
		testenv.Tool(t, tool)
	}
	tar, _ := testenv.ImageTarball(t, testenv.ImageSpec{
		Files: testenv.PlantedImageFiles(),
		Env:   []string{"PATH=/usr/bin", "AWS_ACCESS_KEY_ID=" + testenv.AWSKeyID},
	})
	// A source with the Dockerfile the image was built from.
	src := testenv.Dir(t, testenv.CleanCodeFiles())
	out := t.TempDir()
	code, stdout, stderr := dagsec(t, "scan", "--stages", "build,image", "--image-tar", tar, "--out", out, src)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (blocked)\n%s\n%s", code, stdout, stderr)
	}
	run := readRun(t, out)
	status := map[string]string{}
	for _, s := range run.Stages {
		status[s.Name] = s.Status
	}
	if status["build"] != "blocked" {
		t.Fatalf("build %s, want blocked (root user, secret in the environment): %+v", status["build"], run.Stages)
	}
	// The layer's AWS key is a secret trivy finds; image blocks only on
	// critical by default, so its status follows trivy's severity.
	want := map[string]bool{"build/dagsec/DAGSEC-IMG001": false, "build/gitleaks": false, "image/trivy/aws-access-key-id": false}
	for _, f := range run.Findings {
		switch {
		case f.Stage == "build" && f.Tool == "dagsec" && f.RuleID == "DAGSEC-IMG001":
			want["build/dagsec/DAGSEC-IMG001"] = true
		case f.Stage == "build" && f.Tool == "gitleaks":
			want["build/gitleaks"] = true
		case f.Stage == "image" && f.Tool == "trivy" && f.RuleID == "aws-access-key-id":
			want["image/trivy/aws-access-key-id"] = true
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("missing finding %s in %+v\n%s", k, run.Findings, stdout)
		}
	}
	// The image was built from the source's Dockerfile: every finding about
	// it is at an instruction there, never at the tarball as if it were a
	// file: the root user at USER, the environment's key at the FROM that
	// brought it (no ENV sets it), the layer's key at the COPY of its layer.
	at := map[string]string{}
	for _, f := range run.Findings {
		if f.Location.Path != "Dockerfile" || f.Location.Line < 1 {
			t.Errorf("%s/%s %s at %s:%d, want a line of the Dockerfile", f.Stage, f.Tool, f.RuleID, f.Location.Path, f.Location.Line)
		}
		at[f.Stage+"/"+f.Tool+"/"+f.RuleID] += fmt.Sprintf(" %d", f.Location.Line)
	}
	for k, lines := range map[string]string{"build/dagsec/DAGSEC-IMG001": " 3", "build/gitleaks/aws-access-token": " 1", "image/trivy/aws-access-key-id": " 1 2"} {
		got := strings.Fields(at[k])
		slices.Sort(got)
		if strings.Join(got, " ") != strings.TrimSpace(lines) {
			t.Errorf("%s at Dockerfile lines %v, want%s", k, got, lines)
		}
	}
	sarif, err := os.ReadFile(filepath.Join(out, "results.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sarifio.CodeScanningProblems(sarif) {
		t.Errorf("results.sarif: %s", p)
	}
	for _, name := range []string{"report.json", "results.sarif", "summary.md"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{testenv.AWSKeyID, testenv.DBPassword} {
			if strings.Contains(string(data), secret) {
				t.Errorf("%s holds a secret value", name)
			}
		}
	}
	sbom, err := os.ReadFile(filepath.Join(out, "sbom-image.cdx.json"))
	if err != nil || !strings.Contains(string(sbom), "zlib1g") {
		t.Fatalf("image SBOM missing or without the image's package: %v", err)
	}
}

// Without a container engine or a saved image, build and image are
// skipped; a run of only those scanned nothing, which is not a pass: exit
// 3, the verdict line and GitHub's outputs say so.
func TestSkippedDeliveryIsNotAPass(t *testing.T) {
	src := testenv.Dir(t, map[string]string{"Dockerfile": "FROM alpine:3.20\nUSER app\n"})
	out := filepath.Join(t.TempDir(), "r")
	code, stdout, stderr := dagsec(t, "scan", "--stages", "build,image", "--out", out, src)
	if code != 3 {
		t.Fatalf("exit %d, want 3 (nothing scanned)\n%s\n%s", code, stdout, stderr)
	}
	if all := stdout + stderr; !strings.Contains(all, "nothing scanned: every stage was skipped, not passed (exit 3)") {
		t.Errorf("the verdict line does not say nothing was scanned:\n%s", all)
	}
	outputs, err := os.ReadFile(filepath.Join(out, "github-outputs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(outputs), "passed=false") || !strings.Contains(string(outputs), "status=skipped") {
		t.Errorf("github outputs:\n%s", outputs)
	}
}
