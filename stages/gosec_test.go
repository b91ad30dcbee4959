package stages_test

import (
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

// The gosec-v2.30.0*.json samples were written by gosec v2.30.0 itself; see
// testdata/SOURCES.md. Their absolute paths are the folders they ran in.
const (
	gosecSampleRoot    = "/tmp/dagsec-sample/gosrc"
	gosecBrokenRoot    = "/tmp/dagsec-sample/gobroken"
	gosecAllBrokenRoot = "/tmp/dagsec-sample/goallbad"
)

// gosecPlantedFiles is a dependency-free module with a shell command built
// from user input (G204, and G702 by taint analysis) and MD5 (G401, G501).
func gosecPlantedFiles() map[string]string {
	return map[string]string{
		"go.mod": "module example.com/planted\n\ngo 1.22\n",
		"main.go": `package main

import (
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
)

func run(userInput string) error {
	return exec.Command("sh", "-c", userInput).Run()
}

func digest(data []byte) string {
	return fmt.Sprintf("%x", md5.Sum(data))
}

func main() {
	if len(os.Args) > 1 {
		_ = run(os.Args[1])
	}
	fmt.Println(digest([]byte("hello")))
}
`,
	}
}

func gosecCleanFiles() map[string]string {
	return map[string]string{
		"go.mod":  "module example.com/clean\n\ngo 1.22\n",
		"main.go": "package main\n\nimport (\n\t\"crypto/sha256\"\n\t\"fmt\"\n)\n\nfunc main() {\n\tfmt.Printf(\"%x\\n\", sha256.Sum256([]byte(\"hello\")))\n}\n",
	}
}

type gosecWant struct {
	rule string
	sev  findings.Severity
	line int
	col  int
	cwe  string
}

// The planted issues, as gosec v2.30.0 reports them in main.go.
var gosecPlanted = []gosecWant{
	{"G204", findings.SeverityMedium, 11, 9, "CWE-78"},
	{"G702", findings.SeverityHigh, 11, 21, "CWE-78"},
	{"G401", findings.SeverityMedium, 15, 27, "CWE-328"},
	{"G501", findings.SeverityMedium, 4, 2, "CWE-327"},
}

func readGosecBanditSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func gosecFind(fs []findings.Finding, rule, file string) (findings.Finding, bool) {
	for _, f := range fs {
		if f.RuleID == rule && f.Location.Path == file {
			return f, true
		}
	}
	return findings.Finding{}, false
}

func checkGosecPlanted(t *testing.T, fs []findings.Finding, want []gosecWant) {
	t.Helper()
	for _, w := range want {
		f, ok := gosecFind(fs, w.rule, "main.go")
		if !ok {
			t.Errorf("planted %s not found in main.go; got %+v", w.rule, fs)
			continue
		}
		if f.Severity != w.sev || f.Location.Line != w.line || f.Location.Column != w.col {
			t.Errorf("%s: severity %s at %d:%d, want %s at %d:%d", w.rule, f.Severity, f.Location.Line, f.Location.Column, w.sev, w.line, w.col)
		}
		if f.Stage != stages.SAST || f.Tool != "gosec" || f.RuleName == "" || f.Fingerprint == "" {
			t.Errorf("%s: stage %q tool %q name %q fingerprint %q", w.rule, f.Stage, f.Tool, f.RuleName, f.Fingerprint)
		}
		if !slices.Contains(f.Tags, w.cwe) || !slices.Contains(f.Tags, "confidence:high") || !strings.Contains(f.Message, w.cwe) {
			t.Errorf("%s: tags %v message %q, want %s and confidence:high", w.rule, f.Tags, f.Message, w.cwe)
		}
		if !strings.HasPrefix(f.HelpURI, "https://") {
			t.Errorf("%s: help %q", w.rule, f.HelpURI)
		}
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", w.rule, err)
		}
	}
}

func TestParseGosecGenuineSample(t *testing.T) {
	data := readGosecBanditSample(t, "gosec-v2.30.0.json")
	for _, root := range []string{gosecSampleRoot, gosecSampleRoot + "/"} {
		fs, err := stages.ParseGosecIn(data, root)
		if err != nil {
			t.Fatalf("root %q: %v", root, err)
		}
		if len(fs) != len(gosecPlanted) {
			t.Fatalf("got %d findings, want %d: %+v", len(fs), len(gosecPlanted), fs)
		}
		checkGosecPlanted(t, fs, gosecPlanted)
	}
	fs, _ := stages.ParseGosecIn(data, gosecSampleRoot)
	g401, _ := gosecFind(fs, "G401", "main.go")
	if g401.RuleName != "Detect the usage of MD5 or SHA1" || g401.HelpURI != "https://cwe.mitre.org/data/definitions/328.html" {
		t.Errorf("G401 name %q help %q", g401.RuleName, g401.HelpURI)
	}
	if g401.Message != "Use of weak cryptographic primitive (CWE-328)" {
		t.Errorf("G401 message %q", g401.Message)
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Fingerprint] {
			t.Errorf("fingerprint %s shared", f.Fingerprint)
		}
		seen[f.Fingerprint] = true
	}
}

func TestParseGosecNeedsTheRootForAbsolutePaths(t *testing.T) {
	data := readGosecBanditSample(t, "gosec-v2.30.0.json")
	if fs, err := stages.ParseGosec(data); err == nil {
		t.Fatalf("absolute paths without a root accepted: %+v", fs)
	}
	if fs, err := stages.ParseGosecIn(data, "/tmp/dagsec-sample/other"); err == nil {
		t.Fatalf("paths outside the root accepted: %+v", fs)
	}
	// A root that is a prefix of the folder's name but not the folder.
	if fs, err := stages.ParseGosecIn(data, "/tmp/dagsec-sample/gos"); err == nil {
		t.Fatalf("partial folder name accepted as root: %+v", fs)
	}
}

func TestParseGosecCleanSample(t *testing.T) {
	data := readGosecBanditSample(t, "gosec-v2.30.0-clean.json")
	for _, root := range []string{"", "/tmp/dagsec-sample/goclean"} {
		fs, err := stages.ParseGosecIn(data, root)
		if err != nil || len(fs) != 0 {
			t.Fatalf("clean report (root %q): %+v, %v", root, fs, err)
		}
	}
}

func TestParseGosecLoadErrorsAreCoverageGaps(t *testing.T) {
	fs, err := stages.ParseGosecIn(readGosecBanditSample(t, "gosec-v2.30.0-load-error.json"), gosecBrokenRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range []string{"G401", "G501"} {
		if _, ok := gosecFind(fs, rule, "good/good.go"); !ok {
			t.Errorf("%s in the package that loaded is lost: %+v", rule, fs)
		}
	}
	gap, ok := gosecFind(fs, stages.GosecLoadErrorRule, "bad/bad.go")
	if !ok {
		t.Fatalf("type error in bad/bad.go vanished: %+v", fs)
	}
	if gap.Severity != findings.SeverityLow || !slices.Contains(gap.Tags, "coverage-gap") ||
		!strings.Contains(gap.Message, "bad/bad.go") || !strings.Contains(gap.Message, "undefined: undefinedThing") || gap.Location.Line != 3 {
		t.Errorf("load error finding: %+v", gap)
	}
	// gosec also reports the package-level error under the key "": placed
	// at the module's go.mod, since code scanning shows no result without a file.
	if _, ok := gosecFind(fs, stages.GosecLoadErrorRule, "go.mod"); !ok {
		t.Errorf("package-level load error vanished: %+v", fs)
	}
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestParseGosecNothingScannedIsAnError(t *testing.T) {
	for _, c := range []struct{ sample, root, want string }{
		// Every file has a syntax error.
		{"gosec-v2.30.0-all-broken.json", gosecAllBrokenRoot, "main.go"},
		// `go` not on PATH: one package-level error.
		{"gosec-v2.30.0-no-go.json", gosecSampleRoot, "go command required"},
		// No GOCACHE/HOME: gosec silently scans nothing, no error at all.
		{"gosec-v2.30.0-no-gocache.json", gosecSampleRoot, "GOCACHE"},
	} {
		fs, err := stages.ParseGosecIn(readGosecBanditSample(t, c.sample), c.root)
		if err == nil {
			t.Errorf("%s: no error, got %+v", c.sample, fs)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q should mention %q", c.sample, err, c.want)
		}
	}
}

func TestParseGosecLineRangesAndSuppressions(t *testing.T) {
	report := `{"Golang errors":{},"Stats":{"files":1,"lines":20,"nosec":1,"found":2},"GosecVersion":"2.30.0","Issues":[
	{"severity":"LOW","confidence":"LOW","cwe":null,"rule_id":"G104","details":"Errors unhandled","file":"pkg/a.go",
	 "code":"11: x()\n12: y(\n13:   z)\n14: w()\n","line":"12-13","column":"2","nosec":false,"suppressions":null},
	{"severity":"HIGH","confidence":"HIGH","cwe":{"id":"78","url":"u"},"rule_id":"G204","details":"d","file":"pkg/a.go",
	 "code":"","line":"3","column":"1","nosec":true,"suppressions":null},
	{"severity":"HIGH","confidence":"HIGH","cwe":{"id":"78","url":"u"},"rule_id":"G204","details":"d","file":"pkg/a.go",
	 "code":"","line":"4","column":"1","nosec":false,"suppressions":[{"kind":"inSource","justification":""}]}]}`
	fs, err := stages.ParseGosec([]byte(report))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("suppressed issues kept: %+v", fs)
	}
	f := fs[0]
	if f.Location != (findings.Location{Path: "pkg/a.go", Line: 12, EndLine: 13, Column: 2}) {
		t.Errorf("location %+v", f.Location)
	}
	if f.Severity != findings.SeverityLow || !slices.Contains(f.Tags, "confidence:low") || f.RuleName != "Audit errors not checked" {
		t.Errorf("finding %+v", f)
	}
	if f.HelpURI != "https://github.com/securego/gosec#available-rules" {
		t.Errorf("help %q", f.HelpURI)
	}

	// The same issue moved down 30 lines (and re-indented) keeps its fingerprint;
	// a change to the flagged code does not.
	moved := strings.NewReplacer(`11: x()\n12: y(\n13:   z)\n14: w()\n`, `41: x()\n42:   y(\n43:  z)\n44: w()\n`, `"12-13"`, `"42-43"`).Replace(report)
	changed := strings.Replace(report, `13:   z)`, `13:   other)`, 1)
	for name, c := range map[string]struct {
		in   string
		same bool
	}{"moved": {moved, true}, "changed": {changed, false}} {
		gs, err := stages.ParseGosec([]byte(c.in))
		if err != nil || len(gs) != 1 {
			t.Fatalf("%s: %+v %v", name, gs, err)
		}
		if (gs[0].Fingerprint == f.Fingerprint) != c.same {
			t.Errorf("%s: fingerprint %s vs %s", name, gs[0].Fingerprint, f.Fingerprint)
		}
	}
}

func TestParseGosecRejectsBadReports(t *testing.T) {
	sample := string(readGosecBanditSample(t, "gosec-v2.30.0.json"))
	issue := func(fields string) string {
		return `{"Golang errors":{},"Stats":{"files":1},"Issues":[{` + fields + `}]}`
	}
	for name, in := range map[string]string{
		"empty":             "",
		"whitespace":        " \n\t",
		"null":              "null",
		"array":             "[]",
		"string":            `"Issues"`,
		"empty object":      "{}",
		"other tool":        `{"results":[],"errors":[]}`,
		"no stats":          `{"Golang errors":{},"Issues":[]}`,
		"no issues key":     `{"Golang errors":{},"Stats":{"files":1}}`,
		"no errors key":     `{"Issues":[],"Stats":{"files":1}}`,
		"truncated":         sample[:len(sample)/2],
		"truncated end":     sample[:len(sample)-1],
		"trailing":          sample + "{}",
		"trailing garbage":  sample + "xyz",
		"garbage":           "\x00\x01not json",
		"issues object":     `{"Golang errors":{},"Stats":{"files":1},"Issues":{}}`,
		"errors array":      `{"Golang errors":[],"Stats":{"files":1},"Issues":[]}`,
		"line number":       issue(`"severity":"HIGH","rule_id":"G1","file":"a.go","line":12`),
		"bad line":          issue(`"severity":"HIGH","rule_id":"G1","file":"a.go","line":"twelve"`),
		"bad range":         issue(`"severity":"HIGH","rule_id":"G1","file":"a.go","line":"14-12"`),
		"bad column":        issue(`"severity":"HIGH","rule_id":"G1","file":"a.go","line":"1","column":"x"`),
		"no rule":           issue(`"severity":"HIGH","file":"a.go","line":"1"`),
		"no file":           issue(`"severity":"HIGH","rule_id":"G1","line":"1"`),
		"bad severity":      issue(`"severity":"SEVERE","rule_id":"G1","file":"a.go","line":"1"`),
		"no severity":       issue(`"rule_id":"G1","file":"a.go","line":"1"`),
		"escaping path":     issue(`"severity":"HIGH","rule_id":"G1","file":"../a.go","line":"1"`),
		"absolute, no root": issue(`"severity":"HIGH","rule_id":"G1","file":"/src/a.go","line":"1"`),
		"bad cwe":           issue(`"severity":"HIGH","rule_id":"G1","file":"a.go","line":"1","cwe":{"id":[1]}`),
		"nothing scanned":   `{"Golang errors":{},"Stats":{"files":0},"Issues":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if fs, err := stages.ParseGosec([]byte(in)); err == nil {
				t.Fatalf("no error for %q, got %+v", in, fs)
			}
		})
	}
}

func FuzzParseGosec(f *testing.F) {
	for _, name := range []string{"gosec-v2.30.0.json", "gosec-v2.30.0-clean.json", "gosec-v2.30.0-load-error.json",
		"gosec-v2.30.0-all-broken.json", "gosec-v2.30.0-no-go.json", "gosec-v2.30.0-no-gocache.json"} {
		f.Add(readGosecBanditSample(f, name))
	}
	f.Add([]byte(`{"Golang errors":{},"Stats":{"files":1},"Issues":[{"severity":"LOW","rule_id":"G1","file":"a.go","line":"1-2","code":"1: a\n2: b"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, root := range []string{"", gosecSampleRoot, gosecBrokenRoot} {
			fs, err := stages.ParseGosecIn(data, root)
			if err != nil {
				continue
			}
			for _, fd := range fs {
				if err := fd.Validate(); err != nil {
					t.Fatalf("invalid finding: %v", err)
				}
				p := fd.Location.Path
				if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\\") {
					t.Fatalf("path %q is not relative to the source", p)
				}
				if fd.Fingerprint == "" || fd.Stage != stages.SAST || fd.Tool != "gosec" {
					t.Fatalf("finding %+v", fd)
				}
			}
		}
	})
}

// runGosec runs the pinned gosec with dagsec's argv in dir, the way the plan
// does, checks its exit code and parses its report.
func runGosec(t *testing.T, dir string) ([]findings.Finding, error) {
	t.Helper()
	bin := testenv.Tool(t, "gosec")
	report := filepath.Join(t.TempDir(), "gosec.json")
	argv := stages.GosecArgv(report)
	if argv[0] != "gosec" {
		t.Fatalf("argv[0] = %q", argv[0])
	}
	res := testenv.Exec(t, bin, dir, argv, nil, 10*time.Minute)
	code, out := res.Code, append(res.Stdout, res.Stderr...)
	if !slices.Contains(stages.GosecOKCodes, code) && !slices.Contains(stages.GosecFindingCodes, code) {
		t.Fatalf("gosec exited %d:\n%s", code, out)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("gosec wrote no report (exit %d): %v\n%s", code, err, out)
	}
	return stages.ParseGosecIn(data, dir)
}

func TestGosecFindsPlantedIssues(t *testing.T) {
	fs, err := runGosec(t, testenv.Dir(t, gosecPlantedFiles()))
	if err != nil {
		t.Fatal(err)
	}
	// G702 comes from gosec's taint analysis, on by default in v2.30.0.
	checkGosecPlanted(t, fs, gosecPlanted)
}

func TestGosecCleanModuleHasNoFindings(t *testing.T) {
	fs, err := runGosec(t, testenv.Dir(t, gosecCleanFiles()))
	if err != nil || len(fs) != 0 {
		t.Fatalf("clean module: %+v, %v", fs, err)
	}
}

func TestGosecFingerprintSurvivesLineMove(t *testing.T) {
	files := gosecPlantedFiles()
	dir := testenv.Dir(t, files)
	before, err := runGosec(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	files["main.go"] = strings.Replace(files["main.go"], "func run(", strings.Repeat("// padding\n", 15)+"func run(", 1)
	testenv.Write(t, dir, files)
	after, err := runGosec(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := gosecFind(before, "G204", "main.go")
	a, ok := gosecFind(after, "G204", "main.go")
	if !ok || a.Location.Line != b.Location.Line+15 {
		t.Fatalf("G204 did not move: line %d then %d", b.Location.Line, a.Location.Line)
	}
	if a.Fingerprint != b.Fingerprint {
		t.Fatalf("fingerprint changed after a line move: %s -> %s", b.Fingerprint, a.Fingerprint)
	}
}

func TestGosecBrokenPackagesAreReported(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{
		"go.mod":       "module example.com/broken\n\ngo 1.22\n",
		"good/good.go": "package good\n\nimport \"crypto/md5\"\n\nfunc Sum(b []byte) [16]byte { return md5.Sum(b) }\n",
		"bad/bad.go":   "package bad\n\nfunc F() int { return undefinedThing }\n",
	})
	fs, err := runGosec(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := gosecFind(fs, "G401", "good/good.go"); !ok {
		t.Errorf("G401 in the good package lost: %+v", fs)
	}
	if _, ok := gosecFind(fs, stages.GosecLoadErrorRule, "bad/bad.go"); !ok {
		t.Errorf("broken package vanished: %+v", fs)
	}

	allBad := testenv.Dir(t, map[string]string{
		"go.mod":  "module example.com/allbad\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { x := }\n",
	})
	if fs, err := runGosec(t, allBad); err == nil {
		t.Fatalf("a module gosec could not scan at all parsed to %+v", fs)
	}
}

func TestGosecFailureExitCodes(t *testing.T) {
	bin := testenv.Tool(t, "gosec")
	// No Go package: gosec fails with 1 and writes no report.
	dir := testenv.Dir(t, map[string]string{"README.md": "# no Go here\n"})
	report := filepath.Join(t.TempDir(), "gosec.json")
	argv := stages.GosecArgv(report)
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Dir = dir
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || slices.Contains(stages.GosecOKCodes, ee.ExitCode()) || slices.Contains(stages.GosecFindingCodes, ee.ExitCode()) {
		t.Fatalf("gosec without packages: %v, want a tool-error exit code", err)
	}
	if _, err := os.Stat(report); err == nil {
		t.Errorf("gosec wrote a report although it failed")
	}
	// A bad flag exits 2.
	cmd = exec.Command(bin, "-no-such-flag", "./...")
	cmd.Dir = dir
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("bad flag: %v, want exit 2", err)
	}
}
