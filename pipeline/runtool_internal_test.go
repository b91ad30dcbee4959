package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/stages"
)

// resultRunner is a Runner whose Run returns a fixed result: the contract
// between the pipeline and any runner, checked for what a runner may get
// wrong rather than for a tool's behaviour (the real runners' own tests
// run real tools).
type resultRunner struct{ res stages.StepResult }

func (r resultRunner) Exists(context.Context, string) (bool, error)     { return false, nil }
func (r resultRunner) Glob(context.Context, string) ([]string, error)   { return nil, nil }
func (r resultRunner) ReadFile(context.Context, string) ([]byte, error) { return nil, nil }
func (r resultRunner) HasTool(context.Context, string) bool             { return true }
func (r resultRunner) Kind() string                                     { return "test" }
func (r resultRunner) Run(context.Context, stages.Step) (stages.StepResult, error) {
	return r.res, nil
}

// A step that should write a report fails closed when the runner brings
// none back, whether or not the runner flagged it as missing: a nil report
// is never "no findings".
func TestRunToolFailsClosedWithoutReport(t *testing.T) {
	step := stages.Step{Name: "secrets/gitleaks", Tool: "gitleaks", Version: "v8.30.1", Image: "x",
		Argv: []string{"gitleaks"}, Report: "gitleaks.json", OKCodes: []int{0}, FindingCodes: []int{1}}
	plan := stages.Plan{Stage: stages.Secrets, Step: step, Parse: stages.ParseGitleaks}
	for _, res := range []stages.StepResult{
		{ExitCode: 0},
		{ExitCode: 0, ReportMissing: true},
		{ExitCode: 1},
	} {
		tr, fs, _, err := runTool(context.Background(), resultRunner{res}, plan)
		if err == nil || !strings.Contains(err.Error(), "wrote no report gitleaks.json") || tr.Error == "" || fs != nil {
			t.Errorf("%+v: err %v, row error %q, %d findings; want a tool error", res, err, tr.Error, len(fs))
		}
	}
}
