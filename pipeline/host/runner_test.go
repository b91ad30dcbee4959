package host_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

func TestExistsStaysInsideTheSource(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.toml"), []byte("x"), 0o644)
	dir := testenv.Dir(t, map[string]string{"a/b.txt": "x"})
	os.Symlink("a/b.txt", filepath.Join(dir, "inner.txt"))
	r, err := host.NewRunner(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// NewRunner refuses a source with a link out of it; one made after it
	// checked is refused where dagsec reads.
	if err := os.Symlink(filepath.Join(outside, "secret.toml"), filepath.Join(dir, "link.toml")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		rel     string
		want    bool
		wantErr bool
	}{
		{"a/b.txt", true, false},
		{"inner.txt", true, false},
		{"missing", false, false},
		{"link.toml", false, true},
		{"../" + filepath.Base(outside), false, true},
	} {
		got, err := r.Exists(ctx, tc.rel)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Exists(%q) = %v, %v; want %v, error %v", tc.rel, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestNewRunnerRejectsBadSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	linked := t.TempDir()
	if err := os.Symlink(file, filepath.Join(linked, "f")); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{file, filepath.Join(t.TempDir(), "missing"), linked} {
		if _, err := host.NewRunner(src, nil); err == nil {
			t.Errorf("source %s accepted", src)
		}
	}
}

func step(report string) stages.Step {
	return stages.Step{
		Name: "secrets/gitleaks", Tool: "gitleaks", Version: "v8.30.1", Image: "img",
		Argv:    []string{"gitleaks", "--report-path", stages.OutputDir + "/" + report, "--config", stages.InputDir + "/c.toml"},
		Inputs:  map[string][]byte{"c.toml": []byte("title = 'x'\n")},
		Report:  report,
		OKCodes: []int{0}, FindingCodes: []int{3},
		Timeout: 10 * time.Second,
	}
}

// The tool sees its inputs and writes its report where the step says, and
// none of the caller's credentials reach it.
func TestRunGivesToolsInputsAndACleanEnvironment(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "caller-credential-value")
	t.Setenv("GITHUB_TOKEN", "caller-token-value")
	inst := testenv.FakeTools(t, "gitleaks", `out=""; cfg=""
while [ $# -gt 0 ]; do case "$1" in --report-path) out="$2";; --config) cfg="$2";; esac; shift; done
{ cat "$cfg"; pwd; env; } > "$out"; exit 3`)
	dir := testenv.Dir(t, testenv.CleanFiles())
	r, err := host.NewRunner(dir, inst)
	if err != nil {
		t.Fatal(err)
	}
	r.AllowPATH = false
	res, err := r.Run(context.Background(), step("out.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.ReportMissing {
		t.Fatalf("exit %d, report missing %v", res.ExitCode, res.ReportMissing)
	}
	rep := string(res.Report)
	if !strings.Contains(rep, "title = 'x'") {
		t.Errorf("input file not given to the tool:\n%s", rep)
	}
	if !strings.Contains(rep, r.Source()) {
		t.Errorf("tool did not run in the source folder:\n%s", rep)
	}
	for _, v := range []string{"caller-credential-value", "caller-token-value"} {
		if strings.Contains(rep, v) {
			t.Errorf("caller credential %q reached the tool", v)
		}
	}
}

func TestRunRejectsInputsLeavingTheInputFolder(t *testing.T) {
	inst := testenv.FakeTools(t, "gitleaks", "exit 0")
	r, _ := host.NewRunner(t.TempDir(), inst)
	s := step("out.json")
	s.Inputs = map[string][]byte{"../../escape": []byte("x")}
	if _, err := r.Run(context.Background(), s); err == nil {
		t.Fatal("input path leaving the input folder accepted")
	}
}

func TestToolResolution(t *testing.T) {
	empty := &host.Installer{Dir: t.TempDir()}
	r, _ := host.NewRunner(t.TempDir(), empty)
	r.AutoInstall, r.AllowPATH = false, false
	if _, _, err := r.Tool(context.Background(), "gitleaks"); err == nil || !strings.Contains(err.Error(), "dagsec tools install gitleaks") {
		t.Errorf("missing tool: %v", err)
	}

	// With PATH allowed, a tool found there is used and marked unpinned.
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "gitleaks"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	r2, _ := host.NewRunner(t.TempDir(), empty)
	r2.AutoInstall = false
	p, version, err := r2.Tool(context.Background(), "gitleaks")
	if err != nil || p != filepath.Join(bin, "gitleaks") || !strings.HasPrefix(version, "unpinned") {
		t.Errorf("PATH fallback: %s %q %v", p, version, err)
	}

	if _, _, err := r2.Tool(context.Background(), "no-such-tool"); err == nil {
		t.Errorf("unknown tool resolved")
	}
}

func TestInstallerUsesCachedBuild(t *testing.T) {
	inst := testenv.FakeTools(t, "gitleaks", "exit 0")
	tool, _ := stages.LookupTool("gitleaks")
	inst.Go = "/nonexistent/go" // a rebuild would fail
	p, err := inst.Ensure(context.Background(), tool)
	if err != nil || p != inst.Path(tool) {
		t.Fatalf("cached tool not reused: %s %v", p, err)
	}
	if !strings.HasSuffix(inst.Path(tool), filepath.Join("gitleaks@v8.30.1", "gitleaks")) {
		t.Errorf("cache path %s is not keyed by name and version", inst.Path(tool))
	}
}

func TestImageOverride(t *testing.T) {
	t.Setenv("DAGSEC_IMAGE_GITLEAKS", "mirror.internal/gitleaks:v8.30.1")
	tool, _ := stages.LookupTool("gitleaks")
	if tool.Image != "mirror.internal/gitleaks:v8.30.1" {
		t.Fatalf("image override ignored: %s", tool.Image)
	}
}

func TestRunnerGlobAndReadFile(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{
		"Dockerfile":            "FROM scratch\n",
		"svc/api/Dockerfile":    "FROM scratch\n",
		"svc/api/main.go":       "package main\n",
		".git/HEAD":             "ref: refs/heads/main\n",
		".git/hooks/Dockerfile": "not a source file\n",
	})
	outside := testenv.Dir(t, map[string]string{"Dockerfile": "FROM secret\n"})
	r, err := host.NewRunner(dir, &host.Installer{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// Made after NewRunner's check, as a race would.
	if err := os.Symlink(outside, filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := r.Glob(ctx, "**/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Dockerfile", "svc/api/Dockerfile"}; !slices.Equal(got, want) {
		t.Errorf("Glob = %v, want %v (no .git, no symlinked folder)", got, want)
	}
	data, err := r.ReadFile(ctx, "svc/api/main.go")
	if err != nil || string(data) != "package main\n" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
	if _, err := r.ReadFile(ctx, "linked/Dockerfile"); err == nil {
		t.Errorf("ReadFile followed a symlink out of the source")
	}
	if _, err := r.ReadFile(ctx, "../x"); err == nil {
		t.Errorf("ReadFile read outside the source")
	}
}

// A step's database update runs before the tool and its DBInfo command
// after it, both with the tool's pinned binary; an update that fails is an
// error, a DBInfo that fails only leaves the database unnamed.
func TestRunnerDatabaseUpdateAndInfo(t *testing.T) {
	script := `case "$1" in
update) [ -n "$FAIL_UPDATE" ] && exit 7; echo fresh > "$2/db"; exit 0;;
info) cat "$2/db";;
scan) test -f "$2/db" || exit 9; echo '[]' > "$3";;
esac`
	inst := testenv.FakeTools(t, "trivy", script)
	r, err := host.NewRunner(testenv.Dir(t, map[string]string{"a.txt": "x"}), inst)
	if err != nil {
		t.Fatal(err)
	}
	r.CacheDir = t.TempDir()
	step := stages.Step{
		Name: "sca/trivy", Tool: "trivy", Image: "img", Report: "r.json", OKCodes: []int{0}, Timeout: time.Minute,
		Argv:     []string{"trivy", "scan", stages.CacheDir + "/trivy", stages.OutputDir + "/r.json"},
		Caches:   []string{"trivy"},
		DBUpdate: []string{"trivy", "update", stages.CacheDir + "/trivy"},
		DBInfo:   []string{"trivy", "info", stages.CacheDir + "/trivy"},
	}
	res, err := r.Run(context.Background(), step)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Report) != "[]\n" || string(res.DBInfo) != "fresh\n" {
		t.Errorf("report %q, db info %q", res.Report, res.DBInfo)
	}

	step.Env = map[string]string{"FAIL_UPDATE": "1"}
	if _, err := r.Run(context.Background(), step); err == nil || !strings.Contains(err.Error(), "updating the vulnerability database") {
		t.Errorf("a failed update: %v", err)
	}

	step.Env = nil
	step.DBInfo = []string{"trivy", "no-such-subcommand-exits-0-with-nothing"}
	res, err = r.Run(context.Background(), step)
	if err != nil || len(res.DBInfo) != 0 {
		t.Errorf("DBInfo with no output: %q, %v", res.DBInfo, err)
	}
}

// A tool that needs no network runs in a network namespace of its own, with
// nothing to reach; one that needs the network keeps the host's.
func TestToolsWithoutNetworkNeedRunIsolated(t *testing.T) {
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Skipf("no /proc/self/ns/net here: %v", err)
	}
	// The tool writes its network namespace and its interfaces as its report.
	script := `out=""
while [ $# -gt 0 ]; do case "$1" in --report-path) out="$2";; esac; shift; done
{ readlink /proc/self/ns/net; cat /proc/net/dev; } > "$out"; exit 0`
	dir := testenv.Dir(t, testenv.CleanFiles())
	for _, tc := range []struct {
		tool      string
		isolated  bool
		noNetwork bool // a step that needs none of its tool's network
	}{{"gitleaks", true, false}, {"tfsec", true, false}, {"osv-scanner", false, false}, {"trivy", false, false}, {"trivy", true, true}} {
		t.Run(tc.tool, func(t *testing.T) {
			inst := testenv.FakeTools(t, tc.tool, script)
			r, err := host.NewRunner(dir, inst)
			if err != nil {
				t.Fatal(err)
			}
			r.AllowPATH = false
			st := step("net.txt")
			st.Tool, st.Name, st.Argv[0] = tc.tool, "x/"+tc.tool, tc.tool
			st.NoNetwork = tc.noNetwork
			res, err := r.Run(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			ns, devs, _ := strings.Cut(string(res.Report), "\n")
			switch {
			case !tc.isolated:
				if ns != own || !strings.HasPrefix(res.Network, "needed: ") {
					t.Errorf("%s needs the network but ran in %s (ours %s), network %q", tc.tool, ns, own, res.Network)
				}
			case strings.HasPrefix(res.Network, "not isolated"):
				// Said in the report; this kernel or container refuses namespaces.
				t.Skipf("isolation unavailable here: %s", res.Network)
			default:
				if ns == own || res.Network != "none" {
					t.Errorf("%s ran in our network namespace %s, network %q", tc.tool, ns, res.Network)
				}
				for _, line := range strings.Split(devs, "\n")[2:] {
					if name, _, _ := strings.Cut(strings.TrimSpace(line), ":"); name != "" && name != "lo" {
						t.Errorf("%s sees interface %s", tc.tool, name)
					}
				}
			}
		})
	}
}
