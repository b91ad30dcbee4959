package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// The api stage audits OpenAPI definitions with Spectral and the OWASP API
// Security ruleset, and scores each one (APIScore).

// SpectralReportFile is Spectral's JSON report in the output folder.
const SpectralReportFile = "spectral.json"

// spectralRuleset is the OWASP API Security ruleset (2023) of the tool's
// own install (Tool.NPM), as Spectral loads a ruleset module.
const spectralRuleset = ToolHome + "/node_modules/@stoplight/spectral-owasp-ruleset/dist/ruleset.mjs"

// Spectral 6.16.3 exits 0 with no result at or above --fail-severity, 1
// with one, 2 when it cannot run (no file, a ruleset it cannot load).
var (
	SpectralOKCodes      = []int{0}
	SpectralFindingCodes = []int{1}
)

// SpectralArgv lints files with the OWASP ruleset; --fail-severity hint makes
// any result exit 1, so a clean exit with results is caught as an error.
func SpectralArgv(report string, files []string) []string {
	argv := []string{"spectral", "lint", "--ruleset", spectralRuleset, "--format", "json", "--output", report,
		"--fail-severity", "hint", "--quiet"}
	return append(argv, files...)
}

// openAPIPatterns are the files that may hold an OpenAPI definition.
var openAPIPatterns = []string{"**/*.yaml", "**/*.yml", "**/*.json"}

// openAPIRE finds the openapi (3.x) or swagger (2.0) key: at a line's start
// in YAML, anywhere in JSON (whose top level is indented).
var (
	openAPIYAML = regexp.MustCompile(`(?m)^["']?(?:openapi["']?\s*:\s*["']?3\.\d|swagger["']?\s*:\s*["']?2\.0)`)
	openAPIJSON = regexp.MustCompile(`"(?:openapi"\s*:\s*"3\.\d|swagger"\s*:\s*"2\.0)`)
)

// IsOpenAPI reports whether a file's content is an OpenAPI 2 or 3 document.
func IsOpenAPI(name string, data []byte) bool {
	head := data[:min(len(data), 64<<10)]
	if path.Ext(name) == ".json" {
		return openAPIJSON.Match(head)
	}
	return openAPIYAML.Match(head)
}

// sourceFile checks that p names a file inside the source; what names it
// in errors (--openapi).
func sourceFile(ctx context.Context, probe Probe, what, p string) (string, error) {
	rel, err := CleanRel(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	ok, err := probe.Exists(ctx, rel)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, rel, err)
	}
	if !ok {
		return "", fmt.Errorf("%s %s is not in the source", what, rel)
	}
	return rel, nil
}

// openAPIFiles finds the source's OpenAPI documents, or takes the one given.
func openAPIFiles(ctx context.Context, opts Options, probe Probe) ([]string, error) {
	if opts.OpenAPI != "" {
		rel, err := sourceFile(ctx, probe, "--openapi", opts.OpenAPI)
		if err != nil {
			return nil, err
		}
		return []string{rel}, nil
	}
	cands, err := FindFiles(ctx, probe, openAPIPatterns...)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, f := range cands {
		if i >= maxProbeFiles {
			break
		}
		data, err := probe.ReadFile(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		if IsOpenAPI(f, data) {
			out = append(out, f)
		}
	}
	return out, nil
}

func planAPI(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	c := newChooser(API, opts, probe)
	files, err := openAPIFiles(ctx, opts, probe)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", API, err)
	}
	var plans []Plan
	for _, tool := range c.tools {
		switch tool {
		case "spectral":
			if p := c.gate(ctx, tool, files, "no OpenAPI 2 or 3 definition in the source (--openapi FILE names one)"); p != nil {
				plans = append(plans, *p)
				continue
			}
			st := toolStep(API, tool, ".", opts, 10*time.Minute)
			st.Argv = SpectralArgv(OutputDir+"/"+SpectralReportFile, files)
			st.Report = SpectralReportFile
			st.OKCodes, st.FindingCodes = SpectralOKCodes, SpectralFindingCodes
			plans = append(plans, Plan{Stage: API, Tool: tool, Step: st, ParseIn: ParseSpectralIn})
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", API, tool)
		}
	}
	return plans, nil
}

// spectralResult is one result of Spectral's JSON report.
type spectralResult struct {
	Code     *string  `json:"code"`
	Path     []any    `json:"path"`
	Message  string   `json:"message"`
	Severity *int     `json:"severity"`
	Source   string   `json:"source"`
	Range    struct { // 0-based
		Start struct {
			Line      int `json:"line"`
			Character int `json:"character"`
		} `json:"start"`
		End struct {
			Line int `json:"line"`
		} `json:"end"`
	} `json:"range"`
}

// spectralSeverities maps Spectral's 0 error, 1 warn, 2 info, 3 hint.
var spectralSeverities = []findings.Severity{findings.SeverityHigh, findings.SeverityMedium, findings.SeverityLow, findings.SeverityInfo}

// ParseSpectralIn reads Spectral's JSON report; its sources are absolute
// paths, made relative to workdir (the source). Each result is a finding
// of its rule, at the line its range starts on, with the document path
// (paths./orders/{id}.get) in the message and identity.
func ParseSpectralIn(report []byte, workdir string) ([]findings.Finding, error) {
	trimmed := bytes.TrimSpace(report)
	if len(trimmed) == 0 || trimmed[0] != '[' || !json.Valid(trimmed) {
		return nil, fmt.Errorf("spectral report is not a JSON array (empty, truncated or not Spectral's)")
	}
	var results []spectralResult
	if err := json.Unmarshal(trimmed, &results); err != nil {
		return nil, fmt.Errorf("spectral report: %w", err)
	}
	out := make([]findings.Finding, 0, len(results))
	for i, r := range results {
		if r.Code == nil || *r.Code == "" || r.Severity == nil || *r.Severity < 0 || *r.Severity >= len(spectralSeverities) {
			return nil, fmt.Errorf("spectral report: result %d has no rule code or a severity outside 0-3", i)
		}
		rel, err := scannerRelPath(r.Source, workdir)
		if err != nil {
			return nil, fmt.Errorf("spectral report: result %d: %w", i, err)
		}
		where := spectralPath(r.Path)
		msg := r.Message
		if where != "" {
			msg += " (at " + where + ")"
		}
		line := r.Range.Start.Line + 1
		out = append(out, findings.Finding{
			Stage:    API,
			Tool:     "spectral",
			RuleID:   *r.Code,
			RuleName: *r.Code,
			Severity: spectralSeverities[*r.Severity],
			Message:  msg,
			Location: findings.Location{Path: rel, Line: line, EndLine: max(r.Range.End.Line+1, line), Column: r.Range.Start.Character + 1},
			HelpURI:  "https://github.com/stoplightio/spectral-owasp-ruleset",
			Tags:     []string{"api", "owasp-api"},
			Identity: *r.Code + "|" + where,
		})
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// spectralPath writes a JSON path of the document as a.b.c.
func spectralPath(p []any) string {
	parts := make([]string, len(p))
	for i, el := range p {
		parts[i] = fmt.Sprint(el)
	}
	return strings.Join(parts, ".")
}

// API score weights: what one failing rule costs a document's score, by the
// severity of its worst result (Spectral error, warn, info and hint).
var apiScoreWeights = map[findings.Severity]int{
	findings.SeverityCritical: 8, findings.SeverityHigh: 8, findings.SeverityMedium: 2, findings.SeverityLow: 1,
}

// APIScore scores OpenAPI definitions from 0 to 100 (README, "API security
// audit"): a document starts at 100 and loses 8 points for each distinct
// rule that fails at error severity, 2 for each at warn and 1 for each at
// info (hint costs nothing); a rule counts once however many places it
// fails, at its worst severity. The score is the lowest document's; no
// finding scores 100. Findings a gate does not count (suppressed, known to
// a baseline) are left out by the caller.
func APIScore(fs []findings.Finding) int {
	worst := map[string]map[string]findings.Severity{} // document → rule → worst severity
	for _, f := range fs {
		if f.Stage != API {
			continue
		}
		doc := worst[f.Location.Path]
		if doc == nil {
			doc = map[string]findings.Severity{}
			worst[f.Location.Path] = doc
		}
		doc[f.RuleID] = max(doc[f.RuleID], f.Severity)
	}
	score := 100
	for _, doc := range worst { // the lowest document's score
		s := 100
		for _, sev := range doc {
			s -= apiScoreWeights[sev]
		}
		score = min(score, max(s, 0))
	}
	return score
}
