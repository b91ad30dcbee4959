package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/vex"
)

// TestSuppressionRoundTripsThroughOpenVEX: a suppression of a vulnerability
// is written as vex.openvex.json (valid against the OpenVEX schema), and a
// scan that reads that document with --vex instead of the suppression
// suppresses the same finding with the same justification.
func TestSuppressionRoundTripsThroughOpenVEX(t *testing.T) {
	testenv.Tool(t, "govulncheck")
	testenv.Tool(t, "osv-scanner")
	work := t.TempDir()
	files := testenv.PlantedFiles()
	dir := testenv.Dir(t, map[string]string{"go.mod": files["go.mod"], "main.go": files["main.go"]})
	testenv.GoModTidy(t, dir)
	expires := time.Now().AddDate(0, 2, 0).Format("2006-01-02")
	sup := filepath.Join(work, "suppressions.yaml")
	if err := os.WriteFile(sup, []byte(`suppressions:
  - package: golang.org/x/text@v0.3.0
    rule: GO-2021-0113
    justification: the tag is parsed from our own configuration only
    owner: api-team
    expires: `+expires+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(work, "first")
	if code, stdout, stderr := dagsec(t, "scan", "--stages", "sca", "--suppressions", sup, "--out", first, dir); code != 0 && code != 1 {
		t.Fatalf("scan with the suppression: exit %d\n%s%s", code, stdout, stderr)
	}
	doc, err := os.ReadFile(filepath.Join(first, vex.File))
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.OpenVEXInvalid(t, doc); err != nil {
		t.Fatalf("%s is not valid OpenVEX: %v", vex.File, err)
	}
	if !strings.Contains(string(doc), `"status": "not_affected"`) || !strings.Contains(string(doc), "pkg:golang/golang.org/x/text@v0.3.0") {
		t.Fatalf("%s does not hold the suppression:\n%s", vex.File, doc)
	}

	second := filepath.Join(work, "second")
	if code, stdout, stderr := dagsec(t, "scan", "--stages", "sca", "--vex", filepath.Join(first, vex.File), "--out", second, dir); code != 0 && code != 1 {
		t.Fatalf("scan with --vex: exit %d\n%s%s", code, stdout, stderr)
	}
	suppressed := func(out string) map[string]string {
		rep, err := pipeline.ReadReportFile(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range rep.Findings {
			if f.Suppressed != nil {
				got[f.RuleID+" "+f.Fingerprint] = f.Suppressed.Justification + " / " + f.Suppressed.Owner + " / " + f.Suppressed.Expires
			}
		}
		return got
	}
	before, after := suppressed(first), suppressed(second)
	if len(before) == 0 {
		t.Fatal("the suppression suppressed nothing in the first scan")
	}
	for k, why := range before {
		if !strings.HasPrefix(k, "GO-2021-0113 ") {
			t.Errorf("the suppression took %s", k)
		}
		got, ok := after[k]
		if !ok {
			t.Errorf("%s is not suppressed when read back from OpenVEX (suppressed: %v)", k, after)
			continue
		}
		if !strings.HasPrefix(got, "the tag is parsed from our own configuration only (OpenVEX not_affected)") ||
			!strings.HasSuffix(got, " / api-team / "+expires) {
			t.Errorf("%s: read back as %q, was %q", k, got, why)
		}
	}
	if len(after) != len(before) {
		t.Errorf("suppressed after the round trip: %v, before: %v", after, before)
	}
	var rep struct {
		Suppressions struct {
			Active []json.RawMessage `json:"active"`
			Stale  []json.RawMessage `json:"stale"`
		} `json:"suppressions"`
	}
	data, _ := os.ReadFile(filepath.Join(second, "report.json"))
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Suppressions.Active) != 1 || len(rep.Suppressions.Stale) != 0 {
		t.Errorf("suppressions of the --vex run: %d active, %d stale, want 1 and 0 (%v)", len(rep.Suppressions.Active), len(rep.Suppressions.Stale), err)
	}
}
