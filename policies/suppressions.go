package policies

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// Suppression accepts findings for a while: a finding it matches stays in
// every report, marked Suppressed, but no gate counts it. It is written in
// the policy under `suppressions:`, or in a file of its own (LoadSuppressions):
//
//	suppressions:
//	  - rule: G104                       # matchers: at least one of
//	    path: "internal/legacy/**"       #   fingerprint, rule, path, package
//	    justification: errors of Close on read-only files are harmless
//	    owner: platform-team
//	    expires: 2026-09-30
//	  - package: lodash@4.17.20          # name, or name@version
//	    stage: sca                       # tool and stage narrow a matcher
//	    justification: not reachable from our code, upgrade in PLAT-123
//	    owner: alice@example.com
//	    expires: 2026-07-01
//	  - fingerprint: 3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6
//	    justification: test fixture
//	    owner: qa
//	    expires: 2026-12-31
//
// Every field set must match (they are ANDed):
//
//   - fingerprint: the finding's fingerprint as the report shows it, 32 hex
//     digits with an optional ":N" occurrence suffix (any case).
//   - rule: the rule id, exactly; tool: the tool that reported it.
//   - path: a doublestar glob (stages.MatchGlob: "*" within a path element,
//     "**" across elements) on the finding's path, which is relative to the
//     source; a finding without a path never matches. DAST paths are URL
//     paths ("/login"); image findings are at "image:REF".
//   - package: a package name, compared ignoring case, or "name@version",
//     the version compared exactly. See findingPackage for where the name
//     comes from.
//   - stage: the stage name.
//
// justification, owner and expires are required. expires is a date,
// YYYY-MM-DD, at most a year after the day the policy is read (UTC); the
// suppression works through the end of that day, UTC, and then stops:
// its findings count again and the run report lists it as expired. A date
// in the past is not an error, so a policy never stops loading because a
// day passed.
type Suppression struct {
	Fingerprint, Rule, Tool, Stage, Path, Package string
	Justification, Owner                          string
	// Expires is the last instant the suppression works: the end of the
	// expires day, UTC.
	Expires time.Time
	// Source is where the suppression is written, "file:line".
	Source string
}

// DateLayout is how expiry dates are written.
const DateLayout = "2006-01-02"

// MaxSuppressionTerm is how far ahead an expiry may be: suppressions are
// reviewed at least yearly (LatestExpiry).
const MaxSuppressionTerm = "a year"

// LatestExpiry is the furthest day a suppression written at now may
// expire on: MaxSuppressionTerm ahead.
func LatestExpiry(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y+1, m, d, 0, 0, 0, 0, time.UTC)
}

// clock is time.Now; tests replace it.
var clock = time.Now

// Matches reports whether every matcher the suppression sets matches f. It
// does not look at the expiry. A suppression with no matcher (fingerprint,
// rule, path or package; only possible when built by hand) matches nothing.
func (s Suppression) Matches(f findings.Finding) bool { return s.matches(&f) }

func (s *Suppression) matches(f *findings.Finding) bool {
	if s.Fingerprint == "" && s.Rule == "" && s.Path == "" && s.Package == "" {
		return false
	}
	// A finding merged from several tools' copies matches by any copy's
	// fingerprint or tool, so dedup never breaks a suppression.
	switch {
	case s.Fingerprint != "" && !strings.EqualFold(s.Fingerprint, f.Fingerprint) && !slices.ContainsFunc(f.MergedFingerprints, func(fp string) bool { return strings.EqualFold(s.Fingerprint, fp) }),
		s.Rule != "" && s.Rule != f.RuleID,
		s.Tool != "" && s.Tool != f.Tool && !slices.Contains(f.AlsoFoundBy, s.Tool),
		s.Stage != "" && s.Stage != f.Stage,
		s.Path != "" && (f.Location.Where() == "" || !stages.MatchGlob(s.Path, f.Location.Where())):
		return false
	case s.Package != "":
		name, version := findings.SplitPackage(s.Package)
		fn, fv, ok := f.Package()
		return ok && strings.EqualFold(name, fn) && (version == "" || version == fv)
	}
	return true
}

// Expired reports whether the suppression no longer works at now.
func (s Suppression) Expired(now time.Time) bool { return now.After(s.Expires) }

// Describe names what the suppression matches, as a policy writes it:
// "rule G104, path internal/legacy/**".
func (s Suppression) Describe() string {
	var parts []string
	for _, m := range [...]struct{ key, v string }{
		{"fingerprint", s.Fingerprint}, {"rule", s.Rule}, {"tool", s.Tool}, {"stage", s.Stage}, {"path", s.Path}, {"package", s.Package},
	} {
		if m.v != "" {
			parts = append(parts, m.key+" "+m.v)
		}
	}
	return strings.Join(parts, ", ")
}

// ExpiresDate is the expiry as written, YYYY-MM-DD.
func (s Suppression) ExpiresDate() string { return s.Expires.UTC().Format(DateLayout) }

// SuppressionUse is one suppression's effect on a run.
type SuppressionUse struct {
	Suppression
	// Matched counts the findings its matchers select, whether or not it
	// is expired and whether or not an earlier suppression took them.
	Matched int
	// Suppressed counts the findings it suppressed: those it was the
	// first unexpired match of. Always 0 for an expired suppression.
	Suppressed int
}

// SuppressionReport says what a run's suppressions did; the run report
// holds it under "suppressions". Every suppression is in Active or Expired
// (never both), and also in Stale when it matched no finding:
//
//   - Active: unexpired, matched at least one finding;
//   - Expired: past its date, whatever it matched. Its findings counted;
//     Matched says how many it would have covered (renew or fix them);
//   - Stale: matched no finding at all, expired or not (delete it). An
//     expired suppression that matches nothing is in Expired and in Stale.
//
// Stale is only meaningful when Suppress saw every finding of a
// run of every stage; a run of some stages leaves the others' stale.
type SuppressionReport struct {
	Active  []SuppressionUse `json:"active"`
	Expired []SuppressionUse `json:"expired"`
	Stale   []Suppression    `json:"stale"`
}

// Suppress sets Suppressed on each finding of fs matched by an unexpired
// suppression, from the first such suppression in sups (file order), and
// clears it on every other finding, so suppressing again, or a report read
// back, gives the same result. An expired suppression suppresses nothing.
// The findings one suppression covers share one Suppressed value; treat it
// as read-only.
//
// now decides expiry: pass one time (the run's start) to every call of a
// run, so all stages agree. The report's lists are never nil.
func Suppress(sups []Suppression, fs []findings.Finding, now time.Time) SuppressionReport {
	return applySuppressions(sups, fs, now, true)
}

// SuppressionUsage is the report Suppress would give for fs, leaving fs as
// it is.
func SuppressionUsage(sups []Suppression, fs []findings.Finding, now time.Time) SuppressionReport {
	return applySuppressions(sups, fs, now, false)
}

func applySuppressions(sups []Suppression, fs []findings.Finding, now time.Time, mark bool) SuppressionReport {
	matched := make([]int, len(sups))
	suppressed := make([]int, len(sups))
	expired := make([]bool, len(sups))
	marks := make([]*findings.Suppressed, len(sups))
	for j := range sups {
		expired[j] = sups[j].Expired(now)
	}
	for i := range fs {
		f := &fs[i]
		taken := -1
		for j := range sups {
			if !sups[j].matches(f) {
				continue
			}
			matched[j]++
			if taken < 0 && !expired[j] {
				taken = j
				suppressed[j]++
			}
		}
		if !mark {
			continue
		}
		f.Suppressed = nil
		if taken >= 0 {
			if marks[taken] == nil {
				s := &sups[taken]
				marks[taken] = &findings.Suppressed{Justification: s.Justification, Owner: s.Owner, Expires: s.ExpiresDate(), Source: s.Source}
			}
			f.Suppressed = marks[taken]
		}
	}
	rep := SuppressionReport{Active: []SuppressionUse{}, Expired: []SuppressionUse{}, Stale: []Suppression{}}
	for j, s := range sups {
		use := SuppressionUse{Suppression: s, Matched: matched[j], Suppressed: suppressed[j]}
		switch {
		case expired[j]:
			rep.Expired = append(rep.Expired, use)
		case use.Matched > 0:
			rep.Active = append(rep.Active, use)
		}
		if use.Matched == 0 {
			rep.Stale = append(rep.Stale, s)
		}
	}
	return rep
}

// suppressionJSON is a suppression in the run report: expires as a date.
type suppressionJSON struct {
	Fingerprint   string `json:"fingerprint,omitempty"`
	Rule          string `json:"rule,omitempty"`
	Tool          string `json:"tool,omitempty"`
	Stage         string `json:"stage,omitempty"`
	Path          string `json:"path,omitempty"`
	Package       string `json:"package,omitempty"`
	Justification string `json:"justification"`
	Owner         string `json:"owner"`
	Expires       string `json:"expires"`
	Source        string `json:"source,omitempty"`
}

func (s Suppression) toJSON() suppressionJSON {
	j := suppressionJSON{
		Fingerprint: s.Fingerprint, Rule: s.Rule, Tool: s.Tool, Stage: s.Stage, Path: s.Path, Package: s.Package,
		Justification: s.Justification, Owner: s.Owner, Source: s.Source,
	}
	if !s.Expires.IsZero() {
		j.Expires = s.ExpiresDate()
	}
	return j
}

func (j suppressionJSON) suppression() (Suppression, error) {
	s := Suppression{
		Fingerprint: j.Fingerprint, Rule: j.Rule, Tool: j.Tool, Stage: j.Stage, Path: j.Path, Package: j.Package,
		Justification: j.Justification, Owner: j.Owner, Source: j.Source,
	}
	if j.Expires != "" {
		d, err := time.Parse(DateLayout, j.Expires)
		if err != nil {
			return Suppression{}, fmt.Errorf("suppression expires: want YYYY-MM-DD, got %q", j.Expires)
		}
		s.Expires = EndOfDay(d)
	}
	return s, nil
}

// MarshalJSON writes the fields in snake_case and expires as YYYY-MM-DD.
func (s Suppression) MarshalJSON() ([]byte, error) { return json.Marshal(s.toJSON()) }

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Suppression) UnmarshalJSON(b []byte) error {
	var j suppressionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := j.suppression()
	if err != nil {
		return err
	}
	*s = v
	return nil
}

type suppressionUseJSON struct {
	suppressionJSON
	Matched    int `json:"matched"`
	Suppressed int `json:"suppressed"`
}

// MarshalJSON writes the suppression's fields, matched and suppressed in
// one object. (Without it the embedded Suppression's method would drop
// the counts.)
func (u SuppressionUse) MarshalJSON() ([]byte, error) {
	return json.Marshal(suppressionUseJSON{u.Suppression.toJSON(), u.Matched, u.Suppressed})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (u *SuppressionUse) UnmarshalJSON(b []byte) error {
	var j suppressionUseJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	s, err := j.suppressionJSON.suppression()
	if err != nil {
		return err
	}
	*u = SuppressionUse{Suppression: s, Matched: j.Matched, Suppressed: j.Suppressed}
	return nil
}

// EndOfDay is the last instant of d's day, UTC.
func EndOfDay(d time.Time) time.Time {
	y, m, day := d.Date()
	return time.Date(y, m, day+1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)
}

// LoadSuppressions reads a file of suppressions: a mapping with the key
// suppressions (the same list as in a policy) and an optional version: 1,
// nothing else. file is used in errors and in each suppression's Source.
// The caller appends the result to Policy.Suppressions.
func LoadSuppressions(data []byte, file string) ([]Suppression, error) {
	p := &parser{file: file}
	root, errs := p.readRoot(data, "suppressions file", "version, suppressions")
	if root == nil {
		return nil, joinErrors(errs)
	}
	var out []Suppression
	found := false
	p.mapping(root, "at top level", suppressionFileKeys, "known", func(key string, k, v *yaml.Node) bool {
		switch key {
		case "version":
			p.version(v, "suppressions file")
		case "suppressions":
			found = true
			out = p.suppressions(v)
		default:
			return false
		}
		return true
	})
	if !found && len(p.errs) == 0 {
		p.errorf(root, "no suppressions key (a suppressions file holds version: 1 and suppressions: [...])")
	}
	if len(p.errs) > 0 {
		return nil, joinErrors(p.errs)
	}
	return out, nil
}

// ReadSuppressions is LoadSuppressions on a file, read up to MaxSize bytes.
func ReadSuppressions(file string) ([]Suppression, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read suppressions: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read suppressions %s: %w", file, err)
	}
	return LoadSuppressions(data, file)
}

var (
	suppressionFileKeys = []string{"version", "suppressions"}
	suppressionKeys     = []string{"fingerprint", "rule", "tool", "stage", "path", "package", "justification", "owner", "expires"}
	fingerprintRE       = regexp.MustCompile(`^[0-9a-fA-F]{32}(:[1-9][0-9]*)?$`)
	dateRE              = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// suppressions reads a list of suppressions; null is none. Only valid
// entries are returned, but every problem is reported.
func (p *parser) suppressions(v *yaml.Node) []Suppression {
	if isNull(v) {
		return nil
	}
	items, ok := p.list(v, "suppressions", "suppressions", "[{rule: G104, justification: ..., owner: ..., expires: 2026-12-31}]")
	if !ok {
		return nil
	}
	var out []Suppression
	seen := map[string]int{}
	for i, item := range items {
		at := fmt.Sprintf("suppressions[%d]", i)
		n := len(p.errs)
		s, ok := p.suppression(item, at)
		if !ok || len(p.errs) > n {
			continue
		}
		key := strings.Join([]string{strings.ToLower(s.Fingerprint), s.Rule, s.Tool, s.Stage, s.Path, strings.ToLower(s.Package)}, "\x00")
		if first, dup := seen[key]; dup {
			p.errorf(item, "%s: matches the same findings as the suppression at line %d (merge the two)", at, first)
			continue
		}
		seen[key] = lineOf(item)
		out = append(out, s)
	}
	return out
}

func (p *parser) suppression(item *yaml.Node, at string) (Suppression, bool) {
	m := resolve(item)
	if m == nil || m.Kind != yaml.MappingNode {
		p.errorf(item, "%s: want a mapping such as {rule: G104, justification: ..., owner: ..., expires: 2026-12-31}, got %s", at, describe(m))
		return Suppression{}, false
	}
	s := Suppression{Source: fmt.Sprintf("%s:%d", p.file, lineOf(item))}
	present := map[string]bool{}
	var toolNode *yaml.Node
	p.mapping(m, "in "+at, suppressionKeys, "known", func(key string, k, v *yaml.Node) bool {
		fat := at + "." + key
		present[key] = true
		switch key {
		case "fingerprint":
			if x, ok := p.matcher(v, fat); ok {
				if !fingerprintRE.MatchString(x) {
					p.errorf(v, "%s: %s is not a finding fingerprint (32 hex digits, optionally :N, as in the report)", fat, quote(x))
				} else {
					s.Fingerprint = strings.ToLower(x)
				}
			}
		case "rule":
			if x, ok := p.matcher(v, fat); ok {
				s.Rule = x
			}
		case "tool":
			if x, ok := p.matcher(v, fat); ok {
				if !slices.Contains(allTools(), x) {
					p.errorf(v, "%s: unknown tool %s (tools: %s)", fat, quote(x), strings.Join(allTools(), ", "))
				} else {
					s.Tool, toolNode = x, v
				}
			}
		case "stage":
			if x, ok := p.matcher(v, fat); ok {
				if _, known := stages.Lookup(x); !known {
					msg := fmt.Sprintf("%s: unknown stage %s (stages: %s)", fat, quote(x), strings.Join(stages.Names(), ", "))
					if sg := Suggest(x, stages.Names()); sg != "" {
						msg += fmt.Sprintf("; did you mean %q?", sg)
					}
					p.errorf(v, "%s", msg)
				} else {
					s.Stage = x
				}
			}
		case "path":
			if x, ok := p.matcher(v, fat); ok {
				if msg := checkGlob(x); msg != "" {
					p.errorf(v, "%s: %s", fat, msg)
				} else {
					s.Path = x
				}
			}
		case "package":
			if x, ok := p.matcher(v, fat); ok {
				if name, version := findings.SplitPackage(x); name == "" || (strings.Contains(x[1:], "@") && version == "") {
					p.errorf(v, "%s: %s is not a package name or name@version", fat, quote(x))
				} else {
					s.Package = x
				}
			}
		case "justification":
			s.Justification = p.text(v, fat, "why the finding is acceptable")
		case "owner":
			s.Owner = p.text(v, fat, "who answers for it: a person or team")
		case "expires":
			s.Expires = p.expiry(v, fat)
		default:
			return false
		}
		return true
	})
	required := []struct{ key, what string }{
		{"justification", "say why the finding is acceptable"},
		{"owner", "name who answers for it: a person or team"},
		{"expires", "a date YYYY-MM-DD, at most " + MaxSuppressionTerm + " ahead"},
	}
	for _, r := range required {
		if !present[r.key] {
			p.errorf(item, "%s.%s is required (%s)", at, r.key, r.what)
		}
	}
	if !present["fingerprint"] && !present["rule"] && !present["path"] && !present["package"] {
		p.errorf(item, "%s: no matcher: set at least one of fingerprint, rule, path or package (tool and stage only narrow them)", at)
	}
	if s.Tool != "" && s.Stage != "" {
		if err := stages.CheckTools(s.Stage, []string{s.Tool}); err != nil {
			p.errorf(toolNode, "%s.tool: %v", at, err)
		}
	}
	return s, true
}

// matcher reads a non-empty string without surrounding spaces.
func (p *parser) matcher(v *yaml.Node, at string) (string, bool) {
	s, ok := p.str(v, at)
	switch {
	case !ok:
		return "", false
	case s == "":
		p.errorf(v, "%s is empty", at)
		return "", false
	case strings.TrimSpace(s) != s || strings.ContainsFunc(s, unicode.IsControl):
		p.errorf(v, "%s: %s has leading or trailing spaces or a control character", at, quote(s))
		return "", false
	}
	return s, true
}

// text reads required free text; surrounding spaces are dropped.
func (p *parser) text(v *yaml.Node, at, want string) string {
	s, ok := p.str(v, at)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		p.errorf(v, "%s is empty (%s)", at, want)
	}
	return s
}

// expiry reads a date YYYY-MM-DD (YAML reads one unquoted as a timestamp)
// and returns the end of that day, UTC.
func (p *parser) expiry(v *yaml.Node, at string) time.Time {
	r, ok := p.scalar(v, at, "a date YYYY-MM-DD")
	if !ok {
		return time.Time{}
	}
	tag := r.ShortTag()
	d, err := time.Parse(DateLayout, r.Value)
	if (tag != "!!str" && tag != "!!timestamp") || !dateRE.MatchString(r.Value) || err != nil {
		p.errorf(v, "%s: want a date YYYY-MM-DD such as 2026-12-31, got %s", at, describe(r))
		return time.Time{}
	}
	if latest := LatestExpiry(clock()); d.After(latest) {
		p.errorf(v, "%s: %s is more than %s ahead (latest: %s); suppressions are reviewed at least yearly",
			at, r.Value, MaxSuppressionTerm, latest.Format(DateLayout))
		return time.Time{}
	}
	return EndOfDay(d)
}

// checkGlob rejects patterns that can never match a finding's path.
func checkGlob(pattern string) string {
	if strings.HasSuffix(pattern, "/") {
		return fmt.Sprintf("%s ends with / and so matches nothing (for a folder write %s**)", quote(pattern), pattern)
	}
	for _, el := range strings.Split(pattern, "/") {
		if _, err := path.Match(el, ""); err != nil {
			return fmt.Sprintf("%s is not a valid glob (%v)", quote(pattern), err)
		}
	}
	return ""
}

// marshalSuppressions writes suppressions as Parse reads them; each one's
// Source becomes a comment, since the written file has other lines.
func marshalSuppressions(sups []Suppression) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, s := range sups {
		m := mapNode()
		for _, kv := range [][2]string{
			{"fingerprint", s.Fingerprint}, {"rule", s.Rule}, {"tool", s.Tool}, {"stage", s.Stage},
			{"path", s.Path}, {"package", s.Package}, {"justification", s.Justification}, {"owner", s.Owner},
		} {
			if kv[1] != "" {
				addPair(m, kv[0], strNode(kv[1]))
			}
		}
		expires := ""
		if !s.Expires.IsZero() {
			expires = s.ExpiresDate()
		}
		addPair(m, "expires", strNode(expires))
		if s.Source != "" {
			m.HeadComment = "from " + strings.ReplaceAll(s.Source, "\n", " ")
		}
		seq.Content = append(seq.Content, m)
	}
	return seq
}
