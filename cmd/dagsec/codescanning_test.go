package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/dagsec/dagsec/sarifio"
	"github.com/dagsec/dagsec/stages"
)

// checkCodeScanning holds the planted scan's SARIF to code scanning's
// documented rules (sarifio.CodeScanningProblems) and checks that the
// explanations and lines come from where they should: each tool's own
// metadata, dagsec's docs/rules.md, the go.mod require line.
func checkCodeScanning(t *testing.T, dir string, sarif []byte) {
	t.Helper()
	for _, p := range sarifio.CodeScanningProblems(sarif) {
		t.Errorf("results.sarif: %s", p)
	}
	log := readSARIF(t, sarif)
	type ruleText struct{ desc, help, md string }
	rules := map[string]ruleText{}
	at := map[string][]string{} // rule id → uri:line of its results
	for _, run := range log.Runs {
		for _, r := range run.Tool.Driver.Rules {
			md := ""
			if r.Help != nil {
				md = deref(r.Help.Markdown)
			}
			rules[r.ID] = ruleText{text(r.FullDescription), text(r.Help), md}
		}
		for _, res := range run.Results {
			for _, l := range res.Locations {
				// CodeScanningProblems reported any location lacking these.
				if pl := l.PhysicalLocation; pl != nil && pl.ArtifactLocation != nil && pl.Region != nil && pl.Region.StartLine != nil {
					at[deref(res.RuleID)] = append(at[deref(res.RuleID)], fmt.Sprintf("%s:%d", deref(pl.ArtifactLocation.URI), *pl.Region.StartLine))
				}
			}
		}
	}
	for _, tc := range []struct {
		rule, in string
		want     []string
	}{
		// gosec: the weakness's name and description from gosec's CWE data.
		{"G204", "help", []string{"CWE-78", "OS Command Injection", "https://cwe.mitre.org/data/definitions/78.html"}},
		// bandit: its issue text and plugin page.
		{"B307", "help", []string{"ast.literal_eval", "https://bandit.readthedocs.io/"}},
		// govulncheck: the advisory's summary, aliases and fix.
		{"GO-2021-0113", "help", []string{"CVE-2021-38561", "Fixed in: golang.org/x/text 0.3.7"}},
		// trivy: the check's description and resolution (its Dockerfile
		// checks merge into dagsec's, so an IaC one).
		{"AWS-0086", "help", []string{"Fix: "}},
		// dagsec's own rules: the text of docs/rules.md.
		{"DAGSEC-DF001", "help", []string{stages.OwnRuleDoc("DAGSEC-DF001").Description, "docs/rules.md#dagsec-df001"}},
		{"license-denied", "help", []string{"Denied by this run's policy: GPL-2.0"}},
	} {
		r, ok := rules[tc.rule]
		if !ok {
			t.Errorf("no rule %s in results.sarif", tc.rule)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.help, w) || r.md == "" {
				t.Errorf("rule %s: help lacks %q:\n%s", tc.rule, w, r.help)
			}
		}
	}
	// Findings about a module are at its require line in go.mod; "no USER"
	// (dagsec's, with trivy's DS-0002 merged in) at the final stage's FROM.
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	require := 0
	for i, l := range strings.Split(string(gomod), "\n") {
		if strings.Contains(l, "golang.org/x/text v0.3.0") {
			require = i + 1
		}
	}
	for rule, want := range map[string]string{"GO-2020-0015": fmt.Sprintf("go.mod:%d", require), "DAGSEC-DF001": "Dockerfile:1"} {
		if !slices.Contains(at[rule], want) {
			t.Errorf("%s at %v, want one at %s", rule, at[rule], want)
		}
	}
}

// checkDependencyScanning: GitLab's dependency scanning places every
// vulnerability at a manifest or lockfile, never at the source file
// govulncheck found the vulnerable call in.
func checkDependencyScanning(t *testing.T, out string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "gl-dependency-scanning-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Vulnerabilities []struct {
			Location struct{ File string }
		}
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Vulnerabilities) == 0 {
		t.Fatal("no dependency scanning vulnerabilities")
	}
	for _, v := range rep.Vulnerabilities {
		if base := filepath.Base(v.Location.File); base != "go.mod" && base != "package-lock.json" {
			t.Errorf("dependency vulnerability at %q, not a manifest or lockfile", v.Location.File)
		}
	}
}

// sampleAppRouteLine is the line of examples/app/main.go registering a route.
func sampleAppRouteLine(t *testing.T, src, route string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(src, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "HandleFunc("+route) {
			return i + 1
		}
	}
	t.Fatalf("main.go registers no %s", route)
	return 0
}

// checkDASTReports: a DAST run's reports put no URL where a file belongs.
// results.sarif passes code scanning's rules, names no URL (or any scheme)
// as an artifact and keeps each request as a logical location and in the
// result's properties; GitLab's DAST report has method, path and
// parameter; Code Quality has no entry for a URL; annotations name files
// of the source only.
func checkDASTReports(t *testing.T, out string) {
	t.Helper()
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	sarif := read("results.sarif")
	if err := sarifio.Validate(sarif); err != nil {
		t.Errorf("results.sarif: %v", err)
	}
	for _, p := range sarifio.CodeScanningProblems(sarif) {
		t.Errorf("results.sarif: %s", p)
	}
	n := 0
	for _, run := range readSARIF(t, sarif).Runs {
		for _, res := range run.Results {
			n++
			req, _ := res.Properties["request"].(map[string]any)
			path, _ := req["path"].(string)
			if path == "" {
				t.Errorf("%s: no request in its properties", deref(res.RuleID))
			}
			for _, l := range res.Locations {
				if l.PhysicalLocation == nil || l.PhysicalLocation.ArtifactLocation == nil {
					continue // reported by CodeScanningProblems
				}
				if uri := deref(l.PhysicalLocation.ArtifactLocation.URI); uri != "main.go" && uri != "Dockerfile" {
					t.Errorf("%s at %q, not a file of the sample app", deref(res.RuleID), uri)
				}
				if len(l.LogicalLocations) != 1 || deref(l.LogicalLocations[0].Kind) != "resource" ||
					!strings.HasSuffix(deref(l.LogicalLocations[0].FullyQualifiedName), path) {
					t.Errorf("%s: logical locations %+v", deref(res.RuleID), l.LogicalLocations)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("results.sarif has no DAST result")
	}

	var dast struct {
		Vulnerabilities []struct {
			Location struct{ Hostname, Method, Path, Param string }
		}
	}
	if err := json.Unmarshal(read("gl-dast-report.json"), &dast); err != nil {
		t.Fatal(err)
	}
	xss := false
	for _, v := range dast.Vulnerabilities {
		l := v.Location
		if !strings.HasPrefix(l.Hostname, "http://127.0.0.1:") || !strings.HasPrefix(l.Path, "/") || l.Method == "" {
			t.Errorf("GitLab DAST location %+v", l)
		}
		xss = xss || (l.Method == "GET" && l.Path == "/search" && l.Param == "q")
	}
	if !xss {
		t.Errorf("GitLab DAST report has no GET /search with parameter q: %+v", dast.Vulnerabilities)
	}
	if cq := strings.TrimSpace(string(read("gl-code-quality-report.json"))); cq != "[]" {
		t.Errorf("Code Quality lists DAST findings: %s", cq)
	}
	for _, l := range strings.Split(string(read("github-annotations.txt")), "\n") {
		if i := strings.Index(l, "file="); i >= 0 {
			file, _, _ := strings.Cut(l[i+len("file="):], "::")
			file, _, _ = strings.Cut(file, ",")
			if file != "main.go" && file != "Dockerfile" {
				t.Errorf("annotation at %q: %s", file, l)
			}
		}
	}
}

// readSARIF parses a SARIF log with go-sarif, as code scanning's tools read it.
func readSARIF(t *testing.T, data []byte) *sarif.Report {
	t.Helper()
	log, err := sarif.FromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func text(m *sarif.MultiformatMessageString) string {
	if m == nil {
		return ""
	}
	return deref(m.Text)
}
