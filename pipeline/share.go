package pipeline

import (
	"context"
	"strings"
	"sync"

	"github.com/dagsec/dagsec/stages"
)

// sharedRuns runs each shared step (stages.Step.Share) of a run once, for
// every plan that has it: one trivy config serves iac and dockerfile.
type sharedRuns struct {
	mu   sync.Mutex
	runs map[string]*sharedRun
}

type sharedRun struct {
	once sync.Once
	res  stages.StepResult
	err  error
}

// sharingRunner is the run's Runner with shared steps memoized; runTool
// gets it in place of the Runner.
type sharingRunner struct {
	Runner
	shared *sharedRuns
}

func (s sharingRunner) Run(ctx context.Context, step stages.Step) (stages.StepResult, error) {
	if step.Share == "" || s.shared == nil {
		return s.Runner.Run(ctx, step)
	}
	// The same share name and command: a plan with other arguments (its
	// stage's own timeout aside) runs on its own.
	key := step.Share + "\x00" + strings.Join(step.Argv, "\x00")
	s.shared.mu.Lock()
	if s.shared.runs == nil {
		s.shared.runs = map[string]*sharedRun{}
	}
	r, ok := s.shared.runs[key]
	if !ok {
		r = &sharedRun{}
		s.shared.runs[key] = r
	}
	s.shared.mu.Unlock()
	r.once.Do(func() { r.res, r.err = s.Runner.Run(ctx, step) })
	return r.res, r.err
}
