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

// Genuine trivy reports written by trivy itself (provenance in
// testdata/SOURCES.md): three taken verbatim from public repositories for
// what cannot be produced here (vulnerabilities need trivy's database), and
// the real trivy v0.74.0 runs of the tests below.
const (
	trivyPipGolden      = "testdata/trivy-golden-pip.json"
	trivyDDMisconfSecr  = "testdata/trivy-defectdojo-misconfigurations-and-secrets.json"
	trivyDDLicenses     = "testdata/trivy-defectdojo-licenses-image.json"
	trivyTerraformRun   = "testdata/trivy-v0.74.0-config-terraform.json"
	trivyDockerfileRun  = "testdata/trivy-v0.74.0-config-dockerfile.json"
	trivyCleanConfigRun = "testdata/trivy-v0.74.0-config-clean.json"
	trivyEmptyConfigRun = "testdata/trivy-v0.74.0-config-empty.json"
)

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parseTrivy(t *testing.T, name, stage string) ([]findings.Finding, stages.TrivyDB) {
	t.Helper()
	fs, db, err := stages.ParseTrivy(readSample(t, name), stage)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if f.Stage != stage || f.Tool != "trivy" || f.Fingerprint == "" || f.Message == "" {
			t.Errorf("%s: incomplete finding %+v", name, f)
		}
	}
	return fs, db
}

func TestParseTrivyVulnerabilitiesGenuineSample(t *testing.T) {
	fs, db := parseTrivy(t, trivyPipGolden, stages.SCA)
	if len(fs) != 2 {
		t.Fatalf("got %d findings, want 2: %v", len(fs), ruleIDs(fs))
	}
	want := map[string]struct {
		sev   findings.Severity
		fixed string
	}{
		"CVE-2019-14806": {findings.SeverityHigh, "0.15.3"},
		"CVE-2020-28724": {findings.SeverityMedium, "0.11.6"},
	}
	for _, f := range fs {
		w, ok := want[f.RuleID]
		if !ok {
			t.Errorf("unexpected %s", f.RuleID)
			continue
		}
		if f.Severity != w.sev || f.Location.Path != "requirements.txt" ||
			!strings.Contains(f.Message, "Werkzeug@0.11") || !strings.Contains(f.Message, "fixed in "+w.fixed) {
			t.Errorf("%s: %s at %s: %q", f.RuleID, f.Severity, f.Location.Path, f.Message)
		}
		if !slices.Contains(f.Tags, "pip") || !slices.Contains(f.Tags, "lang-pkgs") ||
			f.HelpURI != "https://avd.aquasec.com/nvd/"+strings.ToLower(f.RuleID) {
			t.Errorf("%s: tags %v, help %s", f.RuleID, f.Tags, f.HelpURI)
		}
	}
	if fs[0].Fingerprint == fs[1].Fingerprint {
		t.Error("two vulnerabilities of one package share a fingerprint")
	}
	if db.ReportID != "017b7d41-e09f-7000-80ea-000000000001" || db.CreatedAt.IsZero() ||
		!slices.Equal(db.DataSources, []string{"ghsa (GitHub Security Advisory Pip)"}) {
		t.Errorf("db info %+v", db)
	}
	if s := db.String(); !strings.Contains(s, "does not name a database version") || !strings.Contains(s, "ghsa") {
		t.Errorf("db string %q", s)
	}
}

func TestParseTrivyMisconfigurationsAndSecretsGenuineSample(t *testing.T) {
	fs, db := parseTrivy(t, trivyDDMisconfSecr, stages.SCA)
	got := map[string]int{}
	for _, f := range fs {
		got[f.RuleID+"@"+f.Location.Path]++
		switch f.RuleID {
		case "DS002":
			if f.Severity != findings.SeverityHigh || f.RuleName != "Image user should not be 'root'" ||
				!strings.Contains(f.Message, "Resolution: Add 'USER <non root user name>'") ||
				f.HelpURI != "https://avd.aquasec.com/misconfig/ds002" {
				t.Errorf("DS002: %+v", f)
			}
		case "github-pat":
			if f.Severity != findings.SeverityCritical || strings.Contains(f.Message, "*") ||
				!slices.Contains(f.Tags, "secret") || f.Identity != "" {
				t.Errorf("secret: %+v", f)
			}
		}
	}
	want := map[string]int{
		"CVE-2021-33503@requirements.txt": 1, "CVE-2021-28363@requirements.txt": 1,
		"DS002@Dockerfile": 1, "github-pat@Dockerfile": 1, "github-pat@secret.txt": 1,
	}
	if len(got) != len(want) || len(fs) != 5 {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d findings, want %d", k, got[k], n)
		}
	}
	if db.TrivyVersion != "" || !slices.Equal(db.DataSources, []string{"osv (Python Packaging Advisory Database)"}) {
		t.Errorf("db info %+v", db)
	}
}

func TestParseTrivyLicensesGenuineSample(t *testing.T) {
	fs, _ := parseTrivy(t, trivyDDLicenses, stages.Licenses)
	if len(fs) != 19 {
		t.Fatalf("got %d findings, want 19", len(fs))
	}
	counts := findings.CountBySeverity(fs)
	if counts["high"] != 7 || counts["medium"] != 1 || counts["low"] != 11 {
		t.Errorf("severities %v", counts)
	}
	var loose int
	for _, f := range fs {
		if strings.HasPrefix(f.Location.Path, "etc/ssl/misc/") {
			loose++
		} else if f.Location.Path != "OS Packages" {
			t.Errorf("license %s at %q", f.RuleID, f.Location.Path)
		}
	}
	if loose != 2 {
		t.Errorf("%d loose file licenses, want 2", loose)
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Fingerprint] {
			t.Errorf("duplicate fingerprint for %s: %s", f.RuleID, f.Message)
		}
		seen[f.Fingerprint] = true
	}
}

// A vulnerability listed twice for one package (trivy does so when two
// advisories sources agree) is one finding.
func TestParseTrivyOneFindingPerPackageAndVulnerability(t *testing.T) {
	data := string(readSample(t, trivyPipGolden))
	i := strings.Index(data, `"Vulnerabilities": [`) + len(`"Vulnerabilities": [`)
	j := strings.Index(data, `        {
          "VulnerabilityID": "CVE-2020-28724"`)
	dup := data[:i] + data[i:j] + data[i:j] + data[j:]
	fs, _, err := stages.ParseTrivy([]byte(dup), stages.SCA)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("got %d findings, want 2: %v", len(fs), ruleIDs(fs))
	}
}

const trivyMinimal = `{"SchemaVersion":2,"ArtifactName":".","ArtifactType":"filesystem","Results":[{"Target":"main.tf","Class":"config","Type":"terraform","Misconfigurations":[{"ID":"AVD-AWS-0107","Title":"t","Message":"m","Severity":"CRITICAL","Status":"FAIL","CauseMetadata":{"Resource":"aws_security_group.ssh","StartLine":15,"EndLine":15}}]}]}`

func TestParseTrivyRejectsBadReports(t *testing.T) {
	for name, in := range map[string]string{
		"empty":             "",
		"blank":             "\n",
		"null":              "null",
		"array":             "[]",
		"no schema":         `{"ArtifactName":"."}`,
		"schema 1":          `{"SchemaVersion":1,"Results":[]}`,
		"tfsec report":      `{"results":[]}`,
		"sarif":             `{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[]}`,
		"truncated":         trivyMinimal[:len(trivyMinimal)-5],
		"trailing data":     trivyMinimal + "\n" + trivyMinimal,
		"trailing bracket":  trivyMinimal + "]",
		"table output":      "main.tf (terraform)\n===================\nTests: 1 (SUCCESSES: 0, FAILURES: 1)\n",
		"results object":    `{"SchemaVersion":2,"Results":{}}`,
		"no target":         strings.Replace(trivyMinimal, `"Target":"main.tf",`, "", 1),
		"empty target":      strings.Replace(trivyMinimal, `"Target":"main.tf"`, `"Target":""`, 1),
		"absolute target":   strings.Replace(trivyMinimal, `"Target":"main.tf"`, `"Target":"/etc/main.tf"`, 1),
		"climbing target":   strings.Replace(trivyMinimal, `"Target":"main.tf"`, `"Target":"../main.tf"`, 1),
		"unknown severity":  strings.Replace(trivyMinimal, `"CRITICAL"`, `"SEVERE"`, 1),
		"no severity":       strings.Replace(trivyMinimal, `"Severity":"CRITICAL",`, "", 1),
		"unknown status":    strings.Replace(trivyMinimal, `"FAIL"`, `"FAILED"`, 1),
		"no status":         strings.Replace(trivyMinimal, `"Status":"FAIL",`, "", 1),
		"no id":             strings.Replace(trivyMinimal, `"ID":"AVD-AWS-0107",`, "", 1),
		"line is a string":  strings.Replace(trivyMinimal, `"StartLine":15`, `"StartLine":"15"`, 1),
		"vuln without id":   `{"SchemaVersion":2,"Results":[{"Target":"go.mod","Vulnerabilities":[{"PkgName":"x","Severity":"LOW"}]}]}`,
		"vuln without pkg":  `{"SchemaVersion":2,"Results":[{"Target":"go.mod","Vulnerabilities":[{"VulnerabilityID":"CVE-1","Severity":"LOW"}]}]}`,
		"secret no rule":    `{"SchemaVersion":2,"Results":[{"Target":"a.env","Secrets":[{"Severity":"LOW"}]}]}`,
		"license no name":   `{"SchemaVersion":2,"Results":[{"Target":"go.mod","Licenses":[{"PkgName":"x","Severity":"LOW"}]}]}`,
		"license no object": `{"SchemaVersion":2,"Results":[{"Target":"go.mod","Licenses":[{"Name":"MIT","Severity":"LOW"}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if fs, _, err := stages.ParseTrivy([]byte(in), stages.IaC); err == nil {
				t.Fatalf("no error for %q, got %+v", in, fs)
			}
		})
	}
	if _, _, err := stages.ParseTrivy([]byte(trivyMinimal), "nonsense"); err == nil {
		t.Error("unknown stage accepted")
	}
	fs, _, err := stages.ParseTrivy([]byte(trivyMinimal), stages.IaC)
	if err != nil || len(fs) != 1 || fs[0].Location.Path != "main.tf" || fs[0].Location.Line != 15 {
		t.Fatalf("minimal report: %+v, %v", fs, err)
	}
	// Passed checks and exceptions (--include-non-failures) are not findings;
	// a report without Results, or with null Results, is a clean run.
	for _, in := range []string{
		strings.Replace(trivyMinimal, `"FAIL"`, `"PASS"`, 1),
		strings.Replace(trivyMinimal, `"FAIL"`, `"EXCEPTION"`, 1),
		`{"SchemaVersion":2,"ArtifactName":".","ArtifactType":"filesystem"}`,
		`{"SchemaVersion":2,"Results":null}`,
		`{"SchemaVersion":2,"Results":[{"Target":"go.mod","Class":"lang-pkgs","Type":"gomod"}]}`,
	} {
		fs, _, err := stages.ParseTrivy([]byte(in), stages.IaC)
		if err != nil || len(fs) != 0 {
			t.Errorf("%s: %+v, %v", in, fs, err)
		}
	}
	// UNKNOWN is info.
	fs, _, err = stages.ParseTrivy([]byte(strings.Replace(trivyMinimal, `"CRITICAL"`, `"UNKNOWN"`, 1)), stages.IaC)
	if err != nil || len(fs) != 1 || fs[0].Severity != findings.SeverityInfo {
		t.Errorf("UNKNOWN severity: %+v, %v", fs, err)
	}
}

func TestTrivyFingerprintIgnoresLines(t *testing.T) {
	moved := strings.NewReplacer(`"StartLine":15`, `"StartLine":40`, `"EndLine":15`, `"EndLine":40`).Replace(trivyMinimal)
	a, _, err := stages.ParseTrivy([]byte(trivyMinimal), stages.IaC)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := stages.ParseTrivy([]byte(moved), stages.IaC)
	if err != nil {
		t.Fatal(err)
	}
	if b[0].Location.Line != 40 || a[0].Fingerprint != b[0].Fingerprint {
		t.Fatalf("moved finding: line %d, fingerprints %s / %s", b[0].Location.Line, a[0].Fingerprint, b[0].Fingerprint)
	}
}

func FuzzParseTrivy(f *testing.F) {
	for _, name := range []string{trivyPipGolden, trivyDDMisconfSecr, trivyDDLicenses, trivyTerraformRun, trivyDockerfileRun, trivyCleanConfigRun, trivyEmptyConfigRun} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(trivyMinimal))
	f.Add([]byte(`{"SchemaVersion":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, stage := range []string{stages.IaC, stages.SCA} {
			fs, _, err := stages.ParseTrivy(data, stage)
			if err != nil {
				return
			}
			for _, fd := range fs {
				if err := fd.Validate(); err != nil {
					t.Fatalf("parser returned an invalid finding: %v", err)
				}
			}
		}
	})
}

// --- real trivy v0.74.0 runs ---

// Planted Dockerfile: an unpinned base image and no USER.
const plantedDockerfile = `FROM python:latest
WORKDIR /app
COPY app.py /app/
CMD ["python", "app.py"]
`

// cleanDockerfile: pinned tag, a non-root user, a health check.
const cleanDockerfile = `FROM python:3.12.7-slim
WORKDIR /app
COPY app.py /app/
USER nonroot
HEALTHCHECK CMD ["python", "-c", "print('ok')"]
CMD ["python", "app.py"]
`

// trivyTimeout bounds every trivy run: offline, trivy config must never sit
// waiting for the checks bundle download.
const trivyTimeout = 3 * time.Minute

func runTrivy(t *testing.T, dir string, argv []string, report string) scanResult {
	t.Helper()
	bin := testenv.Tool(t, "trivy")
	// A private cache and home: no checks bundle from an earlier online run
	// can hide what trivy does on a fresh machine.
	home := t.TempDir()
	return runScanner(t, bin, dir, report, trivyTimeout, argv, "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
}

func runTrivyConfig(t *testing.T, files map[string]string, scanners []string, stage string) ([]findings.Finding, scanResult) {
	t.Helper()
	dir := testenv.Dir(t, files)
	report := filepath.Join(t.TempDir(), "trivy.json")
	res := runTrivy(t, dir, stages.TrivyConfigArgv(report, scanners), report)
	t.Logf("trivy config %v: exit %d in %s", scanners, res.code, res.duration.Round(time.Millisecond))
	if !slices.Contains(stages.TrivyOKCodes, res.code) && !slices.Contains(stages.TrivyFindingCodes, res.code) {
		t.Fatalf("trivy exited %d: %s", res.code, res.stderr)
	}
	fs, _, err := stages.ParseTrivy(res.report, stage)
	if err != nil {
		t.Fatalf("trivy report: %v\n%s", err, res.report)
	}
	if slices.Contains(stages.TrivyFindingCodes, res.code) != (len(fs) > 0) {
		t.Errorf("exit code %d but %d findings", res.code, len(fs))
	}
	return fs, res
}

type wantFinding struct {
	rule string
	sev  findings.Severity
	path string
	line int
}

func checkFindings(t *testing.T, fs []findings.Finding, want []wantFinding) {
	t.Helper()
	for _, w := range want {
		f, ok := findRule(fs, w.rule)
		if !ok {
			t.Errorf("%s not reported; got %v", w.rule, ruleIDs(fs))
			continue
		}
		if f.Severity != w.sev || f.Location.Path != w.path || f.Location.Line != w.line {
			t.Errorf("%s: %s at %s:%d, want %s at %s:%d", w.rule, f.Severity, f.Location.Path, f.Location.Line, w.sev, w.path, w.line)
		}
		if !strings.HasPrefix(f.HelpURI, "https://") || f.RuleName == "" || !strings.Contains(f.Message, "Resolution:") {
			t.Errorf("%s: incomplete finding %+v", w.rule, f)
		}
	}
}

// wantTrivyTerraform is what trivy v0.74.0 reports for plantedTerraform.
// (tfsec calls the same checks AVD-AWS-0092 and AVD-AWS-0107, and rates the
// second CRITICAL.)
var wantTrivyTerraform = []wantFinding{
	{"AWS-0092", findings.SeverityHigh, "infra/main.tf", 3},  // public ACL on the bucket
	{"AWS-0107", findings.SeverityHigh, "infra/main.tf", 15}, // SSH open to 0.0.0.0/0
}

// wantTrivyDockerfile is what trivy v0.74.0 reports for plantedDockerfile.
// DS-0002 has no line: the fault is a USER instruction that is missing.
var wantTrivyDockerfile = []wantFinding{
	{"DS-0001", findings.SeverityMedium, "Dockerfile", 1}, // :latest
	{"DS-0002", findings.SeverityHigh, "Dockerfile", 0},   // runs as root
}

func TestTrivyConfigFindsPlantedTerraform(t *testing.T) {
	fs, _ := runTrivyConfig(t, map[string]string{"infra/main.tf": plantedTerraform}, []string{"terraform"}, stages.IaC)
	checkFindings(t, fs, wantTrivyTerraform)
}

func TestTrivyConfigFindsPlantedDockerfile(t *testing.T) {
	fs, _ := runTrivyConfig(t, map[string]string{"Dockerfile": plantedDockerfile, "app.py": "print('hi')\n"}, []string{"dockerfile"}, stages.Dockerfile)
	checkFindings(t, fs, wantTrivyDockerfile)
}

// The dockerfile scanner alone leaves Terraform to the iac stage and the
// terraform scanner leaves Dockerfiles to the dockerfile stage.
func TestTrivyConfigScannersSplitTheStages(t *testing.T) {
	files := map[string]string{"infra/main.tf": plantedTerraform, "Dockerfile": plantedDockerfile}
	fs, _ := runTrivyConfig(t, files, []string{"dockerfile"}, stages.Dockerfile)
	for _, f := range fs {
		if f.Location.Path != "Dockerfile" {
			t.Errorf("dockerfile scanner reported %s in %s", f.RuleID, f.Location.Path)
		}
	}
	fs, _ = runTrivyConfig(t, files, []string{"terraform"}, stages.IaC)
	for _, f := range fs {
		if f.Location.Path != "infra/main.tf" {
			t.Errorf("terraform scanner reported %s in %s", f.RuleID, f.Location.Path)
		}
	}
}

func TestTrivyConfigCleanTreeHasNoFindings(t *testing.T) {
	files := map[string]string{"infra/main.tf": cleanTerraform, "Dockerfile": cleanDockerfile, "app.py": "print('hi')\n"}
	fs, res := runTrivyConfig(t, files, []string{"terraform", "dockerfile"}, stages.IaC)
	if len(fs) != 0 || res.code != 0 {
		t.Fatalf("clean tree: exit %d, findings %v", res.code, ruleIDs(fs))
	}
}

// Nothing to scan is a clean run too (trivy's report then has no Results).
func TestTrivyConfigEmptyTreeIsClean(t *testing.T) {
	fs, res := runTrivyConfig(t, map[string]string{"README.md": "# nothing\n"}, []string{"terraform"}, stages.IaC)
	if len(fs) != 0 || res.code != 0 {
		t.Fatalf("empty tree: exit %d, findings %v", res.code, ruleIDs(fs))
	}
}

// With no vulnerability database in its cache and updates skipped, trivy fs
// fails fast (exit 1, no report): a missing database is never a clean run.
func TestTrivyFSVulnWithoutDatabaseFails(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{"requirements.txt": "Werkzeug==0.11\n"})
	report := filepath.Join(t.TempDir(), "trivy.json")
	cache := t.TempDir()
	res := runTrivy(t, dir, stages.TrivyFSVulnArgv(report, cache, true), report)
	t.Logf("trivy fs --skip-db-update with an empty cache: exit %d in %s: %s", res.code, res.duration.Round(time.Millisecond), lastLine(res.stderr))
	if slices.Contains(stages.TrivyOKCodes, res.code) || slices.Contains(stages.TrivyFindingCodes, res.code) {
		t.Fatalf("exit %d counts as success", res.code)
	}
	if res.report != nil {
		if _, _, err := stages.ParseTrivy(res.report, stages.SCA); err == nil {
			t.Fatalf("failed run left a readable report: %s", res.report)
		}
	}
	if res.duration > time.Minute {
		t.Errorf("took %s to fail", res.duration)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestParseTrivyGenuineRuns(t *testing.T) {
	fs, db := parseTrivy(t, trivyTerraformRun, stages.IaC)
	checkFindings(t, fs, wantTrivyTerraform)
	if db.TrivyVersion != "0.74.0" {
		t.Errorf("trivy version %q", db.TrivyVersion)
	}
	fs, _ = parseTrivy(t, trivyDockerfileRun, stages.Dockerfile)
	checkFindings(t, fs, wantTrivyDockerfile)
	for _, name := range []string{trivyCleanConfigRun, trivyEmptyConfigRun} {
		if fs, _ := parseTrivy(t, name, stages.IaC); len(fs) != 0 {
			t.Errorf("%s: %v", name, ruleIDs(fs))
		}
	}
	// The empty run's report has no Results at all.
	if strings.Contains(string(readSample(t, trivyEmptyConfigRun)), "Results") {
		t.Errorf("%s lists Results", trivyEmptyConfigRun)
	}
	// v0.74 prints only the new ids; the AVD form is a tag, tfsec's rule id.
	fs, _ = parseTrivy(t, trivyTerraformRun, stages.IaC)
	if f, _ := findRule(fs, "AWS-0107"); !slices.Contains(f.Tags, "AVD-AWS-0107") || !slices.Contains(f.Tags, "terraform") ||
		f.Message != "Security group rule allows unrestricted ingress from any IP address (aws_security_group.ssh). Resolution: Set a more restrictive CIDR range" {
		t.Errorf("AWS-0107: %+v", f)
	}
}

func TestTrivyArgv(t *testing.T) {
	argv := stages.TrivyConfigArgv("/out/trivy.json", []string{"terraform", "dockerfile"})
	for _, want := range []string{"config", "--skip-check-update", "--skip-version-check", "--disable-telemetry", "terraform,dockerfile", "/out/trivy.json"} {
		if !slices.Contains(argv, want) {
			t.Errorf("config argv %v lacks %s", argv, want)
		}
	}
	if argv[0] != "trivy" || argv[len(argv)-1] != "." {
		t.Errorf("config argv %v", argv)
	}
	argv = stages.TrivyFSVulnArgv("/out/trivy.json", "/cache/trivy", true)
	for _, want := range []string{"fs", "vuln", "/cache/trivy", "--skip-db-update", "--skip-java-db-update"} {
		if !slices.Contains(argv, want) {
			t.Errorf("fs argv %v lacks %s", argv, want)
		}
	}
	if argv := stages.TrivyFSVulnArgv("/out/trivy.json", "/cache/trivy", false); slices.Contains(argv, "--skip-db-update") {
		t.Errorf("fs argv %v skips the update", argv)
	}
}
