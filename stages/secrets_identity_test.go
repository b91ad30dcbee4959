package stages

import (
	"encoding/json"
	"strings"
	"testing"
)

// A secret's value never reaches a finding: not its message, not its
// identity, not its fingerprint. gitleaks runs with --redact; should a
// report still hold the value (a gitleaks without --redact, a mirror image
// that ignores it), the match is dropped, so the fingerprint is the one a
// finding without a match gets, and a redacted match is what is kept.
func TestGitleaksValueNeverKept(t *testing.T) {
	leak := func(match string) []byte {
		b, err := json.Marshal([]map[string]any{{
			"RuleID": "generic-password", "Description": "password", "StartLine": 3, "EndLine": 3,
			"StartColumn": 1, "EndColumn": 20, "File": "config.env", "Entropy": 2.5, "Match": match,
		}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	parse := func(match string) (identity, fingerprint, shown string) {
		fs, err := ParseGitleaks(leak(match))
		if err != nil || len(fs) != 1 {
			t.Fatalf("parse %q: %v %v", match, fs, err)
		}
		js, _ := json.Marshal(fs[0])
		return fs[0].Identity, fs[0].Fingerprint, string(js) + fs[0].Message
	}
	none, noneFP, _ := parse("")
	id, fp, shown := parse("password=hunter2")
	if strings.Contains(id+shown, "hunter2") {
		t.Fatalf("the unredacted value reached the finding: identity %q, finding %s", id, shown)
	}
	if id != none || fp != noneFP {
		t.Errorf("an unredacted match changed the identity or fingerprint (%q/%s, want %q/%s)", id, fp, none, noneFP)
	}
	red, redFP, _ := parse("password=REDACTED")
	if !strings.Contains(red, "password=REDACTED") || redFP == noneFP {
		t.Errorf("a redacted match must be kept in the identity: %q", red)
	}
}
