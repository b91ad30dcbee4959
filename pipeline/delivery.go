package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// Delivery configures the stages after the code stages: build, image,
// staging, dast and production.
type Delivery struct {
	Build   BuildSpec
	Staging StagingSpec
	// Production is what a production deploy does; nothing configured means
	// the stage is skipped.
	Production ProductionSpec
	// Branch is the branch being built; production deploys only when it is
	// the policy's production branch. Empty means unknown: no deploy.
	Branch string
	// Target is the URL of a staging that is already running: the staging
	// stage deploys nothing and DAST scans this URL.
	Target string
	// OpenAPI is an OpenAPI file in the source for DAST's API scan.
	OpenAPI string
	// Sign asks for the built image to be signed, and its SBOM and SLSA
	// provenance attested, with cosign once every other stage has judged
	// it (sign.go); Commit is the source's git commit the provenance names.
	Sign   bool
	Commit string
	// CosignPublicKey, when set, makes production verify the image's
	// signature and attestations against it before it deploys; Signed
	// holds them, by file name, from earlier runs' report folders (this
	// run's own signing comes first).
	CosignPublicKey []byte
	Signed          map[string][]byte
	// Earlier holds the verdicts of stages that ran before this run (a
	// composed DAG deploying after separate scans), by stage; production
	// counts them as gates like stages of this run.
	Earlier map[string]policies.Status
}

// BuildSpec says how the engine builds the image from the source.
type BuildSpec struct {
	Dockerfile string // relative to the source; default "Dockerfile"
	Target     string // build stage to stop at; default the last
	Args       []BuildArg
	Platform   string // e.g. linux/amd64; default the engine's
}

// BuildArg is one --build-arg.
type BuildArg struct{ Name, Value string }

// StagingSpec says how staging runs: the built image as a service of the
// engine, or the user's deploy step.
type StagingSpec struct {
	// Port the service listens on; zero means the image's only exposed
	// port, else 8080.
	Port int
	// HealthPath is fetched until it answers before DAST starts; default "/".
	HealthPath string
	// Deploy, when set, deploys to a real staging instead.
	Deploy *DeployStep
}

// DeployStep is a user's deploy: a command in a container (on the host: the
// command alone), with credentials as named secrets the runner holds.
type DeployStep struct {
	Image   string
	Command []string
	Env     map[string]string
	// SecretEnv maps environment variables to secret names.
	SecretEnv map[string]string
	// URL is the staging URL DAST scans; empty means the last line the
	// command prints. Unused for production.
	URL string
}

// ProductionSpec is a production deploy: publish the built image, run a
// deploy step, or both (publish first).
type ProductionSpec struct {
	Publish string // image reference to push the built image to
	Deploy  *DeployStep
}

func (p ProductionSpec) configured() bool { return p.Publish != "" || p.Deploy != nil }

// Engine is what a runner needs besides tool steps to run the delivery
// stages. The Dagger runner is one; the host runner checks a saved image
// tarball and runs deploy commands, and answers ErrNeedsEngine for the rest.
type Engine interface {
	// Build builds the image (once per run) and keeps it for steps with
	// NeedsImage, Serve and Publish.
	Build(ctx context.Context, spec BuildSpec) (stages.BuiltImage, error)
	// Serve runs the built image as a service and returns the URL the
	// runner's DAST steps reach it at, once it answers on HealthPath.
	Serve(ctx context.Context, spec StagingSpec) (string, error)
	// Deploy runs a deploy step and returns its standard output. A non-zero
	// exit is an error.
	Deploy(ctx context.Context, stage string, step DeployStep) (string, error)
	// Publish pushes the built image and returns the reference with digest.
	Publish(ctx context.Context, ref string) (string, error)
}

// DockerfilePath is the Dockerfile the build uses, relative to the source.
func (b BuildSpec) DockerfilePath() string {
	if b.Dockerfile == "" {
		return "Dockerfile"
	}
	return b.Dockerfile
}

// ErrNeedsEngine marks work this runner cannot do at all (building an
// image on the host): the stage is skipped with the reason, which holds
// back every stage after it.
var ErrNeedsEngine = errors.New("needs a container engine: run it with the Dagger module")

// ErrNothingToBuild marks a source without the default Dockerfile: build
// and everything after it are skipped, not failed. A Dockerfile the caller
// named and that is missing is an error.
var ErrNothingToBuild = errors.New("no Dockerfile to build")

// image returns the built image, building it on first use: the image stage
// run without build (`--stages image` on a saved tarball) builds too.
func (rec *recorder) image(ctx context.Context, eng Engine, spec BuildSpec) (*stages.BuiltImage, error) {
	rec.buildMu.Lock()
	defer rec.buildMu.Unlock()
	if rec.built != nil || rec.buildErr != nil {
		return rec.built, rec.buildErr
	}
	img, err := eng.Build(ctx, spec)
	if err != nil {
		rec.buildErr = fmt.Errorf("build: %w", err)
		return nil, rec.buildErr
	}
	rec.built = &img
	return rec.built, nil
}

// deliveryOptions fills in what a delivery stage takes from earlier ones,
// or returns the verdict of a stage that cannot plan.
func deliveryOptions(ctx context.Context, cfg Config, name string, sp policies.StagePolicy, opts *stages.Options, rec *recorder) *NodeResult {
	d := cfg.Delivery
	switch name {
	case stages.Build, stages.Image:
		eng, ok := cfg.Runner.(Engine)
		if !ok {
			return &NodeResult{Status: policies.StatusSkipped, Reason: "the " + cfg.Runner.Kind() + " runner cannot build images"}
		}
		img, err := rec.image(ctx, eng, d.Build)
		if err != nil {
			return engineFailure(name, sp, err)
		}
		opts.Image = img
		opts.MaxBaseAge = sp.MaxBaseAge
		opts.Sign = d.Sign
	case stages.DAST:
		opts.Target = rec.stagingURL()
		if opts.Target == "" {
			opts.Target = d.Target
		}
		opts.OpenAPI = d.OpenAPI
	case stages.API:
		opts.OpenAPI = d.OpenAPI // the definition to audit instead of those found
	}
	return nil
}

// engineFailure judges an engine error: ErrNeedsEngine skips the stage,
// anything else is a tool error the policy's on_tool_error decides.
func engineFailure(name string, sp policies.StagePolicy, err error) *NodeResult {
	if errors.Is(err, ErrNeedsEngine) || errors.Is(err, ErrNothingToBuild) {
		return &NodeResult{Status: policies.StatusSkipped, Reason: err.Error()}
	}
	v := policies.Evaluate(name, sp, nil, []error{err})
	return &NodeResult{Status: v.Status, Reason: v.Reason}
}

// runStaging makes a staging for DAST: an external URL, the user's deploy
// step, or the built image served by the engine.
func runStaging(ctx context.Context, cfg Config, sp policies.StagePolicy, sr *StageReport, rec *recorder) NodeResult {
	d := cfg.Delivery
	if d.Target != "" && d.Staging.Deploy == nil {
		if err := checkTargetURL(d.Target); err != nil {
			return *engineFailure(stages.Staging, sp, err)
		}
		rec.setStagingURL(d.Target)
		return NodeResult{Status: policies.StatusPassed, Reason: "external staging at " + d.Target}
	}
	eng, ok := cfg.Runner.(Engine)
	if !ok {
		return NodeResult{Status: policies.StatusSkipped, Reason: "the " + cfg.Runner.Kind() + " runner cannot deploy"}
	}
	fail := func(err error) NodeResult {
		sr.Errors = append(sr.Errors, err.Error())
		return *engineFailure(stages.Staging, sp, err)
	}
	var target, how string
	if dep := d.Staging.Deploy; dep != nil {
		out, err := eng.Deploy(ctx, stages.Staging, *dep)
		if err != nil {
			return fail(fmt.Errorf("staging deploy: %w", err))
		}
		target = dep.URL
		if target == "" {
			target = lastLine(out)
		}
		how = "deployed to staging at "
	} else {
		if _, err := rec.image(ctx, eng, d.Build); err != nil {
			return fail(err)
		}
		u, err := eng.Serve(ctx, d.Staging)
		if err != nil {
			return fail(fmt.Errorf("staging service: %w", err))
		}
		target, how = u, "built image served at "
	}
	if err := checkTargetURL(target); err != nil {
		return fail(fmt.Errorf("staging: %w", err))
	}
	rec.setStagingURL(target)
	return NodeResult{Status: policies.StatusPassed, Reason: how + target}
}

// runProduction deploys only when every stage before it ran in this run and
// passed (or was disabled by the policy: the scheduler has already held
// production back for any that blocked, errored or was skipped), and the
// branch is the production branch.
func runProduction(ctx context.Context, cfg Config, sp policies.StagePolicy, sr *StageReport, selected []string, rec *recorder) NodeResult {
	skip := func(why string) NodeResult {
		return NodeResult{Status: policies.StatusSkipped, Reason: "not deployed: " + why}
	}
	// Every stage before this one has its verdict: the image is signed now.
	if err := rec.signImage(ctx, cfg); err != nil {
		sr.Errors = append(sr.Errors, err.Error())
		res := *engineFailure(stages.Production, sp, err)
		res.Reason = "not deployed: " + res.Reason
		return res
	}
	def, _ := stages.Lookup(stages.Production)
	var notRun, held []string
	for _, need := range def.Needs {
		if slices.Contains(selected, need) || !cfg.Policy.Stage(need).Enabled {
			continue
		}
		switch st, ok := cfg.Delivery.Earlier[need]; {
		case !ok:
			notRun = append(notRun, need)
		case st != policies.StatusPassed && st != policies.StatusWarned:
			held = append(held, fmt.Sprintf("%s (%s)", need, st))
		}
	}
	if len(held) > 0 {
		return skip("earlier runs of " + joinAnd(held) + " did not pass")
	}
	if len(notRun) > 0 {
		return skip("the gates of " + joinAnd(notRun) + " did not run")
	}
	want := cfg.Policy.ProductionBranch
	switch branch := cfg.Delivery.Branch; {
	case want == "":
		return skip("the policy names no production_branch")
	case branch == "":
		return skip(fmt.Sprintf("the branch is unknown; production deploys only from %s", want))
	case branch != want:
		return skip(fmt.Sprintf("branch %s is not the production branch %s", branch, want))
	}
	prod := cfg.Delivery.Production
	if !prod.configured() {
		return skip("no production deploy is configured (publish reference or deploy step)")
	}
	eng, ok := cfg.Runner.(Engine)
	if !ok {
		return skip("the " + cfg.Runner.Kind() + " runner cannot deploy")
	}
	fail := func(err error) NodeResult {
		sr.Errors = append(sr.Errors, err.Error())
		return *engineFailure(stages.Production, sp, err)
	}
	var done []string
	if cfg.Delivery.CosignPublicKey != nil {
		if _, err := rec.image(ctx, eng, cfg.Delivery.Build); err != nil {
			return fail(err)
		}
		if res := rec.verifyImage(ctx, cfg, sr); res != nil {
			return *res
		}
		done = append(done, "signature and attestations verified")
	}
	if prod.Publish != "" {
		if _, err := rec.image(ctx, eng, cfg.Delivery.Build); err != nil {
			return fail(err)
		}
		ref, err := eng.Publish(ctx, prod.Publish)
		if err != nil {
			return fail(fmt.Errorf("publish %s: %w", prod.Publish, err))
		}
		done = append(done, "published "+ref)
	}
	if prod.Deploy != nil {
		if _, err := eng.Deploy(ctx, stages.Production, *prod.Deploy); err != nil {
			return fail(fmt.Errorf("production deploy: %w", err))
		}
		done = append(done, "deploy step ran")
	}
	return NodeResult{Status: policies.StatusPassed, Reason: strings.Join(done, "; ")}
}

// checkTargetURL accepts an absolute http(s) URL with a host.
func checkTargetURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("staging URL %q is not an http(s) URL", s)
	}
	return nil
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// DetectBranch names the branch a CI job builds from its environment:
// GitHub Actions (a branch push; pull requests give their ref, which is
// never a branch name) or GitLab CI. Empty means unknown.
func DetectBranch(getenv func(string) string) string {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		if getenv("GITHUB_REF_TYPE") == "branch" && getenv("GITHUB_HEAD_REF") == "" {
			return getenv("GITHUB_REF_NAME")
		}
		return getenv("GITHUB_REF")
	case getenv("GITLAB_CI") == "true":
		return getenv("CI_COMMIT_BRANCH") // unset for merge requests and tags
	}
	return ""
}

// BranchFromHead reads the branch out of a .git/HEAD file; a detached HEAD
// gives "".
func BranchFromHead(head []byte) string {
	ref, ok := strings.CutPrefix(strings.TrimSpace(string(head)), "ref: refs/heads/")
	if !ok {
		return ""
	}
	return ref
}

// imageInfo summarises the built image for the run report; an unreadable
// base config leaves the base time unknown (the build check reports it).
func imageInfo(img *stages.BuiltImage) *ImageInfo {
	info := &ImageInfo{Ref: img.Ref, BaseRef: img.BaseRef}
	if img.BaseConfig != nil {
		if f, err := stages.ParseImageConfig(img.BaseConfig); err == nil {
			info.BaseCreated = f.Created.UTC()
		}
	}
	return info
}

// EarlierVerdicts folds the stage statuses of earlier runs' reports into
// Delivery.Earlier; a stage in several reports counts with its worst
// status. names label the reports in errors.
func EarlierVerdicts(names []string, reports []*Report) (map[string]policies.Status, error) {
	rank := map[policies.Status]int{policies.StatusPassed: 0, policies.StatusWarned: 1, policies.StatusSkipped: 2, policies.StatusBlocked: 3, policies.StatusError: 4}
	out := map[string]policies.Status{}
	for i, r := range reports {
		for _, s := range r.Stages {
			if _, known := rank[s.Status]; !known {
				return nil, fmt.Errorf("%s: stage %s has status %q", names[i], s.Name, s.Status)
			}
			st := s.Status
			if st == policies.StatusSkipped && s.Coverage.Nothing() {
				st = policies.StatusPassed // nothing there to gate
			}
			if prev, seen := out[s.Name]; !seen || rank[st] > rank[prev] {
				out[s.Name] = st
			}
		}
	}
	return out, nil
}
