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
	"iter"
	"maps"
	"net/url"
	"regexp"
	"slices"
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
	// Target is the part of the source the run covered (a Go module's
	// folder) when the tool ran once per part; "" or "." for the source.
	Target string
	// Covers are the coverage targets the run scanned ("kind path"), for
	// the run's properties.
	Covers   []string
	Findings []findings.Finding
}

// AutomationID is the run's automationDetails.id. The trailing slash makes
// the whole string GitHub's category, so each stage/tool pair keeps its own
// set of alerts and a run with no results closes only its own.
func AutomationID(stage, tool string) string {
	return "dagsec/" + stage + "/" + tool + "/"
}

// TargetAutomationID is AutomationID for a run of one target: its folder
// is part of the category, so each module's run keeps its own alerts and
// a module whose run failed (no run) leaves its alerts open. The source's
// root keeps the plain stage/tool category.
func TargetAutomationID(stage, tool, target string) string {
	if target == "" || target == "." {
		return AutomationID(stage, tool)
	}
	return AutomationID(stage, tool) + strings.Trim(target, "/") + "/"
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
//
// Results share what they have alike: in a run, the results of one severity
// share one properties map, and results point to shared strings (rule id,
// level). Copy a result's properties (maps.Clone) before changing them.
func Merge(runs []ToolRun) (*sarif.Report, error) {
	report, err := sarif.New(sarif.Version210)
	if err != nil {
		return nil, err
	}
	for run, err := range Runs(slices.Values(runs)) {
		if err != nil {
			return nil, err
		}
		report.AddRun(run)
	}
	return report, nil
}

// Runs builds the runs Merge puts in its log, one at a time as they are
// asked for: a caller that encodes each before taking the next never holds
// the whole log (see EncodeRuns and SplitRunsForGitHub). It stops at the
// first error.
func Runs(trs iter.Seq[ToolRun]) iter.Seq2[*sarif.Run, error] {
	return func(yield func(*sarif.Run, error) bool) {
		seen := map[string]int{}
		i := 0
		for tr := range trs {
			run, err := checkedRun(tr, i, seen)
			if !yield(run, err) || err != nil {
				return
			}
			i++
		}
	}
}

// checkedRun builds run i after checking its stage, tool and id.
func checkedRun(tr ToolRun, i int, seen map[string]int) (*sarif.Run, error) {
	if tr.Stage == "" || tr.Tool == "" {
		return nil, fmt.Errorf("sarif run %d: stage and tool must be set (stage %q, tool %q)", i, tr.Stage, tr.Tool)
	}
	id := TargetAutomationID(tr.Stage, tr.Tool, tr.Target)
	if j, dup := seen[id]; dup {
		return nil, fmt.Errorf("sarif runs %d and %d share the automation id %q: GitHub needs a unique one per run", j, i, id)
	}
	seen[id] = i
	run, err := buildRun(tr)
	if err != nil {
		return nil, fmt.Errorf("sarif run %d (%s/%s): %w", i, tr.Stage, tr.Tool, err)
	}
	return run, nil
}

// Marshal is Merge followed by Encode.
func Marshal(runs []ToolRun) ([]byte, error) {
	report, err := Merge(runs)
	if err != nil {
		return nil, err
	}
	return Encode(report)
}

// IndentLimit is the size of compact JSON above which Encode does not
// indent. Indenting takes about as long as encoding and makes a log about
// twice as large; a log that large is read by programs, not people.
const IndentLimit = 10 << 20

// Encode writes a SARIF log as JSON with a trailing newline, indented by two
// spaces unless its compact form is over IndentLimit bytes.
func Encode(report *sarif.Report) ([]byte, error) {
	compact, err := newCompactEncoder().encode(report)
	if err != nil {
		return nil, err
	}
	return finish(compact)
}

// compactEncoder writes values as compact JSON with a trailing newline, as
// a json.Encoder does, through one buffer that grows to the largest value
// once. Messages quote code: "<" and "&" stay readable.
type compactEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newCompactEncoder() *compactEncoder {
	e := &compactEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// encode returns v's JSON, which holds until the next call.
func (e *compactEncoder) encode(v any) ([]byte, error) {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, fmt.Errorf("sarif: %w", err)
	}
	return e.buf.Bytes(), nil
}

// finish is Encode's output for a log's compact JSON (trailing newline
// included): the same bytes above IndentLimit, else indented by two spaces,
// byte for byte what an Encoder with SetIndent writes.
func finish(compact []byte) ([]byte, error) {
	if len(compact) > IndentLimit {
		return compact, nil
	}
	var out bytes.Buffer
	out.Grow(len(compact) * 2)
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("sarif: %w", err)
	}
	return out.Bytes(), nil
}

// ruleInfo collects, per rule, what its findings say, in first-seen order.
type ruleInfo struct {
	id, name, help string
	max            findings.Severity
	tags           []string
	// doc explains the rule: the first Rule a finding carries, else the
	// fallback for the first finding's severity (findings.FallbackRule).
	doc   *findings.Rule
	first int
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
	run.WithAutomationDetails(sarif.NewRunAutomationDetails().WithID(TargetAutomationID(tr.Stage, tr.Tool, tr.Target)))
	if len(tr.Covers) > 0 {
		run.Properties = sarif.Properties{"covers": tr.Covers}
	}

	var levels [findings.SeverityCritical + 1]string
	var sevNames, secSevs [findings.SeverityCritical + 1]any
	for _, s := range findings.Severities() {
		levels[s], sevNames[s], secSevs[s] = Level(s), s.String(), s.SecuritySeverity()
	}

	index := map[string]int{}
	var infos []ruleInfo
	ruleOf := make([]int, len(fs))
	for j := range fs {
		f := &fs[j]
		i, ok := index[f.RuleID]
		if !ok {
			i = len(infos)
			index[f.RuleID] = i
			infos = append(infos, ruleInfo{id: f.RuleID, tags: []string{"security", tr.Stage}, first: j})
		}
		ruleOf[j] = i
		ri := &infos[i]
		if ri.name == "" {
			ri.name = f.RuleName
		}
		// helpUri must be a URI: a tool's broken link is left out.
		if ri.help == "" && findings.IsWebURL(f.HelpURI) {
			ri.help = f.HelpURI
		}
		if ri.doc == nil && f.Rule != nil && f.Rule.Description != "" && f.Rule.Help != "" {
			ri.doc = f.Rule
		}
		ri.max = max(ri.max, f.Severity)
		ri.tags = appendUnique(ri.tags, f.Tags...)
	}
	// Rules their tool explains nothing of share one fallback per severity.
	var fallback [findings.SeverityCritical + 1]*findings.Rule
	for i := range infos {
		if ri := &infos[i]; ri.doc == nil {
			sev := fs[ri.first].Severity
			if fallback[sev] == nil {
				fallback[sev] = findings.FallbackRule(tr.Tool, tr.Stage, sev)
			}
			ri.doc = fallback[sev]
		}
	}

	// Rules are set directly rather than through driver.AddRule or
	// run.AddRule so the index we hand out is by construction the position
	// in this driver's rules. A run may hold tens of thousands of rules (one
	// per advisory) and of results: their parts are allocated a run at a
	// time, and what results have alike is one value (see Merge).
	rules := make([]sarif.ReportingDescriptor, len(infos))
	// Per rule: its short description; its full description and help,
	// made once per explanation (the fallback serves many rules).
	descs := make([]sarif.MultiformatMessageString, len(infos))
	type ruleTexts struct {
		full, help *sarif.MultiformatMessageString
	}
	byDoc := make(map[*findings.Rule]ruleTexts, len(infos))
	configs := make([]sarif.ReportingConfiguration, len(infos))
	texts := make([]string, 3*len(infos))
	driver.Rules = make([]*sarif.ReportingDescriptor, len(infos))
	for i := range infos {
		ri, rule := &infos[i], &rules[i]
		rule.ID = ri.id
		desc, name, help := &texts[3*i], &texts[3*i+1], &texts[3*i+2]
		if *desc = ri.name; *desc == "" {
			*desc = ri.id
		}
		descs[i].Text = desc
		rule.ShortDescription = &descs[i]
		// Code scanning shows fullDescription and help on every alert
		// ("SARIF support for code scanning" requires both).
		t, ok := byDoc[ri.doc]
		if !ok {
			t = ruleTexts{&sarif.MultiformatMessageString{Text: &ri.doc.Description}, &sarif.MultiformatMessageString{Text: &ri.doc.Help}}
			if ri.doc.HelpMarkdown != "" {
				t.help.Markdown = &ri.doc.HelpMarkdown
			}
			byDoc[ri.doc] = t
		}
		rule.FullDescription, rule.Help = t.full, t.help
		if ri.name != "" && ri.name != ri.id {
			*name = ri.name
			rule.Name = name
		}
		if ri.help != "" {
			*help = ri.help
			rule.HelpURI = help
		}
		configs[i].Level = levels[ri.max]
		rule.DefaultConfiguration = &configs[i]
		// ReportingDescriptor has its own Properties field shadowing the
		// embedded PropertyBag: rule.Add would write to the hidden (nil) map.
		rule.Properties = sarif.Properties{
			SecuritySeverityKey: secSevs[ri.max],
			"tags":              ri.tags,
		}
		driver.Rules[i] = rule
	}
	ruleIDs, ruleIdx := make([]string, len(infos)), make([]uint, len(infos))
	for i, ri := range infos {
		ruleIDs[i], ruleIdx[i] = ri.id, uint(i)
	}
	nloc, nregion := 0, 0
	for i := range fs {
		if fs[i].Location.Path != "" {
			nloc++
			if fs[i].Location.Line > 0 {
				nregion++
			}
		}
	}
	results := make([]sarif.Result, len(fs))
	messages := make([]string, len(fs))
	locs := make([]sarif.Location, nloc)
	locPtrs := make([]*sarif.Location, nloc)
	phys := make([]sarif.PhysicalLocation, nloc)
	arts := make([]sarif.ArtifactLocation, nloc)
	uris := make([]string, nloc)
	regions := make([]sarif.Region, nregion)
	nums := make([]int, 0, 4*nregion+1)
	num := func(v int) *int {
		nums = append(nums, v) // within capacity: earlier pointers stay valid
		return &nums[len(nums)-1]
	}
	srcRoot := SrcRoot
	// The results of one severity share one properties map (see Merge).
	var props [findings.SeverityCritical + 1]sarif.Properties
	nextLoc, nextRegion := 0, 0
	// Code scanning anchors an alert at its region: the findings the
	// stages could not place on a line share one at the file's first.
	firstLine := &sarif.Region{StartLine: num(1)}
	run.Results = make([]*sarif.Result, len(fs))
	for i := range fs {
		f := &fs[i]
		ri := ruleOf[i]
		messages[i] = f.Text()
		// Set field by field, not through run.AddResult, which looks the
		// index up itself and turns a miss (-1) into uint max.
		res := &results[i]
		res.RuleID, res.RuleIndex = &ruleIDs[ri], &ruleIdx[ri]
		res.Level = &levels[f.Severity]
		res.Message.Text = &messages[i]
		res.PartialFingerprints = map[string]interface{}{FingerprintKey: f.Fingerprint}
		if props[f.Severity] == nil {
			props[f.Severity] = sarif.Properties{SeverityKey: sevNames[f.Severity], SecuritySeverityKey: secSevs[f.Severity]}
		}
		res.Properties = props[f.Severity]
		if l := f.Location; l.Path != "" {
			n := nextLoc
			nextLoc++
			uris[n] = pathURI(l.Path)
			arts[n] = sarif.ArtifactLocation{URI: &uris[n], URIBaseId: &srcRoot}
			phys[n].ArtifactLocation = &arts[n]
			phys[n].Region = firstLine
			if l.Line > 0 {
				r := &regions[nextRegion]
				nextRegion++
				r.StartLine = num(l.Line)
				if l.EndLine >= l.Line {
					r.EndLine = num(l.EndLine)
				}
				if l.Column > 0 {
					r.StartColumn = num(l.Column)
				}
				// An end column before the start on the same line is a broken region.
				if l.EndColumn > 0 && (l.EndLine > l.Line || l.EndColumn >= l.Column) {
					r.EndColumn = num(l.EndColumn)
				}
				phys[n].Region = r
			}
			locs[n].PhysicalLocation = &phys[n]
			locPtrs[n] = &locs[n]
			res.Locations = locPtrs[n : n+1 : n+1]
		}
		if q := f.Location.Request; q != nil {
			addRequest(res, q)
		}
		run.Results[i] = res
	}
	return run, nil
}

// addRequest records the web request of a DAST finding: in the result's
// properties ("request": method, path, param), and as a logical location
// (kind "resource") beside its physical one. A URL is never an artifact
// location, and a location with only a logical part would make code
// scanning refuse the whole file ("expected a physical location").
func addRequest(res *sarif.Result, q *findings.Request) {
	req := map[string]string{"path": q.Path}
	if q.Method != "" {
		req["method"] = q.Method
	}
	if q.Param != "" {
		req["param"] = q.Param
	}
	// Results share a properties map (see Merge): this one gets its own.
	res.Properties = maps.Clone(res.Properties)
	res.Properties["request"] = req
	if len(res.Locations) == 0 {
		return
	}
	name := strings.TrimSpace(q.Method + " " + q.Path)
	kind := "resource"
	loc := *res.Locations[0]
	loc.LogicalLocations = []*sarif.LogicalLocation{{Name: &q.Path, FullyQualifiedName: &name, Kind: &kind}}
	res.Locations = []*sarif.Location{&loc}
}

// checkedFindings validates the run's findings against its stage and tool and
// returns them with every fingerprint set: a copy when anything had to be
// set; the caller's slice is never changed.
func checkedFindings(tr ToolRun) ([]findings.Finding, error) {
	// Findings already of this stage and tool and fingerprinted (what the
	// pipeline passes) are used as they are, without a copy.
	complete := true
	for i := range tr.Findings {
		f := &tr.Findings[i]
		if f.Stage != tr.Stage || f.Tool != tr.Tool || f.Fingerprint == "" || f.RuleID == "" || !f.Severity.Valid() {
			complete = false
			break
		}
	}
	if complete {
		return tr.Findings, nil
	}
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

// pathURI percent-encodes a relative path. Colons are encoded too (%3A):
// url.URL would keep them, with "./" before a first segment holding one,
// and code scanning takes a URI with a colon for one with a scheme.
func pathURI(p string) string {
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	if plainPath(p) {
		return p // what url.URL gives, without its allocations
	}
	u := (&url.URL{Path: p}).String()
	return strings.ReplaceAll(strings.TrimPrefix(u, "./"), ":", "%3A")
}

// plainPath: p is made of letters, digits, "-", "_", ".", "~" and "/" only,
// which a URL path keeps as they are; without a colon no "./" is needed.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~', c == '/':
		default:
			return false
		}
	}
	return true
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
