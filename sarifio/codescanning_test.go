package sarifio_test

import (
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
