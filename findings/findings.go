// Package findings is the normalized finding every tool report is turned into.
package findings

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Severity orders findings; the zero value is invalid on purpose so a parser
// that forgets to set one is caught by Validate.
type Severity int

const (
	SeverityInfo Severity = iota + 1
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = map[Severity]string{
	SeverityInfo:     "info",
	SeverityLow:      "low",
	SeverityMedium:   "medium",
	SeverityHigh:     "high",
	SeverityCritical: "critical",
}

// Severities lists every valid severity, most severe first.
func Severities() []Severity {
	return []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}
}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Valid reports whether s is one of the five named severities.
func (s Severity) Valid() bool { _, ok := severityNames[s]; return ok }

// ParseSeverity accepts the names critical, high, medium, low and info (any case).
func ParseSeverity(name string) (Severity, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for s, sn := range severityNames {
		if sn == n {
			return s, nil
		}
	}
	return 0, fmt.Errorf("invalid severity %q (want critical, high, medium, low or info)", name)
}

func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// SecuritySeverity is the CVSS-like score GitHub code scanning reads from a
// rule's "security-severity" property; each value sits inside its band.
func (s Severity) SecuritySeverity() string {
	switch s {
	case SeverityCritical:
		return "9.5"
	case SeverityHigh:
		return "8.0"
	case SeverityMedium:
		return "5.5"
	case SeverityLow:
		return "2.0"
	default:
		return "0.0"
	}
}

// Location is where a finding is; Path is relative to the scanned source,
// with forward slashes. Line 0 means the tool gave no line.
type Location struct {
	Path      string `json:"path,omitempty"`
	Line      int    `json:"line,omitempty"`
	EndLine   int    `json:"end_line,omitempty"`
	Column    int    `json:"column,omitempty"`
	EndColumn int    `json:"end_column,omitempty"`
	// Manifest is the dependency manifest or lockfile that brings in the
	// package of a dependency finding placed elsewhere (govulncheck's call
	// sites): GitLab's dependency scanning wants that file.
	Manifest string `json:"manifest,omitempty"`
	// Request is the web request a DAST finding was seen on. Such a
	// finding has no Path: a URL is not a file of the source.
	Request *Request `json:"request,omitempty"`
}

// Request is where on a web target a DAST finding is.
type Request struct {
	Method string `json:"method,omitempty"`
	// Path is the URL's path (and query) on the scanned target.
	Path  string `json:"path"`
	Param string `json:"param,omitempty"`
}

// Where is what fingerprints and path matchers read: a DAST finding's URL
// path (whatever file it is shown at: the route's handler), else the file.
func (l Location) Where() string {
	if l.Request != nil {
		return l.Request.Path
	}
	return l.Path
}

// Finding is one issue reported by one tool.
type Finding struct {
	Stage string `json:"stage"`
	Tool  string `json:"tool"`
	// Target is the part of the source the tool run covered when the tool
	// runs once per part (a Go module's folder); "" for the whole source.
	// Its SARIF run has a category of its own.
	Target      string   `json:"target,omitempty"`
	RuleID      string   `json:"rule_id"`
	RuleName    string   `json:"rule_name,omitempty"`
	Severity    Severity `json:"severity"`
	Message     string   `json:"message"`
	Location    Location `json:"location"`
	Fingerprint string   `json:"fingerprint"`
	HelpURI     string   `json:"help_uri,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Rule explains the rule, from the tool's metadata; shared by the
	// findings of one rule. A run report keeps it once per rule (its
	// "rules"), not with every finding.
	Rule *Rule `json:"-"`
	// Identity holds tool-specific, line-independent facts that tell two
	// findings of one rule in one file apart (a package name, a CVE, the
	// redacted match of a secret). It is hashed into Fingerprint, never printed.
	Identity string `json:"-"`

	// AlsoFoundBy lists the other tools that reported the same issue; their
	// copies were merged into this finding (the most severe one kept).
	AlsoFoundBy []string `json:"also_found_by,omitempty"`
	// MergedFingerprints are the fingerprints of those other tools' copies
	// (see Dedup), so a baseline knows the issue whichever copy is kept.
	MergedFingerprints []string `json:"merged_fingerprints,omitempty"`
	// Baseline is "new" or "known" when the run was compared with a
	// baseline report, "" otherwise.
	Baseline string `json:"baseline,omitempty"`
	// Suppressed is set when a suppression of the policy matched: the
	// finding stays in every report but no gate counts it.
	Suppressed *Suppressed `json:"suppressed,omitempty"`
}

// Suppressed records the suppression that matched a finding.
type Suppressed struct {
	Justification string `json:"justification"`
	Owner         string `json:"owner"`
	Expires       string `json:"expires"` // YYYY-MM-DD
	// Source names where the suppression is written: file and line.
	Source string `json:"source"`
}

// Baseline states.
const (
	BaselineNew   = "new"
	BaselineKnown = "known"
)

// Text is what to show for the finding: its message, else its rule's name,
// else its rule id; never "".
func (f Finding) Text() string {
	switch {
	case f.Message != "":
		return f.Message
	case f.RuleName != "":
		return f.RuleName
	default:
		return f.RuleID
	}
}

// Validate checks the fields every report and gate depends on.
func (f Finding) Validate() error {
	switch {
	case f.Stage == "":
		return fmt.Errorf("finding has no stage")
	case f.Tool == "":
		return fmt.Errorf("finding has no tool")
	case f.RuleID == "":
		return fmt.Errorf("%s finding has no rule id", f.Tool)
	case !f.Severity.Valid():
		return fmt.Errorf("%s finding %s has an invalid severity", f.Tool, f.RuleID)
	}
	return nil
}

// Fingerprint hashes what identifies a finding but not where it sits: stage,
// tool, rule, path (a DAST finding's URL path: Location.Where) and
// identity. Lines and columns are left out so a finding moved to another
// line keeps its fingerprint.
func Fingerprint(f Finding) string {
	return fingerprint(&f)
}

func fingerprint(f *Finding) string {
	// One buffer hashed at once is the same digest as the parts written one
	// by one, without an allocation per part.
	var stack [256]byte
	buf := stack[:0]
	for _, part := range [...]string{f.Stage, f.Tool, f.RuleID, f.Location.Where(), normalizeSpace(f.Identity)} {
		buf = append(buf, part...)
		buf = append(buf, 0)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:16])
}

func normalizeSpace(s string) string {
	if spaceNormal(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// spaceNormal reports whether s is ASCII with single spaces only between
// words, which normalizeSpace returns unchanged.
func spaceNormal(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80, c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			return false
		case c == ' ' && (i == 0 || i == len(s)-1 || s[i-1] == ' '):
			return false
		}
	}
	return true
}

// AssignFingerprints sets Fingerprint on every finding. Findings that would
// share one (the same rule twice in a file with the same identity) get an
// occurrence suffix in file order, which also survives line moves.
func AssignFingerprints(fs []Finding) {
	idx := make([]int, len(fs))
	for i := range idx {
		idx[i] = i
	}
	AssignFingerprintsAt(fs, idx)
}

// AssignFingerprintsAt is AssignFingerprints on the findings idx selects
// (fs[i] for each i in idx, which it reorders), as if they were a slice of
// their own: the pipeline fingerprints one tool's findings in a stage's
// without copying them out.
func AssignFingerprintsAt(fs []Finding, idx []int) {
	slices.SortFunc(idx, func(a, b int) int {
		la, lb := &fs[a].Location, &fs[b].Location
		if c := cmp.Compare(la.Line, lb.Line); c != 0 {
			return c
		}
		if c := cmp.Compare(la.Column, lb.Column); c != 0 {
			return c
		}
		return cmp.Compare(a, b) // stable
	})
	seen := make(map[string]int, len(idx))
	for _, i := range idx {
		base := fingerprint(&fs[i])
		n := seen[base]
		seen[base] = n + 1
		if n == 0 {
			fs[i].Fingerprint = base
		} else {
			fs[i].Fingerprint = base + ":" + strconv.Itoa(n+1)
		}
	}
}

// SortIndexes orders indexes into fs as Sort would order their findings,
// without moving them; indexes of findings that tie keep their order.
func SortIndexes(fs []Finding, idx []int) {
	order := func(a, b int) int { return compareFindings(&fs[a], &fs[b]) }
	if !slices.IsSortedFunc(idx, order) {
		slices.SortStableFunc(idx, order)
	}
}

// Sort orders findings most severe first, then by path, line, tool and rule,
// so reports are stable from run to run; findings that tie keep their order.
func Sort(fs []Finding) {
	sorted := true
	for i := 1; i < len(fs) && sorted; i++ {
		sorted = compareFindings(&fs[i-1], &fs[i]) <= 0
	}
	if sorted {
		return
	}
	permute(fs, sortOrder(len(fs), func(i int) *Finding { return &fs[i] }))
}

// sortOrder is the order Sort puts n findings in, finding i being at(i):
// the i of the first, then of the second, ...
//
// It sorts small keys (a path is its rank among the paths), not findings:
// comparing them does not chase strings all over the heap, and moving them
// does not copy whole findings.
func sortOrder(n int, at func(int) *Finding) []int {
	ids := map[string]int32{}
	var paths []string
	keys := make([]sortKey, n)
	for i := range n {
		f := at(i)
		id, ok := ids[f.Location.Path]
		if !ok {
			id = int32(len(paths))
			ids[f.Location.Path] = id
			paths = append(paths, f.Location.Path)
		}
		keys[i] = sortKey{sev: f.Severity, line: f.Location.Line, path: id, i: int32(i), tool: f.Tool, rule: f.RuleID}
	}
	byPath := make([]int32, len(paths))
	for i := range byPath {
		byPath[i] = int32(i)
	}
	slices.SortFunc(byPath, func(a, b int32) int { return strings.Compare(paths[a], paths[b]) })
	rank := make([]int32, len(paths))
	for r, id := range byPath {
		rank[id] = int32(r)
	}
	for i := range keys {
		keys[i].path = rank[keys[i].path]
	}
	keys = sortKeys(keys)
	order := make([]int, n)
	for i, k := range keys {
		order[i] = int(k.i)
	}
	return order
}

// sortKeys sorts keys stably. Keys already in a few sorted runs (a
// report's findings are its stages' sorted lists one after the other) are
// merged; others go to pdqsort.
func sortKeys(keys []sortKey) []sortKey {
	runs := []int{0}
	for i := 1; i < len(keys) && len(runs) <= len(keys)/16; i++ {
		if compareKeys(&keys[i], &keys[i-1]) < 0 {
			runs = append(runs, i)
		}
	}
	if len(runs) > len(keys)/16 {
		slices.SortFunc(keys, func(x, y sortKey) int { return compareKeys(&x, &y) })
		return keys
	}
	if len(runs) == 1 {
		return keys
	}
	runs = append(runs, len(keys))
	tmp := make([]sortKey, len(keys))
	for len(runs) > 2 {
		merged := runs[:0]
		for k := 0; k+1 < len(runs); k += 2 {
			lo, mid := runs[k], runs[k+1]
			merged = append(merged, lo)
			if k+2 == len(runs) {
				copy(tmp[lo:mid], keys[lo:mid])
				break
			}
			hi := runs[k+2]
			i, j, o := lo, mid, lo
			for i < mid && j < hi {
				if compareKeys(&keys[j], &keys[i]) < 0 {
					tmp[o] = keys[j]
					j++
				} else {
					tmp[o] = keys[i]
					i++
				}
				o++
			}
			o += copy(tmp[o:], keys[i:mid])
			copy(tmp[o:], keys[j:hi])
		}
		runs = append(merged, len(keys))
		keys, tmp = tmp, keys
	}
	return keys
}

func compareKeys(x, y *sortKey) int {
	switch {
	case x.sev != y.sev:
		return cmp.Compare(y.sev, x.sev)
	case x.path != y.path:
		return cmp.Compare(x.path, y.path)
	case x.line != y.line:
		return cmp.Compare(x.line, y.line)
	}
	if c := strings.Compare(x.tool, y.tool); c != 0 {
		return c
	}
	if c := strings.Compare(x.rule, y.rule); c != 0 {
		return c
	}
	return cmp.Compare(x.i, y.i) // stable
}

// sortKey is what Sort compares of finding i.
type sortKey struct {
	sev        Severity
	line       int
	path, i    int32
	tool, rule string
}

func compareFindings(x, y *Finding) int {
	if x.Severity != y.Severity {
		return cmp.Compare(y.Severity, x.Severity)
	}
	if c := strings.Compare(x.Location.Path, y.Location.Path); c != 0 {
		return c
	}
	if c := cmp.Compare(x.Location.Line, y.Location.Line); c != 0 {
		return c
	}
	if c := strings.Compare(x.Tool, y.Tool); c != 0 {
		return c
	}
	return strings.Compare(x.RuleID, y.RuleID)
}

// permute puts fs[idx[i]] at i for every i, following each cycle once;
// idx is used up.
func permute(fs []Finding, idx []int) {
	for i := range idx {
		if idx[i] < 0 || idx[i] == i {
			continue
		}
		tmp, j := fs[i], i
		for {
			k := idx[j]
			idx[j] = -1
			if k == i {
				fs[j] = tmp
				break
			}
			fs[j] = fs[k]
			j = k
		}
	}
}

// Counts tallies findings by severity name.
type Counts map[string]int

// CountBySeverity returns a tally with every severity present (zero or not),
// so JSON consumers always see the same keys.
func CountBySeverity(fs []Finding) Counts {
	var n [SeverityCritical + 1]int
	c := Counts{}
	for _, f := range fs {
		if f.Severity.Valid() {
			n[f.Severity]++
		} else {
			c[f.Severity.String()]++
		}
	}
	for _, s := range Severities() {
		c[s.String()] = n[s]
	}
	return c
}

// AtLeast returns the findings whose severity is at or above min.
func AtLeast(fs []Finding, min Severity) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity >= min {
			out = append(out, f)
		}
	}
	return out
}

// MarshalJSON keeps the severity as its name.
var _ json.Marshaler = Severity(0)

func (s Severity) MarshalJSON() ([]byte, error) {
	t, err := s.MarshalText()
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(t))
}

func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return fmt.Errorf("severity: %w", err)
	}
	return s.UnmarshalText([]byte(name))
}
