package policies

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// Verdict is the gate's judgement of one stage. Blocking indexes the
// findings that block it (empty when it only warns), most severe first.
// Suppressed and Known count the findings the gate left out (see Gates).
type Verdict struct {
	Status     Status
	Reason     string
	Blocking   []int
	Suppressed int
	Known      int
}

// Gates reports whether a gate counts f: a finding a suppression matched
// (Suppressed set) never counts, nor does one the baseline already knew
// (Baseline "known"). Any other finding counts, including one without a
// baseline state in a run that has a baseline: an unknown state fails
// closed.
func Gates(f findings.Finding) bool {
	return f.Suppressed == nil && f.Baseline != findings.BaselineKnown
}

// Evaluate judges one stage's findings and tool errors against its policy.
//
// Only the findings Gates counts are judged: suppressed findings and,
// when the run was compared with a baseline, the ones it already knew are
// left out, so with a baseline only new findings block. Tool errors make
// the stage StatusError, or only warn when per_tool.TOOL.on_error: warn
// names every tool that failed; even then, findings from the tools that did
// run still block. Without tool errors,
// findings at or above BlockOn block (warn with WarnOnly), findings below
// it warn, and no findings pass. A zero StagePolicy is the strictest one:
// an invalid BlockOn counts as info, an unset OnToolError as block, and a
// finding with an invalid severity counts as blocking.
//
// Reasons hold counts and tool error summaries, never finding messages, which
// can quote secrets. When any finding has a baseline state the counted ones
// are "new"; findings left out are counted after a semicolon:
//
//	2 new findings at or above high (1 critical, 1 high), 1 below; 5 known, 1 suppressed
//	any finding blocks (policy: block_on info): 2 findings (1 critical, 1 low)
//	no findings; 1 suppressed
func Evaluate(stage string, sp StagePolicy, fs []findings.Finding, toolErrs []error) Verdict {
	threshold := sp.BlockOn
	if !threshold.Valid() {
		threshold = findings.SeverityInfo
	}
	var v Verdict
	noun := "finding"
	// Counted, never copied: a run may hold 100,000 findings.
	var at, below severityCounts
	for i := range fs {
		f := &fs[i]
		if f.Baseline != "" {
			noun = "new finding"
		}
		switch classify(f, threshold) {
		case gateSuppressed:
			v.Suppressed++
		case gateKnown:
			v.Known++
		case gateAt:
			at.add(f.Severity)
		case gateBelow:
			below.add(f.Severity)
		}
	}

	atText := at.text(noun, "at or above "+threshold.String())
	if threshold == findings.SeverityInfo {
		// Every severity is at or above info: name the rule, not the band.
		atText = at.text(noun, "")
	}
	belowText := below.text(noun, "below "+threshold.String())
	switch {
	case at.total > 0 && !sp.WarnOnly && threshold == findings.SeverityInfo:
		v.Status, v.Reason = StatusBlocked, "any "+noun+" blocks (policy: block_on info): "+atText
		v.Blocking = at.indexes(fs, threshold)
	case at.total > 0 && !sp.WarnOnly:
		v.Status, v.Reason = StatusBlocked, atText
		if below.total > 0 {
			v.Reason += fmt.Sprintf(", %d below", below.total)
		}
		v.Blocking = at.indexes(fs, threshold)
	case at.total > 0:
		v.Status, v.Reason = StatusWarned, "warn only: "+atText
		if below.total > 0 {
			v.Reason += fmt.Sprintf(", %d below", below.total)
		}
	case below.total > 0:
		v.Status, v.Reason = StatusWarned, belowText
	default:
		v.Status, v.Reason = StatusPassed, "no "+noun+"s"
	}
	var left []string
	if v.Known > 0 {
		left = append(left, fmt.Sprintf("%d known", v.Known))
	}
	if v.Suppressed > 0 {
		left = append(left, fmt.Sprintf("%d suppressed", v.Suppressed))
	}
	if len(left) > 0 {
		v.Reason += "; " + strings.Join(left, ", ")
	}

	if len(toolErrs) == 0 {
		return v
	}
	blocking, allowed := splitToolErrors(sp, toolErrs)
	if len(blocking) > 0 {
		v.Reason = joinReason(toolErrorText(blocking), v.Reason, len(fs) > 0)
		v.Status = StatusError
		return v
	}
	errText := toolErrorText(allowed) + " (allowed by " + allowedBy(sp, allowed) + ")"
	if v.Status == StatusBlocked {
		v.Reason += "; " + errText
	} else {
		v.Reason = joinReason(errText, v.Reason, len(fs) > 0)
		v.Status = StatusWarned
	}
	return v
}

// gateClass is where a finding stands before a gate.
type gateClass int

const (
	gateSuppressed gateClass = iota // a suppression matched it
	gateKnown                       // the baseline knew it
	gateAt                          // at or above the threshold (or no valid severity)
	gateBelow
)

// BlocksAt says whether f counts toward a gate that blocks at threshold,
// as Evaluate judges it: not suppressed, not known to a baseline, and at
// or above threshold (a finding of no valid severity always).
func BlocksAt(f *findings.Finding, threshold findings.Severity) bool {
	return classify(f, threshold) == gateAt
}

func classify(f *findings.Finding, threshold findings.Severity) gateClass {
	switch {
	case f.Suppressed != nil:
		return gateSuppressed
	case !Gates(*f):
		return gateKnown
	case !f.Severity.Valid() || f.Severity >= threshold:
		return gateAt
	}
	return gateBelow
}

// allowedBy names the per_tool settings that allowed errs.
func allowedBy(sp StagePolicy, errs []error) string {
	var out []string
	for _, err := range errs {
		var te *ToolError
		if errors.As(err, &te) {
			if s := sp.AllowedToolError(te.Tool); s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return strings.Join(out, ", ")
}

func joinReason(first, rest string, withRest bool) string {
	if withRest {
		return first + "; " + rest
	}
	return first
}

// severityCounts counts findings by severity; invalid severities apart.
type severityCounts struct {
	by             [findings.SeverityCritical + 1]int
	invalid, total int
}

func (c *severityCounts) add(s findings.Severity) {
	c.total++
	if s.Valid() {
		c.by[s]++
	} else {
		c.invalid++
	}
}

// indexes lists the findings of fs c counted at or above threshold, most
// severe first.
func (c *severityCounts) indexes(fs []findings.Finding, threshold findings.Severity) []int {
	out := make([]int, 0, c.total)
	for i := range fs {
		if classify(&fs[i], threshold) == gateAt {
			out = append(out, i)
		}
	}
	findings.SortIndexes(fs, out)
	return out
}

// text is "2 findings at or above high (1 critical, 1 high)"; noun is
// "finding" or "new finding"; what may be empty.
func (c *severityCounts) text(noun, what string) string {
	if c.total == 0 {
		return ""
	}
	if what != "" {
		what = " " + what
	}
	var parts []string
	for _, s := range findings.Severities() {
		if n := c.by[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if c.invalid > 0 {
		parts = append(parts, fmt.Sprintf("%d without a valid severity", c.invalid))
	}
	return fmt.Sprintf("%s%s (%s)", plural(c.total, noun), what, strings.Join(parts, ", "))
}

// maxErrText keeps one tool's error (which may carry its stderr) to a line.
const maxErrText = 200

func toolErrorText(errs []error) string {
	var msgs []string
	for _, err := range errs {
		msg := "unknown error"
		if err != nil {
			msg = err.Error()
		}
		msg, _, cut := strings.Cut(strings.TrimSpace(msg), "\n")
		if r := []rune(msg); len(r) > maxErrText {
			msg, cut = string(r[:maxErrText]), true
		}
		if cut {
			msg += " ..."
		}
		msgs = append(msgs, msg)
	}
	return plural(len(errs), "tool error") + ": " + strings.Join(msgs, "; ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
