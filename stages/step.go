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
	Inputs  map[string][]byte // files placed under InputDir by relative name
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
	if strings.Contains(s.Report, "..") || strings.HasPrefix(s.Report, "/") {
		return fmt.Errorf("step %s: report path %q must stay inside the output folder", s.Name, s.Report)
	}
	return nil
}

// Expand replaces the placeholders in argv and env values with a runner's paths.
func (s Step) Expand(source, input, output string) (argv []string, env map[string]string) {
	r := placeholders(source, input, output)
	argv = make([]string, len(s.Argv))
	for i, a := range s.Argv {
		argv[i] = r.Replace(a)
	}
	env = make(map[string]string, len(s.Env))
	for k, v := range s.Env {
		env[k] = r.Replace(v)
	}
	return argv, env
}

func placeholders(source, input, output string) *strings.Replacer {
	return strings.NewReplacer(SourceDir, source, InputDir, input, OutputDir, output)
}

// Dir is the expanded working folder, the source when the step names none.
func (s Step) Dir(source, input, output string) string {
	if s.Workdir == "" {
		return source
	}
	return placeholders(source, input, output).Replace(s.Workdir)
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
	Stderr        string // tail of the tool's stderr, for error messages
	// ToolVersion is set when the runner used a binary other than the pinned
	// one (a tool from PATH), so the report says what really ran.
	ToolVersion string
	Duration    time.Duration
}

// Tail keeps the end of long tool output, where the error usually is.
func Tail(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	return "…" + s[len(s)-max:]
}
