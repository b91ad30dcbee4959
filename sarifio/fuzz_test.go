package sarifio_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/sarifio"
)

// fzSARIFSeeds are the genuine gitleaks SARIF (testdata/README.md), the
// SARIF dagsec itself writes, and the odd shapes read_test.go covers.
func fzSARIFSeeds(f *testing.F) {
	f.Helper()
	gitleaks, err := os.ReadFile("testdata/gitleaks-v8.30.1.sarif")
	if err != nil {
		f.Fatal(err)
	}
	merged, err := sarifio.Marshal(sampleRuns())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		gitleaks,
		merged,
		[]byte(sarifDoc(twoRules, `{"ruleId":"A","ruleIndex":0,"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"file:///src/a%20b.go"},"region":{"startLine":3,"endLine":2,"startColumn":9,"endColumn":1}}}]}`)),
		[]byte(sarifDoc(twoRules, `{"ruleId":"B","level":"none","kind":"open","message":{"text":"  "},"properties":{"tags":["x","x"]}}`)),
		[]byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"}},"automationDetails":{"id":"a/"},"results":[]},{"tool":{"driver":{"name":"t"}},"automationDetails":{"id":"a/"},"results":[]}]}`),
	} {
		f.Add(seed)
	}
}

// fzKey is what a finding keeps through SARIF.
type fzKey struct {
	Tool, RuleID, Message, Path string
	Severity                    findings.Severity
	Line                        int
}

// fzKeyOf is what survives the trip; a file without a line comes back at
// line 1, where dagsec's SARIF anchors it.
func fzKeyOf(fd findings.Finding) fzKey {
	line := fd.Location.Line
	if fd.Location.Path != "" {
		line = max(line, 1)
	}
	return fzKey{fd.Tool, fd.RuleID, fd.Message, fd.Location.Path, fd.Severity, line}
}

// FuzzSARIFRoundTrip reads any SARIF into findings, writes them as dagsec
// writes its results.sarif (Marshal, one run per tool) and checks what
// dagsec promises of that file: it is valid against the SARIF 2.1.0 schema
// (baseline.Load refuses one that is not), and reading it back gives the
// same tool, rule, severity, message, path and line for every finding, in
// order. semgrep's findings take this path: ReadFindings, then the run's
// results.sarif.
func FuzzSARIFRoundTrip(f *testing.F) {
	fzSARIFSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := sarifio.ReadFindings(data, "sast")
		if err != nil {
			return
		}
		var runs []sarifio.ToolRun
		at := map[string]int{}
		for _, fd := range fs {
			i, ok := at[fd.Tool]
			if !ok {
				i = len(runs)
				at[fd.Tool] = i
				runs = append(runs, sarifio.ToolRun{Stage: "sast", Tool: fd.Tool})
			}
			runs[i].Findings = append(runs[i].Findings, fd)
		}
		var want []fzKey
		for _, r := range runs {
			for _, fd := range r.Findings {
				want = append(want, fzKeyOf(fd))
			}
		}
		out, err := sarifio.Marshal(runs)
		if err != nil {
			t.Fatalf("findings ReadFindings returned do not marshal: %v", err)
		}
		if err := sarifio.Validate(out); err != nil {
			t.Fatalf("dagsec wrote schema-invalid SARIF: %v\n%s", err, out)
		}
		back, err := sarifio.ReadFindings(out, "sast")
		if err != nil {
			t.Fatalf("dagsec's own SARIF does not read back: %v\n%s", err, out)
		}
		if len(back) != len(want) {
			t.Fatalf("%d findings written, %d read back", len(want), len(back))
		}
		for i, fd := range back {
			if got := fzKeyOf(fd); got != want[i] {
				t.Fatalf("finding %d changed through SARIF:\nwrote %+v\nread  %+v", i, want[i], got)
			}
		}
	})
}

// fzCountResults counts a SARIF log's runs and results without go-sarif.
func fzCountResults(t *testing.T, data []byte) (runs, results int, perRun []int) {
	t.Helper()
	var log struct {
		Runs []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("not a SARIF log: %v", err)
	}
	for _, r := range log.Runs {
		results += len(r.Results)
		perRun = append(perRun, len(r.Results))
	}
	return len(log.Runs), results, perRun
}

// FuzzSplitBytesForGitHub splits any SARIF log under small limits: no
// panic; when it succeeds, every file keeps to the limits and no result is
// dropped or repeated (the results of all files add up to the input's).
func FuzzSplitBytesForGitHub(f *testing.F) {
	fzSARIFSeeds(f)
	lim := sarifio.GitHubLimits{RunsPerFile: 2, ResultsPerRun: 2, RulesPerRun: 3, TagsPerRule: 1}
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := sarifio.SplitBytesForGitHub(data, lim)
		if err != nil {
			if files != nil {
				t.Fatalf("files with the error %v", err)
			}
			return
		}
		_, in, _ := fzCountResults(t, data)
		total := 0
		for i, file := range files {
			runs, results, perRun := fzCountResults(t, file)
			if runs > lim.RunsPerFile {
				t.Fatalf("file %d has %d runs, over %d", i, runs, lim.RunsPerFile)
			}
			for j, n := range perRun {
				if n > lim.ResultsPerRun {
					t.Fatalf("file %d run %d has %d results, over %d", i, j, n, lim.ResultsPerRun)
				}
			}
			total += results
		}
		if total != in {
			t.Fatalf("the input has %d results, the %d files %d", in, len(files), total)
		}
	})
}
