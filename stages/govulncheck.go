package stages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/dagsec/dagsec/findings"
)

// DBInfo is what a vulnerability scanner's report says about the database
// it used, for the run report.
type DBInfo struct {
	// Name is the database: govulncheck's URL ("https://vuln.go.dev",
	// "file:///…/govulncheck"), or osv-scanner's "osv.dev" / "local".
	Name string
	// Version is the database's last-modified time as the tool reports it
	// (RFC 3339), empty when the tool does not say.
	Version string
	// GoVersion is the Go whose standard library govulncheck checked (the
	// toolchain the module selected); empty for other tools.
	GoVersion string
}

// GovulncheckArgv scans the Go packages of the working folder (./...) at
// symbol level and prints govulncheck's JSON stream. govulncheck v1.9.0 has
// no output-file flag (only -C, -db, -format, -json, -mode, -scan, -show,
// -tags, -test, -version): its report is its stdout, so the step sets
// StdoutReport and the runner writes stdout to report (see
// govulncheckStdout). report is therefore not in the argv; it is taken for
// symmetry with the other tools and checked by tests. db "" uses the online
// database (https://vuln.go.dev); otherwise it is a folder in the
// govulncheck layout (a VulnDB folder's VulnDBGovulncheck), passed as a
// file:// URL.
// patterns are the packages to scan, ./... when none are given (see
// GoModule.GoPatterns).
func GovulncheckArgv(report, db string, patterns ...string) []string {
	_ = report
	argv := []string{"govulncheck", "-format", "json", "-scan", "symbol"}
	if db != "" {
		argv = append(argv, "-db", "file://"+db)
	}
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	return append(argv, patterns...)
}

// govulncheckStdout: govulncheck writes its report to stdout.
const govulncheckStdout = true

// govulncheck v1.9.0 exits 0 with -format json whether or not it finds
// anything (exit 3, "vulnerabilities found", is text mode only); 1 is any
// failure (package loading, database), 2 bad usage. Findings are read from
// the report alone.
var (
	GovulncheckOKCodes      = []int{0}
	GovulncheckFindingCodes = []int{}
)

// govulncheck's JSON stream (golang.org/x/vuln/internal/govulncheck,
// protocol v1.0.0): one Message after another, each with one field set.
type gvMessage struct {
	Config   *gvConfig       `json:"config"`
	Progress json.RawMessage `json:"progress"`
	SBOM     *gvSBOM         `json:"SBOM"`
	OSV      *gvOSV          `json:"osv"`
	Finding  *gvFinding      `json:"finding"`
}

type gvConfig struct {
	ProtocolVersion string `json:"protocol_version"`
	ScannerName     string `json:"scanner_name"`
	ScannerVersion  string `json:"scanner_version"`
	DB              string `json:"db"`
	DBLastModified  string `json:"db_last_modified"`
	GoVersion       string `json:"go_version"`
	ScanLevel       string `json:"scan_level"`
	ScanMode        string `json:"scan_mode"`
}

type gvSBOM struct {
	GoVersion string `json:"go_version"`
	Modules   []struct {
		Path    string `json:"path"`
		Version string `json:"version"`
	} `json:"modules"`
	Roots []string `json:"roots"`
}

// gvOSV is the OSV entry govulncheck reports, as osv-scanner does.
type gvOSV = osvVuln

type gvFinding struct {
	OSV          string     `json:"osv"`
	FixedVersion string     `json:"fixed_version"`
	Trace        []*gvFrame `json:"trace"`
}

type gvFrame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
		Column   int    `json:"column"`
	} `json:"position"`
}

// Levels of a govulncheck finding, from the least to the most specific.
const (
	gvRequired = iota + 1 // the module is in the build graph
	gvImported            // a vulnerable package is imported
	gvCalled              // a vulnerable function is reachable
)

func (f *gvFrame) symbol() string {
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	if f.Package != "" {
		return f.Package + "." + name
	}
	return name
}

// gvVuln gathers every finding govulncheck emits for one OSV entry in one
// module: it reports the module first, then the package, then each trace.
type gvVuln struct {
	osv, module, version, fixed string
	level                       int
	packages, calls             []string
	site                        *gvSite
}

// ParseGovulncheck reads `govulncheck -format json` output: a stream of
// JSON messages (config, progress, SBOM, osv, finding). It returns one
// finding per OSV entry and module, at the most specific level govulncheck
// reached:
//
//   - called (a trace reaches a vulnerable function): high, tagged
//     "reachable", located at the call site in the scanned module;
//   - imported or only required: the unreachable severity (zero means low),
//     tagged "unreachable", located at go.mod.
//
// A scan below symbol level cannot tell whether code is called, so its
// findings keep high severity and the tag "reachability-unknown".
// The stream must start with a config message, hold the SBOM message of a
// source scan and end with a whole message; anything else is an error,
// never an empty result. (A stream cut exactly between two messages after
// the SBOM cannot be told from a complete one: the step's exit code covers
// that.) DBInfo holds the config's
// database URL and last-modified time.
func ParseGovulncheck(report []byte, unreachable findings.Severity) ([]findings.Finding, DBInfo, error) {
	return ParseGovulncheckFor(report, unreachable, ".", nil)
}

// ParseGovulncheckFor is ParseGovulncheck for the module in folder dir of
// the source, with paths relative to the source: a call site in another
// local module (local maps module paths to their folders; a go.work's
// modules carry no version) is placed under that module's folder, where
// govulncheck's position is relative to, and a module-level finding is at
// dir's go.mod.
func ParseGovulncheckFor(report []byte, unreachable findings.Severity, dir string, local map[string]string) ([]findings.Finding, DBInfo, error) {
	if unreachable == 0 {
		unreachable = findings.SeverityLow
	}
	if !unreachable.Valid() {
		return nil, DBInfo{}, fmt.Errorf("govulncheck: invalid unreachable severity %d", int(unreachable))
	}
	if len(bytes.TrimSpace(report)) == 0 {
		return nil, DBInfo{}, errors.New("govulncheck report is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(report))
	var (
		cfg   *gvConfig
		sbom  *gvSBOM
		osvs  = map[string]*gvOSV{}
		vulns = map[string]*gvVuln{}
		n     int
	)
	for {
		var m gvMessage
		err := dec.Decode(&m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, DBInfo{}, fmt.Errorf("govulncheck report: message %d: %w", n+1, err)
		}
		n++
		set := 0
		for _, ok := range []bool{m.Config != nil, m.Progress != nil, m.SBOM != nil, m.OSV != nil, m.Finding != nil} {
			if ok {
				set++
			}
		}
		if set != 1 {
			return nil, DBInfo{}, fmt.Errorf("govulncheck report: message %d has %d kinds, want one", n, set)
		}
		if n == 1 && m.Config == nil {
			return nil, DBInfo{}, errors.New("govulncheck report does not start with a config message")
		}
		switch {
		case m.Config != nil:
			if cfg != nil {
				return nil, DBInfo{}, errors.New("govulncheck report has two config messages")
			}
			cfg = m.Config
			if !strings.HasPrefix(cfg.ProtocolVersion, "v1.") {
				return nil, DBInfo{}, fmt.Errorf("govulncheck report: unsupported protocol version %q", cfg.ProtocolVersion)
			}
		case m.SBOM != nil:
			sbom = m.SBOM
		case m.OSV != nil:
			if m.OSV.ID == "" {
				return nil, DBInfo{}, fmt.Errorf("govulncheck report: message %d: OSV entry without an id", n)
			}
			osvs[m.OSV.ID] = m.OSV
		case m.Finding != nil:
			if err := addGovulncheckFinding(vulns, m.Finding); err != nil {
				return nil, DBInfo{}, fmt.Errorf("govulncheck report: message %d: %w", n, err)
			}
		}
	}
	if cfg == nil {
		return nil, DBInfo{}, errors.New("govulncheck report has no config message")
	}
	// A source scan reports its SBOM once packages are loaded; a stream
	// without one stopped early (govulncheck prints its config before it
	// fails to load packages).
	if sbom == nil && (cfg.ScanMode == "" || cfg.ScanMode == "source") {
		return nil, DBInfo{}, errors.New("govulncheck report has no SBOM message: the scan did not finish")
	}
	info := DBInfo{Name: cfg.DB, Version: cfg.DBLastModified, GoVersion: cfg.GoVersion}
	symbolScan := cfg.ScanLevel == "" || cfg.ScanLevel == "symbol"
	main := mainModules(sbom)

	list := make([]*gvVuln, 0, len(vulns))
	for _, v := range vulns {
		list = append(list, v)
	}
	// By id and module, not by arrival: govulncheck's order varies.
	sort.Slice(list, func(a, b int) bool {
		if list[a].osv != list[b].osv {
			return list[a].osv < list[b].osv
		}
		return list[a].module < list[b].module
	})
	out := make([]findings.Finding, 0, len(list))
	for _, v := range list {
		entry, ok := osvs[v.osv]
		if !ok {
			return nil, DBInfo{}, fmt.Errorf("govulncheck report: finding %s has no OSV entry in the report", v.osv)
		}
		slices.Sort(v.calls)
		slices.Sort(v.packages)
		f := govulncheckFinding(v, entry, main, symbolScan, unreachable, placeIn(dir, local))
		out = append(out, f)
	}
	findings.AssignFingerprints(out)
	return out, info, nil
}

func addGovulncheckFinding(vulns map[string]*gvVuln, f *gvFinding) error {
	if f.OSV == "" {
		return errors.New("finding without an OSV id")
	}
	if len(f.Trace) == 0 || f.Trace[0] == nil || f.Trace[0].Module == "" {
		return fmt.Errorf("finding %s has no trace", f.OSV)
	}
	for _, fr := range f.Trace {
		if fr == nil {
			return fmt.Errorf("finding %s has an empty trace frame", f.OSV)
		}
	}
	top := f.Trace[0]
	level := gvRequired
	switch {
	case top.Function != "":
		level = gvCalled
	case top.Package != "":
		level = gvImported
	}
	key := f.OSV + "\x00" + top.Module
	v, ok := vulns[key]
	if !ok {
		v = &gvVuln{osv: f.OSV, module: top.Module}
		vulns[key] = v
	}
	if v.version == "" {
		v.version = top.Version
	}
	if v.fixed == "" {
		v.fixed = f.FixedVersion
	}
	if level > v.level {
		v.level = level
	}
	if top.Package != "" && !slices.Contains(v.packages, top.Package) {
		v.packages = append(v.packages, top.Package)
	}
	if level == gvCalled {
		if s := top.symbol(); !slices.Contains(v.calls, s) {
			v.calls = append(v.calls, s)
		}
		// govulncheck emits traces in no fixed order: of all the call
		// sites, keep the first in (module, file, line, column) order, so
		// the finding's location and fingerprint do not change from run to
		// run.
		if site := callSite(f.Trace); site != nil && (v.site == nil || site.before(v.site)) {
			v.site = site
		}
	}
	return nil
}

// mainModules are the scanned modules: the SBOM lists them without a version.
func mainModules(sbom *gvSBOM) map[string]bool {
	m := map[string]bool{}
	if sbom == nil {
		return m
	}
	for _, mod := range sbom.Modules {
		if mod.Version == "" && mod.Path != "stdlib" {
			m[mod.Path] = true
		}
	}
	return m
}

// gvSite is a call site: a position relative to the folder of the local
// module that holds it (module is that module's path, or the folder a
// replace names).
type gvSite struct {
	module string
	loc    findings.Location
}

func (a *gvSite) before(b *gvSite) bool {
	if a.module != b.module {
		return a.module < b.module
	}
	if a.loc.Path != b.loc.Path {
		return a.loc.Path < b.loc.Path
	}
	if a.loc.Line != b.loc.Line {
		return a.loc.Line < b.loc.Line
	}
	return a.loc.Column < b.loc.Column
}

// callSite is the position of the first frame, walking from the vulnerable
// function towards the entry point, that is in a local module (a frame
// without a module version: the scanned module, a go.work's other modules,
// a module replaced by a folder) and has a position: the line of local code
// that leads to the vulnerable call. Positions are relative to the folder
// of the frame's own module.
func callSite(trace []*gvFrame) *gvSite {
	for _, fr := range trace[1:] {
		if fr.Version != "" || fr.Module == "stdlib" || fr.Position == nil || fr.Position.Filename == "" || fr.Position.Line <= 0 {
			continue
		}
		rel, err := CleanRel(relPath(fr.Position.Filename))
		if err != nil {
			continue // not a path inside the module: no usable call site
		}
		return &gvSite{module: fr.Module, loc: findings.Location{Path: rel, Line: fr.Position.Line, Column: max(fr.Position.Column, 0)}}
	}
	return nil
}

// placeIn makes a call site's path relative to the source, for the module
// in folder dir: under the folder of the local module that owns it; a
// module replaced by a folder ("../lib") is named by that folder, relative
// to dir. A path that would leave the source is reported at dir's go.mod.
func placeIn(dir string, local map[string]string) func(*gvSite) findings.Location {
	return func(s *gvSite) findings.Location {
		base := dir
		switch d, ok := local[s.module]; {
		case ok:
			base = d
		case strings.HasPrefix(s.module, "."):
			base = path.Join(dir, s.module)
		}
		loc := s.loc
		loc.Path = path.Join(base, loc.Path)
		if _, err := CleanRel(loc.Path); err != nil {
			return findings.Location{Path: path.Join(dir, "go.mod")}
		}
		return loc
	}
}

func govulncheckFinding(v *gvVuln, entry *gvOSV, main map[string]bool, symbolScan bool, unreachable findings.Severity, place func(*gvSite) findings.Location) findings.Finding {
	mod := v.module
	if v.version != "" {
		mod += "@" + v.version
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "%s", mod)
	if len(entry.Aliases) > 0 {
		fmt.Fprintf(&msg, " has %s (%s)", v.osv, strings.Join(entry.Aliases, ", "))
	} else {
		fmt.Fprintf(&msg, " has %s", v.osv)
	}
	if entry.Summary != "" {
		fmt.Fprintf(&msg, ": %s", strings.TrimSuffix(entry.Summary, "."))
	}
	msg.WriteString(". ")
	if v.fixed != "" {
		fmt.Fprintf(&msg, "Fixed in %s. ", v.fixed)
	} else {
		msg.WriteString("No fixed version. ")
	}

	sev := findings.SeverityHigh
	tags := []string{"vulnerability", "go"}
	loc := place(&gvSite{loc: findings.Location{Path: "go.mod"}})
	switch {
	case v.level == gvCalled:
		fmt.Fprintf(&msg, "Vulnerable code is called: %s", strings.Join(v.calls, ", "))
		if v.site != nil {
			loc = place(v.site)
			// The module's go.mod, which requires the vulnerable one.
			loc.Manifest = place(&gvSite{loc: findings.Location{Path: "go.mod"}}).Path
			fmt.Fprintf(&msg, " (from %s:%d)", loc.Path, loc.Line)
		}
		msg.WriteString(".")
		tags = append(tags, "reachable", "called")
	case !symbolScan:
		msg.WriteString("The scan level cannot tell whether vulnerable code is called.")
		tags = append(tags, "reachability-unknown")
	case v.level == gvImported:
		fmt.Fprintf(&msg, "%s imported, but no vulnerable function is called.", gvPlural(v.packages, "Package %s is", "Packages %s are"))
		sev = unreachable
		tags = append(tags, "unreachable", "imported")
	default:
		msg.WriteString("The module is required, but no vulnerable package is imported.")
		sev = unreachable
		tags = append(tags, "unreachable", "required")
	}
	if v.module == "stdlib" || v.module == "toolchain" {
		tags = append(tags, "stdlib")
	}
	tags = append(tags, entry.Aliases...)

	doc := osvDoc(entry, v.osv, entry.Aliases, v.module, "")
	if v.module == "stdlib" || v.module == "toolchain" {
		if v.fixed != "" {
			doc.Fix = "Build with Go " + strings.TrimPrefix(v.fixed, "v") + " or later."
		}
	}
	help := entry.DatabaseSpecific.URL
	if help == "" {
		help = "https://pkg.go.dev/vuln/" + v.osv
	}
	name := entry.Summary
	if name == "" {
		name = v.osv
	}
	return findings.Finding{
		Rule:     doc.Rule(),
		Stage:    SCA,
		Tool:     "govulncheck",
		RuleID:   v.osv,
		RuleName: name,
		Severity: sev,
		Message:  msg.String(),
		Location: loc,
		HelpURI:  help,
		Tags:     tags,
		Identity: v.osv + "|" + v.module,
	}
}

func gvPlural(items []string, one, many string) string {
	if len(items) == 1 {
		return fmt.Sprintf(one, items[0])
	}
	return fmt.Sprintf(many, strings.Join(items, ", "))
}
