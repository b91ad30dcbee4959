package sarifio_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/sarifio"
)

// The check finds each kind of problem code scanning refuses or cannot
// anchor, and passes what dagsec writes for the same findings.
func TestCodeScanningProblems(t *testing.T) {
	const rule = `{"id":"R1","fullDescription":{"text":"d"},"help":{"text":"h"}}`
	log := func(rules, results string) string {
		return `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t","rules":[` + rules + `]}},"results":[` + results + `]}]}`
	}
	at := func(uri, region string) string {
		return `{"ruleId":"R1","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"` + uri + `"}` + region + `}}]}`
	}
	line := `,"region":{"startLine":3}`
	for _, tc := range []struct {
		name, log, want string
	}{
		{"good", log(rule, at("src/a%3Ab.go", line)), ""},
		{"no full description", log(`{"id":"R1","help":{"text":"h"}}`, ""), "no fullDescription.text"},
		{"empty help", log(`{"id":"R1","fullDescription":{"text":"d"},"help":{"text":" "}}`, ""), "no help.text"},
		{"no region", log(rule, at("a.go", "")), "without a region"},
		{"a URL as a file", log(rule, at("http://staging:8080/search", line)), "holds a scheme or a colon"},
		{"an image as a file", log(rule, at("./image:/tmp/image.tar", line)), "holds a scheme or a colon"},
		{"absolute", log(rule, at("/src/a.go", line)), "is absolute"},
		{"no location", log(rule, `{"ruleId":"R1","message":{"text":"m"}}`), "no location"},
		{"logical only", log(rule, `{"ruleId":"R1","message":{"text":"m"},"locations":[{"logicalLocations":[{"name":"/search"}]}]}`), "no physicalLocation"},
		{"not SARIF", `[1,2]`, "not a SARIF log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(sarifio.CodeScanningProblems([]byte(tc.log)), "\n")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one with %q", got, tc.want)
			}
		})
	}

	// dagsec's SARIF: findings with no line, a colon in a path, a tool that
	// explains nothing.
	data, err := sarifio.Marshal([]sarifio.ToolRun{{Stage: "sca", Tool: "osv-scanner", Findings: []findings.Finding{
		{RuleID: "GO-1", Severity: findings.SeverityHigh, Message: "x@1 has GO-1", Location: findings.Location{Path: "go.mod"}},
		{RuleID: "R2", Severity: findings.SeverityLow, Message: "m", Location: findings.Location{Path: "a:b/c.txt", Line: 4}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := sarifio.CodeScanningProblems(data); len(p) > 0 {
		t.Errorf("dagsec's SARIF: %v\n%s", p, data)
	}
}

// A rule's explanation is its findings' Rule; without one, a short
// fallback names the tool, rule and severity. A DAST finding's request is
// a logical location beside its physical one and a property, never an
// artifact; one without a file has no location.
func TestMergeExplainsRulesAndKeepsRequestsOutOfFiles(t *testing.T) {
	explained := &findings.Rule{Description: "What R1 finds.", Help: "What R1 finds.\n\nFix: this.", HelpMarkdown: "What R1 finds.\n\n**Fix:** this."}
	runs := []sarifio.ToolRun{
		{Stage: "sast", Tool: "t", Findings: []findings.Finding{
			{RuleID: "R1", Severity: findings.SeverityHigh, Message: "m", Rule: explained, Location: findings.Location{Path: "a.go", Line: 2}},
			{RuleID: "R2", RuleName: "Second rule", Severity: findings.SeverityLow, Message: "m", HelpURI: "https://example.org/r2", Location: findings.Location{Path: "b.go"}},
		}},
		{Stage: "dast", Tool: "zap", Findings: []findings.Finding{
			{RuleID: "zap-1", Severity: findings.SeverityMedium, Message: "m",
				Location: findings.Location{Path: "main.go", Line: 9, Request: &findings.Request{Method: "GET", Path: "/search", Param: "q"}}},
			{RuleID: "zap-2", Severity: findings.SeverityLow, Message: "m",
				Location: findings.Location{Request: &findings.Request{Method: "GET", Path: "/robots.txt"}}},
		}},
	}
	data, err := sarifio.Marshal(runs)
	if err != nil {
		t.Fatal(err)
	}
	if err := sarifio.Validate(data); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID              string
						FullDescription struct{ Text string }
						Help            struct{ Text, Markdown string }
					}
				}
			}
			Results []struct {
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
					LogicalLocations []struct{ Name, FullyQualifiedName, Kind string }
				}
				Properties map[string]any
			}
		}
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	r1, r2 := log.Runs[0].Tool.Driver.Rules[0], log.Runs[0].Tool.Driver.Rules[1]
	if r1.FullDescription.Text != explained.Description || r1.Help.Text != explained.Help || r1.Help.Markdown != explained.HelpMarkdown {
		t.Errorf("R1 is not explained by its Rule: %+v", r1)
	}
	for _, w := range []string{"t reports this rule without a description.", "low in the sast stage"} {
		if !strings.Contains(r2.FullDescription.Text+r2.Help.Text, w) {
			t.Errorf("R2's fallback lacks %q: %+v", w, r2)
		}
	}
	if l := log.Runs[0].Results[1].Locations[0]; l.PhysicalLocation.Region.StartLine != 1 {
		t.Errorf("b.go without a line: region %+v, want line 1", l.PhysicalLocation.Region)
	}
	dast := log.Runs[1].Results
	l := dast[0].Locations[0]
	if l.PhysicalLocation == nil || l.PhysicalLocation.ArtifactLocation.URI != "main.go" || len(l.LogicalLocations) != 1 ||
		l.LogicalLocations[0] != (struct{ Name, FullyQualifiedName, Kind string }{"/search", "GET /search", "resource"}) {
		t.Errorf("DAST result at its handler: %+v", l)
	}
	if req, _ := dast[0].Properties["request"].(map[string]any); req["path"] != "/search" || req["method"] != "GET" || req["param"] != "q" {
		t.Errorf("request property %v", dast[0].Properties)
	}
	if len(dast[1].Locations) != 0 || dast[1].Properties["request"] == nil {
		t.Errorf("a request without a file: locations %+v, properties %v", dast[1].Locations, dast[1].Properties)
	}
	// The request of one result does not leak into the shared properties of another.
	if _, ok := log.Runs[0].Results[0].Properties["request"]; ok {
		t.Error("a SAST result got a request")
	}
}
