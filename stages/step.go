package stages

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Placeholders a Step's argv and env may use. Each runner expands them to its
// own paths: the Dagger runner to fixed container paths, the host runner to
// the source folder and a private temporary folder.
const (
	SourceDir = "${DAGSEC_SOURCE}" // the scanned source, read-only
	InputDir  = "${DAGSEC_INPUT}"  // files from Step.Inputs
	OutputDir = "${DAGSEC_OUTPUT}" // where the tool writes its report
	// CacheDir holds the folders of Step.Caches, kept between runs: Dagger
	// cache volumes in containers, a dagsec cache folder on the host.
	CacheDir = "${DAGSEC_CACHE}"
	// DBDir is a local vulnerability database the caller supplied (see
	// Options.VulnDB), mounted read-only.
	DBDir = "${DAGSEC_DB}"
	// ImageTar is the built image (Options.Image) as a docker-archive
	// tarball, for steps with NeedsImage.
	ImageTar = "${DAGSEC_IMAGE}"
	// GoModCacheDir is the Go module cache a step with GoModCache reads:
	// the host's GOMODCACHE (`go env GOMODCACHE`), or the Dagger module's
	// go-mod cache volume, which UsesGo steps fill.
	GoModCacheDir = "${DAGSEC_GOMODCACHE}"
	// ToolHome is the folder the runner installed the step's tool in, for
	// files that come with it (Spectral's OWASP ruleset): the tools
	// folder's <tool>@<version> on the host, Tool.ImageHome in its image.
	ToolHome = "${DAGSEC_TOOL_HOME}"
)

// CosignKeySecret names the secret holding the cosign private key; its
// password is CosignPasswordSecret.
const (
	CosignKeySecret      = "cosign-key"
	CosignPasswordSecret = CosignKeySecret + "-password"
)

// Step is one containerized tool invocation, described without any runner in
// mind so the Dagger runner and the host runner execute the same thing.
type Step struct {
	Name    string            // unique in a run, e.g. "secrets/gitleaks"
	Tool    string            // binary name, looked up in the tools folder or PATH on the host
	Version string            // pinned tool version, recorded in the run report
	Image   string            // pinned container image for the Dagger runner
	Argv    []string          // argv[0] is the tool binary
	Workdir string            // working folder; placeholders allowed, default SourceDir
	Env     map[string]string // plain settings only; never credentials
	// Reads are the parts of the source the tool reads (folders or files,
	// relative to it), without ReadsExcept (folders inside them); nil is
	// the whole source. The Dagger runner mounts only these, so the
	// engine's cache reruns the step only when they change, and the host's
	// result cache keys on their content. A path that does not exist is
	// left out.
	Reads, ReadsExcept []string
	// MemoryMB is what the run may hold at once, for the runner's memory
	// budget; 0 means DefaultToolMemoryMB. Go analysers scale with the
	// module (GoMemoryMB).
	MemoryMB int64
	// Share, when set, names a run other stages' plans may have too: the
	// pipeline runs a shared step once and gives each plan its result
	// (one trivy config for iac and dockerfile).
	Share string
	// NoNetwork marks a run that needs no network although its tool may:
	// trivy config, a scan against databases a separate update step
	// fetched (Step.DBUpdate keeps the network), trufflehog without
	// verification. Runners cut it off.
	NoNetwork bool
	// Live marks a run whose result depends on outside state no cache key
	// holds (trufflehog verifying secrets with their services): its result
	// is never reused.
	Live   bool
	Inputs map[string][]byte // files placed under InputDir by relative name
	// Report is the file, relative to OutputDir, the tool writes; empty when
	// the step's result is its exit code alone.
	Report string
	// OKCodes are exit codes of a clean run, FindingCodes those that mean
	// "ran and found something". Every other code is a tool error.
	OKCodes      []int
	FindingCodes []int
	Timeout      time.Duration
	// NeedsGit marks steps that read the source's .git folder.
	NeedsGit bool
	// Prepare are steps run before this one, in order, each with its own
	// tool and image, over the same source (a `go mod download` that fills
	// the Go module cache syft reads). A prepare step that cannot run or
	// exits outside its OKCodes fails this step.
	Prepare []Step
	// GoModCache marks a step that reads the Go module cache at
	// GoModCacheDir (the Dagger runner mounts it).
	GoModCache bool

	// StdoutReport: the tool prints its report on stdout, which the runner
	// writes to Report.
	StdoutReport bool
	// Artifacts are further files, relative to OutputDir, the tool must
	// write (an SBOM next to the report); a missing one is a tool error.
	Artifacts []string
	// UsesGo marks tools that run the Go toolchain on the source (gosec,
	// govulncheck): the host passes its Go settings through, the Dagger
	// runner mounts Go module and build caches.
	UsesGo bool
	// Caches name folders under CacheDir kept between runs (a tool's
	// vulnerability database).
	Caches []string
	// DB is set when the step reads DBDir.
	DB bool
	// DBUpdate, when set, runs before the step with the same image and
	// caches to refresh a vulnerability database; the Dagger runner reruns
	// it once per DBRefresh period.
	DBUpdate  []string
	DBRefresh time.Duration
	// DBUpdateOKCodes are the update's exit codes of success; empty means 0.
	DBUpdateOKCodes []int
	// DBInfo, when set, runs after the tool with the same image and caches;
	// its stdout (StepResult.DBInfo) describes the database the tool read.
	// argv[0] is the tool, or a plain command of the image such as sh.
	DBInfo []string

	// NeedsImage marks steps that read the built image at ImageTar.
	NeedsImage bool
	// NeedsTarget marks steps that reach the staging target (DAST): the
	// Dagger runner binds the staging service to them.
	NeedsTarget bool
	// SecretEnv maps environment variables to named secrets the runner
	// holds (CosignKeySecret); values never appear in argv, env or reports.
	// A secret the runner does not hold is a tool error.
	SecretEnv map[string]string
	// SecretFiles maps files under InputDir to named secrets, for tools that
	// read a key from a file.
	SecretFiles map[string]string
}

// UpdateOK reports whether the DBUpdate run succeeded.
func (s Step) UpdateOK(code int) bool {
	if len(s.DBUpdateOKCodes) == 0 {
		return code == 0
	}
	return slices.Contains(s.DBUpdateOKCodes, code)
}

// Validate rejects a step no runner could execute.
func (s Step) Validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("step has no name")
	case len(s.Argv) == 0:
		return fmt.Errorf("step %s has no argv", s.Name)
	case s.Image == "":
		return fmt.Errorf("step %s has no image", s.Name)
	case len(s.OKCodes) == 0:
		return fmt.Errorf("step %s has no exit code meaning success", s.Name)
	}
	for _, f := range append([]string{s.Report}, s.Artifacts...) {
		if strings.Contains(f, "..") || strings.HasPrefix(f, "/") {
			return fmt.Errorf("step %s: output file %q must stay inside the output folder", s.Name, f)
		}
	}
	if s.StdoutReport && s.Report == "" {
		return fmt.Errorf("step %s: a stdout report needs a report file name", s.Name)
	}
	for _, c := range s.Caches {
		if c == "" || strings.ContainsAny(c, "/\\.") {
			return fmt.Errorf("step %s: cache name %q must be a plain name", s.Name, c)
		}
	}
	for _, p := range s.Prepare {
		if len(p.Prepare) > 0 {
			return fmt.Errorf("step %s: prepare step %s has prepare steps of its own", s.Name, p.Name)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("step %s: prepare: %w", s.Name, err)
		}
	}
	return nil
}

// Paths are a runner's folders for the placeholders.
type Paths struct {
	Source, Input, Output, Cache, DB, Image, GoModCache, ToolHome string
}

func (p Paths) replacer() *strings.Replacer {
	return strings.NewReplacer(SourceDir, p.Source, InputDir, p.Input, OutputDir, p.Output, CacheDir, p.Cache, DBDir, p.DB, ImageTar, p.Image,
		GoModCacheDir, p.GoModCache, ToolHome, p.ToolHome)
}

// Expand replaces the placeholders in argv and env values with a runner's paths.
func (s Step) Expand(p Paths) (argv []string, env map[string]string) {
	return expandArgv(p, s.Argv), expandEnv(p, s.Env)
}

// ExpandCommand is Expand with bin in place of argv[0] when argv[0] names
// the tool (a step may start with sh to prepare the tool's folders).
func (s Step) ExpandCommand(p Paths, bin string) (argv []string, env map[string]string) {
	argv, env = s.Expand(p)
	return s.withBin(argv, bin), env
}

// ExpandUpdate is Expand for the DBUpdate argv, with bin in place of the tool.
func (s Step) ExpandUpdate(p Paths, bin string) []string {
	return s.withBin(expandArgv(p, s.DBUpdate), bin)
}

// ExpandDBInfo is Expand for the DBInfo argv, with bin in place of the tool.
func (s Step) ExpandDBInfo(p Paths, bin string) []string {
	return s.withBin(expandArgv(p, s.DBInfo), bin)
}

// withBin puts the runner's binary of the tool in place of argv[0] when
// argv[0] names the tool; another command (sh) is left to the runner's PATH.
func (s Step) withBin(argv []string, bin string) []string {
	if len(argv) > 0 && argv[0] == s.Tool {
		argv[0] = bin
	}
	return argv
}

// MaxDBInfoBytes bounds what is kept of a DBInfo command's output.
const MaxDBInfoBytes = 64 << 10

func expandArgv(p Paths, in []string) []string {
	r := p.replacer()
	out := make([]string, len(in))
	for i, a := range in {
		out[i] = r.Replace(a)
	}
	return out
}

func expandEnv(p Paths, in map[string]string) map[string]string {
	r := p.replacer()
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = r.Replace(v)
	}
	return out
}

// Dir is the expanded working folder, the source when the step names none.
func (s Step) Dir(p Paths) string {
	if s.Workdir == "" {
		return p.Source
	}
	return p.replacer().Replace(s.Workdir)
}

// Outcome classifies an exit code against the step's declared codes.
type Outcome string

const (
	OutcomeClean     Outcome = "clean"
	OutcomeFindings  Outcome = "findings"
	OutcomeToolError Outcome = "tool-error"
)

// Classify maps an exit code to an outcome; unknown codes are tool errors.
func (s Step) Classify(code int) Outcome {
	switch {
	case slices.Contains(s.OKCodes, code):
		return OutcomeClean
	case slices.Contains(s.FindingCodes, code):
		return OutcomeFindings
	default:
		return OutcomeToolError
	}
}

// MaxReportBytes bounds what any runner reads of a tool report; a larger one
// is an error rather than an out-of-memory crash.
const MaxReportBytes = 512 << 20

// StepResult is what a runner collected from one step.
type StepResult struct {
	ExitCode int
	Report   []byte // contents of Step.Report; nil when the file was not written
	// ReportMissing is true when Step.Report was set but no file was found.
	ReportMissing bool
	// Artifacts holds Step.Artifacts by name; the runner fails the step
	// when one is missing.
	Artifacts map[string][]byte
	// Workdir is the step's working folder as the runner expanded it.
	Workdir string
	// DBInfo is the stdout of Step.DBInfo (at most MaxDBInfoBytes); nil when
	// the step has none or it failed, which only leaves the report unsure.
	DBInfo []byte
	Stderr string // tail of the tool's stderr, for error messages
	// ToolVersion is set when the runner used a binary other than the pinned
	// one (a tool from PATH), so the report says what really ran.
	ToolVersion string
	// Image is the image the runner ran the tool from (a mirror when one
	// replaced Step.Image); "" when it ran no image (the host).
	Image string
	// PeakMemory is the most memory, in bytes, the tool's processes held at
	// once, where the runner can tell (the host); 0 unknown.
	PeakMemory int64
	// CachedAt is when the result was made, for a result the runner took
	// from its cache of earlier runs (unchanged inputs); zero for a run.
	CachedAt time.Time
	// CacheKey names the result in the runner's cache, if it keeps one.
	CacheKey string
	Duration time.Duration
	// Network says what network the tool had: "none" when the runner cut it
	// off, or why it could not; "" when the tool needs the network.
	Network string
}

// Tail keeps the end of long tool output, where the error usually is.
func Tail(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	return "…" + s[len(s)-max:]
}

// NetworkNeed says why the step's tool run needs the network, "" when it
// needs none (the tool needs none, or the step says so).
func (s Step) NetworkNeed() string {
	t, ok := LookupTool(s.Tool)
	if !ok || s.NoNetwork {
		return ""
	}
	return t.Network
}

// DefaultToolMemoryMB is a tool run's memory estimate when its step names
// none: what a scanner holds on an ordinary repository.
const DefaultToolMemoryMB = 512

// Memory is the step's estimate for the memory budget.
func (s Step) Memory() int64 {
	if s.MemoryMB > 0 {
		return s.MemoryMB
	}
	return DefaultToolMemoryMB
}
