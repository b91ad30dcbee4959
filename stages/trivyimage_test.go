package stages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// Genuine `trivy image` reports from trivy's own integration tests
// (provenance in testdata/SOURCES.md): vulnerabilities cannot be produced
// here, trivy's database host is unreachable.
const (
	trivyAlpineImage  = "testdata/trivy-golden-alpine-310-image.json"
	trivyBusyboxImage = "testdata/trivy-golden-busybox-with-lockfile-image.json"
)

func parseTrivyImage(t *testing.T, report []byte) []findings.Finding {
	t.Helper()
	fs, _, err := stages.ParseTrivyImage(report)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
		if f.Stage != stages.Image || f.Tool != "trivy" || f.Fingerprint == "" || seen[f.Fingerprint] {
			t.Errorf("finding %+v", f)
		}
		seen[f.Fingerprint] = true
		// No Dockerfile known: a path in the image is no file of the source.
		if f.Location.Path != "" && !slices.Contains(f.Tags, "license") {
			t.Errorf("%s placed at %q without a Dockerfile", f.RuleID, f.Location.Path)
		}
	}
	return fs
}

// inImage is the path inside the image an image finding names.
func inImage(f findings.Finding) string {
	_, p, ok := strings.Cut(f.Message, " [in the image: ")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(p, "]")
}

func TestParseTrivyImageGenuineSamples(t *testing.T) {
	type want struct{ id, pkg, path string }
	for _, tc := range []struct {
		file string
		sevs map[findings.Severity]int
		want []want
	}{
		// OS packages: the Target is "<input tarball> (alpine 3.10.2)".
		{trivyAlpineImage, map[findings.Severity]int{findings.SeverityMedium: 4}, []want{
			{"CVE-2019-1549", "libcrypto1.1@1.1.1c-r0", "lib/apk/db/installed"},
			{"CVE-2019-1551", "libcrypto1.1@1.1.1c-r0", "lib/apk/db/installed"},
			{"CVE-2019-1549", "libssl1.1@1.1.1c-r0", "lib/apk/db/installed"},
			{"CVE-2019-1551", "libssl1.1@1.1.1c-r0", "lib/apk/db/installed"},
		}},
		// A lockfile inside the image keeps its path.
		{trivyBusyboxImage, map[findings.Severity]int{findings.SeverityHigh: 1, findings.SeverityMedium: 1}, []want{
			{"CVE-2019-15542", "ammonia@1.9.0", "Cargo.lock"},
			{"CVE-2021-38193", "ammonia@1.9.0", "Cargo.lock"},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			fs := parseTrivyImage(t, readSample(t, tc.file))
			if len(fs) != len(tc.want) {
				t.Fatalf("got %d findings %v, want %d", len(fs), ruleIDs(fs), len(tc.want))
			}
			sevs := map[findings.Severity]int{}
			for i, w := range tc.want {
				f := fs[i]
				sevs[f.Severity]++
				if f.RuleID != w.id || inImage(f) != w.path || !strings.HasPrefix(f.Message, w.pkg+" is affected by "+w.id) {
					t.Errorf("finding %d: %s at %s: %q, want %s of %s at %s", i, f.RuleID, inImage(f), f.Message, w.id, w.pkg, w.path)
				}
				if strings.Contains(f.Location.Path, "testdata/fixtures") || strings.Contains(f.Message, ".tar.gz") {
					t.Errorf("finding %d names the scanned tarball: %+v", i, f)
				}
			}
			for s, n := range tc.sevs {
				if sevs[s] != n {
					t.Errorf("%d %s findings, want %d", sevs[s], s, n)
				}
			}
		})
	}
}

// ParseTrivy itself is unchanged: the image stage's relocation lives in
// ParseTrivyImage alone.
func TestParseTrivyUnchangedForImages(t *testing.T) {
	fs, _, err := stages.ParseTrivy(readSample(t, trivyAlpineImage), stages.Image)
	if err != nil || len(fs) != 4 || fs[0].Location.Path != "testdata/fixtures/images/alpine-310.tar.gz (alpine 3.10.2)" {
		t.Fatalf("ParseTrivy: %v %+v", err, fs)
	}
	// License results of an image are left as ParseTrivy places them.
	lic, _, err := stages.ParseTrivy(readSample(t, trivyDDLicenses), stages.Image)
	if err != nil {
		t.Fatal(err)
	}
	img := parseTrivyImage(t, readSample(t, trivyDDLicenses))
	if len(img) != len(lic) {
		t.Fatalf("%d findings, ParseTrivy %d", len(img), len(lic))
	}
	for i := range lic {
		if img[i].Location.Path != lic[i].Location.Path || img[i].RuleID != lic[i].RuleID {
			t.Errorf("license finding %d: %s at %s, ParseTrivy %s at %s", i, img[i].RuleID, img[i].Location.Path, lic[i].RuleID, lic[i].Location.Path)
		}
	}
}

// trivyImageReport is a schema-2 image report with the given results.
func trivyImageReport(results string) []byte {
	return []byte(`{"SchemaVersion":2,"ArtifactName":"/tmp/dagsec-step-1/image.tar","ArtifactType":"container_image","Results":[` + results + `]}`)
}

func TestParseTrivyImageLocations(t *testing.T) {
	vuln := func(id, path string) string {
		return `{"VulnerabilityID":"` + id + `","PkgName":"ip","InstalledVersion":"2.0.0","PkgPath":"` + path + `","Severity":"HIGH"}`
	}
	report := trivyImageReport(
		`{"Target":"/tmp/dagsec-step-1/image.tar (debian 12.12)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[` +
			`{"VulnerabilityID":"CVE-2023-45853","PkgName":"zlib1g","InstalledVersion":"1:1.2.13.dfsg-1","Severity":"CRITICAL"}]},` +
			`{"Target":"Node.js","Class":"lang-pkgs","Type":"node-pkg","Vulnerabilities":[` +
			vuln("CVE-2024-29415", "usr/lib/node_modules/npm/node_modules/ip/package.json") + "," +
			vuln("CVE-2024-29415", "app/node_modules/ip/package.json") + "," + vuln("CVE-2023-42282", "") + `]},` +
			`{"Target":"usr/local/bin/app","Class":"lang-pkgs","Type":"gobinary","Vulnerabilities":[` +
			`{"VulnerabilityID":"CVE-2024-24790","PkgName":"stdlib","InstalledVersion":"v1.22.0","Severity":"CRITICAL"}]},` +
			`{"Target":"/app/config.env","Class":"secret","Secrets":[{"RuleID":"aws-access-key-id","Category":"AWS","Severity":"CRITICAL","Title":"AWS Access Key ID","StartLine":2,"EndLine":2}]},` +
			`{"Target":"/tmp/dagsec-step-1/image.tar","Class":"secret","Secrets":[{"RuleID":"aws-access-key-id","Category":"AWS","Severity":"CRITICAL","Title":"AWS Access Key ID","StartLine":23,"EndLine":23}]},` +
			`{"Target":"/tmp/x.tar (bottlerocket 1.20)","Class":"os-pkgs","Type":"bottlerocket"}`)
	fs := parseTrivyImage(t, report)
	var got []string
	for _, f := range fs {
		got = append(got, f.RuleID+"@"+inImage(f))
	}
	want := []string{
		"CVE-2023-45853@var/lib/dpkg/status",
		"CVE-2024-29415@usr/lib/node_modules/npm/node_modules/ip/package.json",
		"CVE-2024-29415@app/node_modules/ip/package.json",
		"CVE-2023-42282@Node.js",
		"CVE-2024-24790@usr/local/bin/app",
		"aws-access-key-id@app/config.env",
		"aws-access-key-id@" + stages.TrivyImageConfigTarget,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings\n%v\nwant\n%v", got, want)
	}
	for _, f := range fs {
		if strings.Contains(f.Location.Path, "dagsec-step") {
			t.Errorf("%s names the tarball's path", f.RuleID)
		}
	}
	// The same image scanned from another folder gives the same fingerprints.
	moved := parseTrivyImage(t, bytes.ReplaceAll(report, []byte("/tmp/dagsec-step-1/"), []byte("/src/out/")))
	for i := range fs {
		if fs[i].Fingerprint != moved[i].Fingerprint {
			t.Errorf("%s: fingerprint depends on the tarball's path", fs[i].RuleID)
		}
	}
}

func TestParseTrivyImageRejectsBadReports(t *testing.T) {
	full := string(readSample(t, trivyAlpineImage))
	for name, in := range map[string]string{
		"empty":            "",
		"array":            `[]`,
		"truncated":        full[:len(full)/2],
		"trailing":         full + "{}",
		"fs report":        string(readSample(t, trivyPipGolden)),
		"no artifact type": `{"SchemaVersion":2,"Results":[]}`,
		"results object":   `{"SchemaVersion":2,"ArtifactType":"container_image","Results":{}}`,
		"os without type":  string(trivyImageReport(`{"Target":"x (debian 12)","Class":"os-pkgs"}`)),
		"bad vulns":        string(trivyImageReport(`{"Target":"Node.js","Class":"lang-pkgs","Vulnerabilities":{}}`)),
		"wrong schema":     `{"SchemaVersion":1,"ArtifactType":"container_image","Results":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if fs, _, err := stages.ParseTrivyImage([]byte(in)); err == nil {
				t.Fatalf("no error, got %v", ruleIDs(fs))
			}
		})
	}
	fs, _, err := stages.ParseTrivyImage([]byte(`{"SchemaVersion":2,"ArtifactType":"container_image"}`))
	if err != nil || fs == nil || len(fs) != 0 {
		t.Fatalf("clean report: %v %v", fs, err)
	}
}

// imageRunner is a host runner over an empty source with the given image
// tarball, private caches and only pinned tools.
func imageRunner(t *testing.T, tarball string) *host.Runner {
	t.Helper()
	return imageRunnerIn(t, tarball, t.TempDir())
}

// imageRunnerIn is imageRunner over a source folder.
func imageRunnerIn(t *testing.T, tarball, source string) *host.Runner {
	t.Helper()
	r, err := host.NewRunner(source, testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	r.AllowPATH = false
	r.ImageTar = tarball
	r.CacheDir = t.TempDir()
	return r
}

// planFor returns the plan of a tool that runs (not a skip note).
func planFor(t *testing.T, plans []stages.Plan, tool string) stages.Plan {
	t.Helper()
	for _, p := range plans {
		if p.Tool == tool && p.Skipped == "" {
			return p
		}
	}
	t.Fatalf("no %s plan in %+v", tool, plans)
	return stages.Plan{}
}

// The image stage's trivy step, offline (secret scan only), run for real on
// a planted image: the key in a layer file and the one in the image's
// environment are both found, and trivy's report never holds the key.
func TestTrivyImageFindsPlantedSecrets(t *testing.T) {
	testenv.Tool(t, "trivy")
	// Two layers: the base image's, and the app COPY brought in.
	base, app := map[string]string{}, map[string]string{}
	for name, body := range testenv.PlantedImageFiles() {
		if strings.HasPrefix(name, "app/") {
			app[name] = body
		} else {
			base[name] = body
		}
	}
	tarball, cfg := testenv.ImageTarball(t, testenv.ImageSpec{Layers: []testenv.LayerSpec{
		{CreatedBy: "/bin/sh -c #(nop) ADD file:4c2a8b5e1f0d in / ", Files: base},
		{CreatedBy: "COPY app/ /app/ # buildkit", Files: app},
	}, Env: []string{"PATH=/usr/bin", "AWS_ACCESS_KEY_ID=" + testenv.AWSKeyID}})
	src := testenv.Dir(t, map[string]string{"Dockerfile": "FROM debian:12\nWORKDIR /app\nCOPY app/ /app/\nUSER 1000\n"})
	r := imageRunnerIn(t, tarball, src)
	ctx := context.Background()
	built := &stages.BuiltImage{Ref: "dagsec-test:latest", Config: cfg, LayerConfig: cfg, Dockerfile: "Dockerfile"}
	plans, err := stages.PlanStage(ctx, stages.Image, stages.Options{Tools: []string{"trivy"}, Offline: true, Image: built}, r)
	if err != nil {
		t.Fatal(err)
	}
	// Named by the policy, trivy is not cut down: offline it would fail. The
	// default set, offline, scans for secrets and says so.
	if p := planFor(t, plans, "trivy"); !slices.Contains(p.Step.Argv, "vuln,secret") {
		t.Fatalf("named trivy offline: argv %v", p.Step.Argv)
	}
	plans, err = stages.PlanStage(ctx, stages.Image, stages.Options{Offline: true, Image: built}, r)
	if err != nil {
		t.Fatal(err)
	}
	p := planFor(t, plans, "trivy")
	res, err := r.Run(ctx, p.Step)
	if err != nil {
		t.Fatal(err)
	}
	if p.Step.Classify(res.ExitCode) != stages.OutcomeFindings {
		t.Fatalf("trivy exited %d: %s", res.ExitCode, res.Stderr)
	}
	// trivy masks what its secret rules match; the report still copies the
	// image's config (Metadata.ImageConfig, environment included), as the
	// image itself does, and dagsec reads nothing of it.
	var rep map[string]json.RawMessage
	if err := json.Unmarshal(res.Report, &rep); err != nil {
		t.Fatal(err)
	}
	delete(rep, "Metadata")
	if rest, _ := json.Marshal(rep); bytes.Contains(rest, []byte(testenv.AWSKeyID)) || strings.Contains(res.Stderr, testenv.AWSKeyID) {
		t.Error("trivy's results or log hold the planted key")
	}
	fs, err := p.Parse(res.Report)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.Report)
	}
	// The key in app/config.env is at the COPY that brought its layer in;
	// the one in the image's config at the Dockerfile, which set it.
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s@%s:%d (%s)", f.RuleID, f.Location.Path, f.Location.Line, inImage(f)))
		if f.Severity != findings.SeverityCritical || strings.Contains(f.Message, testenv.AWSKeyID) || f.Validate() != nil {
			t.Errorf("finding %+v", f)
		}
	}
	slices.Sort(got)
	want := []string{"aws-access-key-id@Dockerfile:1 (" + stages.TrivyImageConfigTarget + ")", "aws-access-key-id@Dockerfile:3 (app/config.env)"}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	if db := p.Database(res.Report, res.DBInfo); !strings.Contains(db, "secret scan only") {
		t.Errorf("database %q", db)
	}
	// The report is trivy's image report, tarball path and all.
	var head struct{ ArtifactType, ArtifactName string }
	if err := json.Unmarshal(res.Report, &head); err != nil || head.ArtifactType != "container_image" || head.ArtifactName == "" {
		t.Errorf("report head %+v, %v", head, err)
	}
}

// Online, trivy image reads the database the update step downloaded; with
// none in its cache (the update cannot run here) the scan fails, exit 1, no
// report: never a pass.
func TestTrivyImageVulnScanWithoutDatabaseFails(t *testing.T) {
	bin := testenv.Tool(t, "trivy")
	tarball, _ := testenv.ImageTarball(t, testenv.ImageSpec{Files: testenv.PlantedImageFiles()})
	plans, err := stages.PlanStage(context.Background(), stages.Image, stages.Options{Tools: []string{"trivy"},
		Image: &stages.BuiltImage{Ref: "x", Config: []byte(`{}`)}}, imageRunner(t, tarball))
	if err != nil {
		t.Fatal(err)
	}
	p := planFor(t, plans, "trivy")
	if len(p.Step.DBUpdate) == 0 || !slices.Contains(p.Step.Argv, "vuln,secret") {
		t.Fatalf("online plan %+v", p.Step)
	}
	out, cache, home := t.TempDir(), t.TempDir(), t.TempDir()
	argv, _ := p.Step.Expand(stages.Paths{Output: out, Cache: cache, Image: tarball, Input: t.TempDir()})
	res := testenv.Exec(t, bin, out, argv, []string{"HOME=" + home, "PATH=/usr/bin:/bin"}, trivyTimeout)
	if res.Code != 1 || p.Step.Classify(res.Code) != stages.OutcomeToolError {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	if !strings.Contains(string(res.Stderr), "skip-db-update") {
		t.Errorf("stderr: %s", lastLine(string(res.Stderr)))
	}
}
