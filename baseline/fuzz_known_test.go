package baseline_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/sarifio"
)

// fzExpected reads, independently of Load, the fingerprints a baseline file
// holds: a run report's findings (fingerprint and merged_fingerprints), or
// a SARIF log's results (partialFingerprints and the merged property),
// results of kind pass or notApplicable left out. Empty merged entries mean
// nothing.
func fzExpected(t *testing.T, data []byte, format string) (own []string, merged []string) {
	t.Helper()
	switch format {
	case baseline.FormatReport:
		var r struct {
			Findings []struct {
				Fingerprint string   `json:"fingerprint"`
				Merged      []string `json:"merged_fingerprints"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("Load accepted a report encoding/json cannot read: %v", err)
		}
		for _, f := range r.Findings {
			own = append(own, f.Fingerprint)
			for _, m := range f.Merged {
				if m != "" {
					merged = append(merged, m)
				}
			}
		}
	case baseline.FormatSARIF:
		var log struct {
			Runs []*struct {
				Results []struct {
					Kind                string         `json:"kind"`
					PartialFingerprints map[string]any `json:"partialFingerprints"`
					Properties          map[string]any `json:"properties"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(data, &log); err != nil {
			t.Fatalf("Load accepted SARIF encoding/json cannot read: %v", err)
		}
		for _, run := range log.Runs {
			if run == nil {
				continue
			}
			for _, res := range run.Results {
				if res.Kind == "pass" || res.Kind == "notApplicable" {
					continue
				}
				fp, _ := res.PartialFingerprints[sarifio.FingerprintKey].(string)
				own = append(own, fp)
				list, _ := res.Properties[baseline.MergedFingerprintsKey].([]any)
				for _, m := range list {
					if s, ok := m.(string); ok && s != "" {
						merged = append(merged, s)
					}
				}
			}
		}
	default:
		t.Fatalf("unknown format %q", format)
	}
	return own, merged
}

// FuzzLoadKnows checks what a baseline Load accepts knows: every finding of
// the file by its fingerprint and by the fingerprints merged into it, and
// nothing else; Len counts the file's findings.
func FuzzLoadKnows(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1","findings":[{"stage":"secrets","tool":"gitleaks","rule_id":"aws","severity":"high","message":"m","location":{"path":"a"},"fingerprint":"ab","merged_fingerprints":["cd",""]}]}`))
	f.Add([]byte(`{"schema_version":"1","findings":[{"stage":"sca","tool":"trivy","rule_id":"CVE-1","severity":"LOW","fingerprint":"ab"},{"stage":"sca","tool":"grype","rule_id":"CVE-1","severity":"low","fingerprint":"ab:2"}],"findings":[]}`))
	if gitleaks, err := os.ReadFile("../sarifio/testdata/gitleaks-v8.30.1.sarif"); err == nil {
		f.Add(gitleaks)
	}
	f.Add([]byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"gosec"}},"results":[{"ruleId":"G1","kind":"pass","message":{"text":"m"}},{"ruleId":"G2","message":{"text":"m"},"partialFingerprints":{"dagsecFingerprint/v1":" x "},"properties":{"dagsecMergedFingerprints":["y",1,null]}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := baseline.Load(data, "fuzz.json")
		if err != nil {
			if b != nil {
				t.Fatalf("a baseline with the error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "baseline fuzz.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if b.Name() != "fuzz.json" {
			t.Fatalf("Name() = %q", b.Name())
		}
		own, merged := fzExpected(t, data, b.Format())
		if b.Len() != len(own) {
			t.Fatalf("Len() = %d, the file has %d findings", b.Len(), len(own))
		}
		for _, fp := range append(own, merged...) {
			if !b.Known(fp) {
				t.Fatalf("fingerprint %q of the file is not known", fp)
			}
		}
		if b.Known("") {
			t.Fatal(`Known("")`)
		}
		const absent = "0000-not-in-the-file-0000"
		if !strings.Contains(string(data), absent) && b.Known(absent) {
			t.Fatalf("knows %q, which the file does not hold", absent)
		}
	})
}
