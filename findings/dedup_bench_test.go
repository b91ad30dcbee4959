package findings_test

import (
	"fmt"
	"testing"

	"github.com/dagsec/dagsec/findings"
)

// One tool reporting one rule on one line many times (a minified file)
// while a second tool shares the rule makes one large ambiguous group per
// line: splitting it must cost in proportion to the group, not the run.
func BenchmarkDedupManyAmbiguousGroups(b *testing.B) {
	var fs []findings.Finding
	for line := range 2000 {
		for tool, copies := range map[string]int{"trivy": 3, "tfsec": 1} {
			for c := range copies {
				f := findings.Finding{Stage: "iac", Tool: tool, RuleID: "AVD-AWS-0086", Severity: findings.SeverityHigh,
					Message: "bucket is public", Location: findings.Location{Path: fmt.Sprintf("infra/%d.tf", line%50), Line: line},
					Identity: fmt.Sprintf("%d/%d", line, c)}
				f.Fingerprint = findings.Fingerprint(f)
				fs = append(fs, f)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if out := findings.Dedup(fs); len(out) == 0 {
			b.Fatal("nothing left")
		}
	}
}
