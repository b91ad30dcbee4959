package pipeline_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// report.json keeps each rule's explanation once per tool and rule id;
// read back, every finding has it again and the SARIF is the same.
func TestReportKeepsRulesOnce(t *testing.T) {
	g104 := &findings.Rule{Description: "Errors unhandled.", Help: "Errors unhandled.\n\nFix: check them.", HelpMarkdown: "Errors unhandled.\n\n**Fix:** check them."}
	mk := func(line int) findings.Finding {
		return findings.Finding{Stage: "sast", Tool: "gosec", RuleID: "G104", Severity: findings.SeverityLow, Message: "m",
			Location: findings.Location{Path: "a.go", Line: line}, Rule: g104, Fingerprint: "fp" + string(rune('0'+line))}
	}
	other := findings.Finding{Stage: "sast", Tool: "semgrep", RuleID: "G104", Severity: findings.SeverityLow, Message: "m", Fingerprint: "fp9"}
	rep := &pipeline.Report{SchemaVersion: pipeline.SchemaVersion, Errors: []string{},
		Stages: []pipeline.StageReport{{Name: "sast", Status: policies.StatusWarned,
			Tools: []pipeline.ToolReport{{Name: "gosec"}, {Name: "semgrep"}}}},
		Findings: []findings.Finding{mk(1), mk(2), mk(3), other}}
	data, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Rules []map[string]string `json:"rules"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Rules) != 1 || raw.Rules[0]["tool"] != "gosec" || raw.Rules[0]["id"] != "G104" || raw.Rules[0]["help"] != g104.Help {
		t.Fatalf("rules %v, want gosec's G104 once (semgrep's G104 has none)", raw.Rules)
	}
	if strings.Count(string(data), "Fix: check them") != 1 {
		t.Error("a rule's help is repeated per finding")
	}
	back, err := pipeline.ReadReport(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range back.Findings {
		if f.Tool == "gosec" && (f.Rule == nil || *f.Rule != *g104) {
			t.Errorf("finding %d lost its rule: %+v", i, f.Rule)
		}
		if f.Tool == "semgrep" && f.Rule != nil {
			t.Errorf("semgrep's G104 took gosec's rule")
		}
	}
	a, errA := rep.SARIF()
	b, errB := back.SARIF()
	if errA != nil || errB != nil || string(a) != string(b) {
		t.Errorf("SARIF of the saved report differs (%v, %v)", errA, errB)
	}

	// A rule entry without its tool, id or description is bad input.
	i := strings.LastIndex(string(data), `"tool": "gosec"`) // the rules come after the findings
	bad := string(data[:i]) + `"tool": ""` + string(data[i+len(`"tool": "gosec"`):])
	if _, err := pipeline.ReadReport([]byte(bad)); err == nil || !strings.Contains(err.Error(), "rule 0") {
		t.Errorf("rule without a tool: %v", err)
	}
}
