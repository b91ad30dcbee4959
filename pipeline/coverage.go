package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// Coverage is what a code stage's detection found to scan and how much of
// it some tool scanned: a stage that covered none of its targets is
// skipped, one that covered some warns, never passes.
type Coverage struct {
	Targets    int               `json:"targets"`
	Covered    int               `json:"covered"`
	NotCovered []UncoveredTarget `json:"not_covered"`
	// kinds names the targets in the plural for messages (targetsNoun).
	kinds string
}

// UncoveredTarget is a target no tool scanned, and why.
type UncoveredTarget struct {
	stages.CoverageTarget
	Reason string `json:"reason"`
}

// Partial says whether some target, but not all, was scanned.
func (c *Coverage) Partial() bool { return c != nil && c.Covered > 0 && c.Covered < c.Targets }

// Nothing says whether the stage found nothing to scan.
func (c *Coverage) Nothing() bool { return c != nil && c.Targets == 0 }

// nothingToScanReason completes "nothing to scan: " per stage.
var nothingToScanReason = map[string]string{
	stages.Secrets:    "the source has no files",
	stages.SAST:       "no Go module with a package, no Python or other code",
	stages.SCA:        "no dependency manifest or lockfile",
	stages.Licenses:   "no dependency manifest or lockfile",
	stages.IaC:        "no Terraform, Kubernetes, Helm or CloudFormation files",
	stages.Dockerfile: "no Dockerfile",
	stages.API:        "no OpenAPI 2 or 3 definition (--openapi FILE names one)",
}

// nothingToScan is a plan's skip when its stage found nothing to scan.
func nothingToScan(p stages.Plan) string {
	if p.Skipped != "" {
		return p.Skipped
	}
	return "nothing to scan"
}

// coverage accounts for every target: covered when a plan that ran to the
// end (ran) scans it, else not covered, with the reasons of the plans that
// would have (their skip or error), or that no tool here scans it.
func coverage(targets []stages.CoverageTarget, plans []stages.Plan, ran []bool) *Coverage {
	c := &Coverage{Targets: len(targets), NotCovered: []UncoveredTarget{}, kinds: targetsNoun(targets)}
	covered := map[stages.CoverageTarget]bool{}
	why := map[stages.CoverageTarget][]string{}
	for i, p := range plans {
		for _, t := range p.Covers(targets) {
			switch {
			case ran[i]:
				covered[t] = true
			case p.Skipped != "":
				why[t] = appendOnce(why[t], p.ToolName()+": "+p.Skipped)
			default:
				why[t] = appendOnce(why[t], p.ToolName()+" failed")
			}
		}
	}
	for _, t := range targets {
		if covered[t] {
			c.Covered++
			continue
		}
		reason := strings.Join(why[t], "; ")
		if reason == "" {
			reason = "no tool of the stage scans it"
		}
		c.NotCovered = append(c.NotCovered, UncoveredTarget{t, reason})
	}
	return c
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// coveredPaths are a tool run's covered targets as "kind path".
func coveredPaths(ts []stages.CoverageTarget) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.String())
	}
	return out
}

// judgeCoverage adjusts a stage's verdict for its coverage: covering none
// of its targets without a tool error is skipped ("scanned nothing"), some
// of them is never a pass (warned); the reason names what was not covered.
func judgeCoverage(res NodeResult, c *Coverage, toolErrors bool) NodeResult {
	switch {
	case c == nil || c.Targets == 0 || c.Covered == c.Targets:
		return res
	case c.Covered == 0 && !toolErrors:
		return NodeResult{Status: policies.StatusSkipped, Reason: "scanned nothing: " + c.uncovered()}
	}
	note := fmt.Sprintf("partial coverage: %d of %d %s scanned (not covered: %s)", c.Covered, c.Targets, c.noun(), c.uncovered())
	if res.Status == policies.StatusPassed {
		return NodeResult{Status: policies.StatusWarned, Reason: note}
	}
	res.Reason += "; " + note
	return res
}

// noun names the targets: their kind when all share one, in the plural.
func (c *Coverage) noun() string {
	if c.kinds == "" {
		return "targets" // read back from a report.json
	}
	return c.kinds
}

// targetsNoun names targets in the plural: by their kind when they share
// one ("Go modules", "IaC targets"), else "targets".
func targetsNoun(targets []stages.CoverageTarget) string {
	kind := ""
	for _, t := range targets {
		if kind != "" && t.Kind != kind {
			return "targets"
		}
		kind = t.Kind
	}
	switch {
	case kind == "":
		return "targets"
	case strings.HasSuffix(kind, "code"), strings.HasSuffix(kind, "history"), strings.HasSuffix(kind, "tree"), kind == stages.TargetIaC:
		return kind + " targets"
	}
	return kind + "s"
}

// uncovered lists the targets not covered with why, at most five.
func (c *Coverage) uncovered() string {
	var parts []string
	for i, u := range c.NotCovered {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(c.NotCovered)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", u.Path, u.Reason))
	}
	return strings.Join(parts, ", ")
}
