// Package github puts a run report where people look in GitHub Actions:
// findings as annotations on the diff (workflow commands), the Markdown
// summary on the run's summary page (GITHUB_STEP_SUMMARY) and the verdict as
// step outputs (GITHUB_OUTPUT). Everything goes through
// github.com/sethvargo/go-githubactions, which escapes workflow-command data
// and properties; nothing here escapes by hand.
//
// SARIF for code scanning is pipeline.Report.SARIFFiles.
package github

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// Annotation caps. GitHub Actions shows at most 10 error and 10 warning
// annotations per step and 50 annotations per job (actions/toolkit,
// docs/problem-matchers.md, "Limitations"); the rest are dropped silently. A
// step writing Annotations therefore emits at most 10 of each level, most
// severe first, and says in a final notice how many it left out: 30 at most,
// leaving room under the job's 50 for other steps.
const (
	MaxErrors   = 10
	MaxWarnings = 10
	MaxNotices  = 10
)

// MaxSummaryBytes bounds Summary: the runner refuses a step summary over
// 1024k ("$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size
// of 1024k"), so stay a little under 1 MiB.
const MaxSummaryBytes = 1_000_000

type level int

const (
	levelError level = iota
	levelWarning
	levelNotice
)

type annotation struct {
	level level
	// rank orders annotations of one level: stage problems first, then
	// findings by severity.
	rank    int
	props   map[string]string
	message string
}

const stageRank = 100

// Annotations writes the report as workflow commands to w, one line each.
//
// Levels follow the gate, not the severity alone:
//   - error: a finding that blocks its stage (the stage has blocking findings
//     and the finding is at or above the stage's block_on), and every stage
//     that errored, or blocked without findings, with its reason;
//   - warning: any other finding of severity low or above, and a stage that
//     only warned about tool errors (per_tool.TOOL.on_error: warn);
//   - notice: findings of severity info.
//
// A finding's annotation carries file, line, endLine, col and endColumn as far
// as its location has them (columns only on a single line, as GitHub reads
// them), and the title "<rule> (<stage>/<tool>, <severity>)";
// the message is the finding's. At most MaxErrors errors, MaxWarnings warnings
// and MaxNotices notices are written, most severe first; when any were left
// out, the last notice says how many. Findings carry no secret values (gitleaks
// runs with --redact and dagsec keeps no match), so neither do annotations.
func Annotations(rep *pipeline.Report, w io.Writer) error {
	return annotate(rep, githubactions.New(githubactions.WithWriter(w), githubactions.WithGetenv(func(string) string { return "" })))
}

func annotate(rep *pipeline.Report, a *githubactions.Action) error {
	if rep == nil {
		return errors.New("github annotations: no report")
	}
	all := collect(rep)
	var byLevel [3][]annotation
	for _, an := range all {
		byLevel[an.level] = append(byLevel[an.level], an)
	}
	caps := [3]int{MaxErrors, MaxWarnings, MaxNotices}
	var left [3]int
	for l := range byLevel {
		if n := len(byLevel[l]) - caps[l]; n > 0 {
			left[l] = n
		}
	}
	omitted := left[0] + left[1] + left[2]
	if omitted > 0 && len(byLevel[levelNotice]) >= MaxNotices {
		// The last notice slot goes to the count of what was left out.
		left[levelNotice]++
		omitted++
	}
	for l := range byLevel {
		for _, an := range byLevel[l][:len(byLevel[l])-left[l]] {
			if err := issue(a, an); err != nil {
				return err
			}
		}
	}
	if omitted > 0 {
		msg := fmt.Sprintf("%d more annotations left out (%d errors, %d warnings, %d notices): GitHub shows at most %d error and %d warning annotations per step. Every finding is in the job summary and report.json.",
			omitted, left[levelError], left[levelWarning], left[levelNotice], MaxErrors, MaxWarnings)
		return issue(a, annotation{level: levelNotice, props: map[string]string{"title": "dagsec: annotations left out"}, message: msg})
	}
	return nil
}

func issue(a *githubactions.Action, an annotation) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("github annotations: %v", r)
		}
	}()
	fa := a.WithFieldsMap(an.props)
	switch an.level {
	case levelError:
		fa.Errorf("%s", an.message)
	case levelWarning:
		fa.Warningf("%s", an.message)
	default:
		fa.Noticef("%s", an.message)
	}
	return nil
}

// collect builds every annotation, sorted by level then rank; ties keep the
// report's order (stages in run order, findings most severe first).
func collect(rep *pipeline.Report) []annotation {
	var out []annotation
	stages := map[string]pipeline.StageReport{}
	for _, s := range rep.Stages {
		stages[s.Name] = s
		an := annotation{rank: stageRank, props: map[string]string{}}
		switch {
		case s.Status == policies.StatusError:
			an.level = levelError
		case s.Status == policies.StatusBlocked && s.Findings == 0:
			an.level = levelError
		case s.Status == policies.StatusWarned && len(s.Errors) > 0:
			an.level = levelWarning
		default:
			continue
		}
		an.props["title"] = fmt.Sprintf("dagsec: stage %s %s", s.Name, s.Status)
		an.message = stageMessage(s)
		out = append(out, an)
	}

	fs := slices.Clone(rep.Findings)
	findings.Sort(fs)
	for _, f := range fs {
		an := annotation{rank: int(f.Severity), props: findingProps(f), message: f.Text()}
		switch s, ok := stages[f.Stage]; {
		case ok && blocks(s, f):
			an.level = levelError
		case f.Severity >= findings.SeverityLow:
			an.level = levelWarning
		default:
			an.level = levelNotice
		}
		out = append(out, an)
	}
	slices.SortStableFunc(out, func(x, y annotation) int {
		if x.level != y.level {
			return int(x.level) - int(y.level)
		}
		return y.rank - x.rank
	})
	return out
}

// blocks: a stage that has blocking findings blocks on those its gate
// counts (StageReport.Blocks).
func blocks(s pipeline.StageReport, f findings.Finding) bool {
	return s.Blocking > 0 && !s.WarnOnly && s.Blocks(&f)
}

func stageMessage(s pipeline.StageReport) string {
	msg := s.Reason
	if msg == "" {
		msg = "stage " + s.Name + " " + string(s.Status)
	}
	for _, e := range s.Errors {
		if !strings.Contains(msg, e) {
			msg += "\n" + e
		}
	}
	return msg
}

func findingProps(f findings.Finding) map[string]string {
	p := map[string]string{"title": fmt.Sprintf("%s (%s/%s, %s)", f.RuleID, f.Stage, f.Tool, f.Severity)}
	l := f.Location
	if l.Path == "" {
		return p
	}
	p["file"] = l.Path
	if l.Line <= 0 {
		return p
	}
	p["line"] = strconv.Itoa(l.Line)
	if l.EndLine >= l.Line {
		p["endLine"] = strconv.Itoa(l.EndLine)
	}
	// GitHub reads col and endColumn only on an annotation of one line.
	if l.Column > 0 && (l.EndLine == 0 || l.EndLine == l.Line) {
		p["col"] = strconv.Itoa(l.Column)
		if l.EndColumn >= l.Column {
			p["endColumn"] = strconv.Itoa(l.EndColumn)
		}
	}
	return p
}

// Summary is the job summary: the report's Markdown (pipeline.Report.Markdown,
// the one implementation, also written as summary.md): a table of stages with
// status icons, findings by severity and reasons; what blocked and why; the
// top findings, most severe first, with path:line and rule; the tools that did
// not run and why. Text from tools and findings is escaped there. A summary
// over MaxSummaryBytes is cut at a line with a note saying so.
func Summary(rep *pipeline.Report) string {
	md := rep.Markdown()
	if len(md) <= MaxSummaryBytes {
		return md
	}
	const note = "\n\n**Summary cut at GitHub's size limit for a step summary; the full one is summary.md in the report.**\n"
	cut := md[:MaxSummaryBytes-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}

// Outputs are the step outputs:
//
//	passed          "true" when the gate let the run through (exit code 0:
//	                passed or warned), else "false"
//	status          passed, warned, blocked or error
//	exit-code       0, 1 (blocked) or 2 (error)
//	findings        number of findings
//	critical, high, medium, low, info   findings of that severity
//	blocked-stages  stages that blocked, comma-separated, in run order
//	error-stages    stages that errored, comma-separated, in run order
func Outputs(rep *pipeline.Report) map[string]string {
	counts := rep.Counts
	if counts == nil {
		counts = findings.CountBySeverity(rep.Findings)
	}
	var blocked, errored []string
	for _, s := range rep.Stages {
		switch s.Status {
		case policies.StatusBlocked:
			blocked = append(blocked, s.Name)
		case policies.StatusError:
			errored = append(errored, s.Name)
		}
	}
	out := map[string]string{
		"passed":         strconv.FormatBool(rep.ExitCode == 0),
		"status":         string(rep.Status),
		"exit-code":      strconv.Itoa(rep.ExitCode),
		"findings":       strconv.Itoa(len(rep.Findings)),
		"blocked-stages": strings.Join(blocked, ","),
		"error-stages":   strings.Join(errored, ","),
	}
	for _, s := range findings.Severities() {
		out[s.String()] = strconv.Itoa(counts[s.String()])
	}
	return out
}

// Write publishes the report through a: annotations to a's writer, the
// summary appended to GITHUB_STEP_SUMMARY (a.AddStepSummary) and the outputs
// to GITHUB_OUTPUT (a.SetOutput), in sorted key order. Outside GitHub Actions,
// where those variables are unset, the summary and outputs are skipped; when
// GITHUB_ACTIONS is "true" an unset one is an error. Failures to write are
// errors, never panics.
func Write(rep *pipeline.Report, a *githubactions.Action) error {
	if rep == nil || a == nil {
		return errors.New("github: no report or action")
	}
	if err := annotate(rep, a); err != nil {
		return err
	}
	inActions := a.Getenv("GITHUB_ACTIONS") == "true"
	var errs []error
	if a.Getenv("GITHUB_STEP_SUMMARY") != "" {
		errs = append(errs, safely("job summary", func() { a.AddStepSummary(Summary(rep)) }))
	} else if inActions {
		errs = append(errs, errors.New("github: GITHUB_STEP_SUMMARY is not set; no job summary written"))
	}
	if a.Getenv("GITHUB_OUTPUT") != "" {
		outs := Outputs(rep)
		for _, k := range slices.Sorted(maps.Keys(outs)) {
			errs = append(errs, safely("output "+k, func() { a.SetOutput(k, outs[k]) }))
		}
	} else if inActions {
		errs = append(errs, errors.New("github: GITHUB_OUTPUT is not set; no outputs written"))
	}
	return errors.Join(errs...)
}

func safely(what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("github: %s: %v", what, r)
		}
	}()
	f()
	return nil
}
