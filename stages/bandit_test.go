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

// banditPlantedApp is the planted Python file of the bandit-1.6.2*.json
// samples (testdata/SOURCES.md) and of the real-tool tests.
const banditPlantedApp = `import pickle
import subprocess

import yaml


def calc(expr):
    return eval(expr)


def restore(blob):
    return pickle.loads(blob)


def settings(text):
    return yaml.load(text)


def run(cmd):
    return subprocess.call(cmd, shell=True)


if __name__ == "__main__":
    print(calc(input()))
`

const banditCleanApp = "import json\n\n\ndef load(text):\n    return json.loads(text)\n\n\nif __name__ == \"__main__\":\n    print(load(\"{}\"))\n"

type banditWant struct {
	rule string
	sev  findings.Severity
	line int
}

// The planted issues, as bandit 1.6.2 reports them in app.py.
var banditPlanted = []banditWant{
	{"B307", findings.SeverityMedium, 8},  // eval
	{"B301", findings.SeverityMedium, 12}, // pickle.loads
	{"B506", findings.SeverityMedium, 16}, // yaml.load without Loader
	{"B602", findings.SeverityHigh, 20},   // subprocess.call(shell=True)
}

// Found besides the planted ones: the imports, and input() (a Python 2 risk).
var banditIncidental = []banditWant{
	{"B403", findings.SeverityLow, 1},
	{"B404", findings.SeverityLow, 2},
	{"B322", findings.SeverityHigh, 24},
}

func banditFind(fs []findings.Finding, rule, file string) (findings.Finding, bool) {
	for _, f := range fs {
		if f.RuleID == rule && f.Location.Path == file {
			return f, true
		}
	}
	return findings.Finding{}, false
}

func checkBanditPlanted(t *testing.T, fs []findings.Finding, file string, want []banditWant) {
	t.Helper()
	for _, w := range want {
		f, ok := banditFind(fs, w.rule, file)
		if !ok {
			t.Errorf("planted %s not found in %s; got %+v", w.rule, file, fs)
			continue
		}
		if f.Severity != w.sev || f.Location.Line != w.line {
			t.Errorf("%s: severity %s line %d, want %s line %d", w.rule, f.Severity, f.Location.Line, w.sev, w.line)
		}
		if f.Stage != stages.SAST || f.Tool != "bandit" || f.RuleName == "" || f.Message == "" || f.Fingerprint == "" {
			t.Errorf("%s: %+v", w.rule, f)
		}
		if !strings.HasPrefix(f.HelpURI, "https://bandit.readthedocs.io/") || !slices.Contains(f.Tags, "confidence:high") {
			t.Errorf("%s: help %q tags %v", w.rule, f.HelpURI, f.Tags)
		}
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", w.rule, err)
		}
	}
}

func TestParseBanditGenuineSample(t *testing.T) {
	fs, err := stages.ParseBandit(readGosecBanditSample(t, "bandit-1.6.2.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(banditPlanted), banditIncidental...)
	if len(fs) != len(want) {
		t.Fatalf("got %d findings, want %d: %+v", len(fs), len(want), fs)
	}
	checkBanditPlanted(t, fs, "app.py", want)
	b602, _ := banditFind(fs, "B602", "app.py")
	if b602.RuleName != "subprocess_popen_with_shell_equals_true" ||
		b602.HelpURI != "https://bandit.readthedocs.io/en/latest/plugins/b602_subprocess_popen_with_shell_equals_true.html" ||
		b602.Message != "subprocess call with shell=True identified, security issue." {
		t.Errorf("B602: %+v", b602)
	}
	// B404's line_range is 2-3.
	if b404, _ := banditFind(fs, "B404", "app.py"); b404.Location.EndLine != 3 {
		t.Errorf("B404 location %+v", b404.Location)
	}
	// An absolute root is harmless for relative names.
	if gs, err := stages.ParseBanditIn(readGosecBanditSample(t, "bandit-1.6.2.json"), "/src"); err != nil || len(gs) != len(fs) {
		t.Fatalf("with root: %d findings, %v", len(gs), err)
	}
}

func TestParseBanditCleanSample(t *testing.T) {
	fs, err := stages.ParseBandit(readGosecBanditSample(t, "bandit-1.6.2-clean.json"))
	if err != nil || len(fs) != 0 {
		t.Fatalf("clean report: %+v, %v", fs, err)
	}
}

func TestParseBanditParseErrorsAreCoverageGaps(t *testing.T) {
	fs, err := stages.ParseBandit(readGosecBanditSample(t, "bandit-1.6.2-parse-error.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkBanditPlanted(t, fs, "app.py", banditPlanted)
	gap, ok := banditFind(fs, stages.BanditParseErrorRule, "broken.py")
	if !ok {
		t.Fatalf("unparsable broken.py vanished: %+v", fs)
	}
	if gap.Severity != findings.SeverityLow || !slices.Contains(gap.Tags, "coverage-gap") ||
		!strings.Contains(gap.Message, "broken.py") || !strings.Contains(gap.Message, "syntax error") {
		t.Errorf("parse error finding: %+v", gap)
	}
	if err := gap.Validate(); err != nil {
		t.Error(err)
	}

	// Nothing could be parsed: an error, never a clean result.
	fs, err = stages.ParseBandit(readGosecBanditSample(t, "bandit-1.6.2-all-broken.json"))
	if err == nil || !strings.Contains(err.Error(), "broken.py") {
		t.Fatalf("all files broken: %+v, %v", fs, err)
	}
}

func TestParseBanditFieldsOfNewerVersions(t *testing.T) {
	report := `{"errors":[],"metrics":{"./a.py":{"loc":3},"_totals":{"loc":3}},"results":[
	{"code":"3 x = 1\n4 eval(x)\n","filename":"./a.py","issue_confidence":"LOW","issue_severity":"LOW",
	 "issue_cwe":{"id":78,"link":"https://cwe.mitre.org/data/definitions/78.html"},"issue_text":"t","line_number":4,
	 "line_range":[4],"col_offset":4,"more_info":"","test_id":"B307","test_name":"blacklist"},
	{"code":"","filename":"./a.py","issue_confidence":"HIGH","issue_severity":"UNDEFINED","issue_text":"t",
	 "line_number":1,"line_range":[1],"more_info":"https://x","test_id":"B999","test_name":"custom"}]}`
	fs, err := stages.ParseBandit([]byte(report))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := banditFind(fs, "B307", "a.py")
	if f.Location.Column != 5 || !slices.Contains(f.Tags, "CWE-78") || !slices.Contains(f.Tags, "confidence:low") ||
		f.Severity != findings.SeverityLow || f.Message != "t (CWE-78)" || f.HelpURI == "" {
		t.Errorf("B307: %+v", f)
	}
	if u, _ := banditFind(fs, "B999", "a.py"); u.Severity != findings.SeverityLow {
		t.Errorf("UNDEFINED severity: %+v", u)
	}
}

func TestParseBanditRejectsBadReports(t *testing.T) {
	sample := string(readGosecBanditSample(t, "bandit-1.6.2.json"))
	result := func(fields string) string {
		return `{"errors":[],"metrics":{"./a.py":{"loc":1}},"results":[{` + fields + `}]}`
	}
	for name, in := range map[string]string{
		"empty":             "",
		"whitespace":        "\n ",
		"null":              "null",
		"array":             "[]",
		"empty object":      "{}",
		"gosec report":      string(readGosecBanditSample(t, "gosec-v2.30.0-clean.json")),
		"no results":        `{"errors":[],"metrics":{}}`,
		"null results":      `{"errors":[],"metrics":{},"results":null}`,
		"no errors":         `{"results":[],"metrics":{}}`,
		"no metrics":        `{"results":[],"errors":[]}`,
		"truncated":         sample[:len(sample)/2],
		"truncated end":     sample[:len(sample)-2],
		"trailing":          sample + "[]",
		"garbage":           "\xff\xfe<xml/>",
		"results object":    `{"errors":[],"metrics":{},"results":{}}`,
		"string line":       result(`"filename":"./a.py","issue_severity":"HIGH","test_id":"B1","line_number":"4"`),
		"negative line":     result(`"filename":"./a.py","issue_severity":"HIGH","test_id":"B1","line_number":-4`),
		"no test id":        result(`"filename":"./a.py","issue_severity":"HIGH","line_number":4`),
		"no file":           result(`"issue_severity":"HIGH","test_id":"B1","line_number":4`),
		"bad severity":      result(`"filename":"./a.py","issue_severity":"CRITICAL!","test_id":"B1","line_number":4`),
		"escaping path":     result(`"filename":"../a.py","issue_severity":"HIGH","test_id":"B1","line_number":4`),
		"absolute, no root": result(`"filename":"/etc/a.py","issue_severity":"HIGH","test_id":"B1","line_number":4`),
		"missing target":    `{"errors":[{"filename":"/nonexistent","reason":"No such file or directory"}],"metrics":{"_totals":{}},"results":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if fs, err := stages.ParseBandit([]byte(in)); err == nil {
				t.Fatalf("no error for %q, got %+v", in, fs)
			}
		})
	}
}

func FuzzParseBandit(f *testing.F) {
	for _, name := range []string{"bandit-1.6.2.json", "bandit-1.6.2-clean.json", "bandit-1.6.2-parse-error.json", "bandit-1.6.2-all-broken.json"} {
		f.Add(readGosecBanditSample(f, name))
	}
	f.Add([]byte(`{"errors":[],"metrics":{},"results":[{"filename":"./a.py","issue_severity":"LOW","test_id":"B1","line_number":1,"line_range":[1,9],"col_offset":0,"issue_cwe":{"id":"CWE-1"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, root := range []string{"", "/src"} {
			fs, err := stages.ParseBanditIn(data, root)
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
				if fd.Fingerprint == "" || fd.Stage != stages.SAST || fd.Tool != "bandit" {
					t.Fatalf("finding %+v", fd)
				}
			}
		}
	})
}

// banditBin is Debian's bandit from PATH. CI installs it, so a missing one
// fails the test instead of skipping it.
func banditBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("bandit")
	if err != nil {
		t.Fatalf("bandit is not on PATH (%v): install it with `apt-get install bandit` (Debian's 1.6.2, as CI does)", err)
	}
	return bin
}

// runBandit runs bandit with dagsec's argv in dir, the way the plan does,
// and returns its exit code and parsed report.
func runBandit(t *testing.T, dir string) (int, []findings.Finding, error) {
	t.Helper()
	bin := banditBin(t)
	report := filepath.Join(t.TempDir(), "bandit.json")
	argv := stages.BanditArgv(report)
	if argv[0] != "bandit" {
		t.Fatalf("argv[0] = %q", argv[0])
	}
	res := testenv.Exec(t, bin, dir, argv, nil, 5*time.Minute)
	code, out := res.Code, append(res.Stdout, res.Stderr...)
	if !slices.Contains(stages.BanditOKCodes, code) && !slices.Contains(stages.BanditFindingCodes, code) {
		t.Fatalf("bandit exited %d:\n%s", code, out)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("bandit wrote no report (exit %d): %v\n%s", code, err, out)
	}
	fs, err := stages.ParseBandit(data)
	return code, fs, err
}

func TestBanditFindsPlantedIssues(t *testing.T) {
	files := map[string]string{"app.py": banditPlantedApp, "pkg/__init__.py": "", "pkg/util.py": banditPlantedApp}
	// Folders dagsec tells bandit to leave out; .github is not one of them.
	for _, skipped := range []string{".git/hooks/h.py", ".venv/lib/v.py", "node_modules/p/n.py", "web/node_modules/q/n.py", "dagsec-report/r.py"} {
		files[skipped] = "eval(input())\n"
	}
	files[".github/scripts/ci.py"] = "eval(input())\n"
	code, fs, err := runBandit(t, testenv.Dir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(stages.BanditFindingCodes, code) {
		t.Errorf("exit code %d with findings, want one of %v", code, stages.BanditFindingCodes)
	}
	checkBanditPlanted(t, fs, "app.py", banditPlanted)
	checkBanditPlanted(t, fs, "pkg/util.py", banditPlanted)
	if _, ok := banditFind(fs, "B307", ".github/scripts/ci.py"); !ok {
		t.Errorf(".github/ was excluded along with .git/: %+v", fs)
	}
	for _, f := range fs {
		for _, dir := range []string{".git/", ".venv/", "node_modules/", "web/node_modules/", "dagsec-report/"} {
			if strings.HasPrefix(f.Location.Path, dir) {
				t.Errorf("excluded folder scanned: %s", f.Location.Path)
			}
		}
	}
}

func TestBanditCleanTreeHasNoFindings(t *testing.T) {
	code, fs, err := runBandit(t, testenv.Dir(t, map[string]string{"app.py": banditCleanApp}))
	if err != nil || len(fs) != 0 {
		t.Fatalf("clean tree: %+v, %v", fs, err)
	}
	if !slices.Contains(stages.BanditOKCodes, code) {
		t.Errorf("clean exit code %d, want one of %v", code, stages.BanditOKCodes)
	}
}

func TestBanditFingerprintSurvivesLineMove(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{"app.py": banditPlantedApp})
	_, before, err := runBandit(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Write(t, dir, map[string]string{"app.py": strings.Repeat("# padding\n", 12) + banditPlantedApp})
	_, after, err := runBandit(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range banditPlanted {
		b, _ := banditFind(before, w.rule, "app.py")
		a, _ := banditFind(after, w.rule, "app.py")
		if a.Location.Line != b.Location.Line+12 || a.Fingerprint != b.Fingerprint {
			t.Errorf("%s: line %d -> %d, fingerprint %s -> %s", w.rule, b.Location.Line, a.Location.Line, b.Fingerprint, a.Fingerprint)
		}
	}
}

func TestBanditUnparsableFiles(t *testing.T) {
	_, fs, err := runBandit(t, testenv.Dir(t, map[string]string{"app.py": banditPlantedApp, "broken.py": "def broken(:\n    pass\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := banditFind(fs, stages.BanditParseErrorRule, "broken.py"); !ok {
		t.Errorf("unparsable file vanished: %+v", fs)
	}
	checkBanditPlanted(t, fs, "app.py", banditPlanted)

	if _, fs, err := runBandit(t, testenv.Dir(t, map[string]string{"broken.py": "def broken(:\n    pass\n"})); err == nil {
		t.Fatalf("a tree bandit could not parse at all gave %+v", fs)
	}
}

func TestBanditBadArgumentsExitCode(t *testing.T) {
	bin := banditBin(t)
	dir := testenv.Dir(t, map[string]string{"app.py": banditCleanApp})
	for name, args := range map[string][]string{
		"unknown flag":       {"--no-such-flag"},
		"unwritable report":  {"-r", ".", "-f", "json", "-o", filepath.Join(dir, "missing", "dir", "r.json")},
		"unknown profile":    {"-r", ".", "-f", "json", "-o", filepath.Join(t.TempDir(), "r.json"), "-p", "no-such-profile"},
		"unknown report fmt": {"-r", ".", "-f", "nope"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		var ee *exec.ExitError
		err := cmd.Run()
		if !errors.As(err, &ee) || slices.Contains(stages.BanditOKCodes, ee.ExitCode()) || slices.Contains(stages.BanditFindingCodes, ee.ExitCode()) {
			t.Errorf("%s: %v, want a tool-error exit code", name, err)
		}
	}
}
