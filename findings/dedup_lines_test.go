package findings

import "testing"

// A check's copies merge only at the same line: the pipeline first puts a
// check about a whole file at the line it is about (stages.Anchor: trivy's
// missing USER at the final FROM, where dagsec's own check is).
func TestDedupChecksByLine(t *testing.T) {
	check := func(tool, rule string, line int, tags ...string) Finding {
		return Finding{Stage: "dockerfile", Tool: tool, RuleID: rule, Severity: SeverityHigh, Message: rule,
			Location: Location{Path: "Dockerfile", Line: line}, Tags: tags, Fingerprint: tool + rule}
	}
	cases := []struct {
		name string
		in   []Finding
		want int
	}{
		{"same line", []Finding{check("trivy", "DS-0001", 1, "AVD-DS-0001"), check("dagsec", "DAGSEC-DF002", 1, "AVD-DS-0001")}, 1},
		{"different lines", []Finding{check("trivy", "DS-0001", 1, "AVD-DS-0001"), check("dagsec", "DAGSEC-DF002", 5, "AVD-DS-0001")}, 2},
		{"no shared id", []Finding{check("trivy", "DS-0002", 1, "AVD-DS-0002"), check("dagsec", "DAGSEC-DF004", 1, "AVD-DS-0026")}, 2},
		{"one tool twice", []Finding{check("trivy", "DS-0002", 1, "AVD-DS-0002"), check("trivy", "DS-0002", 1, "AVD-DS-0002")}, 2},
	}
	for _, tc := range cases {
		if got := Dedup(tc.in); len(got) != tc.want {
			t.Errorf("%s: %d findings, want %d: %+v", tc.name, len(got), tc.want, got)
		}
	}
}
