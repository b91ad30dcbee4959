package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"dagger/dagsec/internal/dagger"

	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/stages"
)

// Fixed container paths the step placeholders expand to.
const (
	srcPath = "/src"
	inPath  = "/dagsec/in"
	outPath = "/dagsec/out"
)

// daggerRunner executes steps in containers over a Dagger directory.
type daggerRunner struct {
	source *dagger.Directory
	// images maps a tool name to a mirror image that replaces Step.Image.
	images map[string]string
}

var _ pipeline.Runner = (*daggerRunner)(nil)

// Kind names this runner in reports.
func (r *daggerRunner) Kind() string { return "dagger" }

// Exists reports whether rel names a file or folder inside the source. The
// engine resolves symlinks inside the directory, so none can leave it.
func (r *daggerRunner) Exists(ctx context.Context, rel string) (bool, error) {
	clean, err := stages.CleanRel(rel)
	if err != nil {
		return false, err
	}
	ok, err := r.source.Exists(ctx, clean)
	if err != nil {
		return false, fmt.Errorf("checking %s in the source: %w", clean, err)
	}
	return ok, nil
}

// Run executes one step: the source mounted read-only, inputs and an empty
// output folder written into the container, the report read back from it.
func (r *daggerRunner) Run(ctx context.Context, step stages.Step) (stages.StepResult, error) {
	if err := step.Validate(); err != nil {
		return stages.StepResult{}, err
	}
	image := step.Image
	if img := r.images[step.Tool]; img != "" {
		image = img
	}
	if step.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, step.Timeout)
		defer cancel()
	}
	start := time.Now()
	res, err := r.run(ctx, step, image)
	res.Duration = time.Since(start)
	if err != nil && ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && step.Timeout > 0 {
			return res, fmt.Errorf("timed out after %s", step.Timeout)
		}
		return res, fmt.Errorf("cancelled: %w", ctx.Err())
	}
	return res, err
}

func (r *daggerRunner) run(ctx context.Context, step stages.Step, image string) (stages.StepResult, error) {
	var res stages.StepResult
	ctr := dag.Container().From(image)

	// Tool images may run as a non-root user, who must be able to write the
	// report: the output folder is given to the image's user.
	user, err := ctr.User(ctx)
	if err != nil {
		return res, fmt.Errorf("image %s: %w", image, err)
	}
	ctr = ctr.
		WithMountedDirectory(srcPath, r.source, dagger.ContainerWithMountedDirectoryOpts{ReadOnly: true}).
		WithDirectory(outPath, dag.Directory(), dagger.ContainerWithDirectoryOpts{Owner: user})

	// Sorted so the same step always builds the same container (cache hits).
	for _, name := range slices.Sorted(maps.Keys(step.Inputs)) {
		clean, err := stages.CleanRel(name)
		if err != nil {
			return res, fmt.Errorf("step %s: input: %w", step.Name, err)
		}
		ctr = ctr.WithNewFile(inPath+"/"+clean, string(step.Inputs[name]))
	}

	argv, env := step.Expand(srcPath, inPath, outPath)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		ctr = ctr.WithEnvVariable(k, env[k])
	}
	ctr = ctr.WithWorkdir(step.Dir(srcPath, inPath, outPath)).
		WithExec(argv, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	// Sync runs the tool once; the queries below then name the result by ID
	// instead of resending the whole container definition.
	ctr, err = ctr.Sync(ctx)
	if err != nil {
		return res, fmt.Errorf("running %s in %s: %w", step.Tool, image, err)
	}

	code, err := ctr.ExitCode(ctx)
	if err != nil {
		return res, fmt.Errorf("exit code of %s: %w", step.Tool, err)
	}
	res.ExitCode = code
	stderr, err := ctr.Stderr(ctx)
	if err != nil {
		return res, fmt.Errorf("reading stderr: %w", err)
	}
	res.Stderr = stages.Tail(stderr, 2000)
	if res.Stderr == "" {
		stdout, err := ctr.Stdout(ctx)
		if err != nil {
			return res, fmt.Errorf("reading stdout: %w", err)
		}
		res.Stderr = stages.Tail(stdout, 2000)
	}

	if step.Report == "" {
		return res, nil
	}
	report := outPath + "/" + step.Report
	ok, err := ctr.Exists(ctx, report, dagger.ContainerExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	if err != nil {
		return res, fmt.Errorf("looking for report %s: %w", step.Report, err)
	}
	if !ok {
		res.ReportMissing = true
		return res, nil
	}
	f := ctr.File(report)
	size, err := f.Size(ctx)
	if err != nil {
		return res, fmt.Errorf("reading report %s: %w", step.Report, err)
	}
	if size > stages.MaxReportBytes {
		return res, fmt.Errorf("report %s is %d bytes, over the %d byte limit", step.Report, size, stages.MaxReportBytes)
	}
	data, err := f.Contents(ctx)
	if err != nil {
		return res, fmt.Errorf("reading report %s: %w", step.Report, err)
	}
	res.Report = []byte(data)
	return res, nil
}
