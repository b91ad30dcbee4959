package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// gosec v2.30.0, observed (testdata/SOURCES.md):
//
//   - With -no-fail it exits 0 whenever it wrote its report, issues or not,
//     and even when packages failed to type-check ("Golang errors").
//     Without -no-fail it exits 1 for issues AND for load errors AND for its
//     own failures, so findings could not be told from a crash: dagsec always
//     passes -no-fail and reads the findings from the report.
//   - 1: its own failures: no packages matched ("No packages found", no
//     report written), the report file cannot be written, bad -conf.
//   - 2: unknown flag (Go's flag package).
//
// Never pass -quiet: with it gosec writes NO report at all when there are no
// issues, which a runner would see as a missing report.
var (
	GosecOKCodes      = []int{0}
	GosecFindingCodes = []int{}
)

// GosecArgv is gosec's command line (argv[0] is the tool name): JSON report
// at report, every package of the Go module in the working folder. Run it
// with the module (the folder holding go.mod) as the working folder.
//
// What gosec needs from its environment (it loads packages through
// golang.org/x/tools/go/packages, i.e. it runs `go list`):
//
//   - `go` on PATH, at least as new as the module's go line (or
//     GOTOOLCHAIN allowed to fetch one). Without it every package becomes a
//     load error ("go command required, not found").
//   - A writable build cache: GOCACHE, or HOME / XDG_CACHE_HOME for the
//     default one. Without it gosec silently skips every package and writes
//     a report with no errors, no issues and "files": 0 — ParseGosecIn
//     treats a report that scanned no file as an error for that reason.
//   - The module's dependencies: GOMODCACHE (or GOPATH, default
//     $HOME/go/pkg/mod) already filled by `go mod download`, or GOPROXY
//     reachable. Missing ones become per-file load errors ("could not import
//     ..."), reported as coverage-gap findings.
//   - GOFLAGS is honoured as by any go command (-mod=vendor for vendored
//     modules, -tags ...); nothing special is required, and the default
//     -mod=readonly never writes to the (read-only) source.
//   - cgo packages need a C compiler for `go list -compiled`, or
//     CGO_ENABLED=0 (then their cgo files are not scanned).
//
// patterns are the packages to scan, ./... when none are given (see
// GoModule.GoPatterns).
func GosecArgv(report string, patterns ...string) []string {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	return append([]string{"gosec", "-fmt", "json", "-out", report, "-no-fail"}, patterns...)
}

// gosecReport is gosec's JSON report (report/json in gosec). Pointers tell a
// missing key from an empty value: a report without them is not gosec's.
type gosecReport struct {
	Errors  *map[string][]gosecError `json:"Golang errors"`
	Issues  *[]gosecIssue            `json:"Issues"`
	Stats   *gosecStats              `json:"Stats"`
	Version string                   `json:"GosecVersion"`
}

type gosecError struct {
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Err    string `json:"error"`
}

type gosecStats struct {
	Files int `json:"files"`
	Lines int `json:"lines"`
	Nosec int `json:"nosec"`
	Found int `json:"found"`
}

type gosecIssue struct {
	Severity   string `json:"severity"`
	Confidence string `json:"confidence"`
	CWE        *struct {
		ID  cweID  `json:"id"`
		URL string `json:"url"`
	} `json:"cwe"`
	RuleID       string            `json:"rule_id"`
	Details      string            `json:"details"`
	File         string            `json:"file"`
	Code         string            `json:"code"`
	Line         string            `json:"line"`
	Column       string            `json:"column"`
	NoSec        bool              `json:"nosec"`
	Suppressions []json.RawMessage `json:"suppressions"`
}

// cweID accepts a CWE id written as a string (gosec: "78") or a number
// (newer bandit: 78).
type cweID string

func (c *cweID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = cweID(strings.TrimSpace(s))
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("CWE id: want a string or a number, got %s", b)
	}
	*c = cweID(strconv.Itoa(n))
	return nil
}

// tag is the CWE tag ("CWE-78"), or "" when there is no id.
func (c cweID) tag() string {
	s := strings.TrimPrefix(strings.ToUpper(string(c)), "CWE-")
	if s == "" || s == "0" {
		return ""
	}
	return "CWE-" + s
}

// gosecRuleNames are the rule titles of gosec v2.30.0 (rules/rulelist.go and
// analyzers/analyzerslist.go): one stable name per rule id, where the
// report's "details" can vary per issue (G501 names the import).
var gosecRuleNames = map[string]string{
	"G101": "Look for hardcoded credentials",
	"G102": "Bind to all interfaces",
	"G103": "Audit the use of unsafe block",
	"G104": "Audit errors not checked",
	"G106": "Audit the use of ssh.InsecureIgnoreHostKey function",
	"G107": "Url provided to HTTP request as taint input",
	"G108": "Profiling endpoint is automatically exposed",
	"G109": "Converting strconv.Atoi result to int32/int16",
	"G110": "Detect io.Copy instead of io.CopyN when decompression",
	"G111": "Detect http.Dir('/') as a potential risk",
	"G112": "Detect ReadHeaderTimeout not configured as a potential risk",
	"G113": "HTTP request smuggling via conflicting headers or bare LF in body parsing",
	"G114": "Use of net/http serve function that has no support for setting timeouts",
	"G115": "Type conversion which leads to integer overflow",
	"G116": "Detect Trojan Source attacks using bidirectional Unicode characters",
	"G117": "Potential exposure of secrets via JSON/YAML/XML/TOML marshaling",
	"G118": "Context propagation failure leading to goroutine/resource leaks",
	"G119": "Unsafe redirect policy may propagate sensitive headers",
	"G120": "Unbounded form parsing in HTTP handlers can cause memory exhaustion",
	"G121": "Unsafe CrossOriginProtection bypass patterns",
	"G122": "Filesystem TOCTOU race risk in filepath.Walk/WalkDir callbacks",
	"G123": "TLS resumption may bypass VerifyPeerCertificate when VerifyConnection is unset",
	"G124": "Insecure HTTP cookie configuration missing Secure, HttpOnly, or SameSite attributes",
	"G125": "Detect unescaped elements in url.JoinPath calls",
	"G201": "SQL query construction using format string",
	"G202": "SQL query construction using string concatenation",
	"G203": "Use of unescaped data in HTML templates",
	"G204": "Audit use of command execution",
	"G301": "Poor file permissions used when creating a directory",
	"G302": "Poor file permissions used when creation file or using chmod",
	"G303": "Creating tempfile using a predictable path",
	"G304": "File path provided as taint input",
	"G305": "File path traversal when extracting zip archive",
	"G306": "Poor file permissions used when writing to a file",
	"G307": "Poor file permissions used when creating a file with os.Create",
	"G401": "Detect the usage of MD5 or SHA1",
	"G402": "Look for bad TLS connection settings",
	"G403": "Ensure minimum RSA key length of 2048 bits",
	"G404": "Insecure random number source (rand)",
	"G405": "Detect the usage of DES or RC4",
	"G406": "Detect the usage of deprecated MD4 or RIPEMD160",
	"G407": "Use of hardcoded IV/nonce for encryption",
	"G408": "Stateful misuse of ssh.PublicKeyCallback leading to auth bypass",
	"G501": "Import blocklist: crypto/md5",
	"G502": "Import blocklist: crypto/des",
	"G503": "Import blocklist: crypto/rc4",
	"G504": "Import blocklist: net/http/cgi",
	"G505": "Import blocklist: crypto/sha1",
	"G506": "Import blocklist: golang.org/x/crypto/md4",
	"G507": "Import blocklist: golang.org/x/crypto/ripemd160",
	"G601": "Implicit memory aliasing in RangeStmt",
	"G602": "Possible slice bounds out of range",
	"G701": "SQL injection via taint analysis",
	"G702": "Command injection via taint analysis",
	"G703": "Path traversal via taint analysis",
	"G704": "SSRF via taint analysis",
	"G705": "XSS via taint analysis",
	"G706": "Log injection via taint analysis",
	"G707": "SMTP command/header injection via taint analysis",
	"G708": "Server-side template injection via taint analysis",
	"G709": "Unsafe deserialization of untrusted data via taint analysis",
	"G710": "Open redirect via taint analysis",
}

// gosecRulesURL lists every gosec rule; used when an issue has no CWE link.
const gosecRulesURL = "https://github.com/securego/gosec#available-rules"

// Rule ids of the coverage-gap findings made from the tools' own errors.
const (
	GosecLoadErrorRule   = "gosec-load-error"
	BanditParseErrorRule = "bandit-parse-error"
	coverageGapTag       = "coverage-gap"
)

// ParseGosec reads gosec's JSON report (gosec -fmt json -out FILE -no-fail
// ./...) whose file names are already relative. gosec itself prints
// absolute paths, which ParseGosec rejects: runners know the folder gosec
// ran in and call ParseGosecIn with it.
func ParseGosec(report []byte) ([]findings.Finding, error) {
	return ParseGosecIn(report, "")
}

// ParseGosecIn reads gosec's JSON report; root is the working folder gosec
// ran in (the module), which is stripped from the absolute file names gosec
// prints so paths are relative to it. A path outside root is an error: a
// finding dagsec cannot place in the source would get an unstable
// fingerprint and a useless location.
//
// Severity is gosec's severity (HIGH, MEDIUM, LOW). Confidence does not
// lower it: the gates block on severity, so demoting low-confidence issues
// would let a real high-severity issue slip under a block_on threshold —
// failing open. Confidence is kept as a "confidence:..." tag for triage.
//
// Issues gosec marks as suppressed (#nosec, shown only with -show-ignored or
// -track-suppressions) are left out, as gosec's own exit code leaves them out.
//
// Packages gosec could not load or type-check ("Golang errors") were not, or
// not fully, scanned. If no file was scanned at all the report is an error:
// an empty scan must never pass as a clean one. Otherwise each erroring file
// (or package, when gosec names no file) becomes one low "gosec-load-error"
// finding tagged "coverage-gap", so the gap is visible in every report
// without blocking a deploy on its own (default gates block at critical or
// high; a strict policy may still block on low).
func ParseGosecIn(report []byte, root string) ([]findings.Finding, error) {
	var r gosecReport
	if err := decodeReportObject(report, &r, "gosec report"); err != nil {
		return nil, err
	}
	if r.Issues == nil || r.Stats == nil || r.Errors == nil {
		return nil, fmt.Errorf("gosec report: missing Issues, Stats or \"Golang errors\" (not a gosec JSON report?)")
	}
	issues, loadErrs := *r.Issues, *r.Errors

	// Files that failed to load are counted in Stats.files too.
	errFiles := 0
	for key := range loadErrs {
		if strings.HasSuffix(key, ".go") {
			errFiles++
		}
	}
	if len(issues) == 0 && (r.Stats.Files == 0 || r.Stats.Files <= errFiles) {
		if len(loadErrs) > 0 {
			return nil, fmt.Errorf("gosec scanned no file: %s", summarizeGosecErrors(loadErrs))
		}
		if r.Stats.Files == 0 {
			// dagsec plans no gosec run for a module without a package to
			// scan (GoModule.Empty), so this is a run that went wrong: an
			// unwritable build cache makes gosec skip every package silently.
			return nil, fmt.Errorf("gosec scanned no file although the module has Go packages (is the Go build cache, GOCACHE or HOME, writable?)")
		}
	}

	out := make([]findings.Finding, 0, len(issues)+len(loadErrs))
	docs := ruleDocs{}
	for i, is := range issues {
		if is.NoSec || len(is.Suppressions) > 0 {
			continue
		}
		f, err := gosecFinding(is, root)
		if err != nil {
			return nil, fmt.Errorf("gosec report: issue %d: %w", i, err)
		}
		docs.attach(&f, func() findings.Doc { return gosecRuleDoc(f.RuleID, f.RuleName, is) })
		out = append(out, f)
	}

	keys := make([]string, 0, len(loadErrs))
	for k := range loadErrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		out = append(out, gosecLoadErrorFinding(key, loadErrs[key], root))
	}
	findings.AssignFingerprints(out)
	return out, nil
}

func gosecFinding(is gosecIssue, root string) (findings.Finding, error) {
	if is.RuleID == "" {
		return findings.Finding{}, fmt.Errorf("no rule_id")
	}
	sev, err := severityWord(is.Severity)
	if err != nil {
		return findings.Finding{}, fmt.Errorf("rule %s: %w", is.RuleID, err)
	}
	rel, err := scannerRelPath(is.File, root)
	if err != nil {
		return findings.Finding{}, fmt.Errorf("rule %s: %w", is.RuleID, err)
	}
	line, endLine, err := gosecLineRange(is.Line)
	if err != nil {
		return findings.Finding{}, fmt.Errorf("rule %s: line: %w", is.RuleID, err)
	}
	col, err := optionalInt(is.Column)
	if err != nil {
		return findings.Finding{}, fmt.Errorf("rule %s: column: %w", is.RuleID, err)
	}

	name := gosecRuleNames[is.RuleID]
	if name == "" {
		name = is.Details
	}
	msg := is.Details
	if msg == "" {
		msg = name
	}
	if msg == "" {
		msg = "gosec rule " + is.RuleID
	}
	help := gosecRulesURL
	var tags []string
	if is.CWE != nil {
		if t := is.CWE.ID.tag(); t != "" {
			tags = append(tags, t)
			msg += " (" + t + ")"
		}
		if is.CWE.URL != "" {
			help = is.CWE.URL
		}
	}
	if c := strings.ToLower(strings.TrimSpace(is.Confidence)); c != "" {
		tags = append(tags, "confidence:"+c)
	}
	return findings.Finding{
		Stage:    SAST,
		Tool:     "gosec",
		RuleID:   is.RuleID,
		RuleName: name,
		Severity: sev,
		Message:  msg,
		Location: findings.Location{Path: rel, Line: line, EndLine: endLine, Column: col},
		HelpURI:  help,
		Tags:     tags,
		// The flagged source line(s) without their numbers: moving the code
		// keeps the fingerprint, changing it makes a new finding.
		Identity: is.RuleID + "|" + snippetLines(is.Code, gosecCodeLine, line, endLine),
	}, nil
}

// gosecRuleDoc explains a gosec rule with gosec's own metadata: the
// rule's title (gosecRuleNames), and the name and description of the
// weakness its report names, from gosec's CWE data (gosecCWEs, which
// gosec's SARIF output uses too).
func gosecRuleDoc(id, name string, is gosecIssue) findings.Doc {
	d := findings.Doc{Summary: name + ".", Links: []string{gosecRulesURL}}
	if name == "" {
		d.Summary = "gosec rule " + id + "."
	}
	if is.CWE != nil {
		if tag := is.CWE.ID.tag(); tag != "" {
			if w, ok := gosecCWEs[strings.TrimPrefix(tag, "CWE-")]; ok {
				d.Details = fmt.Sprintf("%s: %s. %s", tag, w.Name, w.Description)
				d.Facts = append(d.Facts, findings.Fact{Label: "CWE", Value: tag + " " + w.Name})
			} else {
				d.Facts = append(d.Facts, findings.Fact{Label: "CWE", Value: tag})
			}
			d.Links = append([]string{is.CWE.URL}, d.Links...)
		}
	}
	d.Fix = "Change the flagged code as the weakness above describes; where gosec is wrong about it, " +
		"mark the line with a #nosec " + id + " comment that says why."
	return d
}

// gosecLoadErrorFinding turns one "Golang errors" entry into a coverage gap.
func gosecLoadErrorFinding(key string, errs []gosecError, root string) findings.Finding {
	f := findings.Finding{
		Stage:    SAST,
		Tool:     "gosec",
		RuleID:   GosecLoadErrorRule,
		RuleName: "gosec could not load or type-check code",
		Severity: findings.SeverityLow,
		HelpURI:  gosecRulesURL,
		Tags:     []string{coverageGapTag},
		Rule:     OwnRuleDoc(GosecLoadErrorRule),
	}
	first := ""
	if len(errs) > 0 {
		first = oneLine(errs[0].Err)
		f.Location.Line, f.Location.Column = max(errs[0].Line, 0), max(errs[0].Column, 0)
	}
	more := ""
	if len(errs) > 1 {
		more = fmt.Sprintf(" (and %d more errors)", len(errs)-1)
	}
	rel, err := scannerRelPath(key, root)
	ident := key
	switch {
	case strings.HasSuffix(key, ".go") && err == nil:
		f.Location.Path = rel
		ident = rel
		f.Message = fmt.Sprintf("gosec could not type-check %s, so it was not fully scanned: %s%s", rel, first, more)
	case strings.HasSuffix(key, ".go"):
		// A file outside the scanned folder: named in full, and placed at
		// the module's go.mod (code scanning shows no result without a file).
		f.Location = findings.Location{Path: "go.mod"}
		f.Message = fmt.Sprintf("gosec could not type-check %s, so it was not fully scanned: %s%s", key, first, more)
	default:
		// The package-level entry ("", "." or a package path): at the
		// module's go.mod, the error text names what failed.
		f.Location = findings.Location{Path: "go.mod"}
		what := "a package"
		if key != "" && key != "." {
			what = "package " + key
		}
		f.Message = fmt.Sprintf("gosec could not load %s, so it was not fully scanned: %s%s", what, first, more)
	}
	// Line-independent: error texts may embed file:line:col positions.
	f.Identity = ident + "|" + positionRE.ReplaceAllString(first, "")
	return f
}

var positionRE = regexp.MustCompile(`:\d+(:\d+)?`)

func summarizeGosecErrors(errs map[string][]gosecError) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if len(errs[k]) == 0 {
			continue
		}
		name := k
		if name == "" {
			name = "package"
		}
		parts = append(parts, name+": "+oneLine(errs[k][0].Err))
		if len(parts) == 3 {
			break
		}
	}
	if len(keys) > len(parts) {
		parts = append(parts, fmt.Sprintf("%d entries in all", len(keys)))
	}
	return strings.Join(parts, "; ")
}

// gosecLineRange reads gosec's line: "12" or a range "12-14".
func gosecLineRange(s string) (line, end int, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	line, err = strconv.Atoi(a)
	if err != nil || line < 0 {
		return 0, 0, fmt.Errorf("invalid line %q", s)
	}
	if !isRange {
		return line, 0, nil
	}
	end, err = strconv.Atoi(b)
	if err != nil || end < line {
		return 0, 0, fmt.Errorf("invalid line range %q", s)
	}
	if end == line {
		end = 0
	}
	return line, end, nil
}

func optionalInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	return n, nil
}

// scannerRelPath makes a reported file name relative to the scanned folder:
// root (the tool's working folder) is stripped from absolute names, "./"
// from relative ones. An absolute name with no root, or outside root, is an
// error. root is also tried with its symlinks resolved, since the go command
// reports the physical working folder.
func scannerRelPath(name, root string) (string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	if n == "" {
		return "", fmt.Errorf("no file name")
	}
	if path.IsAbs(n) || (len(n) > 2 && n[1] == ':' && n[2] == '/') {
		if strings.TrimSpace(root) == "" {
			return "", fmt.Errorf("file name %q is absolute and no scan root was given", name)
		}
		roots := []string{root}
		if resolved, err := filepath.EvalSymlinks(root); err == nil && resolved != root {
			roots = append(roots, resolved)
		}
		found := false
		for _, r := range roots {
			r = path.Clean(strings.ReplaceAll(r, "\\", "/"))
			prefix := strings.TrimSuffix(r, "/") + "/"
			if rest, ok := strings.CutPrefix(path.Clean(n), prefix); ok {
				n, found = rest, true
				break
			}
		}
		if !found {
			return "", fmt.Errorf("file %q is outside the scanned folder %q", name, root)
		}
	}
	rel, err := CleanRel(n)
	if err != nil {
		return "", fmt.Errorf("file name: %w", err)
	}
	return rel, nil
}

// Code snippets: gosec numbers lines "12: code", bandit "12 code".
var (
	gosecCodeLine  = regexp.MustCompile(`^(\d+): ?(.*)$`)
	banditCodeLine = regexp.MustCompile(`^(\d+) ?(.*)$`)
)

// snippetLines keeps the lines line..end (end 0: just line) of a numbered
// code snippet, without their numbers and with whitespace normalized; when
// none is numbered as expected, the whole snippet is used.
func snippetLines(code string, numbered *regexp.Regexp, line, end int) string {
	if end < line {
		end = line
	}
	var kept, all []string
	for _, l := range strings.Split(code, "\n") {
		m := numbered.FindStringSubmatch(l)
		if m == nil {
			all = append(all, l)
			continue
		}
		all = append(all, m[2])
		if n, err := strconv.Atoi(m[1]); err == nil && n >= line && n <= end {
			kept = append(kept, m[2])
		}
	}
	if len(kept) == 0 {
		kept = all
	}
	return strings.Join(strings.Fields(strings.Join(kept, "\n")), " ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// decodeReportObject decodes exactly one JSON object: empty input, another
// JSON value, a truncated object or trailing data are errors.
func decodeReportObject(report []byte, v any, what string) error {
	trimmed := bytes.TrimSpace(report)
	if len(trimmed) == 0 {
		return fmt.Errorf("%s is empty", what)
	}
	if trimmed[0] != '{' {
		return fmt.Errorf("%s is not a JSON object", what)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: trailing data after the JSON object", what)
	}
	return nil
}
