package pipeline_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/sarifio"
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

// Each SARIF run holds its own tool's findings, in report order, also when
// the log is kept whole after every run was built: toolRuns reuses one
// buffer for the runs' findings, which no built run may point into.
func TestSARIFRunsHoldTheirOwnFindings(t *testing.T) {
	tools := []struct{ stage, tool string }{{stages.SCA, "trivy"}, {stages.SAST, "gosec"}, {stages.SCA, "osv-scanner"}}
	rep := &pipeline.Report{SchemaVersion: pipeline.SchemaVersion}
	for _, tt := range tools {
		rep.Stages = append(rep.Stages, pipeline.StageReport{Name: tt.stage, Tools: []pipeline.ToolReport{{Name: tt.tool, Version: "1"}}})
	}
	// Interleaved by severity as a report is; the first tool has the most.
	for i := range 30 {
		tt := tools[min(i%4, 2)]
		f := findings.Finding{Stage: tt.stage, Tool: tt.tool, RuleID: fmt.Sprintf("%s-R%d", tt.tool, i), Severity: findings.Severities()[i%5],
			Message: fmt.Sprintf("%s finding %d", tt.tool, i), Location: findings.Location{Path: fmt.Sprintf("f%d.go", i), Line: i + 1}}
		f.Fingerprint = findings.Fingerprint(f)
		rep.Findings = append(rep.Findings, f)
	}
	findings.Sort(rep.Findings)
	log, err := rep.SARIFLog()
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != len(tools) {
		t.Fatalf("%d runs, want %d", len(log.Runs), len(tools))
	}
	for _, run := range log.Runs {
		var want []string
		for _, f := range rep.Findings {
			if sarifio.AutomationID(f.Stage, f.Tool) == *run.AutomationDetails.ID {
				want = append(want, f.Fingerprint+" "+f.RuleID+" "+f.Message)
			}
		}
		var got []string
		for _, res := range run.Results {
			got = append(got, res.PartialFingerprints[sarifio.FingerprintKey].(string)+" "+*res.RuleID+" "+*res.Message.Text)
		}
		if !slices.Equal(got, want) || len(got) == 0 {
			t.Errorf("run %s holds\n%q\nwant\n%q", *run.AutomationDetails.ID, got, want)
		}
	}
	// The encoded log is the same log.
	sf, err := rep.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := sarifio.Encode(log)
	if err != nil || string(sf) != string(whole) {
		t.Errorf("SARIF() differs from the log kept whole (%v)", err)
	}
}
