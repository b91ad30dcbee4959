package github_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports/github"
	"github.com/dagsec/dagsec/sarifio"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const secretIdentity = "IDENTITY-NEVER-PRINTED"

// awkward is text with every character workflow commands and Markdown
// tables care about.
const awkward = "line1\nline2, x: y 100% | `tick` *star* [link](x) <b>&\r\nend"

func sampleReport() *pipeline.Report {
	fs := []findings.Finding{
		{
			Stage: "secrets", Tool: "gitleaks", RuleID: "aws-access-token", Severity: findings.SeverityCritical,
			Message:  "AWS key, redacted: 100% sure\nsecond line",
			Location: findings.Location{Path: "src/a,b:c.go", Line: 3, EndLine: 3, Column: 5, EndColumn: 25},
			Identity: secretIdentity,
		},
		{
			Stage: "sast", Tool: "gosec", RuleID: "G101", Severity: findings.SeverityHigh,
			Message:  awkward,
			Location: findings.Location{Path: "pkg/x|y%z.go", Line: 10, EndLine: 12},
			Identity: secretIdentity,
		},
		{
			Stage: "sast", Tool: "semgrep", RuleID: "go.lang.audit,rule:1", Severity: findings.SeverityMedium,
			Message:  "no line here",
			Location: findings.Location{Path: "src/a,b:c.go"},
		},
		{
			Stage: "sca", Tool: "govulncheck", RuleID: "GO-2026-0001", Severity: findings.SeverityLow,
			Message:  "low: module required, never called",
			Location: findings.Location{Path: "go.mod", Line: 1, Column: 1},
		},
		{
			Stage: "sca", Tool: "govulncheck", RuleID: "GO-2026-0002", Severity: findings.SeverityInfo,
			Message: "info without a location",
		},
	}
	findings.AssignFingerprints(fs)
	findings.Sort(fs)
	count := func(stage string) findings.Counts {
		var sub []findings.Finding
		for _, f := range fs {
			if f.Stage == stage {
				sub = append(sub, f)
			}
		}
		return findings.CountBySeverity(sub)
	}
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &pipeline.Report{
		SchemaVersion: pipeline.SchemaVersion,
		Dagsec:        "test",
		Runner:        "host",
		Source:        "/src",
		Policy:        "default|`odd`",
		StartedAt:     started,
		FinishedAt:    started.Add(1500 * time.Millisecond),
		DurationMS:    1500,
		Status:        policies.StatusError,
		ExitCode:      2,
		Counts:        findings.CountBySeverity(fs),
		Findings:      fs,
		Errors:        []string{"stage sca: trivy: exited with code 2", "stage staging: deploy command failed: exit status 1"},
		Stages: []pipeline.StageReport{
			{
				Name: "secrets", Status: policies.StatusBlocked, Reason: "1 finding at or above info (1 critical)",
				BlockOn: "info", Findings: 1, Blocking: 1, Counts: count("secrets"),
				Tools: []pipeline.ToolReport{{Name: "gitleaks", Version: "v8.30.1", Runner: "host", ExitCode: 1, DurationMS: 120, Findings: 1}},
			},
			{
				Name: "sast", Status: policies.StatusBlocked, Reason: "1 finding at or above high (1 high), 1 below",
				BlockOn: "high", Findings: 2, Blocking: 1, Counts: count("sast"),
				Tools: []pipeline.ToolReport{
					{Name: "gosec", Version: "v2.30.0", Runner: "host", DurationMS: 300, Findings: 1},
					{Name: "semgrep", Version: "1.100.0", Runner: "host", DurationMS: 900, Findings: 1},
					{Name: "bandit", Runner: "host", Skipped: "no Python files | none"},
				},
			},
			{
				Name: "sca", Status: policies.StatusError, Reason: "1 tool error: trivy: exited with code 2; 2 findings below high",
				BlockOn: "high", Findings: 2, Counts: count("sca"),
				Errors: []string{"trivy: exited with code 2"},
				Tools: []pipeline.ToolReport{
					{Name: "govulncheck", Version: "v1.9.0", Runner: "host", DurationMS: 4000, Findings: 2, Database: "file:///vulndb"},
					{Name: "trivy", Version: "v0.74.0", Runner: "host", ExitCode: 2, Error: "exited with code 2:\npanic: `boom` | here"},
				},
			},
			{
				Name: "iac", Status: policies.StatusPassed, Reason: "no findings", BlockOn: "high", Counts: count("iac"),
				Tools: []pipeline.ToolReport{{Name: "checkov", Version: "3.2.255", Runner: "host", DurationMS: 50}},
			},
			{
				Name: "dockerfile", Status: policies.StatusWarned, Reason: "1 tool error: hadolint: timed out (on_tool_error: warn)",
				BlockOn: "high", Errors: []string{"hadolint: timed out"}, Counts: count("dockerfile"),
			},
			{Name: "staging", Status: policies.StatusError, Reason: "deploy command failed: exit status 1", Errors: []string{"deploy command failed: exit status 1"}},
			{Name: "production", Status: policies.StatusSkipped, Reason: "not deployed: secrets blocked"},
		},
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got, *update)
}

// command is one parsed workflow command.
type command struct {
	name    string
	props   map[string]string
	message string
}

var unescapeData = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%")
var unescapeProp = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")

// parseCommands reads workflow commands as the runner does: one per line,
// "::name k=v,k=v::message", properties split on commas.
func parseCommands(t *testing.T, out string) []command {
	t.Helper()
	var cmds []command
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "::")
		if !ok {
			t.Fatalf("line is not a workflow command: %q", line)
		}
		head, msg, ok := strings.Cut(rest, "::")
		if !ok {
			t.Fatalf("no message separator: %q", line)
		}
		name, props, _ := strings.Cut(head, " ")
		c := command{name: name, props: map[string]string{}, message: unescapeData.Replace(msg)}
		if props != "" {
			for _, kv := range strings.Split(props, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("bad property %q in %q", kv, line)
				}
				c.props[k] = unescapeProp.Replace(v)
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

func TestAnnotationsGolden(t *testing.T) {
	rep := sampleReport()
	var buf bytes.Buffer
	if err := github.Annotations(rep, &buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	golden(t, "annotations.golden", out)
	if strings.Contains(out, secretIdentity) {
		t.Errorf("annotations print a finding's identity")
	}

	cmds := parseCommands(t, out)
	var names []string
	for _, c := range cmds {
		names = append(names, c.name+" "+c.props["title"])
	}
	want := []string{
		"error dagsec: stage sca error",
		"error dagsec: stage staging error",
		"error aws-access-token (secrets/gitleaks, critical)",
		"error G101 (sast/gosec, high)",
		"warning dagsec: stage dockerfile warned",
		"warning go.lang.audit,rule:1 (sast/semgrep, medium)",
		"warning GO-2026-0001 (sca/govulncheck, low)",
		"notice GO-2026-0002 (sca/govulncheck, info)",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("annotations:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	// Escaping round-trips: the runner reads back exactly the finding's text.
	byTitle := map[string]command{}
	for _, c := range cmds {
		byTitle[c.props["title"]] = c
	}
	gosec := byTitle["G101 (sast/gosec, high)"]
	if gosec.message != awkward || gosec.props["file"] != "pkg/x|y%z.go" || gosec.props["line"] != "10" || gosec.props["endLine"] != "12" {
		t.Errorf("gosec annotation did not round-trip: %+v", gosec)
	}
	leak := byTitle["aws-access-token (secrets/gitleaks, critical)"]
	if leak.props["file"] != "src/a,b:c.go" || leak.props["col"] != "5" || leak.props["endColumn"] != "25" || !strings.Contains(leak.message, "\n") {
		t.Errorf("gitleaks annotation did not round-trip: %+v", leak)
	}
	if semgrep := byTitle["go.lang.audit,rule:1 (sast/semgrep, medium)"]; semgrep.props["file"] != "src/a,b:c.go" || semgrep.props["line"] != "" {
		t.Errorf("a finding without a line must annotate the file only: %+v", semgrep)
	}
	if info := byTitle["GO-2026-0002 (sca/govulncheck, info)"]; len(info.props) != 1 {
		t.Errorf("a finding without a location has no file: %+v", info)
	}
	if sca := byTitle["dagsec: stage sca error"]; !strings.Contains(sca.message, "trivy: exited with code 2") {
		t.Errorf("errored stage annotation lacks its reason: %q", sca.message)
	}
}

func TestAnnotationsCapped(t *testing.T) {
	rep := sampleReport()
	rep.Findings = nil
	for i := range 40 {
		sev := findings.Severities()[i%5]
		rep.Findings = append(rep.Findings, findings.Finding{
			Stage: "secrets", Tool: "gitleaks", RuleID: fmt.Sprintf("r%02d", i), Severity: sev,
			Message: "m", Location: findings.Location{Path: "f.go", Line: i + 1},
		})
	}
	// secrets blocks on info: all 40 are errors, of which 10 shown; the
	// stages add 2 errors and 1 warning.
	var buf bytes.Buffer
	if err := github.Annotations(rep, &buf); err != nil {
		t.Fatal(err)
	}
	cmds := parseCommands(t, buf.String())
	n := map[string]int{}
	for _, c := range cmds {
		n[c.name]++
	}
	if n["error"] != github.MaxErrors || n["warning"] != 1 || n["notice"] != 1 {
		t.Fatalf("counts %v, want 10 errors, 1 warning, 1 notice", n)
	}
	// Stage errors first, then the most severe findings (8 of the 40 are
	// critical).
	if cmds[0].props["title"] != "dagsec: stage sca error" {
		t.Errorf("first annotation %v, want the errored stage", cmds[0].props)
	}
	for _, c := range cmds[2:10] {
		if !strings.HasSuffix(c.props["title"], "critical)") {
			t.Errorf("not most severe first: %v", c.props["title"])
		}
	}
	last := cmds[len(cmds)-1]
	if last.name != "notice" || !strings.HasPrefix(last.message, "32 more annotations left out (32 errors, 0 warnings, 0 notices)") {
		t.Errorf("final notice: %+v", last)
	}

	// Notices are capped too, keeping the last slot for the count.
	rep = sampleReport()
	rep.Findings = nil
	for i := range 15 {
		rep.Findings = append(rep.Findings, findings.Finding{Stage: "sast", Tool: "gosec", RuleID: fmt.Sprintf("i%02d", i), Severity: findings.SeverityInfo, Message: "i"})
	}
	buf.Reset()
	if err := github.Annotations(rep, &buf); err != nil {
		t.Fatal(err)
	}
	cmds = parseCommands(t, buf.String())
	n = map[string]int{}
	for _, c := range cmds {
		n[c.name]++
	}
	last = cmds[len(cmds)-1]
	if n["notice"] != github.MaxNotices || !strings.HasPrefix(last.message, "6 more annotations left out (0 errors, 0 warnings, 6 notices)") {
		t.Errorf("notices %d, last %q", n["notice"], last.message)
	}
}

func TestSummaryGolden(t *testing.T) {
	rep := sampleReport()
	got := github.Summary(rep)
	golden(t, "summary.golden", got)
	if got != rep.Markdown() {
		t.Errorf("Summary must be the report's Markdown")
	}
	if strings.Contains(got, secretIdentity) {
		t.Errorf("summary prints a finding's identity")
	}
	// Every table row keeps its column count: no pipe or newline leaked.
	for _, line := range strings.Split(got, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") - 1
		if cells != 6 && cells != 7 && cells != 8 {
			t.Errorf("table row with %d cells: %s", cells, line)
		}
	}
	for _, want := range []string{
		"## What blocked and why", "**staging** (error)", "## Top findings (5 of 5)",
		"`src/a,b:c.go:3`", "`pkg/x\\|y%z.go:10`", "**sast/bandit** not run: no Python files \\| none",
		"**sca/trivy** failed: exited with code 2: panic: \\`boom\\` \\| here",
		"line1 line2, x: y 100% \\| \\`tick\\` \\*star\\* \\[link\\](x) &lt;b&gt;&amp; end",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestSummaryCut(t *testing.T) {
	rep := sampleReport()
	rep.Stages[2].Errors = []string{strings.Repeat("x", 2*github.MaxSummaryBytes)}
	got := github.Summary(rep)
	if len(got) > github.MaxSummaryBytes || !strings.Contains(got, "Summary cut") {
		t.Errorf("summary of %d bytes not cut to %d with a note", len(got), github.MaxSummaryBytes)
	}
}

func TestOutputs(t *testing.T) {
	got := github.Outputs(sampleReport())
	want := map[string]string{
		"passed": "false", "status": "error", "exit-code": "2", "findings": "5",
		"critical": "1", "high": "1", "medium": "1", "low": "1", "info": "1",
		"blocked-stages": "secrets,sast", "error-stages": "sca,staging",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outputs\n%v\nwant\n%v", got, want)
	}
	clean := &pipeline.Report{Status: policies.StatusWarned}
	if o := github.Outputs(clean); o["passed"] != "true" || o["critical"] != "0" || o["blocked-stages"] != "" {
		t.Errorf("warned run outputs %v", o)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"),
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
	}
	// The runner creates the files; a summary from an earlier step stays.
	if err := os.WriteFile(env["GITHUB_STEP_SUMMARY"], []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(env["GITHUB_OUTPUT"], nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(&stdout))
	rep := sampleReport()
	if err := github.Write(rep, a); err != nil {
		t.Fatal(err)
	}
	var ann bytes.Buffer
	if err := github.Annotations(rep, &ann); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != ann.String() {
		t.Errorf("Write's annotations differ from Annotations'")
	}
	summary, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if err != nil {
		t.Fatal(err)
	}
	if string(summary) != "earlier step\n"+github.Summary(rep)+"\n" {
		t.Errorf("GITHUB_STEP_SUMMARY is not the earlier content plus the summary:\n%s", summary)
	}
	out, err := os.ReadFile(env["GITHUB_OUTPUT"])
	if err != nil {
		t.Fatal(err)
	}
	// GITHUB_OUTPUT holds name<<DELIMITER / value / DELIMITER blocks.
	got := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i := 0; i < len(lines); i += 3 {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok || i+2 >= len(lines) || lines[i+2] != delim {
			t.Fatalf("GITHUB_OUTPUT is not name<<delimiter blocks:\n%s", out)
		}
		got[name] = lines[i+1]
	}
	if fmt.Sprint(got) != fmt.Sprint(github.Outputs(rep)) {
		t.Errorf("GITHUB_OUTPUT has %v, want %v", got, github.Outputs(rep))
	}

	// In GitHub Actions, missing files are an error, not a silent skip.
	delete(env, "GITHUB_OUTPUT")
	if err := github.Write(rep, a); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("missing GITHUB_OUTPUT: error %v", err)
	}
	// Outside it, only annotations are written.
	local := githubactions.New(githubactions.WithGetenv(func(string) string { return "" }), githubactions.WithWriter(&bytes.Buffer{}))
	if err := github.Write(rep, local); err != nil {
		t.Errorf("outside GitHub Actions: %v", err)
	}
	// A summary file that cannot be opened is an error, not a panic.
	env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "missing", "summary.md")
	if err := github.Write(rep, a); err == nil || !strings.Contains(err.Error(), "job summary") {
		t.Errorf("unwritable summary: error %v", err)
	}
}

func TestSARIFFilesForCodeScanning(t *testing.T) {
	rep := sampleReport()
	files, err := rep.SARIFFiles()
	if err != nil {
		t.Fatal(err)
	}
	one, err := rep.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !bytes.Equal(files["results.sarif"], one) {
		t.Fatalf("within the limits SARIFFiles is results.sarif = SARIF(); got %d files", len(files))
	}

	// 25 tools: two files, every category once, clean runs kept.
	rep.Stages = nil
	for i := range 25 {
		rep.Stages = append(rep.Stages, pipeline.StageReport{
			Name: fmt.Sprintf("s%d", i/5), Status: policies.StatusPassed,
			Tools: []pipeline.ToolReport{{Name: fmt.Sprintf("t%d", i), Version: "1.0.0", Runner: "host"}},
		})
	}
	rep.Findings = nil
	files, err = rep.SARIFFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files["results.sarif"] == nil || files["results-2.sarif"] == nil {
		t.Fatalf("files %v, want results.sarif and results-2.sarif", len(files))
	}
	ids := 0
	for name, f := range files {
		if err := sarifio.Validate(f); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		ids += strings.Count(string(f), `"id": "dagsec/`)
	}
	if ids != 25 {
		t.Errorf("%d automation ids, want 25", ids)
	}
}

// GitHub reads col and endColumn only on a one-line annotation: a finding
// over several lines is annotated by lines alone.
func TestAnnotationColumnsOnlyOnOneLine(t *testing.T) {
	for _, tc := range []struct {
		name             string
		loc              findings.Location
		col, endCol, end string
	}{
		{"one line", findings.Location{Path: "a.go", Line: 3, EndLine: 3, Column: 5, EndColumn: 9}, "5", "9", "3"},
		{"no end line", findings.Location{Path: "a.go", Line: 3, Column: 5}, "5", "", ""},
		{"several lines", findings.Location{Path: "a.go", Line: 3, EndLine: 7, Column: 5, EndColumn: 2}, "", "", "7"},
		{"several lines, end after start", findings.Location{Path: "a.go", Line: 3, EndLine: 4, Column: 5, EndColumn: 9}, "", "", "4"},
		{"end column before start", findings.Location{Path: "a.go", Line: 3, EndLine: 3, Column: 5, EndColumn: 2}, "5", "", "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &pipeline.Report{Findings: []findings.Finding{{Stage: "sast", Tool: "gosec", RuleID: "G101",
				Severity: findings.SeverityLow, Message: "m", Location: tc.loc}}}
			var buf bytes.Buffer
			if err := github.Annotations(rep, &buf); err != nil {
				t.Fatal(err)
			}
			cmds := parseCommands(t, buf.String())
			if len(cmds) != 1 {
				t.Fatalf("%d annotations: %s", len(cmds), buf.String())
			}
			p := cmds[0].props
			if p["col"] != tc.col || p["endColumn"] != tc.endCol || p["endLine"] != tc.end || p["line"] != "3" {
				t.Errorf("annotation %v, want col %q endColumn %q endLine %q", p, tc.col, tc.endCol, tc.end)
			}
		})
	}
}
