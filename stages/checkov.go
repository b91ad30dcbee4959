package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// Checkov writes its JSON report: `checkov -o json --output-file-path DIR`
// names the file DIR/results_json.json.
const (
	CheckovReportFormat = "json"
	CheckovReportFile   = "results_json.json"
)

// checkovReport is one framework's report (`check_type` terraform,
// kubernetes, ...). `checkov -o json` prints one object for one framework,
// a list of them for several, and only a summary object when no framework
// had anything to report.
type checkovReport struct {
	CheckType *string `json:"check_type"`
	Results   *struct {
		FailedChecks  *[]checkovCheck `json:"failed_checks"`
		ParsingErrors []string        `json:"parsing_errors"`
	} `json:"results"`
	Summary *checkovSummary `json:"summary"`
}

type checkovSummary struct {
	Passed         *int   `json:"passed"`
	Failed         *int   `json:"failed"`
	ParsingErrors  *int   `json:"parsing_errors"`
	CheckovVersion string `json:"checkov_version"`
}

// checkovCheck is the part of a checkov record dagsec reads.
type checkovCheck struct {
	CheckID     string `json:"check_id"`
	BCCheckID   string `json:"bc_check_id"`
	CheckName   string `json:"check_name"`
	CheckResult struct {
		Result string `json:"result"`
	} `json:"check_result"`
	FilePath         *string `json:"file_path"`
	FileAbsPath      string  `json:"file_abs_path"`
	FileLineRange    []int   `json:"file_line_range"`
	Resource         string  `json:"resource"`
	ResourceAddress  string  `json:"resource_address"`
	Severity         string  `json:"severity"`
	BCCategory       string  `json:"bc_category"`
	Guideline        string  `json:"guideline"`
	Description      string  `json:"description"`
	ShortDescription string  `json:"short_description"`
}

// ParseCheckov reads checkov's JSON output (checkov -o json).
//
// Only "failed_checks" become findings; passed and skipped checks (a
// checkov:skip comment) do not. The three shapes checkov prints are all
// read: one framework object, a list of them, and the bare summary it prints
// when nothing was scanned (which must then say 0 failed).
//
// Severity: checkov's own "severity" when present (CRITICAL, HIGH, MEDIUM or
// MODERATE, LOW, INFO or NONE). Open-source checkov without a platform API
// key leaves it null; such a failed check is high, because checkov itself
// treats every failed check as blocking then (non-zero exit, SARIF level
// "error"). An unknown severity word is an error.
//
// Fail closed: a non-empty "parsing_errors" (files checkov could not parse
// and so did not check), a summary whose failed count disagrees with the
// failed checks, a framework without "results"/"failed_checks", and any
// other shape are errors, never zero findings.
//
// Paths: file_path is relative to the scanned folder with a leading "/";
// when file_abs_path lies under the Dagger runner's /src mount it gives the
// path relative to the source root instead. Identity is the framework plus
// the resource address, so findings keep their fingerprint when lines move.
func ParseCheckov(report []byte) ([]findings.Finding, error) {
	data := bytes.TrimSpace(report)
	if len(data) == 0 {
		return nil, fmt.Errorf("checkov report is empty")
	}
	var raws []json.RawMessage
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, fmt.Errorf("checkov report: %w", err)
		}
		if len(raws) == 0 {
			return nil, fmt.Errorf("checkov report: empty list (checkov prints a summary object when it has no report)")
		}
	case '{':
		if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
			return nil, fmt.Errorf("checkov report: %w", err)
		}
		raws = []json.RawMessage{data}
	default:
		return nil, fmt.Errorf("checkov report is not a JSON object or list")
	}

	var out []findings.Finding
	for i, raw := range raws {
		fs, err := checkovFindings(raw, len(raws) == 1)
		if err != nil {
			if len(raws) > 1 {
				return nil, fmt.Errorf("checkov report %d: %w", i, err)
			}
			return nil, fmt.Errorf("checkov report: %w", err)
		}
		out = append(out, fs...)
	}
	if out == nil {
		out = []findings.Finding{}
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// checkovFindings reads one framework report, or the bare summary when it is
// the whole output.
func checkovFindings(raw json.RawMessage, alone bool) ([]findings.Finding, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	var rep checkovReport
	if err := json.Unmarshal(t, &rep); err != nil {
		return nil, fmt.Errorf("unexpected structure: %w", err)
	}
	if rep.CheckType == nil {
		if !alone || rep.Results != nil {
			return nil, fmt.Errorf("no check_type")
		}
		// The summary checkov prints when no framework had a report.
		var s checkovSummary
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, fmt.Errorf("unexpected structure: %w", err)
		}
		switch {
		case s.Failed == nil || s.ParsingErrors == nil || s.CheckovVersion == "":
			return nil, fmt.Errorf("neither a framework report nor a checkov summary")
		case *s.ParsingErrors != 0:
			return nil, fmt.Errorf("%d files could not be parsed", *s.ParsingErrors)
		case *s.Failed != 0:
			return nil, fmt.Errorf("summary says %d checks failed but lists none", *s.Failed)
		}
		return nil, nil
	}
	ct := strings.TrimSpace(*rep.CheckType)
	switch {
	case ct == "":
		return nil, fmt.Errorf("empty check_type")
	case rep.Results == nil:
		return nil, fmt.Errorf("%s: no results", ct)
	case rep.Results.FailedChecks == nil:
		return nil, fmt.Errorf("%s: no failed_checks", ct)
	case len(rep.Results.ParsingErrors) > 0:
		return nil, fmt.Errorf("%s: checkov could not parse %d files, which were not checked: %s",
			ct, len(rep.Results.ParsingErrors), strings.Join(rep.Results.ParsingErrors, ", "))
	}
	checks := *rep.Results.FailedChecks
	if s := rep.Summary; s != nil {
		if s.ParsingErrors != nil && *s.ParsingErrors != 0 {
			return nil, fmt.Errorf("%s: summary counts %d parsing errors", ct, *s.ParsingErrors)
		}
		if s.Failed != nil && *s.Failed != len(checks) {
			return nil, fmt.Errorf("%s: summary counts %d failed checks but %d are listed", ct, *s.Failed, len(checks))
		}
	}
	out := make([]findings.Finding, 0, len(checks))
	docs := ruleDocs{}
	for i, c := range checks {
		f, err := checkovFinding(ct, c)
		if err != nil {
			return nil, fmt.Errorf("%s: failed check %d: %w", ct, i, err)
		}
		docs.attach(&f, func() findings.Doc { return checkovDoc(c) })
		out = append(out, f)
	}
	return out, nil
}

// checkovDoc explains a check with what checkov's report says of it: its
// name, description and guideline page (the fix is described there).
func checkovDoc(c checkovCheck) findings.Doc {
	d := findings.Doc{Summary: c.CheckName, Details: c.Description, Links: []string{c.Guideline}}
	if d.Summary == "" {
		d.Summary = c.ShortDescription
	}
	if d.Summary == "" {
		d.Summary = "checkov check " + c.CheckID + "."
	}
	if c.Guideline != "" {
		d.Fix = "checkov's guideline for " + c.CheckID + " (linked below) shows a compliant configuration."
	}
	if c.BCCheckID != "" {
		d.Facts = append(d.Facts, findings.Fact{Label: "Prisma Cloud id", Value: c.BCCheckID})
	}
	return d
}

func checkovFinding(checkType string, c checkovCheck) (findings.Finding, error) {
	switch {
	case strings.TrimSpace(c.CheckID) == "":
		return findings.Finding{}, fmt.Errorf("no check_id")
	case c.FilePath == nil:
		return findings.Finding{}, fmt.Errorf("%s: no file_path", c.CheckID)
	case c.CheckResult.Result != "" && c.CheckResult.Result != "FAILED":
		return findings.Finding{}, fmt.Errorf("%s: result %q among failed checks", c.CheckID, c.CheckResult.Result)
	}
	sev, err := checkovSeverity(c.Severity)
	if err != nil {
		return findings.Finding{}, fmt.Errorf("%s: %w", c.CheckID, err)
	}
	name := strings.TrimSpace(c.CheckName)
	if name == "" {
		name = strings.TrimSpace(c.ShortDescription)
	}
	msg := strings.TrimSpace(c.Description)
	if msg == "" {
		msg = name
	}
	if msg == "" {
		msg = "checkov check " + c.CheckID + " failed"
	}
	resource := c.ResourceAddress
	if resource == "" {
		resource = c.Resource
	}
	if resource != "" {
		msg += " (resource " + resource + ")"
	}
	loc := findings.Location{Path: checkovPath(*c.FilePath, c.FileAbsPath)}
	if len(c.FileLineRange) == 2 && c.FileLineRange[0] > 0 {
		loc.Line = c.FileLineRange[0]
		if c.FileLineRange[1] >= loc.Line {
			loc.EndLine = c.FileLineRange[1]
		}
	}
	tags := []string{"iac", checkType}
	if c.BCCategory != "" {
		tags = append(tags, strings.ToLower(c.BCCategory))
	}
	if c.BCCheckID != "" {
		tags = append(tags, c.BCCheckID)
	}
	f := findings.Finding{
		Stage:    IaC,
		Tool:     "checkov",
		RuleID:   c.CheckID,
		RuleName: name,
		Severity: sev,
		Message:  msg,
		Location: loc,
		HelpURI:  c.Guideline,
		Tags:     tags,
		Identity: checkType + "|" + resource,
	}
	return f, f.Validate()
}

// checkovSeverity maps checkov's severity names (checkov's BcSeverities);
// an absent one is high, see ParseCheckov.
func checkovSeverity(s string) (findings.Severity, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		return findings.SeverityHigh, nil
	case "CRITICAL":
		return findings.SeverityCritical, nil
	case "HIGH", "IMPORTANT":
		return findings.SeverityHigh, nil
	case "MEDIUM", "MODERATE":
		return findings.SeverityMedium, nil
	case "LOW":
		return findings.SeverityLow, nil
	case "INFO", "NONE":
		return findings.SeverityInfo, nil
	}
	return 0, fmt.Errorf("unknown severity %q", s)
}

// checkovPath prefers the path under the Dagger runner's /src mount, which is
// relative to the source root even when checkov scanned a subfolder; else
// file_path, which is relative to the scanned folder.
func checkovPath(filePath, absPath string) string {
	abs := strings.ReplaceAll(absPath, "\\", "/")
	rel := strings.TrimLeft(srcRelPath(filePath), "/")
	if rest, ok := strings.CutPrefix(abs, srcMount); ok && rest != "" && (rel == "" || rest == rel || strings.HasSuffix(rest, "/"+rel)) {
		return rest
	}
	return rel
}
