package baseline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

func finding(stage, tool, rule, path string, line int, identity string) findings.Finding {
	f := findings.Finding{Stage: stage, Tool: tool, RuleID: rule, Severity: findings.SeverityHigh,
		Message:  fmt.Sprintf("%s at line %d", rule, line), // messages may name lines; they are not hashed
		Location: findings.Location{Path: path, Line: line}, Identity: identity}
	f.Fingerprint = findings.Fingerprint(f)
	return f
}

// report builds the run report dagsec writes for fs, one tool run per
// stage and tool.
func report(fs ...findings.Finding) *pipeline.Report {
	rep := &pipeline.Report{SchemaVersion: pipeline.SchemaVersion, Status: policies.StatusPassed, Findings: fs, Errors: []string{}}
	idx := map[string]int{}
	for _, f := range fs {
		i, ok := idx[f.Stage]
		if !ok {
			i = len(rep.Stages)
			idx[f.Stage] = i
			rep.Stages = append(rep.Stages, pipeline.StageReport{Name: f.Stage, Status: policies.StatusPassed})
		}
		s := &rep.Stages[i]
		if !slices.ContainsFunc(s.Tools, func(t pipeline.ToolReport) bool { return t.Name == f.Tool }) {
			s.Tools = append(s.Tools, pipeline.ToolReport{Name: f.Tool, Version: "1.0.0", Runner: "host"})
		}
	}
	return rep
}

func formats(t *testing.T, rep *pipeline.Report) map[string][]byte {
	t.Helper()
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	sf, err := rep.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"report.json": js, "results.sarif": sf}
}

func TestSchemaVersionAgreesWithPipeline(t *testing.T) {
	if baseline.ReportSchemaVersion != pipeline.SchemaVersion {
		t.Fatalf("baseline reads run report schema %q, pipeline writes %q", baseline.ReportSchemaVersion, pipeline.SchemaVersion)
	}
}

func TestMarkSurvivesLineMovesAndWhitespace(t *testing.T) {
	old := finding("sast", "gosec", "G402", "main.go", 12, "G402|InsecureSkipVerify: true,")
	gone := finding("sast", "gosec", "G401", "main.go", 20, "G401|md5.Sum(data)")
	for name, data := range formats(t, report(old, gone)) {
		t.Run(name, func(t *testing.T) {
			b, err := baseline.Load(data, name)
			if err != nil {
				t.Fatal(err)
			}
			wantFormat := baseline.FormatReport
			if strings.HasSuffix(name, ".sarif") {
				wantFormat = baseline.FormatSARIF
			}
			if b.Name() != name || b.Format() != wantFormat || b.Len() != 2 {
				t.Errorf("Name %q Format %q Len %d", b.Name(), b.Format(), b.Len())
			}
			// 20 lines further down, re-indented, with a message naming the
			// new line: the same finding.
			moved := finding("sast", "gosec", "G402", "main.go", 32, "G402|InsecureSkipVerify:\t  true,  ")
			added := finding("sast", "gosec", "G402", "main.go", 40, "G402|InsecureSkipVerify: os.Getenv(\"X\") == \"\",")
			elsewhere := finding("sast", "gosec", "G402", "other.go", 12, "G402|InsecureSkipVerify: true,")
			otherTool := finding("sast", "semgrep", "G402", "main.go", 12, "G402|InsecureSkipVerify: true,")
			in := []findings.Finding{moved, added, elsewhere, otherTool}
			got := b.Mark(in)
			want := []string{findings.BaselineKnown, findings.BaselineNew, findings.BaselineNew, findings.BaselineNew}
			if len(got) != len(in) || &got[0] != &in[0] {
				t.Fatal("Mark did not mark its input in place")
			}
			for i, f := range got {
				if f.Baseline != want[i] {
					t.Errorf("finding %d (%s %s:%d): %q, want %q", i, f.Tool, f.Location.Path, f.Location.Line, f.Baseline, want[i])
				}
			}
		})
	}
}

// An issue two tools reported is known whichever tool's copy is kept.
func TestMarkKnowsMergedCopies(t *testing.T) {
	gv := finding("sca", "govulncheck", "GO-2021-0113", "main.go", 10, "GO-2021-0113|golang.org/x/text")
	osv := finding("sca", "osv-scanner", "GO-2021-0113", "go.mod", 0, "Go|golang.org/x/text|GO-2021-0113")
	keptGV := gv
	keptGV.AlsoFoundBy, keptGV.MergedFingerprints = []string{"osv-scanner"}, []string{osv.Fingerprint}
	keptOSV := osv
	keptOSV.AlsoFoundBy, keptOSV.MergedFingerprints = []string{"govulncheck"}, []string{gv.Fingerprint}

	for name, data := range formats(t, report(keptGV)) {
		b, err := baseline.Load(data, name)
		if err != nil {
			t.Fatal(err)
		}
		// This run kept osv-scanner's copy (its severity rose): still known.
		for _, f := range b.Mark([]findings.Finding{keptOSV, osv, gv}) {
			if f.Baseline != findings.BaselineKnown {
				t.Errorf("%s: %s copy is %q, want known", name, f.Tool, f.Baseline)
			}
		}
	}
	// And the other way: the baseline kept govulncheck's copy alone, this
	// run lists osv-scanner's copy with govulncheck's merged into it.
	b, err := baseline.Load(formats(t, report(gv))["results.sarif"], "results.sarif")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Mark([]findings.Finding{keptOSV})[0].Baseline; got != findings.BaselineKnown {
		t.Errorf("merged copy's fingerprint not looked up: %q", got)
	}
}

func TestLoadRejectsWhatIsNotADagsecBaseline(t *testing.T) {
	good := formats(t, report(finding("secrets", "gitleaks", "aws-access-token", "a.py", 3, "REDACTED")))
	thirdParty, err := os.ReadFile(filepath.Join("..", "sarifio", "testdata", "gitleaks-v8.30.1.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	noFingerprint := strings.Replace(string(good["report.json"]), `"fingerprint": "`, `"fingerprint": "`+"\"\n, \"x\": \"", 1)
	cases := map[string]struct{ data, want string }{
		"empty":              {"  \n", "empty"},
		"array":              {"[]", "not a JSON object"},
		"other object":       {`{"version": 1}`, "neither"},
		"truncated report":   {string(good["report.json"][:len(good["report.json"])/2]), "not a JSON object"},
		"old schema":         {strings.Replace(string(good["report.json"]), `"schema_version": "1"`, `"schema_version": "0"`, 1), "schema_version"},
		"no fingerprint":     {noFingerprint, "no fingerprint"},
		"gitleaks own SARIF": {string(thirdParty), "partialFingerprints"},
		"broken SARIF":       {strings.Replace(string(good["results.sarif"]), `"version": "2.1.0"`, `"version": 2`, 1), "SARIF"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := baseline.Load([]byte(c.data), "base.json")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "base.json") {
				t.Errorf("error %v, want one naming base.json and saying %q", err, c.want)
			}
		})
	}
	if _, err := baseline.LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

// A SARIF log split for GitHub (more than 20 runs) is whole only together.
func TestLoadFilesJoinsSplitSARIF(t *testing.T) {
	var fs []findings.Finding
	for i := range 25 {
		fs = append(fs, finding(fmt.Sprintf("s%02d", i), "tool", "R1", "a.go", 1, "x"))
	}
	files, err := report(fs...).SARIFFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("%d SARIF files, want 2", len(files))
	}
	dir := t.TempDir()
	var paths []string
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	all, err := baseline.LoadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	first, err := baseline.LoadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if all.Len() != 25 || first.Len() >= 25 || !strings.Contains(all.Name(), "results-2.sarif") {
		t.Errorf("all %d (%s), first file %d", all.Len(), all.Name(), first.Len())
	}
	for _, f := range all.Mark(fs) {
		if f.Baseline != findings.BaselineKnown {
			t.Errorf("%s not known from the split files", f.Stage)
		}
	}
}
