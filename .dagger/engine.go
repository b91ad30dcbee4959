package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"dagger/dagsec/internal/dagger"

	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/stages"
)

const (
	// imagePath is where steps with NeedsImage find the built image.
	imagePath = "/dagsec/image.tar"
	// stagingAlias is the host name DAST steps reach the staging service at.
	stagingAlias = "staging"
	// defaultStagingPort is used when the image exposes no single port.
	defaultStagingPort = 8080
	// healthTries × healthWait bounds how long staging may take to answer.
	healthTries = 60
	healthWait  = 2
)

// engine is the daggerRunner's pipeline.Engine half: the built image, the
// staging service and the secrets deploy steps and signing get.
type engine struct {
	helperImage string
	// given replaces the build (image-scan and deploy of a caller's image).
	given *dagger.Container
	// secrets by name, for steps' SecretEnv/SecretFiles and deploy steps.
	secrets map[string]*dagger.Secret
	// registry credentials for Publish.
	registryUser     string
	registryPassword *dagger.Secret

	mu      sync.Mutex
	built   *dagger.Container
	tarball *dagger.File
	// service is bound to NeedsTarget steps as stagingAlias.
	service *dagger.Service
}

var _ pipeline.Engine = (*daggerRunner)(nil)

func (r *daggerRunner) helper() *dagger.Container {
	img := r.helperImage
	if img == "" {
		img = stages.HelperImage
	}
	return dag.Container().From(img)
}

// Build builds the source's Dockerfile with the engine (no Docker daemon),
// or takes the caller's image, and reads the facts the build checks judge:
// user, environment and exposed ports from the image, and the config of
// the final stage's base image for its age.
func (r *daggerRunner) Build(ctx context.Context, spec pipeline.BuildSpec) (stages.BuiltImage, error) {
	ctr, ref := r.given, "caller's image"
	var base, dockerfile string
	if ctr == nil {
		file := spec.DockerfilePath()
		df, err := readFile(ctx, r.source, file)
		// Only the default Dockerfile may be absent: a named one must exist.
		if errors.Is(err, fs.ErrNotExist) && (spec.Dockerfile == "" || spec.Dockerfile == "Dockerfile") {
			return stages.BuiltImage{}, fmt.Errorf("%w: the source has no %s", pipeline.ErrNothingToBuild, file)
		}
		if err != nil {
			return stages.BuiltImage{}, fmt.Errorf("dockerfile %w", err)
		}
		if base, err = stages.BaseImage(df, spec.Target); err != nil {
			return stages.BuiltImage{}, fmt.Errorf("%s: %w", file, err)
		}
		spec.Dockerfile, dockerfile = file, file
		ctr, ref = dockerBuild(r.source, spec), file
		if spec.Target != "" {
			ref += " (target " + spec.Target + ")"
		}
	}
	ctr, err := ctr.Sync(ctx)
	if err != nil {
		return stages.BuiltImage{}, fmt.Errorf("building %s: %w", ref, err)
	}
	cfg, err := containerConfig(ctx, ctr)
	if err != nil {
		return stages.BuiltImage{}, fmt.Errorf("reading the image of %s: %w", ref, err)
	}
	img := stages.BuiltImage{Ref: ref, Config: cfg, BaseRef: base, Dockerfile: dockerfile, Target: spec.Target}
	if base != "" {
		baseCtr := dag.Container(dagger.ContainerOpts{Platform: dagger.Platform(spec.Platform)}).From(base)
		if img.BaseConfig, err = r.tarballConfig(ctx, baseCtr.AsTarball()); err != nil {
			return stages.BuiltImage{}, fmt.Errorf("base image %s: %w", base, err)
		}
	}
	// Docker media types: every scanner reads this layout.
	tarball := ctr.AsTarball(dagger.ContainerAsTarballOpts{MediaTypes: dagger.ImageMediaTypesDockerMediaTypes})
	if dockerfile != "" {
		// Its rootfs and history pair layers with the Dockerfile's
		// instructions; without them findings go to the Dockerfile's
		// first line, so a failure here only loses precision.
		img.LayerConfig, _ = r.tarballConfig(ctx, tarball)
	}
	r.mu.Lock()
	r.built = ctr
	r.tarball = tarball
	r.mu.Unlock()
	return img, nil
}

// dockerBuild builds the spec's Dockerfile from source with the engine.
func dockerBuild(source *dagger.Directory, spec pipeline.BuildSpec) *dagger.Container {
	opts := dagger.DirectoryDockerBuildOpts{Dockerfile: spec.Dockerfile, Target: spec.Target, Platform: dagger.Platform(spec.Platform)}
	for _, a := range spec.Args {
		opts.BuildArgs = append(opts.BuildArgs, dagger.BuildArg{Name: a.Name, Value: a.Value})
	}
	return source.DockerBuild(opts)
}

// containerConfig writes the facts the engine's API gives about an image
// in the shape of an OCI image config.
func containerConfig(ctx context.Context, ctr *dagger.Container) ([]byte, error) {
	user, err := ctr.User(ctx)
	if err != nil {
		return nil, err
	}
	vars, err := ctr.EnvVariables(ctx)
	if err != nil {
		return nil, err
	}
	env := make([]string, 0, len(vars))
	for _, v := range vars {
		name, err := v.Name(ctx)
		if err != nil {
			return nil, err
		}
		value, err := v.Value(ctx)
		if err != nil {
			return nil, err
		}
		env = append(env, name+"="+value)
	}
	ports, err := ctr.ExposedPorts(ctx)
	if err != nil {
		return nil, err
	}
	exposed := map[string]struct{}{}
	for _, p := range ports {
		n, err := p.Port(ctx)
		if err != nil {
			return nil, err
		}
		proto, err := p.Protocol(ctx)
		if err != nil {
			return nil, err
		}
		exposed[strconv.Itoa(n)+"/"+strings.ToLower(string(proto))] = struct{}{}
	}
	type config struct {
		User         string              `json:"User,omitempty"`
		Env          []string            `json:"Env,omitempty"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	}
	return json.Marshal(struct {
		Config config `json:"config"`
	}{config{User: user, Env: env, ExposedPorts: exposed}})
}

// tarballConfig reads an image tarball's config with the helper image's
// tar, so the tarball itself never crosses the API.
func (r *daggerRunner) tarballConfig(ctx context.Context, tarball *dagger.File) ([]byte, error) {
	ctr := r.helper().WithMountedFile("/image.tar", tarball)
	return stages.ArchiveConfig(func(name string) ([]byte, error) {
		out := ctr.WithExec([]string{"tar", "-xOf", "/image.tar", name}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
		code, err := out.ExitCode(ctx)
		if err != nil {
			return nil, err
		}
		if code != 0 {
			return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
		}
		s, err := out.Stdout(ctx)
		return []byte(s), err
	})
}

// imageTarball is the built image for NeedsImage steps.
func (r *daggerRunner) imageTarball() (*dagger.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tarball == nil {
		return nil, errors.New("no image was built in this run")
	}
	return r.tarball, nil
}

// Serve runs the built image as a service on its port and waits until it
// answers HTTP on the health path; DAST steps reach it as stagingAlias.
func (r *daggerRunner) Serve(ctx context.Context, spec pipeline.StagingSpec) (string, error) {
	r.mu.Lock()
	built := r.built
	r.mu.Unlock()
	if built == nil {
		return "", errors.New("no image was built in this run")
	}
	port := spec.Port
	if port == 0 {
		ports, err := built.ExposedPorts(ctx)
		if err != nil {
			return "", err
		}
		port = defaultStagingPort
		if len(ports) == 1 {
			if port, err = ports[0].Port(ctx); err != nil {
				return "", err
			}
		}
	}
	svc := built.WithExposedPort(port).AsService(dagger.ContainerAsServiceOpts{UseEntrypoint: true})
	base := "http://" + stagingAlias + ":" + strconv.Itoa(port)
	if err := r.waitHealthy(ctx, svc, base+healthPath(spec.HealthPath)); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.service = svc
	r.mu.Unlock()
	return base + "/", nil
}

func healthPath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

// waitHealthy fetches url from a helper container bound to the service
// until it answers with a success status. The run's time is in the
// command so a cached earlier answer is never reused.
func (r *daggerRunner) waitHealthy(ctx context.Context, svc *dagger.Service, url string) error {
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do wget -q -O /dev/null "$1" && exit 0; i=$((i+1)); sleep %d; done; exit 1`, healthTries, healthWait)
	probe := r.helper().
		WithServiceBinding(stagingAlias, svc).
		WithEnvVariable("DAGSEC_NOW", time.Now().UTC().Format(time.RFC3339Nano)).
		WithExec([]string{"sh", "-c", script, "health", url}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := probe.ExitCode(ctx)
	if err != nil {
		return fmt.Errorf("staging service: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("staging did not answer %s within %ds", url, healthTries*healthWait)
	}
	return nil
}

// bindTarget gives a caller's running service to DAST steps (the dast
// function's --target).
func (r *daggerRunner) bindTarget(svc *dagger.Service) {
	r.mu.Lock()
	r.service = svc
	r.mu.Unlock()
}

// Deploy runs a deploy step in its image with the source mounted, its
// secrets as secret variables and, after a build, the image tarball at
// imagePath. A timestamp keeps the engine from serving a cached deploy.
func (r *daggerRunner) Deploy(ctx context.Context, stage string, step pipeline.DeployStep) (string, error) {
	if step.Image == "" || len(step.Command) == 0 {
		return "", fmt.Errorf("%s deploy step needs an image and a command", stage)
	}
	ctr := dag.Container().From(step.Image).
		WithMountedDirectory(srcPath, r.source, dagger.ContainerWithMountedDirectoryOpts{ReadOnly: true}).
		WithWorkdir(srcPath)
	if tar, err := r.imageTarball(); err == nil {
		ctr = ctr.WithMountedFile(imagePath, tar)
	}
	for _, k := range slices.Sorted(maps.Keys(step.Env)) {
		ctr = ctr.WithEnvVariable(k, step.Env[k])
	}
	var err error
	if ctr, err = r.withSecretEnv(ctr, step.SecretEnv); err != nil {
		return "", fmt.Errorf("%s deploy: %w", stage, err)
	}
	ctr, err = ctr.
		WithEnvVariable("DAGSEC_DEPLOY_AT", time.Now().UTC().Format(time.RFC3339Nano)).
		WithExec(step.Command, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}).
		Sync(ctx)
	if err != nil {
		return "", fmt.Errorf("%s deploy: %w", stage, err)
	}
	// The engine scrubs secret values from what the command prints.
	code, stderr, err := exitAndOutput(ctx, ctr, false)
	if err != nil {
		return "", fmt.Errorf("%s deploy: %w", stage, err)
	}
	if code != 0 {
		return "", fmt.Errorf("%s deploy exited with code %d: %s", stage, code, stderr)
	}
	return ctr.Stdout(ctx)
}

// withSecretEnv sets environment variables from named secrets.
func (r *daggerRunner) withSecretEnv(ctr *dagger.Container, names map[string]string) (*dagger.Container, error) {
	for _, env := range slices.Sorted(maps.Keys(names)) {
		sec, ok := r.secrets[names[env]]
		if !ok {
			return nil, fmt.Errorf("secret %q (for %s) was not given", names[env], env)
		}
		ctr = ctr.WithSecretVariable(env, sec)
	}
	return ctr, nil
}

// Publish pushes the built image with the registry credentials, if given.
func (r *daggerRunner) Publish(ctx context.Context, ref string) (string, error) {
	r.mu.Lock()
	built := r.built
	r.mu.Unlock()
	if built == nil {
		return "", errors.New("no image was built in this run")
	}
	if r.registryPassword != nil {
		built = built.WithRegistryAuth(registryHost(ref), r.registryUser, r.registryPassword)
	}
	return built.Publish(ctx, ref)
}

// registryHost is the registry part of an image reference, as Docker reads
// it: a first component with a dot or port, or localhost; else Docker Hub.
func registryHost(ref string) string {
	first, rest, ok := strings.Cut(ref, "/")
	if ok && rest != "" && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}
