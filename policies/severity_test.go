package policies

import (
	"reflect"
	"slices"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

func TestSeverityOverrideParse(t *testing.T) {
	src := `stages:
  sast:
    severity:
      G104: low
      semgrep/python.lang.security.audit.eval: critical
      "10038": high
      some/rule/with/slashes: medium
  sca:
    severity: {trivy/CVE-2024-1: info}
`
	p, err := Parse([]byte(src), "policy.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]findings.Severity{
		"G104": low, "semgrep/python.lang.security.audit.eval": crit, "10038": high, "some/rule/with/slashes": med,
	}
	if got := p.Stage(stages.SAST).Severity; !reflect.DeepEqual(got, want) {
		t.Errorf("sast severity = %v", got)
	}
	if got := p.Stage(stages.SCA).Severity; !reflect.DeepEqual(got, map[string]findings.Severity{"trivy/CVE-2024-1": info}) {
		t.Errorf("sca severity = %v", got)
	}
	if got := p.Stage(stages.IaC).Severity; got != nil {
		t.Errorf("iac severity = %v", got)
	}
	// Stage hands out a copy.
	p.Stage(stages.SAST).Severity["G104"] = crit
	if p.Stage(stages.SAST).Severity["G104"] != low {
		t.Error("changing Stage's map changed the policy")
	}
	// An empty mapping clears.
	q, err := Parse([]byte("stages:\n  sast:\n    severity: {}\n"), "policy.yaml", "")
	if err != nil || q.Stage(stages.SAST).Severity != nil {
		t.Errorf("empty mapping: %v %v", q, err)
	}
}

func TestSeverityOverrideErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		want      string
	}{
		{"unknown severity", "stages:\n  sast:\n    severity:\n      G104: minor\n", 4,
			`stages.sast.severity.G104: invalid severity "minor" (want critical, high, medium, low or info)`},
		{"severity not a string", "stages:\n  sast:\n    severity:\n      G104: 3\n", 4, `stages.sast.severity.G104: want a string, got "3"`},
		{"empty key", "stages:\n  sast:\n    severity:\n      '': high\n", 4, "stages.sast.severity: empty rule id"},
		{"null key", "stages:\n  sast:\n    severity:\n      ~: high\n", 4, "stages.sast.severity: empty rule id"},
		{"key with a space", "stages:\n  sast:\n    severity:\n      'G1 04': high\n", 4, `stages.sast.severity: rule id "G1 04" contains a space`},
		{"tool of another stage", "stages:\n  sca:\n    severity:\n      gosec/G104: high\n", 4,
			`stages.sca.severity: "gosec/G104": unknown tool "gosec" for stage sca (tools: govulncheck, osv-scanner, trivy)`},
		{"tool without rule", "stages:\n  sast:\n    severity:\n      gosec/: high\n", 4, `stages.sast.severity: "gosec/" names no rule after the tool`},
		{"no value", "stages:\n  sast:\n    severity:\n", 3, "stages.sast.severity has no value"},
		{"a list", "stages:\n  sast:\n    severity: [G104]\n", 3, "stages.sast.severity: want a mapping of rule ids (or tool/rule) to severities"},
		{"duplicate", "stages:\n  sast:\n    severity:\n      G104: low\n      G104: high\n", 5, `duplicate key "G104" in stages.sast.severity (first at line 4)`},
		{"null severity", "stages:\n  sast:\n    severity:\n      G104:\n", 4, "stages.sast.severity.G104 has no value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { badSource(t, parsePolicy, tt.src, tt.line, tt.want) })
	}
}

func TestOverrideSeverity(t *testing.T) {
	sp := StagePolicy{Severity: map[string]findings.Severity{
		"G104":       low,
		"gosec/G401": info,
		"G401":       crit,
		"semgrep/python.lang.security.audit.eval": crit,
		"B101": high,
	}}
	in := []findings.Finding{
		{Tool: "gosec", RuleID: "G104", Severity: high, Tags: []string{"cwe-703"}},
		{Tool: "gosec", RuleID: "G401", Severity: med},
		{Tool: "bandit", RuleID: "G401", Severity: med},
		{Tool: "semgrep", RuleID: "python.lang.security.audit.eval", Severity: med},
		{Tool: "bandit", RuleID: "B101", Severity: high},
		{Tool: "bandit", RuleID: "B102", Severity: med},
	}
	orig := slices.Clone(in)
	orig[0].Tags = slices.Clone(in[0].Tags)
	out := sp.OverrideSeverity(in)
	want := []struct {
		sev  findings.Severity
		tags []string
	}{
		{low, []string{"cwe-703", TagSeverityOverridden, "original-severity:high"}},
		{info, []string{TagSeverityOverridden, "original-severity:medium"}}, // tool/rule wins
		{crit, []string{TagSeverityOverridden, "original-severity:medium"}},
		{crit, []string{TagSeverityOverridden, "original-severity:medium"}},
		{high, nil}, // already at the override's severity
		{med, nil},  // no override
	}
	for i, w := range want {
		if out[i].Severity != w.sev || !slices.Equal(out[i].Tags, w.tags) {
			t.Errorf("%d: %s %v, want %s %v", i, out[i].Severity, out[i].Tags, w.sev, w.tags)
		}
	}
	if !reflect.DeepEqual(in, orig) {
		t.Error("the input changed")
	}
	if again := sp.OverrideSeverity(out); !reflect.DeepEqual(again, out) {
		t.Error("applying twice changed the findings again")
	}
	if (StagePolicy{}).OverrideSeverity(nil) != nil {
		t.Error("nil in, non-nil out")
	}
}
