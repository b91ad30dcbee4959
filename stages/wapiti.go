package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dagsec/dagsec/findings"
)

// wapiti 3.0.4 (Debian 3.0.4+dfsg-2), observed (testdata/SOURCES.md):
//
//   - 0: the scan ran, whatever it found. Also 0 when the target cannot be
//     reached (the report is then empty, which ParseWapiti rejects) and when
//     -u is not a URL (no report at all).
//   - 1: a Python crash, such as an output path it cannot write; no report.
//   - 2: bad arguments (argparse) or an invalid option value.
var (
	WapitiOKCodes      = []int{0}
	WapitiFindingCodes []int
)

// WapitiReportFile is the JSON report, relative to the output folder.
const WapitiReportFile = "wapiti.json"

// wapitiModules are wapiti 3.0.4's default modules without ssrf, which
// sends the target's URLs to wapiti's public endpoint (wapiti3.ovh) and
// asks it what called back: a third party learns the staging address.
const wapitiModules = "blindsql,cookieflags,csp,exec,file,http_headers,permanentxss,redirect,sql,xss"

// WapitiArgv scans target and writes the report and wapiti's state into
// outDir. A fresh session folder matters: with a session of an earlier scan
// of the same URL, wapiti skips the crawl and the pages it already attacked.
// --no-bugreport keeps it from uploading crash tracebacks (which name the
// target) to wapiti3.ovh.
func WapitiArgv(target, outDir string) []string {
	return []string{"wapiti", "-u", target, "--scope", "folder", "-m", wapitiModules,
		"-f", "json", "-o", outDir + "/" + WapitiReportFile,
		"--store-session", outDir + "/wapiti-session", "--store-config", outDir + "/wapiti-config",
		"--max-scan-time", "600", "--max-attack-time", "300", "-t", "10",
		"--no-bugreport", "-v", "1"}
}

// wapitiEnv pins wapiti's language: it translates its category names (the
// report's keys) into the locale's language, and the rule ids come from them.
func wapitiEnv() map[string]string {
	return map[string]string{"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
}

// wapitiReport is wapiti's JSON report (-f json). Pointers tell a missing key
// from an empty one.
type wapitiReport struct {
	Classifications map[string]wapitiClass    `json:"classifications"`
	Vulnerabilities *map[string][]wapitiEntry `json:"vulnerabilities"`
	Anomalies       *map[string][]wapitiEntry `json:"anomalies"`
	Additionals     *map[string][]wapitiEntry `json:"additionals"`
	Infos           *struct {
		Target  string `json:"target"`
		Version string `json:"version"`
	} `json:"infos"`
}

type wapitiClass struct {
	Desc string            `json:"desc"`
	Sol  string            `json:"sol"`
	Ref  map[string]string `json:"ref"` // reference title → URL
}

type wapitiEntry struct {
	Method    *string         `json:"method"`
	Path      *string         `json:"path"`
	Info      string          `json:"info"`
	Level     json.RawMessage `json:"level"`
	Parameter string          `json:"parameter"`
}

// wapitiRules names wapiti 3.0.4's categories (English, see wapitiEnv);
// another category gets a slug of its name.
var wapitiRules = map[string]string{
	"Backup file":                           "wapiti-backup-file",
	"Blind SQL Injection":                   "wapiti-blind-sqli",
	"Command execution":                     "wapiti-exec",
	"Content Security Policy Configuration": "wapiti-csp",
	"CRLF Injection":                        "wapiti-crlf",
	"Cross Site Request Forgery":            "wapiti-csrf",
	"Cross Site Scripting":                  "wapiti-xss",
	"Fingerprint web technology":            "wapiti-fingerprint",
	"Htaccess Bypass":                       "wapiti-htaccess-bypass",
	"HTTP Secure Headers":                   "wapiti-http-headers",
	"HttpOnly Flag cookie":                  "wapiti-cookie-httponly",
	"Internal Server Error":                 "wapiti-internal-error",
	"Open Redirect":                         "wapiti-open-redirect",
	"Path Traversal":                        "wapiti-path-traversal",
	"Potentially dangerous file":            "wapiti-dangerous-file",
	"Resource consumption":                  "wapiti-resource-consumption",
	"Secure Flag cookie":                    "wapiti-cookie-secure",
	"Server Side Request Forgery":           "wapiti-ssrf",
	"SQL Injection":                         "wapiti-sqli",
	"Weak credentials":                      "wapiti-weak-credentials",
	"XML External Entity":                   "wapiti-xxe",
}

// wapitiSections are the report's three lists, in report order.
var wapitiSections = []string{"vulnerabilities", "anomalies", "additionals"}

// ParseWapiti reads wapiti 3.0.4's JSON report. Each entry of
// "vulnerabilities" (flaws), "anomalies" (errors and timeouts a payload
// caused) and "additionals" (facts about the target, such as detected
// technologies) becomes one finding; entries that repeat one another exactly
// (several modules hitting the same 500) are kept once.
//
// Severity is wapiti's own level for vulnerabilities and anomalies (its
// constants: 0 info, 1 low, 2 medium, 3 high, 4 critical; a 500 provoked by
// a payload is high, as wapiti rates it). Additionals are information, not
// flaws: info. Another level is an error.
//
// Location.Path is the URL path ("/search"); Identity is method, path,
// parameter and wapiti's message, never the host, which changes from one
// staging run to the next.
//
// A report with no entry at all is an error: wapiti 3.0.4 exits 0 and writes
// exactly that when it cannot reach the target, and any reachable site gets
// at least the header checks it fails (http_headers, csp) unless it sets
// every one of them. Missing sections, infos or entry fields are errors too.
func ParseWapiti(report []byte) ([]findings.Finding, error) {
	var r wapitiReport
	if err := decodeReportObject(report, &r, "wapiti report"); err != nil {
		return nil, err
	}
	if r.Vulnerabilities == nil || r.Anomalies == nil || r.Additionals == nil || r.Infos == nil {
		return nil, fmt.Errorf("wapiti report: missing vulnerabilities, anomalies, additionals or infos (not a wapiti JSON report?)")
	}
	if !strings.HasPrefix(r.Infos.Version, "Wapiti ") {
		return nil, fmt.Errorf("wapiti report: infos.version is %q, not a wapiti version", r.Infos.Version)
	}
	var out []findings.Finding
	seen := map[string]bool{}
	for i, section := range []map[string][]wapitiEntry{*r.Vulnerabilities, *r.Anomalies, *r.Additionals} {
		for _, cat := range sortedKeys(section) {
			for j, e := range section[cat] {
				f, err := wapitiFinding(wapitiSections[i], cat, e, r.Classifications[cat])
				if err != nil {
					return nil, fmt.Errorf("wapiti report: %s %q entry %d: %w", wapitiSections[i], cat, j, err)
				}
				if key := f.RuleID + "|" + f.Identity; !seen[key] {
					seen[key] = true
					out = append(out, f)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("wapiti reported nothing at all for %s, not even the security headers it checks on every page it reaches: "+
			"the target was most likely never reached (wapiti 3.0.4 exits 0 with this same empty report when it cannot connect)", r.Infos.Target)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

func wapitiFinding(section, cat string, e wapitiEntry, class wapitiClass) (findings.Finding, error) {
	if e.Method == nil || e.Path == nil || len(e.Level) == 0 {
		return findings.Finding{}, fmt.Errorf("no method, path or level")
	}
	sev, err := wapitiSeverity(e.Level)
	if err != nil {
		return findings.Finding{}, err
	}
	if section == "additionals" {
		sev = findings.SeverityInfo
	}
	method, p := strings.ToUpper(strings.TrimSpace(*e.Method)), strings.TrimSpace(*e.Path)
	if p == "" {
		p = "/"
	}
	info := clipText(e.Info, 200)
	if cat == "Weak credentials" {
		info = "the login form accepts a guessable user name and password" // wapiti's message holds them
	}
	where := method + " " + p
	if e.Parameter != "" {
		where += ", parameter " + clipText(e.Parameter, 80)
	}
	rule := wapitiRules[cat]
	if rule == "" {
		rule = "wapiti-" + slug(cat)
	}
	msg := cat
	if info != "" {
		msg = info
	}
	help, tags := wapitiRefs(class)
	switch section {
	case "anomalies":
		tags = append(tags, "anomaly")
	case "additionals":
		tags = append(tags, "additional")
	}
	return dastFinding("wapiti", findings.Finding{
		RuleID:   rule,
		RuleName: cat,
		Severity: sev,
		Message:  msg + " (" + where + ")",
		Location: findings.Location{Request: &findings.Request{Method: method, Path: p, Param: e.Parameter}},
		HelpURI:  help,
		Rule:     wapitiDoc(cat, class, help).Rule(),
		Tags:     tags,
		Identity: method + "|" + p + "|" + e.Parameter + "|" + info,
	})
}

// wapitiSeverity maps wapiti's levels, a number in 3.0.4 (a numeric string
// is accepted too); see ParseWapiti.
func wapitiSeverity(raw json.RawMessage) (findings.Severity, error) {
	s := string(bytes.Trim(bytes.TrimSpace(raw), `"`))
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("level %s is not a number", raw)
	}
	switch n {
	case 0:
		return findings.SeverityInfo, nil
	case 1:
		return findings.SeverityLow, nil
	case 2:
		return findings.SeverityMedium, nil
	case 3:
		return findings.SeverityHigh, nil
	case 4:
		return findings.SeverityCritical, nil
	}
	return 0, fmt.Errorf("unknown level %d", n)
}

var cweTitle = regexp.MustCompile(`^CWE-(\d+)\b`)

// wapitiDoc explains a category with wapiti's own classification: its
// description, solution and references.
func wapitiDoc(cat string, class wapitiClass, help string) findings.Doc {
	d := findings.Doc{Summary: class.Desc, Fix: class.Sol, Links: []string{help}}
	if d.Summary == "" {
		d.Summary = "wapiti category " + cat + "."
	}
	for _, t := range sortedKeys(class.Ref) {
		d.Links = append(d.Links, class.Ref[t])
	}
	return d
}

// wapitiRefs picks a help link from a category's references (an OWASP page
// first) and tags its CWE ids.
func wapitiRefs(class wapitiClass) (help string, tags []string) {
	titles := sortedKeys(class.Ref)
	for _, t := range titles {
		if m := cweTitle.FindStringSubmatch(t); m != nil {
			tags = append(tags, "CWE-"+m[1])
		}
		if help == "" && strings.HasPrefix(t, "OWASP") {
			help = class.Ref[t]
		}
	}
	if help == "" && len(titles) > 0 {
		help = class.Ref[titles[0]]
	}
	if help == "" {
		help = "https://wapiti-scanner.github.io/"
	}
	return help, tags
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// slug makes a rule id part of a name: "Foo Bar (x)" → "foo-bar-x".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		return "unnamed"
	}
	return out
}

// clipText makes a scanner's text one line of at most n characters, so a
// reflected payload or a page excerpt never floods a report.
func clipText(s string, n int) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
