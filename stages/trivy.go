package stages

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// trivyFindingsCode is the exit code trivy is told to use (--exit-code) when
// its report lists anything (a failed misconfiguration, a vulnerability, a
// secret or a license). trivy's own failures exit 1 (log.Fatal) and Go
// panics 2, so neither is ever mistaken for findings, and a run that exits
// with it while the report lists nothing is caught by the pipeline.
const trivyFindingsCode = 3

// trivy v0.74.0 exit codes under TrivyConfigArgv and TrivyFSVulnArgv.
var (
	TrivyOKCodes      = []int{0}
	TrivyFindingCodes = []int{trivyFindingsCode}
)

// trivyCommonFlags keep a run from calling home (without them trivy v0.74
// sends a version check and telemetry to check.trivy.dev), write JSON to the
// report file and signal findings with trivyFindingsCode.
func trivyCommonFlags(report string) []string {
	return []string{
		"--skip-version-check", "--disable-telemetry",
		"--format", "json", "--output", report,
		"--exit-code", strconv.Itoa(trivyFindingsCode),
	}
}

// TrivyConfigArgv runs `trivy config` over "." (the step's working folder is
// the source) with the given misconfiguration scanners (trivy's names:
// terraform, dockerfile, kubernetes, helm, cloudformation, azure-arm, ...).
//
// --skip-check-update makes it use the checks bundle already in its cache, or
// the checks embedded in the binary when there is none, instead of pulling
// mirror.gcr.io/aquasec/trivy-checks:2: with the common flags it makes no
// network request of its own. (trivy v0.74 has no flag to stop `trivy
// config` from fetching remote Terraform modules a source names; offline
// those fetches fail, are logged, and the scan goes on.)
func TrivyConfigArgv(report string, scanners []string) []string {
	argv := []string{"trivy", "config",
		"--misconfig-scanners", strings.Join(scanners, ","),
		"--skip-check-update",
	}
	argv = append(argv, trivyCommonFlags(report)...)
	return append(argv, ".")
}

// TrivyFSVulnArgv runs `trivy fs --scanners vuln` over "." with its databases
// in cacheDir. skipDBUpdate uses the databases already there (downloaded by a
// separate `trivy fs --download-db-only` step) and never downloads; with no
// database in cacheDir trivy then fails (exit 1), it does not pass.
func TrivyFSVulnArgv(report, cacheDir string, skipDBUpdate bool) []string {
	argv := []string{"trivy", "fs", "--scanners", "vuln",
		"--cache-dir", cacheDir,
		"--no-progress",
	}
	if skipDBUpdate {
		argv = append(argv, "--skip-db-update", "--skip-java-db-update")
	}
	argv = append(argv, trivyCommonFlags(report)...)
	return append(argv, ".")
}

// TrivyDB is what a trivy JSON report says about the run and the advisories
// behind its vulnerabilities. trivy's JSON report (schema 2, v0.74) carries
// no vulnerability database version or update time: only the trivy version,
// the report's id and creation time, and each vulnerability's data source.
type TrivyDB struct {
	TrivyVersion string    // "Trivy": {"Version"}; absent in older reports
	ReportID     string    // absent in older reports
	CreatedAt    time.Time // zero when absent
	// DataSources lists, sorted and once each, the advisory sources the
	// report's vulnerabilities came from ("ghsa (GitHub Security Advisory
	// Pip)"). Empty for reports without vulnerabilities.
	DataSources []string
}

// String is the one-line form for the run report.
func (d TrivyDB) String() string {
	var b strings.Builder
	b.WriteString("trivy")
	if d.TrivyVersion != "" {
		b.WriteString(" " + d.TrivyVersion)
	}
	b.WriteString(" (the report does not name a database version")
	if len(d.DataSources) > 0 {
		b.WriteString("; advisories from " + strings.Join(d.DataSources, ", "))
	}
	if !d.CreatedAt.IsZero() {
		b.WriteString("; scanned " + d.CreatedAt.UTC().Format(time.RFC3339))
	}
	b.WriteString(")")
	return b.String()
}

// trivyReport is the part of trivy's --format json report dagsec reads.
type trivyReport struct {
	SchemaVersion int
	Trivy         struct{ Version string }
	ReportID      string
	CreatedAt     *time.Time
	ArtifactName  string
	ArtifactType  string
	Results       []trivyResult
}

type trivyResult struct {
	Target            *string
	Class             string
	Type              string
	Vulnerabilities   []trivyVuln
	Misconfigurations []trivyMisconf
	Secrets           []trivySecret
	Licenses          []trivyLicense
}

type trivyMisconf struct {
	Type          string
	ID            string
	AVDID         string
	Title         string
	Description   string
	Message       string
	Resolution    string
	Severity      string
	PrimaryURL    string
	References    []string
	Status        string
	CauseMetadata struct {
		Resource  string
		Provider  string
		Service   string
		StartLine int
		EndLine   int
	}
}

type trivyVuln struct {
	VulnerabilityID  string
	PkgID            string
	PkgName          string
	PkgPath          string
	InstalledVersion string
	FixedVersion     string
	Status           string
	PrimaryURL       string
	DataSource       *struct{ ID, Name string }
	Title            string
	Description      string
	Severity         string
	CweIDs           []string
	References       []string
	// Layer is the image layer the package came in with (image scans).
	Layer *trivyLayer
}

type trivyLayer struct{ DiffID string }

func (l *trivyLayer) diffID() string {
	if l == nil {
		return ""
	}
	return l.DiffID
}

// trivySecret leaves out Match and Code on purpose: even masked, the
// secret's surroundings are not carried on.
type trivySecret struct {
	RuleID    string
	Category  string
	Severity  string
	Title     string
	StartLine int
	EndLine   int
	Layer     *trivyLayer
}

type trivyLicense struct {
	Severity   string
	Category   string
	PkgName    string
	FilePath   string
	Name       string
	Confidence float64
	Link       string
}

// trivyStages are the stages trivy findings may belong to.
var trivyStages = []string{IaC, Dockerfile, SCA, Secrets, Licenses, Image}

// ParseTrivy reads trivy's JSON report (--format json, schema version 2) for
// any of `trivy config` (Misconfigurations), `trivy fs|image` vulnerability
// scans (Vulnerabilities), licenses (Licenses) and secrets (Secrets), and
// turns it into findings of the given dagsec stage.
//
//   - Misconfigurations: only Status FAIL. RuleID is trivy's ID (AWS-0086,
//     DS-0002 in v0.74; DS002 in older reports); the other id (the deprecated
//     AVDID, or AVD-AWS-0086 derived from the ID when there is none) is a tag.
//   - Vulnerabilities: one finding per target, package (name, version, path)
//     and vulnerability id; RuleID is the vulnerability id.
//   - Secrets: RuleID is the secret rule; the match itself is never read.
//   - Licenses: RuleID is the license name, the severity trivy's category gives.
//
// Severities CRITICAL, HIGH, MEDIUM and LOW map one to one, UNKNOWN to info;
// anything else is an error. A report with no Results (a clean run of some
// trivy versions) has no findings. Paths are the report's Targets, which are
// relative to the scanned folder for `trivy config .` and `trivy fs .`.
func ParseTrivy(report []byte, stage string) ([]findings.Finding, TrivyDB, error) {
	return parseTrivy(report, stage, nil)
}

// parseTrivy is ParseTrivy; place, when set, relocates each vulnerability
// and secret finding given the diff id of the image layer it is in.
func parseTrivy(report []byte, stage string, place func(f *findings.Finding, diffID string)) ([]findings.Finding, TrivyDB, error) {
	if !slices.Contains(trivyStages, stage) {
		return nil, TrivyDB{}, fmt.Errorf("trivy: unknown stage %q", stage)
	}
	var r trivyReport
	if err := decodeStrictObject(report, &r, "trivy report"); err != nil {
		return nil, TrivyDB{}, err
	}
	if r.SchemaVersion != 2 {
		return nil, TrivyDB{}, fmt.Errorf("trivy report: schema version %d, want 2 (is this trivy's --format json?)", r.SchemaVersion)
	}
	db := TrivyDB{TrivyVersion: r.Trivy.Version, ReportID: r.ReportID}
	if r.CreatedAt != nil {
		db.CreatedAt = *r.CreatedAt
	}
	sources := map[string]bool{}
	image := r.ArtifactType == "container_image" || r.ArtifactType == "vm"

	var out []findings.Finding
	docs := ruleDocs{}
	for i, res := range r.Results {
		if res.Target == nil {
			return nil, TrivyDB{}, fmt.Errorf("trivy report: result %d has no Target", i)
		}
		target, err := trivyTarget(*res.Target, image)
		if err != nil {
			return nil, TrivyDB{}, fmt.Errorf("trivy report: result %d: %w", i, err)
		}
		base := findings.Finding{Stage: stage, Tool: "trivy", Location: findings.Location{Path: target}}

		for j, m := range res.Misconfigurations {
			f, keep, err := trivyMisconfFinding(base, res, m)
			if err != nil {
				return nil, TrivyDB{}, fmt.Errorf("trivy report: %s: misconfiguration %d: %w", target, j, err)
			}
			if keep {
				docs.attach(&f, func() findings.Doc { return trivyMisconfDoc(m) })
				out = append(out, f)
			}
		}

		seen := map[string]bool{}
		for j, v := range res.Vulnerabilities {
			if v.DataSource != nil && v.DataSource.ID != "" {
				s := v.DataSource.ID
				if v.DataSource.Name != "" {
					s += " (" + v.DataSource.Name + ")"
				}
				sources[s] = true
			}
			key := strings.Join([]string{v.PkgName, v.InstalledVersion, v.PkgPath, v.VulnerabilityID}, "\x00")
			if seen[key] {
				continue
			}
			seen[key] = true
			f, err := trivyVulnFinding(base, res, v)
			if err != nil {
				return nil, TrivyDB{}, fmt.Errorf("trivy report: %s: vulnerability %d: %w", target, j, err)
			}
			docs.attach(&f, func() findings.Doc { return trivyVulnDoc(v) })
			if place != nil {
				place(&f, v.Layer.diffID())
			}
			out = append(out, f)
		}

		for j, s := range res.Secrets {
			f, err := trivySecretFinding(base, s)
			if err != nil {
				return nil, TrivyDB{}, fmt.Errorf("trivy report: %s: secret %d: %w", target, j, err)
			}
			docs.attach(&f, func() findings.Doc { return trivySecretDoc(s) })
			if place != nil {
				place(&f, s.Layer.diffID())
			}
			out = append(out, f)
		}

		for j, l := range res.Licenses {
			f, err := trivyLicenseFinding(base, res, l, image)
			if err != nil {
				return nil, TrivyDB{}, fmt.Errorf("trivy report: %s: license %d: %w", target, j, err)
			}
			docs.attach(&f, func() findings.Doc { return trivyLicenseDoc(l) })
			out = append(out, f)
		}
	}
	for s := range sources {
		db.DataSources = append(db.DataSources, s)
	}
	slices.Sort(db.DataSources)
	if out == nil {
		out = []findings.Finding{}
	}
	findings.AssignFingerprints(out)
	return out, db, nil
}

// trivyTarget checks a result's Target. For source scans it is a path
// relative to the scanned folder ("" for the folder itself); image scans name the image and OS
// ("alpine:3.19 (alpine 3.19.1)") or a path inside the image, kept as is
// without its leading slash.
func trivyTarget(t string, image bool) (string, error) {
	if strings.TrimSpace(t) == "" {
		return "", fmt.Errorf("empty Target")
	}
	if image {
		return strings.TrimLeft(strings.ReplaceAll(t, "\\", "/"), "/"), nil
	}
	if path.Clean(strings.ReplaceAll(t, "\\", "/")) == "." {
		// The scanned folder itself: trivy adds such a result for a
		// Terraform module at the root (its files have results of their
		// own). What it holds is about no single file.
		return "", nil
	}
	return relToRoot(t, "")
}

func trivyMisconfFinding(base findings.Finding, res trivyResult, m trivyMisconf) (findings.Finding, bool, error) {
	switch m.Status {
	case "FAIL":
	case "PASS", "EXCEPTION":
		return findings.Finding{}, false, nil
	default:
		return findings.Finding{}, false, fmt.Errorf("unknown status %q", m.Status)
	}
	id := m.ID
	if id == "" {
		id = m.AVDID
	}
	if id == "" {
		return findings.Finding{}, false, fmt.Errorf("no ID")
	}
	sev, err := severityWord(m.Severity, "UNKNOWN")
	if err != nil {
		return findings.Finding{}, false, fmt.Errorf("%s: %w", id, err)
	}
	f := base
	f.RuleID = id
	f.RuleName = m.Title
	f.Severity = sev
	f.Message = findingMessage(m.Message, m.Title, m.CauseMetadata.Resource, m.Resolution)
	f.Location.Line = m.CauseMetadata.StartLine
	f.Location.EndLine = m.CauseMetadata.EndLine
	f.HelpURI = m.PrimaryURL
	// The other id: the deprecated AVDID when the report has one (trivy
	// before v0.6x printed ID "DS002" and AVDID "AVD-DS-0002"), else the
	// AVD form of the id (AWS-0086 -> AVD-AWS-0086, tfsec's rule id).
	other := m.AVDID
	if other == "" && !strings.HasPrefix(id, "AVD-") && strings.Contains(id, "-") {
		other = "AVD-" + id
	}
	var tags []string
	for _, t := range []string{other, res.Type, strings.ToLower(m.CauseMetadata.Provider), strings.ToLower(m.CauseMetadata.Service)} {
		if t != "" && t != id && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	f.Tags = tags
	// The resource and trivy's message (which names the image, port or
	// setting at fault) tell two failures of one check in one file apart.
	f.Identity = m.CauseMetadata.Resource + "|" + m.Message
	return f, true, nil
}

func trivyVulnFinding(base findings.Finding, res trivyResult, v trivyVuln) (findings.Finding, error) {
	if v.VulnerabilityID == "" {
		return findings.Finding{}, fmt.Errorf("no VulnerabilityID")
	}
	if v.PkgName == "" {
		return findings.Finding{}, fmt.Errorf("%s: no PkgName", v.VulnerabilityID)
	}
	sev, err := severityWord(v.Severity, "UNKNOWN")
	if err != nil {
		return findings.Finding{}, fmt.Errorf("%s: %w", v.VulnerabilityID, err)
	}
	f := base
	f.RuleID = v.VulnerabilityID
	f.RuleName = v.Title
	if f.RuleName == "" {
		f.RuleName = v.VulnerabilityID
	}
	f.Severity = sev
	msg := fmt.Sprintf("%s@%s is affected by %s", v.PkgName, v.InstalledVersion, v.VulnerabilityID)
	if v.Title != "" {
		msg += ": " + v.Title
	}
	if v.FixedVersion != "" {
		msg += "; fixed in " + v.FixedVersion
	} else {
		msg += "; no fixed version"
		if v.Status != "" {
			msg += " (" + v.Status + ")"
		}
	}
	if v.PkgPath != "" {
		msg += " [" + v.PkgPath + "]"
	}
	f.Message = msg
	f.HelpURI = v.PrimaryURL
	var tags []string
	for _, t := range append([]string{"vulnerability", res.Class, res.Type}, v.CweIDs...) {
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	f.Tags = tags
	// Package, not version: upgrading to another affected version keeps
	// the alert; the path separates copies of one package in an image.
	f.Identity = v.PkgName + "|" + v.PkgPath
	return f, nil
}

func trivySecretFinding(base findings.Finding, s trivySecret) (findings.Finding, error) {
	if s.RuleID == "" {
		return findings.Finding{}, fmt.Errorf("no RuleID")
	}
	sev, err := severityWord(s.Severity, "UNKNOWN")
	if err != nil {
		return findings.Finding{}, fmt.Errorf("%s: %w", s.RuleID, err)
	}
	f := base
	f.RuleID = s.RuleID
	f.RuleName = s.Title
	f.Severity = sev
	f.Message = s.Title
	if f.Message == "" {
		f.Message = "secret detected by rule " + s.RuleID
	}
	f.Location.Line = s.StartLine
	f.Location.EndLine = s.EndLine
	f.Tags = []string{"secret"}
	if s.Category != "" {
		f.Tags = append(f.Tags, s.Category)
	}
	return f, nil
}

func trivyLicenseFinding(base findings.Finding, res trivyResult, l trivyLicense, image bool) (findings.Finding, error) {
	if l.Name == "" {
		return findings.Finding{}, fmt.Errorf("no license Name")
	}
	sev, err := severityWord(l.Severity, "UNKNOWN")
	if err != nil {
		return findings.Finding{}, fmt.Errorf("%s: %w", l.Name, err)
	}
	f := base
	f.RuleID = l.Name
	f.RuleName = "License " + l.Name
	f.Severity = sev
	subject := l.PkgName
	if l.FilePath != "" {
		p, err := trivyTarget(l.FilePath, image)
		if err != nil {
			return findings.Finding{}, fmt.Errorf("%s: FilePath: %w", l.Name, err)
		}
		f.Location.Path = p
		if subject == "" {
			subject = p
		}
	}
	if subject == "" {
		return findings.Finding{}, fmt.Errorf("%s: neither PkgName nor FilePath", l.Name)
	}
	f.Message = fmt.Sprintf("%s is licensed under %s", subject, l.Name)
	if l.Category != "" {
		f.Message += " (" + l.Category + ")"
	}
	f.HelpURI = l.Link
	f.Tags = []string{"license"}
	for _, t := range []string{l.Category, res.Class, res.Type} {
		if t != "" && !slices.Contains(f.Tags, t) {
			f.Tags = append(f.Tags, t)
		}
	}
	f.Identity = l.PkgName + "|" + l.FilePath
	return f, nil
}

// maxRefs bounds the references a rule's help lists; advisories can have
// dozens, the first ones are the advisory's own.
const maxRefs = 8

// trivyMisconfDoc explains a check with its AVD entry as trivy reports it:
// title, description, resolution and links.
func trivyMisconfDoc(m trivyMisconf) findings.Doc {
	d := findings.Doc{Summary: m.Description, Fix: m.Resolution, Links: append([]string{m.PrimaryURL}, m.References...)}
	if d.Summary == "" {
		d.Summary = m.Title
	} else if m.Title != "" {
		d.Summary = strings.TrimSuffix(m.Title, ".") + ". " + d.Summary
	}
	if m.AVDID != "" {
		d.Facts = append(d.Facts, findings.Fact{Label: "AVD", Value: m.AVDID})
	}
	return d
}

// trivyVulnDoc explains a vulnerability with trivy's advisory data: title,
// description, the fixed version, weaknesses and references.
func trivyVulnDoc(v trivyVuln) findings.Doc {
	d := findings.Doc{Summary: v.Title, Details: v.Description, Links: append([]string{v.PrimaryURL}, firstN(v.References, maxRefs)...)}
	if v.FixedVersion != "" {
		d.Fix = "Upgrade " + v.PkgName + " to " + v.FixedVersion + " or later."
		d.Facts = append(d.Facts, findings.Fact{Label: "Fixed in", Value: v.PkgName + " " + v.FixedVersion})
	} else {
		d.Fix = "No fixed version of " + v.PkgName + " is known yet; follow the advisory for mitigations."
	}
	if len(v.CweIDs) > 0 {
		d.Facts = append(d.Facts, findings.Fact{Label: "CWE", Value: strings.Join(v.CweIDs, ", ")})
	}
	return d
}

// trivySecretDoc explains a secret rule: trivy gives its title and
// category only.
func trivySecretDoc(s trivySecret) findings.Doc {
	what := s.Title
	if what == "" {
		what = "a secret (trivy rule " + s.RuleID + ")"
	}
	return findings.Doc{
		Summary: "trivy found " + what + " in the scanned files.",
		Fix:     "Remove the secret from the files, rotate it (it is exposed to anyone who can read them) and load it at run time instead.",
		Facts:   []findings.Fact{{Label: "Category", Value: s.Category}},
		Links:   []string{"https://trivy.dev/latest/docs/scanner/secret/"},
	}
}

// trivyLicenseDoc explains a license trivy classified.
func trivyLicenseDoc(l trivyLicense) findings.Doc {
	summary := "Files or packages licensed under " + l.Name + "."
	if l.Category != "" {
		summary = "Files or packages licensed under " + l.Name + ", which trivy classifies as " + l.Category + "."
	}
	return findings.Doc{
		Summary: summary,
		Facts:   []findings.Fact{{Label: "License", Value: l.Name}, {Label: "Category", Value: l.Category}},
		Links:   []string{l.Link, "https://trivy.dev/latest/docs/scanner/license/"},
	}
}

func firstN(list []string, n int) []string { return list[:min(n, len(list))] }

// findingMessage joins a check's message (or its title when it has none),
// the resource at fault and the fix into one sentence.
func findingMessage(msg, title, resource, resolution string) string {
	if msg == "" {
		msg = title
	}
	msg = strings.TrimSuffix(strings.TrimSpace(msg), ".")
	if resource != "" {
		msg += " (" + resource + ")"
	}
	msg += "."
	if resolution != "" {
		msg += " Resolution: " + strings.TrimSpace(resolution)
	}
	return msg
}
