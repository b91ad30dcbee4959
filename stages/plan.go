package stages

import (
	"context"
	"fmt"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// Options carry what a stage takes from the policy and the caller, as plain values.
type Options struct {
	Tools    []string // tools to run; empty means every tool of the stage
	Config   string   // tool configuration, relative to the source
	Baseline string   // baseline file, relative to the source
	History  bool     // secrets: scan git history instead of the working tree
	// NoVerify (secrets, policy verify: false) keeps trufflehog from
	// checking secrets with their services; offline it never does.
	NoVerify bool
	Timeout  time.Duration // per tool; zero means the stage's default
	// ToolTimeouts replace Timeout for single tools (policy per_tool).
	ToolTimeouts map[string]time.Duration
	// ToolConfigs name a tool's configuration file in the source in place
	// of the one it is found under (policy per_tool config).
	ToolConfigs map[string]string

	// Rulesets are semgrep configs for sast (registry names such as
	// p/owasp-top-ten, or paths inside the source).
	Rulesets []string
	// UnreachableSeverity is the severity sca gives a vulnerability the code
	// never calls (govulncheck reachability); zero means low.
	UnreachableSeverity findings.Severity
	// Licenses is the license policy of the licenses stage.
	Licenses LicensePolicy
	// VulnDB names a local vulnerability database folder for sca, laid out
	// as VulnDBLayout says; "" lets the tools use their online databases.
	VulnDB string
	// VulnDBName says which database VulnDB holds, for the run report.
	VulnDBName string
	// Offline is true when tools cannot reach their database hosts: a tool
	// that needs one and has no local copy is left out unless the policy
	// names it, in which case it fails.
	Offline bool
	// DBRefresh is how often online vulnerability databases are refreshed.
	DBRefresh time.Duration

	// Image is what the build stage produced, for the build checks and the
	// image stage; nil before a build.
	Image *BuiltImage
	// MaxBaseAge (build) is the oldest a base image may be; zero means 30 days.
	MaxBaseAge time.Duration
	// Now is the time image ages are measured at; zero means time.Now().
	Now time.Time
	// Sign (image) asks for the image tarball to be signed with cosign; the
	// runner supplies the key as the secret CosignKeySecret.
	Sign bool

	// Target is the URL DAST scans, as the runner's DAST steps reach it.
	Target string
	// OpenAPI is an OpenAPI file, relative to the source, for an API scan.
	OpenAPI string
}

// BuiltImage is an image the build stage produced. Steps with NeedsImage
// read it as a docker-archive tarball at ImageTar.
type BuiltImage struct {
	// Ref names the image in reports (a tag, or the Dockerfile it was
	// built from).
	Ref string
	// Config is the image's OCI config JSON (user, env, history, created).
	Config []byte
	// BaseRef and BaseConfig are the final stage's base image and its OCI
	// config; BaseConfig is nil when the base is scratch or unknown.
	BaseRef    string
	BaseConfig []byte
	// Dockerfile is the Dockerfile the image was built from, relative to
	// the source, and Target its build stage ("" for the last); Dockerfile
	// is "" when unknown (a caller's image). Findings about the image are
	// placed at its instructions (ImageOrigins).
	Dockerfile, Target string
	// LayerConfig is the image's OCI config as its tarball holds it, whose
	// rootfs and history pair layers with instructions; nil when the
	// runner could not read it.
	LayerConfig []byte
}

// Origins pairs the image with its Dockerfile, read through probe; the
// zero ImageOrigins when the Dockerfile is unknown or cannot be read.
func (b BuiltImage) Origins(ctx context.Context, probe Probe) ImageOrigins {
	if b.Dockerfile == "" {
		return ImageOrigins{}
	}
	content, err := probe.ReadFile(ctx, b.Dockerfile)
	if err != nil {
		return ImageOrigins{}
	}
	layers, _ := ImageLayers(b.LayerConfig)
	return NewImageOrigins(b.Dockerfile, content, b.Target, layers)
}

// LicenseAction is what the licenses stage does with a license.
type LicenseAction string

const (
	LicenseAllow LicenseAction = "allow" // no finding
	LicenseWarn  LicenseAction = "warn"  // a low finding
	LicenseBlock LicenseAction = "block" // a high finding
)

// LicensePolicy holds SPDX license ids, compared case-insensitively.
type LicensePolicy struct {
	Allow []string // when non-empty, any other known license is a finding
	Deny  []string
	// Unknown is what a package with no license or an unrecognised one gets.
	Unknown LicenseAction
}

func (o Options) tools(stage string) []string {
	if len(o.Tools) > 0 {
		return o.Tools
	}
	d, _ := Lookup(stage)
	return d.DefaultTools()
}

func (o Options) timeout(def time.Duration) time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return def
}

// Probe answers questions about the source without reading all of it; each
// runner implements it over its own view of the source.
type Probe interface {
	Exists(ctx context.Context, rel string) (bool, error)
	// Glob lists source files matching a doublestar pattern ("**/*.go"),
	// as slash paths relative to the source, sorted.
	Glob(ctx context.Context, pattern string) ([]string, error)
	// ReadFile reads a file of the source (at most MaxReportBytes).
	ReadFile(ctx context.Context, rel string) ([]byte, error)
	// HasTool reports whether the runner can run a tool at all; the Dagger
	// runner can run every tool, the host only what is built or installed.
	HasTool(ctx context.Context, tool string) bool
}

// Plan is one tool run of a stage: the step to execute and how to read its report.
type Plan struct {
	Stage string
	Step  Step
	// Parse turns the report file into findings; it must return an error for
	// a report it cannot fully read, never a partial, passing result.
	Parse func(report []byte) ([]findings.Finding, error)
	// ParseIn, when set, is used instead of Parse for tools that print
	// absolute paths: workdir is the step's working folder as the runner
	// expanded it, for the parser to make paths relative.
	ParseIn func(report []byte, workdir string) ([]findings.Finding, error)
	// Inline, when set, replaces the step: dagsec's own checks run
	// in-process over the probe (Dockerfile hardening).
	Inline func(ctx context.Context, probe Probe) ([]findings.Finding, error)
	// Database, when set, says which vulnerability database the tool used,
	// for the run report, from its report or from the output of the step's
	// DBInfo command.
	Database func(report, dbInfo []byte) string
	// Skipped says why a default tool is not run (its language is absent,
	// or this runner cannot run it); Step is then empty.
	Skipped string
	// Unavailable marks a skip because the runner lacks the tool, as
	// opposed to nothing for it to scan.
	Unavailable bool
	// Tool names the tool for skipped and inline plans.
	Tool string
	// Target is what the run covers when a tool runs once per part of the
	// source: a Go module's folder. "" means the whole source.
	Target string
	// CoversOnly, when set, lists the paths of the stage's coverage
	// targets the plan is about, where its tool does not imply them (see
	// Covers): the lockfiles osv-scanner is given, and its skip of the
	// manifests its offline database cannot check.
	CoversOnly []string
	// Config lists the configuration files of the source the tool runs
	// with (bandit.yaml, .trivyignore), for the report.
	Config []string
	// Note is what the report should say about how the tool ran
	// (trufflehog: verification did not run).
	Note string
}

// PlanStage returns the tool runs of a stage for the given options.
func PlanStage(ctx context.Context, stage string, opts Options, probe Probe) ([]Plan, error) {
	if err := CheckTools(stage, opts.Tools); err != nil {
		return nil, err
	}
	plans, err := planStage(ctx, stage, opts, probe)
	if err != nil {
		return nil, err
	}
	for i := range plans {
		if d := opts.ToolTimeouts[plans[i].ToolName()]; d > 0 && plans[i].Inline == nil && plans[i].Skipped == "" {
			plans[i].Step.Timeout = d
		}
		if err := applyToolConfig(ctx, probe, opts, &plans[i]); err != nil {
			return nil, fmt.Errorf("stage %s: %w", stage, err)
		}
	}
	return plans, nil
}

// ToolName is the plan's tool as the catalog and policies name it.
func (p Plan) ToolName() string {
	if p.Tool != "" {
		return p.Tool
	}
	return p.Step.Tool
}

func planStage(ctx context.Context, stage string, opts Options, probe Probe) ([]Plan, error) {
	switch stage {
	case Secrets:
		return planSecrets(ctx, opts, probe)
	case SAST:
		return planSAST(ctx, opts, probe)
	case SCA:
		return planSCA(ctx, opts, probe)
	case Licenses:
		return planLicenses(ctx, opts, probe)
	case IaC:
		return planIaC(ctx, opts, probe)
	case Dockerfile:
		return planDockerfile(ctx, opts, probe)
	case API:
		return planAPI(ctx, opts, probe)
	case Build:
		return planBuild(ctx, opts, probe)
	case Image:
		return planImage(ctx, opts, probe)
	case DAST:
		return planDAST(ctx, opts, probe)
	case Staging, Production:
		return nil, nil // the runner's engine does their work, no tool runs
	}
	if _, ok := Lookup(stage); !ok {
		return nil, fmt.Errorf("unknown stage %q", stage)
	}
	return nil, fmt.Errorf("stage %s has no tools yet", stage)
}
