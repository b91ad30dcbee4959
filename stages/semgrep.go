package stages

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/sarifio"
)

// Semgrep writes SARIF 2.1.0: `semgrep scan --sarif --output FILE`.
const (
	SemgrepReportFormat = "sarif"
	SemgrepReportFile   = "semgrep.sarif"
)

// semgrepSARIF is the part of semgrep's SARIF that sarifio.ReadFindings does
// not carry over: the run's invocation status, suppressions and snippets.
type semgrepSARIF struct {
	Runs []struct {
		Invocations []semgrepInvocation `json:"invocations"`
		Tool        struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID         string         `json:"id"`
					Properties map[string]any `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID       string               `json:"ruleId"`
			Kind         string               `json:"kind"`
			Suppressions []semgrepSuppression `json:"suppressions"`
			Locations    []struct {
				PhysicalLocation *struct {
					Region *struct {
						Snippet *struct {
							Text string `json:"text"`
						} `json:"snippet"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
		} `json:"results"`
	} `json:"runs"`
}

type semgrepInvocation struct {
	ExecutionSuccessful        *bool `json:"executionSuccessful"`
	ToolExecutionNotifications []struct {
		Level   string `json:"level"`
		Message struct {
			Text string `json:"text"`
		} `json:"message"`
	} `json:"toolExecutionNotifications"`
}

type semgrepSuppression struct {
	Kind   string `json:"kind"`
	Status string `json:"status"`
}

// ParseSemgrep reads semgrep's SARIF output (semgrep scan --sarif).
//
// The SARIF is read by sarifio.ReadFindings, then fixed up for dagsec:
//   - Stage is sast and Tool is semgrep (semgrep names its driver "semgrep"
//     in 0.x and "Semgrep OSS" in 1.x; a run of any other tool is an error).
//   - Severity: a numeric "security-severity" (the GitHub score) wins;
//     without one, the SARIF level semgrep derives from the rule's severity
//     (ERROR → error → high, WARNING → warning → medium, INFO → note → low,
//     none → info). A word-valued security-severity (LOW, MEDIUM, HIGH,
//     CRITICAL, INFO, as GitLab's semgrep build writes) is mapped by name.
//   - Results suppressed in source (nosemgrep: "suppressions" whose status
//     is absent or "accepted") are not findings; a suppression "underReview"
//     or "rejected" keeps the result, as SARIF 3.27.23 says.
//   - Paths are made relative to the scanned source ("/src/" is where the
//     Dagger runner mounts it; "./" goes too).
//   - Identity is the message (semgrep interpolates metavariables into it)
//     plus a hash of the matched code snippet when semgrep gives one, so two
//     matches of one rule in a file are told apart whatever their lines.
//
// A run that did not execute (executionSuccessful false), or that loaded no
// rules and reports an error notification (an invalid configuration), is an
// error: an empty result list from it would read as a clean scan.
func ParseSemgrep(report []byte) ([]findings.Finding, error) {
	data := bytes.TrimSpace(report)
	if len(data) == 0 {
		return nil, fmt.Errorf("semgrep report is empty")
	}
	fs, err := sarifio.ReadFindings(data, SAST)
	if err != nil {
		return nil, fmt.Errorf("semgrep report: %w", err)
	}
	var doc semgrepSARIF
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("semgrep report: unexpected structure: %w", err)
	}
	if len(doc.Runs) == 0 {
		return nil, fmt.Errorf("semgrep report: no runs (semgrep always writes one)")
	}
	out := make([]findings.Finding, 0, len(fs))
	next := 0 // index into fs: ReadFindings keeps run and result order
	for ri, run := range doc.Runs {
		driver := run.Tool.Driver
		if !strings.Contains(strings.ToLower(driver.Name), "semgrep") {
			return nil, fmt.Errorf("semgrep report: run %d is from %q, not semgrep", ri, driver.Name)
		}
		if err := semgrepRunFailed(ri, run.Invocations, len(driver.Rules)); err != nil {
			return nil, err
		}
		wordSeverity := map[string]findings.Severity{}
		for _, r := range driver.Rules {
			if s, ok := semgrepWordSeverity(r.Properties["security-severity"]); ok {
				wordSeverity[r.ID] = s
			}
		}
		for i, res := range run.Results {
			if res.Kind == "pass" || res.Kind == "notApplicable" {
				continue // ReadFindings skipped it too
			}
			if next >= len(fs) {
				return nil, fmt.Errorf("semgrep report: run %d result %d has no finding", ri, i)
			}
			f := fs[next]
			next++
			if semgrepSuppressed(res.Suppressions) {
				continue
			}
			f.Stage = SAST
			f.Tool = "semgrep"
			f.Location.Path = srcRelPath(f.Location.Path)
			if s, ok := wordSeverity[f.RuleID]; ok {
				f.Severity = s
			}
			f.Identity = f.Message
			for _, loc := range res.Locations {
				if pl := loc.PhysicalLocation; pl != nil && pl.Region != nil && pl.Region.Snippet != nil {
					if snip := strings.Join(strings.Fields(pl.Region.Snippet.Text), " "); snip != "" && snip != "requires login" {
						sum := sha256.Sum256([]byte(snip))
						f.Identity += "|" + hex.EncodeToString(sum[:8])
					}
					break
				}
			}
			if err := f.Validate(); err != nil {
				return nil, fmt.Errorf("semgrep report: run %d result %d: %w", ri, i, err)
			}
			out = append(out, f)
		}
	}
	if next != len(fs) {
		return nil, fmt.Errorf("semgrep report: %d findings read but %d results seen", len(fs), next)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// semgrepRunFailed reports a run whose empty result list would not mean a
// clean scan.
func semgrepRunFailed(run int, invocations []semgrepInvocation, rules int) error {
	for _, inv := range invocations {
		var firstError string
		for _, n := range inv.ToolExecutionNotifications {
			if n.Level == "error" && firstError == "" {
				firstError = strings.TrimSpace(n.Message.Text)
				if firstError == "" {
					firstError = "(no message)"
				}
			}
		}
		if inv.ExecutionSuccessful != nil && !*inv.ExecutionSuccessful {
			if firstError == "" {
				firstError = "no error message"
			}
			return fmt.Errorf("semgrep report: run %d did not execute successfully: %s", run, firstError)
		}
		if rules == 0 && firstError != "" {
			return fmt.Errorf("semgrep report: run %d loaded no rules: %s", run, firstError)
		}
	}
	return nil
}

// semgrepSuppressed applies SARIF's rule: a result with suppressions is
// suppressed unless one of them is under review or rejected.
func semgrepSuppressed(sups []semgrepSuppression) bool {
	if len(sups) == 0 {
		return false
	}
	for _, s := range sups {
		if s.Status == "underReview" || s.Status == "rejected" {
			return false
		}
	}
	return true
}

// semgrepWordSeverity maps a security-severity given as a word; numeric
// scores are left to sarifio.
func semgrepWordSeverity(v any) (findings.Severity, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRITICAL":
		return findings.SeverityCritical, true
	case "HIGH":
		return findings.SeverityHigh, true
	case "MEDIUM", "MODERATE":
		return findings.SeverityMedium, true
	case "LOW":
		return findings.SeverityLow, true
	case "INFO", "INFORMATIONAL":
		return findings.SeverityInfo, true
	}
	return 0, false
}

// srcMount is where the Dagger runner mounts the scanned source.
const srcMount = "/src/"

// srcRelPath makes a path a tool reported relative to the scanned source:
// forward slashes, no file:// scheme, no "/src/" mount prefix, no leading
// "./". Other absolute paths are left as the tool wrote them.
func srcRelPath(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	p = strings.TrimPrefix(p, "file://")
	p = strings.TrimPrefix(p, srcMount)
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	return p
}
