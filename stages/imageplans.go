package stages

import (
	"context"
	"errors"
)

// planBuild checks the built image (Options.Image).
func planBuild(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	return nil, errors.New("build checks: not written yet")
}

// planImage scans the built image.
func planImage(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	return nil, errors.New("image scan: not written yet")
}
