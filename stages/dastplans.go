package stages

import (
	"context"
	"errors"
)

// planDAST scans Options.Target.
func planDAST(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	return nil, errors.New("dast: not written yet")
}
