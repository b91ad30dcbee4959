package stages_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

// Planted IaC, shared by the tfsec and trivy tests: a bucket with a public
// ACL on line 3 and a security group open to SSH from anywhere on line 15.
const plantedTerraform = `resource "aws_s3_bucket" "public" {
  bucket = "dagsec-planted-public"
  acl    = "public-read"
}

resource "aws_security_group" "ssh" {
  name        = "open-ssh"
  description = "SSH from anywhere"

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`

// cleanTerraform passes every tfsec and trivy check: HTTPS from a private
// range only, every rule described, no egress.
const cleanTerraform = `resource "aws_security_group" "internal_https" {
  name        = "internal-https"
  description = "HTTPS from the private network"

  ingress {
    description = "HTTPS from the VPC"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/16"]
  }
}
`

// scanResult is one real tool run.
type scanResult struct {
	code     int
	report   []byte
	stderr   string
	duration time.Duration
}

// runScanner runs argv (argv[0] replaced by bin) in dir with a timeout and
// reads the report file.
func runScanner(t *testing.T, bin, dir, report string, timeout time.Duration, argv []string, env ...string) scanResult {
	t.Helper()
	r := testenv.Exec(t, bin, dir, argv, append(os.Environ(), env...), timeout)
	res := scanResult{code: r.Code, stderr: string(r.Stderr), duration: r.Duration}
	if report != "" {
		if data, err := os.ReadFile(report); err == nil {
			res.report = data
		}
	}
	return res
}

func runTfsec(t *testing.T, dir string) ([]findings.Finding, scanResult) {
	t.Helper()
	bin := testenv.Tool(t, "tfsec")
	report := filepath.Join(t.TempDir(), "tfsec.json")
	res := runScanner(t, bin, dir, report, 2*time.Minute, stages.TfsecArgv(report))
	if !slices.Contains(stages.TfsecOKCodes, res.code) && !slices.Contains(stages.TfsecFindingCodes, res.code) {
		t.Fatalf("tfsec exited %d: %s", res.code, res.stderr)
	}
	fs, err := stages.ParseTfsec(res.report, dir)
	if err != nil {
		t.Fatalf("tfsec report: %v\n%s", err, res.report)
	}
	return fs, res
}

func findRule(fs []findings.Finding, rule string) (findings.Finding, bool) {
	for _, f := range fs {
		if f.RuleID == rule {
			return f, true
		}
	}
	return findings.Finding{}, false
}

func TestTfsecFindsPlantedMisconfigurations(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{"infra/main.tf": plantedTerraform, "README.md": "# infra\n"})
	fs, _ := runTfsec(t, dir)
	checkTfsecPlanted(t, fs)
}

// checkTfsecPlanted asserts what tfsec v1.28.14 reports for plantedTerraform.
func checkTfsecPlanted(t *testing.T, fs []findings.Finding) {
	t.Helper()
	for _, want := range []struct {
		rule, longID, resource string
		sev                    findings.Severity
		line                   int
	}{
		{"AVD-AWS-0092", "aws-s3-no-public-access-with-acl", "aws_s3_bucket.public", findings.SeverityHigh, 3},
		{"AVD-AWS-0107", "aws-ec2-no-public-ingress-sgr", "aws_security_group.ssh", findings.SeverityCritical, 15},
	} {
		f, ok := findRule(fs, want.rule)
		if !ok {
			t.Errorf("tfsec did not report %s (%s); got %v", want.rule, want.longID, ruleIDs(fs))
			continue
		}
		if f.Severity != want.sev || f.Location.Path != "infra/main.tf" || f.Location.Line != want.line {
			t.Errorf("%s: %s at %s:%d, want %s at infra/main.tf:%d", want.rule, f.Severity, f.Location.Path, f.Location.Line, want.sev, want.line)
		}
		if f.Stage != stages.IaC || f.Tool != "tfsec" || !slices.Contains(f.Tags, want.longID) ||
			!strings.Contains(f.Message, want.resource) || !strings.HasPrefix(f.HelpURI, "https://") || f.Fingerprint == "" {
			t.Errorf("%s: unexpected finding %+v", want.rule, f)
		}
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func ruleIDs(fs []findings.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.RuleID+"("+f.Severity.String()+")")
	}
	return out
}

func TestTfsecCleanTerraformHasNoFindings(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{"infra/main.tf": cleanTerraform})
	fs, res := runTfsec(t, dir)
	if len(fs) != 0 {
		t.Fatalf("clean Terraform gave findings: %v", ruleIDs(fs))
	}
	if res.code != 0 {
		t.Fatalf("clean run exited %d", res.code)
	}
}

// A Terraform file tfsec cannot parse is a tool error with no report, never a
// clean run.
func TestTfsecBrokenTerraformIsAnError(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{"main.tf": "resource \"aws_s3_bucket\" \"b\" {\n  acl = \n"})
	bin := testenv.Tool(t, "tfsec")
	report := filepath.Join(t.TempDir(), "tfsec.json")
	res := runScanner(t, bin, dir, report, 2*time.Minute, stages.TfsecArgv(report))
	if slices.Contains(stages.TfsecOKCodes, res.code) || slices.Contains(stages.TfsecFindingCodes, res.code) {
		t.Fatalf("broken Terraform exited %d, a success code", res.code)
	}
	if res.report != nil {
		if _, err := stages.ParseTfsec(res.report, dir); err == nil {
			t.Fatalf("broken Terraform left a readable report: %s", res.report)
		}
	}
}

// testdata/tfsec-v1.28.14-planted.json and -clean.json were written by tfsec
// v1.28.14 itself (see testdata/SOURCES.md) over plantedTerraform and
// cleanTerraform in /tmp/dagsec-iac-samples/{planted,clean}/infra/main.tf.
func TestParseTfsecGenuineSamples(t *testing.T) {
	data, err := os.ReadFile("testdata/tfsec-v1.28.14-planted.json")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := stages.ParseTfsec(data, "/tmp/dagsec-iac-samples/planted")
	if err != nil {
		t.Fatal(err)
	}
	checkTfsecPlanted(t, fs)
	if len(fs) != 11 {
		t.Errorf("got %d findings, want the sample's 11: %v", len(fs), ruleIDs(fs))
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Fingerprint] {
			t.Errorf("duplicate fingerprint %s", f.Fingerprint)
		}
		seen[f.Fingerprint] = true
	}
	// A trailing slash on the root changes nothing.
	again, err := stages.ParseTfsec(data, "/tmp/dagsec-iac-samples/planted/")
	if err != nil || len(again) != len(fs) || again[0].Location.Path != fs[0].Location.Path {
		t.Errorf("root with a trailing slash: %v", err)
	}
	// The same report under another root is an error: the files are outside.
	if _, err := stages.ParseTfsec(data, "/src"); err == nil {
		t.Error("files outside the scanned folder were accepted")
	}
	if _, err := stages.ParseTfsec(data, ""); err == nil {
		t.Error("absolute file names were accepted without a root")
	}

	clean, err := os.ReadFile("testdata/tfsec-v1.28.14-clean.json")
	if err != nil {
		t.Fatal(err)
	}
	fs, err = stages.ParseTfsec(clean, "/tmp/dagsec-iac-samples/clean")
	if err != nil || len(fs) != 0 {
		t.Fatalf("clean sample: %v, %v", fs, err)
	}
}

func TestTfsecFingerprintIgnoresLines(t *testing.T) {
	data, err := os.ReadFile("testdata/tfsec-v1.28.14-planted.json")
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.ReplaceAll(string(data), `"start_line": 15`, `"start_line": 40`)
	moved = strings.ReplaceAll(moved, `"end_line": 15`, `"end_line": 40`)
	a, err := stages.ParseTfsec(data, "/tmp/dagsec-iac-samples/planted")
	if err != nil {
		t.Fatal(err)
	}
	b, err := stages.ParseTfsec([]byte(moved), "/tmp/dagsec-iac-samples/planted")
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := findRule(a, "AVD-AWS-0107")
	fb, _ := findRule(b, "AVD-AWS-0107")
	if fb.Location.Line != 40 || fa.Fingerprint != fb.Fingerprint {
		t.Fatalf("moved finding: line %d, fingerprints %s / %s", fb.Location.Line, fa.Fingerprint, fb.Fingerprint)
	}
}

const tfsecOne = `{"results":[{"rule_id":"AVD-AWS-0107","long_id":"aws-ec2-no-public-ingress-sgr","severity":"CRITICAL","status":0,"resource":"aws_security_group.ssh","links":["https://x"],"location":{"filename":"/src/main.tf","start_line":15,"end_line":15}}]}`

func TestParseTfsecRejectsBadReports(t *testing.T) {
	for name, in := range map[string]string{
		"empty":              "",
		"blank":              " \n",
		"null":               "null",
		"array":              "[]",
		"no results":         "{}",
		"null results":       `{"results":null}`,
		"results not array":  `{"results":{}}`,
		"truncated":          tfsecOne[:len(tfsecOne)-3],
		"trailing data":      tfsecOne + `{"results":[]}`,
		"trailing brace":     tfsecOne + "}",
		"lovely output":      "Result #1 CRITICAL Security group rule allows ingress from public internet.\n",
		"unknown severity":   strings.Replace(tfsecOne, "CRITICAL", "SEVERE", 1),
		"no status":          strings.Replace(tfsecOne, `"status":0,`, "", 1),
		"no rule id":         strings.NewReplacer(`"rule_id":"AVD-AWS-0107",`, "", `"long_id":"aws-ec2-no-public-ingress-sgr",`, "").Replace(tfsecOne),
		"no file name":       strings.Replace(tfsecOne, `"/src/main.tf"`, `""`, 1),
		"outside the root":   strings.Replace(tfsecOne, `"/src/main.tf"`, `"/etc/main.tf"`, 1),
		"root prefix only":   strings.Replace(tfsecOne, `"/src/main.tf"`, `"/srcx/main.tf"`, 1),
		"climbs out":         strings.Replace(tfsecOne, `"/src/main.tf"`, `"/src/../etc/main.tf"`, 1),
		"relative climb":     strings.Replace(tfsecOne, `"/src/main.tf"`, `"../main.tf"`, 1),
		"line is a string":   strings.Replace(tfsecOne, `"start_line":15`, `"start_line":"15"`, 1),
		"severity is number": strings.Replace(tfsecOne, `"CRITICAL"`, `3`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if fs, err := stages.ParseTfsec([]byte(in), "/src"); err == nil {
				t.Fatalf("no error for %q, got %+v", in, fs)
			}
		})
	}
	fs, err := stages.ParseTfsec([]byte(tfsecOne), "/src")
	if err != nil || len(fs) != 1 || fs[0].Location.Path != "main.tf" {
		t.Fatalf("one result: %+v, %v", fs, err)
	}
	fs, err = stages.ParseTfsec([]byte("{\n\t\"results\": []\n}\n"), "/src")
	if err != nil || len(fs) != 0 {
		t.Fatalf("clean report: %v, %v", fs, err)
	}
	// Passed and ignored results (--include-passed/--include-ignored) are not findings.
	passed := strings.Replace(tfsecOne, `"status":0`, `"status":1`, 1)
	if fs, err := stages.ParseTfsec([]byte(passed), "/src"); err != nil || len(fs) != 0 {
		t.Fatalf("passed result: %v, %v", fs, err)
	}
}

func FuzzParseTfsec(f *testing.F) {
	for _, name := range []string{"testdata/tfsec-v1.28.14-planted.json", "testdata/tfsec-v1.28.14-clean.json"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data, "/tmp/dagsec-iac-samples/planted")
		}
	}
	f.Add([]byte(tfsecOne), "/src")
	f.Add([]byte(`{"results":[{"rule_id":"x","severity":"","status":0,"location":{"filename":"a/../b.tf"}}]}`), "")
	f.Fuzz(func(t *testing.T, data []byte, root string) {
		fs, err := stages.ParseTfsec(data, root)
		if err != nil {
			return
		}
		for _, fd := range fs {
			if err := fd.Validate(); err != nil {
				t.Fatalf("parser returned an invalid finding: %v", err)
			}
			if p := fd.Location.Path; p == "" || strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
				t.Fatalf("path %q is not inside the source", p)
			}
		}
	})
}
