package stages

import "github.com/dagsec/dagsec/findings"

// topSeverities is the highest severity each tool's findings get, as its
// parser maps the tool's own levels (docs/severity.md): a gate set above
// it cannot block on what that tool finds. cosign only signs.
var topSeverities = map[string]findings.Severity{
	"gitleaks":    findings.SeverityCritical,
	"trufflehog":  findings.SeverityCritical, // verified; high unverified
	"gosec":       findings.SeverityHigh,
	"bandit":      findings.SeverityHigh,
	"semgrep":     findings.SeverityCritical,
	"govulncheck": findings.SeverityHigh, // unless the policy's unreachable_severity is higher
	"osv-scanner": findings.SeverityCritical,
	"trivy":       findings.SeverityCritical,
	"grype":       findings.SeverityCritical,
	"checkov":     findings.SeverityCritical,
	"tfsec":       findings.SeverityCritical,
	"hadolint":    findings.SeverityHigh,
	"spectral":    findings.SeverityHigh,
	"zap":         findings.SeverityHigh,
	"wapiti":      findings.SeverityCritical,
	HardeningTool: findings.SeverityHigh,
	"cosign":      0,
}

// TopSeverity is the highest severity tool reports in stage, before a
// policy's severity overrides: 0 for a tool that reports no findings there;
// ok is false for a tool dagsec knows no ceiling of.
func TopSeverity(stage, tool string) (findings.Severity, bool) {
	if tool == "syft" {
		// Licenses: a denied license is high; in image it only writes the SBOM.
		if stage == Licenses {
			return findings.SeverityHigh, true
		}
		return 0, true
	}
	s, ok := topSeverities[tool]
	return s, ok
}
