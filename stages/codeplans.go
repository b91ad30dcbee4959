package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// Files that tell a stage which tools have something to scan.
var (
	goModPatterns     = []string{"go.mod", "**/go.mod"}
	pythonPatterns    = []string{"**/*.py"}
	terraformPatterns = []string{"**/*.tf", "**/*.tf.json"}
	// iacPatterns are the files trivy config and checkov read besides
	// Terraform: Helm charts, Kubernetes manifests and CloudFormation.
	iacPatterns  = []string{"**/Chart.yaml", "**/*.yaml", "**/*.yml", "**/*.template", "**/*.json"}
	lockPatterns = []string{
		"**/go.mod", "**/requirements*.txt", "**/Pipfile.lock", "**/poetry.lock", "**/uv.lock",
		"**/package-lock.json", "**/yarn.lock", "**/pnpm-lock.yaml", "**/Cargo.lock", "**/Gemfile.lock",
		"**/composer.lock", "**/pom.xml", "**/gradle.lockfile", "**/packages.lock.json", "**/mix.lock", "**/pubspec.lock",
	}
	sourcePatterns = []string{
		"**/*.go", "**/*.py", "**/*.js", "**/*.jsx", "**/*.ts", "**/*.tsx", "**/*.java", "**/*.kt", "**/*.rb",
		"**/*.php", "**/*.cs", "**/*.c", "**/*.cc", "**/*.cpp", "**/*.rs", "**/*.scala", "**/*.swift", "**/*.tf",
		"**/*.yaml", "**/*.yml", "**/*.json", "**/*.sh", "**/*.html", "**/Dockerfile",
	}
)

// maxProbeFiles bounds how many candidate manifests are read to tell IaC
// files from other YAML and JSON.
const maxProbeFiles = 300

// chooser decides which of a stage's tools run: a tool the runner cannot run
// is left out with a note when it is a default, and kept (so it fails) when
// the policy asked for it by name.
type chooser struct {
	stage    string
	explicit bool
	tools    []string
	probe    Probe
}

func newChooser(stage string, opts Options, probe Probe) chooser {
	return chooser{stage: stage, explicit: len(opts.Tools) > 0, tools: opts.tools(stage), probe: probe}
}

// skip returns a plan that records why a tool did not run.
func skip(stage, tool, why string) Plan { return Plan{Stage: stage, Tool: tool, Skipped: why} }

// unavailable records a tool this runner cannot run.
func unavailable(stage, tool, why string) Plan {
	p := skip(stage, tool, why)
	p.Unavailable = true
	return p
}

// available returns "" when the tool should be planned, else why it is not.
func (c chooser) available(ctx context.Context, tool string) string {
	if c.explicit || c.probe.HasTool(ctx, tool) {
		return ""
	}
	t, _ := LookupTool(tool)
	switch {
	case t.Debian != "":
		return fmt.Sprintf("%s is not installed here (apt-get install %s, or name it in the policy's tools to require it)", tool, t.Debian)
	case t.NPM != "":
		return fmt.Sprintf("%s is not installed here (run `dagsec tools install %s`, which needs node and npm, or name it in the policy's tools to require it)", tool, tool)
	case t.Toolchain:
		return fmt.Sprintf("%s is not on PATH", tool)
	case t.GoModule == "":
		return fmt.Sprintf("%s is not installed here; it runs from its image %s in the Dagger module (name it in the policy's tools to require it)", tool, t.Image)
	}
	return fmt.Sprintf("%s is not installed here (run `dagsec tools install %s`, or name it in the policy's tools to require it)", tool, tool)
}

// gate decides whether a tool runs: with no files for it, it is skipped
// (nothing to scan); else, when the runner lacks it, it is unavailable.
// It returns the plan to record instead, or nil when the tool should run.
func (c chooser) gate(ctx context.Context, tool string, files []string, none string) *Plan {
	if len(files) == 0 {
		p := skip(c.stage, tool, none)
		return &p
	}
	if why := c.available(ctx, tool); why != "" {
		p := unavailable(c.stage, tool, why)
		return &p
	}
	return nil
}

// need finds a tool's files. When the tool should not run it appends the
// plan that says why and returns no files.
func (c chooser) need(ctx context.Context, plans *[]Plan, tool, none string, patterns ...string) ([]string, error) {
	files, err := c.find(ctx, patterns...)
	if err != nil {
		return nil, err
	}
	if p := c.gate(ctx, tool, files, none); p != nil {
		*plans = append(*plans, *p)
		return nil, nil
	}
	return files, nil
}

// find globs the source for a tool's files.
func (c chooser) find(ctx context.Context, patterns ...string) ([]string, error) {
	files, err := FindFiles(ctx, c.probe, patterns...)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", c.stage, err)
	}
	return files, nil
}

// toolStep fills the parts of a Step every tool run shares.
func toolStep(stage, tool, dir string, opts Options, def time.Duration) Step {
	t, _ := LookupTool(tool)
	name := stage + "/" + tool
	wd := SourceDir
	if dir != "" && dir != "." {
		name += ":" + dir
		wd = SourceDir + "/" + dir
	}
	return Step{
		Name: name, Tool: tool, Version: t.Version, Image: t.Image,
		Workdir: wd, Timeout: opts.timeout(def),
	}
}

// skipTarget records why a tool does not run on one target of the source.
func skipTarget(stage, tool, target, why string) Plan {
	p := skip(stage, tool, why)
	p.Target = target
	return p
}

// goStep is the step of a Go analyser for one module: in its folder, with
// the Go toolchain's caches and the environment the module needs. Its
// default timeout grows with the module (GoTimeout).
func goStep(stage, tool string, m GoModule, opts Options) Step {
	st := toolStep(stage, tool, m.Dir, opts, GoTimeout(len(m.Packages)))
	st.UsesGo, st.Env = true, m.GoEnv()
	st.MemoryMB = GoMemoryMB(len(m.Packages))
	st.Reads, st.ReadsExcept = m.Reads, m.ReadsExcept
	return st
}

// GoMemoryMB estimates what a Go analyser holds on a module of n packages:
// it loads and type-checks them all (and govulncheck builds their call
// graph). 256 MB and 32 MB a package: a 350-package module, about 11 GB,
// as govulncheck took on one.
func GoMemoryMB(n int) int64 { return 256 + 32*int64(n) }

// GoTimeout is a Go analyser's default timeout for a module of n packages:
// 15 minutes, and 10 seconds more a package (a cold build cache compiles
// every one), at most 3 hours. A policy timeout replaces it.
func GoTimeout(n int) time.Duration {
	return min(15*time.Minute+time.Duration(n)*10*time.Second, 3*time.Hour)
}

// inDir makes a parser's paths, relative to a sub-folder the tool ran in,
// relative to the source again. A path that leaves the source (a Go module
// replaced by a folder outside it) is reported at the folder's go.mod.
func inDir(dir string, fs []findings.Finding, err error) ([]findings.Finding, error) {
	if err != nil {
		return fs, err
	}
	for i := range fs {
		l := &fs[i].Location
		if l.Path == "" {
			continue
		}
		if l.Manifest != "" {
			l.Manifest = path.Join(dir, l.Manifest)
		}
		p := path.Join(dir, l.Path)
		if _, err := CleanRel(p); err != nil {
			p, l.Line, l.EndLine, l.Column, l.EndColumn = path.Join(dir, "go.mod"), 0, 0, 0, 0
		}
		l.Path = p
	}
	findings.AssignFingerprints(fs)
	return fs, nil
}

func planSAST(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	c := newChooser(SAST, opts, probe)
	var plans []Plan
	for _, tool := range c.tools {
		switch tool {
		case "gosec":
			mods, err := c.need(ctx, &plans, tool, "no Go module (go.mod) in the source", goModPatterns...)
			if err != nil {
				return nil, err
			}
			if mods == nil {
				continue
			}
			layout, err := FindGoModules(ctx, probe)
			if err != nil {
				return nil, fmt.Errorf("stage %s: %w", SAST, err)
			}
			for _, m := range layout.Modules {
				if len(m.Packages) == 0 {
					plans = append(plans, skipTarget(SAST, tool, m.Dir, m.Empty))
					continue
				}
				dir := m.Dir
				st := goStep(SAST, tool, m, opts)
				st.Argv = GosecArgv(OutputDir+"/gosec.json", m.GoPatterns()...)
				st.Report = "gosec.json"
				st.OKCodes, st.FindingCodes = GosecOKCodes, GosecFindingCodes
				plans = append(plans, Plan{Stage: SAST, Tool: tool, Step: st, Target: dir,
					ParseIn: func(report []byte, workdir string) ([]findings.Finding, error) {
						fs, err := ParseGosecIn(report, workdir)
						return inDir(dir, fs, err)
					}})
			}
		case "bandit":
			py, err := c.need(ctx, &plans, tool, "no Python files in the source", pythonPatterns...)
			if err != nil {
				return nil, err
			}
			if py == nil {
				continue
			}
			st := toolStep(SAST, tool, ".", opts, 15*time.Minute)
			st.Argv = BanditArgv(OutputDir + "/bandit.json")
			st.Report = "bandit.json"
			st.OKCodes, st.FindingCodes = BanditOKCodes, BanditFindingCodes
			plans = append(plans, Plan{Stage: SAST, Tool: tool, Step: st, Parse: ParseBandit})
		case "semgrep":
			src, err := c.need(ctx, &plans, tool, "no source files semgrep reads", sourcePatterns...)
			if err != nil {
				return nil, err
			}
			if src == nil {
				continue
			}
			st := toolStep(SAST, tool, ".", opts, 20*time.Minute)
			st.Argv, err = semgrepArgv(opts.Rulesets)
			if err != nil {
				return nil, err
			}
			st.Report = SemgrepReportFile
			st.OKCodes = []int{0}
			st.DBRefresh = opts.dbRefresh() // registry rulesets change upstream
			plans = append(plans, Plan{Stage: SAST, Tool: tool, Step: st, Parse: ParseSemgrep})
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", SAST, tool)
		}
	}
	return plans, nil
}

// DefaultRulesets are the semgrep rulesets used when the policy names none.
var DefaultRulesets = []string{"p/owasp-top-ten", "p/python", "p/jwt", "p/sql-injection"}

func semgrepArgv(rulesets []string) ([]string, error) {
	if len(rulesets) == 0 {
		rulesets = DefaultRulesets
	}
	argv := []string{"semgrep", "scan", "--sarif", "--output", OutputDir + "/semgrep.sarif",
		"--metrics", "off", "--disable-version-check", "--quiet", "--timeout", "120"}
	for _, r := range rulesets {
		if !strings.HasPrefix(r, "p/") && !strings.HasPrefix(r, "r/") && !strings.HasPrefix(r, "s/") {
			rel, err := CleanRel(r)
			if err != nil {
				return nil, fmt.Errorf("stage %s: ruleset %w", SAST, err)
			}
			r = SourceDir + "/" + rel
		}
		argv = append(argv, "--config", r)
	}
	return append(argv, "."), nil
}

func planSCA(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	c := newChooser(SCA, opts, probe)
	var plans []Plan
	for _, tool := range c.tools {
		switch tool {
		case "govulncheck":
			mods, err := c.need(ctx, &plans, tool, "no Go module (go.mod) in the source", goModPatterns...)
			if err != nil {
				return nil, err
			}
			if mods == nil {
				continue
			}
			db := ""
			switch {
			case opts.VulnDB != "":
				db = DBDir + "/" + VulnDBGovulncheck
			case opts.Offline && !c.explicit:
				plans = append(plans, skip(SCA, tool, "no local Go vulnerability database and no network (run `dagsec tools install vulndb`)"))
				continue
			}
			unreachable := opts.UnreachableSeverity
			layout, err := FindGoModules(ctx, probe)
			if err != nil {
				return nil, fmt.Errorf("stage %s: %w", SCA, err)
			}
			local := layout.Dirs()
			for _, m := range layout.Modules {
				if len(m.Packages) == 0 {
					plans = append(plans, skipTarget(SCA, tool, m.Dir, m.Empty))
					continue
				}
				dir := m.Dir
				st := goStep(SCA, tool, m, opts)
				st.Argv = GovulncheckArgv(OutputDir+"/govulncheck.json", db, m.GoPatterns()...)
				st.Report = "govulncheck.json"
				st.StdoutReport = govulncheckStdout
				st.OKCodes, st.FindingCodes = GovulncheckOKCodes, GovulncheckFindingCodes
				st.DB = db != ""
				if db == "" {
					st.DBRefresh = opts.dbRefresh() // the online database changes daily
				}
				plans = append(plans, Plan{Stage: SCA, Tool: tool, Step: st, Target: dir,
					Parse: func(report []byte) ([]findings.Finding, error) {
						fs, _, err := ParseGovulncheckFor(report, unreachable, dir, local)
						return fs, err
					},
					Database: func(report, _ []byte) string {
						_, info, err := ParseGovulncheck(report, unreachable)
						if text := dbText(info.Name, info.Version, err); text != "" && info.GoVersion != "" {
							// Which standard library the stdlib findings are about.
							return text + "; standard library of " + info.GoVersion
						}
						return dbText(info.Name, info.Version, err)
					}})
			}
		case "osv-scanner":
			locks, err := c.need(ctx, &plans, tool, "no dependency manifest or lockfile in the source", lockPatterns...)
			if err != nil {
				return nil, err
			}
			if locks == nil {
				continue
			}
			st := toolStep(SCA, tool, ".", opts, 15*time.Minute)
			report := OutputDir + "/osv-scanner.json"
			var covers []string // the lockfiles it is given; nil: the whole source
			switch {
			case opts.VulnDB != "":
				// The local database holds Go alone, and osv-scanner fails
				// outright on an ecosystem it has no database for: scan the
				// Go modules and say which manifests were left out.
				goMods, others := splitGoMods(locks)
				if len(others) > 0 {
					p := skip(SCA, tool, "the offline database holds Go only; not checked: "+strings.Join(others, ", "))
					p.CoversOnly = others
					plans = append(plans, p)
				}
				if len(goMods) == 0 {
					continue
				}
				st.Argv = OSVScannerLockfilesArgv(report, DBDir+"/"+VulnDBOSVScanner, true, goMods)
				st.Reads, covers = goMods, goMods
				st.DB = true
			case opts.Offline && !c.explicit:
				plans = append(plans, skip(SCA, tool, "no local OSV database and no network (run `dagsec tools install vulndb`)"))
				continue
			default:
				// Online: the databases live in a cache volume, refreshed once
				// per DBRefresh by the update step; the scan itself is offline.
				dbPath := CacheDir + "/osv-scanner"
				st.Caches = []string{"osv-scanner"}
				st.Argv = OSVScannerArgv(report, dbPath, true)
				st.DBUpdate = osvScannerUpdateArgv(dbPath)
				st.DBInfo = osvScannerDBInfoArgv(dbPath)
				st.DBUpdateOKCodes = append(slices.Clone(OSVScannerOKCodes), OSVScannerFindingCodes...) // it scans while it downloads
				st.DBRefresh = opts.dbRefresh()
			}
			st.Report = "osv-scanner.json"
			st.OKCodes, st.FindingCodes = OSVScannerOKCodes, OSVScannerFindingCodes
			// --offline-vulnerabilities --no-resolve: local databases only
			// (the update step, when there is one, fetches them).
			st.NoNetwork = true
			plans = append(plans, Plan{Stage: SCA, Tool: tool, Step: st, CoversOnly: covers,
				ParseIn: func(report []byte, workdir string) ([]findings.Finding, error) {
					fs, _, err := ParseOSVScannerIn(report, workdir)
					return fs, err
				},
				Database: func(_, dbInfo []byte) string {
					// osv-scanner's report never names its database.
					if st.DB {
						return strings.TrimSpace("local " + opts.VulnDBName)
					}
					return osvScannerDatabase(dbInfo)
				}})
		case "trivy":
			locks, err := c.need(ctx, &plans, tool, "no dependency manifest or lockfile in the source", lockPatterns...)
			if err != nil {
				return nil, err
			}
			if locks == nil {
				continue
			}
			if opts.Offline && !c.explicit {
				plans = append(plans, skip(SCA, tool, "trivy's vulnerability database cannot be downloaded offline"))
				continue
			}
			st := toolStep(SCA, tool, ".", opts, 20*time.Minute)
			cache := CacheDir + "/trivy"
			st.Caches = []string{"trivy"}
			st.Argv = TrivyFSVulnArgv(OutputDir+"/trivy.json", cache, true)
			st.NoNetwork = true // the update step fetches the databases
			st.DBUpdate = trivyUpdateArgv(cache)
			st.DBInfo = []string{"trivy", "version", "--cache-dir", cache, "--format", "json"}
			st.DBRefresh = opts.dbRefresh()
			st.Report = "trivy.json"
			st.OKCodes, st.FindingCodes = TrivyOKCodes, TrivyFindingCodes
			plans = append(plans, Plan{Stage: SCA, Tool: tool, Step: st,
				Parse: func(report []byte) ([]findings.Finding, error) {
					fs, _, err := ParseTrivy(report, SCA)
					return fs, err
				},
				Database: TrivyDatabase})
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", SCA, tool)
		}
	}
	return plans, nil
}

func (o Options) dbRefresh() time.Duration {
	if o.DBRefresh > 0 {
		return o.DBRefresh
	}
	return 24 * time.Hour
}

func dbText(name, version string, err error) string {
	if err != nil {
		return ""
	}
	return strings.TrimSpace(name + " " + version)
}

// splitGoMods separates go.mod files from other manifests.
func splitGoMods(files []string) (goMods, others []string) {
	for _, f := range files {
		if path.Base(f) == "go.mod" {
			goMods = append(goMods, f)
		} else {
			others = append(others, f)
		}
	}
	return goMods, others
}

// TrivyDatabase names the vulnerability database from `trivy version
// --format json`, else says what the report alone tells.
func TrivyDatabase(report, dbInfo []byte) string {
	var v struct {
		VulnerabilityDB *struct {
			Version   int
			UpdatedAt time.Time
		}
	}
	if json.Unmarshal(dbInfo, &v) == nil && v.VulnerabilityDB != nil && v.VulnerabilityDB.Version > 0 {
		return fmt.Sprintf("trivy-db v%d, updated %s", v.VulnerabilityDB.Version, v.VulnerabilityDB.UpdatedAt.UTC().Format(time.RFC3339))
	}
	_, db, err := ParseTrivy(report, SCA)
	if err != nil {
		return ""
	}
	return db.String()
}

// osvScannerUpdateArgv downloads the offline databases of the ecosystems the
// source uses into dbPath.
func osvScannerUpdateArgv(dbPath string) []string {
	return []string{"osv-scanner", "scan", "source", "--offline-vulnerabilities", "--download-offline-databases",
		"--local-db-path", dbPath, "--no-call-analysis=all", "--format", "json", "--output-file", "/dev/null", "--recursive", "."}
}

// osvScannerDBInfoArgv prints each offline database osv-scanner downloaded
// with the time it was written: osv.dev's zips carry no version of their own.
func osvScannerDBInfoArgv(dbPath string) []string {
	return []string{"sh", "-c", `cd "$1/osv-scalibr" && for f in */all.zip; do echo "$f $(date -u -r "$f" +%Y-%m-%dT%H:%M:%SZ)"; done`, "sh", dbPath}
}

// osvScannerDatabase names osv-scanner's downloaded databases and when they
// were fetched, from osvScannerDBInfoArgv's output.
func osvScannerDatabase(dbInfo []byte) string {
	var parts []string
	for _, line := range strings.Split(strings.TrimSpace(string(dbInfo)), "\n") {
		name, when, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.HasSuffix(name, "/all.zip") {
			continue
		}
		parts = append(parts, strings.TrimSuffix(name, "/all.zip")+" "+when)
	}
	if len(parts) == 0 {
		return "osv.dev offline databases (download time unknown)"
	}
	return "osv.dev offline databases: " + strings.Join(parts, ", ")
}

// trivyUpdateArgv downloads trivy's vulnerability database into cache.
func trivyUpdateArgv(cache string) []string {
	return []string{"trivy", "fs", "--download-db-only", "--cache-dir", cache, "--quiet", "--no-progress",
		"--skip-version-check", "--disable-telemetry", "."}
}

func planLicenses(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	c := newChooser(Licenses, opts, probe)
	var plans []Plan
	for _, tool := range c.tools {
		if why := c.available(ctx, tool); why != "" {
			plans = append(plans, unavailable(Licenses, tool, why))
			continue
		}
		switch tool {
		case "syft":
			st := toolStep(Licenses, tool, ".", opts, 15*time.Minute)
			st.Argv = SyftArgv(OutputDir+"/"+SBOMCycloneDX, OutputDir+"/"+SBOMSPDX)
			st.Env = SyftEnv()
			st.Inputs = SyftInputs()
			st.Report = SBOMCycloneDX
			st.Artifacts = []string{SBOMCycloneDX, SBOMSPDX}
			st.OKCodes = SyftOKCodes
			if err := withGoModCache(ctx, &st, opts, probe); err != nil {
				return nil, fmt.Errorf("stage %s: %w", Licenses, err)
			}
			lp := opts.Licenses
			plans = append(plans, Plan{Stage: Licenses, Tool: tool, Step: st,
				Parse: func(report []byte) ([]findings.Finding, error) { return EvaluateLicenses(report, lp) }})
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", Licenses, tool)
		}
	}
	return plans, nil
}

// iacFiles finds Terraform files and, when there are none, the first YAML
// or JSON file that is IaC (a Helm chart, a Kubernetes manifest or a
// CloudFormation template). The planners only ask whether there is any, so
// manifests are read only while none has been found.
func iacFiles(ctx context.Context, probe Probe) (tf, other []string, err error) {
	tf, err = FindFiles(ctx, probe, terraformPatterns...)
	if err != nil || len(tf) > 0 {
		return tf, nil, err
	}
	cands, err := FindFiles(ctx, probe, iacPatterns...)
	if err != nil {
		return nil, nil, err
	}
	for i, f := range cands {
		if i >= maxProbeFiles {
			break
		}
		if path.Base(f) == "Chart.yaml" {
			return nil, []string{f}, nil
		}
		data, err := probe.ReadFile(ctx, f)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", f, err)
		}
		if looksLikeIaC(data) {
			return nil, []string{f}, nil
		}
	}
	return nil, nil, nil
}

// looksLikeIaC spots Kubernetes manifests and CloudFormation templates.
func looksLikeIaC(data []byte) bool {
	s := string(data[:min(len(data), 64<<10)])
	k8s := strings.Contains(s, "apiVersion") && strings.Contains(s, "kind")
	cfn := strings.Contains(s, "AWSTemplateFormatVersion") || (strings.Contains(s, "Resources") && strings.Contains(s, "AWS::"))
	return k8s || cfn
}

// trivyConfigEnv keeps trivy config's remote Terraform module fetches
// (which v0.74 cannot turn off) from waiting on a git prompt.
var trivyConfigEnv = map[string]string{"GIT_TERMINAL_PROMPT": "0"}

// trivySkipping adds the folders no stage scans (see Skipped) to a trivy
// argv whose last element is the scanned folder.
func trivySkipping(argv []string) []string {
	out := slices.Clone(argv[:len(argv)-1])
	for _, d := range skippedDirs {
		out = append(out, "--skip-dirs", "**/"+d)
	}
	return append(out, argv[len(argv)-1])
}

// iacScanners are trivy's misconfiguration scanners for the iac stage;
// Dockerfiles belong to the dockerfile stage.
var iacScanners = []string{"terraform", "cloudformation", "kubernetes", "helm", "azure-arm"}

// trivyConfigShare is the Step.Share of the one `trivy config` run that
// serves both iac and dockerfile when the source has files for both.
const trivyConfigShare = "trivy-config"

// trivyConfigStep is trivy config for stage (iac, or dockerfile). When the
// source has both IaC files and Dockerfiles the two stages get the same
// step, shared: one run with every misconfiguration scanner, whose report
// each stage reads its own part of (trivyConfigParse).
func trivyConfigStep(ctx context.Context, stage string, opts Options, probe Probe) (Step, error) {
	scanners, share := []string{"dockerfile"}, ""
	var other []string
	if stage == IaC {
		scanners = iacScanners
		var err error
		if other, err = FindFiles(ctx, probe, DockerfilePatterns...); err != nil {
			return Step{}, fmt.Errorf("stage %s: %w", stage, err)
		}
	} else {
		tf, cands, err := iacFiles(ctx, probe)
		if err != nil {
			return Step{}, fmt.Errorf("stage %s: %w", stage, err)
		}
		other = append(tf, cands...)
	}
	if len(other) > 0 {
		scanners, share = append(slices.Clone(iacScanners), "dockerfile"), trivyConfigShare
	}
	st := toolStep(stage, "trivy", ".", opts, 15*time.Minute)
	st.Argv = trivySkipping(TrivyConfigArgv(OutputDir+"/trivy.json", scanners))
	st.NoNetwork = true // the checks bundle in its cache, or built in
	st.Env = maps.Clone(trivyConfigEnv)
	st.Report = "trivy.json"
	st.OKCodes, st.FindingCodes = TrivyOKCodes, TrivyFindingCodes
	st.Share = share
	return st, nil
}

// trivyConfigParse reads a trivy config report for stage: the Dockerfile
// checks for dockerfile, the others for iac.
func trivyConfigParse(stage string) func([]byte) ([]findings.Finding, error) {
	return func(report []byte) ([]findings.Finding, error) {
		fs, _, err := ParseTrivy(report, stage)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(fs, func(f findings.Finding) bool {
			return slices.Contains(f.Tags, "dockerfile") != (stage == Dockerfile)
		}), nil
	}
}

func planIaC(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	c := newChooser(IaC, opts, probe)
	tf, other, err := iacFiles(ctx, probe)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", IaC, err)
	}
	var plans []Plan
	for _, tool := range c.tools {
		switch tool {
		case "trivy":
			if p := c.gate(ctx, tool, append(slices.Clone(tf), other...), "no Terraform, Kubernetes, Helm or CloudFormation files"); p != nil {
				plans = append(plans, *p)
				continue
			}
			st, err := trivyConfigStep(ctx, IaC, opts, probe)
			if err != nil {
				return nil, err
			}
			plans = append(plans, Plan{Stage: IaC, Tool: tool, Step: st, Parse: trivyConfigParse(IaC)})
		case "checkov":
			if p := c.gate(ctx, tool, append(slices.Clone(tf), other...), "no Terraform, Kubernetes, Helm or CloudFormation files"); p != nil {
				plans = append(plans, *p)
				continue
			}
			st := toolStep(IaC, tool, ".", opts, 20*time.Minute)
			st.Argv, st.Report = checkovArgv()
			st.OKCodes = []int{0}
			plans = append(plans, Plan{Stage: IaC, Tool: tool, Step: st, Parse: ParseCheckov})
		case "tfsec":
			if p := c.gate(ctx, tool, tf, "no Terraform files"); p != nil {
				plans = append(plans, *p)
				continue
			}
			st := toolStep(IaC, tool, ".", opts, 15*time.Minute)
			st.Argv = TfsecArgv(OutputDir + "/tfsec.json")
			st.Report = "tfsec.json"
			st.OKCodes, st.FindingCodes = TfsecOKCodes, TfsecFindingCodes
			plans = append(plans, Plan{Stage: IaC, Tool: tool, Step: st, ParseIn: ParseTfsec})
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", IaC, tool)
		}
	}
	return plans, nil
}

func planDockerfile(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	c := newChooser(Dockerfile, opts, probe)
	files, err := FindFiles(ctx, probe, DockerfilePatterns...)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", Dockerfile, err)
	}
	var plans []Plan
	for _, tool := range c.tools {
		if len(files) == 0 {
			plans = append(plans, skip(Dockerfile, tool, "no Dockerfile in the source"))
			continue
		}
		if tool == HardeningTool {
			plans = append(plans, Plan{Stage: Dockerfile, Tool: tool, Inline: func(ctx context.Context, probe Probe) ([]findings.Finding, error) {
				var all []findings.Finding
				for _, f := range files {
					data, err := probe.ReadFile(ctx, f)
					if err != nil {
						return nil, fmt.Errorf("reading %s: %w", f, err)
					}
					fs, err := CheckDockerfile(f, data)
					if err != nil {
						return nil, err
					}
					all = append(all, fs...)
				}
				return all, nil
			}})
			continue
		}
		if why := c.available(ctx, tool); why != "" {
			plans = append(plans, unavailable(Dockerfile, tool, why))
			continue
		}
		switch tool {
		case "hadolint":
			st := toolStep(Dockerfile, tool, ".", opts, 10*time.Minute)
			st.Argv = append(hadolintArgv(), files...)
			st.Reads = files
			st.Report = HadolintReportFile
			st.StdoutReport = true
			st.OKCodes = []int{0}
			plans = append(plans, Plan{Stage: Dockerfile, Tool: tool, Step: st, Parse: ParseHadolint})
		case "trivy":
			st, err := trivyConfigStep(ctx, Dockerfile, opts, probe)
			if err != nil {
				return nil, err
			}
			plans = append(plans, Plan{Stage: Dockerfile, Tool: tool, Step: st, Parse: trivyConfigParse(Dockerfile)})
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", Dockerfile, tool)
		}
	}
	return plans, nil
}

// checkovArgv scans the working folder; checkov names the report file itself.
func checkovArgv() (argv []string, report string) {
	return []string{"checkov", "--directory", ".", "--output", CheckovReportFormat, "--output-file-path", OutputDir,
		"--framework", "terraform,cloudformation,kubernetes,helm", "--soft-fail", "--quiet", "--skip-download"}, CheckovReportFile
}

// hadolintArgv prints JSON on stdout for the Dockerfiles appended to it;
// --no-fail keeps exit 1 for hadolint's own failures.
func hadolintArgv() []string {
	return []string{"hadolint", "--format", HadolintReportFormat, "--no-fail", "--no-color"}
}
