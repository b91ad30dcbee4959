package sarifio_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/sarifio"
)

func TestReadFindingsRoundTripsMerge(t *testing.T) {
	in := sampleRuns()
	data, err := sarifio.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sarifio.ReadFindings(data, "imported")
	if err != nil {
		t.Fatal(err)
	}
	var want []findings.Finding
	for _, tr := range in {
		want = append(want, tr.Findings...)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d findings, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		wantPath := strings.TrimPrefix(w.Location.Path, "./")
		wantLine := w.Location.Line
		if wantPath != "" {
			wantLine = max(wantLine, 1) // a file without a line is anchored at line 1
		}
		if g.Stage != "imported" || g.Tool != w.Tool || g.RuleID != w.RuleID || g.Severity != w.Severity ||
			g.Location != (findings.Location{Path: wantPath, Line: wantLine, EndLine: w.Location.EndLine, Column: w.Location.Column, EndColumn: w.Location.EndColumn}) ||
			g.Message != w.Message {
			t.Errorf("finding %d:\n got %+v\nwant %+v", i, g, w)
		}
		// Help and tags belong to the rule, so a finding gets its rule's.
		if w.HelpURI != "" && g.HelpURI != w.HelpURI {
			t.Errorf("finding %d: help %q, want %q", i, g.HelpURI, w.HelpURI)
		}
		if w.RuleName != "" && g.RuleName != w.RuleName {
			t.Errorf("finding %d: rule name %q, want %q", i, g.RuleName, w.RuleName)
		}
		if g.Identity != g.Message || g.Fingerprint == "" {
			t.Errorf("finding %d: identity %q, fingerprint %q", i, g.Identity, g.Fingerprint)
		}
		if err := g.Validate(); err != nil {
			t.Errorf("finding %d: %v", i, err)
		}
	}
	// Reading, merging and reading again keeps everything but tags, which
	// gain the new stage.
	again, err := sarifio.Marshal([]sarifio.ToolRun{
		{Stage: "imported", Tool: "gitleaks", Findings: got[:3]},
		{Stage: "imported", Tool: "gosec", Findings: got[3:]},
	})
	if err != nil {
		t.Fatal(err)
	}
	got2, err := sarifio.ReadFindings(again, "imported")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		a, b := got[i], got2[i]
		// Every rule comes back explained, the same both times.
		if a.Rule == nil || b.Rule == nil || *a.Rule != *b.Rule {
			t.Errorf("finding %d: rule %+v, then %+v", i, a.Rule, b.Rule)
		}
		a.Tags, b.Tags, a.Rule, b.Rule = nil, nil, nil, nil
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("second round trip changed finding %d:\n%+v\n%+v", i, got[i], got2[i])
		}
	}
}

func TestReadFindingsGitleaks(t *testing.T) {
	data, err := os.ReadFile("testdata/gitleaks-v8.30.1.sarif")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := sarifio.ReadFindings(data, "secrets")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("want 1 finding, got %d: %+v", len(fs), fs)
	}
	f := fs[0]
	want := findings.Location{Path: "config.py", Line: 3, EndLine: 3, Column: 23, EndColumn: 42}
	if f.RuleID != "aws-access-token" || f.Tool != "gitleaks" || f.Stage != "secrets" || f.Location != want {
		t.Fatalf("got %+v", f)
	}
	// gitleaks sets neither a level nor security-severity: SARIF's default
	// level "warning" applies.
	if f.Severity != findings.SeverityMedium {
		t.Errorf("severity %s, want medium", f.Severity)
	}
	if f.Message != "aws-access-token has detected secret for file config.py." {
		t.Errorf("message %q", f.Message)
	}
	if strings.Contains(fmt.Sprint(f), testenv.AWSKeyID) {
		t.Error("the secret reached a finding")
	}
	if err := sarifio.Validate(data); err != nil {
		t.Errorf("gitleaks' own SARIF fails the schema: %v", err)
	}
}

// sarifDoc wraps one run's driver and results in a SARIF log.
func sarifDoc(driver, results string) string {
	return `{"version":"2.1.0","runs":[{"tool":{"driver":` + driver + `},"results":[` + results + `]}]}`
}

const twoRules = `{"name":"t","rules":[
	{"id":"A","shortDescription":{"text":"rule A text"},"properties":{"security-severity":"9.1"}},
	{"id":"B","defaultConfiguration":{"level":"note"},"properties":{"security-severity":"not a number"}}]}`

func TestReadFindingsSeverity(t *testing.T) {
	for _, tc := range []struct {
		name, driver, result string
		want                 findings.Severity
	}{
		{"rule security-severity", twoRules, `{"ruleId":"A","ruleIndex":0,"message":{"text":"m"}}`, findings.SeverityCritical},
		{"rule found by id", twoRules, `{"ruleId":"A","level":"note","message":{"text":"m"}}`, findings.SeverityCritical},
		{"result overrides rule", twoRules, `{"ruleId":"A","message":{"text":"m"},"properties":{"security-severity":"7.0"}}`, findings.SeverityHigh},
		{"numeric score", twoRules, `{"ruleId":"A","message":{"text":"m"},"properties":{"security-severity":4}}`, findings.SeverityMedium},
		{"low", twoRules, `{"ruleId":"A","message":{"text":"m"},"properties":{"security-severity":"0.2"}}`, findings.SeverityLow},
		{"0.1 is info", twoRules, `{"ruleId":"A","message":{"text":"m"},"properties":{"security-severity":"0.1"}}`, findings.SeverityInfo},
		{"unparseable score falls back to rule default level", twoRules, `{"ruleId":"B","message":{"text":"m"}}`, findings.SeverityLow},
		{"result level wins over rule default", twoRules, `{"ruleId":"B","level":"error","message":{"text":"m"}}`, findings.SeverityHigh},
		{"warning", `{"name":"t"}`, `{"ruleId":"X","level":"warning","message":{"text":"m"}}`, findings.SeverityMedium},
		{"none", `{"name":"t"}`, `{"ruleId":"X","level":"none","message":{"text":"m"}}`, findings.SeverityInfo},
		{"no level anywhere is warning", `{"name":"t"}`, `{"ruleId":"X","message":{"text":"m"}}`, findings.SeverityMedium},
		{"kind review without level is none", `{"name":"t"}`, `{"ruleId":"X","kind":"review","message":{"text":"m"}}`, findings.SeverityInfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := sarifio.ReadFindings([]byte(sarifDoc(tc.driver, tc.result)), "sast")
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 || fs[0].Severity != tc.want {
				t.Fatalf("got %+v, want severity %s", fs, tc.want)
			}
		})
	}
}

func TestReadFindingsFields(t *testing.T) {
	for _, tc := range []struct {
		name, driver, result string
		check                func(findings.Finding) bool
	}{
		{"message falls back to shortDescription", twoRules, `{"ruleIndex":0,"message":{}}`,
			func(f findings.Finding) bool { return f.Message == "rule A text" && f.RuleID == "A" }},
		{"message from messageStrings", `{"name":"t","rules":[{"id":"A","messageStrings":{"m1":{"text":"bad {0} in {1}"}}}]}`,
			`{"ruleId":"A","message":{"id":"m1","arguments":["x","y"]}}`,
			func(f findings.Finding) bool { return f.Message == "bad x in y" }},
		{"file uri", `{"name":"t"}`, `{"ruleId":"X","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"file://./src/a%20b.go"},"region":{"startLine":7,"startColumn":2}}}]}`,
			func(f findings.Finding) bool {
				return f.Location == findings.Location{Path: "src/a b.go", Line: 7, Column: 2}
			}},
		{"first physical location wins", `{"name":"t"}`, `{"ruleId":"X","message":{"text":"m"},"locations":[{"logicalLocations":[{"name":"f"}]},{"physicalLocation":{"artifactLocation":{"uri":"./one.go"}}},{"physicalLocation":{"artifactLocation":{"uri":"two.go"}}}]}`,
			func(f findings.Finding) bool { return f.Location == findings.Location{Path: "one.go"} }},
		{"uri from run.artifacts", `{"name":"t"}`, `{"ruleId":"X","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"index":1},"region":{"startLine":3}}}]}`,
			func(f findings.Finding) bool { return f.Location == findings.Location{Path: "lib/b.go", Line: 3} }},
		{"artifact index out of range means no path", `{"name":"t"}`, `{"ruleId":"X","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"index":7},"region":{"startLine":3}}}]}`,
			func(f findings.Finding) bool { return f.Location == findings.Location{} }},
		{"ruleIndex -1 is SARIF's unset default", twoRules, `{"ruleId":"A","ruleIndex":-1,"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.go","index":-1}}}]}`,
			func(f findings.Finding) bool {
				return f.RuleID == "A" && f.Severity == findings.SeverityCritical && f.Location.Path == "a.go"
			}},
		{"hierarchical ruleId", `{"name":"t","rules":[{"id":"CA2000"}]}`, `{"ruleId":"CA2000/sub","ruleIndex":0,"message":{"text":"m"}}`,
			func(f findings.Finding) bool { return f.RuleID == "CA2000/sub" }},
		{"rule in an extension", `{"name":"t"}`, `{"rule":{"id":"E1","index":0,"toolComponent":{"index":0}},"message":{"text":"m"}}`,
			func(f findings.Finding) bool { return f.RuleID == "E1" && f.Severity == findings.SeverityCritical }},
		{"rule name and tags", `{"name":"t","rules":[{"id":"A","name":"NiceName","helpUri":"https://h","properties":{"tags":["security","cwe-79",3]}}]}`,
			`{"ruleId":"A","message":{"text":"m"},"properties":{"tags":["extra","security"]}}`,
			func(f findings.Finding) bool {
				return f.RuleName == "NiceName" && f.HelpURI == "https://h" && strings.Join(f.Tags, ",") == "security,cwe-79,extra"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := sarifDoc(tc.driver, tc.result)
			switch tc.name {
			case "rule in an extension":
				doc = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"},"extensions":[{"name":"pack","rules":[{"id":"E1","properties":{"security-severity":"9.9"}}]}]},"results":[` + tc.result + `]}]}`
			case "uri from run.artifacts", "artifact index out of range means no path":
				doc = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"}},"artifacts":[{"location":{"uri":"a.go"}},{"location":{"uri":"file://./lib/b.go"}}],"results":[` + tc.result + `]}]}`
			}
			fs, err := sarifio.ReadFindings([]byte(doc), "sast")
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 || !tc.check(fs[0]) {
				t.Fatalf("got %+v", fs)
			}
		})
	}
}

func TestReadFindingsSkipsPassingResults(t *testing.T) {
	doc := sarifDoc(`{"name":"t"}`, `{"ruleId":"X","kind":"pass","message":{"text":"ok"}},{"ruleId":"X","kind":"notApplicable","message":{"text":"n/a"}},{"ruleId":"X","kind":"fail","message":{"text":"bad"}}`)
	fs, err := sarifio.ReadFindings([]byte(doc), "sast")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Message != "bad" {
		t.Fatalf("got %+v", fs)
	}
}

func TestReadFindingsEmptyRuns(t *testing.T) {
	for _, doc := range []string{`{"version":"2.1.0","runs":[]}`, sarifDoc(`{"name":"t"}`, ``)} {
		fs, err := sarifio.ReadFindings([]byte(doc), "sast")
		if err != nil {
			t.Fatal(err)
		}
		if fs == nil || len(fs) != 0 {
			t.Fatalf("want an empty non-nil slice, got %#v", fs)
		}
	}
}

func TestReadFindingsErrors(t *testing.T) {
	full, err := os.ReadFile("testdata/gitleaks-v8.30.1.sarif")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", "", "empty"},
		{"blank", " \n\t", "empty"},
		{"empty object", "{}", "not a SARIF log"},
		{"binary garbage", "\x00\x01\xff\xfe\x89PNG\r\n\x1a\n", "not valid JSON"},
		{"truncated", string(full[:len(full)/2]), "not valid JSON"},
		{"json array", `[1,2]`, "unexpected structure"},
		{"json string", `"2.1.0"`, "unexpected structure"},
		{"no runs", `{"version":"2.1.0"}`, "not a SARIF log"},
		{"null runs", `{"version":"2.1.0","runs":null}`, "not a SARIF log"},
		{"no version", `{"runs":[]}`, "not a SARIF log"},
		{"other version", `{"version":"1.0.0","runs":[]}`, "unsupported version"},
		{"null run", `{"version":"2.1.0","runs":[null]}`, "run is null"},
		{"no driver", `{"version":"2.1.0","runs":[{"tool":{},"results":[]}]}`, "no tool.driver.name"},
		{"no driver name", sarifDoc(`{"rules":[]}`, ``), "no tool.driver.name"},
		{"null result", sarifDoc(`{"name":"t"}`, `null`), "result 0 is null"},
		{"ruleIndex out of range", sarifDoc(twoRules, `{"ruleId":"A","ruleIndex":2,"message":{"text":"m"}}`), "ruleIndex 2 out of range"},
		{"ruleIndex with no rules", sarifDoc(`{"name":"t"}`, `{"ruleId":"A","ruleIndex":0,"message":{"text":"m"}}`), "out of range"},
		{"huge ruleIndex", sarifDoc(twoRules, `{"ruleId":"A","ruleIndex":18446744073709551615,"message":{"text":"m"}}`), "out of range"},
		{"ruleIndex below -1", sarifDoc(twoRules, `{"ruleId":"A","ruleIndex":-2,"message":{"text":"m"}}`), "unexpected structure"},
		{"ruleIndex -1 without ruleId", sarifDoc(twoRules, `{"ruleIndex":-1,"message":{"text":"m"}}`), "no ruleId"},
		{"rule.index out of range", sarifDoc(twoRules, `{"rule":{"id":"A","index":5},"message":{"text":"m"}}`), "out of range"},
		{"ruleIndex disagrees with ruleId", sarifDoc(twoRules, `{"ruleId":"A","ruleIndex":1,"message":{"text":"m"}}`), "does not match"},
		{"extension out of range", sarifDoc(twoRules, `{"rule":{"id":"A","index":0,"toolComponent":{"index":3}},"message":{"text":"m"}}`), "toolComponent.index 3 out of range"},
		{"no rule id", sarifDoc(`{"name":"t"}`, `{"message":{"text":"m"}}`), "no ruleId"},
		{"invalid level", sarifDoc(`{"name":"t"}`, `{"ruleId":"X","level":"fatal","message":{"text":"m"}}`), "invalid level"},
		{"wrong types", sarifDoc(`{"name":"t"}`, `{"ruleId":7,"message":{"text":"m"}}`), "unexpected structure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := sarifio.ReadFindings([]byte(tc.doc), "sast")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (findings %+v), want one containing %q", err, fs, tc.want)
			}
		})
	}
	if _, err := sarifio.ReadFindings(full, ""); err == nil {
		t.Error("no stage must be an error")
	}
}

func FuzzReadFindings(f *testing.F) {
	fzSARIFSeeds(f)
	for _, seed := range [][]byte{
		[]byte(`{}`),
		[]byte(sarifDoc(twoRules, `{"ruleId":"A","ruleIndex":-1,"rule":{"index":-1},"message":{"text":"m"}}`)),
		[]byte(sarifDoc(twoRules, `{"ruleId":"A","ruleIndex":3,"message":{"text":"m"}}`)),
		[]byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"},"extensions":[null]},"results":[{"rule":{"toolComponent":{"index":0}},"message":{}}]}]}`),
		[]byte(sarifDoc(`{"name":"t"}`, `{"ruleId":"X","message":{"text":"m"},"locations":[null,{"physicalLocation":{"artifactLocation":{"index":9}}}]}`)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := sarifio.ReadFindings(data, "fuzz")
		if err != nil {
			return
		}
		for _, fd := range fs {
			if err := fd.Validate(); err != nil {
				t.Fatalf("ReadFindings returned an invalid finding: %v", err)
			}
		}
	})
}
