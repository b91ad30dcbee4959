package pipeline

import (
	"fmt"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// scoreGate adds the api stage's score to its verdict: a score below the
// policy's min_score blocks (warns with warn_only), beside block_on. The
// findings a gate does not count (suppressed, known) do not lower it. No
// score is given when Spectral did not run or failed: the verdict already
// says why.
func scoreGate(sp policies.StagePolicy, fs []findings.Finding, tools []ToolReport, v policies.Verdict) (policies.Verdict, *int) {
	ran := false
	for _, t := range tools {
		if t.Name == "spectral" && t.Skipped == "" && t.Error == "" {
			ran = true
		}
	}
	if !ran {
		return v, nil
	}
	var counted []findings.Finding
	for _, f := range fs {
		if policies.Gates(f) {
			counted = append(counted, f)
		}
	}
	score := stages.APIScore(counted)
	text := fmt.Sprintf("API score %d/100 (min_score %d)", score, sp.MinScore)
	switch {
	case score >= sp.MinScore:
		v.Reason = text + "; " + v.Reason
	case v.Status == policies.StatusError:
		v.Reason += "; " + text
	case sp.WarnOnly:
		v.Reason = "warn only: " + text + " is below the minimum; " + v.Reason
		if v.Status == policies.StatusPassed {
			v.Status = policies.StatusWarned
		}
	default:
		v.Status, v.Reason = policies.StatusBlocked, text+" is below the minimum; "+v.Reason
	}
	return v, &score
}
