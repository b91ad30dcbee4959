package pipeline

import (
	"iter"
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

// SARIFRuns are the runs SARIF and SARIFFiles encode, built one at a time.
func (r *Report) SARIFRuns() iter.Seq2[*sarif.Run, error] { return r.sarifRuns() }

// SARIFLog is the log of SARIFRuns, whole.
func (r *Report) SARIFLog() (*sarif.Report, error) {
	log, err := sarif.New(sarif.Version210)
	if err != nil {
		return nil, err
	}
	for run, err := range r.sarifRuns() {
		if err != nil {
			return nil, err
		}
		log.AddRun(run)
	}
	return log, nil
}
