package stages_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// The semgrep samples are genuine semgrep SARIF, copied verbatim from GitLab's
// report library gitlab.com/gitlab-org/security-products/analyzers/report/v5
// at v5.3.0 (testdata/reports/, fetched through the Go module proxy; see
// testdata/SOURCES.md):
//
//	semgrep-0.69.1-nonmatching-nosem.sarif ← semgrep_nonmatching_nosem.sarif (semgrep 0.69.1)
//	semgrep-0.69.1-js-syntax-error.sarif   ← semgrep_js_syntax_error.sarif (semgrep 0.69.1)
//	semgrep-0.69.1-invalid-config.sarif    ← semgrep_invalid_config.sarif (semgrep 0.69.1)
//	semgrep-0.82.0-with-suppressions.sarif ← semgrep_with_suppressions.sarif (semgrep 0.82.0)

// semgrepCleanSARIF is the schema-true form of a clean semgrep 1.x run (the
// layout semgrep's own JSON and SARIF field reference shows): the rules that
// ran, an empty result list and a successful invocation.
const semgrepCleanSARIF = `{"$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json",
 "runs": [{"invocations": [{"executionSuccessful": true, "toolExecutionNotifications": []}],
  "results": [],
  "tool": {"driver": {"name": "Semgrep OSS", "semanticVersion": "1.100.0",
   "rules": [{"defaultConfiguration": {"level": "error"},
     "fullDescription": {"text": "Detected the use of eval()."},
     "helpUri": "https://semgrep.dev/r/python.lang.security.audit.eval-detected.eval-detected",
     "id": "python.lang.security.audit.eval-detected.eval-detected",
     "name": "python.lang.security.audit.eval-detected.eval-detected",
     "properties": {"precision": "very-high", "tags": ["CWE-95", "security"]},
     "shortDescription": {"text": "Semgrep Finding: python.lang.security.audit.eval-detected.eval-detected"}}]}}}],
 "version": "2.1.0"}`

func schSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// schWant is what a genuine sample must yield, in report order.
type schWant struct {
	rule     string
	severity findings.Severity
	path     string
	line     int
}

func schCheckWant(t *testing.T, fs []findings.Finding, want []schWant) {
	t.Helper()
	if len(fs) != len(want) {
		t.Fatalf("got %d findings, want %d: %+v", len(fs), len(want), fs)
	}
	for i, w := range want {
		f := fs[i]
		if f.RuleID != w.rule || f.Severity != w.severity || f.Location.Path != w.path || f.Location.Line != w.line {
			t.Errorf("finding %d: got %s %s %s:%d, want %s %s %s:%d", i,
				f.RuleID, f.Severity, f.Location.Path, f.Location.Line, w.rule, w.severity, w.path, w.line)
		}
	}
}

// schCheckOutput checks what every parser promises: valid findings of its
// stage and tool, with a message, and fingerprints that are set, unique and
// the same on a second parse of the same report.
func schCheckOutput(t *testing.T, stage, tool string, fs []findings.Finding, parse func() ([]findings.Finding, error)) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			t.Errorf("invalid finding %+v: %v", f, err)
		}
		if f.Stage != stage || f.Tool != tool {
			t.Errorf("finding %s: stage %q tool %q, want %q %q", f.RuleID, f.Stage, f.Tool, stage, tool)
		}
		if strings.TrimSpace(f.Message) == "" || f.RuleName == "" {
			t.Errorf("finding %s has no message or rule name", f.RuleID)
		}
		if f.Fingerprint == "" || seen[f.Fingerprint] {
			t.Errorf("finding %s: fingerprint %q missing or duplicated", f.RuleID, f.Fingerprint)
		}
		seen[f.Fingerprint] = true
	}
	again, err := parse()
	if err != nil {
		t.Fatalf("second parse: %v", err)
	}
	if len(again) != len(fs) {
		t.Fatalf("second parse gave %d findings, first %d", len(again), len(fs))
	}
	for i := range fs {
		if again[i].Fingerprint != fs[i].Fingerprint {
			t.Errorf("finding %d: fingerprint %s then %s", i, fs[i].Fingerprint, again[i].Fingerprint)
		}
	}
}

func schFingerprints(fs []findings.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Fingerprint
	}
	return out
}

func TestParseSemgrepGenuineSamples(t *testing.T) {
	const eval = "bandit.B307"
	for _, tc := range []struct {
		file string
		want []schWant
	}{
		// One result of rule bandit.B501, whose defaultConfiguration level is
		// "error"; the run also carries a warning notification about a stale
		// nosem comment, which must not fail the parse.
		{"semgrep-0.69.1-nonmatching-nosem.sarif", []schWant{
			{"bandit.B501", findings.SeverityHigh, "/builds/chris-semgrep/semgrep-exit-status-2/test.py", 5},
		}},
		// Syntax-error warnings in the invocation; one warning-level result.
		{"semgrep-0.69.1-js-syntax-error.sarif", []schWant{
			{"eslint.detect-non-literal-regexp", findings.SeverityMedium, "/builds/gitlab-com/gl-security/engineering-and-research/gib/reports/theme/static/js/chart.js", 13},
		}},
		// Five results: three suppressed in source (no status, "accepted"),
		// one suppression "underReview" that stays a finding, one plain.
		{"semgrep-0.82.0-with-suppressions.sarif", []schWant{
			{eval, findings.SeverityMedium, "/tmp/app/tests/test-ignore-yes.py", 6},
			{eval, findings.SeverityMedium, "/tmp/app/tests/test-ignore-yes.py", 14},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := schSample(t, tc.file)
			fs, err := stages.ParseSemgrep(data)
			if err != nil {
				t.Fatal(err)
			}
			schCheckWant(t, fs, tc.want)
			schCheckOutput(t, stages.SAST, "semgrep", fs, func() ([]findings.Finding, error) { return stages.ParseSemgrep(data) })
		})
	}
}

func TestParseSemgrepFields(t *testing.T) {
	fs, err := stages.ParseSemgrep(schSample(t, "semgrep-0.69.1-nonmatching-nosem.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	f := fs[0]
	if f.RuleName != "bandit.B501" || !strings.HasPrefix(f.Message, "Certificate verification has been explicitly disabled.") {
		t.Errorf("rule name %q message %q", f.RuleName, f.Message)
	}
	if f.Location.Column != 8 || f.Location.EndLine != 5 || f.Location.EndColumn != 40 {
		t.Errorf("location %+v", f.Location)
	}
	if !strings.Contains(strings.Join(f.Tags, "|"), "CWE-295: Improper Certificate Validation") {
		t.Errorf("tags %v", f.Tags)
	}
}

// Variants of the genuine nosem sample, each changed in one place.
func TestParseSemgrepVariants(t *testing.T) {
	orig := string(schSample(t, "semgrep-0.69.1-nonmatching-nosem.sarif"))
	const uri = "/builds/chris-semgrep/semgrep-exit-status-2/test.py"
	for _, tc := range []struct {
		name, old, new string
		path           string
		severity       findings.Severity
	}{
		{"source mounted at /src", uri, "/src/test.py", "test.py", findings.SeverityHigh},
		{"relative with ./", uri, "./app/test.py", "app/test.py", findings.SeverityHigh},
		{"file URI", uri, "file:///src/app/test.py", "app/test.py", findings.SeverityHigh},
		{"driver named Semgrep OSS (1.x)", `"name": "semgrep"`, `"name": "Semgrep OSS"`, uri, findings.SeverityHigh},
		{"numeric security-severity", `"precision": "very-high"`, `"precision": "very-high", "security-severity": "9.1"`, uri, findings.SeverityCritical},
		{"word security-severity", `"precision": "very-high"`, `"precision": "very-high", "security-severity": "LOW"`, uri, findings.SeverityLow},
		{"rule level note", "\"level\": \"error\"\n", "\"level\": \"note\"\n", uri, findings.SeverityLow},
		{"result level overrides the rule", `"ruleId": "bandit.B501"`, `"ruleId": "bandit.B501", "level": "warning"`, uri, findings.SeverityMedium},
		{"suppression rejected stays", `"ruleId": "bandit.B501"`, `"ruleId": "bandit.B501", "suppressions": [{"kind": "inSource", "status": "rejected"}]`, uri, findings.SeverityHigh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(orig, tc.old) {
				t.Fatalf("sample has no %q", tc.old)
			}
			fs, err := stages.ParseSemgrep([]byte(strings.ReplaceAll(orig, tc.old, tc.new)))
			if err != nil {
				t.Fatal(err)
			}
			schCheckWant(t, fs, []schWant{{"bandit.B501", tc.severity, tc.path, 5}})
			if fs[0].Tool != "semgrep" {
				t.Errorf("tool %q", fs[0].Tool)
			}
		})
	}

	// A nosemgrep suppression without status hides the only result.
	sup := strings.Replace(orig, `"ruleId": "bandit.B501"`, `"ruleId": "bandit.B501", "suppressions": [{"kind": "inSource"}]`, 1)
	if fs, err := stages.ParseSemgrep([]byte(sup)); err != nil || len(fs) != 0 {
		t.Errorf("suppressed result: %v, %v", fs, err)
	}
}

func TestParseSemgrepCleanScan(t *testing.T) {
	for name, in := range map[string]string{
		"semgrep 1.x clean run": semgrepCleanSARIF,
		"genuine 0.69.1 run with its result removed": strings.Replace(string(schSample(t, "semgrep-0.69.1-nonmatching-nosem.sarif")),
			`"results": [`, `"results": [], "removed": [`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			fs, err := stages.ParseSemgrep([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if fs == nil || len(fs) != 0 {
				t.Fatalf("clean scan gave %#v", fs)
			}
		})
	}
}

// Semgrep 1.x puts the matched code in region.snippet: two matches of one rule
// with one message in one file differ by it, and keep their fingerprints when
// their lines move.
func TestParseSemgrepSnippetIdentity(t *testing.T) {
	result := func(line, snippet string) string {
		return `{"ruleId": "python.lang.security.audit.eval-detected.eval-detected", "message": {"text": "Detected the use of eval()."},
		 "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app.py", "uriBaseId": "%SRCROOT%"},
		  "region": {"startLine": ` + line + `, "startColumn": 1, "endLine": ` + line + `, "endColumn": 20, "snippet": {"text": "` + snippet + `"}}}}]}`
	}
	report := func(l1, l2 string) []byte {
		return []byte(strings.Replace(semgrepCleanSARIF, `"results": []`,
			`"results": [`+result(l1, "eval(user_input)")+`, `+result(l2, "eval(request.args)")+`]`, 1))
	}
	fs, err := stages.ParseSemgrep(report("3", "9"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Severity != findings.SeverityHigh || fs[0].HelpURI == "" {
		t.Fatalf("findings %+v", fs)
	}
	for _, f := range fs {
		if strings.Contains(f.Fingerprint, ":") {
			t.Errorf("fingerprint %s needed an occurrence suffix: snippets should tell the matches apart", f.Fingerprint)
		}
	}
	moved, err := stages.ParseSemgrep(report("30", "90"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := schFingerprints(fs), schFingerprints(moved); strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("fingerprints changed with lines: %v then %v", a, b)
	}
}

func TestParseSemgrepFingerprintSurvivesLineMove(t *testing.T) {
	orig := string(schSample(t, "semgrep-0.82.0-with-suppressions.sarif"))
	a, err := stages.ParseSemgrep([]byte(orig))
	if err != nil {
		t.Fatal(err)
	}
	shifted := strings.NewReplacer(`"startLine": 6`, `"startLine": 60`, `"endLine": 6,`, `"endLine": 60,`,
		`"startLine": 14`, `"startLine": 140`, `"endLine": 16,`, `"endLine": 160,`).Replace(orig)
	b, err := stages.ParseSemgrep([]byte(shifted))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 2 || b[0].Location.Line != 60 || b[1].Location.Line != 140 {
		t.Fatalf("shifted sample: %+v", b)
	}
	if x, y := schFingerprints(a), schFingerprints(b); strings.Join(x, ",") != strings.Join(y, ",") {
		t.Errorf("fingerprints %v became %v", x, y)
	}
}

func TestParseSemgrepRejectsBadReports(t *testing.T) {
	genuine := string(schSample(t, "semgrep-0.69.1-nonmatching-nosem.sarif"))
	for name, in := range map[string]string{
		"empty":                  "",
		"whitespace":             " \n\t",
		"garbage":                "\x00\x01not json",
		"null":                   "null",
		"array":                  "[]",
		"empty object":           "{}",
		"no runs":                `{"version": "2.1.0", "runs": []}`,
		"truncated":              genuine[:len(genuine)/2],
		"trailing data":          genuine + "\n{}",
		"wrong version":          strings.Replace(genuine, `"version": "2.1.0"`, `"version": "2.0.0"`, 1),
		"another tool":           strings.Replace(genuine, `"name": "semgrep"`, `"name": "gosec"`, 1),
		"results an object":      `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep"}}, "results": {}}]}`,
		"result without rule":    strings.Replace(genuine, `"ruleId": "bandit.B501"`, `"message2": "x"`, 1),
		"invalid level":          strings.Replace(genuine, `"ruleId": "bandit.B501"`, `"ruleId": "bandit.B501", "level": "fatal"`, 1),
		"line as string":         strings.Replace(genuine, `"startLine": 5`, `"startLine": "5"`, 1),
		"execution failed":       strings.Replace(genuine, `"executionSuccessful": true`, `"executionSuccessful": false`, 1),
		"suppressions an object": strings.Replace(genuine, `"ruleId": "bandit.B501"`, `"ruleId": "bandit.B501", "suppressions": {"kind": "inSource"}`, 1),
		"snippet not text":       strings.Replace(genuine, `"startLine": 5`, `"startLine": 5, "snippet": {"text": 5}`, 1),
		// Genuine: semgrep rejected its rule configuration and ran nothing.
		"invalid config (genuine)": string(schSample(t, "semgrep-0.69.1-invalid-config.sarif")),
	} {
		t.Run(name, func(t *testing.T) {
			if in == genuine {
				t.Fatal("test input unchanged")
			}
			if fs, err := stages.ParseSemgrep([]byte(in)); err == nil {
				t.Fatalf("no error, got %d findings", len(fs))
			}
		})
	}
}

func FuzzParseSemgrep(f *testing.F) {
	for _, name := range []string{
		"semgrep-0.69.1-nonmatching-nosem.sarif",
		"semgrep-0.69.1-js-syntax-error.sarif",
		"semgrep-0.69.1-invalid-config.sarif",
		"semgrep-0.82.0-with-suppressions.sarif",
	} {
		f.Add(schSample(f, name))
	}
	f.Add([]byte(semgrepCleanSARIF))
	f.Add([]byte(`{"version": "2.1.0", "runs": [null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := stages.ParseSemgrep(data)
		if err != nil {
			return
		}
		for _, x := range fs {
			if x.Validate() != nil || x.Stage != stages.SAST || x.Tool != "semgrep" || x.Fingerprint == "" {
				t.Fatalf("bad finding %+v", x)
			}
		}
		if len(bytes.TrimSpace(data)) == 0 {
			t.Fatal("empty input parsed")
		}
	})
}
