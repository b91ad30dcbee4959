package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// Hadolint prints its JSON report on stdout: `hadolint --format json FILE...`.
const (
	HadolintReportFormat = "json"
	HadolintReportFile   = "hadolint.json"
)

// hadolintParseError is the code hadolint gives a Dockerfile it cannot parse.
const hadolintParseError = "DL1000"

// hadolintIssue is one entry of hadolint's JSON array. Pointers tell a
// missing field from a zero one.
type hadolintIssue struct {
	Code    *string `json:"code"`
	Column  int     `json:"column"`
	File    *string `json:"file"`
	Level   *string `json:"level"`
	Line    *int    `json:"line"`
	Message *string `json:"message"`
}

// ParseHadolint reads hadolint's JSON output (hadolint --format json): one
// array of {code, column, file, level, line, message} for all files, "[]"
// for a clean run.
//
// Severity follows hadolint's levels: error → high, warning → medium,
// info → low, style → info. An unknown level is an error.
//
// A DL1000 entry means hadolint could not parse that Dockerfile and checked
// nothing in it, so it is an error (fail closed), not a finding. A missing
// code, file, level, line or message, or any other shape, is an error too.
//
// hadolint's JSON does not carry the instruction text, so Identity is the
// message (ShellCheck messages name the offending word); two hits of one rule
// in one file with the same message are told apart by their order in the
// file (findings.AssignFingerprints), which also survives line moves.
func ParseHadolint(report []byte) ([]findings.Finding, error) {
	data := bytes.TrimSpace(report)
	if len(data) == 0 {
		return nil, fmt.Errorf("hadolint report is empty")
	}
	if data[0] != '[' {
		return nil, fmt.Errorf("hadolint report is not a JSON array")
	}
	var issues []hadolintIssue
	if err := json.Unmarshal(data, &issues); err != nil {
		return nil, fmt.Errorf("hadolint report: %w", err)
	}
	out := make([]findings.Finding, 0, len(issues))
	docs := ruleDocs{}
	for i, is := range issues {
		switch {
		case is.Code == nil || strings.TrimSpace(*is.Code) == "":
			return nil, fmt.Errorf("hadolint report: entry %d has no code", i)
		case is.File == nil:
			return nil, fmt.Errorf("hadolint report: entry %d (%s) has no file", i, *is.Code)
		case is.Line == nil:
			return nil, fmt.Errorf("hadolint report: entry %d (%s) has no line", i, *is.Code)
		case is.Level == nil:
			return nil, fmt.Errorf("hadolint report: entry %d (%s) has no level", i, *is.Code)
		case is.Message == nil:
			return nil, fmt.Errorf("hadolint report: entry %d (%s) has no message", i, *is.Code)
		}
		code, file, msg := strings.TrimSpace(*is.Code), srcRelPath(*is.File), strings.TrimSpace(*is.Message)
		if code == hadolintParseError {
			return nil, fmt.Errorf("hadolint could not parse %s (line %d), so it was not checked: %s", file, *is.Line, msg)
		}
		sev, err := hadolintSeverity(*is.Level)
		if err != nil {
			return nil, fmt.Errorf("hadolint report: entry %d (%s): %w", i, code, err)
		}
		if msg == "" {
			msg = "hadolint rule " + code
		}
		f := findings.Finding{
			Stage:    Dockerfile,
			Tool:     "hadolint",
			RuleID:   code,
			RuleName: msg, // hadolint's DL messages are the rule's own text
			Severity: sev,
			Message:  msg,
			Location: findings.Location{Path: file, Line: max(*is.Line, 0), Column: max(is.Column, 0)},
			Tags:     []string{"dockerfile"},
			Identity: msg,
		}
		switch {
		case strings.HasPrefix(code, "DL"):
			f.HelpURI = "https://github.com/hadolint/hadolint/wiki/" + code
		case strings.HasPrefix(code, "SC"):
			f.HelpURI = "https://www.shellcheck.net/wiki/" + code
			f.Tags = append(f.Tags, "shellcheck")
		}
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("hadolint report: entry %d: %w", i, err)
		}
		docs.attach(&f, func() findings.Doc { return hadolintDoc(f) })
		out = append(out, f)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// hadolintDoc explains a rule: hadolint's JSON gives only its message
// (for DL rules the rule's own text) and the rule's wiki page.
func hadolintDoc(f findings.Finding) findings.Doc {
	d := findings.Doc{Summary: f.Message, Links: []string{f.HelpURI}}
	switch {
	case strings.HasPrefix(f.RuleID, "SC"):
		d.Summary = "ShellCheck " + f.RuleID + " in a RUN instruction: " + f.Message
		d.Fix = "ShellCheck's page for " + f.RuleID + " (linked below) explains the problem and its correct form."
	case f.HelpURI != "":
		d.Fix = "hadolint's page for " + f.RuleID + " (linked below) shows the rule's rationale and a compliant Dockerfile line."
	}
	return d
}

// hadolintSeverity maps hadolint's levels; see ParseHadolint.
func hadolintSeverity(level string) (findings.Severity, error) {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "error":
		return findings.SeverityHigh, nil
	case "warning":
		return findings.SeverityMedium, nil
	case "info":
		return findings.SeverityLow, nil
	case "style":
		return findings.SeverityInfo, nil
	}
	return 0, fmt.Errorf("unknown level %q", level)
}
