package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"dagger/dagsec/internal/dagger"

	"github.com/dagsec/dagsec/attest"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports"
	"github.com/dagsec/dagsec/stages"
)

// Ci runs the whole pipeline as one DAG (`dagger call ci`): the code
// stages in parallel, then build (the engine builds the Dockerfile, no Docker daemon),
// image scan, staging (the built image as a service, or your deploy step),
// DAST against staging, and production, which deploys only when every gate
// before it passed on the policy's production branch. A blocked run is
// still returned: call check on the report to fail a job.
//
// +cache="session"
func (m *Dagsec) Ci(
	ctx context.Context,
	// Source tree; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the preset applies as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit).
	// +optional
	preset string,
	// Stages to run, by name; empty runs every stage.
	// +optional
	stages []string,
	// Dockerfile to build, relative to the source.
	// +optional
	// +default="Dockerfile"
	dockerfile string,
	// Build stage to stop at; empty builds the last.
	// +optional
	buildTarget string,
	// Build arguments as NAME=VALUE.
	// +optional
	buildArgs []string,
	// Platform to build for, e.g. linux/amd64; empty is the engine's.
	// +optional
	platform string,
	// Port the built image serves on in staging; 0 means its only exposed
	// port, else 8080.
	// +optional
	stagingPort int,
	// Path staging must answer before DAST starts.
	// +optional
	// +default="/"
	stagingHealthPath string,
	// URL of a staging that is already running: nothing is deployed to
	// staging and DAST scans this URL.
	// +optional
	stagingUrl string,
	// Image of your staging deploy step, instead of serving the built image.
	// +optional
	deployStagingImage string,
	// Command of the staging deploy step; it prints the staging URL as its
	// last line unless --deploy-staging-url is given.
	// +optional
	deployStagingCommand []string,
	// URL DAST scans after the staging deploy step.
	// +optional
	deployStagingUrl string,
	// Environment variable names for --deploy-staging-secret, in order.
	// +optional
	deployStagingSecretEnv []string,
	// Secrets of the staging deploy step, set as --deploy-staging-secret-env
	// names.
	// +optional
	deployStagingSecret []*dagger.Secret,
	// Image reference to publish the built image to in production.
	// +optional
	deployProdPublish string,
	// Registry user for --deploy-prod-publish.
	// +optional
	registryUsername string,
	// Registry password or token for --deploy-prod-publish.
	// +optional
	registryPassword *dagger.Secret,
	// Image of your production deploy step.
	// +optional
	deployProdImage string,
	// Command of the production deploy step; the built image is at
	// /dagsec/image.tar.
	// +optional
	deployProdCommand []string,
	// Environment variable names for --deploy-prod-secret, in order.
	// +optional
	deployProdSecretEnv []string,
	// Secrets of the production deploy step, set as --deploy-prod-secret-env
	// names.
	// +optional
	deployProdSecret []*dagger.Secret,
	// Branch being built; empty reads the source's .git/HEAD. Production
	// deploys only on the policy's production_branch.
	// +optional
	branch string,
	// OpenAPI file in the source for DAST's API scan.
	// +optional
	openapi string,
	// Sign the image and attest its CycloneDX SBOM and a SLSA v1
	// provenance (commit, Dockerfile, build arguments, dagsec's version,
	// every stage's verdict) with cosign, once every stage before
	// production has judged it (needs --cosign-key).
	// +optional
	sign bool,
	// cosign private key for --sign (cosign generate-key-pair's cosign.key).
	// +optional
	cosignKey *dagger.Secret,
	// Password of --cosign-key.
	// +optional
	cosignPassword *dagger.Secret,
	// cosign public key (cosign.pub): production deploys only an image
	// whose signature and attestations verify against it and whose
	// provenance records a passing pipeline; the report names the check
	// that failed.
	// +optional
	cosignPublicKey *dagger.File,
	// Also scan git history for secrets.
	// +optional
	history bool,
	// Previous report.json (or dagsec SARIF), e.g. of the default branch:
	// gates then block only on findings new since it.
	// +optional
	baseline *dagger.File,
	// File of suppressions (a policy's suppressions: list), added to the
	// policy's.
	// +optional
	suppressions *dagger.File,
	// OpenVEX documents whose not_affected and fixed statements suppress
	// the advisory in their packages, with their justification and expiry.
	// +optional
	vex []*dagger.File,
) (*Report, error) {
	o := runOptions{source: source, policy: policy, preset: preset, stages: stages, history: history,
		baseline: baseline, suppressions: suppressions, vex: vex,
		registryUser: registryUsername, registryPassword: registryPassword, secrets: map[string]*dagger.Secret{}}
	if len(o.stages) == 0 {
		o.stages = allStages()
	}
	var err error
	if o.delivery.Build, err = buildSpec(dockerfile, buildTarget, buildArgs, platform); err != nil {
		return nil, err
	}
	o.delivery.Staging = pipeline.StagingSpec{Port: stagingPort, HealthPath: stagingHealthPath}
	o.delivery.Target, o.delivery.OpenAPI = stagingUrl, openapi
	if o.delivery.Staging.Deploy, err = deployStep("deploy-staging", deployStagingImage, deployStagingCommand, deployStagingUrl, deployStagingSecretEnv, deployStagingSecret, o.secrets); err != nil {
		return nil, err
	}
	o.delivery.Production.Publish = deployProdPublish
	if o.delivery.Production.Deploy, err = deployStep("deploy-prod", deployProdImage, deployProdCommand, "", deployProdSecretEnv, deployProdSecret, o.secrets); err != nil {
		return nil, err
	}
	if o.delivery.Sign, err = signing(sign, cosignKey, cosignPassword, o.secrets); err != nil {
		return nil, err
	}
	if o.delivery.CosignPublicKey, err = publicKey(ctx, cosignPublicKey); err != nil {
		return nil, err
	}
	o.delivery.Branch = branch
	return m.execute(ctx, o)
}

// Build builds the source's Dockerfile with the engine and returns the
// image, for DAGs of your own (image-scan --image, deploy --image).
func (m *Dagsec) Build(
	// Source tree with the Dockerfile; defaults to the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report", ".git"]
	source *dagger.Directory,
	// Dockerfile to build, relative to the source.
	// +optional
	// +default="Dockerfile"
	dockerfile string,
	// Build stage to stop at; empty builds the last.
	// +optional
	target string,
	// Build arguments as NAME=VALUE.
	// +optional
	buildArgs []string,
	// Platform to build for, e.g. linux/amd64; empty is the engine's.
	// +optional
	platform string,
) (*dagger.Container, error) {
	spec, err := buildSpec(dockerfile, target, buildArgs, platform)
	if err != nil {
		return nil, err
	}
	return dockerBuild(source, spec), nil
}

// ImageScan checks and scans an image: the build stage's checks (non-root
// user, secrets in the environment, base image age) and the image stage
// (trivy, grype, an SBOM with syft, an optional cosign signature with SBOM
// and provenance attestations). Without
// --image it builds the source's Dockerfile first.
//
// +cache="session"
func (m *Dagsec) ImageScan(
	ctx context.Context,
	// Source tree with the Dockerfile; defaults to the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Image to scan instead of building the Dockerfile.
	// +optional
	image *dagger.Container,
	// Dockerfile to build, relative to the source.
	// +optional
	// +default="Dockerfile"
	dockerfile string,
	// Build stage to stop at; empty builds the last.
	// +optional
	buildTarget string,
	// Build arguments as NAME=VALUE.
	// +optional
	buildArgs []string,
	// Platform to build for; empty is the engine's.
	// +optional
	platform string,
	// Policy YAML file; without one, the preset applies as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit).
	// +optional
	preset string,
	// Sign the image and attest its CycloneDX SBOM and a SLSA v1
	// provenance with cosign once build and image have judged it (needs
	// --cosign-key); the files are in the report's artifacts, for deploy
	// --cosign-public-key.
	// +optional
	sign bool,
	// cosign private key for --sign (cosign generate-key-pair's cosign.key).
	// +optional
	cosignKey *dagger.Secret,
	// Password of --cosign-key.
	// +optional
	cosignPassword *dagger.Secret,
	// OpenVEX documents whose not_affected and fixed statements suppress
	// the advisory in their packages, with their justification and expiry.
	// +optional
	vex []*dagger.File,
) (*Report, error) {
	o := runOptions{source: source, policy: policy, preset: preset, image: image, vex: vex,
		stages: []string{stages.Build, stages.Image}, secrets: map[string]*dagger.Secret{}}
	var err error
	if o.delivery.Build, err = buildSpec(dockerfile, buildTarget, buildArgs, platform); err != nil {
		return nil, err
	}
	if o.delivery.Sign, err = signing(sign, cosignKey, cosignPassword, o.secrets); err != nil {
		return nil, err
	}
	return m.execute(ctx, o)
}

// Dast scans a running web application: a service (bound to the scanners
// as "staging") or a URL the engine can reach. ZAP's baseline scan and
// wapiti run by default; --openapi adds ZAP's API scan.
//
// +cache="session"
func (m *Dagsec) Dast(
	ctx context.Context,
	// Source tree, for the policy's paths and --openapi; defaults to the
	// caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report", ".git"]
	source *dagger.Directory,
	// Service to scan, e.g. a container's asService.
	// +optional
	target *dagger.Service,
	// Port of --target; 0 means its first exposed port.
	// +optional
	targetPort int,
	// URL to scan instead of a service.
	// +optional
	url string,
	// OpenAPI file in the source for ZAP's API scan.
	// +optional
	openapi string,
	// Policy YAML file; without one, the preset applies as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit).
	// +optional
	preset string,
) (*Report, error) {
	o := runOptions{source: source, policy: policy, preset: preset, target: target, stages: []string{stages.DAST}}
	o.delivery.OpenAPI = openapi
	switch {
	case target != nil && url != "":
		return nil, errors.New("give --target or --url, not both")
	case target != nil:
		port := targetPort
		if port == 0 {
			ports, err := target.Ports(ctx)
			if err != nil {
				return nil, fmt.Errorf("target: %w", err)
			}
			if len(ports) == 0 {
				return nil, errors.New("target exposes no port: give --target-port")
			}
			if port, err = ports[0].Port(ctx); err != nil {
				return nil, fmt.Errorf("target: %w", err)
			}
		}
		o.delivery.Target = "http://" + stagingAlias + ":" + strconv.Itoa(port) + "/"
	case url != "":
		o.delivery.Target = url
	default:
		return nil, errors.New("give --target (a service) or --url")
	}
	return m.execute(ctx, o)
}

// Deploy is the production stage alone, for DAGs of your own and for CI
// jobs after separate scans: it publishes the image and/or runs your deploy
// step only when every earlier report passed (check each one's gates) and
// the branch is the policy's production branch; otherwise the report says
// why it did not deploy.
func (m *Dagsec) Deploy(
	ctx context.Context,
	// Source tree mounted into the deploy step; defaults to the caller's
	// repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Report folders of the earlier runs (scan, image-scan, dast), each
	// holding the report.json every run writes, e.g. a folder an earlier job
	// exported with `directory export --path=dagsec-report`. Production
	// needs the gate of every enabled stage among them and --report-files.
	// +optional
	reports []*dagger.Directory,
	// report.json files of earlier runs, beside or instead of --reports.
	// +optional
	reportFiles []*dagger.File,
	// Image to publish or hand to the deploy step (at /dagsec/image.tar).
	// +optional
	image *dagger.Container,
	// Image reference to publish --image to.
	// +optional
	publish string,
	// Registry user for --publish.
	// +optional
	registryUsername string,
	// Registry password or token for --publish.
	// +optional
	registryPassword *dagger.Secret,
	// Image of your deploy step.
	// +optional
	deployImage string,
	// Command of your deploy step.
	// +optional
	deployCommand []string,
	// Environment variable names for --secret, in order.
	// +optional
	secretEnv []string,
	// Secrets of the deploy step, set as --secret-env names.
	// +optional
	secret []*dagger.Secret,
	// Branch being built; empty reads the source's .git/HEAD.
	// +optional
	branch string,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit).
	// +optional
	preset string,
	// cosign public key (cosign.pub): deploy --image only when the
	// signature and attestations in --reports (image.sig,
	// image-sbom.att.json, image-provenance.att.json, as image-scan --sign
	// writes them) verify against it and the provenance records a passing
	// pipeline.
	// +optional
	cosignPublicKey *dagger.File,
) (*Report, error) {
	o := runOptions{source: source, policy: policy, preset: preset, image: image, stages: []string{stages.Production},
		registryUser: registryUsername, registryPassword: registryPassword, secrets: map[string]*dagger.Secret{}}
	if publish != "" && image == nil {
		return nil, errors.New("--publish needs --image")
	}
	o.delivery.Production.Publish = publish
	var err error
	if o.delivery.Production.Deploy, err = deployStep("deploy", deployImage, deployCommand, "", secretEnv, secret, o.secrets); err != nil {
		return nil, err
	}
	o.delivery.Branch = branch
	if o.delivery.Earlier, err = earlierVerdicts(ctx, reports, reportFiles); err != nil {
		return nil, err
	}
	if o.delivery.CosignPublicKey, err = publicKey(ctx, cosignPublicKey); err != nil {
		return nil, err
	}
	if o.delivery.CosignPublicKey != nil {
		if image == nil {
			return nil, errors.New("--cosign-public-key verifies --image: give it")
		}
		if o.delivery.Signed, err = signedFiles(ctx, reports); err != nil {
			return nil, err
		}
	}
	return m.execute(ctx, o)
}

// allStages lists every stage in pipeline order.
func allStages() []string { return stages.Implemented() }

// buildSpec reads the build options; build arguments are NAME=VALUE.
func buildSpec(dockerfile, target string, args []string, platform string) (pipeline.BuildSpec, error) {
	spec := pipeline.BuildSpec{Dockerfile: dockerfile, Target: target, Platform: platform}
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return spec, fmt.Errorf("build argument %q: want NAME=VALUE", a)
		}
		spec.Args = append(spec.Args, pipeline.BuildArg{Name: name, Value: value})
	}
	return spec, nil
}

// deployStep assembles a deploy step from its flags (flag names the
// option prefix in messages); its secrets join the run's under
// "<flag>:<env>". Nothing given means no step.
func deployStep(flag, image string, command []string, url string, secretEnv []string, secrets []*dagger.Secret, into map[string]*dagger.Secret) (*pipeline.DeployStep, error) {
	if image == "" && len(command) == 0 {
		if len(secrets) > 0 || url != "" {
			return nil, fmt.Errorf("--%s-image and --%s-command are needed with its other options", flag, flag)
		}
		return nil, nil
	}
	if image == "" || len(command) == 0 {
		return nil, fmt.Errorf("a %s step needs both --%s-image and --%s-command", flag, flag, flag)
	}
	if len(secretEnv) != len(secrets) {
		return nil, fmt.Errorf("--%s-secret-env names %d variables for %d --%s-secret", flag, len(secretEnv), len(secrets), flag)
	}
	step := &pipeline.DeployStep{Image: image, Command: command, URL: url, SecretEnv: map[string]string{}}
	for i, env := range secretEnv {
		if env == "" || strings.ContainsAny(env, "= ") {
			return nil, fmt.Errorf("--%s-secret-env: %q is not a variable name", flag, env)
		}
		name := flag + ":" + env
		into[name], step.SecretEnv[env] = secrets[i], name
	}
	return step, nil
}

// signing hands the cosign key to the cosign steps that sign and attest
// the image, as secrets: it never reaches an argv, a file in a layer or a
// log.
func signing(sign bool, key, password *dagger.Secret, into map[string]*dagger.Secret) (bool, error) {
	if !sign {
		return false, nil
	}
	if key == nil {
		return false, errors.New("--sign needs --cosign-key")
	}
	into[stages.CosignKeySecret] = key
	if password == nil {
		password = dag.SetSecret("dagsec-cosign-empty-password", "")
	}
	into[stages.CosignPasswordSecret] = password
	return true, nil
}

// publicKey reads a cosign public key, checked as the CLI checks one.
func publicKey(ctx context.Context, f *dagger.File) ([]byte, error) {
	if f == nil {
		return nil, nil
	}
	name, data, err := readInput(ctx, f, attest.MaxKeySize)
	if err != nil {
		return nil, fmt.Errorf("--cosign-public-key: %w", err)
	}
	if err := attest.CheckPublicKey(data); err != nil {
		return nil, fmt.Errorf("--cosign-public-key %s: %w", name, err)
	}
	return data, nil
}

// signedFiles reads the signature and attestations the report folders
// hold (attest.Files); two folders holding different ones is an error.
func signedFiles(ctx context.Context, dirs []*dagger.Directory) (map[string][]byte, error) {
	out := map[string][]byte{}
	for i, d := range dirs {
		label := fmt.Sprintf("--reports folder %d", i+1)
		for _, name := range attest.Files() {
			ok, err := d.Exists(ctx, name, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", label, err)
			}
			if !ok {
				continue
			}
			_, data, err := readInput(ctx, d.File(name), attest.MaxSignedSize)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", label, err)
			}
			if prev, ok := out[name]; ok && string(prev) != string(data) {
				return nil, fmt.Errorf("%s holds another %s than an earlier folder: give the one of the run that signed the image", label, name)
			}
			out[name] = data
		}
	}
	return out, nil
}

// resolveBranch is the branch given, else the one .git/HEAD names.
func resolveBranch(ctx context.Context, source *dagger.Directory, branch string) (string, error) {
	if branch != "" {
		return branch, nil
	}
	head, err := readFile(ctx, source, ".git/HEAD")
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the branch: %w", err)
	}
	return pipeline.BranchFromHead(head), nil
}

// earlierVerdicts reads the earlier runs' report.json files, checked as
// `dagsec report` checks them, and folds their stage statuses.
func earlierVerdicts(ctx context.Context, dirs []*dagger.Directory, files []*dagger.File) (map[string]policies.Status, error) {
	if len(dirs)+len(files) == 0 {
		return nil, errors.New("give the earlier runs' reports: --reports (report folders) or --report-files (report.json files)")
	}
	var names []string
	var reps []*pipeline.Report
	read := func(label string, f *dagger.File) error {
		_, data, err := readInput(ctx, f, pipeline.MaxReportSize)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		rep, err := pipeline.ReadReport(data)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		names, reps = append(names, label), append(reps, rep)
		return nil
	}
	for i, d := range dirs {
		label := fmt.Sprintf("--reports folder %d", i+1)
		ok, err := d.Exists(ctx, reports.RunReportFile, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		if !ok {
			return nil, fmt.Errorf("%s has no %s: give the folder a dagsec run exported", label, reports.RunReportFile)
		}
		if err := read(label+"/"+reports.RunReportFile, d.File(reports.RunReportFile)); err != nil {
			return nil, err
		}
	}
	for i, f := range files {
		if err := read(fmt.Sprintf("--report-files %d", i+1), f); err != nil {
			return nil, err
		}
	}
	return pipeline.EarlierVerdicts(names, reps)
}
