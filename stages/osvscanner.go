package stages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// OSVScannerArgv runs `osv-scanner scan source` on the working folder,
// recursively, writing JSON to report (--output-file; --output is
// deprecated in v2). localDB is osv-scanner's --local-db-path root (it
// reads <localDB>/osv-scalibr/<ecosystem>/all.zip; a VulnDB folder's
// VulnDBOSVScanner holds the Go one); "" keeps osv-scanner's default. offline
// matches against the local databases only (--offline-vulnerabilities) and
// turns off transitive resolution of manifests through deps.dev
// (--no-resolve), the two things `--offline` would turn off.
//
// Call analysis is always off (--no-call-analysis=all): osv-scanner v2.6.0
// otherwise runs Go's (govulncheck's code) whenever `go` is on PATH, so the
// host and the Go-less image would report differently (tags and exit
// codes), and govulncheck already does Go reachability in this stage.
//
// Offline, every ecosystem found needs its database: a requirements.txt
// with only the Go database present makes osv-scanner exit 127 with empty
// results, the Go findings included. OSVScannerLockfilesArgv scans chosen
// lockfiles instead.
func OSVScannerArgv(report, localDB string, offline bool) []string {
	return append(osvScannerBase(report, localDB, offline), "--recursive", ".")
}

// OSVScannerLockfilesArgv is OSVScannerArgv for the given lockfiles or
// manifests only (slash paths relative to the working folder), e.g. the
// go.mod files when the local database holds Go alone.
func OSVScannerLockfilesArgv(report, localDB string, offline bool, lockfiles []string) []string {
	argv := osvScannerBase(report, localDB, offline)
	for _, l := range lockfiles {
		argv = append(argv, "--lockfile", l)
	}
	return argv
}

func osvScannerBase(report, localDB string, offline bool) []string {
	argv := []string{"osv-scanner", "scan", "source", "--format", "json", "--output-file", report,
		"--no-call-analysis=all"}
	if localDB != "" {
		argv = append(argv, "--local-db-path", localDB)
	}
	if offline {
		argv = append(argv, "--offline-vulnerabilities", "--no-resolve")
	}
	return argv
}

// osv-scanner v2.6.0 exits 0 when nothing is found, 1 when vulnerabilities
// are; 127 is a general error (a missing offline database among them), 128
// "no package sources found", 129 an OSV API failure, 130 an invalid
// osv-scanner.toml. All of those are tool errors.
var (
	OSVScannerOKCodes      = []int{0}
	OSVScannerFindingCodes = []int{1}
)

// osv-scanner's JSON report (pkg/models VulnerabilityResults).
type osvReport struct {
	Results *[]struct {
		Source struct {
			Path string `json:"path"`
			Type string `json:"type"`
		} `json:"source"`
		Packages []osvPackage `json:"packages"`
	} `json:"results"`
}

type osvPackage struct {
	Package struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Ecosystem string `json:"ecosystem"`
		Commit    string `json:"commit"`
	} `json:"package"`
	Vulnerabilities []osvVuln `json:"vulnerabilities"`
	Groups          []struct {
		IDs                  []string `json:"ids"`
		Aliases              []string `json:"aliases"`
		MaxSeverity          string   `json:"max_severity"`
		ExperimentalAnalysis map[string]struct {
			Called      bool `json:"called"`
			Unimportant bool `json:"unimportant"`
		} `json:"experimental_analysis"`
	} `json:"groups"`
}

type osvVuln struct {
	ID               string   `json:"id"`
	Summary          string   `json:"summary"`
	Details          string   `json:"details"`
	Aliases          []string `json:"aliases"`
	Modified         string   `json:"modified"`
	DatabaseSpecific struct {
		Severity string `json:"severity"` // GitHub advisories: LOW, MODERATE, HIGH, CRITICAL
		URL      string `json:"url"`
	} `json:"database_specific"`
	Affected []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
		Ranges []struct {
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
	References []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references"`
}

// ParseOSVScanner reads `osv-scanner scan source --format json` output whose
// source paths are already relative to the scanned source. osv-scanner
// v2.6.0 prints absolute paths even when it scans "."; for its real reports
// use ParseOSVScannerIn with the folder it ran in: an absolute path here is
// an error, never a finding with a machine-specific path.
func ParseOSVScanner(report []byte) ([]findings.Finding, DBInfo, error) {
	return ParseOSVScannerIn(report, "")
}

// ParseOSVScannerIn reads `osv-scanner scan source --format json` output,
// making source paths relative to root, the folder osv-scanner scanned.
//
// It returns one finding per package and vulnerability, where a
// vulnerability is one of osv-scanner's groups (the entries it found to be
// aliases of each other, e.g. a GO- and a GHSA- entry). Severity is the
// group's max_severity (the highest CVSS base score of its entries: 9.0
// critical, 7.0 high, 4.0 medium, above 0 low, 0 info), else a GitHub
// advisory's database severity, else medium: the Go database carries no
// severities, so Go findings are medium. Location is the lockfile or
// manifest. Tags hold the ecosystem, the aliases and, when osv-scanner did
// call analysis, "reachable" or "unreachable".
//
// osv-scanner's JSON does not name the database it used; DBInfo.Version is
// the newest modification time among the reported entries (empty when
// there are none, or, as in the vulndb module's data, all are 0001-01-01).
func ParseOSVScannerIn(report []byte, root string) ([]findings.Finding, DBInfo, error) {
	trimmed := bytes.TrimSpace(report)
	if len(trimmed) == 0 {
		return nil, DBInfo{}, errors.New("osv-scanner report is empty")
	}
	if trimmed[0] != '{' {
		return nil, DBInfo{}, errors.New("osv-scanner report is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var r osvReport
	if err := dec.Decode(&r); err != nil {
		return nil, DBInfo{}, fmt.Errorf("osv-scanner report: %w", err)
	}
	if dec.More() {
		return nil, DBInfo{}, errors.New("osv-scanner report: trailing data after the JSON object")
	}
	if r.Results == nil {
		return nil, DBInfo{}, errors.New("osv-scanner report has no results list")
	}
	var info DBInfo
	var out []findings.Finding
	for i, res := range *r.Results {
		loc, err := osvRelPath(res.Source.Path, root)
		if err != nil {
			return nil, DBInfo{}, fmt.Errorf("osv-scanner report: result %d: %w", i, err)
		}
		for j, p := range res.Packages {
			fs, err := osvPackageFindings(loc, p, &info)
			if err != nil {
				return nil, DBInfo{}, fmt.Errorf("osv-scanner report: %s package %d: %w", loc, j, err)
			}
			out = append(out, fs...)
		}
	}
	if out == nil {
		out = []findings.Finding{}
	}
	findings.AssignFingerprints(out)
	return out, info, nil
}

// osvRelPath makes a reported source path relative to root.
func osvRelPath(p, root string) (string, error) {
	if p == "" {
		return "", errors.New("result without a source path")
	}
	p = path.Clean(strings.ReplaceAll(p, "\\", "/"))
	if root != "" && path.IsAbs(p) {
		r := path.Clean(strings.ReplaceAll(root, "\\", "/"))
		rel, ok := strings.CutPrefix(p, strings.TrimSuffix(r, "/")+"/")
		if !ok {
			return "", fmt.Errorf("source %s is outside the scanned folder %s", p, r)
		}
		p = rel
	}
	if path.IsAbs(p) {
		return "", fmt.Errorf("source %s is an absolute path (parse with the scan root)", p)
	}
	rel, err := CleanRel(p)
	if err != nil {
		return "", fmt.Errorf("source %s: %w", p, err)
	}
	return rel, nil
}

func osvPackageFindings(loc string, p osvPackage, info *DBInfo) ([]findings.Finding, error) {
	pkg := p.Package
	name := pkg.Name
	if name == "" {
		name = pkg.Commit
	}
	if name == "" {
		return nil, errors.New("package without a name or commit")
	}
	vulns := map[string]*osvVuln{}
	for i := range p.Vulnerabilities {
		v := &p.Vulnerabilities[i]
		if v.ID == "" {
			return nil, fmt.Errorf("%s: vulnerability without an id", name)
		}
		vulns[v.ID] = v
		if v.Modified > info.Version && !strings.HasPrefix(v.Modified, "0001-") {
			info.Version = v.Modified
		}
	}
	type group struct {
		ids, aliases []string
		maxSeverity  string
		called       *bool
		unimportant  bool
	}
	var groups []group
	grouped := map[string]bool{}
	for _, g := range p.Groups {
		if len(g.IDs) == 0 {
			return nil, fmt.Errorf("%s: vulnerability group without ids", name)
		}
		gr := group{ids: g.IDs, aliases: g.Aliases, maxSeverity: g.MaxSeverity}
		if len(g.ExperimentalAnalysis) > 0 {
			called := false
			for _, a := range g.ExperimentalAnalysis {
				called = called || a.Called
				gr.unimportant = gr.unimportant || a.Unimportant
			}
			gr.called = &called
		}
		for _, id := range g.IDs {
			grouped[id] = true
		}
		groups = append(groups, gr)
	}
	// An entry outside every group (never seen from osv-scanner itself) is
	// its own vulnerability rather than dropped.
	for _, v := range p.Vulnerabilities {
		if !grouped[v.ID] {
			groups = append(groups, group{ids: []string{v.ID}, aliases: v.Aliases})
		}
	}

	ver := pkg.Version
	if ver == "" {
		ver = pkg.Commit
	}
	out := make([]findings.Finding, 0, len(groups))
	for _, g := range groups {
		id := osvPrimaryID(g.ids)
		v := vulns[id]
		if v == nil {
			for _, other := range g.ids {
				if vulns[other] != nil {
					v = vulns[other]
					break
				}
			}
		}
		var aliases []string
		for _, a := range append(slices.Clone(g.ids), g.aliases...) {
			if a != id && !slices.Contains(aliases, a) {
				aliases = append(aliases, a)
			}
		}
		sev, err := osvSeverity(g.maxSeverity, v)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", name, id, err)
		}

		var msg strings.Builder
		fmt.Fprintf(&msg, "%s@%s", name, ver)
		if pkg.Ecosystem != "" {
			fmt.Fprintf(&msg, " (%s)", pkg.Ecosystem)
		}
		fmt.Fprintf(&msg, " has %s", id)
		if len(aliases) > 0 {
			fmt.Fprintf(&msg, " (%s)", strings.Join(aliases, ", "))
		}
		summary := ""
		if v != nil {
			summary = v.Summary
		}
		if summary != "" {
			fmt.Fprintf(&msg, ": %s", strings.TrimSuffix(summary, "."))
		}
		msg.WriteString(".")
		if fixed := osvFixedVersions(v, pkg.Name, pkg.Ecosystem); len(fixed) > 0 {
			fmt.Fprintf(&msg, " Fixed in %s.", strings.Join(fixed, ", "))
		} else if v != nil {
			msg.WriteString(" No fixed version.")
		}

		tags := []string{"vulnerability"}
		if pkg.Ecosystem != "" {
			tags = append(tags, pkg.Ecosystem)
		}
		if g.called != nil {
			if *g.called {
				tags = append(tags, "reachable")
			} else {
				tags = append(tags, "unreachable")
			}
		}
		if g.unimportant {
			tags = append(tags, "unimportant")
		}
		tags = append(tags, aliases...)

		help := "https://osv.dev/vulnerability/" + id
		if v != nil && v.DatabaseSpecific.URL != "" {
			help = v.DatabaseSpecific.URL
		}
		rule := summary
		if rule == "" {
			rule = id
		}
		out = append(out, findings.Finding{
			Rule:     osvDoc(v, id, aliases, pkg.Name, pkg.Ecosystem).Rule(),
			Stage:    SCA,
			Tool:     "osv-scanner",
			RuleID:   id,
			RuleName: rule,
			Severity: sev,
			Message:  msg.String(),
			Location: findings.Location{Path: loc},
			HelpURI:  help,
			Tags:     tags,
			Identity: pkg.Ecosystem + "|" + name + "|" + id,
		})
	}
	return out, nil
}

// osvPrimaryID picks the id a group is reported under: an ecosystem
// database's own (GO-, PYSEC-, RUSTSEC-…) before a GitHub advisory before
// a CVE, then the first in name order.
func osvPrimaryID(ids []string) string {
	rank := func(id string) int {
		switch {
		case strings.HasPrefix(id, "CVE-"):
			return 2
		case strings.HasPrefix(id, "GHSA-"):
			return 1
		}
		return 0
	}
	s := slices.Clone(ids)
	sort.SliceStable(s, func(a, b int) bool {
		if rank(s[a]) != rank(s[b]) {
			return rank(s[a]) < rank(s[b])
		}
		return s[a] < s[b]
	})
	return s[0]
}

// osvSeverity maps a CVSS base score, else a database severity, else
// medium.
func osvSeverity(maxSeverity string, v *osvVuln) (findings.Severity, error) {
	if s := strings.TrimSpace(maxSeverity); s != "" {
		score, err := strconv.ParseFloat(s, 64)
		if err != nil || score < 0 || score > 10 {
			return 0, fmt.Errorf("max_severity %q is not a CVSS score", maxSeverity)
		}
		switch {
		case score >= 9:
			return findings.SeverityCritical, nil
		case score >= 7:
			return findings.SeverityHigh, nil
		case score >= 4:
			return findings.SeverityMedium, nil
		case score > 0:
			return findings.SeverityLow, nil
		default:
			return findings.SeverityInfo, nil
		}
	}
	if v != nil {
		switch strings.ToUpper(strings.TrimSpace(v.DatabaseSpecific.Severity)) {
		case "CRITICAL":
			return findings.SeverityCritical, nil
		case "HIGH":
			return findings.SeverityHigh, nil
		case "MODERATE", "MEDIUM":
			return findings.SeverityMedium, nil
		case "LOW":
			return findings.SeverityLow, nil
		}
	}
	return findings.SeverityMedium, nil
}

// osvDoc explains an OSV advisory for the package it was found in: its
// summary and details, its aliases, the versions that fix the package and
// its references. v may be nil (a group osv-scanner gave no entry for).
func osvDoc(v *osvVuln, id string, aliases []string, pkg, ecosystem string) findings.Doc {
	d := findings.Doc{Summary: "Advisory " + id + "."}
	if len(aliases) > 0 {
		d.Facts = append(d.Facts, findings.Fact{Label: "Aliases", Value: strings.Join(aliases, ", ")})
	}
	if v == nil {
		d.Links = []string{"https://osv.dev/vulnerability/" + id}
		return d
	}
	if v.Summary != "" {
		d.Summary = v.Summary
	}
	d.Details = v.Details
	if fixed := osvFixedVersions(v, pkg, ecosystem); len(fixed) > 0 {
		d.Fix = "Upgrade " + pkg + " to " + strings.Join(fixed, " or ") + " or later."
		d.Facts = append(d.Facts, findings.Fact{Label: "Fixed in", Value: pkg + " " + strings.Join(fixed, ", ")})
	} else {
		d.Fix = "No fixed version of " + pkg + " is known; follow the advisory for mitigations."
	}
	d.Links = []string{v.DatabaseSpecific.URL, "https://osv.dev/vulnerability/" + id}
	for _, r := range v.References {
		if len(d.Links) == maxRefs {
			break
		}
		d.Links = append(d.Links, r.URL)
	}
	return d
}

// osvFixedVersions lists the fixed events of the entry's ranges for the
// package, in the entry's order.
func osvFixedVersions(v *osvVuln, name, ecosystem string) []string {
	if v == nil {
		return nil
	}
	var out []string
	for _, a := range v.Affected {
		if a.Package.Name != name || (ecosystem != "" && a.Package.Ecosystem != "" && a.Package.Ecosystem != ecosystem) {
			continue
		}
		for _, r := range a.Ranges {
			for _, e := range r.Events {
				if f := e["fixed"]; f != "" && !slices.Contains(out, f) {
					out = append(out, f)
				}
			}
		}
	}
	return out
}
