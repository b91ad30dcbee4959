package findings

import "testing"

// A check about a whole file (no line) is the same issue as the same check
// at a line of that file; two checks at different lines never are, even
// though both share the file.
func TestDedupFileLevelChecks(t *testing.T) {
	check := func(tool, rule string, line int, tags ...string) Finding {
		return Finding{Stage: "dockerfile", Tool: tool, RuleID: rule, Severity: SeverityHigh, Message: rule,
			Location: Location{Path: "Dockerfile", Line: line}, Tags: tags, Fingerprint: tool + rule}
	}
	cases := []struct {
		name string
		in   []Finding
		want int
	}{
		{"file-level and lined", []Finding{check("trivy", "DS-0002", 0, "AVD-DS-0002"), check("dagsec", "DAGSEC-DF001", 1, "AVD-DS-0002")}, 1},
		{"same line", []Finding{check("trivy", "DS-0001", 1, "AVD-DS-0001"), check("dagsec", "DAGSEC-DF002", 1, "AVD-DS-0001")}, 1},
		{"different lines", []Finding{check("trivy", "DS-0001", 1, "AVD-DS-0001"), check("dagsec", "DAGSEC-DF002", 5, "AVD-DS-0001")}, 2},
		{"no shared id", []Finding{check("trivy", "DS-0002", 0, "AVD-DS-0002"), check("dagsec", "DAGSEC-DF004", 1, "AVD-DS-0026")}, 2},
		{"one tool twice", []Finding{check("trivy", "DS-0002", 0, "AVD-DS-0002"), check("trivy", "DS-0002", 3, "AVD-DS-0002")}, 2},
	}
	for _, tc := range cases {
		if got := Dedup(tc.in); len(got) != tc.want {
			t.Errorf("%s: %d findings, want %d: %+v", tc.name, len(got), tc.want, got)
		}
	}
}
