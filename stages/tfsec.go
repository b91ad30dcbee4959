package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// tfsec v1.28.14 exit codes. Without --soft-fail tfsec exits 1 both for
// findings and for its own failures (an unreadable directory, an HCL parse
// error), and 2 when every finding is LOW. TfsecArgv passes --soft-fail, so a
// finished scan always exits 0 and any other code is a tool error; whether
// there are findings is read from the report alone (a failed run writes none).
var (
	TfsecOKCodes      = []int{0}
	TfsecFindingCodes = []int{}
)

// TfsecArgv runs tfsec over "." (the step's working folder is the source)
// and writes its JSON report to report.
//
// --no-module-downloads keeps it offline (remote modules a source names are
// not fetched; checked with registry and git sources). --soft-fail makes the exit
// code mean "the scan finished" (see TfsecOKCodes). tfsec's JSON report holds
// absolute file names: give ParseTfsec the folder tfsec scanned.
func TfsecArgv(report string) []string {
	return []string{"tfsec", ".",
		"--format", "json", "--out", report,
		"--no-colour",
		"--no-module-downloads",
		"--soft-fail",
	}
}

// tfsecReport is tfsec's --format json report (defsec's scan.FlatResult).
type tfsecReport struct {
	Results *[]tfsecResult `json:"results"`
}

type tfsecResult struct {
	RuleID      string   `json:"rule_id"`
	LongID      string   `json:"long_id"`
	Description string   `json:"rule_description"`
	Provider    string   `json:"rule_provider"`
	Service     string   `json:"rule_service"`
	Impact      string   `json:"impact"`
	Resolution  string   `json:"resolution"`
	Links       []string `json:"links"`
	Detail      string   `json:"description"`
	Severity    string   `json:"severity"`
	// Status is defsec's scan.Status: 0 failed, 1 passed, 2 ignored. Only
	// failures are findings (passed and ignored appear only with
	// --include-passed / --include-ignored, which dagsec does not pass).
	Status   *int   `json:"status"`
	Resource string `json:"resource"`
	Location struct {
		Filename  string `json:"filename"`
		StartLine int    `json:"start_line"`
		EndLine   int    `json:"end_line"`
	} `json:"location"`
}

const tfsecStatusFailed = 0

// ParseTfsec turns a tfsec JSON report into iac findings. root is the folder
// tfsec scanned, as tfsec saw it (the expanded source folder): tfsec writes
// absolute file names, and each one must lie inside root to be made relative.
// An empty root accepts only relative file names.
//
// Severities map one to one; tfsec's empty severity (defsec's "None", only
// seen in custom checks) becomes info. Any other value is an error.
func ParseTfsec(report []byte, root string) ([]findings.Finding, error) {
	var r tfsecReport
	if err := decodeStrictObject(report, &r, "tfsec report"); err != nil {
		return nil, err
	}
	if r.Results == nil {
		return nil, fmt.Errorf("tfsec report has no results array")
	}
	out := make([]findings.Finding, 0, len(*r.Results))
	docs := ruleDocs{}
	for i, res := range *r.Results {
		if res.Status == nil {
			return nil, fmt.Errorf("tfsec report: result %d has no status", i)
		}
		if *res.Status != tfsecStatusFailed {
			continue
		}
		id := res.RuleID
		if id == "" {
			id = res.LongID
		}
		if id == "" {
			return nil, fmt.Errorf("tfsec report: result %d has no rule id", i)
		}
		sev, err := severityWord(res.Severity, "")
		if err != nil {
			return nil, fmt.Errorf("tfsec report: result %d (%s): %w", i, id, err)
		}
		p, err := relToRoot(res.Location.Filename, root)
		if err != nil {
			return nil, fmt.Errorf("tfsec report: result %d (%s): %w", i, id, err)
		}
		msg := findingMessage(res.Detail, res.Description, res.Resource, res.Resolution)
		var tags []string
		for _, t := range []string{"terraform", res.LongID, res.Provider, res.Service} {
			if t != "" && t != id {
				tags = append(tags, t)
			}
		}
		f := findings.Finding{
			Stage:    IaC,
			Tool:     "tfsec",
			RuleID:   id,
			RuleName: res.Description,
			Severity: sev,
			Message:  msg,
			Location: findings.Location{Path: p, Line: res.Location.StartLine, EndLine: res.Location.EndLine},
			Tags:     tags,
			// The resource (aws_s3_bucket.public) names what is wrong
			// without a line number.
			Identity: res.Resource,
		}
		if len(res.Links) > 0 {
			f.HelpURI = res.Links[0]
		}
		docs.attach(&f, func() findings.Doc {
			return findings.Doc{Summary: res.Description, Details: res.Impact, Fix: res.Resolution, Links: res.Links,
				Facts: []findings.Fact{{Label: "AVD", Value: res.LongID}}}
		})
		out = append(out, f)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// relToRoot makes a file name a tool reported relative to the scanned folder.
func relToRoot(name, root string) (string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	if n == "" {
		return "", fmt.Errorf("no file name")
	}
	if path.IsAbs(n) || (len(n) > 2 && n[1] == ':' && n[2] == '/') {
		r := strings.TrimSuffix(strings.ReplaceAll(root, "\\", "/"), "/")
		if r == "" {
			return "", fmt.Errorf("file name %q is absolute and no scan root was given", name)
		}
		rest, ok := strings.CutPrefix(path.Clean(n), path.Clean(r)+"/")
		if !ok {
			return "", fmt.Errorf("file %q is outside the scanned folder %q", name, root)
		}
		n = rest
	}
	rel, err := CleanRel(n)
	if err != nil {
		return "", fmt.Errorf("file name: %w", err)
	}
	return rel, nil
}

// decodeStrictObject decodes one JSON object and rejects empty input, other
// JSON values and trailing data (a second report, or garbage after a
// truncated one).
func decodeStrictObject(report []byte, v any, what string) error {
	trimmed := bytes.TrimSpace(report)
	if len(trimmed) == 0 {
		return fmt.Errorf("%s is empty", what)
	}
	if trimmed[0] != '{' {
		return fmt.Errorf("%s is not a JSON object", what)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: trailing data after the JSON object", what)
	}
	return nil
}
