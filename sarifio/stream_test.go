package sarifio_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/sarifio"
)

// referenceEncode is what Encode's documentation promises for log, written
// by a plain json.Encoder: indented below IndentLimit, compact above.
func referenceEncode(t *testing.T, log *sarif.Report) []byte {
	t.Helper()
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		t.Fatal(err)
	}
	if compact.Len() > sarifio.IndentLimit {
		return compact.Bytes()
	}
	var indented bytes.Buffer
	enc = json.NewEncoder(&indented)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		t.Fatal(err)
	}
	return indented.Bytes()
}

func largeRun() []sarifio.ToolRun {
	var fs []findings.Finding
	for i := range 40_000 {
		fs = append(fs, findings.Finding{RuleID: fmt.Sprint("R", i%100), Severity: findings.SeverityHigh, Message: "m <a> & b",
			Location: findings.Location{Path: fmt.Sprintf("dir/file%d.go", i), Line: 1 + i}})
	}
	return []sarifio.ToolRun{{Stage: "sast", Tool: "gosec", Findings: fs}, {Stage: "sca", Tool: "trivy"}}
}

// EncodeRuns, fed one run at a time, writes what Encode writes for the
// whole log, below and above IndentLimit.
func TestEncodeRunsIsEncodeOfMerge(t *testing.T) {
	for name, runs := range map[string][]sarifio.ToolRun{
		"sample": sampleRuns(), "25 tools": manyTools(25), "none": nil, "over IndentLimit": largeRun(),
	} {
		t.Run(name, func(t *testing.T) {
			log, err := sarifio.Merge(runs)
			if err != nil {
				t.Fatal(err)
			}
			want := referenceEncode(t, log)
			got, err := sarifio.EncodeRuns(sarifio.Runs(slices.Values(runs)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("EncodeRuns differs from the log encoded whole (%d and %d bytes)", len(got), len(want))
			}
			if enc, err := sarifio.Encode(log); err != nil || !bytes.Equal(enc, want) {
				t.Errorf("Encode differs from a json.Encoder's output (%v)", err)
			}
		})
	}
}

// SplitRunsForGitHub on runs built one at a time gives SplitForGitHub's
// files for the whole log, whether or not it splits.
func TestSplitRunsForGitHubIsSplitForGitHub(t *testing.T) {
	for name, tc := range map[string]struct {
		runs []sarifio.ToolRun
		lim  sarifio.GitHubLimits
	}{
		"one file":   {sampleRuns(), sarifio.GitHubLimits{}},
		"25 runs":    {manyTools(25), sarifio.GitHubLimits{}},
		"small gzip": {manyTools(12), sarifio.GitHubLimits{RunsPerFile: 5, ResultsPerRun: 1, GzipBytes: 2_000}},
		"large":      {largeRun(), sarifio.GitHubLimits{}},
	} {
		t.Run(name, func(t *testing.T) {
			log, err := sarifio.Merge(tc.runs)
			if err != nil {
				t.Fatal(err)
			}
			want, err := sarifio.SplitForGitHub(log, tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			env, err := sarif.New(sarif.Version210)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sarifio.SplitRunsForGitHub(env, sarifio.Runs(slices.Values(tc.runs)), tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d files, want %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("file %d differs", i+1)
				}
			}
			checkFiles(t, got, tc.lim)
		})
	}
}

// The first error of the runs stops both writers and is theirs.
func TestStreamedRunErrorStops(t *testing.T) {
	boom := errors.New("boom")
	built := 0
	runs := func(yield func(*sarif.Run, error) bool) {
		for run, err := range sarifio.Runs(slices.Values(manyTools(3))) {
			built++
			if built == 2 {
				err = boom
			}
			if !yield(run, err) {
				return
			}
		}
	}
	if _, err := sarifio.EncodeRuns(runs); !errors.Is(err, boom) || built != 2 {
		t.Errorf("EncodeRuns: %v after %d runs", err, built)
	}
	built = 0
	env, _ := sarif.New(sarif.Version210)
	if _, err := sarifio.SplitRunsForGitHub(env, runs, sarifio.GitHubLimits{}); !errors.Is(err, boom) || built != 2 {
		t.Errorf("SplitRunsForGitHub: %v after %d runs", err, built)
	}
	// A duplicate run stops Runs itself.
	dup := append(manyTools(2), manyTools(1)...)
	if _, err := sarifio.EncodeRuns(sarifio.Runs(slices.Values(dup))); err == nil {
		t.Error("two runs of one stage and tool encoded")
	}
}

// A log's own properties may hold a "runs" key; the runs still go in the
// top-level array.
func TestSplitForGitHubKeepsLogProperties(t *testing.T) {
	log, err := sarifio.Merge(manyTools(2))
	if err != nil {
		t.Fatal(err)
	}
	log.Properties = sarif.Properties{"runs": []any{}, "note": "kept"}
	files, err := sarifio.SplitForGitHub(log, sarifio.GitHubLimits{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := sarif.FromBytes(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != 2 || back.Properties["note"] != "kept" || len(back.Properties["runs"].([]any)) != 0 {
		t.Errorf("runs %d, properties %v", len(back.Runs), back.Properties)
	}
	if want := referenceEncode(t, log); !bytes.Equal(files[0], want) {
		t.Errorf("file differs from the log encoded whole:\n%s\nwant\n%s", files[0], want)
	}
}
