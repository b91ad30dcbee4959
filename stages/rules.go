package stages

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dagsec/dagsec/findings"
)

// HardeningRule describes one of dagsec's own rules (docs/rules.md lists
// them all, from OwnRules).
type HardeningRule struct {
	ID    string
	Title string
	// Tool and Stage report the rule's findings.
	Tool, Stage string
	Severity    findings.Severity
	// SeverityNote replaces Severity in the documentation where the
	// policy decides it.
	SeverityNote string
	Help         string // what the rule finds
	Fix          string // how to fix it
	HelpURI      string // further reading outside dagsec
	// SameAs is another tool's check for the same issue, as its AVD id
	// (trivy's DS-0002 for DAGSEC-DF001): a finding of both is one issue,
	// which findings.Dedup merges.
	SameAs string
}

// RulesDocURL is docs/rules.md on dagsec's default branch: each own rule
// links its section there.
const RulesDocURL = "https://github.com/dagsec/dagsec/blob/main/docs/rules.md"

// LicenseRules are the licenses stage's rules, judged by the policy's
// license lists (stages.licenses allow, deny, unknown_license).
var LicenseRules = []HardeningRule{
	{
		ID:       RuleLicenseDenied,
		Title:    "Denied license",
		Tool:     "syft",
		Stage:    Licenses,
		Severity: findings.SeverityHigh,
		Help: "A dependency is licensed under a license the policy denies (stages.licenses.deny; by default " +
			"GPL-2.0, GPL-3.0 and AGPL-3.0 in all their forms), and no alternative of its license expression is " +
			"acceptable.",
		Fix: "Replace the dependency, get it under another license, or, if its use is cleared, suppress the " +
			"finding with a justification (suppressions: package).",
		HelpURI: "https://spdx.org/licenses/",
	},
	{
		ID:       RuleLicenseNotAllowed,
		Title:    "License not on the allow list",
		Tool:     "syft",
		Stage:    Licenses,
		Severity: findings.SeverityMedium,
		Help: "The policy allows only listed licenses (stages.licenses.allow) and a dependency's license is " +
			"known but not among them.",
		Fix:     "Replace the dependency, or add its license to the allow list once it is cleared.",
		HelpURI: "https://spdx.org/licenses/",
	},
	{
		ID:           RuleLicenseUnknown,
		Title:        "Unknown license",
		Tool:         "syft",
		Stage:        Licenses,
		Severity:     findings.SeverityLow,
		SeverityNote: "per stages.licenses.unknown_license: block gives high, warn low, allow no finding",
		Help: "A dependency declares no license, or one that is not an SPDX license id or expression, so the " +
			"policy cannot judge it. Go modules have known licenses only when vendored: syft reads no module " +
			"cache and makes no network lookups.",
		Fix: "Check the dependency's license by hand; vendor Go modules (go mod vendor) so syft can read their " +
			"license files; suppress the finding with the license you found as justification.",
		HelpURI: "https://spdx.org/licenses/",
	},
}

// CoverageRules are the coverage gaps dagsec reports when a scanner could
// not read part of the source: low, so they show without blocking.
var CoverageRules = []HardeningRule{
	{
		ID:       GosecLoadErrorRule,
		Title:    "gosec could not load or type-check code",
		Tool:     "gosec",
		Stage:    SAST,
		Severity: findings.SeverityLow,
		Help: "gosec could not load or type-check a package or file of the module (its \"Golang errors\"), so " +
			"that code was not, or not fully, scanned.",
		Fix: "Make the module build where dagsec runs: its dependencies downloaded (go mod download) or " +
			"reachable through GOPROXY, the build tags and GOFLAGS it needs set, a Go toolchain at least as new " +
			"as its go line.",
		HelpURI: "https://github.com/securego/gosec#available-rules",
	},
	{
		ID:       BanditParseErrorRule,
		Title:    "bandit could not parse a file",
		Tool:     "bandit",
		Stage:    SAST,
		Severity: findings.SeverityLow,
		Help: "bandit could not parse a Python file (a syntax error, or syntax newer than bandit's Python " +
			"understands), so the file was not scanned.",
		Fix:     "Fix the syntax error, or exclude generated and vendored files from the source.",
		HelpURI: "https://bandit.readthedocs.io/en/latest/",
	},
}

// OwnRules are every rule dagsec itself defines, in the order
// docs/rules.md lists them.
func OwnRules() []HardeningRule {
	return slices.Concat(HardeningRules, ImageRules, LicenseRules, CoverageRules)
}

var ownDocs = sync.OnceValue(func() map[string]*findings.Rule {
	m := map[string]*findings.Rule{}
	for _, r := range OwnRules() {
		m[r.ID] = r.doc().Rule()
	}
	return m
})

// OwnRuleDoc is the explanation of one of dagsec's own rules, shared by
// its findings; nil for another id.
func OwnRuleDoc(id string) *findings.Rule { return ownDocs()[id] }

// doc is the rule's explanation: what it finds, the fix, its severity and
// its section in docs/rules.md.
func (r HardeningRule) doc() findings.Doc {
	return findings.Doc{
		Summary: r.Help,
		Fix:     r.Fix,
		Facts:   []findings.Fact{{Label: "Severity", Value: r.severityText()}},
		Links:   []string{RulesDocURL + "#" + strings.ToLower(r.ID), r.HelpURI},
	}
}

func (r HardeningRule) severityText() string {
	if r.SeverityNote != "" {
		return r.Severity.String() + " (" + r.SeverityNote + ")"
	}
	return r.Severity.String()
}

// RulesMarkdown is docs/rules.md: every own rule with its title, tool,
// stage, severity, what it finds and how to fix it. A test keeps the file
// equal to it, so the findings' help and the documentation say the same.
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString("# dagsec's own rules\n\n")
	b.WriteString("The rules dagsec itself defines. Findings of other tools carry their tool's own rule " +
		"descriptions (gosec, bandit, semgrep, trivy, checkov, hadolint, tfsec, gitleaks, govulncheck, " +
		"osv-scanner, grype, ZAP, wapiti); these are the ones dagsec writes. Every finding's SARIF rule " +
		"(`fullDescription`, `help`) is the text below.\n\n")
	b.WriteString("This file is generated from `stages/rules.go` (`go test ./stages -run TestRulesDoc -update`).\n")
	group := ""
	for _, r := range OwnRules() {
		if g := ruleGroup(r); g != group {
			group = g
			fmt.Fprintf(&b, "\n## %s\n", g)
		}
		fmt.Fprintf(&b, "\n### %s\n\n**%s** · tool `%s` · stage `%s` · severity %s\n\n%s\n\n**Fix:** %s\n\nMore: <%s>\n",
			r.ID, r.Title, r.Tool, r.Stage, r.severityText(), r.Help, r.Fix, r.HelpURI)
	}
	return b.String()
}

func ruleGroup(r HardeningRule) string {
	switch {
	case r.Stage == Dockerfile:
		return "Dockerfile hardening"
	case r.Stage == Build:
		return "Built image checks"
	case r.Stage == Licenses:
		return "License policy"
	}
	return "Coverage gaps"
}

// ruleDocs holds one Rule per rule id of one report, so the findings of
// a rule share it.
type ruleDocs map[string]*findings.Rule

// attach gives f its rule's explanation, made by doc the first time.
func (r ruleDocs) attach(f *findings.Finding, doc func() findings.Doc) {
	if _, ok := r[f.RuleID]; !ok {
		r[f.RuleID] = doc().Rule()
	}
	f.Rule = r[f.RuleID]
}
