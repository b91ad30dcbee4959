package stages_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// dastProbe is a runner's view for planning DAST: the source holds files
// (an OpenAPI definition), the runner has tools.
type dastProbe struct {
	files []string
	tools []string
}

func (p dastProbe) Exists(_ context.Context, rel string) (bool, error) {
	return slices.Contains(p.files, rel), nil
}
func (p dastProbe) Glob(context.Context, string) ([]string, error) { return nil, nil }
func (p dastProbe) ReadFile(context.Context, string) ([]byte, error) {
	return nil, os.ErrNotExist
}
func (p dastProbe) HasTool(_ context.Context, tool string) bool {
	return slices.Contains(p.tools, tool)
}

const dastTarget = "http://staging:8080/"

// planDAST plans the dast stage and indexes the plans by step name, or by
// tool for skipped ones.
func planDAST(t *testing.T, opts stages.Options, probe stages.Probe) map[string]stages.Plan {
	t.Helper()
	plans, err := stages.PlanStage(context.Background(), stages.DAST, opts, probe)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]stages.Plan{}
	for _, p := range plans {
		name := p.Tool
		if p.Skipped == "" {
			name = p.Step.Name
			if err := p.Step.Validate(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if p.Parse == nil || !p.Step.NeedsTarget || p.Step.Workdir != stages.OutputDir || p.Stage != stages.DAST {
				t.Errorf("%s: %+v", name, p)
			}
		}
		if _, dup := out[name]; dup {
			t.Errorf("two plans named %s", name)
		}
		out[name] = p
	}
	return out
}

func TestPlanDASTRejectsBadTargets(t *testing.T) {
	probe := dastProbe{tools: []string{"zap", "wapiti"}}
	for _, tc := range []struct{ target, want string }{
		{"", "dast: no target URL"},
		{"staging:8080", "must be http:// or https://"},
		{"ftp://staging/", "must be http:// or https://"},
		{"/search", "must be http:// or https://"},
		{"http://", "has no host"},
		{"http://:8080/", "has no host"},
		// Assembled at run time: dagsec's own secrets gate scans this file.
		{"http://admin:" + "hunter2@staging/", "must not carry credentials"},
		{"http://staging:bad/", "target URL"},
	} {
		_, err := stages.PlanStage(context.Background(), stages.DAST, stages.Options{Target: tc.target}, probe)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("target %q: %v, want an error with %q", tc.target, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("target %q: the error repeats the password: %v", tc.target, err)
		}
	}
}

func TestPlanDASTSteps(t *testing.T) {
	got := planDAST(t, stages.Options{Target: dastTarget}, dastProbe{tools: []string{"zap", "wapiti"}})
	if len(got) != 2 {
		t.Fatalf("plans %v", got)
	}

	w := got["dast/wapiti"].Step
	if w.Tool != "wapiti" || w.Version != "3.0.4" || w.Image != "docker.io/library/debian:12.12-slim" ||
		w.Report != stages.WapitiReportFile || w.Timeout != 30*time.Minute ||
		!slices.Equal(w.OKCodes, []int{0}) || len(w.FindingCodes) != 0 || w.Env["LC_ALL"] != "C.UTF-8" {
		t.Errorf("wapiti step %+v", w)
	}
	argv := strings.Join(w.Argv, " ")
	for _, part := range []string{"wapiti -u " + dastTarget + " ", "-f json -o ${DAGSEC_OUTPUT}/wapiti.json",
		"--store-session ${DAGSEC_OUTPUT}/wapiti-session", "--no-bugreport"} {
		if !strings.Contains(argv, part) {
			t.Errorf("wapiti argv lacks %q: %s", part, argv)
		}
	}
	if strings.Contains(argv, "ssrf") {
		t.Errorf("wapiti argv runs ssrf, which calls wapiti3.ovh: %s", argv)
	}

	z := got["dast/zap"].Step
	if z.Tool != "zap" || z.Version != "2.16.1" || z.Image != "ghcr.io/zaproxy/zaproxy:2.16.1" ||
		z.Report != stages.ZAPBaselineReport || z.Timeout != 20*time.Minute ||
		!slices.Equal(z.OKCodes, []int{0}) || !slices.Equal(z.FindingCodes, []int{1, 2}) {
		t.Errorf("zap step %+v", z)
	}
	// /zap/wrk is linked to the output folder, then the scan runs with a
	// report name relative to it.
	if len(z.Argv) < 6 || z.Argv[0] != "sh" || z.Argv[1] != "-c" || !strings.Contains(z.Argv[2], "/zap/wrk") ||
		z.Argv[4] != stages.OutputDir || z.Argv[5] != "zap-baseline.py" {
		t.Fatalf("zap argv %q", z.Argv)
	}
	if zargv := strings.Join(z.Argv[5:], " "); zargv != "zap-baseline.py -t "+dastTarget+" -J zap-baseline.json -T 15" {
		t.Errorf("zap baseline argv %q", zargv)
	}

	// The policy's timeout wins.
	got = planDAST(t, stages.Options{Target: dastTarget, Timeout: time.Minute}, dastProbe{tools: []string{"zap", "wapiti"}})
	if got["dast/zap"].Step.Timeout != time.Minute || got["dast/wapiti"].Step.Timeout != time.Minute {
		t.Errorf("timeout not applied: %+v", got)
	}
}

func TestPlanDASTWithoutZAP(t *testing.T) {
	// The host runner has no ZAP (an image-only tool): a default tool it
	// lacks is listed as not run, and wapiti still runs.
	got := planDAST(t, stages.Options{Target: dastTarget}, dastProbe{tools: []string{"wapiti"}})
	zap := got["zap"]
	if zap.Skipped == "" || !zap.Unavailable || zap.Step.Name != "" || !strings.Contains(zap.Skipped, "ghcr.io/zaproxy/zaproxy:2.16.1") {
		t.Errorf("zap plan %+v", zap)
	}
	if got["dast/wapiti"].Step.Name == "" {
		t.Errorf("wapiti did not run: %+v", got)
	}

	// Named in the policy, it is planned anyway, so the run fails instead of
	// passing without it.
	got = planDAST(t, stages.Options{Target: dastTarget, Tools: []string{"zap"}}, dastProbe{})
	if len(got) != 1 || got["dast/zap"].Step.Tool != "zap" {
		t.Errorf("explicit zap: %+v", got)
	}

	// wapiti missing on the host names its Debian package.
	got = planDAST(t, stages.Options{Target: dastTarget}, dastProbe{})
	if w := got["wapiti"]; !w.Unavailable || !strings.Contains(w.Skipped, "apt-get install wapiti") {
		t.Errorf("wapiti plan %+v", w)
	}

	// The real host runner: ZAP is never on its PATH here.
	if _, err := exec.LookPath("zap"); err == nil {
		t.Skip("a zap binary is on PATH")
	}
	r, err := host.NewRunner(t.TempDir(), &host.Installer{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if got := planDAST(t, stages.Options{Target: dastTarget}, r); !got["zap"].Unavailable {
		t.Errorf("host runner: zap plan %+v", got["zap"])
	}
}

func TestPlanDASTOpenAPI(t *testing.T) {
	probe := dastProbe{files: []string{"api/openapi.yaml"}, tools: []string{"zap", "wapiti"}}
	got := planDAST(t, stages.Options{Target: "https://staging.example:8443/app", OpenAPI: "./api/openapi.yaml"}, probe)
	if len(got) != 3 {
		t.Fatalf("plans %v", got)
	}
	api := got["dast/zap:api"].Step
	if api.Tool != "zap" || api.Report != stages.ZAPAPIReport || api.Timeout != 60*time.Minute || api.Argv[0] != "sh" {
		t.Errorf("api step %+v", api)
	}
	want := "zap-api-scan.py -t ${DAGSEC_SOURCE}/api/openapi.yaml -f openapi -O staging.example:8443 -J zap-api.json -T 30"
	if a := strings.Join(api.Argv[5:], " "); a != want {
		t.Errorf("api argv %q, want %q", a, want)
	}
	if got["dast/zap"].Step.Report != stages.ZAPBaselineReport {
		t.Errorf("baseline missing: %+v", got)
	}

	// Without ZAP there is no API scan either; wapiti runs.
	got = planDAST(t, stages.Options{Target: dastTarget, OpenAPI: "api/openapi.yaml"},
		dastProbe{files: probe.files, tools: []string{"wapiti"}})
	if _, ok := got["dast/zap:api"]; ok || !got["zap"].Unavailable {
		t.Errorf("plans without zap: %+v", got)
	}

	for name, spec := range map[string]string{
		"missing":        "api/other.yaml",
		"outside source": "../openapi.yaml",
		"absolute":       "/etc/openapi.yaml",
	} {
		_, err := stages.PlanStage(context.Background(), stages.DAST, stages.Options{Target: dastTarget, OpenAPI: spec}, probe)
		if err == nil || !strings.Contains(err.Error(), "openapi") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// readDASTSample reads a file of testdata/ (see SOURCES.md).
func readDASTSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
