package gitlab

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/stages"
)

// cqIssue is one Code Quality entry: the fields GitLab documents
// (description, check_name, fingerprint, severity, location.path,
// location.lines.begin) plus type, categories and engine_name from the Code
// Climate spec they are a subset of, which GitLab ignores or only displays.
type cqIssue struct {
	Type        string     `json:"type"`
	CheckName   string     `json:"check_name"`
	Description string     `json:"description"`
	Categories  []string   `json:"categories"`
	Severity    string     `json:"severity"`
	Fingerprint string     `json:"fingerprint"`
	EngineName  string     `json:"engine_name"`
	Location    cqLocation `json:"location"`
}

type cqLocation struct {
	Path  string  `json:"path"`
	Lines cqLines `json:"lines"`
}

type cqLines struct {
	Begin int `json:"begin"`
	End   int `json:"end,omitempty"`
}

// cqSeverity maps dagsec's five severities onto Code Climate's five
// (info, minor, major, critical, blocker), keeping their order so no two
// dagsec levels collapse into one: critical → blocker (a committed
// credential, a reachable critical CVE: nothing should merge over it),
// high → critical, medium → major, low → minor, info → info. GitLab's
// widget sorts and labels by these words and gives them no other meaning.
var cqSeverity = map[findings.Severity]string{
	findings.SeverityCritical: "blocker",
	findings.SeverityHigh:     "critical",
	findings.SeverityMedium:   "major",
	findings.SeverityLow:      "minor",
	findings.SeverityInfo:     "info",
}

// CodeQuality is gl-code-quality-report.json: every finding of the run,
// whatever its stage (GitLab shows Code Quality in every tier, so this is
// where findings reach a merge request without Ultimate), as a JSON array.
//
//   - check_name is "<tool>/<rule id>", engine_name the tool.
//   - description is the message, with the stage, tool and rule.
//   - location.path is the finding's file, and location.lines.begin its
//     line, or 1 when the tool gave none. Findings without a file, and DAST
//     findings, whose place is a URL (the DAST report has them), get no
//     entry: Code Quality lists places in files.
//   - fingerprint is the finding's own fingerprint (the one in report.json
//     and in SARIF's partialFingerprints), so an entry keeps its identity
//     across runs; when two entries would share one (the same finding
//     listed twice), the later ones get a derived fingerprint, since GitLab
//     shows entries with one fingerprint as one.
//
// A run without findings gives "[]".
func CodeQuality(rep *pipeline.Report) ([]byte, error) {
	if rep == nil {
		return nil, fmt.Errorf("gitlab code quality: no run report")
	}
	out := make([]cqIssue, 0, len(rep.Findings))
	used := map[string]bool{}
	for i, f := range rep.Findings {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("gitlab code quality: finding %d: %w", i, err)
		}
		if f.Location.Path == "" || f.Stage == stages.DAST {
			continue
		}
		line := f.Location.Line
		if line <= 0 {
			line = 1
		}
		lines := cqLines{Begin: line}
		if f.Location.EndLine > line {
			lines.End = f.Location.EndLine
		}
		path := f.Location.Path
		out = append(out, cqIssue{
			Type:        "issue",
			CheckName:   f.Tool + "/" + f.RuleID,
			Description: cqDescription(f),
			Categories:  []string{"Security"},
			Severity:    cqSeverity[f.Severity],
			Fingerprint: uniqueFingerprint(f, used),
			EngineName:  f.Tool,
			Location:    cqLocation{Path: path, Lines: lines},
		})
	}
	return marshal(out)
}

func cqDescription(f findings.Finding) string {
	return fmt.Sprintf("%s [%s %s %s]", oneLine(f.Message), f.Stage, f.Tool, oneLine(f.RuleID))
}

// uniqueFingerprint is the finding's fingerprint, or one derived from it
// and its occurrence when an earlier entry took it.
func uniqueFingerprint(f findings.Finding, used map[string]bool) string {
	fp := f.Fingerprint
	if fp == "" {
		fp = findings.Fingerprint(f)
	}
	cand := fp
	for n := 2; used[cand]; n++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", fp, n))
		cand = hex.EncodeToString(sum[:16])
	}
	used[cand] = true
	return cand
}
