// Package sarifio writes the pipeline's findings as one SARIF 2.1.0 log for
// GitHub code scanning and reads third-party SARIF reports back into findings.
// All SARIF types come from github.com/owenrumney/go-sarif/v2; the helpers
// here only work around the places where that library's defaults produce
// schema-invalid output or panic.
package sarifio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/dagsec/dagsec/findings"
	"github.com/owenrumney/go-sarif/v2/sarif"
)

const (
	// FingerprintKey names our fingerprint in result.partialFingerprints;
	// the version suffix lets the hash change without colliding with old alerts.
	FingerprintKey = "dagsecFingerprint/v1"
	// SrcRoot is the uriBaseId of every location: paths are relative to the
	// scanned source, which is what GitHub resolves against the checkout.
	SrcRoot = "%SRCROOT%"
	// SecuritySeverityKey is the property GitHub reads a rule's severity from.
	SecuritySeverityKey = "security-severity"
	// SeverityKey holds our severity name on each result.
	SeverityKey = "severity"
)

// ToolRun is one tool's results in one stage.
type ToolRun struct {
	Stage, Tool, Version, InformationURI string
	Findings                             []findings.Finding
}

// AutomationID is the run's automationDetails.id. The trailing slash makes
// the whole string GitHub's category, so each stage/tool pair keeps its own
// set of alerts and a run with no results closes only its own.
func AutomationID(stage, tool string) string {
	return "dagsec/" + stage + "/" + tool + "/"
}

// Level maps a severity to a SARIF result level.
func Level(s findings.Severity) string {
	switch s {
	case findings.SeverityCritical, findings.SeverityHigh:
		return "error"
	case findings.SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// Merge builds one SARIF 2.1.0 log with one run per ToolRun, in the given
// order. Runs with no findings are kept with "results": [] so GitHub closes
// the alerts an earlier upload opened for that category.
func Merge(runs []ToolRun) (*sarif.Report, error) {
	report, err := sarif.New(sarif.Version210)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for i, tr := range runs {
		if tr.Stage == "" || tr.Tool == "" {
			return nil, fmt.Errorf("sarif run %d: stage and tool must be set (stage %q, tool %q)", i, tr.Stage, tr.Tool)
		}
		id := AutomationID(tr.Stage, tr.Tool)
		if j, dup := seen[id]; dup {
			return nil, fmt.Errorf("sarif runs %d and %d are both stage %q tool %q: GitHub needs a unique automation id per run", j, i, tr.Stage, tr.Tool)
		}
		seen[id] = i
		run, err := buildRun(tr)
		if err != nil {
			return nil, fmt.Errorf("sarif run %d (%s/%s): %w", i, tr.Stage, tr.Tool, err)
		}
		report.AddRun(run)
	}
	return report, nil
}

// Marshal is Merge followed by indented JSON with a trailing newline.
func Marshal(runs []ToolRun) ([]byte, error) {
	report, err := Merge(runs)
	if err != nil {
		return nil, err
	}
	return Encode(report)
}

// Encode writes a SARIF log as indented JSON with a trailing newline.
func Encode(report *sarif.Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Messages quote code; keep "<" and "&" readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(report); err != nil {
		return nil, fmt.Errorf("sarif: %w", err)
	}
	return buf.Bytes(), nil
}

// ruleInfo collects, per rule, what its findings say, in first-seen order.
type ruleInfo struct {
	id, name, help string
	max            findings.Severity
	tags           []string
}

func buildRun(tr ToolRun) (*sarif.Run, error) {
	fs, err := checkedFindings(tr)
	if err != nil {
		return nil, err
	}

	// NewDriver starts Rules as [] (a bare ToolComponent would write "rules": null).
	driver := sarif.NewDriver(tr.Tool)
	if tr.Version != "" {
		driver.WithVersion(tr.Version)
		if v := trimV(tr.Version); semverRE.MatchString(v) {
			driver.WithSemanticVersion(v)
		}
	}
	if tr.InformationURI != "" {
		driver.WithInformationURI(tr.InformationURI)
	}
	// NewRun starts Results as [] so an empty run serializes "results": [].
	run := sarif.NewRun(*sarif.NewTool(driver))
	run.WithAutomationDetails(sarif.NewRunAutomationDetails().WithID(AutomationID(tr.Stage, tr.Tool)))

	index := map[string]int{}
	var infos []*ruleInfo
	for _, f := range fs {
		i, ok := index[f.RuleID]
		if !ok {
			i = len(infos)
			index[f.RuleID] = i
			infos = append(infos, &ruleInfo{id: f.RuleID, tags: []string{"security", tr.Stage}})
		}
		ri := infos[i]
		if ri.name == "" {
			ri.name = f.RuleName
		}
		if ri.help == "" {
			ri.help = f.HelpURI
		}
		ri.max = max(ri.max, f.Severity)
		ri.tags = appendUnique(ri.tags, f.Tags...)
	}

	// Rules are appended directly rather than through driver.AddRule or
	// run.AddRule so the index we hand out is by construction the position
	// in this driver's rules.
	for _, ri := range infos {
		desc := ri.name
		if desc == "" {
			desc = ri.id
		}
		rule := sarif.NewRule(ri.id).WithShortDescription(sarif.NewMultiformatMessageString(desc))
		if ri.name != "" && ri.name != ri.id {
			rule.WithName(ri.name)
		}
		if ri.help != "" {
			rule.WithHelpURI(ri.help)
		}
		rule.WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(Level(ri.max)))
		// ReportingDescriptor has its own Properties field shadowing the
		// embedded PropertyBag: rule.Add would write to the hidden (nil) map.
		rule.WithProperties(sarif.Properties{
			SecuritySeverityKey: ri.max.SecuritySeverity(),
			"tags":              ri.tags,
		})
		driver.Rules = append(driver.Rules, rule)
	}

	for _, f := range fs {
		// Not run.AddResult: it looks the index up itself and turns a miss
		// (-1) into uint max.
		res := sarif.NewRuleResult(f.RuleID).
			WithRuleIndex(index[f.RuleID]).
			WithLevel(Level(f.Severity)).
			WithMessage(sarif.NewTextMessage(f.Text())).
			WithPartialFingerPrints(map[string]interface{}{FingerprintKey: f.Fingerprint})
		// The embedded bag's map is nil; Add on it would panic.
		res.Properties = sarif.Properties{
			SeverityKey:         f.Severity.String(),
			SecuritySeverityKey: f.Severity.SecuritySeverity(),
		}
		if loc := location(f.Location); loc != nil {
			res.AddLocation(loc)
		}
		run.Results = append(run.Results, res)
	}
	return run, nil
}

// checkedFindings validates the run's findings against its stage and tool and
// returns a copy with every fingerprint set; the caller's slice is untouched.
func checkedFindings(tr ToolRun) ([]findings.Finding, error) {
	fs := make([]findings.Finding, len(tr.Findings))
	missing := false
	for i, f := range tr.Findings {
		if f.Stage != "" && f.Stage != tr.Stage {
			return nil, fmt.Errorf("finding %d is from stage %q", i, f.Stage)
		}
		if f.Tool != "" && f.Tool != tr.Tool {
			return nil, fmt.Errorf("finding %d is from tool %q", i, f.Tool)
		}
		f.Stage, f.Tool = tr.Stage, tr.Tool
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("finding %d: %w", i, err)
		}
		missing = missing || f.Fingerprint == ""
		fs[i] = f
	}
	if missing {
		// Assign over the whole run so occurrence suffixes count every
		// finding, but keep the fingerprints the caller already set.
		findings.AssignFingerprints(fs)
		for i, f := range tr.Findings {
			if f.Fingerprint != "" {
				fs[i].Fingerprint = f.Fingerprint
			}
		}
	}
	return fs, nil
}

func location(l findings.Location) *sarif.Location {
	if l.Path == "" {
		return nil
	}
	art := sarif.NewSimpleArtifactLocation(pathURI(l.Path)).WithUriBaseId(SrcRoot)
	pl := sarif.NewPhysicalLocation().WithArtifactLocation(art)
	if l.Line > 0 {
		r := sarif.NewRegion().WithStartLine(l.Line)
		if l.EndLine >= l.Line {
			r.WithEndLine(l.EndLine)
		}
		if l.Column > 0 {
			r.WithStartColumn(l.Column)
		}
		// An end column before the start on the same line is a broken region.
		if l.EndColumn > 0 && (l.EndLine > l.Line || l.EndColumn >= l.Column) {
			r.WithEndColumn(l.EndColumn)
		}
		pl.WithRegion(r)
	}
	return sarif.NewLocationWithPhysicalLocation(pl)
}

// pathURI percent-encodes a relative path; url.URL puts "./" back only when
// the first segment holds a colon, so it is not read as a scheme.
func pathURI(p string) string {
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	return (&url.URL{Path: p}).String()
}

func appendUnique(dst []string, add ...string) []string {
	for _, s := range add {
		if s == "" {
			continue
		}
		dup := false
		for _, d := range dst {
			if d == s {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, s)
		}
	}
	return dst
}

func trimV(v string) string {
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') {
		return v[1:]
	}
	return v
}

// semverRE is the SemVer 2.0.0 grammar, which semanticVersion must follow.
var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
