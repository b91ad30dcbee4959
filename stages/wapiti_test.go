package stages_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

const wapitiBin = "/usr/bin/wapiti"

type wapitiWant struct {
	rule, path, param string
	sev               findings.Severity
	n                 int // findings of this rule at this path
}

func wapitiCount(fs []findings.Finding, rule, path string) int {
	n := 0
	for _, f := range fs {
		if f.RuleID == rule && f.Location.Path == "" && f.Location.Where() == path {
			n++
		}
	}
	return n
}

func wapitiFind(fs []findings.Finding, rule, path string) (findings.Finding, bool) {
	for _, f := range fs {
		if f.RuleID == rule && f.Location.Path == "" && f.Location.Where() == path {
			return f, true
		}
	}
	return findings.Finding{}, false
}

// The sample app's planted XSS, and the headers it does not set.
var wapitiSampleApp = []wapitiWant{
	{"wapiti-xss", "/search", "q", findings.SeverityMedium, 1},
	{"wapiti-csp", "/", "", findings.SeverityLow, 1},
	{"wapiti-http-headers", "/", "", findings.SeverityLow, 4},
}

func checkWapiti(t *testing.T, fs []findings.Finding, want []wapitiWant) {
	t.Helper()
	for _, w := range want {
		if n := wapitiCount(fs, w.rule, w.path); n != w.n {
			t.Errorf("%s at %s: %d findings, want %d: %+v", w.rule, w.path, n, w.n, fs)
			continue
		}
		f, _ := wapitiFind(fs, w.rule, w.path)
		if f.Severity != w.sev || f.Stage != stages.DAST || f.Tool != "wapiti" || f.Fingerprint == "" || f.RuleName == "" ||
			!strings.HasPrefix(f.HelpURI, "http") || !slices.Contains(f.Tags, "dast") {
			t.Errorf("%s: %+v", w.rule, f)
		}
		if w.param != "" && (!strings.Contains(f.Message, "(GET "+w.path+", parameter "+w.param+")") ||
			!strings.HasPrefix(f.Identity, "GET|"+w.path+"|"+w.param+"|")) {
			t.Errorf("%s: parameter %s not in %q / %q", w.rule, w.param, f.Message, f.Identity)
		}
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", w.rule, err)
		}
	}
}

func TestParseWapitiGenuineSamples(t *testing.T) {
	fs, err := stages.ParseWapiti(readDASTSample(t, "wapiti-3.0.4-sample-app.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 6 {
		t.Errorf("sample app: %d findings, want 6: %+v", len(fs), fs)
	}
	checkWapiti(t, fs, wapitiSampleApp)
	xss, _ := wapitiFind(fs, "wapiti-xss", "/search")
	if xss.Message != "XSS vulnerability found via injection in the parameter q (GET /search, parameter q)" ||
		xss.RuleName != "Cross Site Scripting" || !slices.Contains(xss.Tags, "CWE-79") ||
		!strings.HasPrefix(xss.HelpURI, "https://owasp.org/") {
		t.Errorf("XSS finding %+v", xss)
	}

	// Cookies without flags, an SQL error, a reflected parameter and a 500
	// on a quote, which three modules report alike: kept once.
	fs, err = stages.ParseWapiti(readDASTSample(t, "wapiti-3.0.4-planted.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 10 {
		t.Errorf("planted: %d findings, want 10: %+v", len(fs), fs)
	}
	checkWapiti(t, fs, []wapitiWant{
		{"wapiti-sqli", "/user", "name", findings.SeverityCritical, 1},
		{"wapiti-xss", "/greet", "who", findings.SeverityMedium, 1},
		{"wapiti-cookie-httponly", "/", "", findings.SeverityLow, 1},
		{"wapiti-cookie-secure", "/", "", findings.SeverityLow, 1},
		{"wapiti-internal-error", "/item", "id", findings.SeverityHigh, 1},
		{"wapiti-http-headers", "/", "", findings.SeverityLow, 4},
	})
	if f, _ := wapitiFind(fs, "wapiti-internal-error", "/item"); !slices.Contains(f.Tags, "anomaly") {
		t.Errorf("anomaly not tagged: %+v", f)
	}
	if f, _ := wapitiFind(fs, "wapiti-cookie-httponly", "/"); !strings.Contains(f.Message, "cookie : session") {
		t.Errorf("cookie finding %+v", f)
	}
}

func TestParseWapitiUnreachableTargetIsAnError(t *testing.T) {
	// What wapiti 3.0.4 writes, with exit code 0, for a port nothing listens on.
	fs, err := stages.ParseWapiti(readDASTSample(t, "wapiti-3.0.4-unreachable.json"))
	if err == nil || !strings.Contains(err.Error(), "never reached") || !strings.Contains(err.Error(), "http://127.0.0.1:9/") {
		t.Fatalf("empty report: %+v, %v", fs, err)
	}
}

// wapitiReport wraps entries into a report of the 3.0.4 shape.
func wapitiReport(section, category, entries string) string {
	sections := map[string]string{"vulnerabilities": "{}", "anomalies": "{}", "additionals": "{}"}
	sections[section] = `{"` + category + `": [` + entries + `]}`
	return `{"classifications": {}, "vulnerabilities": ` + sections["vulnerabilities"] + `, "anomalies": ` + sections["anomalies"] +
		`, "additionals": ` + sections["additionals"] + `, "infos": {"target": "http://a/", "version": "Wapiti 3.0.4", "scope": "folder"}}`
}

func TestParseWapitiEntries(t *testing.T) {
	entry := func(level, info string) string {
		return `{"method": "POST", "path": "/login", "info": ` + info + `, "level": ` + level + `, "parameter": "user", "http_request": "", "curl_command": ""}`
	}
	long := `"` + strings.Repeat("<script>alert(1)</script>", 40) + `"`
	for _, tc := range []struct {
		name, section, category, entries string
		check                            func(t *testing.T, f findings.Finding)
	}{
		{"level as text", "vulnerabilities", "SQL Injection", entry(`"3"`, `"x"`), func(t *testing.T, f findings.Finding) {
			if f.Severity != findings.SeverityHigh || f.RuleID != "wapiti-sqli" || f.HelpURI != "https://wapiti-scanner.github.io/" {
				t.Errorf("%+v", f)
			}
		}},
		{"level 0", "vulnerabilities", "Backup file", entry("0", `"x"`), func(t *testing.T, f findings.Finding) {
			if f.Severity != findings.SeverityInfo {
				t.Errorf("%+v", f)
			}
		}},
		{"additional is info", "additionals", "Fingerprint web technology", entry("1", `"{\"name\": \"nginx\"}"`), func(t *testing.T, f findings.Finding) {
			if f.Severity != findings.SeverityInfo || f.RuleID != "wapiti-fingerprint" || !slices.Contains(f.Tags, "additional") {
				t.Errorf("%+v", f)
			}
		}},
		{"unknown category", "vulnerabilities", "Some New Check (beta)", entry("2", `""`), func(t *testing.T, f findings.Finding) {
			if f.RuleID != "wapiti-some-new-check-beta" || f.Message != "Some New Check (beta) (POST /login, parameter user)" {
				t.Errorf("%+v", f)
			}
		}},
		{"payload clipped", "vulnerabilities", "Cross Site Scripting", entry("2", long), func(t *testing.T, f findings.Finding) {
			if len([]rune(f.Message)) > 260 || !strings.Contains(f.Message, "…") {
				t.Errorf("message not clipped: %d characters", len([]rune(f.Message)))
			}
		}},
		{"credentials left out", "vulnerabilities", "Weak credentials",
			entry("1", `"Credentials found for URL http://a/login : admin / S3cr3t!"`), func(t *testing.T, f findings.Finding) {
				if strings.Contains(f.Message, "S3cr3t") || strings.Contains(f.Identity, "S3cr3t") || f.RuleID != "wapiti-weak-credentials" {
					t.Errorf("%+v", f)
				}
			}},
		{"empty path is the root", "vulnerabilities", "Open Redirect",
			`{"method": "get", "path": "", "info": "x", "level": 1, "parameter": ""}`, func(t *testing.T, f findings.Finding) {
				if f.Location.Where() != "/" || f.Message != "x (GET /)" {
					t.Errorf("%+v", f)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := stages.ParseWapiti([]byte(wapitiReport(tc.section, tc.category, tc.entries)))
			if err != nil || len(fs) != 1 {
				t.Fatalf("%d findings, %v", len(fs), err)
			}
			tc.check(t, fs[0])
		})
	}
}

func TestParseWapitiRejectsBadReports(t *testing.T) {
	sample := string(readDASTSample(t, "wapiti-3.0.4-sample-app.json"))
	vuln := func(entry string) string { return wapitiReport("vulnerabilities", "Cross Site Scripting", entry) }
	for name, in := range map[string]string{
		"empty":              "",
		"whitespace":         "\n",
		"null":               "null",
		"array":              "[]",
		"empty object":       "{}",
		"no vulnerabilities": `{"anomalies": {}, "additionals": {}, "infos": {"version": "Wapiti 3.0.4"}}`,
		"no anomalies":       `{"vulnerabilities": {}, "additionals": {}, "infos": {"version": "Wapiti 3.0.4"}}`,
		"no infos":           `{"vulnerabilities": {}, "anomalies": {}, "additionals": {}}`,
		"not wapiti":         strings.Replace(sample, `"version": "Wapiti 3.0.4"`, `"version": "3.0.4"`, 1),
		"entries not a list": `{"vulnerabilities": {"XSS": {}}, "anomalies": {}, "additionals": {}, "infos": {"version": "Wapiti 3.0.4"}}`,
		"no level":           vuln(`{"method": "GET", "path": "/", "info": "x", "parameter": ""}`),
		"null level":         vuln(`{"method": "GET", "path": "/", "info": "x", "level": null, "parameter": ""}`),
		"level 5":            vuln(`{"method": "GET", "path": "/", "info": "x", "level": 5, "parameter": ""}`),
		"level word":         vuln(`{"method": "GET", "path": "/", "info": "x", "level": "high", "parameter": ""}`),
		"no path":            vuln(`{"method": "GET", "info": "x", "level": 1, "parameter": ""}`),
		"no method":          vuln(`{"path": "/", "info": "x", "level": 1, "parameter": ""}`),
		"truncated":          sample[:len(sample)/2],
		"truncated end":      sample[:len(sample)-3],
		"trailing":           sample + "{}",
		"zap report":         string(readDASTSample(t, "zap-2.16.1-baseline.json")),
		"txt report":         "Wapiti 3.0.4 - wapiti.sourceforge.io\nReport for http://a/",
		"garbage":            "\xff\xfe",
	} {
		if fs, err := stages.ParseWapiti([]byte(in)); err == nil {
			t.Errorf("%s: accepted, %d findings", name, len(fs))
		}
	}
}

// runWapitiPlan runs the dast/wapiti step for target with the real wapiti,
// the way the host runner would: placeholders expanded to private folders,
// a small environment plus the step's own.
func runWapitiPlan(t *testing.T, target string) (stages.Plan, testenv.ExecResult, string) {
	t.Helper()
	plans, err := stages.PlanStage(context.Background(), stages.DAST,
		stages.Options{Target: target, Tools: []string{"wapiti"}}, dastProbe{tools: []string{"wapiti"}})
	if err != nil || len(plans) != 1 {
		t.Fatalf("plans %+v, %v", plans, err)
	}
	p := plans[0]
	paths := stages.Paths{Source: t.TempDir(), Output: t.TempDir(), Input: t.TempDir()}
	argv, env := p.Step.Expand(paths)
	environ := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	res := testenv.Exec(t, wapitiBin, p.Step.Dir(paths), argv, environ, p.Step.Timeout)
	return p, res, filepath.Join(paths.Output, p.Step.Report)
}

func TestWapitiFindsTheSampleAppXSS(t *testing.T) {
	if _, err := os.Stat(wapitiBin); err != nil {
		t.Skip("wapiti is not installed (apt-get install wapiti): " + err.Error())
	}
	target := testenv.StartSampleApp(t)
	p, res, reportPath := runWapitiPlan(t, target)
	if out := p.Step.Classify(res.Code); out != stages.OutcomeClean {
		t.Fatalf("wapiti exited %d (%s): %s", res.Code, out, res.Stderr)
	}
	report, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, res.Stdout)
	}
	fs, err := p.Parse(report)
	if err != nil {
		t.Fatal(err)
	}
	checkWapiti(t, fs, wapitiSampleApp)
	t.Logf("wapiti took %s, %d findings", res.Duration, len(fs))
}

func TestWapitiUnreachableTargetFails(t *testing.T) {
	if _, err := os.Stat(wapitiBin); err != nil {
		t.Skip("wapiti is not installed (apt-get install wapiti): " + err.Error())
	}
	target := fmt.Sprintf("http://127.0.0.1:%d/", testenv.FreePort(t))
	p, res, reportPath := runWapitiPlan(t, target)
	// wapiti itself says all is well...
	if out := p.Step.Classify(res.Code); out != stages.OutcomeClean {
		t.Fatalf("wapiti exited %d (%s): %s", res.Code, out, res.Stderr)
	}
	report, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	// ...the parser does not.
	if fs, err := p.Parse(report); err == nil || !strings.Contains(err.Error(), target) {
		t.Fatalf("unreachable target passed: %+v, %v", fs, err)
	}
}
