package pipeline

import (
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/policies"
	"github.com/owenrumney/go-sarif/v2/sarif"
)

// What the external benchmarks need to run a run's steps after its tools
// return, as runStage and Run do.
var (
	Triage       = triage
	TriageCounts = triageCounts
	Validate     = validate
)

// RunSuppressionReport is the run's suppression report (Run).
func RunSuppressionReport(cfg Config, fs []findings.Finding, now time.Time) *policies.SuppressionReport {
	return runSuppressionReport(cfg, fs, now)
}

// Finish merges the stages' findings into the report, as Run ends.
func (r *Report) Finish(fs []findings.Finding) { r.finish(fs) }

// SARIFLog is the merged SARIF log SARIF and SARIFFiles encode.
func (r *Report) SARIFLog() (*sarif.Report, error) { return r.sarifLog() }
