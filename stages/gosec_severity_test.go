package stages

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
)

// gosec's severity is the finding's: a HIGH issue of LOW confidence stays
// high, so it blocks a block_on: high gate (docs/severity.md); confidence is
// only a tag.
func TestGosecConfidenceNeverLowersSeverity(t *testing.T) {
	for _, tc := range []struct {
		sev, conf string
		want      findings.Severity
	}{
		{"HIGH", "LOW", findings.SeverityHigh},
		{"HIGH", "MEDIUM", findings.SeverityHigh},
		{"MEDIUM", "LOW", findings.SeverityMedium},
		{"LOW", "HIGH", findings.SeverityLow},
	} {
		report, err := json.Marshal(map[string]any{
			"Golang errors": map[string]any{},
			"Issues": []map[string]any{{"severity": tc.sev, "confidence": tc.conf, "rule_id": "G402",
				"details": "TLS InsecureSkipVerify set true.", "file": "/src/main.go", "line": "10", "column": "2",
				"cwe": map[string]any{"id": "295"}}},
			"Stats": map[string]any{"files": 1, "lines": 20, "nosec": 0, "found": 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		fs, err := ParseGosecIn(report, "/src")
		if err != nil || len(fs) != 1 {
			t.Fatalf("%s/%s: %v %v", tc.sev, tc.conf, fs, err)
		}
		if fs[0].Severity != tc.want || !slices.Contains(fs[0].Tags, "confidence:"+strings.ToLower(tc.conf)) {
			t.Errorf("%s severity, %s confidence: %s %v, want %s", tc.sev, tc.conf, fs[0].Severity, fs[0].Tags, tc.want)
		}
	}
}
