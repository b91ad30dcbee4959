package stages_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/samples"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

func TestOSVScannerArgv(t *testing.T) {
	got := stages.OSVScannerArgv("${DAGSEC_OUTPUT}/osv-scanner.json", "${DAGSEC_DB}/osv-scanner", true)
	want := []string{"osv-scanner", "scan", "source", "--format", "json", "--output-file", "${DAGSEC_OUTPUT}/osv-scanner.json",
		"--no-call-analysis=all", "--local-db-path", "${DAGSEC_DB}/osv-scanner", "--offline-vulnerabilities", "--no-resolve",
		"--recursive", "."}
	if !slices.Equal(got, want) {
		t.Errorf("offline argv\n%q\nwant\n%q", got, want)
	}
	got = stages.OSVScannerArgv("r.json", "", false)
	want = []string{"osv-scanner", "scan", "source", "--format", "json", "--output-file", "r.json", "--no-call-analysis=all", "--recursive", "."}
	if !slices.Equal(got, want) {
		t.Errorf("online argv\n%q\nwant\n%q", got, want)
	}
	got = stages.OSVScannerLockfilesArgv("r.json", "db", true, []string{"go.mod", "tools/go.mod"})
	if !slices.Equal(got[len(got)-4:], []string{"--lockfile", "go.mod", "--lockfile", "tools/go.mod"}) || slices.Contains(got, "--recursive") {
		t.Errorf("lockfiles argv %q", got)
	}
	if !slices.Equal(stages.OSVScannerOKCodes, []int{0}) || !slices.Equal(stages.OSVScannerFindingCodes, []int{1}) {
		t.Errorf("exit codes %v / %v", stages.OSVScannerOKCodes, stages.OSVScannerFindingCodes)
	}
}

// osvRun runs the pinned osv-scanner offline against the local Go database
// in dir, with a bare environment (no Go needed: call analysis is off), and
// returns its exit code and report.
func osvRun(t *testing.T, dir string, argv []string) (int, []byte) {
	t.Helper()
	bin := testenv.Tool(t, "osv-scanner")
	out := t.TempDir()
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "${OUT}", out)
	}
	res := testenv.Exec(t, bin, dir, argv, []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}, 10*time.Minute)
	report, err := os.ReadFile(filepath.Join(out, "osv-scanner.json"))
	if err != nil {
		t.Fatalf("osv-scanner (exit %d) wrote no report: %v\n%s", res.Code, err, res.Stderr)
	}
	t.Logf("osv-scanner exit %d:\n%s", res.Code, res.Stderr)
	return res.Code, report
}

func osvLocalDB(t *testing.T) string {
	return filepath.Join(vulnDBDir(t), stages.VulnDBOSVScanner)
}

func osvParse(t *testing.T, report []byte, root string) ([]findings.Finding, stages.DBInfo) {
	t.Helper()
	fs, info, err := stages.ParseOSVScannerIn(report, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if err := f.Validate(); err != nil || f.Fingerprint == "" || f.Stage != stages.SCA || f.Tool != "osv-scanner" {
			t.Errorf("bad finding %+v: %v", f, err)
		}
	}
	return fs, info
}

// osvCheckXText holds for a module requiring golang.org/x/text v0.3.0,
// scanned with the pinned Go database.
func osvCheckXText(t *testing.T, fs []findings.Finding, path string) {
	t.Helper()
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.RuleID)
		if f.Location != (findings.Location{Path: path}) || !vulnHasTags(f, "vulnerability", "Go") {
			t.Errorf("%s at %+v tags %v", f.RuleID, f.Location, f.Tags)
		}
		// The Go database has no severities: medium by rule.
		if f.Severity != findings.SeverityMedium {
			t.Errorf("%s: severity %s", f.RuleID, f.Severity)
		}
	}
	slices.Sort(ids)
	want := []string{"GO-2020-0015", "GO-2021-0113", "GO-2022-1059", "GO-2026-5970", "GO-2026-6629"}
	if !slices.Equal(ids, want) {
		t.Fatalf("findings %v, want %v", ids, want)
	}
	f := fs[slices.IndexFunc(fs, func(f findings.Finding) bool { return f.RuleID == "GO-2021-0113" })]
	for _, s := range []string{"golang.org/x/text@0.3.0 (Go)", "CVE-2021-38561", "Out-of-bounds read", "Fixed in 0.3.7"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q lacks %q", f.Message, s)
		}
	}
	if !vulnHasTags(f, "CVE-2021-38561", "GHSA-ppp9-7jff-5vj2") || slices.Contains(f.Tags, "GO-2021-0113") {
		t.Errorf("tags %v", f.Tags)
	}
	if f.RuleName != "Out-of-bounds read in golang.org/x/text/language" || f.HelpURI != "https://pkg.go.dev/vuln/GO-2021-0113" {
		t.Errorf("rule name %q help %q", f.RuleName, f.HelpURI)
	}
}

func TestOSVScannerOfflineFindsGoVulnerabilities(t *testing.T) {
	t.Parallel()
	dir := vulnPlantModule(t, vulnCalledModule())
	code, report := osvRun(t, dir, stages.OSVScannerArgv("${OUT}/osv-scanner.json", osvLocalDB(t), true))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (vulnerabilities found)", code)
	}
	// osv-scanner prints absolute paths, even for ".".
	if !bytes.Contains(report, []byte(`"path": "`+filepath.Join(dir, "go.mod")+`"`)) {
		t.Errorf("report does not name %s/go.mod", dir)
	}
	fs, _ := osvParse(t, report, dir)
	osvCheckXText(t, fs, "go.mod")
	for _, f := range fs {
		if vulnHasTags(f, "reachable") || vulnHasTags(f, "unreachable") {
			t.Errorf("%s: call analysis tags %v although it is off", f.RuleID, f.Tags)
		}
	}
	if _, _, err := stages.ParseOSVScanner(report); err == nil {
		t.Error("absolute paths accepted without the scan root")
	}
}

func TestOSVScannerCleanModule(t *testing.T) {
	t.Parallel()
	// The go directive's stdlib version is not scanned (osv-scanner v2's
	// default), so a module without dependencies is clean.
	dir := vulnPlantModule(t, vulnCleanModule())
	code, report := osvRun(t, dir, stages.OSVScannerArgv("${OUT}/osv-scanner.json", osvLocalDB(t), true))
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	fs, _ := osvParse(t, report, dir)
	if fs == nil || len(fs) != 0 {
		t.Errorf("%#v", fs)
	}
}

func TestOSVScannerOfflineNeedsEveryEcosystemsDatabase(t *testing.T) {
	t.Parallel()
	files := vulnCalledModule()
	files["requirements.txt"] = "requests==2.19.0\nflask==0.12\n"
	dir := vulnPlantModule(t, files)
	code, report := osvRun(t, dir, stages.OSVScannerArgv("${OUT}/osv-scanner.json", osvLocalDB(t), true))
	// No PyPI database offline: exit 127 and an empty result list, the Go
	// findings lost too. The exit code makes it a tool error.
	if code != 127 || slices.Contains(stages.OSVScannerOKCodes, code) || slices.Contains(stages.OSVScannerFindingCodes, code) {
		t.Fatalf("exit %d, want 127", code)
	}
	if fs, _ := osvParse(t, report, dir); len(fs) != 0 {
		t.Errorf("findings from a failed run: %v", fs)
	}
	// Scanning the Go manifests alone works.
	code, report = osvRun(t, dir, stages.OSVScannerLockfilesArgv("${OUT}/osv-scanner.json", osvLocalDB(t), true, []string{"go.mod"}))
	if code != 1 {
		t.Fatalf("go.mod only: exit %d, want 1", code)
	}
	fs, _ := osvParse(t, report, dir)
	osvCheckXText(t, fs, "go.mod")
}

func TestOSVScannerSubfolderPaths(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	sub := filepath.Join(root, "svc", "api")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mod := vulnPlantModule(t, vulnCalledModule())
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(mod, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(sub, f), b, 0o644)
	}
	code, report := osvRun(t, root, stages.OSVScannerArgv("${OUT}/osv-scanner.json", osvLocalDB(t), true))
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	fs, _ := osvParse(t, report, root)
	osvCheckXText(t, fs, "svc/api/go.mod")
	if _, _, err := stages.ParseOSVScannerIn(report, sub+"/other"); err == nil {
		t.Error("a source outside the root was accepted")
	}
}

// Genuine osv-scanner v2.6.0 reports (see testdata/SOURCES.md), made in
// /tmp/dagsec-samples/<module>.
func TestParseOSVScannerGenuineSamples(t *testing.T) {
	t.Run("go offline", func(t *testing.T) {
		fs, info := osvParse(t, samples.Read(t, "osv-scanner-v2.6.0-go-offline.json"), "/tmp/dagsec-samples/called")
		osvCheckXText(t, fs, "go.mod")
		// Every entry of the vulndb module says modified 0001-01-01.
		if info != (stages.DBInfo{}) {
			t.Errorf("DBInfo %+v", info)
		}
	})
	t.Run("root with a trailing slash", func(t *testing.T) {
		fs, _ := osvParse(t, samples.Read(t, "osv-scanner-v2.6.0-go-offline.json"), "/tmp/dagsec-samples/called/")
		osvCheckXText(t, fs, "go.mod")
	})
	t.Run("call analysis", func(t *testing.T) {
		// osv-scanner's default with go on PATH: every group gets
		// experimental_analysis; nothing of x/text is called here.
		fs, _ := osvParse(t, samples.Read(t, "osv-scanner-v2.6.0-go-callanalysis.json"), "/tmp/dagsec-samples/imported")
		osvCheckXText(t, fs, "go.mod")
		for _, f := range fs {
			if !vulnHasTags(f, "unreachable") || vulnHasTags(f, "reachable") {
				t.Errorf("%s tags %v", f.RuleID, f.Tags)
			}
		}
	})
	for _, name := range []string{"osv-scanner-v2.6.0-clean.json", "osv-scanner-v2.6.0-python-offline-exit127.json"} {
		t.Run(name, func(t *testing.T) {
			fs, _, err := stages.ParseOSVScanner(samples.Read(t, name))
			if err != nil || fs == nil || len(fs) != 0 {
				t.Errorf("%#v, %v", fs, err)
			}
		})
	}
	t.Run("absolute paths need the root", func(t *testing.T) {
		_, _, err := stages.ParseOSVScanner(samples.Read(t, "osv-scanner-v2.6.0-go-offline.json"))
		if err == nil || !strings.Contains(err.Error(), "absolute") {
			t.Errorf("%v", err)
		}
		if _, _, err := stages.ParseOSVScannerIn(samples.Read(t, "osv-scanner-v2.6.0-go-offline.json"), "/tmp/dagsec-samples/imported"); err == nil {
			t.Error("another root was accepted")
		}
	})
}

// A compact report in osv-scanner's shape, with what the Go database lacks:
// CVSS scores, GitHub severities and alias groups.
func osvSynthetic(pkgs string) []byte {
	return []byte(`{"results":[{"source":{"path":"app/requirements.txt","type":"lockfile"},"packages":[` + pkgs + `]}],"experimental_config":{"licenses":{"summary":false,"allowlist":null}}}`)
}

const osvPyPkg = `{"package":{"name":"requests","version":"2.19.0","ecosystem":"PyPI"},
 "vulnerabilities":[
  {"id":"GHSA-x84v-xcm2-53pg","summary":"Insufficiently Protected Credentials in Requests","modified":"2024-02-16T08:18:44Z","aliases":["CVE-2018-18074"],"database_specific":{"severity":"HIGH"},
   "affected":[{"package":{"name":"requests","ecosystem":"PyPI"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.20.0"}]}]}]},
  {"id":"PYSEC-2018-28","modified":"2023-11-08T03:59:00Z","aliases":["CVE-2018-18074","GHSA-x84v-xcm2-53pg"],
   "affected":[{"package":{"name":"requests","ecosystem":"PyPI"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.20.0"}]}]}]},
  {"id":"GHSA-9wx4-h78v-vm56","summary":"Requests Session object does not verify requests after making first request with verify=False","modified":"2024-05-20T20:15:00Z","database_specific":{"severity":"MODERATE"},
   "affected":[{"package":{"name":"requests","ecosystem":"PyPI"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.32.0"}]}]}]}
 ],
 "groups":[
  {"ids":["GHSA-x84v-xcm2-53pg","PYSEC-2018-28"],"aliases":["CVE-2018-18074","GHSA-x84v-xcm2-53pg","PYSEC-2018-28"],"max_severity":"7.5"},
  {"ids":["GHSA-9wx4-h78v-vm56"],"aliases":["GHSA-9wx4-h78v-vm56"],"max_severity":""}
 ]}`

func TestParseOSVScannerGroupsAndSeverities(t *testing.T) {
	fs, info := osvParse(t, osvSynthetic(osvPyPkg), "")
	if len(fs) != 2 {
		t.Fatalf("%d findings, want one per group: %+v", len(fs), fs)
	}
	byID := map[string]findings.Finding{}
	for _, f := range fs {
		byID[f.RuleID] = f
	}
	// The ecosystem database's own id names the group; the others are aliases.
	a, ok := byID["PYSEC-2018-28"]
	if !ok || a.Severity != findings.SeverityHigh || a.Location.Path != "app/requirements.txt" ||
		!vulnHasTags(a, "PyPI", "GHSA-x84v-xcm2-53pg", "CVE-2018-18074") || !strings.Contains(a.Message, "Fixed in 2.20.0") {
		t.Errorf("PYSEC-2018-28: %+v", a)
	}
	// No CVSS score: GitHub's database severity.
	b, ok := byID["GHSA-9wx4-h78v-vm56"]
	if !ok || b.Severity != findings.SeverityMedium || !strings.Contains(b.Message, "requests@2.19.0 (PyPI)") {
		t.Errorf("GHSA-9wx4-h78v-vm56: %+v", b)
	}
	if info.Version != "2024-05-20T20:15:00Z" {
		t.Errorf("DBInfo %+v", info)
	}

	for score, want := range map[string]findings.Severity{
		"9.8": findings.SeverityCritical, "9.0": findings.SeverityCritical, "7.0": findings.SeverityHigh,
		"6.9": findings.SeverityMedium, "4.0": findings.SeverityMedium, "3.9": findings.SeverityLow, "0.1": findings.SeverityLow,
		"0": findings.SeverityInfo, "": findings.SeverityMedium,
	} {
		pkg := `{"package":{"name":"p","version":"1","ecosystem":"npm"},"vulnerabilities":[{"id":"X-1"}],"groups":[{"ids":["X-1"],"max_severity":"` + score + `"}]}`
		fs, _ := osvParse(t, osvSynthetic(pkg), "")
		if len(fs) != 1 || fs[0].Severity != want {
			t.Errorf("max_severity %q: %+v, want %s", score, fs, want)
		}
	}
}

func TestParseOSVScannerRejectsBadReports(t *testing.T) {
	genuine := samples.Read(t, "osv-scanner-v2.6.0-go-offline.json")
	for name, report := range map[string][]byte{
		"empty":                nil,
		"blank":                []byte("\n "),
		"null":                 []byte("null"),
		"array":                []byte("[]"),
		"no results":           []byte(`{"experimental_config":{}}`),
		"results null":         []byte(`{"results":null}`),
		"results not a list":   []byte(`{"results":{}}`),
		"truncated":            genuine[:len(genuine)/2],
		"trailing data":        append(append([]byte{}, genuine...), []byte(`{"results":[]}`)...),
		"text":                 []byte("No package sources found, --help for usage information."),
		"source without path":  []byte(`{"results":[{"source":{"type":"lockfile"},"packages":[]}]}`),
		"path leaves source":   []byte(`{"results":[{"source":{"path":"../go.mod"},"packages":[]}]}`),
		"package without name": osvSynthetic(`{"package":{"version":"1"},"vulnerabilities":[{"id":"X-1"}]}`),
		"vuln without id":      osvSynthetic(`{"package":{"name":"p","version":"1"},"vulnerabilities":[{"summary":"s"}]}`),
		"group without ids":    osvSynthetic(`{"package":{"name":"p","version":"1"},"vulnerabilities":[{"id":"X-1"}],"groups":[{"ids":[]}]}`),
		"bad score":            osvSynthetic(`{"package":{"name":"p","version":"1"},"vulnerabilities":[{"id":"X-1"}],"groups":[{"ids":["X-1"],"max_severity":"HIGH"}]}`),
		"score above 10":       osvSynthetic(`{"package":{"name":"p","version":"1"},"vulnerabilities":[{"id":"X-1"}],"groups":[{"ids":["X-1"],"max_severity":"11"}]}`),
	} {
		if fs, _, err := stages.ParseOSVScannerIn(report, "/tmp/dagsec-samples/called"); err == nil {
			t.Errorf("%s: accepted, %d findings", name, len(fs))
		}
	}
}

func FuzzParseOSVScanner(f *testing.F) {
	f.Add(osvSynthetic(osvPyPkg), "")
	f.Add([]byte(`{"results":[]}`), "")
	f.Add([]byte(`{"results":[{"source":{"path":"/src/go.mod","type":"lockfile"},"packages":[{"package":{"name":"golang.org/x/text","version":"0.3.0","ecosystem":"Go"},"groups":[{"ids":["GO-2021-0113"],"aliases":["CVE-2021-38561"],"experimental_analysis":{"GO-2021-0113":{"called":true,"unimportant":false}},"max_severity":""}],"vulnerabilities":[{"id":"GO-2021-0113","summary":"Out-of-bounds read","affected":[{"package":{"name":"golang.org/x/text","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.7"}]}]}]}]}]}]}`), "/src")
	f.Add([]byte(`{}`), "/")
	f.Fuzz(func(t *testing.T, report []byte, root string) {
		fs, _, err := stages.ParseOSVScannerIn(report, root)
		if err != nil {
			return
		}
		for _, x := range fs {
			if err := x.Validate(); err != nil || x.Fingerprint == "" {
				t.Fatalf("invalid finding %+v: %v", x, err)
			}
			if x.Location.Path == "" || strings.HasPrefix(x.Location.Path, "/") || strings.HasPrefix(x.Location.Path, "../") {
				t.Fatalf("path %q is not inside the source", x.Location.Path)
			}
		}
	})
}
