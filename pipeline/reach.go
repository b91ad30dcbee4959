package pipeline

import (
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// topSeverity is the highest severity the stage's tools that ran can give
// a finding, the policy's overrides and unreachable_severity included; ""
// when no tool ran or one has no known ceiling. Markdown compares it with
// block_on to say when a gate cannot block.
func topSeverity(stage string, sp policies.StagePolicy, tools []ToolReport) string {
	var top findings.Severity
	for _, t := range tools {
		if t.Skipped != "" || t.Error != "" {
			continue
		}
		sev, ok := stages.TopSeverity(stage, t.Name)
		if !ok {
			return ""
		}
		top = max(top, sev)
	}
	if !top.Valid() {
		return "" // no tool ran that reports findings
	}
	top = max(top, sp.UnreachableSeverity)
	for _, sev := range sp.Severity {
		top = max(top, sev)
	}
	return top.String()
}

// unreachableGates lists the stages whose gate no tool that ran can reach:
// block_on above every severity they give.
func (r *Report) unreachableGates() []StageReport {
	var out []StageReport
	for _, s := range r.Stages {
		if s.WarnOnly || s.TopSeverity == "" || s.Status == policies.StatusSkipped {
			continue
		}
		blockOn, err1 := findings.ParseSeverity(s.BlockOn)
		top, err2 := findings.ParseSeverity(s.TopSeverity)
		if err1 == nil && err2 == nil && blockOn > top {
			out = append(out, s)
		}
	}
	return out
}
