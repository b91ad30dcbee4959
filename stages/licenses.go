package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dagsec/dagsec/findings"
)

// Rule ids of the licenses stage. They are interfaces: baselines, SARIF
// rules and suppressions use them as written.
const (
	RuleLicenseDenied     = "license-denied"      // a license on the deny list: high
	RuleLicenseNotAllowed = "license-not-allowed" // a known license off a non-empty allow list: medium
	RuleLicenseUnknown    = "license-unknown"     // no license, or not an SPDX id: per LicensePolicy.Unknown
)

// DefaultDeniedLicenses are the strong-copyleft licenses the default policy
// denies, deprecated spellings included so that a policy copied from here
// reads the same as the SPDX list.
var DefaultDeniedLicenses = []string{
	"GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-2.0+",
	"GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later", "GPL-3.0+",
	"AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "AGPL-3.0+",
}

// EvaluateLicenses reads a CycloneDX JSON SBOM (as syft writes it) and
// applies the license policy to every package in it.
//
// A package's licenses are all its license entries: `license.id`,
// `license.name` (parsed as an SPDX expression when it is one, since syft
// writes complex expressions there when a package also has plain ids) and
// `expression`. Several entries must all be acceptable; in an expression OR
// needs one acceptable alternative, AND needs all, and `X WITH exception` is
// matched as written first and then as its base license X. SPDX ids compare
// case-insensitively and deprecated ids match their successors (GPL-3.0 is
// GPL-3.0-only, GPL-3.0+ is GPL-3.0-or-later). A package gets at most one
// finding, for the worst of its licenses.
//
// The root component, file and operating-system components are not packages
// and are skipped, and so is the scanned project's own package where syft
// lists it (see projectPackages): its license is not a dependency's.
// Anything but a complete CycloneDX JSON document is an error; a document
// without components gives no findings.
func EvaluateLicenses(cdx []byte, lp LicensePolicy) ([]findings.Finding, error) {
	pol, err := compileLicensePolicy(lp)
	if err != nil {
		return nil, err
	}
	bom, err := decodeCycloneDX(cdx)
	if err != nil {
		return nil, err
	}
	skip := projectPackages(&bom)
	if bom.Metadata != nil && bom.Metadata.Component != nil && bom.Metadata.Component.BOMRef != "" {
		skip[bom.Metadata.Component.BOMRef] = true
	}
	var out []findings.Finding
	var walk func(cs []cdxComponent, depth int) error
	walk = func(cs []cdxComponent, depth int) error {
		if depth > 32 {
			return fmt.Errorf("CycloneDX SBOM: components nested deeper than 32 levels")
		}
		for i := range cs {
			c := &cs[i]
			if strings.TrimSpace(c.Name) == "" || c.Type == "" {
				return fmt.Errorf("CycloneDX SBOM: component %d (bom-ref %q) has no name or type", i, c.BOMRef)
			}
			if (c.BOMRef == "" || !skip[c.BOMRef]) && !skippedComponentTypes[c.Type] {
				if f, ok := pol.evaluate(c); ok {
					out = append(out, f)
				}
			}
			if err := walk(c.Components, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(bom.Components, 0); err != nil {
		return nil, err
	}
	docs := ruleDocs{}
	for i := range out {
		docs.attach(&out[i], func() findings.Doc { return licenseRuleDoc(out[i].RuleID, lp, pol.unknown) })
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// licenseRuleDoc explains a license rule (LicenseRules) with the lists
// of the policy that judged this run; each finding's message names the
// package, its licenses and the ones at fault.
func licenseRuleDoc(id string, lp LicensePolicy, unknown LicenseAction) findings.Doc {
	for _, r := range LicenseRules {
		if r.ID != id {
			continue
		}
		d := r.doc()
		list := func(l []string) string {
			if len(l) == 0 {
				return "none"
			}
			return strings.Join(l, ", ")
		}
		switch id {
		case RuleLicenseDenied:
			d.Facts = append(d.Facts, findings.Fact{Label: "Denied by this run's policy", Value: list(lp.Deny)})
		case RuleLicenseNotAllowed:
			d.Facts = append(d.Facts, findings.Fact{Label: "Allowed by this run's policy", Value: list(lp.Allow)})
		case RuleLicenseUnknown:
			d.Facts = append(d.Facts, findings.Fact{Label: "This run's policy for unknown licenses", Value: string(unknown)})
		}
		return d
	}
	return findings.Doc{}
}

// skippedComponentTypes are CycloneDX component types that are not packages
// with a license of their own.
var skippedComponentTypes = map[string]bool{"file": true, "operating-system": true}

// The part of a CycloneDX JSON document the licenses stage reads.
type cdxBOM struct {
	Metadata *struct {
		Component *cdxComponent `json:"component"`
	} `json:"metadata"`
	Components   []cdxComponent `json:"components"`
	Dependencies []struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	} `json:"dependencies"`
}

// projectPackages finds the scanned project's own packages, which are not
// dependencies: syft lists a lockfile's root entry (npm's "" package, a
// Cargo or uv workspace root) as a package found in that lockfile. Such a
// package is the one component of a manifest with several that depends on
// others and that none depends on. Manifests holding one package each
// (site-packages, node_modules) and lockfiles without a dependency graph
// never match, and where two components could be the root neither is
// skipped.
func projectPackages(bom *cdxBOM) map[string]bool {
	dependedOn := map[string]bool{}
	hasDeps := map[string]bool{}
	for _, d := range bom.Dependencies {
		if len(d.DependsOn) > 0 {
			hasDeps[d.Ref] = true
		}
		for _, r := range d.DependsOn {
			dependedOn[r] = true
		}
	}
	type group struct {
		n     int
		roots []string
	}
	byPath := map[string]*group{}
	for i := range bom.Components {
		c := &bom.Components[i]
		p := c.property("syft:location:0:path")
		if p == "" || c.BOMRef == "" || skippedComponentTypes[c.Type] {
			continue
		}
		g := byPath[p]
		if g == nil {
			g = &group{}
			byPath[p] = g
		}
		g.n++
		if !dependedOn[c.BOMRef] {
			g.roots = append(g.roots, c.BOMRef)
		}
	}
	out := map[string]bool{}
	for _, g := range byPath {
		if g.n > 1 && len(g.roots) == 1 && hasDeps[g.roots[0]] {
			out[g.roots[0]] = true
		}
	}
	return out
}

type cdxComponent struct {
	BOMRef     string             `json:"bom-ref"`
	Type       string             `json:"type"`
	Group      string             `json:"group"`
	Name       string             `json:"name"`
	Version    string             `json:"version"`
	PURL       string             `json:"purl"`
	Licenses   []cdxLicenseChoice `json:"licenses"`
	Properties []cdxProperty      `json:"properties"`
	Components []cdxComponent     `json:"components"`
}

type cdxLicenseChoice struct {
	License *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"license"`
	Expression string `json:"expression"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func decodeCycloneDX(data []byte) (cdxBOM, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return cdxBOM{}, fmt.Errorf("CycloneDX SBOM is empty")
	}
	if trimmed[0] != '{' {
		return cdxBOM{}, fmt.Errorf("CycloneDX SBOM is not a JSON object")
	}
	// One complete JSON value and nothing else: a truncated or concatenated
	// document is an error, never a partial list of packages.
	if !json.Valid(trimmed) {
		return cdxBOM{}, fmt.Errorf("CycloneDX SBOM is not valid JSON (truncated or trailing data?)")
	}
	// encoding/json matches field names case-insensitively; CycloneDX does
	// not, so the two fields that say what the document is are read exactly.
	var head map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &head); err != nil {
		return cdxBOM{}, fmt.Errorf("CycloneDX SBOM: %w", err)
	}
	var format, spec string
	if err := json.Unmarshal(head["bomFormat"], &format); err != nil || format != "CycloneDX" {
		return cdxBOM{}, fmt.Errorf("not a CycloneDX SBOM (bomFormat %s)", clipText(string(head["bomFormat"]), 40))
	}
	if err := json.Unmarshal(head["specVersion"], &spec); err != nil || spec == "" {
		return cdxBOM{}, fmt.Errorf("CycloneDX SBOM has no specVersion")
	}
	var bom cdxBOM
	if err := json.Unmarshal(trimmed, &bom); err != nil {
		return cdxBOM{}, fmt.Errorf("CycloneDX SBOM: %w", err)
	}
	return bom, nil
}

func (c *cdxComponent) property(name string) string {
	for _, p := range c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// pkgType is syft's package type, else the purl type.
func (c *cdxComponent) pkgType() string {
	if t := c.property("syft:package:type"); t != "" {
		return t
	}
	if rest, ok := strings.CutPrefix(c.PURL, "pkg:"); ok {
		if t, _, ok := strings.Cut(rest, "/"); ok {
			return strings.ToLower(t)
		}
	}
	return ""
}

// Policy evaluation.

// licStatus orders how acceptable a license is; lower is worse, so AND takes
// the minimum and OR the maximum.
type licStatus int

const (
	licDenied licStatus = iota
	licNotAllowed
	licUnknown
	licOK
)

type licPolicy struct {
	allow, deny map[string]bool // keys from licTerm.keys
	unknown     LicenseAction
}

func compileLicensePolicy(lp LicensePolicy) (licPolicy, error) {
	p := licPolicy{allow: map[string]bool{}, deny: map[string]bool{}, unknown: lp.Unknown}
	switch lp.Unknown {
	case "":
		p.unknown = LicenseWarn
	case LicenseAllow, LicenseWarn, LicenseBlock:
	default:
		return licPolicy{}, fmt.Errorf("license policy: unknown action %q (want allow, warn or block)", lp.Unknown)
	}
	for _, l := range []struct {
		name string
		in   []string
		set  map[string]bool
	}{{"allow", lp.Allow, p.allow}, {"deny", lp.Deny, p.deny}} {
		for _, entry := range l.in {
			e, err := parseLicenseExpression(entry)
			if err != nil {
				return licPolicy{}, fmt.Errorf("license policy: %s entry %q: %w", l.name, entry, err)
			}
			if e.op != "" {
				return licPolicy{}, fmt.Errorf("license policy: %s entry %q must be one license, not an expression", l.name, entry)
			}
			l.set[e.term.keys()[0]] = true
		}
	}
	return p, nil
}

// classify decides one license term: the exact "X WITH exception" form first,
// then its base license; deny before allow at each step.
func (p licPolicy) classify(t licTerm) licStatus {
	for _, k := range t.keys() {
		if p.deny[k] {
			return licDenied
		}
		if p.allow[k] {
			return licOK
		}
	}
	switch {
	case !t.known:
		if p.unknown == LicenseAllow {
			return licOK
		}
		return licUnknown
	case len(p.allow) > 0:
		return licNotAllowed
	default:
		return licOK
	}
}

// eval returns the status of an expression: AND is as bad as its worst
// part, OR as good as its best alternative.
func (p licPolicy) eval(e *licExpr) licStatus {
	if e.op == "" {
		return p.classify(e.term)
	}
	st := p.eval(e.kids[0])
	for _, k := range e.kids[1:] {
		s := p.eval(k)
		if e.op == "AND" {
			st = min(st, s)
		} else {
			st = max(st, s)
		}
	}
	return st
}

// culprits lists the terms of e whose own status is st, in order, once each.
func (p licPolicy) culprits(e *licExpr, st licStatus, out *[]string) {
	if e.op == "" {
		if p.classify(e.term) == st && !slices.Contains(*out, e.term.String()) {
			*out = append(*out, e.term.String())
		}
		return
	}
	for _, k := range e.kids {
		p.culprits(k, st, out)
	}
}

// evaluate returns the finding for one component, if it gets one.
func (p licPolicy) evaluate(c *cdxComponent) (findings.Finding, bool) {
	var exprs []*licExpr
	var shown []string
	for _, l := range c.Licenses {
		var raw string
		var e *licExpr
		switch {
		case l.License != nil && strings.TrimSpace(l.License.ID) != "":
			raw = strings.TrimSpace(l.License.ID)
			e = licenseExprOrUnknown(raw, false)
		case l.License != nil && strings.TrimSpace(l.License.Name) != "":
			raw = strings.TrimSpace(l.License.Name)
			e = licenseExprOrUnknown(raw, true)
		case l.License != nil && strings.TrimSpace(l.License.URL) != "":
			raw = strings.TrimSpace(l.License.URL)
			e = &licExpr{term: licTerm{id: raw}}
		case strings.TrimSpace(l.Expression) != "":
			raw = strings.TrimSpace(l.Expression)
			e = licenseExprOrUnknown(raw, true)
		default:
			continue // an empty choice says nothing
		}
		exprs = append(exprs, e)
		shown = append(shown, e.String())
	}

	st := licOK
	var culprits []string
	if len(exprs) == 0 {
		if p.unknown != LicenseAllow {
			st = licUnknown
		}
	} else {
		for _, e := range exprs {
			st = min(st, p.eval(e))
		}
		for _, e := range exprs {
			p.culprits(e, st, &culprits)
		}
	}
	if st == licOK {
		return findings.Finding{}, false
	}

	pkg := c.Name
	if c.Group != "" && !strings.HasPrefix(c.PURL, "pkg:npm/") {
		pkg = c.Group + ":" + c.Name
	} else if c.Group != "" {
		pkg = c.Group + "/" + c.Name
	}
	subject := "package " + pkg
	if c.Version != "" {
		subject += " " + c.Version
	}
	if c.PURL != "" {
		subject += " (" + c.PURL + ")"
	}
	licenses := strings.Join(shown, ", ")

	f := findings.Finding{
		Stage:   Licenses,
		Tool:    "syft",
		HelpURI: "https://spdx.org/licenses/",
	}
	switch st {
	case licDenied:
		f.RuleID, f.RuleName, f.Severity = RuleLicenseDenied, "Denied license", findings.SeverityHigh
		f.Message = fmt.Sprintf("%s is licensed under %s: denied by the license policy (%s)", subject, licenses, strings.Join(culprits, ", "))
	case licNotAllowed:
		f.RuleID, f.RuleName, f.Severity = RuleLicenseNotAllowed, "License not on the allow list", findings.SeverityMedium
		f.Message = fmt.Sprintf("%s is licensed under %s: not on the license allow list (%s)", subject, licenses, strings.Join(culprits, ", "))
	case licUnknown:
		f.RuleID, f.RuleName, f.Severity = RuleLicenseUnknown, "Unknown license", findings.SeverityLow
		if p.unknown == LicenseBlock {
			f.Severity = findings.SeverityHigh
		}
		if len(exprs) == 0 {
			f.Message = subject + " declares no license"
		} else {
			quoted := make([]string, len(culprits))
			for i, c := range culprits {
				quoted[i] = strconv.Quote(c)
			}
			f.Message = fmt.Sprintf("%s is licensed under %s: not a known SPDX license id (%s)", subject, licenses, strings.Join(quoted, ", "))
		}
	}
	f.Location.Path = relPath(strings.TrimLeft(c.property("syft:location:0:path"), "/"))

	id := c.PURL
	if id == "" {
		id = pkg + "@" + c.Version
	}
	f.Identity = id + "|" + f.RuleID

	f.Tags = []string{"license"}
	for _, e := range exprs {
		e.walk(func(t licTerm) {
			if t.known && !slices.Contains(f.Tags, t.id) {
				f.Tags = append(f.Tags, t.id)
			}
		})
	}
	if t := c.pkgType(); t != "" && !slices.Contains(f.Tags, t) {
		f.Tags = append(f.Tags, t)
	}
	return f, true
}

// licenseExprOrUnknown parses a license field. An id field is one license
// even if it looks like something else; a name or expression that does not
// parse is a single unknown license named as written.
func licenseExprOrUnknown(raw string, expression bool) *licExpr {
	if expression {
		if e, err := parseLicenseExpression(raw); err == nil {
			return e
		}
		return &licExpr{term: licTerm{id: raw}}
	}
	return &licExpr{term: canonLicenseTerm(raw, "")}
}

// SPDX license expressions.

// licTerm is one license of an expression: an id (canonical when known,
// else as written) and an optional exception.
type licTerm struct {
	id        string
	exception string
	known     bool // id is on the SPDX license list
}

// keys are the policy lookup keys, most specific first.
func (t licTerm) keys() []string {
	base := strings.ToLower(t.id)
	var keys []string
	if t.exception != "" {
		keys = append(keys, base+" with "+strings.ToLower(t.exception))
	}
	keys = append(keys, base)
	// "X+" (X or any later version, for licenses without an -or-later id)
	// is acceptable wherever X is, and denied wherever X is.
	if b, ok := strings.CutSuffix(base, "+"); ok && t.known {
		keys = append(keys, b)
	}
	return keys
}

func (t licTerm) String() string {
	if t.exception != "" {
		return t.id + " WITH " + t.exception
	}
	return t.id
}

// licExpr is a term (op "") or an AND / OR of at least two expressions.
type licExpr struct {
	op   string
	kids []*licExpr
	term licTerm
}

func (e *licExpr) walk(fn func(licTerm)) {
	if e.op == "" {
		fn(e.term)
		return
	}
	for _, k := range e.kids {
		k.walk(fn)
	}
}

func (e *licExpr) String() string {
	if e.op == "" {
		return e.term.String()
	}
	parts := make([]string, len(e.kids))
	for i, k := range e.kids {
		parts[i] = k.String()
		if k.op != "" && k.op != e.op {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " "+e.op+" ")
}

const (
	maxLicenseExprLen   = 4096
	maxLicenseExprDepth = 32
)

// parseLicenseExpression parses an SPDX license expression: ids (with an
// optional "+"), LicenseRef-/DocumentRef- references, WITH, AND, OR (any
// case; WITH binds tightest, then AND, then OR) and parentheses.
func parseLicenseExpression(s string) (*licExpr, error) {
	if len(s) > maxLicenseExprLen {
		return nil, fmt.Errorf("license expression longer than %d bytes", maxLicenseExprLen)
	}
	p := &licParser{toks: tokenizeLicense(s)}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("empty license expression")
	}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q in license expression", p.toks[p.pos])
	}
	return e, nil
}

func tokenizeLicense(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			toks = append(toks, string(r))
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

type licParser struct {
	toks []string
	pos  int
}

func (p *licParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func isLicenseOperator(tok, op string) bool { return strings.EqualFold(tok, op) }

func (p *licParser) or(depth int) (*licExpr, error) {
	return p.binary(depth, "OR", p.and)
}

func (p *licParser) and(depth int) (*licExpr, error) {
	return p.binary(depth, "AND", p.with)
}

func (p *licParser) binary(depth int, op string, next func(int) (*licExpr, error)) (*licExpr, error) {
	first, err := next(depth)
	if err != nil {
		return nil, err
	}
	kids := []*licExpr{first}
	for isLicenseOperator(p.peek(), op) {
		p.pos++
		k, err := next(depth)
		if err != nil {
			return nil, err
		}
		// flatten A OR (B OR C): same meaning, simpler messages
		if k.op == op {
			kids = append(kids, k.kids...)
		} else {
			kids = append(kids, k)
		}
	}
	if len(kids) == 1 {
		return first, nil
	}
	if first.op == op {
		kids = append(slices.Clone(first.kids), kids[1:]...)
	}
	return &licExpr{op: op, kids: kids}, nil
}

func (p *licParser) with(depth int) (*licExpr, error) {
	tok := p.peek()
	switch {
	case tok == "":
		return nil, fmt.Errorf("license expression ends early")
	case tok == "(":
		if depth >= maxLicenseExprDepth {
			return nil, fmt.Errorf("license expression nested deeper than %d", maxLicenseExprDepth)
		}
		p.pos++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing ) in license expression")
		}
		p.pos++
		if isLicenseOperator(p.peek(), "WITH") {
			return nil, fmt.Errorf("WITH must follow a license, not a parenthesised expression")
		}
		return e, nil
	case tok == ")" || isLicenseOperator(tok, "AND") || isLicenseOperator(tok, "OR") || isLicenseOperator(tok, "WITH"):
		return nil, fmt.Errorf("unexpected %q in license expression", tok)
	}
	p.pos++
	exc := ""
	if isLicenseOperator(p.peek(), "WITH") {
		p.pos++
		exc = p.peek()
		if exc == "" || exc == "(" || exc == ")" || isLicenseOperator(exc, "AND") || isLicenseOperator(exc, "OR") || isLicenseOperator(exc, "WITH") {
			return nil, fmt.Errorf("WITH needs an exception id")
		}
		p.pos++
	}
	if !validLicenseToken(tok) || (exc != "" && !validLicenseToken(exc)) {
		return nil, fmt.Errorf("%q is not a license id", tok)
	}
	return &licExpr{term: canonLicenseTerm(tok, exc)}, nil
}

// validLicenseToken accepts the characters SPDX ids and references use
// (letters, digits, "-", ".", a trailing "+", and ":" of DocumentRef-).
func validLicenseToken(tok string) bool {
	for i, r := range tok {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == ':', r == '_':
		case r == '+' && i == len(tok)-1 && i > 0:
		default:
			return false
		}
	}
	return tok != ""
}

// canonLicenseTerm maps an id to its canonical SPDX spelling: case folded,
// deprecated ids to their successors, "X+" to X-or-later for the GNU
// families. Anything else keeps its spelling and is not known.
func canonLicenseTerm(id, exception string) licTerm {
	t := licTerm{id: id, exception: exception}
	lower := strings.ToLower(id)
	if d, ok := deprecatedLicenses[lower]; ok {
		t.id, t.known = d.id, true
		if t.exception == "" {
			t.exception = d.exception
		}
	} else if c, ok := spdxLicenseIDs()[lower]; ok {
		t.id, t.known = c, true
	} else if base, ok := strings.CutSuffix(id, "+"); ok && base != "" && !strings.HasSuffix(base, "+") {
		b := canonLicenseTerm(base, "")
		if b.known && b.exception == "" {
			t.known = true
			switch {
			case strings.HasSuffix(b.id, "-only"):
				t.id = strings.TrimSuffix(b.id, "-only") + "-or-later"
			case strings.HasSuffix(b.id, "-or-later"):
				t.id = b.id
			default:
				t.id = b.id + "+"
			}
		}
	}
	return t
}

// deprecatedLicenses maps deprecated SPDX ids (lower case) to what replaced them.
var deprecatedLicenses = map[string]licTerm{
	"gpl-1.0":                          {id: "GPL-1.0-only"},
	"gpl-2.0":                          {id: "GPL-2.0-only"},
	"gpl-3.0":                          {id: "GPL-3.0-only"},
	"lgpl-2.0":                         {id: "LGPL-2.0-only"},
	"lgpl-2.1":                         {id: "LGPL-2.1-only"},
	"lgpl-3.0":                         {id: "LGPL-3.0-only"},
	"agpl-1.0":                         {id: "AGPL-1.0-only"},
	"agpl-3.0":                         {id: "AGPL-3.0-only"},
	"gfdl-1.1":                         {id: "GFDL-1.1-only"},
	"gfdl-1.2":                         {id: "GFDL-1.2-only"},
	"gfdl-1.3":                         {id: "GFDL-1.3-only"},
	"gpl-2.0-with-autoconf-exception":  {id: "GPL-2.0-only", exception: "Autoconf-exception-2.0"},
	"gpl-2.0-with-bison-exception":     {id: "GPL-2.0-only", exception: "Bison-exception-2.2"},
	"gpl-2.0-with-classpath-exception": {id: "GPL-2.0-only", exception: "Classpath-exception-2.0"},
	"gpl-2.0-with-font-exception":      {id: "GPL-2.0-only", exception: "Font-exception-2.0"},
	"gpl-2.0-with-gcc-exception":       {id: "GPL-2.0-only", exception: "GCC-exception-2.0"},
	"gpl-3.0-with-autoconf-exception":  {id: "GPL-3.0-only", exception: "Autoconf-exception-3.0"},
	"gpl-3.0-with-gcc-exception":       {id: "GPL-3.0-only", exception: "GCC-exception-3.1"},
	"standardml-nj":                    {id: "SMLNJ"},
	"bsd-2-clause-freebsd":             {id: "BSD-2-Clause-Views"},
	"bsd-2-clause-netbsd":              {id: "BSD-2-Clause"},
	"bzip2-1.0.5":                      {id: "bzip2-1.0.6"},
}

// spdxLicenseIDs maps lower-case SPDX license ids to their canonical spelling.
var spdxLicenseIDs = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, id := range strings.Fields(spdxLicenseList) {
		m[strings.ToLower(id)] = id
	}
	return m
})

// spdxLicenseList holds the ids of the SPDX License List 3.29.0 that are not
// deprecated or have no successor: the canonical ids syft v1.57.1 writes
// (its internal/spdxlicense table, generated from
// https://spdx.org/licenses/licenses.json). Deprecated ids with a successor
// are in deprecatedLicenses.
const spdxLicenseList = `
0BSD 3D-Slicer-1.0 AAL ADSL AFL-1.1 AFL-1.2 AFL-2.0 AFL-2.1 AFL-3.0 AGPL-1.0-only AGPL-1.0-or-later
AGPL-3.0-only AGPL-3.0-or-later ALGLIB-Documentation AMD-newlib AMDPLPA AML AML-glslang AMPAS ANTLR-PD
ANTLR-PD-fallback APAFML APL-1.0 APSL-1.0 APSL-1.1 APSL-1.2 APSL-2.0 ASWF-Digital-Assets-1.0
ASWF-Digital-Assets-1.1 Abstyles AdaCore-doc Adobe-2006 Adobe-Display-PostScript Adobe-Glyph Adobe-Utopia
Advanced-Cryptics-Dictionary Afmparse Aladdin Apache-1.0 Apache-1.1 Apache-2.0 App-s2p Arphic-1999
Artistic-1.0 Artistic-1.0-Perl Artistic-1.0-cl8 Artistic-2.0 Artistic-dist Aspell-RU BOLA-1.1 BSD-1-Clause
BSD-2-Clause BSD-2-Clause-Darwin BSD-2-Clause-Patent BSD-2-Clause-Views BSD-2-Clause-first-lines
BSD-2-Clause-pkgconf-disclaimer BSD-2-Clause-pos-unchanged BSD-3-Clause BSD-3-Clause-Attribution
BSD-3-Clause-Clear BSD-3-Clause-HP BSD-3-Clause-LBNL BSD-3-Clause-Modification
BSD-3-Clause-No-Military-License BSD-3-Clause-No-Nuclear-License BSD-3-Clause-No-Nuclear-License-2014
BSD-3-Clause-No-Nuclear-Warranty BSD-3-Clause-Open-MPI BSD-3-Clause-OpenWebUI BSD-3-Clause-Sun
BSD-3-Clause-Tso BSD-3-Clause-acpica BSD-3-Clause-flex BSD-4-Clause BSD-4-Clause-Shortened BSD-4-Clause-UC
BSD-4.3RENO BSD-4.3TAHOE BSD-Advertising-Acknowledgement BSD-Attribution-HPND-disclaimer BSD-Inferno-Nettverk
BSD-Mark-Modifications BSD-Protection BSD-Source-Code BSD-Source-Code-no-disclaimer BSD-Source-alt-GPL
BSD-Source-beginning-file BSD-Systemics BSD-Systemics-W3Works BSD-ask-to-endorse BSL-1.0 BUSL-1.1 Baekmuk
Bahyph Barr Beerware BitTorrent-1.0 BitTorrent-1.1 Bitstream-Charter Bitstream-Vera BlueOak-1.0.0 Boehm-GC
Boehm-GC-without-fee Borceux Brian-Gladman-2-Clause Brian-Gladman-3-Clause
Brian-Gladman-3-Clause-no-conversion Buddy Bugroff C-UDA-1.0 CAL-1.0 CAL-1.0-Combined-Work-Exception CAPEC-tou
CATOSL-1.1 CC-BY-1.0 CC-BY-2.0 CC-BY-2.5 CC-BY-2.5-AU CC-BY-3.0 CC-BY-3.0-AT CC-BY-3.0-AU CC-BY-3.0-DE
CC-BY-3.0-IGO CC-BY-3.0-NL CC-BY-3.0-US CC-BY-4.0 CC-BY-NC-1.0 CC-BY-NC-2.0 CC-BY-NC-2.5 CC-BY-NC-3.0
CC-BY-NC-3.0-DE CC-BY-NC-3.0-IGO CC-BY-NC-4.0 CC-BY-NC-ND-1.0 CC-BY-NC-ND-2.0 CC-BY-NC-ND-2.5 CC-BY-NC-ND-3.0
CC-BY-NC-ND-3.0-DE CC-BY-NC-ND-3.0-IGO CC-BY-NC-ND-4.0 CC-BY-NC-SA-1.0 CC-BY-NC-SA-2.0 CC-BY-NC-SA-2.0-DE
CC-BY-NC-SA-2.0-FR CC-BY-NC-SA-2.0-UK CC-BY-NC-SA-2.5 CC-BY-NC-SA-3.0 CC-BY-NC-SA-3.0-DE CC-BY-NC-SA-3.0-IGO
CC-BY-NC-SA-4.0 CC-BY-ND-1.0 CC-BY-ND-2.0 CC-BY-ND-2.5 CC-BY-ND-3.0 CC-BY-ND-3.0-DE CC-BY-ND-4.0 CC-BY-SA-1.0
CC-BY-SA-2.0 CC-BY-SA-2.0-UK CC-BY-SA-2.1-JP CC-BY-SA-2.5 CC-BY-SA-3.0 CC-BY-SA-3.0-AT CC-BY-SA-3.0-DE
CC-BY-SA-3.0-IGO CC-BY-SA-4.0 CC-PDDC CC-PDM-1.0 CC-SA-1.0 CC0-1.0 CDDL-1.0 CDDL-1.1 CDL-1.0
CDLA-Permissive-1.0 CDLA-Permissive-2.0 CDLA-Sharing-1.0 CECILL-1.0 CECILL-1.1 CECILL-2.0 CECILL-2.1 CECILL-B
CECILL-C CERN-OHL-1.1 CERN-OHL-1.2 CERN-OHL-P-2.0 CERN-OHL-S-2.0 CERN-OHL-W-2.0 CFITSIO CMU-Mach
CMU-Mach-nodoc CNRI-Jython CNRI-Python CNRI-Python-GPL-Compatible COIL-1.0 CPAL-1.0 CPL-1.0 CPOL-1.02
CUA-OPL-1.0 Caldera Caldera-no-preamble Catharon ClArtistic Clips Community-Spec-1.0 Condor-1.1
Cornell-Lossless-JPEG Cronyx Crossword CryptoSwift CrystalStacker Cube D-FSL-1.0 DEC-3-Clause DL-DE-BY-2.0
DL-DE-ZERO-2.0 DOC DRL-1.0 DRL-1.1 DSDP DocBook-DTD DocBook-Schema DocBook-Stylesheet DocBook-XML Dotseqn
ECL-1.0 ECL-2.0 EFL-1.0 EFL-2.0 EPICS EPL-1.0 EPL-2.0 ESA-PL-permissive-2.4 ESA-PL-strong-copyleft-2.4
ESA-PL-weak-copyleft-2.4 EUDatagrid EUPL-1.0 EUPL-1.1 EUPL-1.2 Elastic-2.0 Entessa ErlPL-1.1 Eurosym FBM
FDK-AAC FDK-MPEG-H FSFAP FSFAP-no-warranty-disclaimer FSFUL FSFULLR FSFULLRSD FSFULLRWD FSL-1.1-ALv2
FSL-1.1-MIT FTL Fair Ferguson-Twofish Frameworx-1.0 FreeBSD-DOC FreeImage Furuseth GCR-docs GD
GFDL-1.1-invariants-only GFDL-1.1-invariants-or-later GFDL-1.1-no-invariants-only
GFDL-1.1-no-invariants-or-later GFDL-1.1-only GFDL-1.1-or-later GFDL-1.2-invariants-only
GFDL-1.2-invariants-or-later GFDL-1.2-no-invariants-only GFDL-1.2-no-invariants-or-later GFDL-1.2-only
GFDL-1.2-or-later GFDL-1.3-invariants-only GFDL-1.3-invariants-or-later GFDL-1.3-no-invariants-only
GFDL-1.3-no-invariants-or-later GFDL-1.3-only GFDL-1.3-or-later GL2PS GLWTPL GPL-1.0-only GPL-1.0-or-later
GPL-2.0-only GPL-2.0-or-later GPL-2.0-with-GCC-exception GPL-2.0-with-autoconf-exception
GPL-2.0-with-bison-exception GPL-2.0-with-classpath-exception GPL-2.0-with-font-exception GPL-3.0-only
GPL-3.0-or-later GPL-3.0-with-GCC-exception GPL-3.0-with-autoconf-exception Game-Programming-Gems Giftware
Glide Glulxe Graphics-Gems Gutmann HDF5 HIDAPI HP-1986 HP-1989 HPND HPND-DEC HPND-Fenneberg-Livingston
HPND-INRIA-IMAG HPND-Intel HPND-Kevlin-Henney HPND-MIT-disclaimer HPND-Markus-Kuhn HPND-Netrek HPND-Pbmplus
HPND-SMC HPND-UC HPND-UC-export-US HPND-doc HPND-doc-sell HPND-export-US HPND-export-US-acknowledgement
HPND-export-US-modify HPND-export2-US HPND-merchantability-variant HPND-sell-MIT-disclaimer-xserver
HPND-sell-regexpr HPND-sell-variant HPND-sell-variant-MIT-disclaimer HPND-sell-variant-MIT-disclaimer-rev
HPND-sell-variant-critical-systems HTMLTIDY HaskellReport Hippocratic-2.1 Hippocratic-3.0-core IBM-pibs ICU
IEC-Code-Components-EULA IJG IJG-short IPA IPL-1.0 ISC ISC-Veillard ISO-permission ImageMagick Imlib2 Info-ZIP
Informatica Inner-Net-2.0 InnoSetup Intel Intel-ACPI Interbase-1.0 JPL-image JPNIC JSON Jam JasPer-2.0 Kastrup
Kazlib Knuth-CTAN LAL-1.2 LAL-1.3 LGPL-2.0-only LGPL-2.0-or-later LGPL-2.1-only LGPL-2.1-or-later
LGPL-3.0-only LGPL-3.0-or-later LGPLLR LOOP LPD-document LPL-1.0 LPL-1.02 LPPL-1.0 LPPL-1.1 LPPL-1.2 LPPL-1.3a
LPPL-1.3c LZMA-SDK-9.11-to-9.20 LZMA-SDK-9.22 Latex2e Latex2e-translated-notice Leptonica LiLiQ-P-1.1
LiLiQ-R-1.1 LiLiQ-Rplus-1.1 Libpng Linux-OpenIB Linux-man-pages-1-para Linux-man-pages-copyleft
Linux-man-pages-copyleft-2-para Linux-man-pages-copyleft-var Lucida-Bitmap-Fonts MIPS MIT MIT-0 MIT-CMU
MIT-Click MIT-Festival MIT-Khronos-old MIT-Modern-Variant MIT-STK MIT-Wu MIT-advertising MIT-enna MIT-feh
MIT-open-group MIT-testregex MITNFA MMIXware MMPL-1.0.1 MPEG-SSG MPL-1.0 MPL-1.1 MPL-2.0
MPL-2.0-no-copyleft-exception MS-LPL MS-PL MS-RL MTLL MVT-1.1 Mackerras-3-Clause
Mackerras-3-Clause-acknowledgment MakeIndex Martin-Birgmeier McPhee-slideshow Minpack MirOS Motosoto
MulanPSL-1.0 MulanPSL-2.0 Multics Mup NAIST-2003 NASA-1.3 NBPL-1.0 NCBI-PD NCGL-UK-2.0 NCL NCSA NGPL NICTA-1.0
NIST-PD NIST-PD-TNT NIST-PD-fallback NIST-Software NLOD-1.0 NLOD-2.0 NLPL NOSL NPL-1.0 NPL-1.1 NPOSL-3.0 NRL
NTIA-PD NTP NTP-0 Naumen Net-SNMP NetCDF Newsletr Nokia Noweb Nunit O-UDA-1.0 OAR OCCT-PL OCLC-2.0 ODC-By-1.0
ODbL-1.0 OFFIS OFL-1.0 OFL-1.0-RFN OFL-1.0-no-RFN OFL-1.1 OFL-1.1-RFN OFL-1.1-no-RFN OGC-1.0 OGDL-Taiwan-1.0
OGL-Canada-2.0 OGL-UK-1.0 OGL-UK-2.0 OGL-UK-3.0 OGTSL OLDAP-1.1 OLDAP-1.2 OLDAP-1.3 OLDAP-1.4 OLDAP-2.0
OLDAP-2.0.1 OLDAP-2.1 OLDAP-2.2 OLDAP-2.2.1 OLDAP-2.2.2 OLDAP-2.3 OLDAP-2.4 OLDAP-2.5 OLDAP-2.6 OLDAP-2.7
OLDAP-2.8 OLFL-1.3 OML OPL-1.0 OPL-UK-3.0 OPUBL-1.0 OSC-1.0 OSET-PL-2.1 OSL-1.0 OSL-1.1 OSL-2.0 OSL-2.1
OSL-3.0 OSSP OpenMDW-1.0 OpenPBS-2.3 OpenSSL OpenSSL-standalone OpenVision PADL PDDL-1.0 PHP-3.0 PHP-3.01 PPL
PSF-2.0 ParaType-Free-Font-1.3 Parity-6.0.0 Parity-7.0.0 Pixar Plexus PolyForm-Noncommercial-1.0.0
PolyForm-Small-Business-1.0.0 PostgreSQL Python-2.0 Python-2.0.1 QPL-1.0 QPL-1.0-INRIA-2004 Qhull RHeCos-1.1
RPL-1.1 RPL-1.5 RPSL-1.0 RSA-MD RSCPL Rdisc Ruby Ruby-pty SAX-PD SAX-PD-2.0 SCEA SGI-B-1.0 SGI-B-1.1 SGI-B-2.0
SGI-OpenGL SGMLUG-PM SGP4 SHL-0.5 SHL-0.51 SISSL SISSL-1.2 SL SMAIL-GPL SMLNJ SMPPL SNIA SOFA SPL-1.0
SSH-OpenSSH SSH-short SSLeay-standalone SSPL-1.0 SUL-1.0 SWL Saxpath SchemeReport Sendmail Sendmail-8.23
Sendmail-Open-Source-1.1 SimPL-2.0 Sleepycat Soundex Spencer-86 Spencer-94 Spencer-99 SugarCRM-1.1.3 Sun-PPP
Sun-PPP-2000 SunPro Symlinks TAPR-OHL-1.0 TCL TCP-wrappers TGPPL-1.0 TMate TORQUE-1.1 TOSL TPDL TPL-1.0 TTWL
TTYP0 TU-Berlin-1.0 TU-Berlin-2.0 TekHVC TermReadKey ThirdEye TrustedQSL UCAR UCL-1.0 UMich-Merit UPL-1.0
URT-RLE Ubuntu-font-1.0 UnRAR Unicode-3.0 Unicode-DFS-2015 Unicode-DFS-2016 Unicode-TOU UnixCrypt Unlicense
Unlicense-libtelnet Unlicense-libwhirlpool VOSTROM VSL-1.0 Vim Vixie-Cron W3C W3C-19980720 W3C-20150513
WTFNMFPL WTFPL Watcom-1.0 Widget-Workshop WordNet Wsuipa X11 X11-distribute-modifications-variant
X11-no-permit-persons X11-swapped XFree86-1.1 XSkat Xdebug-1.03 Xerox Xfig Xnet YPL-1.0 YPL-1.1 ZPL-1.1
ZPL-2.0 ZPL-2.1 Zed Zeeff Zend-2.0 Zimbra-1.3 Zimbra-1.4 Zlib any-OSI any-OSI-perl-modules atc-game
bcrypt-Solar-Designer blessing bzip2-1.0.6 check-cvs checkmk copyleft-next-0.3.0 copyleft-next-0.3.1 curl
cve-tou diffmark dtoa dvipdfm eCos-2.0 eGenix etalab-2.0 fwlw gSOAP-1.3b generic-xts gnuplot gtkbook hdparm
hyphen-bulgarian iMatix jove libpng-1.6.35 libpng-2.0 libselinux-1.0 libtiff libutil-David-Nugent lsof magaz
mailprio man2html metamail mpi-permissive mpich2 mplus ngrep pkgconf pnmstitch psfrag psutils python-ldap
radvd snprintf softSurfer ssh-keyscan swrule threeparttable ulem w3m wwl wxWindows xinetd
xkeyboard-config-Zinoviev xlock xpp xzoom zlib-acknowledgement
`
