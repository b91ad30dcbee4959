package stages_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

type zapWant struct {
	rule, method, path, param string
	sev                       findings.Severity
}

func zapFind(fs []findings.Finding, rule, path, param string) (findings.Finding, bool) {
	for _, f := range fs {
		if f.RuleID == rule && f.Location.Path == "" && f.Location.Where() == path && strings.Contains(f.Message, "parameter "+param+")") == (param != "") {
			return f, true
		}
	}
	return findings.Finding{}, false
}

func TestParseZAPGenuineSamples(t *testing.T) {
	for _, tc := range []struct {
		file   string
		counts map[string]int // by severity
		want   []zapWant
	}{{
		// ZAP 2.16.1 baseline of a Flask app: 7 alerts, 15 instances.
		file:   "zap-2.16.1-baseline.json",
		counts: map[string]int{"medium": 4, "low": 10, "info": 1},
		want: []zapWant{
			{"zap-10038", "GET", "/", "", findings.SeverityMedium},
			{"zap-10038", "GET", "/robots.txt", "", findings.SeverityMedium},
			{"zap-10020", "GET", "/", "x-frame-options", findings.SeverityMedium},
			{"zap-90004", "GET", "/", "Cross-Origin-Opener-Policy", findings.SeverityLow},
			{"zap-10036", "GET", "/sitemap.xml", "", findings.SeverityLow},
			{"zap-10049", "GET", "/robots.txt", "", findings.SeverityInfo},
		},
	}, {
		// ZAP 2.16.0: site root URIs without a slash, "nodeName": null.
		file:   "zap-2.16.0-baseline.json",
		counts: map[string]int{"low": 1, "info": 3},
		want: []zapWant{
			{"zap-10116", "GET", "/", "", findings.SeverityLow},
			{"zap-10049", "GET", "/", "", findings.SeverityInfo},
		},
	}, {
		// ZAP 2.15.0 active scan, first three alerts: reflected XSS, redirects.
		file:   "zap-2.15.0-active-trimmed.json",
		counts: map[string]int{"high": 4},
		want: []zapWant{
			{"zap-40012", "GET", "/search", "q", findings.SeverityHigh},
			{"zap-40012", "POST", "/login", "username", findings.SeverityHigh},
			{"zap-20019", "GET", "/redirect", "url", findings.SeverityHigh},
			{"zap-10028", "GET", "/redirect", "url", findings.SeverityHigh},
		},
	}} {
		t.Run(tc.file, func(t *testing.T) {
			fs, err := stages.ParseZAP(readDASTSample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			counts := findings.CountBySeverity(fs)
			for sev, n := range counts {
				if n != tc.counts[sev] {
					t.Errorf("%s: %d findings, want %d (%v)", sev, n, tc.counts[sev], counts)
				}
			}
			prints := map[string]bool{}
			for _, f := range fs {
				if err := f.Validate(); err != nil || f.Stage != stages.DAST || f.Tool != "zap" || f.Fingerprint == "" ||
					!slices.Contains(f.Tags, "dast") || !strings.HasPrefix(f.HelpURI, "https://www.zaproxy.org/docs/alerts/") {
					t.Errorf("%+v: %v", f, err)
				}
				if prints[f.Fingerprint] {
					t.Errorf("fingerprint %s twice", f.Fingerprint)
				}
				prints[f.Fingerprint] = true
			}
			for _, w := range tc.want {
				f, ok := zapFind(fs, w.rule, w.path, w.param)
				if !ok {
					t.Errorf("no %s at %s %s (%s): %+v", w.rule, w.method, w.path, w.param, fs)
					continue
				}
				if f.Severity != w.sev || !strings.Contains(f.Message, "("+w.method+" "+w.path) {
					t.Errorf("%s: %+v", w.rule, f)
				}
			}
		})
	}
}

func TestParseZAPFields(t *testing.T) {
	fs, err := stages.ParseZAP(readDASTSample(t, "zap-2.15.0-active-trimmed.json"))
	if err != nil {
		t.Fatal(err)
	}
	xss, _ := zapFind(fs, "zap-40012", "/search", "q")
	if xss.RuleName != "Cross Site Scripting (Reflected)" || xss.Message != "Cross Site Scripting (Reflected) (GET /search, parameter q)" ||
		xss.HelpURI != "https://www.zaproxy.org/docs/alerts/40012/" ||
		!slices.Contains(xss.Tags, "CWE-79") || !slices.Contains(xss.Tags, "confidence:medium") {
		t.Errorf("XSS finding %+v", xss)
	}
	// Neither the attack nor the evidence is carried: payloads, or data ZAP
	// flagged as sensitive.
	for _, f := range fs {
		if strings.Contains(f.Message, "scrIpt") || strings.Contains(f.Message, "owasp.org") {
			t.Errorf("message carries the payload: %q", f.Message)
		}
	}
}

func TestParseZAPIdentityIgnoresHostAndQuery(t *testing.T) {
	report := func(uris ...string) string {
		var in []string
		for _, u := range uris {
			in = append(in, `{"uri":"`+u+`","method":"GET","param":""}`)
		}
		return `{"@version":"2.16.1","site":[{"@name":"http://a:1","alerts":[{"pluginid":"10038","alertRef":"10038-1",
		"alert":"CSP Header Not Set","riskcode":"2","confidence":"3","instances":[` + strings.Join(in, ",") + `]}]}]}`
	}
	// The same page crawled twice is one finding.
	fs, err := stages.ParseZAP([]byte(report("http://a:1", "http://a:1/", "http://a:1/?x=1", "http://a:1/search?q=a", "http://a:1/search?q=b")))
	if err != nil || len(fs) != 2 {
		t.Fatalf("%d findings, %v: %+v", len(fs), err, fs)
	}
	// Another staging address gives the same fingerprints.
	gs, err := stages.ParseZAP([]byte(report("https://staging-2.internal:8443/", "https://staging-2.internal:8443/search?q=c")))
	if err != nil || len(gs) != 2 {
		t.Fatalf("%d findings, %v", len(gs), err)
	}
	for i := range fs {
		if fs[i].Fingerprint != gs[i].Fingerprint || *fs[i].Location.Request != *gs[i].Location.Request {
			t.Errorf("finding %d: %+v vs %+v", i, fs[i], gs[i])
		}
	}
}

func TestParseZAPEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name, report string
		n            int
		check        func(t *testing.T, fs []findings.Finding)
	}{
		{"clean", `{"@version":"2.16.1","site":[{"@name":"http://a","alerts":[]}]}`, 0, nil},
		{"no sites", `{"@version":"2.16.1","site":[]}`, 0, nil},
		{"false positive left out", `{"@version":"2.16.1","site":[{"@name":"http://a","alerts":[
			{"pluginid":"10038","riskcode":"2","confidence":"0","instances":[{"uri":"http://a/","method":"GET","param":""}]}]}]}`, 0, nil},
		{"alert without instances", `{"@version":"2.16.1","site":[{"@name":"http://a/app","alerts":[
			{"pluginid":"10116","alert":"ZAP is Out of Date","riskcode":"1","confidence":"3","count":"1"}]}]}`, 1,
			func(t *testing.T, fs []findings.Finding) {
				if fs[0].Location.Where() != "/app" || fs[0].Severity != findings.SeverityLow {
					t.Errorf("%+v", fs[0])
				}
			}},
		{"negative plugin id, no name", `{"@version":"2.16.1","site":[{"@name":"http://a","alerts":[
			{"pluginid":"-1","riskcode":"0","instances":[{"uri":"http://a/x#<img src=x onerror=alert(1)>","method":"GET"}]}]}]}`, 1,
			func(t *testing.T, fs []findings.Finding) {
				if f := fs[0]; f.RuleID != "zap--1" || f.RuleName != "ZAP rule -1" || f.Location.Where() != "/x" ||
					f.HelpURI != "https://www.zaproxy.org/docs/alerts/" || f.Severity != findings.SeverityInfo {
					t.Errorf("%+v", f)
				}
			}},
		{"unparsable uri", `{"@version":"2.16.1","site":[{"@name":"http://a","alerts":[
			{"pluginid":"40026","riskcode":"3","instances":[{"uri":"http://a/login.jsp?name=abc#<img src=\"%zz\">","method":"GET"}]}]}]}`, 1,
			func(t *testing.T, fs []findings.Finding) {
				if fs[0].Location.Where() != "/login.jsp" {
					t.Errorf("%+v", fs[0])
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := stages.ParseZAP([]byte(tc.report))
			if err != nil || len(fs) != tc.n {
				t.Fatalf("%d findings, %v: %+v", len(fs), err, fs)
			}
			if tc.check != nil {
				tc.check(t, fs)
			}
		})
	}
}

func TestParseZAPRejectsBadReports(t *testing.T) {
	sample := string(readDASTSample(t, "zap-2.16.1-baseline.json"))
	alert := func(fields string) string {
		return `{"@version":"2.16.1","site":[{"@name":"http://a","alerts":[{` + fields + `}]}]}`
	}
	for name, in := range map[string]string{
		"empty":             "",
		"whitespace":        " \n",
		"null":              "null",
		"array":             "[]",
		"empty object":      "{}",
		"no version":        `{"site":[]}`,
		"no site":           `{"@version":"2.16.1"}`,
		"null site":         `{"@version":"2.16.1","site":null}`,
		"site not a list":   `{"@version":"2.16.1","site":{}}`,
		"no alerts":         `{"@version":"2.16.1","site":[{"@name":"http://a"}]}`,
		"no pluginid":       alert(`"riskcode":"1","instances":[]`),
		"empty pluginid":    alert(`"pluginid":" ","riskcode":"1","instances":[]`),
		"no riskcode":       alert(`"pluginid":"1","instances":[]`),
		"riskcode 4":        alert(`"pluginid":"1","riskcode":"4","instances":[]`),
		"riskcode number":   alert(`"pluginid":"1","riskcode":3,"instances":[]`),
		"riskcode word":     alert(`"pluginid":"1","riskcode":"High","instances":[]`),
		"instance, no uri":  alert(`"pluginid":"1","riskcode":"1","instances":[{"method":"GET"}]`),
		"truncated":         sample[:len(sample)/2],
		"truncated end":     sample[:len(sample)-3],
		"trailing":          sample + "{}",
		"wapiti report":     string(readDASTSample(t, "wapiti-3.0.4-sample-app.json")),
		"other ZAP format":  `{"Report":{"Sites":{"Alerts":{"AlertItem":[{"PluginID":40012,"RiskCode":3}]}}}}`,
		"garbage":           "\xff\xfe<OWASPZAPReport/>",
		"html report":       "<html><body>ZAP Scanning Report</body></html>",
		"stdout, not JSON":  "WARN-NEW: Cross Site Scripting (Reflected) [40012] x 1",
		"alerts not a list": `{"@version":"2.16.1","site":[{"@name":"http://a","alerts":{}}]}`,
	} {
		if fs, err := stages.ParseZAP([]byte(in)); err == nil {
			t.Errorf("%s: accepted, %d findings", name, len(fs))
		}
	}
}
