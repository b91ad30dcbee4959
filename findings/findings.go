// Package findings is the normalized finding every tool report is turned into.
package findings

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
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
}

// Finding is one issue reported by one tool.
type Finding struct {
	Stage       string   `json:"stage"`
	Tool        string   `json:"tool"`
	RuleID      string   `json:"rule_id"`
	RuleName    string   `json:"rule_name,omitempty"`
	Severity    Severity `json:"severity"`
	Message     string   `json:"message"`
	Location    Location `json:"location"`
	Fingerprint string   `json:"fingerprint"`
	HelpURI     string   `json:"help_uri,omitempty"`
	Tags        []string `json:"tags,omitempty"`
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
// tool, rule, path and identity. Lines and columns are left out so a finding
// moved to another line keeps its fingerprint.
func Fingerprint(f Finding) string {
	h := sha256.New()
	for _, part := range []string{f.Stage, f.Tool, f.RuleID, f.Location.Path, normalizeSpace(f.Identity)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// AssignFingerprints sets Fingerprint on every finding. Findings that would
// share one (the same rule twice in a file with the same identity) get an
// occurrence suffix in file order, which also survives line moves.
func AssignFingerprints(fs []Finding) {
	idx := make([]int, len(fs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		la, lb := fs[idx[a]].Location, fs[idx[b]].Location
		if la.Line != lb.Line {
			return la.Line < lb.Line
		}
		return la.Column < lb.Column
	})
	seen := map[string]int{}
	for _, i := range idx {
		base := Fingerprint(fs[i])
		n := seen[base]
		seen[base] = n + 1
		if n == 0 {
			fs[i].Fingerprint = base
		} else {
			fs[i].Fingerprint = fmt.Sprintf("%s:%d", base, n+1)
		}
	}
}

// Sort orders findings most severe first, then by path, line and rule, so
// reports are stable from run to run.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(a, b int) bool {
		x, y := fs[a], fs[b]
		if x.Severity != y.Severity {
			return x.Severity > y.Severity
		}
		if x.Location.Path != y.Location.Path {
			return x.Location.Path < y.Location.Path
		}
		if x.Location.Line != y.Location.Line {
			return x.Location.Line < y.Location.Line
		}
		if x.Tool != y.Tool {
			return x.Tool < y.Tool
		}
		return x.RuleID < y.RuleID
	})
}

// Counts tallies findings by severity name.
type Counts map[string]int

// CountBySeverity returns a tally with every severity present (zero or not),
// so JSON consumers always see the same keys.
func CountBySeverity(fs []Finding) Counts {
	c := Counts{}
	for _, s := range Severities() {
		c[s.String()] = 0
	}
	for _, f := range fs {
		c[f.Severity.String()]++
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
