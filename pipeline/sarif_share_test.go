package pipeline_test

import (
	"testing"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/stages"
)

// sarifio.Merge gives results of one severity one properties map: the
// annotations of a merged finding must stay on its own result.
func TestSARIFAnnotationsStayOnTheirResult(t *testing.T) {
	f := func(rule string) findings.Finding {
		fd := findings.Finding{Stage: stages.SAST, Tool: "gosec", RuleID: rule, Severity: findings.SeverityHigh, Message: "m",
			Location: findings.Location{Path: "a.go", Line: 1}}
		fd.Fingerprint = findings.Fingerprint(fd)
		return fd
	}
	merged := f("G1")
	merged.AlsoFoundBy, merged.MergedFingerprints = []string{"semgrep"}, []string{"abc"}
	rep := &pipeline.Report{SchemaVersion: pipeline.SchemaVersion, Findings: []findings.Finding{f("G0"), merged, f("G2")},
		Stages: []pipeline.StageReport{{Name: stages.SAST, Tools: []pipeline.ToolReport{{Name: "gosec", Version: "1"}}}}}
	log, err := rep.SARIFLog()
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range log.Runs[0].Results {
		_, also := res.Properties["alsoFoundBy"]
		_, fps := res.Properties[baseline.MergedFingerprintsKey]
		if want := i == 1; also != want || fps != want || res.Properties["severity"] != "high" {
			t.Errorf("result %d (%s): properties %v", i, *res.RuleID, res.Properties)
		}
	}
}
