package stages

import (
	"fmt"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// severityWord maps the CRITICAL, HIGH, MEDIUM and LOW most scanners print
// (any case). infoWords are the tool's own words for "no severity" (trivy's
// UNKNOWN, tfsec's empty string), which are info; any other word is an
// error, so a tool's new level never passes as nothing.
func severityWord(s string, infoWords ...string) (findings.Severity, error) {
	w := strings.ToUpper(strings.TrimSpace(s))
	switch w {
	case "CRITICAL":
		return findings.SeverityCritical, nil
	case "HIGH":
		return findings.SeverityHigh, nil
	case "MEDIUM":
		return findings.SeverityMedium, nil
	case "LOW":
		return findings.SeverityLow, nil
	}
	for _, iw := range infoWords {
		if w == strings.ToUpper(iw) {
			return findings.SeverityInfo, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q", s)
}
