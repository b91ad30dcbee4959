package stages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/samples"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// dbLastModified is what govulncheck reports for the pinned local database:
// EnsureVulnDB stamps it with the vulndb commit time.
const dbLastModified = "2026-11-05T23:49:57Z"

func TestGovulncheckArgv(t *testing.T) {
	got := stages.GovulncheckArgv(stages.OutputDir+"/govulncheck.json", "")
	want := []string{"govulncheck", "-format", "json", "-scan", "symbol", "./..."}
	if !slices.Equal(got, want) {
		t.Errorf("online argv %q, want %q", got, want)
	}
	got = stages.GovulncheckArgv(stages.OutputDir+"/govulncheck.json", stages.DBDir+"/"+stages.VulnDBGovulncheck)
	want = []string{"govulncheck", "-format", "json", "-scan", "symbol", "-db", "file://${DAGSEC_DB}/govulncheck", "./..."}
	if !slices.Equal(got, want) {
		t.Errorf("local argv %q, want %q", got, want)
	}
	// v1.9.0 cannot write a file: the report is stdout, captured by the runner.
	for _, a := range got {
		if strings.Contains(a, "govulncheck.json") {
			t.Errorf("argv names the report file: %q", got)
		}
	}
	if !slices.Equal(stages.GovulncheckOKCodes, []int{0}) || len(stages.GovulncheckFindingCodes) != 0 {
		t.Errorf("exit codes %v / %v", stages.GovulncheckOKCodes, stages.GovulncheckFindingCodes)
	}
}

// gvEnv is all govulncheck needs to scan offline: go on PATH (it runs
// `go list`; goBinDir is the toolchain's bin folder), a module cache already
// holding the dependencies, a build cache, a HOME (telemetry settings), the
// proxy off and GOTOOLCHAIN=local, so the go on PATH is the one used.
func gvEnv(t *testing.T, goBinDir string) []string {
	return []string{
		"PATH=" + goBinDir + ":/usr/bin:/bin",
		"HOME=" + t.TempDir(),
		"GOMODCACHE=" + vulnGoEnv(t, "GOMODCACHE"),
		"GOCACHE=" + vulnGoEnv(t, "GOCACHE"),
		"GOPROXY=off",
		"GOFLAGS=",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	}
}

// gvGoBinDir is the bin folder of the go on PATH.
func gvGoBinDir(t *testing.T) string {
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(p)
}

// gvRun scans dir with the pinned local database and returns the
// JSON stream it printed.
func gvRun(t *testing.T, bin, dir string, env []string) []byte {
	t.Helper()
	argv := stages.GovulncheckArgv("govulncheck.json", filepath.Join(vulnDBDir(t), stages.VulnDBGovulncheck))
	res := testenv.Exec(t, bin, dir, argv, env, 10*time.Minute)
	if !slices.Contains(stages.GovulncheckOKCodes, res.Code) {
		t.Fatalf("govulncheck exited %d:\n%s", res.Code, res.Stderr)
	}
	return res.Stdout
}

func gvParse(t *testing.T, report []byte, unreachable findings.Severity) ([]findings.Finding, stages.DBInfo) {
	t.Helper()
	fs, info, err := stages.ParseGovulncheck(report, unreachable)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if err := f.Validate(); err != nil || f.Fingerprint == "" || f.Stage != stages.SCA || f.Tool != "govulncheck" {
			t.Errorf("bad finding %+v: %v", f, err)
		}
	}
	return fs, info
}

// gvByRule finds the single finding of a rule (for a module, by message).
func gvByRule(t *testing.T, fs []findings.Finding, rule, module string) findings.Finding {
	t.Helper()
	var hits []findings.Finding
	for _, f := range fs {
		if f.RuleID == rule && strings.HasPrefix(f.Message, module+"@") {
			hits = append(hits, f)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("%d findings for %s in %s, want one: %+v", len(hits), rule, module, hits)
	}
	return hits[0]
}

func vulnHasTags(f findings.Finding, tags ...string) bool {
	for _, tag := range tags {
		if !slices.Contains(f.Tags, tag) {
			return false
		}
	}
	return true
}

// gvCheckCalled holds for the called module, from the real tool or its sample.
func gvCheckCalled(t *testing.T, fs []findings.Finding) {
	f := gvByRule(t, fs, "GO-2021-0113", "golang.org/x/text")
	if f.Severity != findings.SeverityHigh || !vulnHasTags(f, "reachable", "called", "CVE-2021-38561", "GHSA-ppp9-7jff-5vj2") || slices.Contains(f.Tags, "unreachable") {
		t.Errorf("GO-2021-0113: severity %s tags %v", f.Severity, f.Tags)
	}
	if f.Location.Path != "main.go" || f.Location.Line != 10 {
		t.Errorf("GO-2021-0113 at %+v, want the call in main.go:10", f.Location)
	}
	for _, s := range []string{"golang.org/x/text@v0.3.0", "Fixed in v0.3.7", "golang.org/x/text/language.Parse", "CVE-2021-38561", "Out-of-bounds read"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("GO-2021-0113 message %q lacks %q", f.Message, s)
		}
	}
	if f.RuleName != "Out-of-bounds read in golang.org/x/text/language" || f.HelpURI != "https://pkg.go.dev/vuln/GO-2021-0113" {
		t.Errorf("GO-2021-0113 rule name %q, help %q", f.RuleName, f.HelpURI)
	}
	// Same module, other vulnerabilities: language is imported for
	// GO-2022-1059 (ParseAcceptLanguage, not called); encoding/unicode of
	// GO-2020-0015 is not even imported.
	imp := gvByRule(t, fs, "GO-2022-1059", "golang.org/x/text")
	if imp.Severity != findings.SeverityLow || !vulnHasTags(imp, "unreachable", "imported") || imp.Location.Path != "go.mod" {
		t.Errorf("GO-2022-1059: %s %v %+v", imp.Severity, imp.Tags, imp.Location)
	}
	req := gvByRule(t, fs, "GO-2020-0015", "golang.org/x/text")
	if req.Severity != findings.SeverityLow || !vulnHasTags(req, "unreachable", "required") || req.Location.Path != "go.mod" {
		t.Errorf("GO-2020-0015: %s %v %+v", req.Severity, req.Tags, req.Location)
	}
	for _, f := range fs {
		if f.Severity == findings.SeverityHigh && f.RuleID != "GO-2021-0113" {
			t.Errorf("unexpected reachable finding %s: %s", f.RuleID, f.Message)
		}
	}
	gvCheckOnePerVuln(t, fs)
}

// gvCheckImported holds for the module that imports language but calls none
// of its vulnerable functions.
func gvCheckImported(t *testing.T, fs []findings.Finding, unreachable findings.Severity) {
	f := gvByRule(t, fs, "GO-2021-0113", "golang.org/x/text")
	if f.Severity != unreachable || !vulnHasTags(f, "unreachable", "imported", "CVE-2021-38561") || slices.Contains(f.Tags, "reachable") {
		t.Errorf("GO-2021-0113: severity %s tags %v", f.Severity, f.Tags)
	}
	if f.Location != (findings.Location{Path: "go.mod"}) {
		t.Errorf("GO-2021-0113 at %+v, want go.mod", f.Location)
	}
	if !strings.Contains(f.Message, "golang.org/x/text/language is imported") {
		t.Errorf("message %q", f.Message)
	}
	for _, f := range fs {
		if f.Severity != unreachable || !slices.Contains(f.Tags, "unreachable") {
			t.Errorf("%s: severity %s tags %v, want every finding unreachable", f.RuleID, f.Severity, f.Tags)
		}
	}
	gvCheckOnePerVuln(t, fs)
}

// gvCheckStdlibOnly holds for the fmt-only module under go1.26.8: the
// standard library has vulnerabilities fixed in 1.26.9 and 1.26.10, none
// of them reachable from fmt.Println.
func gvCheckStdlibOnly(t *testing.T, fs []findings.Finding) {
	if len(fs) == 0 {
		t.Fatal("no findings: go1.26.8's standard library has known vulnerabilities in this database")
	}
	for _, f := range fs {
		if !strings.HasPrefix(f.Message, "stdlib@v1.26.8 ") || !vulnHasTags(f, "stdlib", "unreachable") || f.Severity != findings.SeverityLow {
			t.Errorf("%s: %s %v %q", f.RuleID, f.Severity, f.Tags, f.Message)
		}
	}
	gvCheckOnePerVuln(t, fs)
}

// gvCheckOnePerVuln: govulncheck repeats a vulnerability for each level and
// trace; dagsec keeps one finding per OSV entry and module.
func gvCheckOnePerVuln(t *testing.T, fs []findings.Finding) {
	seen := map[string]bool{}
	for _, f := range fs {
		key := f.RuleID + " " + strings.SplitN(f.Message, "@", 2)[0]
		if seen[key] {
			t.Errorf("two findings for %s", key)
		}
		seen[key] = true
		if strings.Contains(f.Fingerprint, ":") {
			t.Errorf("%s: fingerprint collision %s", f.RuleID, f.Fingerprint)
		}
	}
}

func TestGovulncheckFindsCalledVulnerability(t *testing.T) {
	t.Parallel()
	bin := testenv.Tool(t, "govulncheck")
	dir := vulnPlantModule(t, vulnCalledModule())
	report := gvRun(t, bin, dir, gvEnv(t, gvGoBinDir(t)))
	fs, info := gvParse(t, report, 0)
	gvCheckCalled(t, fs)
	wantDB := "file://" + filepath.Join(vulnDBDir(t), stages.VulnDBGovulncheck)
	if info.Name != wantDB || info.Version != dbLastModified {
		t.Errorf("DBInfo %+v, want %s %s", info, wantDB, dbLastModified)
	}
}

func TestGovulncheckImportedButNotCalledIsUnreachable(t *testing.T) {
	t.Parallel()
	bin := testenv.Tool(t, "govulncheck")
	dir := vulnPlantModule(t, vulnImportedModule())
	report := gvRun(t, bin, dir, gvEnv(t, gvGoBinDir(t)))
	fs, _ := gvParse(t, report, 0)
	gvCheckImported(t, fs, findings.SeverityLow)
	// The policy's severity for unreachable findings applies to all of them.
	fs, _ = gvParse(t, report, findings.SeverityMedium)
	gvCheckImported(t, fs, findings.SeverityMedium)
}

func TestGovulncheckCleanModule(t *testing.T) {
	t.Parallel()
	dir := vulnPlantModule(t, vulnCleanModule())

	// With the toolchain here (go1.26.8) only the standard library's own,
	// unreachable vulnerabilities remain.
	report := gvRun(t, testenv.Tool(t, "govulncheck"), dir, gvEnv(t, gvGoBinDir(t)))
	fs, _ := gvParse(t, report, 0)
	gvCheckStdlibOnly(t, fs)

	// With go1.27.3, which has every standard library fix of this database,
	// the module is clean. govulncheck must be built with at least the Go
	// version it analyses (go1.26.8's go/types fails on go1.27.3's
	// internal/poll), so this run uses a govulncheck built with go1.27.3.
	gv127 := gvGo1273(t)
	// The go1.27.3 toolchain, from the Go module proxy (once), run directly.
	fetch := exec.Command("go", "env", "GOROOT")
	fetch.Dir = dir
	fetch.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3")
	out, err := fetch.Output()
	if err != nil {
		t.Fatalf("go1.27.3 toolchain: %v", err)
	}
	goroot127 := strings.TrimSpace(string(out))
	report = gvRun(t, gv127, dir, gvEnv(t, filepath.Join(goroot127, "bin")))
	fs, info := gvParse(t, report, 0)
	if len(fs) != 0 {
		t.Errorf("clean module under go1.27.3: %d findings: %+v", len(fs), fs)
	}
	if info.Version != dbLastModified {
		t.Errorf("DBInfo %+v", info)
	}
	if !bytes.Contains(report, []byte(`"go_version": "go1.27.3"`)) {
		t.Errorf("govulncheck did not analyse go1.27.3")
	}
}

// gvGo1273 is the pinned govulncheck built with go1.27.3, kept in
// the shared tools folder under its own name.
func gvGo1273(t *testing.T) string {
	t.Helper()
	gv, _ := stages.LookupTool("govulncheck")
	gv.Name = "govulncheck-go1.27.3"
	gv.BuildEnv = append(slices.Clone(gv.BuildEnv), "GOTOOLCHAIN=go1.27.3")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	inst := &host.Installer{Dir: host.DefaultToolsDir(), Progress: testenv.Installer(t).Progress}
	p, err := inst.Ensure(ctx, gv)
	if err != nil {
		t.Fatalf("govulncheck built with go1.27.3: %v", err)
	}
	return p
}

// Genuine govulncheck v1.9.0 reports of the planted modules (see
// testdata/SOURCES.md).
func TestParseGovulncheckGenuineSamples(t *testing.T) {
	wantDB := "file:///root/.cache/dagsec/tools/vulndb@" + stages.VulnDBVersion + "/govulncheck"
	t.Run("called", func(t *testing.T) {
		fs, info := gvParse(t, samples.Read(t, "govulncheck-v1.9.0-called.json.gz"), 0)
		gvCheckCalled(t, fs)
		// 28 finding messages: 5 x/text and 14 stdlib vulnerabilities.
		if len(fs) != 19 {
			t.Errorf("%d findings, want 19", len(fs))
		}
		if info != (stages.DBInfo{Name: wantDB, Version: dbLastModified, GoVersion: "go1.26.8"}) {
			t.Errorf("DBInfo %+v", info)
		}
	})
	t.Run("imported", func(t *testing.T) {
		report := samples.Read(t, "govulncheck-v1.9.0-imported.json.gz")
		fs, _ := gvParse(t, report, 0)
		gvCheckImported(t, fs, findings.SeverityLow)
		fs, _ = gvParse(t, report, findings.SeverityInfo)
		gvCheckImported(t, fs, findings.SeverityInfo)
	})
	t.Run("stdlib only", func(t *testing.T) {
		fs, _ := gvParse(t, samples.Read(t, "govulncheck-v1.9.0-clean-go1.26.8.json.gz"), 0)
		gvCheckStdlibOnly(t, fs)
		if len(fs) != 14 {
			t.Errorf("%d findings, want 14", len(fs))
		}
		// GO-2026-6604 is in os, which fmt imports: package level.
		f := gvByRule(t, fs, "GO-2026-6604", "stdlib")
		if !vulnHasTags(f, "imported") || !strings.Contains(f.Message, "Package os is imported") {
			t.Errorf("GO-2026-6604: %v %q", f.Tags, f.Message)
		}
	})
	t.Run("clean", func(t *testing.T) {
		fs, info := gvParse(t, samples.Read(t, "govulncheck-v1.9.0-clean-go1.27.3.json.gz"), 0)
		if len(fs) != 0 || fs == nil {
			t.Errorf("clean report: %#v", fs)
		}
		if info.Version != dbLastModified {
			t.Errorf("DBInfo %+v", info)
		}
	})
	t.Run("fingerprints are stable", func(t *testing.T) {
		a, _ := gvParse(t, samples.Read(t, "govulncheck-v1.9.0-called.json.gz"), 0)
		b, _ := gvParse(t, samples.Read(t, "govulncheck-v1.9.0-called.json.gz"), 0)
		if len(a) != len(b) {
			t.Fatal("different lengths")
		}
		for i := range a {
			if a[i].Fingerprint != b[i].Fingerprint || a[i].RuleID != b[i].RuleID {
				t.Errorf("run %d differs: %s/%s", i, a[i].Fingerprint, b[i].Fingerprint)
			}
		}
	})
}

// A small stream cut from the genuine "called" sample.
const gvConfigMsg = `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck","scanner_version":"v1.9.0","db":"file:///db/govulncheck","db_last_modified":"2026-11-05T23:49:57Z","go_version":"go1.26.8","scan_level":"symbol","scan_mode":"source"}}`
const gvSBOMMsg = `{"SBOM":{"go_version":"go1.26.8","modules":[{"path":"example.com/called"},{"path":"golang.org/x/text","version":"v0.3.0"},{"path":"stdlib","version":"v1.26.8"}],"roots":["example.com/called"]}}`
const gvOSVMsg = `{"osv":{"schema_version":"1.3.1","id":"GO-2021-0113","aliases":["CVE-2021-38561","GHSA-ppp9-7jff-5vj2"],"summary":"Out-of-bounds read in golang.org/x/text/language","affected":[{"package":{"name":"golang.org/x/text","ecosystem":"Go"}}],"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2021-0113"}}}`
const gvModuleFinding = `{"finding":{"osv":"GO-2021-0113","fixed_version":"v0.3.7","trace":[{"module":"golang.org/x/text","version":"v0.3.0"}]}}`
const gvPackageFinding = `{"finding":{"osv":"GO-2021-0113","fixed_version":"v0.3.7","trace":[{"module":"golang.org/x/text","version":"v0.3.0","package":"golang.org/x/text/language"}]}}`
const gvSymbolFinding = `{"finding":{"osv":"GO-2021-0113","fixed_version":"v0.3.7","trace":[{"module":"golang.org/x/text","version":"v0.3.0","package":"golang.org/x/text/language","function":"Parse","position":{"filename":"language/parse.go","offset":5808,"line":228,"column":6}},{"module":"example.com/called","package":"example.com/called","function":"main","position":{"filename":"main.go","offset":105,"line":10,"column":28}}]}}`
const gvProgressMsg = `{"progress":{"message":"Checking the code against the vulnerabilities..."}}`

func gvStream(msgs ...string) []byte { return []byte(strings.Join(msgs, "\n") + "\n") }

func TestParseGovulncheckSmallStreams(t *testing.T) {
	t.Run("levels merge into one finding", func(t *testing.T) {
		fs, info := gvParse(t, gvStream(gvConfigMsg, gvSBOMMsg, gvProgressMsg, gvOSVMsg, gvModuleFinding, gvPackageFinding, gvSymbolFinding, gvSymbolFinding), 0)
		if len(fs) != 1 || fs[0].Severity != findings.SeverityHigh || fs[0].Location.Path != "main.go" {
			t.Fatalf("%+v", fs)
		}
		if info != (stages.DBInfo{Name: "file:///db/govulncheck", Version: "2026-11-05T23:49:57Z", GoVersion: "go1.26.8"}) {
			t.Errorf("DBInfo %+v", info)
		}
	})
	t.Run("order does not matter", func(t *testing.T) {
		a, _ := gvParse(t, gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, gvSymbolFinding, gvModuleFinding), 0)
		b, _ := gvParse(t, gvStream(gvConfigMsg, gvSymbolFinding, gvOSVMsg, gvSBOMMsg, gvPackageFinding), 0)
		if len(a) != 1 || len(b) != 1 || a[0].Fingerprint != b[0].Fingerprint || a[0].Severity != b[0].Severity {
			t.Errorf("%+v\n%+v", a, b)
		}
	})
	t.Run("fingerprint keeps across line moves", func(t *testing.T) {
		moved := strings.Replace(gvSymbolFinding, `"line":10`, `"line":42`, 1)
		a, _ := gvParse(t, gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, gvSymbolFinding), 0)
		b, _ := gvParse(t, gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, moved), 0)
		if a[0].Fingerprint != b[0].Fingerprint || b[0].Location.Line != 42 {
			t.Errorf("%+v\n%+v", a[0], b[0])
		}
	})
	t.Run("below symbol level reachability is unknown", func(t *testing.T) {
		cfg := strings.Replace(gvConfigMsg, `"scan_level":"symbol"`, `"scan_level":"package"`, 1)
		fs, _ := gvParse(t, gvStream(cfg, gvSBOMMsg, gvOSVMsg, gvPackageFinding), findings.SeverityLow)
		if len(fs) != 1 || fs[0].Severity != findings.SeverityHigh || !vulnHasTags(fs[0], "reachability-unknown") {
			t.Errorf("%+v", fs)
		}
	})
	t.Run("a clean stream has no findings", func(t *testing.T) {
		fs, _ := gvParse(t, gvStream(gvConfigMsg, gvSBOMMsg, gvProgressMsg, gvOSVMsg, gvProgressMsg), 0)
		if fs == nil || len(fs) != 0 {
			t.Errorf("%#v", fs)
		}
	})
}

func TestParseGovulncheckRejectsBadReports(t *testing.T) {
	genuine := samples.Read(t, "govulncheck-v1.9.0-called.json.gz")
	for name, report := range map[string][]byte{
		"empty":                    nil,
		"blank":                    []byte(" \n\t"),
		"null":                     []byte("null"),
		"array":                    []byte("[]"),
		"not json":                 []byte("govulncheck: loading packages: exit status 1"),
		"empty object":             gvStream(gvConfigMsg, "{}"),
		"no config":                gvStream(gvSBOMMsg, gvOSVMsg, gvSymbolFinding),
		"config not first":         gvStream(gvProgressMsg, gvConfigMsg, gvSBOMMsg),
		"two configs":              gvStream(gvConfigMsg, gvSBOMMsg, gvConfigMsg),
		"two kinds in a message":   []byte(gvConfigMsg[:len(gvConfigMsg)-1] + `,"progress":{"message":"x"}}`),
		"other protocol":           gvStream(strings.Replace(gvConfigMsg, "v1.0.0", "v2.0.0", 1), gvSBOMMsg),
		"finding without osv":      gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, `{"finding":{"trace":[{"module":"m"}]}}`),
		"finding without trace":    gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, `{"finding":{"osv":"GO-2021-0113"}}`),
		"frame without module":     gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, `{"finding":{"osv":"GO-2021-0113","trace":[{"package":"p"}]}}`),
		"null frame":               gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, `{"finding":{"osv":"GO-2021-0113","trace":[{"module":"m"},null]}}`),
		"finding of unknown osv":   gvStream(gvConfigMsg, gvSBOMMsg, gvSymbolFinding),
		"osv without id":           gvStream(gvConfigMsg, gvSBOMMsg, `{"osv":{"summary":"x"}}`),
		"truncated message":        gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, gvSymbolFinding[:80]),
		"truncated genuine":        genuine[:len(genuine)/2],
		"trailing garbage":         append(gvStream(gvConfigMsg, gvSBOMMsg), []byte("exit status 1")...),
		"source scan without SBOM": gvStream(gvConfigMsg, gvProgressMsg),
		"config only, failed run":  []byte(gvConfigMsg),
	} {
		if fs, _, err := stages.ParseGovulncheck(report, 0); err == nil {
			t.Errorf("%s: accepted, %d findings", name, len(fs))
		}
	}
	if _, _, err := stages.ParseGovulncheck(gvStream(gvConfigMsg, gvSBOMMsg), findings.Severity(42)); err == nil {
		t.Error("an invalid unreachable severity was accepted")
	}
}

func FuzzParseGovulncheck(f *testing.F) {
	f.Add(gvStream(gvConfigMsg, gvSBOMMsg, gvProgressMsg, gvOSVMsg, gvModuleFinding, gvPackageFinding, gvSymbolFinding))
	f.Add(gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, gvProgressMsg))
	f.Add(gvStream(gvConfigMsg, gvSBOMMsg, gvOSVMsg, gvPackageFinding))
	f.Add([]byte(gvConfigMsg))
	f.Add([]byte("{}"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, report []byte) {
		for _, sev := range []findings.Severity{0, findings.SeverityMedium} {
			fs, _, err := stages.ParseGovulncheck(report, sev)
			if err != nil {
				continue
			}
			for _, x := range fs {
				if err := x.Validate(); err != nil || x.Fingerprint == "" {
					t.Fatalf("invalid finding %+v: %v", x, err)
				}
				if x.Location.Path == "" || strings.HasPrefix(x.Location.Path, "/") || strings.HasPrefix(x.Location.Path, "../") {
					t.Fatalf("path %q is not inside the source", x.Location.Path)
				}
			}
		}
	})
}

// govulncheck emits its traces in no fixed order; the finding's call site,
// message and fingerprint must not depend on it. Real govulncheck on a
// module calling the vulnerable function from three files, its findings
// shuffled: the same findings every time, at the first call site by file.
func TestGovulncheckFingerprintsIgnoreTraceOrder(t *testing.T) {
	t.Parallel()
	mod := vulnCalledModule()
	// Each file calls another vulnerable function of the same advisory:
	// govulncheck reports one trace per function.
	mod["main.go"] = "package main\n\nfunc main() { c(); b(); a() }\n"
	for name, call := range map[string]string{
		"a": `language.ParseAcceptLanguage("en")`, "b": `language.MustParse("en"), 0, error(nil)`,
		"c": `language.MatchStrings(language.NewMatcher(nil), "en")`,
	} {
		mod[name+".go"] = "package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc " + name +
			"() {\n\tfmt.Println(" + call + ")\n}\n"
	}
	report := gvRun(t, testenv.Tool(t, "govulncheck"), vulnPlantModule(t, mod), gvEnv(t, gvGoBinDir(t)))
	want, _ := gvParse(t, report, 0)
	site := gvByRule(t, want, "GO-2021-0113", "golang.org/x/text")
	if site.Location.Path != "a.go" || site.Location.Line != 10 {
		t.Errorf("call site %+v, want a.go:10, the first by file", site.Location)
	}
	for _, fn := range []string{"language.MatchStrings", "language.MustParse", "language.ParseAcceptLanguage"} {
		if !strings.Contains(site.Message, fn) {
			t.Errorf("message %q does not name %s", site.Message, fn)
		}
	}
	var head, finds [][]byte
	for _, m := range splitGovulncheckMessages(t, report) {
		if bytes.Contains(m, []byte(`"finding"`)) {
			finds = append(finds, m)
		} else {
			head = append(head, m)
		}
	}
	if n := bytes.Count(bytes.Join(finds, nil), []byte(`"function"`)); n < 3 {
		t.Fatalf("%d traced functions: want the three call sites reported", n)
	}
	wantJSON, _ := json.Marshal(want)
	for seed := range int64(20) {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		shuffled := slices.Clone(finds)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, _ := gvParse(t, bytes.Join(append(slices.Clone(head), shuffled...), []byte("\n")), 0)
		if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, wantJSON) {
			t.Fatalf("seed %d: findings differ from the unshuffled report's:\n%s\nwant\n%s", seed, gotJSON, wantJSON)
		}
	}
}

// splitGovulncheckMessages splits govulncheck's stream of JSON objects.
func splitGovulncheckMessages(t *testing.T, report []byte) [][]byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(report))
	var out [][]byte
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}
