package stages

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// bandit 1.6.2 (Debian), observed (testdata/SOURCES.md):
//
//   - 0: ran, no issue (also when every file failed to parse, or a target
//     does not exist: those only show in the report's "errors").
//   - 1: ran and found issues. 1 is also what Python exits with on an
//     uncaught exception; such a crash leaves no report or an empty one
//     (argparse creates the -o file before scanning), which the runner and
//     ParseBandit reject, so a crash never passes as findings-only.
//   - 2: bad arguments, unknown profile, unreadable -c config, or a report
//     path it cannot open (argparse errors).
var (
	BanditOKCodes      = []int{0}
	BanditFindingCodes = []int{1}
)

// banditExcludes are substrings: bandit 1.6.2 leaves out every file whose
// path ("./a/b.py") contains one of the -x values (besides glob matches).
// Slashes on both sides keep ".git" from also hiding ".github/".
// The folders match stages.Skipped, so bandit scans what detection saw.
var banditExcludes = []string{"/.git/", "/.venv/", "/node_modules/", "/vendor/", "/testdata/", "./dagsec-report/"}

// BanditArgv is bandit's command line (argv[0] is the tool name): a
// recursive scan of the working folder, JSON report at report. It needs
// nothing from the environment beyond bandit itself (python3); a .bandit
// file in the scanned folder is read as the repository's own settings.
func BanditArgv(report string) []string {
	return []string{"bandit", "-r", ".", "-f", "json", "-o", report,
		"-x", strings.Join(banditExcludes, ",")}
}

// banditReport is bandit's JSON report; pointers tell a missing key from an
// empty value.
type banditReport struct {
	Errors  *[]banditError            `json:"errors"`
	Results *[]banditResult           `json:"results"`
	Metrics *map[string]banditMetrics `json:"metrics"`
}

type banditError struct {
	Filename string `json:"filename"`
	Reason   string `json:"reason"`
}

// banditMetrics is one file's (or "_totals") metrics; only presence matters.
type banditMetrics struct {
	LOC int `json:"loc"`
}

type banditResult struct {
	Code            string `json:"code"`
	Filename        string `json:"filename"`
	IssueConfidence string `json:"issue_confidence"`
	IssueSeverity   string `json:"issue_severity"`
	IssueText       string `json:"issue_text"`
	LineNumber      int    `json:"line_number"`
	LineRange       []int  `json:"line_range"`
	MoreInfo        string `json:"more_info"`
	TestID          string `json:"test_id"`
	TestName        string `json:"test_name"`
	// Newer bandit versions (1.7.3+) add these; 1.6.2 has neither.
	ColOffset *int `json:"col_offset"`
	IssueCWE  *struct {
		ID   cweID  `json:"id"`
		Link string `json:"link"`
	} `json:"issue_cwe"`
}

// ParseBandit reads bandit's JSON report (bandit -r . -f json -o FILE), whose
// file names are relative ("./app.py").
func ParseBandit(report []byte) ([]findings.Finding, error) {
	return ParseBanditIn(report, "")
}

// ParseBanditIn reads bandit's JSON report; root, when bandit was given an
// absolute target, is stripped from the file names.
//
// Severity is bandit's issue_severity (HIGH, MEDIUM, LOW; UNDEFINED, which no
// bundled test uses, counts as low). Confidence does not lower it: the gates
// block on severity, so demoting low-confidence issues would let a real
// issue slip under a block_on threshold — failing open. Confidence is kept
// as a "confidence:..." tag for triage.
//
// Files bandit could not parse ("errors") were not scanned. If no file was
// scanned at all the report is an error: an empty scan must never pass as a
// clean one. Otherwise each becomes one low "bandit-parse-error" finding
// tagged "coverage-gap", naming the file, so the gap shows in every report
// without blocking a deploy on its own.
func ParseBanditIn(report []byte, root string) ([]findings.Finding, error) {
	var r banditReport
	if err := decodeReportObject(report, &r, "bandit report"); err != nil {
		return nil, err
	}
	if r.Results == nil || r.Errors == nil || r.Metrics == nil {
		return nil, fmt.Errorf("bandit report: missing results, errors or metrics (not a bandit JSON report?)")
	}
	results, errs := *r.Results, *r.Errors

	failed := map[string]bool{}
	for _, e := range errs {
		failed[e.Filename] = true
	}
	scanned := 0
	for name := range *r.Metrics {
		if name != "_totals" && !failed[name] {
			scanned++
		}
	}
	if len(errs) > 0 && scanned == 0 && len(results) == 0 {
		var parts []string
		for i, e := range errs {
			if i == 3 {
				parts = append(parts, fmt.Sprintf("%d errors in all", len(errs)))
				break
			}
			parts = append(parts, e.Filename+": "+oneLine(e.Reason))
		}
		return nil, fmt.Errorf("bandit scanned no file: %s", strings.Join(parts, "; "))
	}

	out := make([]findings.Finding, 0, len(results)+len(errs))
	docs := ruleDocs{}
	for i, res := range results {
		f, err := banditFinding(res, root)
		if err != nil {
			return nil, fmt.Errorf("bandit report: result %d: %w", i, err)
		}
		docs.attach(&f, func() findings.Doc { return banditRuleDoc(res) })
		out = append(out, f)
	}
	sorted := append([]banditError(nil), errs...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].Filename < sorted[b].Filename })
	for _, e := range sorted {
		out = append(out, banditParseErrorFinding(e, root))
	}
	findings.AssignFingerprints(out)
	return out, nil
}

func banditFinding(res banditResult, root string) (findings.Finding, error) {
	if res.TestID == "" {
		return findings.Finding{}, fmt.Errorf("no test_id")
	}
	sev := findings.SeverityLow
	if !strings.EqualFold(strings.TrimSpace(res.IssueSeverity), "UNDEFINED") {
		var err error
		if sev, err = severityWord(res.IssueSeverity); err != nil {
			return findings.Finding{}, fmt.Errorf("test %s: %w", res.TestID, err)
		}
	}
	rel, err := scannerRelPath(res.Filename, root)
	if err != nil {
		return findings.Finding{}, fmt.Errorf("test %s: %w", res.TestID, err)
	}
	if res.LineNumber < 0 {
		return findings.Finding{}, fmt.Errorf("test %s: invalid line %d", res.TestID, res.LineNumber)
	}
	loc := findings.Location{Path: rel, Line: res.LineNumber}
	for _, l := range res.LineRange {
		if l > loc.Line && l > loc.EndLine {
			loc.EndLine = l
		}
	}
	if res.ColOffset != nil && *res.ColOffset >= 0 {
		loc.Column = *res.ColOffset + 1 // bandit's offset is 0-based
	}

	name := res.TestName
	if name == "" {
		name = res.TestID
	}
	msg := res.IssueText
	if msg == "" {
		msg = "bandit test " + res.TestID + " (" + name + ")"
	}
	help := res.MoreInfo
	if help == "" {
		help = "https://bandit.readthedocs.io/en/latest/plugins/index.html"
	}
	var tags []string
	if res.IssueCWE != nil {
		if t := res.IssueCWE.ID.tag(); t != "" {
			tags = append(tags, t)
			msg += " (" + t + ")"
		}
	}
	if c := strings.ToLower(strings.TrimSpace(res.IssueConfidence)); c != "" {
		tags = append(tags, "confidence:"+c)
	}
	return findings.Finding{
		Stage:    SAST,
		Tool:     "bandit",
		RuleID:   res.TestID,
		RuleName: name,
		Severity: sev,
		Message:  msg,
		Location: loc,
		HelpURI:  help,
		Tags:     tags,
		// The flagged source line(s) without their numbers: moving the code
		// keeps the fingerprint, changing it makes a new finding.
		Identity: res.TestID + "|" + snippetLines(res.Code, banditCodeLine, loc.Line, loc.EndLine),
	}, nil
}

// banditRuleDoc explains a bandit test with what bandit's report says of
// it: the issue text (bandit writes one per test), the test's name and
// plugin page (more_info), and the weakness where bandit names one.
func banditRuleDoc(res banditResult) findings.Doc {
	d := findings.Doc{
		Summary: res.IssueText,
		Details: fmt.Sprintf("bandit test %s (%s).", res.TestID, res.TestName),
		Links:   []string{res.MoreInfo, "https://bandit.readthedocs.io/en/latest/plugins/index.html"},
	}
	if res.IssueCWE != nil {
		if t := res.IssueCWE.ID.tag(); t != "" {
			d.Facts = append(d.Facts, findings.Fact{Label: "CWE", Value: t})
			d.Links = append(d.Links, res.IssueCWE.Link)
		}
	}
	return d
}

func banditParseErrorFinding(e banditError, root string) findings.Finding {
	f := findings.Finding{
		Stage:    SAST,
		Tool:     "bandit",
		RuleID:   BanditParseErrorRule,
		RuleName: "bandit could not parse a file",
		Severity: findings.SeverityLow,
		HelpURI:  "https://bandit.readthedocs.io/en/latest/",
		Tags:     []string{coverageGapTag},
		Rule:     OwnRuleDoc(BanditParseErrorRule),
	}
	reason := oneLine(e.Reason)
	if reason == "" {
		reason = "no reason given"
	}
	name := e.Filename
	if rel, err := scannerRelPath(e.Filename, root); err == nil {
		f.Location.Path, name = rel, rel
	}
	if name == "" {
		name = "a file"
	}
	f.Message = fmt.Sprintf("bandit could not parse %s, so it was not scanned: %s", name, reason)
	f.Identity = name + "|" + reason
	return f
}
