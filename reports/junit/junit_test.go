package junit_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/samples"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports/junit"
	"github.com/dagsec/dagsec/stages"
)

// What a JUnit reader sees.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Time       string `xml:"time,attr"`
		Timestamp  string `xml:"timestamp,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []xCase `xml:"testcase"`
	} `xml:"testsuite"`
}

type xCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      string    `xml:"time,attr"`
	Skipped   *xOutcome `xml:"skipped"`
	Error     *xOutcome `xml:"error"`
	Failure   *xOutcome `xml:"failure"`
	SystemOut string    `xml:"system-out"`
}

type xOutcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// A reason and a tool error with everything XML must escape, and a
// terminal colour code XML cannot hold at all.
const (
	nastyReason = `osv-scanner & trivy said "<none>" > 'zero'` + "\nsecond line\ttabbed"
	nastyError  = "exit 2: \x1b[31mERROR\x1b[0m open /src/<dir>&co: no such file"
)

func run(t *testing.T) (*pipeline.Report, []findings.Finding, []findings.Finding) {
	t.Helper()
	secrets, err := stages.ParseGitleaks(samples.Read(t, "gitleaks-v8.30.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	sast, err := stages.ParseGosecIn(samples.Read(t, "gosec-v2.30.0.json"), "/tmp/dagsec-sample/gosrc")
	if err != nil {
		t.Fatal(err)
	}
	// Enough blocking findings to pass the cap: the dast samples.
	dast, err := stages.ParseZAP(samples.Read(t, "zap-2.16.1-baseline.json"))
	if err != nil {
		t.Fatal(err)
	}
	wapiti, err := stages.ParseWapiti(samples.Read(t, "wapiti-3.0.4-planted.json"))
	if err != nil {
		t.Fatal(err)
	}
	dast = append(dast, wapiti...)
	for len(dast) <= junit.MaxListed {
		dast = append(dast, dast...)
	}
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	all := append(append(append([]findings.Finding{}, secrets...), sast...), dast...)
	findings.Sort(all)
	rep := &pipeline.Report{
		SchemaVersion: pipeline.SchemaVersion, Dagsec: "0.1.0-test", Runner: "host", Source: ".", Policy: "strict & <custom>",
		StartedAt: start, FinishedAt: start.Add(75300 * time.Millisecond), DurationMS: 75300,
		Status: policies.StatusError, ExitCode: 2, Errors: []string{}, Findings: all, Counts: findings.CountBySeverity(all),
		Stages: []pipeline.StageReport{
			{Name: stages.Secrets, Status: policies.StatusBlocked, Reason: "2 findings at or above info", BlockOn: "info",
				Findings: len(secrets), Blocking: len(secrets), DurationMS: 1250},
			{Name: stages.SAST, Status: policies.StatusWarned, Reason: "4 findings below critical", BlockOn: "critical",
				Findings: len(sast), DurationMS: 30500},
			{Name: stages.SCA, Status: policies.StatusError, Reason: nastyReason, DurationMS: 999,
				Errors: []string{"osv-scanner: " + nastyError},
				Tools:  []pipeline.ToolReport{{Name: "osv-scanner", Version: "v2.6.0", ExitCode: 2, Error: nastyError}}},
			{Name: stages.Licenses, Status: policies.StatusPassed, Reason: "no findings", DurationMS: 4000},
			{Name: stages.Build, Status: policies.StatusSkipped, Reason: "the host runner cannot build images"},
			{Name: stages.DAST, Status: policies.StatusBlocked, Reason: "findings at or above low", BlockOn: "low",
				Findings: len(dast), DurationMS: 60000},
		},
	}
	return rep, secrets, dast
}

func TestJUnit(t *testing.T) {
	rep, secrets, dast := run(t)
	data, err := junit.JUnit(rep)
	if err != nil {
		t.Fatal(err)
	}

	// Well-formed: every token parses to the end.
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := dec.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("not well-formed XML: %v\n%s", err, data)
			}
			break
		}
	}
	if !bytes.HasPrefix(data, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML declaration: %.60s", data)
	}

	var x xSuites
	if err := xml.Unmarshal(data, &x); err != nil {
		t.Fatal(err)
	}
	if x.Name != "dagsec" || x.Tests != 6 || x.Failures != 2 || x.Errors != 1 || x.Skipped != 0 || x.Time != "75.300" {
		t.Errorf("root: %+v", x)
	}
	if len(x.Suites) != 1 {
		t.Fatalf("%d suites", len(x.Suites))
	}
	s := x.Suites[0]
	if s.Name != "dagsec" || s.Tests != 6 || s.Failures != 2 || s.Errors != 1 || s.Skipped != 1 || s.Time != "75.300" ||
		s.Timestamp != "2026-11-20T09:30:00" || len(s.Cases) != 6 {
		t.Errorf("suite: %+v", s)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["policy"] != "strict & <custom>" || props["exit_code"] != "2" || props["dagsec_version"] != "0.1.0-test" || props["status"] != "error" {
		t.Errorf("properties %v", props)
	}
	for i, c := range s.Cases {
		if want := rep.Stages[i].Name; c.Name != want || c.Classname != "dagsec."+want {
			t.Errorf("case %d: %s / %s, want %s / dagsec.%s", i, c.Name, c.Classname, want, want)
		}
	}
	byName := map[string]xCase{}
	for _, c := range s.Cases {
		byName[c.Name] = c
	}

	sec := byName[stages.Secrets]
	if sec.Failure == nil || sec.Failure.Type != "blocked" || sec.Failure.Message != "2 findings at or above info" || sec.Time != "1.250" {
		t.Fatalf("secrets: %+v", sec)
	}
	for _, f := range secrets {
		if !strings.Contains(sec.Failure.Body, "[critical] gitleaks "+f.RuleID+" at "+f.Location.Path+":") {
			t.Errorf("blocked secrets case does not list %s:\n%s", f.RuleID, sec.Failure.Body)
		}
	}

	sast := byName[stages.SAST]
	if sast.Failure != nil || sast.Error != nil || sast.Skipped != nil || !strings.Contains(sast.SystemOut, "warned: 4 findings below critical") ||
		!strings.Contains(sast.SystemOut, "[medium] gosec G401 at main.go:15: ") {
		t.Errorf("sast: %+v", sast)
	}

	// Escaping: attributes and text read back exactly; the colour code,
	// which XML cannot carry, is replaced, not dropped with its neighbours.
	sca := byName[stages.SCA]
	if sca.Error == nil || sca.Error.Message != nastyReason || sca.Error.Type != "error" {
		t.Fatalf("sca: %+v", sca)
	}
	if want := "osv-scanner v2.6.0 failed (exit 2): exit 2: \uFFFD[31mERROR\uFFFD[0m open /src/<dir>&co: no such file"; !strings.Contains(sca.Error.Body, want) {
		t.Errorf("error body %q lacks %q", sca.Error.Body, want)
	}
	for _, raw := range []string{`message="osv-scanner &amp; trivy said &#34;&lt;none&gt;&#34; &gt; &#39;zero&#39;&#xA;second line&#x9;tabbed"`, "/src/&lt;dir&gt;&amp;co"} {
		if !bytes.Contains(data, []byte(raw)) {
			t.Errorf("output lacks the escaped %s:\n%s", raw, data)
		}
	}
	if bytes.ContainsRune(data, 0x1b) {
		t.Error("a control character reached the XML")
	}

	if lic := byName[stages.Licenses]; lic.Failure != nil || lic.Error != nil || lic.Skipped != nil || lic.SystemOut != "" || lic.Time != "4.000" {
		t.Errorf("licenses: %+v", lic)
	}
	if b := byName[stages.Build]; b.Skipped == nil || b.Skipped.Message != "the host runner cannot build images" || b.Time != "0.000" {
		t.Errorf("build: %+v", b)
	}

	// The cap: MaxListed findings, then a count of the rest.
	d := byName[stages.DAST]
	if d.Failure == nil {
		t.Fatalf("dast: %+v", d)
	}
	blocking := findings.AtLeast(dast, findings.SeverityLow)
	if n := strings.Count(d.Failure.Body, "\n- ["); n != junit.MaxListed {
		t.Errorf("dast lists %d findings, want %d", n, junit.MaxListed)
	}
	if !strings.Contains(d.Failure.Body, "and "+strconv.Itoa(len(blocking)-junit.MaxListed)+" more (see report.json)") ||
		!strings.Contains(d.Failure.Body, strconv.Itoa(len(blocking))+" blocking findings (low or above)") {
		t.Errorf("dast body:\n%s", d.Failure.Body)
	}
	if strings.Contains(d.Failure.Body, "[info]") {
		t.Error("info findings listed as blocking a low gate")
	}
}

func TestJUnitFromSavedReport(t *testing.T) {
	rep, _, _ := run(t)
	saved, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := pipeline.ReadReport(saved)
	if err != nil {
		t.Fatal(err)
	}
	a, err := junit.JUnit(rep)
	if err != nil {
		t.Fatal(err)
	}
	b, err := junit.JUnit(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("a saved report gives other XML than the run")
	}
}

func TestJUnitRejectsBadInput(t *testing.T) {
	if _, err := junit.JUnit(nil); err == nil {
		t.Error("nil report accepted")
	}
	rep := &pipeline.Report{Stages: []pipeline.StageReport{{Name: "sast", Status: "maybe"}}}
	if _, err := junit.JUnit(rep); err == nil {
		t.Error("unknown status accepted")
	}
	// A run with no stage is an empty, valid suite.
	data, err := junit.JUnit(&pipeline.Report{})
	if err != nil {
		t.Fatal(err)
	}
	var x xSuites
	if err := xml.Unmarshal(data, &x); err != nil || x.Tests != 0 || len(x.Suites) != 1 {
		t.Errorf("empty run: %v %+v", err, x)
	}
}

// Jenkins' xUnit plugin validates a JUnit file against its schema and
// skips one that does not validate: every shape of run must, checked by
// xmllint (Debian libxml2-utils) against the plugin's own XSD.
func TestJUnitValidatesAgainstJenkinsSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint is required (apt-get install libxml2-utils; make deps installs it): %v", err)
	}
	full, _, _ := run(t)
	for _, tc := range []struct {
		name string
		rep  *pipeline.Report
	}{
		{"every status, escapes, capped lists", full},
		{"no stage", &pipeline.Report{}},
		{"one skipped stage", &pipeline.Report{Stages: []pipeline.StageReport{{Name: stages.DAST, Status: policies.StatusSkipped, Reason: "no staging"}}}},
		{"long run", &pipeline.Report{DurationMS: 12345678, Stages: []pipeline.StageReport{{Name: stages.SAST, Status: policies.StatusPassed, DurationMS: 9876543}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := junit.JUnit(tc.rep)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), junit.FileName)
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "jenkins-xunit-junit-10.xsd"), file).CombinedOutput()
			if err != nil {
				t.Errorf("junit.xml does not validate against Jenkins xUnit's schema: %v\n%s\n%s", err, out, data)
			}
		})
	}
}

// The schema check is not vacuous: xmllint rejects the root attribute
// Jenkins reported ("Element 'testsuites', attribute 'skipped'").
func TestJenkinsSchemaRejectsRootSkipped(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint is required (apt-get install libxml2-utils): %v", err)
	}
	file := filepath.Join(t.TempDir(), "bad.xml")
	bad := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="dagsec" tests="1" failures="0" errors="0" skipped="1" time="1.000"><testsuite name="dagsec" tests="1" failures="0" errors="0" skipped="1" time="1.000"><testcase name="dast" classname="dagsec.dast" time="0.000"><skipped message="x"></skipped></testcase></testsuite></testsuites>
`
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "jenkins-xunit-junit-10.xsd"), file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "'skipped'") {
		t.Errorf("xmllint accepted skipped on testsuites: %v\n%s", err, out)
	}
}
