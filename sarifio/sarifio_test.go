package sarifio_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/sarifio"
)

const secretIdentity = "IDENTITY-MUST-NOT-LEAK"

func sampleRuns() []sarifio.ToolRun {
	secrets := []findings.Finding{
		{
			Stage: "secrets", Tool: "gitleaks", RuleID: "aws-access-token", RuleName: "aws-access-token",
			Severity: findings.SeverityCritical, Message: "AWS key in config <prod> & co",
			Location: findings.Location{Path: "./conf/app config.py", Line: 3, EndLine: 3, Column: 23, EndColumn: 42},
			HelpURI:  "https://github.com/gitleaks/gitleaks", Tags: []string{"secret", "aws"},
			Identity: secretIdentity + "-1",
		},
		{
			Stage: "secrets", Tool: "gitleaks", RuleID: "generic-api-key",
			Severity: findings.SeverityHigh, Message: "generic key",
			Location: findings.Location{Path: "src/main.go", Line: 10},
			Tags:     []string{"secret"}, Identity: secretIdentity + "-2",
		},
		{
			Stage: "secrets", Tool: "gitleaks", RuleID: "aws-access-token",
			Severity: findings.SeverityCritical, Message: "second AWS key",
			Location: findings.Location{Path: "deploy/env.sh", Line: 1},
			Identity: secretIdentity + "-3",
		},
	}
	findings.AssignFingerprints(secrets)
	sast := []findings.Finding{
		{
			Stage: "sast", Tool: "gosec", RuleID: "G101", RuleName: "Hardcoded credentials",
			Severity: findings.SeverityMedium, Message: "Potential hardcoded credentials",
			Location: findings.Location{Path: "internal/db.go", Line: 42, Column: 2},
		},
		{
			// No location at all, and a low and an info finding of one rule:
			// the rule takes the worse.
			Stage: "sast", Tool: "gosec", RuleID: "G104",
			Severity: findings.SeverityLow, Message: "Errors unhandled",
		},
		{
			Stage: "sast", Tool: "gosec", RuleID: "G104",
			Severity: findings.SeverityInfo, Message: "Errors unhandled (test)",
			Location: findings.Location{Path: "internal/db_test.go"},
		},
	}
	// No fingerprints on purpose: Merge must fill them in.
	return []sarifio.ToolRun{
		{Stage: "secrets", Tool: "gitleaks", Version: "v8.30.1", InformationURI: "https://github.com/gitleaks/gitleaks", Findings: secrets},
		{Stage: "sast", Tool: "gosec", Version: "2.21.4", Findings: sast},
		{Stage: "sca", Tool: "osv-scanner", Version: "weird build", Findings: nil},
	}
}

// decode parses JSON generically so tests see what was serialized, nulls
// included, not what go-sarif makes of it.
func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	return m
}

func obj(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want object, got %T (%v)", what, v, v)
	}
	return m
}

func arr(t *testing.T, v any, what string) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: want array, got %T (%v)", what, v, v)
	}
	return a
}

func TestMarshalValidatesAgainstSchema(t *testing.T) {
	data, err := sarifio.Marshal(sampleRuns())
	if err != nil {
		t.Fatal(err)
	}
	if err := sarifio.Validate(data); err != nil {
		t.Fatalf("merged SARIF is not schema-valid: %v\n%s", err, data)
	}
	again, err := sarifio.Marshal(sampleRuns())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatal("Marshal is not deterministic")
	}
	if bytes.Contains(data, []byte(secretIdentity)) {
		t.Fatal("Finding.Identity leaked into SARIF")
	}
}

func TestMergeStructure(t *testing.T) {
	in := sampleRuns()
	data, err := sarifio.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	log := decode(t, data)
	if log["version"] != "2.1.0" {
		t.Errorf("version = %v", log["version"])
	}
	runs := arr(t, log["runs"], "runs")
	if len(runs) != len(in) {
		t.Fatalf("got %d runs, want %d", len(runs), len(in))
	}
	for i, tr := range in {
		t.Run(tr.Stage+"/"+tr.Tool, func(t *testing.T) {
			run := obj(t, runs[i], "run")
			driver := obj(t, obj(t, run["tool"], "tool")["driver"], "driver")
			if driver["name"] != tr.Tool {
				t.Errorf("driver.name = %v, want %s", driver["name"], tr.Tool)
			}
			if driver["version"] != tr.Version {
				t.Errorf("driver.version = %v, want %s", driver["version"], tr.Version)
			}
			if got := obj(t, run["automationDetails"], "automationDetails")["id"]; got != "dagsec/"+tr.Stage+"/"+tr.Tool+"/" {
				t.Errorf("automationDetails.id = %v", got)
			}
			rules := arr(t, driver["rules"], "rules")
			results := arr(t, run["results"], "results")
			if len(results) != len(tr.Findings) {
				t.Fatalf("%d results, want %d", len(results), len(tr.Findings))
			}
			distinct := map[string]bool{}
			for _, f := range tr.Findings {
				distinct[f.RuleID] = true
			}
			if len(rules) != len(distinct) {
				t.Errorf("%d rules, want %d", len(rules), len(distinct))
			}
			for j, r := range rules {
				rule := obj(t, r, "rule")
				props := obj(t, rule["properties"], "rule.properties")
				if _, ok := props["security-severity"].(string); !ok {
					t.Errorf("rule %d has no security-severity string: %v", j, props)
				}
				tags := arr(t, props["tags"], "tags")
				if len(tags) < 2 || tags[0] != "security" || tags[1] != tr.Stage {
					t.Errorf("rule %d tags = %v", j, tags)
				}
				if obj(t, rule["shortDescription"], "shortDescription")["text"] == "" {
					t.Errorf("rule %d has no shortDescription", j)
				}
				if obj(t, rule["defaultConfiguration"], "defaultConfiguration")["level"] == nil {
					t.Errorf("rule %d has no default level", j)
				}
			}
			for j, r := range results {
				res := obj(t, r, "result")
				f := tr.Findings[j]
				idx, ok := res["ruleIndex"].(float64)
				if !ok || int(idx) < 0 || int(idx) >= len(rules) {
					t.Fatalf("result %d: ruleIndex %v out of %d rules", j, res["ruleIndex"], len(rules))
				}
				if got := obj(t, rules[int(idx)], "rule")["id"]; got != res["ruleId"] || got != f.RuleID {
					t.Errorf("result %d: ruleIndex %v points to %v, ruleId %v, want %s", j, idx, got, res["ruleId"], f.RuleID)
				}
				fp := obj(t, res["partialFingerprints"], "partialFingerprints")[sarifio.FingerprintKey]
				if s, _ := fp.(string); s == "" {
					t.Errorf("result %d: no %s", j, sarifio.FingerprintKey)
				}
				if f.Fingerprint != "" && fp != f.Fingerprint {
					t.Errorf("result %d: fingerprint %v, want %s", j, fp, f.Fingerprint)
				}
				if res["level"] != sarifio.Level(f.Severity) {
					t.Errorf("result %d: level %v, want %s", j, res["level"], sarifio.Level(f.Severity))
				}
				if got := obj(t, res["properties"], "result.properties")["severity"]; got != f.Severity.String() {
					t.Errorf("result %d: properties.severity %v", j, got)
				}
				if f.Location.Path == "" {
					if _, ok := res["locations"]; ok {
						t.Errorf("result %d: location without a path", j)
					}
					continue
				}
				pl := obj(t, obj(t, arr(t, res["locations"], "locations")[0], "location")["physicalLocation"], "physicalLocation")
				al := obj(t, pl["artifactLocation"], "artifactLocation")
				if al["uriBaseId"] != "%SRCROOT%" {
					t.Errorf("result %d: uriBaseId %v", j, al["uriBaseId"])
				}
				// Every result with a file has a region; line 0 is line 1.
				region, hasRegion := pl["region"]
				if !hasRegion || obj(t, region, "region")["startLine"] != float64(max(f.Location.Line, 1)) {
					t.Errorf("result %d: region %v for line %d", j, region, f.Location.Line)
				}
			}
		})
	}
	if !bytes.Contains(data, []byte(`"results": []`)) {
		t.Error(`the empty run does not serialize "results": []`)
	}
	if bytes.Contains(data, []byte("null")) {
		t.Errorf("output holds a null:\n%s", data)
	}
}

func TestMergeRuleSeverityIsWorstOfItsFindings(t *testing.T) {
	report, err := sarifio.Merge(sampleRuns())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		run, rule int
		id, sev   string
		level     string
	}{
		{0, 0, "aws-access-token", "9.5", "error"},
		{0, 1, "generic-api-key", "8.0", "error"},
		{1, 0, "G101", "5.5", "warning"},
		{1, 1, "G104", "2.0", "note"},
	} {
		r := report.Runs[tc.run].Tool.Driver.Rules[tc.rule]
		if r.ID != tc.id || r.Properties["security-severity"] != tc.sev || r.DefaultConfiguration.Level != tc.level {
			t.Errorf("run %d rule %d = %s %v %s, want %s %s %s", tc.run, tc.rule, r.ID, r.Properties["security-severity"], r.DefaultConfiguration.Level, tc.id, tc.sev, tc.level)
		}
	}
	gitleaks := report.Runs[0].Tool.Driver
	if gitleaks.SemanticVersion == nil || *gitleaks.SemanticVersion != "8.30.1" {
		t.Errorf("semanticVersion = %v", gitleaks.SemanticVersion)
	}
	if report.Runs[2].Tool.Driver.SemanticVersion != nil {
		t.Error("a non-semver version must not become semanticVersion")
	}
	tags := report.Runs[0].Tool.Driver.Rules[0].Properties["tags"]
	if got := strings.Join(tags.([]string), ","); got != "security,secrets,secret,aws" {
		t.Errorf("tags = %s", got)
	}
}

func TestMergeErrors(t *testing.T) {
	ok := findings.Finding{RuleID: "R1", Severity: findings.SeverityLow, Message: "m"}
	for _, tc := range []struct {
		name string
		runs []sarifio.ToolRun
		want string
	}{
		{"duplicate stage and tool", []sarifio.ToolRun{
			{Stage: "sast", Tool: "gosec"}, {Stage: "sca", Tool: "gosec"}, {Stage: "sast", Tool: "gosec"},
		}, "runs 0 and 2"},
		{"no tool", []sarifio.ToolRun{{Stage: "sast"}}, "stage and tool must be set"},
		{"no stage", []sarifio.ToolRun{{Tool: "gosec"}}, "stage and tool must be set"},
		{"invalid severity", []sarifio.ToolRun{{Stage: "sast", Tool: "gosec", Findings: []findings.Finding{{RuleID: "R1"}}}}, "invalid severity"},
		{"no rule id", []sarifio.ToolRun{{Stage: "sast", Tool: "gosec", Findings: []findings.Finding{{Severity: findings.SeverityLow}}}}, "no rule id"},
		{"finding of another stage", []sarifio.ToolRun{{Stage: "sast", Tool: "gosec", Findings: []findings.Finding{func() findings.Finding { f := ok; f.Stage = "sca"; return f }()}}}, `stage "sca"`},
		{"finding of another tool", []sarifio.ToolRun{{Stage: "sast", Tool: "gosec", Findings: []findings.Finding{func() findings.Finding { f := ok; f.Tool = "semgrep"; return f }()}}}, `tool "semgrep"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sarifio.Merge(tc.runs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if _, err := sarifio.Marshal(tc.runs); err == nil {
				t.Fatal("Marshal accepted what Merge rejects")
			}
		})
	}
}

func TestMergeNoRunsIsValid(t *testing.T) {
	for _, runs := range [][]sarifio.ToolRun{nil, {}} {
		data, err := sarifio.Marshal(runs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(`"runs": []`)) {
			t.Errorf("runs not an empty array:\n%s", data)
		}
		if err := sarifio.Validate(data); err != nil {
			t.Error(err)
		}
	}
}

func TestMergeDoesNotTouchInput(t *testing.T) {
	runs := sampleRuns()
	if _, err := sarifio.Merge(runs); err != nil {
		t.Fatal(err)
	}
	for _, f := range runs[1].Findings {
		if f.Fingerprint != "" {
			t.Fatal("Merge wrote fingerprints into the caller's findings")
		}
	}
}

func TestValidateReportsPaths(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		path      string // "" = only a non-schema error expected
	}{
		{"missing driver name", `{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[]}]}`, "(root).runs.0.tool.driver"},
		{"bad level", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`, "(root).runs.0.results.0.level"},
		{"negative line", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a"},"region":{"startLine":0}}}]}]}]}`, "(root).runs.0.results.0.locations.0.physicalLocation.region.startLine"},
		{"wrong version", `{"version":"2.0.0","runs":[]}`, "(root).version"},
		{"empty", ``, ""},
		{"not json", `{"version":`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sarifio.Validate([]byte(tc.doc))
			if err == nil {
				t.Fatal("want an error")
			}
			var se *sarifio.SchemaError
			if tc.path == "" {
				if errors.As(err, &se) {
					t.Fatalf("want a plain error, got schema problems: %v", err)
				}
				return
			}
			if !errors.As(err, &se) {
				t.Fatalf("want *SchemaError, got %v", err)
			}
			found := false
			for _, p := range se.Problems {
				found = found || p.Path == tc.path
			}
			if !found || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("no problem at %s in %v", tc.path, se.Problems)
			}
		})
	}
}

func TestMergeKeepsGivenFingerprints(t *testing.T) {
	fs := []findings.Finding{
		{RuleID: "R", Severity: findings.SeverityLow, Message: "a", Fingerprint: "given"},
		{RuleID: "R", Severity: findings.SeverityLow, Message: "b"},
	}
	report, err := sarifio.Merge([]sarifio.ToolRun{{Stage: "sast", Tool: "t", Findings: fs}})
	if err != nil {
		t.Fatal(err)
	}
	res := report.Runs[0].Results
	if res[0].PartialFingerprints[sarifio.FingerprintKey] != "given" {
		t.Errorf("given fingerprint replaced: %v", res[0].PartialFingerprints)
	}
	want := findings.Fingerprint(findings.Finding{Stage: "sast", Tool: "t", RuleID: "R"})
	if got := res[1].PartialFingerprints[sarifio.FingerprintKey]; got != want+":2" {
		t.Errorf("computed fingerprint %v, want %s:2", got, want)
	}
}

// A log whose compact JSON is over IndentLimit is written compact, the same
// JSON as indented; smaller logs are indented.
func TestEncodeIndentsOnlyBelowIndentLimit(t *testing.T) {
	small, err := sarifio.Marshal(sampleRuns())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(small, []byte("{\n  \"version\": \"2.1.0\",")) || !bytes.HasSuffix(small, []byte("}\n")) {
		t.Fatalf("small log not indented:\n%.200s", small)
	}
	var fs []findings.Finding
	for i := range 40_000 {
		fs = append(fs, findings.Finding{RuleID: fmt.Sprint("R", i%100), Severity: findings.SeverityHigh, Message: "m <a> & b",
			Location: findings.Location{Path: fmt.Sprintf("dir/file%d.go", i), Line: 1 + i}})
	}
	large, err := sarifio.Marshal([]sarifio.ToolRun{{Stage: "sast", Tool: "gosec", Findings: fs}})
	if err != nil {
		t.Fatal(err)
	}
	if len(large) <= sarifio.IndentLimit || bytes.Count(large, []byte("\n")) != 1 || !bytes.HasSuffix(large, []byte("}\n")) {
		t.Fatalf("log of %d bytes: want one line over %d bytes", len(large), sarifio.IndentLimit)
	}
	if !bytes.Contains(large, []byte("m <a> & b")) {
		t.Error("HTML characters escaped")
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, large, "", "  "); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, indented.Bytes()); err != nil || !bytes.Equal(compact.Bytes(), bytes.TrimSuffix(large, []byte("\n"))) {
		t.Fatalf("not compact JSON: %v", err)
	}
}
