// dagsec runs a DevSecOps pipeline of pinned security scanners in containers
// and judges their findings against a YAML policy.
//
// A blocked or errored run is still returned as a Report, so its files can be
// exported; call check on it to fail a CI job.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"dagger/dagsec/internal/dagger"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports"
	"github.com/dagsec/dagsec/reports/gitlab"
	"github.com/dagsec/dagsec/reports/junit"
	"github.com/dagsec/dagsec/stages"
	"github.com/dagsec/dagsec/vex"
)

// Dagsec runs dagsec's scans. Every tool image can be overridden, so the
// module works in air-gapped networks against a registry mirror.
type Dagsec struct {
	// Image used for gitleaks instead of the pinned one; empty keeps the pin.
	GitleaksImage string
	// Image used for gosec; empty keeps the pin.
	GosecImage string
	// Image bandit is installed on; empty keeps the pin.
	BanditImage string
	// Image used for semgrep; empty keeps the pin.
	SemgrepImage string
	// Image govulncheck is installed on; empty keeps the pin.
	GovulncheckImage string
	// Image used for osv-scanner; empty keeps the pin.
	OsvScannerImage string
	// Image used for trivy; empty keeps the pin.
	TrivyImage string
	// Image used for syft; empty keeps the pin.
	SyftImage string
	// Image used for tfsec; empty keeps the pin.
	TfsecImage string
	// Image used for checkov; empty keeps the pin.
	CheckovImage string
	// Image used for hadolint; empty keeps the pin.
	HadolintImage string
	// Image used for grype; empty keeps the pin.
	GrypeImage string
	// Image used for cosign; empty keeps the pin.
	CosignImage string
	// Image wapiti is installed on; empty keeps the pin.
	WapitiImage string
	// Image used for OWASP ZAP; empty keeps the pin.
	ZapImage string
	// Image used for trufflehog; empty keeps the pin.
	TrufflehogImage string
	// Image used for Spectral; empty keeps the pin.
	SpectralImage string
	// Go image `go mod download` runs on for the licenses stage; empty
	// keeps the pin.
	GoImage string
	// Image for dagsec's own small jobs (reading image tarballs, probing
	// staging's health); empty keeps the pinned busybox.
	HelperImage string
	// Offline vulnerability database for sca, if one was given.
	VulnDB *dagger.Directory `json:"vulnDb"`
	// images.lock every run uses, if one was given; else the source's.
	ImagesLock *dagger.File
}

// New configures image overrides and an offline vulnerability database;
// without them, each tool runs from its pinned image and uses its online
// database. An override should be a mirror of the same tool version (reports
// record the pin); a tool's install commands (govulncheck, bandit) still run
// on it.
func New(
	// Image to run gitleaks from instead of the pinned
	// ghcr.io/gitleaks/gitleaks image, e.g. a copy in a private registry.
	// +optional
	gitleaksImage string,
	// Image to run gosec from instead of the pinned securego/gosec.
	// +optional
	gosecImage string,
	// Image bandit is installed on instead of the pinned debian.
	// +optional
	banditImage string,
	// Image to run semgrep from instead of the pinned semgrep/semgrep.
	// +optional
	semgrepImage string,
	// Image govulncheck is installed on instead of the pinned golang.
	// +optional
	govulncheckImage string,
	// Image to run osv-scanner from instead of the pinned google/osv-scanner.
	// +optional
	osvScannerImage string,
	// Image to run trivy from instead of the pinned aquasec/trivy.
	// +optional
	trivyImage string,
	// Image to run syft from instead of the pinned anchore/syft.
	// +optional
	syftImage string,
	// Image to run tfsec from instead of the pinned aquasec/tfsec.
	// +optional
	tfsecImage string,
	// Image to run checkov from instead of the pinned bridgecrew/checkov.
	// +optional
	checkovImage string,
	// Image to run hadolint from instead of the pinned hadolint/hadolint.
	// +optional
	hadolintImage string,
	// Image to run grype from instead of the pinned anchore/grype.
	// +optional
	grypeImage string,
	// Image to run cosign from instead of the pinned sigstore cosign.
	// +optional
	cosignImage string,
	// Image wapiti is installed on instead of the pinned debian.
	// +optional
	wapitiImage string,
	// Image to run OWASP ZAP from instead of the pinned zaproxy/zaproxy.
	// +optional
	zapImage string,
	// Image to run trufflehog from instead of the pinned
	// trufflesecurity/trufflehog.
	// +optional
	trufflehogImage string,
	// Image to run Spectral from instead of the pinned stoplight/spectral
	// (it needs npm: the OWASP ruleset is installed on it).
	// +optional
	spectralImage string,
	// Go image `go mod download` runs on (licenses of Go dependencies)
	// instead of the pinned golang.
	// +optional
	goImage string,
	// Image with sh, tar and wget for dagsec's own small jobs instead of
	// the pinned busybox.
	// +optional
	helperImage string,
	// Offline vulnerability database for sca, as `dagsec tools install
	// vulndb` builds it (VERSION, govulncheck/, osv-scanner/); govulncheck
	// and osv-scanner then read it instead of their online databases.
	// +optional
	vulnDb *dagger.Directory,
	// images.lock (`dagsec images lock` writes it) pinning every image to
	// its digest: tools then run as IMAGE@DIGEST, and a tag whose registry
	// now serves another digest fails the run naming the image. Without
	// it, the source's images.lock when it has one.
	// +optional
	imagesLock *dagger.File,
) *Dagsec {
	return &Dagsec{
		GitleaksImage:    gitleaksImage,
		GosecImage:       gosecImage,
		BanditImage:      banditImage,
		SemgrepImage:     semgrepImage,
		GovulncheckImage: govulncheckImage,
		OsvScannerImage:  osvScannerImage,
		TrivyImage:       trivyImage,
		SyftImage:        syftImage,
		TfsecImage:       tfsecImage,
		CheckovImage:     checkovImage,
		HadolintImage:    hadolintImage,
		GrypeImage:       grypeImage,
		CosignImage:      cosignImage,
		WapitiImage:      wapitiImage,
		ZapImage:         zapImage,
		TrufflehogImage:  trufflehogImage,
		SpectralImage:    spectralImage,
		GoImage:          goImage,
		HelperImage:      helperImage,
		VulnDB:           vulnDb,
		ImagesLock:       imagesLock,
	}
}

// images is the tool-to-image override map the runner applies: the
// constructor's options over the policy's images.
func (m *Dagsec) images(pol *policies.Policy) map[string]string {
	out := map[string]string{}
	for tool, img := range pol.Images {
		if tool != policies.HelperImageKey {
			out[tool] = img
		}
	}
	for tool, img := range map[string]string{
		"gitleaks":    m.GitleaksImage,
		"gosec":       m.GosecImage,
		"bandit":      m.BanditImage,
		"semgrep":     m.SemgrepImage,
		"govulncheck": m.GovulncheckImage,
		"osv-scanner": m.OsvScannerImage,
		"trivy":       m.TrivyImage,
		"syft":        m.SyftImage,
		"tfsec":       m.TfsecImage,
		"checkov":     m.CheckovImage,
		"hadolint":    m.HadolintImage,
		"grype":       m.GrypeImage,
		"cosign":      m.CosignImage,
		"wapiti":      m.WapitiImage,
		"zap":         m.ZapImage,
		"trufflehog":  m.TrufflehogImage,
		"spectral":    m.SpectralImage,
		"go":          m.GoImage,
	} {
		if img != "" {
			out[tool] = img
		}
	}
	return out
}

// helperImage is the constructor's helper image, else the policy's.
func (m *Dagsec) helperImage(pol *policies.Policy) string {
	if m.HelperImage != "" {
		return m.HelperImage
	}
	return pol.Images[policies.HelperImageKey]
}

// Scan runs the pipeline's stages over a source tree and returns the run
// report. A blocked run is not an error here: call check on the report.
//
// +cache="session"
func (m *Dagsec) Scan(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// .git stays included: history scans need it.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
	// Stages to run, by name (e.g. secrets); empty runs every code stage
	// (the stages that read only the source), in parallel.
	// +optional
	stages []string,
	// Also scan git history for secrets, not only the working tree.
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
	return m.execute(ctx, runOptions{source: source, policy: policy, preset: preset, stages: stages, history: history,
		baseline: baseline, suppressions: suppressions, vex: vex})
}

// Secrets runs only the secrets stage (gitleaks, trufflehog) and returns the
// run report.
//
// +cache="session"
func (m *Dagsec) Secrets(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// .git stays included: history scans need it.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
	// Also scan git history for secrets, not only the working tree.
	// +optional
	history bool,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, []string{stages.Secrets}, history)
}

// Sast runs only the sast stage (gosec, bandit, semgrep) and returns the
// run report.
//
// +cache="session"
func (m *Dagsec) Sast(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, []string{stages.SAST}, false)
}

// Api runs only the api stage: the source's OpenAPI definitions (or the
// one named) audited by Spectral with the OWASP API Security ruleset and
// scored 0-100 against the policy's min_score. Returns the run report.
//
// +cache="session"
func (m *Dagsec) Api(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
	// OpenAPI definition in the source to audit (a path inside it); empty
	// audits every OpenAPI 2 or 3 document found.
	// +optional
	openapi string,
) (*Report, error) {
	return m.execute(ctx, runOptions{source: source, policy: policy, preset: preset, stages: []string{stages.API},
		delivery: pipeline.Delivery{OpenAPI: openapi}})
}

// Sca runs only the sca stage: dependency vulnerabilities (govulncheck,
// osv-scanner, trivy). Returns the run report.
//
// +cache="session"
func (m *Dagsec) Sca(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, []string{stages.SCA}, false)
}

// Licenses runs only the licenses stage: syft's SBOM checked against the
// policy's license rules. Returns the run report, SBOMs included.
//
// +cache="session"
func (m *Dagsec) Licenses(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, []string{stages.Licenses}, false)
}

// Sbom generates the source's SBOMs with syft (the licenses stage). They
// are in the report's artifacts (sbom.cdx.json, CycloneDX; sbom.spdx.json,
// SPDX) and its directory.
//
// +cache="session"
func (m *Dagsec) Sbom(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, []string{stages.Licenses}, false)
}

// Iac runs only the iac stage (trivy, checkov; tfsec when the policy names
// it) over Terraform, Kubernetes, Helm and CloudFormation files.
//
// +cache="session"
func (m *Dagsec) Iac(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, []string{stages.IaC}, false)
}

// Dockerfile runs only the dockerfile stage: hadolint, trivy and dagsec's
// hardening checks over the source's Dockerfiles.
//
// +cache="session"
func (m *Dagsec) Dockerfile(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, []string{stages.Dockerfile}, false)
}

// Check scans the caller's repository with every code stage and fails when
// a gate blocks or a tool errors, so `dagger check` runs the pipeline. It
// takes no arguments there: the repository's .dagsec.yaml configures it.
//
// +check
// +cache="session"
func (m *Dagsec) Check(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the source's .dagsec.yaml, else the
	// preset as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit).
	// +optional
	preset string,
) error {
	rep, err := m.run(ctx, source, policy, preset, nil, false)
	if err != nil {
		return err
	}
	return rep.Check(ctx)
}

// run scans the given stages, or every code stage when none is named.
func (m *Dagsec) run(ctx context.Context, source *dagger.Directory, policy *dagger.File, preset string, only []string, history bool) (*Report, error) {
	return m.execute(ctx, runOptions{source: source, policy: policy, preset: preset, stages: only, history: history})
}

// runOptions is one pipeline run of any of the module's functions.
type runOptions struct {
	source *dagger.Directory
	policy *dagger.File
	preset string
	// stages by name; empty means every code stage.
	stages   []string
	history  bool
	delivery pipeline.Delivery
	// secrets by name for deploy steps and signing.
	secrets map[string]*dagger.Secret
	// registry credentials for publishing.
	registryUser     string
	registryPassword *dagger.Secret
	// image is a caller's image in place of a build.
	image *dagger.Container
	// target is a caller's running service for DAST.
	target *dagger.Service
	// baseline and suppressions files, if given.
	baseline, suppressions *dagger.File
	// sourceName names the source in the report instead of its digest.
	sourceName string
	// vex are OpenVEX documents read as suppressions.
	vex []*dagger.File
}

func (m *Dagsec) execute(ctx context.Context, o runOptions) (*Report, error) {
	rep, gl, err := m.runPipeline(ctx, o)
	if err != nil {
		return nil, err
	}
	return newReport(rep, gl)
}

// runPipeline runs the pipeline and returns the run report and the GitLab
// reports' context.
func (m *Dagsec) runPipeline(ctx context.Context, o runOptions) (*pipeline.Report, gitlab.Options, error) {
	source := o.source
	pol, err := loadPolicy(ctx, source, o.policy, o.preset)
	if err != nil {
		return nil, gitlab.Options{}, err
	}
	if o.suppressions != nil {
		name, data, err := readInput(ctx, o.suppressions, policies.MaxSize)
		if err != nil {
			return nil, gitlab.Options{}, fmt.Errorf("suppressions: %w", err)
		}
		sups, err := policies.LoadSuppressions(data, name)
		if err != nil {
			return nil, gitlab.Options{}, err
		}
		pol.Suppressions = append(pol.Suppressions, sups...)
	}
	for _, f := range o.vex {
		name, data, err := readInput(ctx, f, vex.MaxSize)
		if err != nil {
			return nil, gitlab.Options{}, fmt.Errorf("vex: %w", err)
		}
		sups, err := vex.Read(data, name, time.Now())
		if err != nil {
			return nil, gitlab.Options{}, err
		}
		pol.Suppressions = append(pol.Suppressions, sups...)
	}
	var base *baseline.Baseline
	if o.baseline != nil {
		name, data, err := readInput(ctx, o.baseline, stages.MaxReportBytes)
		if err != nil {
			return nil, gitlab.Options{}, fmt.Errorf("baseline: %w", err)
		}
		if base, err = baseline.Load(data, name); err != nil {
			return nil, gitlab.Options{}, err
		}
	}
	selected := codeStages()
	if len(o.stages) > 0 {
		// ParseList rejects unknown and not yet implemented stages.
		if selected, err = stages.ParseList(strings.Join(o.stages, ",")); err != nil {
			return nil, gitlab.Options{}, fmt.Errorf("stages: %w", err)
		}
	}
	if len(selected) == 0 {
		return nil, gitlab.Options{}, fmt.Errorf("stages: none of the code stages (%s) can run yet", strings.Join(stages.CodeStages, ", "))
	}
	runner := &daggerRunner{source: source, images: m.images(pol), vulnDB: m.VulnDB}
	runner.helperImage, runner.secrets, runner.given = m.helperImage(pol), o.secrets, o.image
	runner.registryUser, runner.registryPassword = o.registryUser, o.registryPassword
	if o.target != nil {
		runner.bindTarget(o.target)
	}
	cfg := pipeline.Config{
		Runner:   runner,
		Policy:   pol,
		Stages:   selected,
		History:  o.history,
		Delivery: o.delivery,
		Baseline: base,
	}
	if cfg.ImagePins, cfg.ImagesLock, err = m.lockImages(ctx, source, runner, selected); err != nil {
		return nil, gitlab.Options{}, err
	}
	if m.VulnDB != nil {
		name, err := checkVulnDB(ctx, m.VulnDB)
		if err != nil {
			return nil, gitlab.Options{}, fmt.Errorf("vulnDb: %w", err)
		}
		cfg.VulnDB, cfg.VulnDBName = dbPath, name
	}
	// Every report names the branch, as the host's do.
	if cfg.Delivery.Branch, err = resolveBranch(ctx, source, cfg.Delivery.Branch); err != nil {
		return nil, gitlab.Options{}, err
	}
	// The provenance of a signed image names its commit.
	if cfg.Delivery.Sign && cfg.Delivery.Commit == "" {
		cfg.Delivery.Commit = pipeline.CommitFromGit(func(rel string) ([]byte, error) { return readFile(ctx, source, rel) })
	}
	// The digest names exactly what was scanned, as a path does on the host
	// (a fleet names the repository and its ref instead).
	if cfg.Source = o.sourceName; cfg.Source == "" {
		if cfg.Source, err = source.Digest(ctx); err != nil {
			return nil, gitlab.Options{}, fmt.Errorf("source: %w", err)
		}
	}
	rep, err := pipeline.Run(ctx, cfg)
	if err != nil {
		return nil, gitlab.Options{}, err
	}
	return rep, gitlab.Options{Target: cfg.Delivery.Target}, nil
}

// codeStages is stages.CodeStages in pipeline order (the order reports list
// stages in), without any stage not implemented yet. None needs another,
// so the pipeline starts them all at once.
func codeStages() []string {
	var out []string
	for _, name := range stages.Implemented() {
		if slices.Contains(stages.CodeStages, name) {
			out = append(out, name)
		}
	}
	return out
}

// checkVulnDB accepts a folder laid out as a dagsec vulnerability database,
// as the CLI's --vuln-db does, so a wrong folder fails before any scan.
func checkVulnDB(ctx context.Context, db *dagger.Directory) (string, error) {
	data, err := readFile(ctx, db, stages.VulnDBVersionFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no %s file: not a dagsec vulnerability database", stages.VulnDBVersionFile)
	}
	if err != nil {
		return "", err
	}
	stamp, err := stages.ParseVulnDBStamp(data)
	if err != nil {
		return "", err
	}
	for _, f := range []string{
		stages.VulnDBGovulncheck + "/index/db.json",
		stages.VulnDBGovulncheck + "/index/modules.json",
		stages.VulnDBOSVScanner + "/" + stages.VulnDBOSVGoZip,
	} {
		ok, err := db.Exists(ctx, f, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
		if err != nil {
			return "", fmt.Errorf("checking %s: %w", f, err)
		}
		if !ok {
			return "", fmt.Errorf("the vulnerability database is incomplete: %s is missing", f)
		}
	}
	return stamp.String(), nil
}

// readInput reads a small input file, checking its size before it crosses
// the API.
func readInput(ctx context.Context, f *dagger.File, limit int) (string, []byte, error) {
	name, err := f.Name(ctx)
	if err != nil {
		return "", nil, err
	}
	size, err := f.Size(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	if size > limit {
		return "", nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	data, err := f.Contents(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	return name, []byte(data), nil
}

// loadPolicy mirrors the CLI: a file over the preset it names or is given;
// without one, the source's own .dagsec.yaml; else the preset, else the
// default preset.
func loadPolicy(ctx context.Context, source *dagger.Directory, file *dagger.File, preset string) (*policies.Policy, error) {
	if file == nil {
		var err error
		if file, err = repoPolicy(ctx, source); err != nil {
			return nil, err
		}
	}
	if file == nil {
		if preset == "" {
			preset = policies.DefaultPreset
		}
		return policies.Preset(preset)
	}
	name, data, err := readInput(ctx, file, policies.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return policies.Parse(data, name, preset)
}

// repoPolicy is the source's .dagsec.yaml, or nil when it has none.
func repoPolicy(ctx context.Context, source *dagger.Directory) (*dagger.File, error) {
	found, err := source.Exists(ctx, policies.RepoFile)
	if err != nil {
		return nil, fmt.Errorf("checking the source for %s: %w", policies.RepoFile, err)
	}
	if !found {
		return nil, nil
	}
	regular, err := source.Exists(ctx, policies.RepoFile, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", policies.RepoFile, err)
	}
	if !regular {
		return nil, fmt.Errorf("%s: not a regular file", policies.RepoFile)
	}
	return source.File(policies.RepoFile), nil
}

// Report is the outcome of one run: the run report, its Markdown summary and
// SARIF log, files tools produced (SBOMs), the files CI systems read, and
// the overall verdict.
type Report struct {
	// Run report as JSON: every stage, finding and tool run, with timings.
	JSON string `json:"json"`
	// Human summary in Markdown: stages, what blocked and the top findings;
	// also GitHub's job summary.
	Summary string `json:"summary"`
	// Merged SARIF 2.1.0 log (results.sarif), one run per completed tool.
	// Past GitHub's limits (20 runs a file), directory holds it split into
	// results.sarif, results-2.sarif, ...
	Sarif *dagger.File `json:"sarif"`
	// Files tools produced besides findings: the SBOMs (sbom.cdx.json,
	// sbom.spdx.json, sbom-image.cdx.json) and the image signature.
	Artifacts *dagger.Directory `json:"artifacts"`
	// Overall status: passed, warned, blocked, error, or skipped when nothing
	// was scanned.
	Status string `json:"status"`
	// Exit code for the status: 0 passed or warned, 1 blocked, 2 error, 3
	// nothing scanned.
	ExitCode int `json:"exitCode"`
	// Every report file, as directory returns them.
	Files *dagger.Directory `json:"files"`
}

func newReport(rep *pipeline.Report, gl gitlab.Options) (*Report, error) {
	files, err := reports.Files(rep, gl)
	if err != nil {
		return nil, err
	}
	sarif, err := rep.SARIF()
	if err != nil {
		return nil, fmt.Errorf("results.sarif: %w", err)
	}
	all, arts := dag.Directory(), dag.Directory()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		all = all.WithNewFile(name, string(files[name]))
		if _, ok := rep.Artifacts[name]; ok {
			arts = arts.WithNewFile(name, string(files[name]))
		}
	}
	return &Report{
		JSON:      string(files[reports.RunReportFile]),
		Summary:   string(files[reports.SummaryFile]),
		Sarif:     dag.File("results.sarif", string(sarif)),
		Artifacts: arts,
		Status:    string(rep.Status),
		ExitCode:  rep.ExitCode,
		Files:     all,
	}, nil
}

// GithubAnnotations returns GitHub Actions workflow commands (::error
// file=...,line=...::) for the findings and the stages that blocked, most
// severe first and capped as GitHub shows them; print them from a workflow
// step, and append summary to $GITHUB_STEP_SUMMARY.
func (r *Report) GithubAnnotations(ctx context.Context) (string, error) {
	return r.Files.File(reports.AnnotationsFile).Contents(ctx)
}

// Junit returns the JUnit XML report: each stage's gate a test case.
func (r *Report) Junit() *dagger.File {
	return r.Files.File(junit.FileName)
}

// Gitlab returns GitLab's report files: the security reports of the stages
// that ran (gl-sast-report.json, gl-secret-detection-report.json,
// gl-dependency-scanning-report.json, gl-container-scanning-report.json,
// gl-dast-report.json), gl-code-quality-report.json and junit.xml.
func (r *Report) Gitlab() *dagger.Directory {
	return r.Files.Filter(dagger.DirectoryFilterOpts{Include: []string{"gl-*.json", junit.FileName}})
}

// Check fails when the run blocked or errored, naming each such stage and its
// reason; findings themselves stay in the report files.
func (r *Report) Check(ctx context.Context) error {
	if r.ExitCode == 0 {
		return nil
	}
	// Only the fields needed: the error must not carry finding details or
	// tool output, which may be long or sensitive.
	var run struct {
		Stages []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"stages"`
	}
	if err := json.Unmarshal([]byte(r.JSON), &run); err != nil {
		return fmt.Errorf("dagsec: %s (exit code %d); run report unreadable: %w", r.Status, r.ExitCode, err)
	}
	var stops []string
	for _, s := range run.Stages {
		if s.Status != string(policies.StatusBlocked) && s.Status != string(policies.StatusError) {
			continue
		}
		msg := s.Name + " " + s.Status
		if s.Reason != "" {
			msg += ": " + s.Reason
		}
		stops = append(stops, msg)
	}
	if len(stops) == 0 {
		return fmt.Errorf("dagsec: %s (exit code %d)", r.Status, r.ExitCode)
	}
	return fmt.Errorf("dagsec: %s (exit code %d): %s", r.Status, r.ExitCode, strings.Join(stops, "; "))
}

// Directory holds every report file, ready to export: report.json,
// results.sarif (and results-N.sarif), summary.md, junit.xml, the GitLab
// reports and the artifacts (SBOMs).
func (r *Report) Directory() *dagger.Directory {
	return r.Files
}
