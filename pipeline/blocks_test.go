package pipeline_test

import (
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
)

// A stage's gate, judged again from its report (terminal and GitHub
// annotations), counts what policies.Evaluate counted.
func TestStageReportBlocks(t *testing.T) {
	high := findings.Finding{Severity: findings.SeverityHigh}
	low := findings.Finding{Severity: findings.SeverityLow}
	suppressed := high
	suppressed.Suppressed = &findings.Suppressed{Justification: "accepted"}
	known := high
	known.Baseline = "known"
	fresh := high
	fresh.Baseline = "new"
	for _, tt := range []struct {
		name    string
		blockOn string
		f       findings.Finding
		want    bool
	}{
		{"at block_on", "high", high, true},
		{"below block_on", "high", low, false},
		{"suppressed", "high", suppressed, false},
		{"known to the baseline", "high", known, false},
		{"new against the baseline", "high", fresh, true},
		{"no block_on is info", "", low, true},
		{"an invalid block_on is info", "severe", low, true},
		{"no valid severity always", "critical", findings.Finding{Severity: findings.Severity(99)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := pipeline.StageReport{BlockOn: tt.blockOn}
			if got := s.Blocks(&tt.f); got != tt.want {
				t.Errorf("Blocks = %v, want %v", got, tt.want)
			}
		})
	}
}
