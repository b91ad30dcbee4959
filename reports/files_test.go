package reports_test

import (
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports"
	"github.com/dagsec/dagsec/reports/gitlab"
)

func TestFilesHoldEveryFormat(t *testing.T) {
	f := findings.Finding{Stage: "sast", Tool: "gosec", RuleID: "G204", Severity: findings.SeverityHigh,
		Message: "Subprocess launched with variable", Location: findings.Location{Path: "main.go", Line: 12}}
	f.Fingerprint = findings.Fingerprint(f)
	data := `{"schema_version":"1","status":"blocked","exit_code":1,"stages":[{"name":"sast","status":"blocked","reason":"1 finding at or above high","block_on":"high","blocking":1,"findings":1,"tools":[{"name":"gosec","runner":"host","findings":1}]}],"findings":[]}`
	rep, err := pipeline.ReadReport([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	rep.Findings = []findings.Finding{f}
	rep.Status = policies.StatusBlocked
	files, err := reports.Files(rep, gitlab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.json", "results.sarif", "summary.md", "junit.xml", "gl-sast-report.json", "gl-code-quality-report.json", reports.AnnotationsFile, reports.OutputsFile, reports.MetricsFile, reports.OpenMetricsFile, reports.DashboardFile} {
		if len(files[name]) == 0 {
			t.Errorf("no %s", name)
		}
	}
	if ann := string(files[reports.AnnotationsFile]); !strings.HasPrefix(ann, "::error ") || !strings.Contains(ann, "file=main.go,line=12") {
		t.Errorf("annotations: %q", ann)
	}
	out := string(files[reports.OutputsFile])
	for _, line := range []string{"passed=false\n", "exit-code=1\n", "high=1\n", "blocked-stages=sast\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("outputs lack %q: %q", line, out)
		}
	}
}
