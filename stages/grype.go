package stages

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// grypeReport is the part of grype's JSON report (-o json, grype v0.6x to
// v0.12x) dagsec reads.
type grypeReport struct {
	Matches    *[]grypeMatch `json:"matches"`
	Descriptor *struct {
		Name    string          `json:"name"`
		Version string          `json:"version"`
		DB      json.RawMessage `json:"db"`
	} `json:"descriptor"`
}

type grypeMatch struct {
	Vulnerability          grypeVuln   `json:"vulnerability"`
	RelatedVulnerabilities []grypeVuln `json:"relatedVulnerabilities"`
	Artifact               *struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Type      string `json:"type"`
		PURL      string `json:"purl"`
		Locations []struct {
			Path    string `json:"path"`
			LayerID string `json:"layerID"`
		} `json:"locations"`
	} `json:"artifact"`
}

type grypeVuln struct {
	ID          string   `json:"id"`
	DataSource  string   `json:"dataSource"`
	Namespace   string   `json:"namespace"`
	Severity    *string  `json:"severity"`
	URLs        []string `json:"urls"`
	Description string   `json:"description"`
	Fix         *struct {
		Versions []string `json:"versions"`
		State    string   `json:"state"`
	} `json:"fix"`
	CWEs []struct {
		CWE string `json:"cwe"`
	} `json:"cwes"`
}

// ParseGrype reads grype's JSON report (-o json) into findings of the image
// stage, one per match (package and vulnerability).
//
//   - RuleID is the vulnerability id grype matched (CVE-…, GHSA-…, GO-…);
//     the CVE ids of relatedVulnerabilities are tags, so a GHSA and the CVE
//     it aliases are found either way.
//   - Severity: Critical, High, Medium and Low map one to one; Negligible is
//     info. Unknown (and an empty severity, which grype reads as unknown)
//     takes the highest known severity among the related vulnerabilities
//     (a distro feed without severities often has an NVD one), else info.
//     Any other word is an error.
//   - the package's first location in the scanned image (without its
//     leading slash) is named in the message and identity; a package
//     grype read from an SBOM has none.
//   - Identity is package name, version and vulnerability id.
//
// A report without "matches" is not a grype report and is an error; an
// empty "matches" is a clean scan.
//
// Those paths are inside the scanned image, not files of the source: each
// finding names its path in its message and identity, and has no
// location. ParseGrypeAt places the findings at the Dockerfile.
func ParseGrype(report []byte) ([]findings.Finding, error) {
	return ParseGrypeAt(report, ImageOrigins{})
}

// ParseGrypeAt is ParseGrype with each finding placed at the Dockerfile
// instruction that brought in the layer of its package's first location
// (grype's layerID, a diff id).
func ParseGrypeAt(report []byte, o ImageOrigins) ([]findings.Finding, error) {
	var r grypeReport
	if err := decodeStrictObject(report, &r, "grype report"); err != nil {
		return nil, err
	}
	if r.Matches == nil {
		return nil, fmt.Errorf("grype report: no \"matches\" (is this grype's -o json?)")
	}
	if r.Descriptor != nil && r.Descriptor.Name != "" && r.Descriptor.Name != "grype" {
		return nil, fmt.Errorf("grype report: written by %q, not grype", r.Descriptor.Name)
	}
	out := make([]findings.Finding, 0, len(*r.Matches))
	for i, m := range *r.Matches {
		f, err := grypeFinding(m)
		if err != nil {
			return nil, fmt.Errorf("grype report: match %d: %w", i, err)
		}
		placeInImage(&f, o.Layer(grypeLayer(m)))
		out = append(out, f)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

func grypeFinding(m grypeMatch) (findings.Finding, error) {
	v := m.Vulnerability
	switch {
	case v.ID == "":
		return findings.Finding{}, fmt.Errorf("vulnerability has no id")
	case m.Artifact == nil || m.Artifact.Name == "":
		return findings.Finding{}, fmt.Errorf("%s: no artifact name", v.ID)
	}
	sev, err := grypeMatchSeverity(m)
	if err != nil {
		return findings.Finding{}, fmt.Errorf("%s: %w", v.ID, err)
	}
	a := m.Artifact
	f := findings.Finding{
		Stage:    Image,
		Tool:     "grype",
		RuleID:   v.ID,
		RuleName: v.ID,
		Severity: sev,
		Message:  grypeMessage(m),
		Location: findings.Location{Path: grypeLocation(m)},
		HelpURI:  grypeHelp(v),
		Rule:     grypeDoc(m).Rule(),
		Tags:     grypeTags(m),
		Identity: a.Name + "|" + a.Version + "|" + v.ID,
	}
	return f, nil
}

// grypeSeverity maps one severity word; known is false for Unknown.
func grypeSeverity(s *string) (sev findings.Severity, known bool, err error) {
	if s == nil {
		return 0, false, fmt.Errorf("no severity")
	}
	switch strings.ToLower(strings.TrimSpace(*s)) {
	case "negligible":
		return findings.SeverityInfo, true, nil
	case "unknown", "":
		return findings.SeverityInfo, false, nil
	}
	sev, err = severityWord(*s)
	return sev, err == nil, err
}

// grypeMatchSeverity is the vulnerability's severity, or when that is
// unknown the highest one a related vulnerability gives.
func grypeMatchSeverity(m grypeMatch) (findings.Severity, error) {
	sev, known, err := grypeSeverity(m.Vulnerability.Severity)
	if err != nil || known {
		return sev, err
	}
	for _, rv := range m.RelatedVulnerabilities {
		rs, ok, err := grypeSeverity(rv.Severity)
		if err != nil {
			return 0, fmt.Errorf("related %s: %w", rv.ID, err)
		}
		if ok && rs > sev {
			sev = rs
		}
	}
	return sev, nil
}

func grypeMessage(m grypeMatch) string {
	v, a := m.Vulnerability, m.Artifact
	msg := fmt.Sprintf("%s@%s", a.Name, a.Version)
	if a.Type != "" {
		msg += " (" + a.Type + ")"
	}
	msg += " is affected by " + v.ID
	if aliases := grypeAliases(m); len(aliases) > 0 {
		msg += " (" + strings.Join(aliases, ", ") + ")"
	}
	switch {
	case v.Fix != nil && len(v.Fix.Versions) > 0:
		msg += "; fixed in " + strings.Join(v.Fix.Versions, ", ")
	case v.Fix != nil && v.Fix.State != "":
		msg += "; no fixed version (" + v.Fix.State + ")"
	default:
		msg += "; no fixed version"
	}
	return msg
}

// grypeAliases are the related vulnerability ids other than the match's.
func grypeAliases(m grypeMatch) []string {
	var out []string
	for _, rv := range m.RelatedVulnerabilities {
		if rv.ID != "" && rv.ID != m.Vulnerability.ID && !slices.Contains(out, rv.ID) {
			out = append(out, rv.ID)
		}
	}
	return out
}

func grypeLocation(m grypeMatch) string {
	for _, l := range m.Artifact.Locations {
		if p := strings.TrimLeft(strings.ReplaceAll(l.Path, "\\", "/"), "/"); p != "" {
			return p
		}
	}
	return "" // a package grype read from an SBOM: its identity names it
}

// grypeDoc explains the matched advisory with grype's data: its
// description (else a related one's), the fix, aliases, weaknesses and
// links.
func grypeDoc(m grypeMatch) findings.Doc {
	v, a := m.Vulnerability, m.Artifact
	d := findings.Doc{Summary: v.Description, Links: append([]string{v.DataSource}, firstN(v.URLs, maxRefs)...)}
	for _, rv := range m.RelatedVulnerabilities {
		if d.Summary == "" {
			d.Summary = rv.Description
		}
		d.Links = append(d.Links, rv.DataSource)
	}
	if d.Summary == "" {
		d.Summary = "Advisory " + v.ID + "."
	}
	switch {
	case v.Fix != nil && len(v.Fix.Versions) > 0:
		d.Fix = "Upgrade " + a.Name + " to " + strings.Join(v.Fix.Versions, " or ") + " or later."
		d.Facts = append(d.Facts, findings.Fact{Label: "Fixed in", Value: a.Name + " " + strings.Join(v.Fix.Versions, ", ")})
	case v.Fix != nil && v.Fix.State != "":
		d.Fix = "No fixed version of " + a.Name + " is available (" + v.Fix.State + "); follow the advisory for mitigations."
	}
	if aliases := grypeAliases(m); len(aliases) > 0 {
		d.Facts = append(d.Facts, findings.Fact{Label: "Aliases", Value: strings.Join(aliases, ", ")})
	}
	var cwes []string
	for _, c := range v.CWEs {
		if c.CWE != "" && !slices.Contains(cwes, c.CWE) {
			cwes = append(cwes, c.CWE)
		}
	}
	if len(cwes) > 0 {
		d.Facts = append(d.Facts, findings.Fact{Label: "CWE", Value: strings.Join(cwes, ", ")})
	}
	return d
}

// grypeLayer is the diff id of the layer of the package's first location
// with a path; "" when grype names none (a directory or an SBOM).
func grypeLayer(m grypeMatch) string {
	for _, l := range m.Artifact.Locations {
		if strings.Trim(l.Path, "/") != "" {
			return l.LayerID
		}
	}
	return ""
}

// grypeHelp links the advisory: grype's dataSource is its URL.
func grypeHelp(v grypeVuln) string {
	if strings.HasPrefix(v.DataSource, "https://") {
		return v.DataSource
	}
	for _, u := range v.URLs {
		if strings.HasPrefix(u, "https://") {
			return u
		}
	}
	return ""
}

func grypeTags(m grypeMatch) []string {
	tags := []string{"vulnerability"}
	for _, t := range append([]string{m.Artifact.Type, m.Vulnerability.Namespace}, grypeAliases(m)...) {
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// grypeDBStatus is grype's database description: descriptor.db.status in
// the report of grype v0.8x and later (schema v6), descriptor.db itself in
// older reports, and the output of `grype db status -o json`.
type grypeDBStatus struct {
	SchemaVersion json.RawMessage `json:"schemaVersion"`
	Built         time.Time       `json:"built"`
	Status        *struct {
		SchemaVersion json.RawMessage `json:"schemaVersion"`
		Built         time.Time       `json:"built"`
	} `json:"status"`
}

func (s grypeDBStatus) text() string {
	schema, built := s.SchemaVersion, s.Built
	if s.Status != nil {
		schema, built = s.Status.SchemaVersion, s.Status.Built
	}
	if built.IsZero() {
		return ""
	}
	v := strings.Trim(string(schema), `"`)
	if v != "" && !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return strings.TrimSpace(fmt.Sprintf("grype-db %s, built %s", v, built.UTC().Format(time.RFC3339)))
}

// GrypeDatabase names the vulnerability database grype used, from its
// report's descriptor, else from `grype db status -o json` (dbInfo).
func GrypeDatabase(report, dbInfo []byte) string {
	var r grypeReport
	if json.Unmarshal(report, &r) == nil && r.Descriptor != nil && len(r.Descriptor.DB) > 0 {
		var s grypeDBStatus
		if json.Unmarshal(r.Descriptor.DB, &s) == nil {
			if t := s.text(); t != "" {
				return t
			}
		}
	}
	var s grypeDBStatus
	if json.Unmarshal(dbInfo, &s) == nil {
		return s.text()
	}
	return ""
}
