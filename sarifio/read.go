package sarifio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/dagsec/dagsec/findings"
	"github.com/owenrumney/go-sarif/v2/sarif"
)

// ReadFindings turns a tool's SARIF 2.1.0 report into findings for stage.
//
// Severity comes from the result's, else the rule's, "security-severity"
// (>=9 critical, >=7 high, >=4 medium, >0.1 low, else info); without one from
// the level (result, else rule default, else "warning"). Results of kind
// "pass" or "notApplicable" are not problems and are skipped. Identity is the
// message text. Malformed input is an error, never a panic.
func ReadFindings(data []byte, stage string) ([]findings.Finding, error) {
	if stage == "" {
		return nil, fmt.Errorf("SARIF: no stage given")
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("SARIF: empty report")
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("SARIF: not valid JSON: %w", jsonSyntaxError(data))
	}
	report, err := sarif.FromBytes(data)
	if err != nil {
		// go-sarif holds every index as uint, but -1 is SARIF's own "no
		// index" default; retry once without those.
		if fixed, ok := dropUnsetIndexes(data); ok {
			report, err = sarif.FromBytes(fixed)
		}
	}
	if err != nil {
		// Valid JSON of the wrong shape: an array where an object belongs,
		// a string where a number does, an index below -1.
		return nil, fmt.Errorf("SARIF: unexpected structure: %w", err)
	}
	if report.Version == "" || report.Runs == nil {
		return nil, fmt.Errorf("SARIF: not a SARIF log (no version or runs)")
	}
	if report.Version != string(sarif.Version210) && !strings.HasPrefix(report.Version, "2.1.0-rtm.") {
		return nil, fmt.Errorf("SARIF: unsupported version %q (want 2.1.0)", report.Version)
	}
	out := []findings.Finding{}
	for ri, run := range report.Runs {
		fs, err := readRun(run, stage)
		if err != nil {
			return nil, fmt.Errorf("SARIF run %d: %w", ri, err)
		}
		out = append(out, fs...)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

func readRun(run *sarif.Run, stage string) ([]findings.Finding, error) {
	if run == nil {
		return nil, fmt.Errorf("run is null")
	}
	if run.Tool.Driver == nil || strings.TrimSpace(run.Tool.Driver.Name) == "" {
		return nil, fmt.Errorf("no tool.driver.name")
	}
	tool := run.Tool.Driver.Name
	var out []findings.Finding
	docs := map[*sarif.ReportingDescriptor]*findings.Rule{}
	for i, res := range run.Results {
		if res == nil {
			return nil, fmt.Errorf("result %d is null", i)
		}
		if k := deref(res.Kind); k == "pass" || k == "notApplicable" {
			continue
		}
		ruleID, rule, err := resolveRule(run, res)
		if err != nil {
			return nil, fmt.Errorf("result %d: %w", i, err)
		}
		sev, err := severity(res, rule)
		if err != nil {
			return nil, fmt.Errorf("result %d (%s): %w", i, ruleID, err)
		}
		f := findings.Finding{
			Stage:    stage,
			Tool:     tool,
			RuleID:   ruleID,
			RuleName: ruleID,
			Severity: sev,
			Message:  message(res, rule, ruleID),
			Location: firstLocation(run, res),
		}
		if rule != nil {
			if n := deref(rule.Name); n != "" {
				f.RuleName = n
			}
			f.HelpURI = deref(rule.HelpURI)
			f.Tags = appendUnique(f.Tags, stringList(rule.Properties["tags"])...)
			doc, seen := docs[rule]
			if !seen {
				doc = ruleDoc(rule)
				docs[rule] = doc
			}
			f.Rule = doc
		}
		f.Tags = appendUnique(f.Tags, stringList(res.Properties["tags"])...)
		f.Identity = f.Message
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("result %d: %w", i, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// ruleDoc is what a tool's SARIF rule says about itself: its full (else
// short) description, and its help as text and Markdown (a help with only
// Markdown is shown as it is written). nil when it says nothing.
func ruleDoc(rule *sarif.ReportingDescriptor) *findings.Rule {
	text := func(m *sarif.MultiformatMessageString) (string, string) {
		if m == nil {
			return "", ""
		}
		return strings.TrimSpace(deref(m.Text)), strings.TrimSpace(deref(m.Markdown))
	}
	desc, _ := text(rule.FullDescription)
	if desc == "" {
		desc, _ = text(rule.ShortDescription)
	}
	help, md := text(rule.Help)
	if help == "" {
		help = md
	}
	if desc == "" || help == "" {
		d := findings.Doc{Summary: desc, Details: help, Links: []string{deref(rule.HelpURI)}}
		return d.Rule()
	}
	return &findings.Rule{Description: desc, Help: help, HelpMarkdown: md}
}

// resolveRule finds a result's rule id and descriptor. An explicit index must
// point inside the rules it refers to and agree with ruleId: a wrong index is
// the classic broken-SARIF bug and would silently borrow another rule's
// severity.
func resolveRule(run *sarif.Run, res *sarif.Result) (string, *sarif.ReportingDescriptor, error) {
	rules, where, err := ruleSet(run, res.Rule)
	if err != nil {
		return "", nil, err
	}
	id := deref(res.RuleID)
	if id == "" && res.Rule != nil {
		id = deref(res.Rule.Id)
	}
	idx := res.RuleIndex
	if idx == nil && res.Rule != nil {
		idx = res.Rule.Index
	}
	var rule *sarif.ReportingDescriptor
	if idx != nil {
		if *idx >= uint(len(rules)) {
			return "", nil, fmt.Errorf("ruleIndex %d out of range: %s has %d rules", *idx, where, len(rules))
		}
		rule = rules[*idx]
		if rule == nil {
			return "", nil, fmt.Errorf("ruleIndex %d points to a null rule", *idx)
		}
		switch {
		case id == "":
			id = rule.ID
		case !sameRule(id, rule.ID):
			return "", nil, fmt.Errorf("ruleId %q does not match %s rule %d (%q)", id, where, *idx, rule.ID)
		}
	} else if id != "" {
		for _, r := range rules {
			if r != nil && sameRule(id, r.ID) {
				rule = r
				break
			}
		}
	}
	if id == "" {
		return "", nil, fmt.Errorf("no ruleId")
	}
	return id, rule, nil
}

// ruleSet returns the rules a result's rule reference points into: the
// driver's, or an extension's when rule.toolComponent says so.
func ruleSet(run *sarif.Run, ref *sarif.ReportingDescriptorReference) ([]*sarif.ReportingDescriptor, string, error) {
	if ref == nil || ref.ToolComponent == nil {
		return run.Tool.Driver.Rules, "tool.driver", nil
	}
	tc := ref.ToolComponent
	if tc.Index != nil {
		if *tc.Index >= uint(len(run.Tool.Extensions)) || run.Tool.Extensions[*tc.Index] == nil {
			return nil, "", fmt.Errorf("rule.toolComponent.index %d out of range: %d extensions", *tc.Index, len(run.Tool.Extensions))
		}
		return run.Tool.Extensions[*tc.Index].Rules, fmt.Sprintf("tool.extensions[%d]", *tc.Index), nil
	}
	if n := deref(tc.Name); n != "" {
		if n == run.Tool.Driver.Name {
			return run.Tool.Driver.Rules, "tool.driver", nil
		}
		for i, ext := range run.Tool.Extensions {
			if ext != nil && ext.Name == n {
				return ext.Rules, fmt.Sprintf("tool.extensions[%d]", i), nil
			}
		}
		return nil, "", fmt.Errorf("rule.toolComponent %q not found", n)
	}
	return run.Tool.Driver.Rules, "tool.driver", nil
}

// sameRule allows SARIF's hierarchical ruleId "ID/sub" for rule "ID".
func sameRule(ruleID, descriptorID string) bool {
	return ruleID == descriptorID || strings.HasPrefix(ruleID, descriptorID+"/")
}

func severity(res *sarif.Result, rule *sarif.ReportingDescriptor) (findings.Severity, error) {
	if s, ok := securitySeverity(res.Properties); ok {
		return s, nil
	}
	if rule != nil {
		if s, ok := securitySeverity(rule.Properties); ok {
			return s, nil
		}
	}
	level := deref(res.Level)
	if level == "" && rule != nil && rule.DefaultConfiguration != nil {
		level = rule.DefaultConfiguration.Level
	}
	if level == "" {
		// SARIF 3.27.10: absent level is "warning" for a failure, "none"
		// for any other kind.
		level = "warning"
		if k := deref(res.Kind); k != "" && k != "fail" {
			level = "none"
		}
	}
	switch level {
	case "error":
		return findings.SeverityHigh, nil
	case "warning":
		return findings.SeverityMedium, nil
	case "note":
		return findings.SeverityLow, nil
	case "none":
		return findings.SeverityInfo, nil
	}
	return 0, fmt.Errorf("invalid level %q", level)
}

// securitySeverity reads the GitHub score, a string ("8.0") by convention
// but a bare number in some tools. Unparseable values are ignored, as GitHub
// does.
func securitySeverity(p sarif.Properties) (findings.Severity, bool) {
	var score float64
	switch v := p[SecuritySeverityKey].(type) {
	case float64:
		score = v
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, false
		}
		score = f
	default:
		return 0, false
	}
	switch {
	case math.IsNaN(score) || math.IsInf(score, 0):
		return 0, false
	case score >= 9:
		return findings.SeverityCritical, true
	case score >= 7:
		return findings.SeverityHigh, true
	case score >= 4:
		return findings.SeverityMedium, true
	case score > 0.1:
		return findings.SeverityLow, true
	default:
		return findings.SeverityInfo, true
	}
}

func message(res *sarif.Result, rule *sarif.ReportingDescriptor, ruleID string) string {
	if t := strings.TrimSpace(deref(res.Message.Text)); t != "" {
		return t
	}
	if rule != nil {
		// message.id names a template in the rule's messageStrings.
		if id := deref(res.Message.ID); id != "" && rule.MessageStrings != nil {
			if ms, ok := (*rule.MessageStrings)[id]; ok {
				if t := strings.TrimSpace(deref(ms.Text)); t != "" {
					return fillArgs(t, res.Message.Arguments)
				}
			}
		}
		if rule.ShortDescription != nil {
			if t := strings.TrimSpace(deref(rule.ShortDescription.Text)); t != "" {
				return t
			}
		}
	}
	return ruleID
}

func fillArgs(tmpl string, args []string) string {
	for i, a := range args {
		tmpl = strings.ReplaceAll(tmpl, "{"+strconv.Itoa(i)+"}", a)
	}
	return tmpl
}

// firstLocation reads the first location that names a file.
func firstLocation(run *sarif.Run, res *sarif.Result) findings.Location {
	for _, loc := range res.Locations {
		if loc == nil || loc.PhysicalLocation == nil {
			continue
		}
		pl := loc.PhysicalLocation
		p := artifactURI(run, pl.ArtifactLocation)
		if p == "" {
			continue
		}
		l := findings.Location{Path: p}
		if r := pl.Region; r != nil {
			l.Line = positive(r.StartLine)
			l.EndLine = positive(r.EndLine)
			l.Column = positive(r.StartColumn)
			l.EndColumn = positive(r.EndColumn)
		}
		return l
	}
	return findings.Location{}
}

// artifactURI returns the location's path, following artifactLocation.index
// into run.artifacts when the uri itself is absent.
func artifactURI(run *sarif.Run, al *sarif.ArtifactLocation) string {
	if al == nil {
		return ""
	}
	uri := deref(al.URI)
	if uri == "" && al.Index != nil && *al.Index < uint(len(run.Artifacts)) {
		if a := run.Artifacts[*al.Index]; a != nil && a.Location != nil {
			uri = deref(a.Location.URI)
		}
	}
	return cleanPath(uri)
}

// cleanPath turns a SARIF uri into a findings path: no file:// scheme, no
// percent-encoding, forward slashes, no leading "./".
func cleanPath(uri string) string {
	p := strings.TrimPrefix(uri, "file://")
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	p = strings.ReplaceAll(p, "\\", "/")
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	return p
}

func positive(p *int) int {
	if p == nil || *p < 0 {
		return 0
	}
	return *p
}

// PropertyStrings is the strings of a property bag's list value (tags,
// merged fingerprints); anything else in it is skipped.
func PropertyStrings(props sarif.Properties, key string) []string {
	return stringList(props[key])
}

func stringList(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// dropUnsetIndexes removes every "index"/"...Index" member whose value is -1
// (outside property bags) and reports whether it removed any.
func dropUnsetIndexes(data []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		changed := false
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if n, ok := e.(json.Number); ok && n.String() == "-1" && (k == "index" || strings.HasSuffix(k, "Index")) {
					delete(v, k)
					changed = true
					continue
				}
				if k != "properties" && walk(e) {
					changed = true
				}
			}
		case []any:
			for _, e := range v {
				if walk(e) {
					changed = true
				}
			}
		}
		return changed
	}
	if !walk(doc) {
		return nil, false
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, false
	}
	return out, true
}
