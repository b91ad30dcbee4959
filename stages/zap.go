package stages

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// ZAP's packaged scans (zap-baseline.py, zap-api-scan.py in the official
// image) exit with (their headers, and the code that ends both scripts):
//
//   - 0: success, no alert counted as WARN or FAIL;
//   - 1: at least one FAIL (only rules a -c config marks FAIL; dagsec passes none);
//   - 2: at least one WARN and no FAIL (by default every alert is a WARN;
//     -I would turn this into 0, dagsec does not pass it);
//   - 3: any other failure: bad options, ZAP not starting, no URL found,
//     /zap/wrk missing, nothing scanned.
var (
	ZAPOKCodes      = []int{0}
	ZAPFindingCodes = []int{1, 2}
)

// Reports of the ZAP steps, relative to the output folder.
const (
	ZAPBaselineReport = "zap-baseline.json"
	ZAPAPIReport      = "zap-api.json"
)

// zapWrk runs a packaged scan with /zap/wrk pointing at the output folder.
// The scripts take every file name relative to /zap/wrk (base_dir when
// running in a container, which the image says with IS_CONTAINERIZED=true),
// fail with 3 when a file option is given and /zap/wrk does not exist, and
// the image does not create it: `docker run -v $PWD:/zap/wrk` is the
// documented use. The Dagger runner mounts the output folder at its own
// fixed path instead (stages.OutputDir expands to it), so the step links
// /zap/wrk to it; /zap belongs to the image's zap user. -T makes ln fail
// (exit 3, a tool error) rather than link inside an existing /zap/wrk, where
// the report would never reach the output folder. $1 is the output folder,
// the rest the scan's argv.
const zapWrk = `ln -sT "$1" /zap/wrk || exit 3; shift; exec "$@"`

// ZAPBaselineArgv is a baseline scan (spider plus passive rules) of target,
// writing ZAP's traditional JSON report to report under the output folder.
// -T bounds, in minutes, the wait for ZAP to start and for the passive scan.
func ZAPBaselineArgv(target, report string) []string {
	return zapInWrk("zap-baseline.py", "-t", target, "-J", report, "-T", "15")
}

// ZAPAPIScanArgv is an API scan (import, then active scan) of the OpenAPI
// definition at spec, an absolute path the scripts accept since 2022-06.
// host is the target's host[:port] for -O, which replaces the host of the
// definition's servers; zap-api-scan.py applies -O to local files only in
// images that include zaproxy#8705, so the definition's servers should name
// the staging URL already.
func ZAPAPIScanArgv(spec, host, report string) []string {
	return zapInWrk("zap-api-scan.py", "-t", spec, "-f", "openapi", "-O", host, "-J", report, "-T", "30")
}

// zapInWrk wraps a packaged scan's argv in zapWrk. argv[0] is sh, which the
// Dagger runner runs from the image's PATH (zap has no ImageBinary).
func zapInWrk(scan ...string) []string {
	return append([]string{"sh", "-c", zapWrk, "sh", OutputDir}, scan...)
}

// zapReport is ZAP's traditional JSON report (-J). Pointers tell a missing
// key from an empty value.
type zapReport struct {
	Version *string    `json:"@version"`
	Site    *[]zapSite `json:"site"`
}

type zapSite struct {
	Name   string      `json:"@name"`
	Alerts *[]zapAlert `json:"alerts"`
}

type zapAlert struct {
	PluginID   *string        `json:"pluginid"`
	AlertRef   string         `json:"alertRef"`
	Alert      string         `json:"alert"`
	Name       string         `json:"name"`
	RiskCode   *string        `json:"riskcode"`
	Confidence string         `json:"confidence"`
	CWEID      string         `json:"cweid"`
	WASCID     string         `json:"wascid"`
	Desc       string         `json:"desc"`
	Solution   string         `json:"solution"`
	Reference  string         `json:"reference"`
	Instances  *[]zapInstance `json:"instances"`
}

// zapInstance leaves out attack and evidence: a payload or a page excerpt,
// which can hold a token or personal data ZAP flagged (PII disclosure).
type zapInstance struct {
	URI    *string `json:"uri"`
	Method string  `json:"method"`
	Param  string  `json:"param"`
}

var zapConfidence = map[string]string{"1": "low", "2": "medium", "3": "high", "4": "confirmed"}

// ParseZAP reads ZAP's traditional JSON report: site[].alerts[] with
// pluginid, alertRef, alert, riskcode, confidence, cweid and instances[]
// (uri, method, param, ...).
//
// Each instance is one finding, since each URL and parameter is fixed on its
// own; instances that differ only by host or query string (the same page
// crawled twice, "http://h" and "http://h/") are kept once. An alert without
// instances is still one finding, at its site's path. The rule id is
// "zap-<pluginid>".
//
// Severity is riskcode: 3 high, 2 medium, 1 low, 0 info; another value is an
// error. Confidence does not lower it (as for bandit: demoting would let a
// real issue slip under a gate) and is kept as a "confidence:..." tag, but
// confidence 0 means the alert was marked a false positive (ZAP's alert
// filters, the baseline's OUTOFSCOPE rules), and those are left out.
//
// Location.Path is the URL path; Identity is the alertRef (the rule variant,
// stable across ZAP versions unlike alert names), method, path and
// parameter. The message names the alert, method, path and parameter, never
// the attack or evidence (see zapInstance).
//
// A missing @version, site or alerts key, an alert without pluginid or
// riskcode, or an instance without uri is an error.
func ParseZAP(report []byte) ([]findings.Finding, error) {
	var r zapReport
	if err := decodeReportObject(report, &r, "ZAP report"); err != nil {
		return nil, err
	}
	if r.Version == nil || r.Site == nil {
		return nil, fmt.Errorf("ZAP report: missing @version or site (not ZAP's traditional JSON report?)")
	}
	var out []findings.Finding
	seen := map[string]bool{}
	for i, site := range *r.Site {
		if site.Alerts == nil {
			return nil, fmt.Errorf("ZAP report: site %d (%s) has no alerts list", i, site.Name)
		}
		for j, a := range *site.Alerts {
			fs, err := zapFindings(site, a)
			if err != nil {
				return nil, fmt.Errorf("ZAP report: site %d alert %d: %w", i, j, err)
			}
			for _, f := range fs {
				if key := f.RuleID + "|" + f.Identity; !seen[key] {
					seen[key] = true
					out = append(out, f)
				}
			}
		}
	}
	findings.AssignFingerprints(out)
	return out, nil
}

func zapFindings(site zapSite, a zapAlert) ([]findings.Finding, error) {
	if a.PluginID == nil || strings.TrimSpace(*a.PluginID) == "" {
		return nil, fmt.Errorf("no pluginid")
	}
	id := strings.TrimSpace(*a.PluginID)
	if a.RiskCode == nil {
		return nil, fmt.Errorf("plugin %s: no riskcode", id)
	}
	sev, err := zapSeverity(*a.RiskCode)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", id, err)
	}
	conf := strings.TrimSpace(a.Confidence)
	if conf == "0" {
		return nil, nil // marked a false positive
	}
	name := clipText(a.Alert, 200)
	if name == "" {
		name = clipText(a.Name, 200)
	}
	if name == "" {
		name = "ZAP rule " + id
	}
	ref := strings.TrimSpace(a.AlertRef)
	if ref == "" {
		ref = id
	}
	var tags []string
	if c := strings.TrimSpace(a.CWEID); c != "" && c != "0" && c != "-1" {
		tags = append(tags, "CWE-"+c)
	}
	if c, ok := zapConfidence[conf]; ok {
		tags = append(tags, "confidence:"+c)
	}
	help := "https://www.zaproxy.org/docs/alerts/" + id + "/"
	if strings.HasPrefix(id, "-") {
		help = "https://www.zaproxy.org/docs/alerts/"
	}

	doc := zapDoc(a, name, help).Rule()
	instances := []zapInstance{}
	if a.Instances != nil {
		instances = *a.Instances
	}
	if len(instances) == 0 {
		site := site.Name
		instances = []zapInstance{{URI: &site}}
	}
	out := make([]findings.Finding, 0, len(instances))
	for k, in := range instances {
		if in.URI == nil {
			return nil, fmt.Errorf("plugin %s: instance %d has no uri", id, k)
		}
		p := urlPath(*in.URI)
		method := strings.ToUpper(strings.TrimSpace(in.Method))
		where := strings.TrimSpace(method + " " + p)
		if in.Param != "" {
			where += ", parameter " + clipText(in.Param, 80)
		}
		msg := name + " (" + where + ")"
		f, err := dastFinding("zap", findings.Finding{
			RuleID:   "zap-" + id,
			RuleName: name,
			Severity: sev,
			Message:  msg,
			Location: findings.Location{Request: &findings.Request{Method: method, Path: p, Param: in.Param}},
			HelpURI:  help,
			Rule:     doc,
			Tags:     tags,
			Identity: ref + "|" + method + "|" + p + "|" + in.Param,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// zapDoc explains an alert with ZAP's own texts: its description,
// solution and references (HTML paragraphs in the report), CWE and WASC.
func zapDoc(a zapAlert, name, help string) findings.Doc {
	d := findings.Doc{Summary: htmlText(a.Desc), Fix: htmlText(a.Solution), Links: []string{help}}
	if d.Summary == "" {
		d.Summary = name + "."
	}
	for _, f := range strings.Fields(htmlText(a.Reference)) {
		d.Links = append(d.Links, f)
	}
	if c := strings.TrimSpace(a.CWEID); c != "" && c != "0" && c != "-1" {
		d.Facts = append(d.Facts, findings.Fact{Label: "CWE", Value: "CWE-" + c})
	}
	if w := strings.TrimSpace(a.WASCID); w != "" && w != "0" && w != "-1" {
		d.Facts = append(d.Facts, findings.Fact{Label: "WASC", Value: w})
	}
	return d
}

// htmlText is the text of ZAP's HTML snippets: tags become spaces and the
// few entities ZAP writes are decoded.
func htmlText(s string) string {
	return html.UnescapeString(strings.Join(strings.Fields(htmlTag.ReplaceAllString(s, " ")), " "))
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// zapSeverity maps riskcode; see ParseZAP.
func zapSeverity(code string) (findings.Severity, error) {
	switch strings.TrimSpace(code) {
	case "0":
		return findings.SeverityInfo, nil
	case "1":
		return findings.SeverityLow, nil
	case "2":
		return findings.SeverityMedium, nil
	case "3":
		return findings.SeverityHigh, nil
	}
	return 0, fmt.Errorf("unknown riskcode %q", code)
}

// urlPath is the path of a URL ZAP reports, "/" for the site root. A URI
// that does not parse (ZAP keeps fragments and raw payloads in some) keeps
// what precedes its query, if it has a path at all.
func urlPath(uri string) string {
	if u, err := url.Parse(uri); err == nil {
		if u.Path == "" {
			return "/"
		}
		return u.Path
	}
	rest := uri
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.Index(rest, "/"); i >= 0 {
		return rest[i:]
	}
	return "/"
}
