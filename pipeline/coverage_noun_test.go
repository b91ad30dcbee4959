package pipeline

import (
	"strings"
	"testing"

	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// Partial coverage names its targets by their kind only when they share
// one: five Go modules and the other languages' code are "targets".
func TestPartialCoverageNamesItsTargets(t *testing.T) {
	mod := func(p string) stages.CoverageTarget {
		return stages.CoverageTarget{Kind: stages.TargetGoModule, Path: p}
	}
	code := stages.CoverageTarget{Kind: stages.TargetCode, Path: "."}
	tests := []struct {
		name    string
		targets []stages.CoverageTarget
		want    string
	}{
		{"mixed", []stages.CoverageTarget{mod("a"), mod("b"), code}, "partial coverage: 2 of 3 targets scanned"},
		{"Go modules", []stages.CoverageTarget{mod("a"), mod("b"), mod("c")}, "partial coverage: 2 of 3 Go modules scanned"},
		{"IaC", []stages.CoverageTarget{{Kind: stages.TargetIaC, Path: "a"}, {Kind: stages.TargetIaC, Path: "b"}, {Kind: stages.TargetIaC, Path: "c"}}, "partial coverage: 2 of 3 IaC targets scanned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := coverage(tt.targets, nil, nil)
			c.Covered, c.NotCovered = 2, c.NotCovered[2:]
			res := judgeCoverage(NodeResult{Status: policies.StatusPassed}, c, false)
			if res.Status != policies.StatusWarned || !strings.HasPrefix(res.Reason, tt.want) {
				t.Errorf("%s %q, want warned %q", res.Status, res.Reason, tt.want)
			}
		})
	}
}
