package sarifio_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/sarifio"
)

func gz(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

// checkFiles validates every file against the schema and the limits and
// returns the runs of all files, by automation id.
func checkFiles(t *testing.T, files [][]byte, lim sarifio.GitHubLimits) map[string]*sarif.Run {
	t.Helper()
	if lim.RunsPerFile == 0 {
		lim.RunsPerFile = sarifio.GitHubMaxRunsPerFile
	}
	if lim.ResultsPerRun == 0 {
		lim.ResultsPerRun = sarifio.GitHubIncludedResultsPerRun
	}
	if lim.GzipBytes == 0 {
		lim.GzipBytes = sarifio.GitHubMaxGzipBytes
	}
	runs := map[string]*sarif.Run{}
	for i, f := range files {
		if err := sarifio.Validate(f); err != nil {
			t.Fatalf("file %d is not valid SARIF: %v", i+1, err)
		}
		if n := gz(t, f); n > lim.GzipBytes {
			t.Errorf("file %d is %d bytes gzipped, over %d", i+1, n, lim.GzipBytes)
		}
		log, err := sarif.FromBytes(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(log.Runs) == 0 || len(log.Runs) > lim.RunsPerFile {
			t.Errorf("file %d has %d runs, want 1 to %d", i+1, len(log.Runs), lim.RunsPerFile)
		}
		for _, r := range log.Runs {
			if r.AutomationDetails == nil || r.AutomationDetails.ID == nil {
				t.Fatalf("file %d: a run of %s has no automation id", i+1, r.Tool.Driver.Name)
			}
			id := *r.AutomationDetails.ID
			if _, dup := runs[id]; dup {
				t.Errorf("automation id %s appears twice", id)
			}
			runs[id] = r
			if len(r.Results) > lim.ResultsPerRun {
				t.Errorf("run %s has %d results, over %d", id, len(r.Results), lim.ResultsPerRun)
			}
			for k, res := range r.Results {
				if res.RuleIndex == nil || int(*res.RuleIndex) >= len(r.Tool.Driver.Rules) {
					t.Fatalf("run %s result %d: bad ruleIndex", id, k)
				}
				if got := r.Tool.Driver.Rules[*res.RuleIndex].ID; got != *res.RuleID {
					t.Fatalf("run %s result %d: ruleIndex points to %s, ruleId is %s", id, k, got, *res.RuleID)
				}
			}
		}
	}
	return runs
}

func manyTools(n int) []sarifio.ToolRun {
	var runs []sarifio.ToolRun
	for i := range n {
		stage := fmt.Sprintf("stage%d", i%5)
		tool := fmt.Sprintf("tool%02d", i)
		tr := sarifio.ToolRun{Stage: stage, Tool: tool, Version: "1.0.0"}
		// Every third tool ran clean.
		for k := range (i % 3) * 2 {
			tr.Findings = append(tr.Findings, findings.Finding{
				Stage: stage, Tool: tool, RuleID: fmt.Sprintf("R%d", k%2),
				Severity: findings.SeverityHigh, Message: fmt.Sprintf("finding %d", k),
				Location: findings.Location{Path: fmt.Sprintf("f%d.go", k), Line: k + 1},
			})
		}
		runs = append(runs, tr)
	}
	return runs
}

func TestSplitForGitHubWithinLimitsIsMarshal(t *testing.T) {
	runs := sampleRuns()
	want, err := sarifio.Marshal(runs)
	if err != nil {
		t.Fatal(err)
	}
	log, err := sarifio.Merge(runs)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sarifio.SplitForGitHub(log, sarifio.GitHubLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !bytes.Equal(files[0], want) {
		t.Fatalf("a log within the limits must come back unchanged as one file; got %d files", len(files))
	}
	again, err := sarifio.SplitBytesForGitHub(want, sarifio.GitHubLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || !bytes.Equal(again[0], want) {
		t.Errorf("SplitBytesForGitHub changed a log within the limits")
	}
}

func TestSplitForGitHubMoreThan20Runs(t *testing.T) {
	runs := manyTools(25)
	log, err := sarifio.Merge(runs)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(log)
	files, err := sarifio.SplitForGitHub(log, sarifio.GitHubLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Errorf("25 runs in %d files, want 2", len(files))
	}
	got := checkFiles(t, files, sarifio.GitHubLimits{})
	if len(got) != 25 {
		t.Errorf("%d runs after splitting, want 25", len(got))
	}
	for _, tr := range runs {
		id := sarifio.AutomationID(tr.Stage, tr.Tool)
		r, ok := got[id]
		if !ok {
			t.Errorf("category %s missing", id)
			continue
		}
		if len(r.Results) != len(tr.Findings) {
			t.Errorf("%s: %d results, want %d", id, len(r.Results), len(tr.Findings))
		}
		if len(tr.Findings) == 0 && r.Results == nil {
			t.Errorf("%s: empty run lost its results array", id)
		}
	}
	// Empty runs serialize "results": [] so code scanning closes their alerts.
	empty := 0
	for _, f := range files {
		empty += strings.Count(string(f), `"results": []`)
	}
	if empty != 9 {
		t.Errorf(`%d runs with "results": [], want 9`, empty)
	}
	// The input is untouched.
	if after, _ := json.Marshal(log); !bytes.Equal(before, after) {
		t.Errorf("splitting changed the input log")
	}
}

func bigRun(n, rules int) sarifio.ToolRun {
	tr := sarifio.ToolRun{Stage: "sca", Tool: "trivy", Version: "v0.74.0"}
	sevs := findings.Severities()
	for i := range n {
		tr.Findings = append(tr.Findings, findings.Finding{
			Stage: "sca", Tool: "trivy", RuleID: fmt.Sprintf("CVE-2024-%05d", i%rules),
			Severity: sevs[i%len(sevs)], Message: fmt.Sprintf("vulnerable package %d", i),
			Location: findings.Location{Path: fmt.Sprintf("go%d.mod", i%7), Line: i%100 + 1},
			Identity: fmt.Sprintf("pkg-%d", i),
		})
	}
	findings.AssignFingerprints(tr.Findings)
	return tr
}

func TestSplitForGitHubLargeRun(t *testing.T) {
	t.Parallel()
	tr := bigRun(30_000, 300)
	small := sarifio.ToolRun{Stage: "secrets", Tool: "gitleaks"}
	log, err := sarifio.Merge([]sarifio.ToolRun{small, tr})
	if err != nil {
		t.Fatal(err)
	}
	for _, lim := range []sarifio.GitHubLimits{{}, {ResultsPerRun: sarifio.GitHubMaxResultsPerRun}} {
		t.Run(fmt.Sprintf("results per run %d", lim.ResultsPerRun), func(t *testing.T) {
			files, err := sarifio.SplitForGitHub(log, lim)
			if err != nil {
				t.Fatal(err)
			}
			got := checkFiles(t, files, lim)
			per := lim.ResultsPerRun
			if per == 0 {
				per = sarifio.GitHubIncludedResultsPerRun
			}
			parts := (30_000 + per - 1) / per
			if len(got) != parts+1 {
				t.Fatalf("%d runs, want %d parts and the empty gitleaks run", len(got), parts)
			}
			if _, ok := got["dagsec/secrets/gitleaks/"]; !ok {
				t.Errorf("empty gitleaks run lost")
			}
			seen := map[string]bool{}
			for k := 1; k <= parts; k++ {
				id := "dagsec/sca/trivy/"
				if k > 1 {
					id = fmt.Sprintf("dagsec/sca/trivy/part-%d/", k)
				}
				r, ok := got[id]
				if !ok {
					t.Fatalf("part %s missing", id)
				}
				for _, res := range r.Results {
					fp := res.PartialFingerprints[sarifio.FingerprintKey].(string)
					if seen[fp] {
						t.Fatalf("result %s twice", fp)
					}
					seen[fp] = true
				}
			}
			for _, f := range tr.Findings {
				if !seen[f.Fingerprint] {
					t.Fatalf("finding %s lost", f.Fingerprint)
				}
			}
			// Part 1 holds the run's first results: the most severe when the
			// findings come sorted, as the pipeline's do.
			first := got["dagsec/sca/trivy/"].Results[0]
			if *first.RuleID != tr.Findings[0].RuleID {
				t.Errorf("part 1 does not start with the run's first result")
			}
		})
	}
}

func TestSplitForGitHubSmallLimits(t *testing.T) {
	// Both dimensions at once, and rules pruned to what each part uses.
	runs := []sarifio.ToolRun{bigRun(23, 23), {Stage: "sast", Tool: "gosec"}, bigRun(3, 3)}
	runs[2].Stage, runs[2].Tool = "iac", "checkov"
	for i := range runs[2].Findings {
		runs[2].Findings[i].Stage, runs[2].Findings[i].Tool = "iac", "checkov"
	}
	log, err := sarifio.Merge(runs)
	if err != nil {
		t.Fatal(err)
	}
	lim := sarifio.GitHubLimits{RunsPerFile: 2, ResultsPerRun: 5, RulesPerRun: 5}
	files, err := sarifio.SplitForGitHub(log, lim)
	if err != nil {
		t.Fatal(err)
	}
	got := checkFiles(t, files, lim)
	// trivy: 5 parts of 5,5,5,5,3; gosec; checkov.
	if len(got) != 7 || len(files) != 4 {
		t.Fatalf("%d runs in %d files, want 7 in 4", len(got), len(files))
	}
	for id, r := range got {
		if len(r.Tool.Driver.Rules) > 5 {
			t.Errorf("%s has %d rules", id, len(r.Tool.Driver.Rules))
		}
	}
	if n := len(got["dagsec/sca/trivy/part-5/"].Results); n != 3 {
		t.Errorf("last part has %d results, want 3", n)
	}
	// The input log still has its 23 rules and indexes.
	if n := len(log.Runs[0].Tool.Driver.Rules); n != 23 || *log.Runs[0].Results[22].RuleIndex != 22 {
		t.Errorf("input log changed: %d rules", n)
	}
}

func TestSplitForGitHubTagsPerRule(t *testing.T) {
	tr := bigRun(1, 1)
	for i := range 30 {
		tr.Findings[0].Tags = append(tr.Findings[0].Tags, fmt.Sprintf("tag%d", i))
	}
	log, err := sarifio.Merge([]sarifio.ToolRun{tr})
	if err != nil {
		t.Fatal(err)
	}
	files, err := sarifio.SplitForGitHub(log, sarifio.GitHubLimits{})
	if err != nil {
		t.Fatal(err)
	}
	got := checkFiles(t, files, sarifio.GitHubLimits{})
	tags := got["dagsec/sca/trivy/"].Tool.Driver.Rules[0].Properties["tags"].([]any)
	if len(tags) != sarifio.GitHubMaxTagsPerRule || tags[0] != "security" {
		t.Errorf("rule tags %v, want the first 20", tags)
	}
	if n := len(log.Runs[0].Tool.Driver.Rules[0].Properties["tags"].([]string)); n != 32 {
		t.Errorf("input rule has %d tags, want 32 untouched", n)
	}
}

// randomText is incompressible: base64 of random bytes.
func randomText(r *rand.Rand, n int) string {
	b := make([]byte, n*3/4)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestSplitForGitHubGzipSize(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds SARIF files of more than 10 MB")
	}
	r := rand.New(rand.NewPCG(1, 2))
	// 14 runs of about 0.75 MB compressed each: under 20 runs, over 10 MB.
	var runs []sarifio.ToolRun
	for i := range 14 {
		tool := fmt.Sprintf("dast%d", i)
		runs = append(runs, sarifio.ToolRun{Stage: "dast", Tool: tool, Findings: []findings.Finding{{
			Stage: "dast", Tool: tool, RuleID: "big", Severity: findings.SeverityLow,
			Message: randomText(r, 1_000_000),
		}}})
	}
	log, err := sarifio.Merge(runs)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sarifio.SplitForGitHub(log, sarifio.GitHubLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("%d file(s), want the runs split by size", len(files))
	}
	if got := checkFiles(t, files, sarifio.GitHubLimits{}); len(got) != 14 {
		t.Errorf("%d runs after splitting, want 14", len(got))
	}

	// One run that alone is too large: an error naming the tool.
	huge := []sarifio.ToolRun{{Stage: "dast", Tool: "zap", Findings: []findings.Finding{{
		Stage: "dast", Tool: "zap", RuleID: "huge", Severity: findings.SeverityHigh,
		Message: randomText(r, 14_000_000),
	}}}}
	log, err = sarifio.Merge(huge)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sarifio.SplitForGitHub(log, sarifio.GitHubLimits{})
	if err == nil || !strings.Contains(err.Error(), "tool zap") || !strings.Contains(err.Error(), "dagsec/dast/zap/") || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("error %v does not name the tool, its run and the size", err)
	}
}

func TestSplitForGitHubErrors(t *testing.T) {
	log, err := sarifio.Merge(manyTools(2))
	if err != nil {
		t.Fatal(err)
	}
	noID := *log.Runs[1]
	noID.AutomationDetails = nil
	dup := *log.Runs[1]
	dup.AutomationDetails = log.Runs[0].AutomationDetails
	for name, tc := range map[string]struct {
		runs []*sarif.Run
		lim  sarifio.GitHubLimits
		want string
	}{
		"no id":        {[]*sarif.Run{log.Runs[0], &noID}, sarifio.GitHubLimits{}, "tool01) has no automationDetails.id"},
		"duplicate id": {[]*sarif.Run{log.Runs[0], &dup}, sarifio.GitHubLimits{}, "share automationDetails.id"},
		"null run":     {[]*sarif.Run{nil}, sarifio.GitHubLimits{}, "null"},
		"limit":        {log.Runs, sarifio.GitHubLimits{RunsPerFile: 21}, "runs per file"},
		"results":      {log.Runs, sarifio.GitHubLimits{ResultsPerRun: 25_001}, "results per run"},
	} {
		t.Run(name, func(t *testing.T) {
			cp := *log
			cp.Runs = tc.runs
			_, err := sarifio.SplitForGitHub(&cp, tc.lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	for _, data := range []string{"", "{", `{"runs": 3}`, `{"version": "2.0.0", "runs": []}`} {
		if _, err := sarifio.SplitBytesForGitHub([]byte(data), sarifio.GitHubLimits{}); err == nil {
			t.Errorf("SplitBytesForGitHub(%q) did not fail", data)
		}
	}
}

func TestPartID(t *testing.T) {
	for id, want := range map[string]string{
		"dagsec/sca/trivy/": "dagsec/sca/trivy/part-2/",
		"cat/run-7":         "cat/part-2/run-7",
		"plain":             "plain/part-2/",
	} {
		if got := sarifio.PartID(id, 2); got != want {
			t.Errorf("PartID(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestSplitForGitHubNoRuns(t *testing.T) {
	log, err := sarifio.Merge(nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sarifio.SplitForGitHub(log, sarifio.GitHubLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d files for a log without runs, want 1", len(files))
	}
	if err := sarifio.Validate(files[0]); err != nil {
		t.Errorf("log without runs: %v", err)
	}
}
