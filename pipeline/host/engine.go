package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/stages"
)

// The host runner is a pipeline.Engine that cannot build, serve or push
// images: it checks and scans a saved image tarball (ImageTar), and runs
// deploy steps' commands directly on this machine.
var _ pipeline.Engine = (*Runner)(nil)

// Build reads the saved image tarball given as ImageTar (`docker save`, or
// Dagger's asTarball export) in place of building one. It was built from
// the spec's Dockerfile when the source has one: findings about the image
// are placed there.
func (r *Runner) Build(ctx context.Context, spec pipeline.BuildSpec) (stages.BuiltImage, error) {
	if r.ImageTar == "" {
		return stages.BuiltImage{}, fmt.Errorf("building an image %w; on the host, give a saved image with --image-tar", pipeline.ErrNeedsEngine)
	}
	cfg, err := stages.ArchiveConfig(stages.FileArchiveReader(r.ImageTar))
	if err != nil {
		return stages.BuiltImage{}, fmt.Errorf("image %s: %w", r.ImageTar, err)
	}
	// The base image is not in a saved tarball, so its age is not checked here.
	img := stages.BuiltImage{Ref: r.ImageTar, Config: cfg, LayerConfig: cfg, Target: spec.Target}
	df := spec.DockerfilePath()
	if ok, err := r.Exists(ctx, df); err == nil && ok {
		img.Dockerfile = df
	}
	return img, nil
}

// Serve cannot run an image without an engine.
func (r *Runner) Serve(context.Context, pipeline.StagingSpec) (string, error) {
	return "", fmt.Errorf("serving the built image %w; on the host, give a running staging with --target", pipeline.ErrNeedsEngine)
}

// Publish cannot push an image without an engine.
func (r *Runner) Publish(context.Context, string) (string, error) {
	return "", fmt.Errorf("publishing an image %w", pipeline.ErrNeedsEngine)
}

// maxDeployOutput bounds what is kept of a deploy command's output.
const maxDeployOutput = 64 << 10

// Deploy runs a deploy step's command on this machine (its Image is for the
// Dagger runner) with the step's environment and secrets, in the source
// folder. Secret values are removed from anything it returns.
func (r *Runner) Deploy(ctx context.Context, stage string, step pipeline.DeployStep) (string, error) {
	if len(step.Command) == 0 {
		return "", fmt.Errorf("%s deploy step has no command", stage)
	}
	env := map[string]string{}
	for k, v := range step.Env {
		env[k] = v
	}
	secrets, err := r.secretEnv(step.SecretEnv)
	if err != nil {
		return "", fmt.Errorf("%s deploy: %w", stage, err)
	}
	for k, v := range secrets {
		env[k] = v
	}
	tmp, err := os.MkdirTemp("", "dagsec-deploy-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, step.Command[0], step.Command[1:]...)
	cmd.Dir = r.source
	cmd.Env = toolEnv(tmp, env, false)
	stdout, stderr := &tailBuffer{max: maxDeployOutput}, &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	redact := redactor(secrets)
	if runErr != nil {
		msg := strings.TrimSpace(redact(stages.Tail(stderr.String(), 2000)))
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s deploy cancelled: %w", stage, ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			return "", fmt.Errorf("%s deploy exited with code %d: %s", stage, ee.ExitCode(), msg)
		}
		return "", fmt.Errorf("%s deploy: could not run %s: %w", stage, step.Command[0], runErr)
	}
	return redact(stdout.String()), nil
}

// secretEnv resolves environment variables to the values of named secrets.
func (r *Runner) secretEnv(names map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for env, name := range names {
		v, ok := r.Secrets[name]
		if !ok {
			return nil, fmt.Errorf("secret %q (for %s) was not given", name, env)
		}
		out[env] = v
	}
	return out, nil
}

// redactor replaces secret values in s with a marker.
func redactor(secrets map[string]string) func(string) string {
	var pairs []string
	for _, v := range secrets {
		if v != "" {
			pairs = append(pairs, v, "[REDACTED]")
		}
	}
	if len(pairs) == 0 {
		return func(s string) string { return s }
	}
	return strings.NewReplacer(pairs...).Replace
}
