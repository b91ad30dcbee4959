package policies

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// Severity overrides: a stage's `severity:` maps a rule id, or "tool/rule"
// for one tool's rule, to the severity its findings get, before suppressions
// and the gate look at them:
//
//	stages:
//	  sast:
//	    severity:
//	      G104: low
//	      semgrep/python.lang.security.audit.eval: critical
//
// The severities tools report are mapped by the parsers in package stages
// (docs/severity.md has the same table):
//
//	tool         stages                     tool's level                      dagsec
//	gosec        sast                       HIGH, MEDIUM, LOW                 high, medium, low (confidence is only a tag)
//	                                        gosec-load-error (code not built) low
//	bandit       sast                       HIGH, MEDIUM, LOW                 high, medium, low (confidence is only a tag)
//	                                        UNDEFINED                         low
//	                                        bandit-parse-error                low
//	semgrep      sast                       security-severity score (CVSS)    by the CVSS bands below (SARIF: 0.1 is info)
//	                                        security-severity word            CRITICAL critical, HIGH high, MEDIUM or MODERATE
//	                                                                          medium, LOW low, INFO or INFORMATIONAL info
//	                                        else rule severity (SARIF level)  ERROR (error) high, WARNING (warning) medium,
//	                                                                          INFO (note) low, none info
//	trivy        iac, dockerfile, sca,      CRITICAL, HIGH, MEDIUM, LOW       critical, high, medium, low
//	             secrets, licenses, image   UNKNOWN                           info
//	                                        licenses: its category's severity the same words
//	grype        image                      Critical, High, Medium, Low       critical, high, medium, low
//	                                        Negligible                        info
//	                                        Unknown or none                   highest of the related vulnerabilities, else info
//	govulncheck  sca                        (the Go database has none)        vulnerable code called: high;
//	                                                                          only imported or required: unreachable_severity
//	                                                                          (default low, strict medium);
//	                                                                          scan not at symbol level: high
//	osv-scanner  sca                        max_severity (CVSS base score)    by the CVSS bands below
//	                                        else GitHub advisory severity     CRITICAL, HIGH, MODERATE or MEDIUM, LOW
//	                                        else nothing (Go entries)         medium
//	checkov      iac                        CRITICAL                          critical
//	                                        HIGH, IMPORTANT                   high
//	                                        MEDIUM, MODERATE                  medium
//	                                        LOW                               low
//	                                        INFO, NONE                        info
//	                                        null (no platform API key)        high
//	hadolint     dockerfile                 error, warning, info, style       high, medium, low, info
//	tfsec        iac                        CRITICAL, HIGH, MEDIUM, LOW       critical, high, medium, low
//	                                        "" (custom checks)                info
//	zap          dast                       riskcode 3, 2, 1, 0               high, medium, low, info (confidence 0: dropped)
//	wapiti       dast                       level 4, 3, 2, 1, 0               critical, high, medium, low, info
//	                                        HTTP 500 provoked by a payload    high
//	                                        additionals                       info
//	gitleaks     secrets, build             every leak                        critical
//	syft         licenses                   license-denied                    high
//	                                        license-not-allowed               medium
//	                                        license-unknown                   low; high with unknown_license: block
//	dagsec       dockerfile                 DAGSEC-DF001 runs as root         high
//	                                        DAGSEC-DF002 latest tag           medium
//	                                        DAGSEC-DF003 no digest            low
//	                                        DAGSEC-DF004 no HEALTHCHECK       low
//	dagsec       build                      DAGSEC-IMG001 runs as root        high
//	                                        DAGSEC-IMG002 base too old        medium
//	                                        DAGSEC-IMG003 base date unknown   low
//
// CVSS bands (osv-scanner's max_severity, a SARIF security-severity):
// 9.0-10.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low, 0 info.
// sarifio (semgrep, imported SARIF) counts a score of exactly 0.1 as info.
// dagsec's own SARIF writes 9.5, 8.0, 5.5, 2.0 and 0.0 for the five
// severities (findings.Severity.SecuritySeverity).

// TagSeverityOverridden marks a finding whose severity a policy changed;
// a second tag, "original-severity:LEVEL", keeps the tool's.
const TagSeverityOverridden = "severity-overridden"

// originalSeverityTag prefixes the tag that keeps the tool's severity.
const originalSeverityTag = "original-severity:"

// OverrideSeverity returns a copy of fs with the stage's severity overrides
// applied: a "tool/rule" key wins over a bare rule id. A changed finding
// gets the tags TagSeverityOverridden and "original-severity:LEVEL"; one
// already at the override's severity is left as it is, so applying twice
// changes nothing. The input is not modified; without overrides it is
// returned as it is.
func (sp StagePolicy) OverrideSeverity(fs []findings.Finding) []findings.Finding {
	if fs == nil || len(sp.Severity) == 0 {
		return fs
	}
	out := make([]findings.Finding, len(fs))
	for i, f := range fs {
		if sev, ok := sp.severityFor(f); ok && sev != f.Severity {
			f.Tags = append(slices.Clone(f.Tags), TagSeverityOverridden, originalSeverityTag+f.Severity.String())
			f.Severity = sev
		}
		out[i] = f
	}
	return out
}

// severityFor finds the override for f; an invalid one (only possible in a
// hand-built policy) is ignored.
func (sp StagePolicy) severityFor(f findings.Finding) (findings.Severity, bool) {
	for _, key := range []string{f.Tool + "/" + f.RuleID, f.RuleID} {
		if sev, ok := sp.Severity[key]; ok && sev.Valid() {
			return sev, true
		}
	}
	return 0, false
}

// allTools lists every tool of every stage, in stage order, once each.
func allTools() []string {
	var out []string
	for _, d := range stages.All() {
		for _, t := range d.Tools {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// checkOverrideKey validates a severity key of stage: a rule id, or
// "tool/rule" where tool is one of the stage's tools. A key whose part
// before the first "/" is no tool at all is a rule id with a slash in it.
func checkOverrideKey(stage, key string) string {
	switch {
	case key == "":
		return "empty rule id"
	case strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Sprintf("rule id %s contains a space or control character", quote(key))
	}
	tool, rule, ok := strings.Cut(key, "/")
	if !ok || !slices.Contains(allTools(), tool) {
		return ""
	}
	if err := stages.CheckTools(stage, []string{tool}); err != nil {
		return fmt.Sprintf("%s: %v", quote(key), err)
	}
	if rule == "" {
		return fmt.Sprintf("%s names no rule after the tool", quote(key))
	}
	return ""
}

// severityOverrides reads a stage's severity mapping; an empty mapping
// clears the base's overrides.
func (p *parser) severityOverrides(stage string, v *yaml.Node, at string) *map[string]findings.Severity {
	m := p.mappingOf(v, at, "a mapping of rule ids (or tool/rule) to severities, such as {G104: low}")
	if m == nil {
		return nil
	}
	n := len(p.errs)
	out := map[string]findings.Severity{}
	p.mapping(m, "in "+at, nil, "", func(key string, k, v *yaml.Node) bool {
		if k.ShortTag() == "!!null" {
			key = ""
		}
		if msg := checkOverrideKey(stage, key); msg != "" {
			p.errorf(k, "%s: %s", at, msg)
			return true
		}
		if sev := p.severity(v, at+"."+key); sev != nil {
			out[key] = *sev
		}
		return true
	})
	if len(p.errs) > n {
		return nil
	}
	return &out
}

// marshalSeverity writes overrides sorted by key.
func marshalSeverity(m map[string]findings.Severity) (*yaml.Node, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := mapNode()
	for _, k := range keys {
		if !m[k].Valid() {
			return nil, fmt.Errorf("severity override %s has an invalid severity (%s)", quote(k), m[k])
		}
		addPair(out, k, strNode(m[k].String()))
	}
	return out, nil
}
