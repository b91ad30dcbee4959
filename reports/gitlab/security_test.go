package gitlab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports/gitlab"
	"github.com/dagsec/dagsec/stages"
)

// The test side of a security report: every field the writer may emit,
// so decoding with DisallowUnknownFields catches anything unexpected.
type glReport struct {
	Version         string   `json:"version"`
	Vulnerabilities []glVuln `json:"vulnerabilities"`
	Scan            glScan   `json:"scan"`
}

type glScan struct {
	Analyzer         glScanner `json:"analyzer"`
	Scanner          glScanner `json:"scanner"`
	Type             string    `json:"type"`
	StartTime        string    `json:"start_time"`
	EndTime          string    `json:"end_time"`
	Status           string    `json:"status"`
	Messages         []struct{ Level, Value string }
	ScannedResources *[]struct{ Method, URL, Type string } `json:"scanned_resources"`
}

type glScanner struct {
	ID, Name, URL, Version string
	Vendor                 struct{ Name string }
}

type glVuln struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Severity    string         `json:"severity"`
	Location    glLocation     `json:"location"`
	Identifiers []glIdentifier `json:"identifiers"`
	Links       []struct{ Name, URL string }
}

type glLocation struct {
	File       string `json:"file"`
	Commit     *struct{ Sha string }
	StartLine  int `json:"start_line"`
	EndLine    int `json:"end_line"`
	Dependency *struct {
		Package struct{ Name string }
		Version *string
	}
	OperatingSystem string `json:"operating_system"`
	Image           string
	Hostname        string
	Method          string
	Path            string
	Param           string
}

type glIdentifier struct{ Type, Name, Value, URL string }

var schemaOf = map[string]string{
	gitlab.SASTFile:              "sast-report-format.json",
	gitlab.SecretDetectionFile:   "secret-detection-report-format.json",
	gitlab.DependencyScanFile:    "dependency-scanning-report-format.json",
	gitlab.ContainerScanningFile: "container-scanning-report-format.json",
	gitlab.DASTFile:              "dast-report-format.json",
}

var scanTypeOf = map[string]string{
	gitlab.SASTFile:              "sast",
	gitlab.SecretDetectionFile:   "secret_detection",
	gitlab.DependencyScanFile:    "dependency_scanning",
	gitlab.ContainerScanningFile: "container_scanning",
	gitlab.DASTFile:              "dast",
}

var (
	uuidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	scanTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$`)
)

func securityReports(t *testing.T, o gitlab.Options, rep *pipeline.Report) map[string]glReport {
	t.Helper()
	files, err := o.SecurityReports(rep)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]glReport{}
	for name, data := range files {
		schema, ok := schemaOf[name]
		if !ok {
			t.Fatalf("unexpected file %s", name)
		}
		for _, e := range validateSchema(t, schema, data) {
			t.Errorf("%s does not follow %s: %s", name, schema, e)
		}
		out[name] = decode[glReport](t, data)
	}
	return out
}

func TestSecurityReportsFromGenuineToolOutput(t *testing.T) {
	fx := loadFixture(t)
	rep := fx.fullRun(t)
	reps := securityReports(t, gitlab.Options{Commit: testCommit, Image: testImage}, rep)

	want := map[string]int{
		gitlab.SASTFile:              len(fx.sast) + len(fx.iac) + len(fx.dockerfile),
		gitlab.SecretDetectionFile:   len(fx.secrets) + len(fx.history) + len(fx.buildEnv) + len(fx.imageSecrets),
		gitlab.DependencyScanFile:    len(fx.sca),
		gitlab.ContainerScanningFile: len(fx.image) + len(fx.buildChecks),
		gitlab.DASTFile:              len(fx.dast),
	}
	total := 0
	for file, n := range want {
		r, ok := reps[file]
		if !ok {
			t.Errorf("no %s", file)
			continue
		}
		total += n
		if len(r.Vulnerabilities) != n {
			t.Errorf("%s: %d vulnerabilities, want %d", file, len(r.Vulnerabilities), n)
		}
		if r.Version != gitlab.SchemaVersion || r.Scan.Type != scanTypeOf[file] || r.Scan.Status != "success" {
			t.Errorf("%s: version %q, scan type %q, status %q", file, r.Version, r.Scan.Type, r.Scan.Status)
		}
		if r.Scan.Scanner.ID != "dagsec" || r.Scan.Analyzer.ID != "dagsec" || r.Scan.Scanner.Version != "0.1.0-test" || r.Scan.Scanner.Vendor.Name != "dagsec" {
			t.Errorf("%s: scanner %+v analyzer %+v", file, r.Scan.Scanner, r.Scan.Analyzer)
		}
		if !scanTimeRE.MatchString(r.Scan.StartTime) || !scanTimeRE.MatchString(r.Scan.EndTime) || r.Scan.EndTime < r.Scan.StartTime {
			t.Errorf("%s: scan from %q to %q", file, r.Scan.StartTime, r.Scan.EndTime)
		}
	}
	if len(reps) != len(want) {
		t.Errorf("%d reports, want %d", len(reps), len(want))
	}
	// Every finding but the licenses lands in exactly one report.
	if n := len(rep.Findings) - len(fx.licenses); total != n {
		t.Errorf("%d vulnerabilities in all, want %d (every finding but the %d license ones)", total, n, len(fx.licenses))
	}

	// Ids: UUIDs, unique across every report.
	seen := map[string]string{}
	for file, r := range reps {
		for _, v := range r.Vulnerabilities {
			if !uuidRE.MatchString(v.ID) {
				t.Errorf("%s: id %q is not a version 8 UUID", file, v.ID)
			}
			if other, dup := seen[v.ID]; dup {
				t.Errorf("id %s in %s and %s", v.ID, file, other)
			}
			seen[v.ID] = file
			if len(v.Identifiers) == 0 || v.Name == "" || v.Description == "" {
				t.Errorf("%s: %+v lacks identifiers, name or description", file, v)
			}
		}
	}

	// Severities follow the findings'.
	sevs := map[string]int{}
	for _, r := range reps {
		for _, v := range r.Vulnerabilities {
			sevs[v.Severity]++
		}
	}
	wantSevs := map[string]int{}
	for _, f := range rep.Findings {
		if f.Stage != stages.Licenses {
			wantSevs[strings.ToUpper(f.Severity.String()[:1])+f.Severity.String()[1:]]++
		}
	}
	if fmt.Sprint(sevs) != fmt.Sprint(wantSevs) {
		t.Errorf("severities %v, want %v", sevs, wantSevs)
	}

	t.Run("sast", func(t *testing.T) {
		r := reps[gitlab.SASTFile]
		g401 := find(t, r, func(v glVuln) bool { return v.Identifiers[0].Value == "G401" })
		if g401.Identifiers[0].Type != "dagsec_gosec" || g401.Severity != "Medium" {
			t.Errorf("G401: %+v", g401)
		}
		if !hasIdentifier(g401, "cwe", "328") {
			t.Errorf("G401 has no CWE-328 identifier: %+v", g401.Identifiers)
		}
		if g401.Location.File != "main.go" || g401.Location.StartLine != 15 {
			t.Errorf("G401 at %+v, want main.go:15", g401.Location)
		}
		// IaC and Dockerfile findings are SAST findings at a file and line.
		for _, fs := range [][]findings.Finding{fx.iac, fx.dockerfile} {
			f := fs[0]
			v := find(t, r, func(v glVuln) bool {
				return v.Location.File == f.Location.Path && v.Location.StartLine == f.Location.Line && slices.ContainsFunc(v.Identifiers, func(i glIdentifier) bool { return i.Value == f.RuleID })
			})
			if !strings.Contains(v.Description, "dagsec's "+f.Stage+" stage") {
				t.Errorf("%s finding's description does not name its stage: %q", f.Stage, v.Description)
			}
		}
	})

	t.Run("secret detection", func(t *testing.T) {
		r := reps[gitlab.SecretDetectionFile]
		for _, v := range r.Vulnerabilities {
			if v.Location.Commit == nil || v.Location.Commit.Sha == "" {
				t.Fatalf("%+v has no commit", v)
			}
			if v.Severity != "Critical" {
				t.Errorf("secret %s is %s, want Critical", v.Name, v.Severity)
			}
		}
		wt := find(t, r, func(v glVuln) bool {
			return v.Location.File == fx.secrets[0].Location.Path && v.Location.StartLine == fx.secrets[0].Location.Line
		})
		if wt.Location.Commit.Sha != testCommit {
			t.Errorf("working-tree secret at commit %q, want %s", wt.Location.Commit.Sha, testCommit)
		}
		hist := find(t, r, func(v glVuln) bool { return v.Location.File == "old/settings.ini" })
		if hist.Location.Commit.Sha != "9b1deb4d3b7d" {
			t.Errorf("history secret at commit %q, want the one gitleaks named (9b1deb4d3b7d, as the finding keeps it)", hist.Location.Commit.Sha)
		}
		// At the ENV that set the variable in the image's Dockerfile.
		env := find(t, r, func(v glVuln) bool { return v.Location.File == "Dockerfile" && v.Location.StartLine == 3 })
		if !strings.Contains(env.Description, "dagsec's build stage") || env.Identifiers[0].Type != "dagsec_gitleaks" {
			t.Errorf("image environment secret: %+v", env)
		}
		find(t, r, func(v glVuln) bool { return strings.Contains(v.Description, "dagsec's image stage") })
		// dagsec keeps neither the match nor the secret, not even redacted.
		for _, v := range r.Vulnerabilities {
			if strings.Contains(v.Description+v.Name, "REDACTED") {
				t.Errorf("a secret's match reached the report: %q", v.Description)
			}
		}
	})

	t.Run("dependency scanning", func(t *testing.T) {
		r := reps[gitlab.DependencyScanFile]
		for _, v := range r.Vulnerabilities {
			if v.Location.File == "" || v.Location.Dependency == nil || v.Location.Dependency.Package.Name == "" || v.Location.Dependency.Version == nil {
				t.Errorf("%+v lacks file or dependency", v.Location)
			}
			// The manifest or lockfile, never the source file a
			// reachable vulnerability is called from.
			if base := path.Base(v.Location.File); base != "go.mod" && base != "requirements.txt" {
				t.Errorf("%s at %q, not a manifest or lockfile", v.Identifiers[0].Value, v.Location.File)
			}
		}
		// The govulncheck sample's reachable findings are at call sites.
		if !slices.ContainsFunc(fx.sca, func(f findings.Finding) bool { return strings.HasSuffix(f.Location.Path, ".go") }) {
			t.Fatal("no govulncheck finding at a call site in the samples")
		}
		// GO-2021-0113 in golang.org/x/text v0.3.0, from both govulncheck and osv-scanner.
		n := 0
		for _, v := range r.Vulnerabilities {
			if v.Identifiers[0].Value != "GO-2021-0113" {
				continue
			}
			n++
			if d := v.Location.Dependency; d.Package.Name != "golang.org/x/text" || *d.Version != "v0.3.0" && *d.Version != "0.3.0" {
				t.Errorf("GO-2021-0113 in %+v@%v", d.Package, *d.Version)
			}
			if !hasIdentifier(v, "cve", "CVE-2021-38561") || !hasIdentifier(v, "ghsa", "GHSA-ppp9-7jff-5vj2") {
				t.Errorf("GO-2021-0113 lacks its CVE or GHSA alias: %+v", v.Identifiers)
			}
		}
		if n != 2 {
			t.Errorf("GO-2021-0113 %d times, want 2 (govulncheck and osv-scanner)", n)
		}
		// trivy's pip findings: the CVE is the primary identifier.
		pip := find(t, r, func(v glVuln) bool { return v.Identifiers[0].Type == "cve" && v.Location.File != "go.mod" })
		if !strings.HasPrefix(pip.Identifiers[0].URL, "https://nvd.nist.gov/vuln/detail/CVE-") {
			t.Errorf("CVE identifier %+v", pip.Identifiers[0])
		}
	})

	t.Run("container scanning", func(t *testing.T) {
		r := reps[gitlab.ContainerScanningFile]
		for _, v := range r.Vulnerabilities {
			if v.Location.Image != testImage || v.Location.OperatingSystem == "" || v.Location.Dependency == nil || v.Location.Dependency.Version == nil {
				t.Errorf("%+v", v.Location)
			}
		}
		v := find(t, r, func(v glVuln) bool {
			return v.Identifiers[0].Value == "CVE-2019-1549" && v.Location.Dependency.Package.Name == "libcrypto1.1"
		})
		if *v.Location.Dependency.Version != "1.1.1c-r0" || v.Location.OperatingSystem != "alpine" || v.Identifiers[0].Type != "cve" {
			t.Errorf("CVE-2019-1549: %+v %+v", v.Location, v.Identifiers)
		}
		g := find(t, r, func(v glVuln) bool { return v.Identifiers[0].Type == "ghsa" })
		if g.Identifiers[0].Value != "GHSA-qx2v-qp2m-jg93" || !hasIdentifier(g, "cve", "CVE-2026-41305") ||
			g.Location.Dependency.Package.Name != "postcss" || *g.Location.Dependency.Version != "8.4.31" {
			t.Errorf("grype match: %+v %+v", g.Identifiers, g.Location.Dependency)
		}
		root := find(t, r, func(v glVuln) bool { return v.Identifiers[0].Value == stages.ImageRootUser })
		if root.Identifiers[0].Type != "dagsec_dagsec" || root.Location.Dependency.Package.Name != "image-config" || root.Severity != "High" {
			t.Errorf("root user check: %+v", root)
		}
	})

	t.Run("dast", func(t *testing.T) {
		r := reps[gitlab.DASTFile]
		for _, v := range r.Vulnerabilities {
			if v.Location.Hostname != "http://staging.internal:8080" || v.Location.Method == "" || !strings.HasPrefix(v.Location.Path, "/") {
				t.Errorf("%+v", v.Location)
			}
		}
		xss := find(t, r, func(v glVuln) bool { return v.Identifiers[0].Value == "wapiti-xss" })
		if xss.Location.Path != "/greet" || xss.Location.Param != "who" || xss.Location.Method != "GET" {
			t.Errorf("XSS at %+v, want GET /greet parameter who", xss.Location)
		}
		csp := find(t, r, func(v glVuln) bool { return v.Identifiers[0].Value == "zap-10038" })
		if csp.Identifiers[0].Type != "dagsec_zap" || !hasIdentifier(csp, "cwe", "693") || csp.Location.Param != "" {
			t.Errorf("zap-10038: %+v", csp)
		}
		res := r.Scan.ScannedResources
		if res == nil || len(*res) == 0 {
			t.Fatal("no scanned_resources")
		}
		for _, sr := range *res {
			if !strings.HasPrefix(sr.URL, "http://staging.internal:8080/") || sr.Type != "url" {
				t.Errorf("scanned resource %+v", sr)
			}
		}
	})

	// No report holds the staging credentials.
	files, _ := gitlab.Options{Commit: testCommit}.SecurityReports(rep)
	for name, data := range files {
		if bytes.Contains(data, []byte(testStagingUser)) || bytes.Contains(data, []byte("hunter2")) {
			t.Errorf("%s holds the staging URL's credentials", name)
		}
	}
}

func find(t *testing.T, r glReport, pred func(glVuln) bool) glVuln {
	t.Helper()
	for _, v := range r.Vulnerabilities {
		if pred(v) {
			return v
		}
	}
	t.Fatalf("no such vulnerability among %d", len(r.Vulnerabilities))
	return glVuln{}
}

func hasIdentifier(v glVuln, typ, value string) bool {
	return slices.ContainsFunc(v.Identifiers, func(i glIdentifier) bool { return i.Type == typ && i.Value == value })
}

// The same run gives the same files, byte for byte, and ids survive a
// change of line (fingerprints ignore lines).
func TestSecurityReportsAreStable(t *testing.T) {
	fx := loadFixture(t)
	a := secFiles(t, gitlab.Options{}, fx.fullRun(t))
	b := secFiles(t, gitlab.Options{}, fx.fullRun(t))
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two writes of the same run", name)
		}
	}
	moved := slices.Clone(fx.sast)
	for i := range moved {
		moved[i].Location.Line += 7
	}
	r1 := securityReports(t, gitlab.Options{}, runReport(t, stageRun{name: stages.SAST, status: policies.StatusWarned, fs: fx.sast}))
	r2 := securityReports(t, gitlab.Options{}, runReport(t, stageRun{name: stages.SAST, status: policies.StatusWarned, fs: moved}))
	ids := func(r glReport) []string {
		var out []string
		for _, v := range r.Vulnerabilities {
			out = append(out, v.ID)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(ids(r1[gitlab.SASTFile]), ids(r2[gitlab.SASTFile])) {
		t.Error("ids changed when the findings moved to other lines")
	}
	// Without Options, a working-tree secret is placed at the placeholder
	// commit, the image is named by the run report's image.
	r := securityReports(t, gitlab.Options{}, fx.fullRun(t))
	wt := find(t, r[gitlab.SecretDetectionFile], func(v glVuln) bool {
		return v.Location.File == fx.secrets[0].Location.Path && v.Location.StartLine == fx.secrets[0].Location.Line
	})
	if wt.Location.Commit.Sha != gitlab.NoCommit {
		t.Errorf("commit %q, want %s", wt.Location.Commit.Sha, gitlab.NoCommit)
	}
	for _, v := range r[gitlab.ContainerScanningFile].Vulnerabilities {
		if v.Location.Image != testBuiltRef {
			t.Fatalf("image %q, want the built ref %q", v.Location.Image, testBuiltRef)
		}
	}
}

// Only the categories whose stages ran get a report; one that ran clean
// gets an empty one; skipped stages count as not run.
func TestSecurityReportsOnlyForStagesThatRan(t *testing.T) {
	fx := loadFixture(t)
	rep := runReport(t,
		stageRun{name: stages.Secrets, status: policies.StatusPassed, reason: "no findings", tools: []pipeline.ToolReport{tool("gitleaks", "v8.30.1", nil)}},
		stageRun{name: stages.SCA, status: policies.StatusBlocked, reason: "findings at or above high",
			tools: []pipeline.ToolReport{tool("govulncheck", "v1.9.0", nil)}, fs: fx.sca[:3]},
		stageRun{name: stages.Licenses, status: policies.StatusBlocked, tools: []pipeline.ToolReport{tool("syft", "v1.57.1", nil)}, fs: fx.licenses},
		stageRun{name: stages.Build, status: policies.StatusSkipped, reason: "the host runner cannot build images"},
		stageRun{name: stages.Image, status: policies.StatusSkipped, reason: "the host runner cannot build images"},
		stageRun{name: stages.DAST, status: policies.StatusSkipped, reason: "staging did not run"},
	)
	reps := securityReports(t, gitlab.Options{}, rep)
	var names []string
	for n := range reps {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{gitlab.DependencyScanFile, gitlab.SecretDetectionFile}; !slices.Equal(names, want) {
		t.Fatalf("reports %v, want %v", names, want)
	}
	if n := len(reps[gitlab.SecretDetectionFile].Vulnerabilities); n != 0 {
		t.Errorf("clean secrets stage: %d vulnerabilities", n)
	}
	if n := len(reps[gitlab.DependencyScanFile].Vulnerabilities); n != 3 {
		t.Errorf("dependency scanning: %d vulnerabilities, want 3", n)
	}
	// An empty DAST report still lists scanned resources (none).
	rep = runReport(t, stageRun{name: stages.DAST, status: policies.StatusPassed, reason: "no findings", tools: []pipeline.ToolReport{tool("zap", "2.16.1", nil)}})
	files := secFiles(t, gitlab.Options{}, rep)
	if !bytes.Contains(files[gitlab.DASTFile], []byte(`"scanned_resources": []`)) {
		t.Errorf("clean DAST report:\n%s", files[gitlab.DASTFile])
	}
	if len(files) != 1 {
		t.Errorf("%d files for a DAST-only run", len(files))
	}
}

// A failed tool, or a stage that errored with no tool to blame, marks the
// scan a failure; a tool of the stage that feeds another report does not.
func TestSecurityReportsScanStatus(t *testing.T) {
	fx := loadFixture(t)
	failedTool := pipeline.ToolReport{Name: "osv-scanner", Version: "v2.6.0", Runner: "host", ExitCode: 127, Error: "osv-scanner: exit 127: no report"}
	rep := runReport(t,
		stageRun{name: stages.SCA, status: policies.StatusError, reason: "osv-scanner failed",
			tools: []pipeline.ToolReport{tool("govulncheck", "v1.9.0", nil), failedTool}, fs: fx.sca[:2]},
		stageRun{name: stages.SAST, status: policies.StatusWarned, reason: "findings below critical",
			tools: []pipeline.ToolReport{tool("gosec", "v2.30.0", nil)}, fs: fx.sast},
		// The image stage errored because syft failed: its vulnerabilities
		// and secrets are complete, the SBOM is not.
		stageRun{name: stages.Image, status: policies.StatusError, reason: "syft failed",
			tools: []pipeline.ToolReport{tool("trivy", "0.74.0", nil), {Name: "syft", Version: "v1.57.1", Error: "syft: exit 1"}}, fs: fx.image},
		// The build failed before any tool ran.
		stageRun{name: stages.Build, status: policies.StatusError, reason: "build: the Dockerfile does not parse"},
	)
	reps := securityReports(t, gitlab.Options{}, rep)
	dep := reps[gitlab.DependencyScanFile]
	if dep.Scan.Status != "failure" {
		t.Errorf("dependency scanning status %q, want failure", dep.Scan.Status)
	}
	if !slices.ContainsFunc(dep.Scan.Messages, func(m struct{ Level, Value string }) bool {
		return m.Level == "warn" && strings.Contains(m.Value, "osv-scanner") && strings.Contains(m.Value, "exit 127")
	}) {
		t.Errorf("no message for the failed tool: %+v", dep.Scan.Messages)
	}
	if len(dep.Vulnerabilities) != 2 {
		t.Errorf("the findings of the tools that ran are lost: %d", len(dep.Vulnerabilities))
	}
	if s := reps[gitlab.SASTFile].Scan.Status; s != "success" {
		t.Errorf("SAST status %q", s)
	}
	// Container scanning: the build errored with no tool to blame.
	cs := reps[gitlab.ContainerScanningFile]
	if cs.Scan.Status != "failure" || !slices.ContainsFunc(cs.Scan.Messages, func(m struct{ Level, Value string }) bool {
		return m.Level == "fatal" && strings.Contains(m.Value, "Dockerfile does not parse")
	}) {
		t.Errorf("container scanning: %q %+v", cs.Scan.Status, cs.Scan.Messages)
	}
	// Secret detection is fed by the image's trivy (fine) and the build
	// (errored before gitleaks could run): a failure too.
	if s := reps[gitlab.SecretDetectionFile].Scan.Status; s != "failure" {
		t.Errorf("secret detection status %q, want failure", s)
	}

	// Without the build, the image's syft failure alone fails no report.
	rep = runReport(t,
		stageRun{name: stages.Image, status: policies.StatusError, reason: "syft failed",
			tools: []pipeline.ToolReport{tool("trivy", "0.74.0", nil), {Name: "syft", Version: "v1.57.1", Error: "syft: exit 1"}}, fs: fx.image},
	)
	for name, r := range securityReports(t, gitlab.Options{}, rep) {
		if r.Scan.Status != "success" {
			t.Errorf("%s: status %q after only syft failed", name, r.Scan.Status)
		}
	}
}

// The schemas are live: a report that breaks them is rejected, so the
// validation above means something.
func TestSchemasRejectBrokenReports(t *testing.T) {
	fx := loadFixture(t)
	files := secFiles(t, gitlab.Options{Commit: testCommit, Image: testImage}, fx.fullRun(t))
	breakers := map[string]func(map[string]any){
		"no scan status": func(m map[string]any) { delete(m["scan"].(map[string]any), "status") },
		"bad severity": func(m map[string]any) {
			m["vulnerabilities"].([]any)[0].(map[string]any)["severity"] = "Severe"
		},
		"no identifiers": func(m map[string]any) {
			m["vulnerabilities"].([]any)[0].(map[string]any)["identifiers"] = []any{}
		},
		"zoned scan time": func(m map[string]any) { m["scan"].(map[string]any)["start_time"] = "2026-11-20T09:30:00Z" },
	}
	for file, schema := range schemaOf {
		for what, breakIt := range breakers {
			var m map[string]any
			if err := json.Unmarshal(files[file], &m); err != nil {
				t.Fatal(err)
			}
			breakIt(m)
			data, _ := json.Marshal(m)
			if errs := validateSchema(t, schema, data); len(errs) == 0 {
				t.Errorf("%s with %s passes %s", file, what, schema)
			}
		}
	}
	// Per category: the location fields the schema requires.
	locBreakers := map[string]string{
		gitlab.SecretDetectionFile:   "commit",
		gitlab.DependencyScanFile:    "dependency",
		gitlab.ContainerScanningFile: "image",
	}
	for file, field := range locBreakers {
		var m map[string]any
		_ = json.Unmarshal(files[file], &m)
		delete(m["vulnerabilities"].([]any)[0].(map[string]any)["location"].(map[string]any), field)
		data, _ := json.Marshal(m)
		if errs := validateSchema(t, schemaOf[file], data); len(errs) == 0 {
			t.Errorf("%s without location.%s passes", file, field)
		}
	}
}

func TestSecurityReportsRejectBadInput(t *testing.T) {
	if _, err := gitlab.SecurityReports(nil); err == nil {
		t.Error("nil report accepted")
	}
	rep := &pipeline.Report{Findings: []findings.Finding{{Stage: stages.SAST, Tool: "gosec"}}}
	if _, err := gitlab.SecurityReports(rep); err == nil {
		t.Error("finding without rule accepted")
	}
}
