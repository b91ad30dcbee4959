// Package junit writes a dagsec run report as JUnit XML, the test report
// format GitLab reads as a junit artifact report (the merge request's test
// summary and the pipeline's Tests tab) and GitHub's test reporter actions
// read: every stage's gate is a test case.
package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// FileName is the name dagsec gives the JUnit report next to report.json.
const FileName = "junit.xml"

// SuiteName names the one test suite, and prefixes every class name.
const SuiteName = "dagsec"

// MaxListed caps the findings a failure or a warning lists; the rest are
// counted, and report.json has them all.
const MaxListed = 25

// testSuites is the root. It has no skipped count: Jenkins' xUnit plugin
// validates against its JUnit schema (testdata/jenkins-xunit-junit-10.xsd),
// which does not allow one there, and skips the whole file otherwise; the
// suite carries it.
type testSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Suites   []testSuite `xml:"testsuite"`
}

type testSuite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr,omitempty"`
	Properties []property `xml:"properties>property"`
	Cases      []testCase `xml:"testcase"`
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type testCase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      string   `xml:"time,attr"`
	Skipped   *outcome `xml:"skipped"`
	Error     *outcome `xml:"error"`
	Failure   *outcome `xml:"failure"`
	SystemOut string   `xml:"system-out,omitempty"`
}

type outcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// JUnit returns the run as JUnit XML: a <testsuites> root holding one
// <testsuite name="dagsec">, whose properties are the run's dagsec version,
// policy, runner, source, status and exit code, and one <testcase> per
// stage, in pipeline order, with classname "dagsec.<stage>", name the
// stage and time its duration in seconds:
//
//   - blocked: <failure type="blocked" message="REASON">, its body the
//     reason and the findings at or above the gate's block_on severity
//     (the first MaxListed, most severe first; the rest counted);
//   - error: <error type="error" message="REASON">, its body the stage's
//     errors and each failed tool's error;
//   - skipped: <skipped message="REASON"/>;
//   - passed: a passing case; warned: a passing case whose <system-out>
//     lists the reason and the findings below the gate.
//
// tests, failures and errors count the cases on both the suite and the
// root, skipped on the suite (Jenkins' schema allows it nowhere else). Text is escaped by encoding/xml; characters XML cannot
// hold (control characters a tool's error may carry) become U+FFFD.
func JUnit(rep *pipeline.Report) ([]byte, error) {
	if rep == nil {
		return nil, fmt.Errorf("junit: no run report")
	}
	byStage := map[string][]findings.Finding{}
	for _, f := range rep.Findings {
		byStage[f.Stage] = append(byStage[f.Stage], f)
	}
	suite := testSuite{
		Name: SuiteName,
		Time: seconds(rep.DurationMS),
		Properties: []property{
			{"dagsec_version", rep.Dagsec},
			{"policy", rep.Policy},
			{"runner", rep.Runner},
			{"source", rep.Source},
			{"status", string(rep.Status)},
			{"exit_code", strconv.Itoa(rep.ExitCode)},
		},
	}
	if !rep.StartedAt.IsZero() {
		suite.Timestamp = rep.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	for _, s := range rep.Stages {
		c := testCase{Name: s.Name, Classname: SuiteName + "." + s.Name, Time: seconds(s.DurationMS)}
		fs := byStage[s.Name]
		switch s.Status {
		case policies.StatusBlocked:
			suite.Failures++
			c.Failure = &outcome{Message: s.Reason, Type: "blocked", Body: blockedBody(s, fs)}
		case policies.StatusError:
			suite.Errors++
			c.Error = &outcome{Message: s.Reason, Type: "error", Body: errorBody(s)}
		case policies.StatusSkipped:
			suite.Skipped++
			c.Skipped = &outcome{Message: s.Reason}
		case policies.StatusWarned:
			c.SystemOut = warnedOut(s, fs)
		case policies.StatusPassed:
		default:
			return nil, fmt.Errorf("junit: stage %s has unknown status %q", s.Name, s.Status)
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	root := testSuites{
		Name: SuiteName, Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: suite.Time, Suites: []testSuite{suite},
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// seconds is a duration in milliseconds as JUnit's time: seconds, three
// decimals.
func seconds(ms int64) string {
	return strconv.FormatFloat(float64(max(ms, 0))/1000, 'f', 3, 64)
}

// blocking are the findings that count toward the gate (not suppressed, not
// known to a baseline) at or above the stage's block_on severity (all of
// them when it names none).
func blocking(s pipeline.StageReport, fs []findings.Finding) []findings.Finding {
	var gating []findings.Finding
	for _, f := range fs {
		if policies.Gates(f) {
			gating = append(gating, f)
		}
	}
	if gate, err := findings.ParseSeverity(s.BlockOn); err == nil {
		return findings.AtLeast(gating, gate)
	}
	return gating
}

func blockedBody(s pipeline.StageReport, fs []findings.Finding) string {
	var b strings.Builder
	b.WriteString(s.Reason)
	if bl := blocking(s, fs); len(bl) > 0 {
		gate := ""
		if s.BlockOn != "" {
			gate = " (" + s.BlockOn + " or above)"
		}
		fmt.Fprintf(&b, "\n\n%d blocking finding%s%s:\n", len(bl), plural(len(bl)), gate)
		list(&b, bl)
	}
	for _, e := range s.Errors {
		b.WriteString("\nerror: " + e)
	}
	return b.String()
}

func errorBody(s pipeline.StageReport) string {
	var b strings.Builder
	b.WriteString(s.Reason)
	for _, e := range s.Errors {
		b.WriteString("\n" + e)
	}
	for _, t := range s.Tools {
		if t.Error != "" {
			fmt.Fprintf(&b, "\n%s %s failed (exit %d): %s", t.Name, t.Version, t.ExitCode, t.Error)
		}
	}
	return b.String()
}

func warnedOut(s pipeline.StageReport, fs []findings.Finding) string {
	var b strings.Builder
	b.WriteString("warned: " + s.Reason)
	if len(fs) > 0 {
		fmt.Fprintf(&b, "\n\n%d finding%s:\n", len(fs), plural(len(fs)))
		list(&b, fs)
	}
	for _, t := range s.Tools {
		if t.Error != "" {
			fmt.Fprintf(&b, "\n%s failed: %s", t.Name, t.Error)
		}
	}
	return b.String()
}

// list writes up to MaxListed findings, one a line, and counts the rest.
func list(b *strings.Builder, fs []findings.Finding) {
	for i, f := range fs {
		if i == MaxListed {
			fmt.Fprintf(b, "... and %d more (see report.json)\n", len(fs)-MaxListed)
			break
		}
		loc := f.Location.Path
		if f.Location.Line > 0 {
			loc += ":" + strconv.Itoa(f.Location.Line)
		}
		fmt.Fprintf(b, "- [%s] %s %s", f.Severity, f.Tool, f.RuleID)
		if loc != "" {
			b.WriteString(" at " + loc)
		}
		b.WriteString(": " + oneLine(f.Message) + "\n")
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
