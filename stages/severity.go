package stages

import (
	"fmt"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// severityWord maps the CRITICAL, HIGH, MEDIUM and LOW most scanners print
// (any case). unknown is the tool's own word for "no severity" (trivy's
// UNKNOWN, tfsec's empty string), which is info; any other word is an error,
// so a tool's new level never passes as nothing.
func severityWord(s, unknown string) (findings.Severity, error) {
	switch w := strings.ToUpper(strings.TrimSpace(s)); w {
	case "CRITICAL":
		return findings.SeverityCritical, nil
	case "HIGH":
		return findings.SeverityHigh, nil
	case "MEDIUM":
		return findings.SeverityMedium, nil
	case "LOW":
		return findings.SeverityLow, nil
	case strings.ToUpper(unknown):
		if w != "" || unknown == "" {
			return findings.SeverityInfo, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q", s)
}
