package baseline_test

import (
	"testing"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/findings"
)

// Load must refuse what it cannot fully read, never panic, and a baseline
// it accepts must mark every finding new or known.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1","status":"passed","exit_code":0,"stages":[],"findings":[]}`))
	f.Add([]byte(`{"schema_version":"1","findings":[{"stage":"secrets","tool":"gitleaks","rule_id":"aws","severity":"high","message":"m","location":{"path":"a"},"fingerprint":"ab"}]}`))
	f.Add([]byte(`{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := baseline.Load(data, "fuzz.json")
		if err != nil {
			return
		}
		f := findings.Finding{Stage: "sast", Tool: "gosec", RuleID: "G101", Severity: findings.SeverityHigh, Fingerprint: "00"}
		for _, m := range b.Mark([]findings.Finding{f}) {
			if m.Baseline != findings.BaselineNew && m.Baseline != findings.BaselineKnown {
				t.Fatalf("marked %q", m.Baseline)
			}
		}
	})
}
