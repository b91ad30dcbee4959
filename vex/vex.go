// Package vex writes a run's decisions about vulnerabilities as an OpenVEX
// document (v0.2.0) and reads OpenVEX documents back as suppressions, so
// dagsec, trivy, grype and other VEX consumers honour the same decisions.
//
// Out (File in the report folder): one statement per advisory and package
// among the run's vulnerability findings (an advisory id such as CVE-…,
// GHSA-… or GO-… in a package). A finding a suppression covers is
// not_affected, its impact_statement the suppression's justification and
// its status_notes where the decision is written, its owner and expiry; any
// other is affected (known to the run: its action_statement says what to
// do). Products are the packages' package URLs.
//
// In (Read): not_affected and fixed statements become suppressions of the
// advisory (the finding's rule id) in each product's or subcomponent's
// package, with the statement's justification; affected and
// under_investigation statements suppress nothing.
package vex

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// File is the OpenVEX document in a report folder.
const File = "vex.openvex.json"

// Context is the OpenVEX version dagsec writes and reads.
const Context = "https://openvex.dev/ns/v0.2.0"

// Statuses and the justifications OpenVEX defines.
const (
	StatusNotAffected        = "not_affected"
	StatusAffected           = "affected"
	StatusFixed              = "fixed"
	StatusUnderInvestigation = "under_investigation"
)

var justifications = []string{
	"component_not_present",
	"vulnerable_code_not_present",
	"vulnerable_code_not_in_execute_path",
	"vulnerable_code_cannot_be_controlled_by_adversary",
	"inline_mitigations_already_exist",
}

// Document is an OpenVEX document, as much of it as dagsec writes and reads.
type Document struct {
	Context     string      `json:"@context"`
	ID          string      `json:"@id"`
	Author      string      `json:"author"`
	Role        string      `json:"role,omitempty"`
	Timestamp   *time.Time  `json:"timestamp"`
	LastUpdated *time.Time  `json:"last_updated,omitempty"`
	Version     int         `json:"version"`
	Tooling     string      `json:"tooling,omitempty"`
	Statements  []Statement `json:"statements"`
}

// Statement is one OpenVEX statement.
type Statement struct {
	ID              string        `json:"@id,omitempty"`
	Vulnerability   Vulnerability `json:"vulnerability"`
	Timestamp       *time.Time    `json:"timestamp,omitempty"`
	LastUpdated     *time.Time    `json:"last_updated,omitempty"`
	Products        []Component   `json:"products,omitempty"`
	Status          string        `json:"status"`
	StatusNotes     string        `json:"status_notes,omitempty"`
	Justification   string        `json:"justification,omitempty"`
	ImpactStatement string        `json:"impact_statement,omitempty"`
	ActionStatement string        `json:"action_statement,omitempty"`
}

// Vulnerability names the advisory.
type Vulnerability struct {
	ID      string   `json:"@id,omitempty"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

// Component is a product or a subcomponent: a package URL in @id or in
// identifiers.purl.
type Component struct {
	ID            string            `json:"@id,omitempty"`
	Identifiers   map[string]string `json:"identifiers,omitempty"`
	Subcomponents []Component       `json:"subcomponents,omitempty"`
}

// purl is the component's package URL, "" when it names none.
func (c Component) purl() string {
	if strings.HasPrefix(c.ID, "pkg:") {
		return c.ID
	}
	return c.Identifiers["purl"]
}

// Options say who and when a document is written.
type Options struct {
	// Tooling names the writer ("dagsec 0.1.0").
	Tooling string
	// Time is the document's and every statement's timestamp: the run's.
	Time time.Time
}

// Author is the author dagsec gives its documents: the decisions are the
// policy owners', each named in its statement's status_notes.
const Author = "dagsec policy (suppressions; each statement names its owner)"

// Export is the OpenVEX document of the run's vulnerability findings, or
// nil when the run has none (a document needs a statement).
func Export(fs []findings.Finding, o Options) ([]byte, error) {
	type key struct{ vuln, purl string }
	byKey := map[key]Statement{}
	ts := o.Time.UTC()
	for i := range fs {
		f := &fs[i]
		if !findings.IsAdvisoryID(f.RuleID) {
			continue
		}
		name, version, ok := f.Package()
		if !ok {
			continue
		}
		purl := PackageURL(purlType(f), name, version)
		k := key{f.RuleID, purl}
		st := statement(f, purl)
		st.Timestamp = &ts
		// A suppressed copy wins: the decision is what the document is for.
		if prev, seen := byKey[k]; seen && (prev.Status == StatusNotAffected || st.Status != StatusNotAffected) {
			continue
		}
		byKey[k] = st
	}
	if len(byKey) == 0 {
		return nil, nil
	}
	keys := make([]key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.vuln, b.vuln); c != 0 {
			return c
		}
		return strings.Compare(a.purl, b.purl)
	})
	doc := Document{Context: Context, Author: Author, Timestamp: &ts, Version: 1, Tooling: o.Tooling}
	for _, k := range keys {
		doc.Statements = append(doc.Statements, byKey[k])
	}
	// The same decisions give the same @id.
	body, err := json.Marshal(doc.Statements)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", File, err)
	}
	sum := sha256.Sum256(body)
	doc.ID = "urn:dagsec:vex:" + hex.EncodeToString(sum[:16])
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", File, err)
	}
	return append(out, '\n'), nil
}

// statement says what the run decided about one finding.
func statement(f *findings.Finding, purl string) Statement {
	st := Statement{
		Vulnerability: Vulnerability{Name: f.RuleID, Aliases: aliases(f)},
		Products:      []Component{{ID: purl}},
	}
	if s := f.Suppressed; s != nil {
		st.Status = StatusNotAffected
		st.ImpactStatement = s.Justification
		st.StatusNotes = fmt.Sprintf("dagsec suppression at %s; owner: %s; expires: %s", s.Source, s.Owner, s.Expires)
		return st
	}
	st.Status = StatusAffected
	fix := "upgrade it to a fixed version"
	if _, after, ok := strings.Cut(f.Message, "; fixed in "); ok {
		fix = "upgrade it to " + strings.TrimSpace(strings.SplitN(after, " ", 2)[0])
	}
	st.ActionStatement = fmt.Sprintf("%s (found by %s in stage %s): %s, or record a dagsec suppression with why it does not apply", f.RuleID, f.Tool, f.Stage, fix)
	if f.Baseline == findings.BaselineKnown {
		st.StatusNotes = "known: already in the baseline run"
	}
	return st
}

// aliases are the finding's other advisory ids.
func aliases(f *findings.Finding) []string {
	var out []string
	for _, t := range f.Tags {
		if t != f.RuleID && findings.IsAdvisoryID(t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// purlTypes map the ecosystem words dagsec's vulnerability tools put in
// tags (osv-scanner's ecosystems, trivy's and grype's package types) to
// package URL types.
var purlTypes = map[string]string{
	"go": "golang", "go-module": "golang", "gomod": "golang", "gobinary": "golang",
	"npm": "npm", "node-pkg": "npm", "yarn": "npm", "pnpm": "npm",
	"pypi": "pypi", "python": "pypi", "pip": "pypi", "pipenv": "pypi", "poetry": "pypi", "uv": "pypi", "python-pkg": "pypi",
	"maven": "maven", "java-archive": "maven", "jar": "maven", "pom": "maven", "gradle": "maven",
	"rubygems": "gem", "gem": "gem", "gemspec": "gem", "bundler": "gem",
	"crates.io": "cargo", "rust-crate": "cargo", "cargo": "cargo",
	"packagist": "composer", "php-composer": "composer", "composer": "composer",
	"nuget": "nuget", "dotnet-core": "nuget", "dotnet": "nuget",
	"deb": "deb", "debian": "deb", "ubuntu": "deb", "apk": "apk", "alpine": "apk", "rpm": "rpm",
}

// manifestTypes are package URL types by the manifest a finding is at.
var manifestTypes = map[string]string{
	"go.mod": "golang", "go.sum": "golang",
	"package.json": "npm", "package-lock.json": "npm", "yarn.lock": "npm", "pnpm-lock.yaml": "npm",
	"requirements.txt": "pypi", "Pipfile.lock": "pypi", "poetry.lock": "pypi", "pyproject.toml": "pypi", "uv.lock": "pypi",
	"pom.xml": "maven", "Gemfile.lock": "gem", "Cargo.lock": "cargo", "composer.lock": "composer",
}

// purlType guesses the finding's package ecosystem; "generic" when
// nothing says.
func purlType(f *findings.Finding) string {
	if f.Tool == "govulncheck" {
		return "golang"
	}
	for _, t := range f.Tags {
		if pt, ok := purlTypes[strings.ToLower(t)]; ok {
			return pt
		}
	}
	for _, p := range []string{f.Location.Manifest, f.Location.Path} {
		if pt, ok := manifestTypes[p[strings.LastIndex(p, "/")+1:]]; ok {
			return pt
		}
	}
	return "generic"
}

// PackageURL is the package URL of a package as dagsec names it: Go
// module paths keep their slashes, a Maven group:artifact becomes
// group/artifact, an npm scope is escaped.
func PackageURL(typ, name, version string) string {
	if typ == "maven" {
		name = strings.Replace(name, ":", "/", 1)
	}
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	out := "pkg:" + typ + "/" + strings.Join(segs, "/")
	if version != "" {
		out += "@" + escape(version)
	}
	return out
}

// escape percent-encodes a package URL segment; "@" too, which separates
// the version.
func escape(s string) string { return strings.ReplaceAll(url.PathEscape(s), "@", "%40") }

// ParsePackageURL reads a package URL back to the package name and
// version dagsec's findings use (qualifiers and subpath dropped).
func ParsePackageURL(purl string) (name, version string, err error) {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return "", "", fmt.Errorf("%q is not a package URL (pkg:TYPE/NAME@VERSION)", purl)
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, _, _ = strings.Cut(rest, "?")
	typ, path, ok := strings.Cut(strings.TrimLeft(rest, "/"), "/")
	if !ok || typ == "" || path == "" {
		return "", "", fmt.Errorf("%q is not a package URL (pkg:TYPE/NAME@VERSION)", purl)
	}
	if i := strings.LastIndexByte(path, '@'); i >= 0 {
		if version, err = url.PathUnescape(path[i+1:]); err != nil {
			return "", "", fmt.Errorf("package URL %q: version: %w", purl, err)
		}
		path = path[:i]
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if segs[i], err = url.PathUnescape(s); err != nil {
			return "", "", fmt.Errorf("package URL %q: %w", purl, err)
		}
	}
	name = strings.Join(segs, "/")
	if strings.EqualFold(typ, "maven") && len(segs) > 1 {
		name = strings.Join(segs[:len(segs)-1], ".") + ":" + segs[len(segs)-1]
	}
	if name == "" {
		return "", "", fmt.Errorf("%q is not a package URL (pkg:TYPE/NAME@VERSION)", purl)
	}
	return name, version, nil
}
