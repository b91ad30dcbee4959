package stages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/attest"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

// imgProbe is a source with the given files, on a runner with the given
// tools.
type imgProbe struct {
	files map[string]string
	tools []string
}

func (p imgProbe) Exists(_ context.Context, rel string) (bool, error) {
	_, ok := p.files[rel]
	return ok, nil
}

func (p imgProbe) Glob(_ context.Context, pattern string) ([]string, error) {
	var out []string
	for f := range p.files {
		if stages.MatchGlob(pattern, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (p imgProbe) ReadFile(_ context.Context, rel string) ([]byte, error) {
	s, ok := p.files[rel]
	if !ok {
		return nil, os.ErrNotExist
	}
	return []byte(s), nil
}

func (p imgProbe) HasTool(_ context.Context, tool string) bool { return slices.Contains(p.tools, tool) }

var imageTools = []string{"gitleaks", "trivy", "grype", "syft", "cosign"}

// testImage is a built image running as root with the given environment.
func testImage(env ...string) *stages.BuiltImage {
	cfg, _ := json.Marshal(map[string]any{"config": map[string]any{"Env": env}})
	return &stages.BuiltImage{Ref: "app:1.0", Config: cfg}
}

// planImageStage plans a delivery stage and checks what every plan of it
// must hold: valid steps that name no path of this machine.
func planImageStage(t *testing.T, stage string, opts stages.Options, probe stages.Probe) []stages.Plan {
	t.Helper()
	plans, err := stages.PlanStage(context.Background(), stage, opts, probe)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		if p.Stage != stage || p.Tool == "" {
			t.Errorf("plan %+v", p)
		}
		if p.Skipped != "" || p.Inline != nil {
			continue
		}
		st := p.Step
		if err := st.Validate(); err != nil {
			t.Error(err)
		}
		for _, a := range append(slices.Clone(st.Argv), st.Workdir) {
			if strings.HasPrefix(a, "/") {
				t.Errorf("%s: %q is a path of this machine, not a placeholder", st.Name, a)
			}
		}
		if p.Parse == nil && st.Report != "" {
			t.Errorf("%s: a report and no parser", st.Name)
		}
	}
	return plans
}

// byTool indexes plans as "tool" for runs and "tool: skipped" for notes.
func byTool(plans []stages.Plan) map[string]stages.Plan {
	out := map[string]stages.Plan{}
	for _, p := range plans {
		k := p.Tool
		if p.Skipped != "" {
			k += ": skipped"
		}
		out[k] = p
	}
	return out
}

func TestPlanBuildNeedsAnImage(t *testing.T) {
	probe := imgProbe{tools: imageTools}
	for name, img := range map[string]*stages.BuiltImage{
		"no image":   nil,
		"bad config": {Ref: "x", Config: []byte("{")},
		"no config":  {Ref: "x"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := stages.PlanStage(context.Background(), stages.Build, stages.Options{Image: img}, probe); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := stages.PlanStage(context.Background(), stages.Image, stages.Options{}, probe); err == nil {
		t.Fatal("image stage without an image: no error")
	}
}

func TestPlanBuild(t *testing.T) {
	img := testImage("PATH=/usr/bin", "MULTI=a\nb", "AWS_ACCESS_KEY_ID="+testenv.AWSKeyID)
	plans := byTool(planImageStage(t, stages.Build, stages.Options{Image: img}, imgProbe{tools: imageTools}))
	if len(plans) != 2 {
		t.Fatalf("plans %v", plans)
	}
	inline := plans[stages.HardeningTool]
	if inline.Inline == nil {
		t.Fatalf("dagsec plan %+v", inline)
	}
	fs, err := inline.Inline(context.Background(), nil)
	if err != nil || len(fs) != 1 || fs[0].RuleID != stages.ImageRootUser {
		t.Fatalf("inline checks: %v %v", ruleIDs(fs), err)
	}
	st := plans["gitleaks"].Step
	env := string(st.Inputs[stages.ImageEnvInput])
	if env != "PATH=/usr/bin\nMULTI=a\nb\nAWS_ACCESS_KEY_ID="+testenv.AWSKeyID+"\n" {
		t.Errorf("env file %q", env)
	}
	if st.Name != "build/gitleaks" || st.Workdir != stages.InputDir || st.Argv[len(st.Argv)-1] != stages.ImageEnvInput ||
		!slices.Contains(st.Argv, "--redact") || !slices.Contains(st.Argv, stages.InputDir+"/gitleaks.toml") ||
		st.Inputs["gitleaks.toml"] == nil || st.NeedsImage {
		t.Errorf("gitleaks step %+v", st)
	}
	for _, a := range st.Argv {
		if strings.Contains(a, testenv.AWSKeyID) {
			t.Error("the secret is in argv")
		}
	}

	// The source's .gitleaks.toml applies here as in the secrets stage.
	plans = byTool(planImageStage(t, stages.Build, stages.Options{Image: img},
		imgProbe{files: map[string]string{".gitleaks.toml": "[extend]\nuseDefault = true\n"}, tools: imageTools}))
	if st := plans["gitleaks"].Step; !slices.Contains(st.Argv, stages.SourceDir+"/.gitleaks.toml") || st.Inputs["gitleaks.toml"] != nil {
		t.Errorf("repository config: %v", st.Argv)
	}
}

func TestPlanBuildSkips(t *testing.T) {
	plans := byTool(planImageStage(t, stages.Build, stages.Options{Image: testImage()}, imgProbe{tools: imageTools}))
	if p := plans["gitleaks: skipped"]; !strings.Contains(p.Skipped, "no environment variables") || p.Unavailable {
		t.Errorf("empty env: %+v", plans)
	}
	plans = byTool(planImageStage(t, stages.Build, stages.Options{Image: testImage("A=1")}, imgProbe{}))
	if p := plans["gitleaks: skipped"]; !p.Unavailable || plans[stages.HardeningTool].Inline == nil {
		t.Errorf("no gitleaks: %+v", plans)
	}
}

// A multi-line value keeps the variable found by the line gitleaks gives.
func TestBuildEnvFindingsNameTheVariable(t *testing.T) {
	img := testImage("A=1", "CERT=-----BEGIN\nx\n-----END", "TOKEN=t")
	p := byTool(planImageStage(t, stages.Build, stages.Options{Image: img}, imgProbe{tools: imageTools}))["gitleaks"]
	report := func(line int) []byte {
		return []byte(`[{"RuleID":"generic-api-key","Description":"Generic API Key","StartLine":` + strconvItoa(line) +
			`,"File":"image-env.txt","Match":"TOKEN=REDACTED","Entropy":3.5}]`)
	}
	for line, want := range map[int]string{1: "A", 2: "CERT", 4: "CERT", 5: "TOKEN"} {
		fs, err := p.Parse(report(line))
		if err != nil {
			t.Fatal(err)
		}
		f := fs[0]
		if !strings.Contains(f.Message, "environment variable "+want+" holds a secret") || f.Stage != stages.Build ||
			f.Location != (findings.Location{}) || f.Severity != findings.SeverityCritical { // no Dockerfile: no file
			t.Errorf("line %d: %+v", line, f)
		}
	}
	for _, bad := range [][]byte{report(6), report(0),
		[]byte(`[{"RuleID":"x","StartLine":1,"File":"other.txt"}]`), []byte(`{}`), nil} {
		if _, err := p.Parse(bad); err == nil {
			t.Errorf("no error for %s", bad)
		}
	}
}

func strconvItoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestPlanImageOnline(t *testing.T) {
	plans := byTool(planImageStage(t, stages.Image, stages.Options{Image: testImage()}, imgProbe{tools: imageTools}))
	if len(plans) != 3 {
		t.Fatalf("plans %v (no cosign unless asked to sign)", plans)
	}
	for _, tool := range []string{"trivy", "grype", "syft"} {
		st := plans[tool].Step
		if !st.NeedsImage || st.Workdir != stages.OutputDir || st.Name != "image/"+tool || st.Image == "" {
			t.Errorf("%s step %+v", tool, st)
		}
		if !slices.ContainsFunc(st.Argv, func(a string) bool { return strings.Contains(a, stages.ImageTar) }) {
			t.Errorf("%s does not read the tarball: %v", tool, st.Argv)
		}
	}
	trivy := plans["trivy"].Step
	if !slices.Contains(trivy.Argv, "vuln,secret") || len(trivy.DBUpdate) == 0 || len(trivy.DBInfo) == 0 ||
		!slices.Equal(trivy.Caches, []string{"trivy"}) || slices.Contains(trivy.Argv, "--skip-java-db-update") || trivy.DBRefresh != 24*time.Hour {
		t.Errorf("trivy step %+v", trivy)
	}
	grype := plans["grype"].Step
	if grype.Argv[1] != "docker-archive:"+stages.ImageTar || !slices.Equal(grype.FindingCodes, []int{2}) ||
		grype.Env["GRYPE_DB_AUTO_UPDATE"] != "false" || grype.Env["GRYPE_DB_CACHE_DIR"] != stages.CacheDir+"/grype" ||
		grype.Env["GRYPE_CONFIG"] != stages.InputDir+"/"+stages.GrypeConfigInput || grype.Inputs[stages.GrypeConfigInput] == nil ||
		!slices.Equal(grype.DBUpdate, []string{"grype", "db", "update"}) || plans["grype"].Database == nil {
		t.Errorf("grype step %+v", grype)
	}
	syft := plans["syft"].Step
	if syft.Report != stages.SBOMImageCycloneDX || !slices.Equal(syft.Artifacts, []string{stages.SBOMImageCycloneDX}) ||
		syft.Inputs[stages.SyftConfigInput] == nil || syft.Env["SYFT_CHECK_FOR_APP_UPDATE"] != "false" {
		t.Errorf("syft step %+v", syft)
	}
}

func TestPlanImageOffline(t *testing.T) {
	probe := imgProbe{tools: imageTools}
	plans := byTool(planImageStage(t, stages.Image, stages.Options{Image: testImage(), Offline: true}, probe))
	trivy := plans["trivy"].Step
	if !slices.Contains(trivy.Argv, "secret") || slices.Contains(trivy.Argv, "vuln,secret") || len(trivy.DBUpdate) != 0 {
		t.Errorf("offline trivy %+v", trivy)
	}
	if note := plans["trivy: skipped"].Skipped; !strings.Contains(note, "vulnerabilities not checked") {
		t.Errorf("offline trivy note %q", note)
	}
	if _, ok := plans["grype"]; ok || !strings.Contains(plans["grype: skipped"].Skipped, "offline") {
		t.Errorf("offline grype: %+v", plans)
	}
	if plans["syft"].Step.Name == "" {
		t.Error("syft needs no network and must run offline")
	}
	// Named by the policy, both tools run as online, and fail without
	// their databases rather than pass.
	plans = byTool(planImageStage(t, stages.Image, stages.Options{Image: testImage(), Offline: true,
		Tools: []string{"trivy", "grype"}}, probe))
	if len(plans) != 2 || !slices.Contains(plans["trivy"].Step.Argv, "vuln,secret") || len(plans["grype"].Step.DBUpdate) == 0 {
		t.Errorf("named tools offline: %+v", plans)
	}
}

func TestPlanImageSigning(t *testing.T) {
	// Asked to sign, the image stage plans no cosign run: the pipeline
	// signs once every other stage has judged the image (SignPlans).
	plans := byTool(planImageStage(t, stages.Image, stages.Options{Image: testImage(), Sign: true, Tools: []string{"syft", "cosign"}},
		imgProbe{tools: imageTools}))
	if _, ok := plans["cosign"]; ok || len(plans) != 1 {
		t.Errorf("signing planned in the image stage: %+v", plans)
	}
	// Named without signing, it says why it does not run.
	plans = byTool(planImageStage(t, stages.Image, stages.Options{Image: testImage(), Tools: []string{"syft", "cosign"}},
		imgProbe{tools: imageTools}))
	if !strings.Contains(plans["cosign: skipped"].Skipped, "signing") || plans["cosign"].Step.Name != "" {
		t.Errorf("cosign without signing: %+v", plans)
	}
}

func TestSignPlans(t *testing.T) {
	plans := stages.SignPlans(stages.Options{}, []byte(`{"bomFormat":"CycloneDX"}`), []byte(`{"buildDefinition":{}}`))
	want := []struct{ name, sub, typ, artifact, input string }{
		{"image/cosign-sign", "sign-blob", "", attest.Signature, ""},
		{"image/cosign-attest-sbom", "attest-blob", attest.TypeCycloneDX, attest.SBOMAttestation, stages.SBOMImageCycloneDX},
		{"image/cosign-attest-provenance", "attest-blob", attest.TypeProvenance, attest.ProvenanceAttestation, stages.ProvenanceInput},
	}
	if len(plans) != len(want) {
		t.Fatalf("%d plans, want %d", len(plans), len(want))
	}
	for i, w := range want {
		st := plans[i].Step
		if st.Name != w.name || st.Argv[1] != w.sub || st.Argv[len(st.Argv)-1] != stages.ImageTar || !st.NeedsImage ||
			!slices.Contains(st.Argv, "--tlog-upload=false") || !slices.Contains(st.Argv, stages.InputDir+"/"+stages.CosignKeyInput) ||
			st.SecretFiles[stages.CosignKeyInput] != stages.CosignKeySecret || st.SecretEnv["COSIGN_PASSWORD"] != stages.CosignPasswordSecret ||
			!slices.Equal(st.Artifacts, []string{w.artifact}) || st.Report != "" || len(st.Env) != 0 || plans[i].Target != attest.Checks[i].Name {
			t.Errorf("%s: %+v", w.name, st)
		}
		if w.typ != "" && (!slices.Contains(st.Argv, w.typ) || st.Inputs[w.input] == nil || !slices.Contains(st.Argv, stages.InputDir+"/"+w.input)) {
			t.Errorf("%s attests no %s predicate from its input: %v", w.name, w.typ, st.Argv)
		}
	}
}

func TestVerifyPlans(t *testing.T) {
	files := map[string][]byte{attest.Signature: []byte("sig"), attest.SBOMAttestation: []byte("sbom"), attest.ProvenanceAttestation: []byte("prov")}
	plans := stages.VerifyPlans(stages.Options{}, []byte("PUBLIC"), files)
	if len(plans) != len(attest.Checks) {
		t.Fatalf("%d plans", len(plans))
	}
	for i, c := range attest.Checks {
		st := plans[i].Step
		sub := "verify-blob"
		if c.Type != "" {
			sub = "verify-blob-attestation"
			if !slices.Contains(st.Argv, c.Type) {
				t.Errorf("%s: no --type %s: %v", c.Name, c.Type, st.Argv)
			}
		}
		if st.Argv[1] != sub || string(st.Inputs[stages.CosignPublicKeyInput]) != "PUBLIC" || string(st.Inputs[c.File]) != string(files[c.File]) ||
			len(st.SecretFiles)+len(st.SecretEnv) != 0 || !slices.Contains(st.Argv, "--insecure-ignore-tlog") || st.Argv[len(st.Argv)-1] != stages.ImageTar {
			t.Errorf("%s: %+v", c.Name, st)
		}
	}
}

func TestPlanImageUnavailableTools(t *testing.T) {
	plans := byTool(planImageStage(t, stages.Image, stages.Options{Image: testImage()}, imgProbe{tools: []string{"trivy", "syft"}}))
	if p := plans["grype: skipped"]; !p.Unavailable || !strings.Contains(p.Skipped, "grype") {
		t.Errorf("grype on a runner without it: %+v", plans)
	}
	if _, err := stages.PlanStage(context.Background(), stages.Image, stages.Options{Image: testImage(), Tools: []string{"zap"}},
		imgProbe{tools: imageTools}); err == nil {
		t.Error("a tool of another stage was accepted")
	}
}

func TestParseImageSBOM(t *testing.T) {
	fs, err := stages.ParseImageSBOM(readSample(t, "testdata/syft-v1.57.1-npm.cdx.json"))
	if err != nil || fs == nil || len(fs) != 0 {
		t.Fatalf("%v %v", fs, err)
	}
	for _, bad := range []string{"", "{", `{"bomFormat":"SPDX"}`, `[]`, `{"bomFormat":"CycloneDX"}`} {
		if _, err := stages.ParseImageSBOM([]byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// The build stage's gitleaks step, run for real through the host runner on
// an image environment with planted credentials: both found, each at the
// Dockerfile instruction that set its variable, naming the variables and
// never the values.
func TestBuildGitleaksFindsSecretsInImageEnv(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	r := imageRunnerIn(t, "", testenv.Dir(t, map[string]string{"Dockerfile": "FROM alpine:3.22\nENV LOG_LEVEL=info\n" +
		"ARG AWS_ACCESS_KEY_ID\nENV DATABASE_URL=postgres://set-at-build\nCMD [\"/app\"]\n"}))
	img := testImage("PATH=/usr/local/bin:/usr/bin", "AWS_ACCESS_KEY_ID="+testenv.AWSKeyID,
		"DATABASE_URL="+testenv.DatabaseURL, "LOG_LEVEL=info")
	img.Dockerfile = "Dockerfile"
	lines := map[string]int{"AWS_ACCESS_KEY_ID": 3, "DATABASE_URL": 4}
	ctx := context.Background()
	plans, err := stages.PlanStage(ctx, stages.Build, stages.Options{Image: img}, r)
	if err != nil {
		t.Fatal(err)
	}
	p := byTool(plans)["gitleaks"]
	res, err := r.Run(ctx, p.Step)
	if err != nil {
		t.Fatal(err)
	}
	if p.Step.Classify(res.ExitCode) != stages.OutcomeFindings {
		t.Fatalf("gitleaks exited %d: %s", res.ExitCode, res.Stderr)
	}
	for _, s := range []string{testenv.AWSKeyID, testenv.DBPassword} {
		if bytes.Contains(res.Report, []byte(s)) || strings.Contains(res.Stderr, s) {
			t.Errorf("gitleaks' report or log holds a planted value")
		}
	}
	fs, err := p.Parse(res.Report)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, f := range fs {
		for _, s := range []string{testenv.AWSKeyID, testenv.DBPassword} {
			if strings.Contains(f.Message, s) || strings.Contains(f.Identity, s) || strings.Contains(f.RuleName, s) {
				t.Errorf("finding %s holds a planted value", f.RuleID)
			}
		}
		if f.Stage != stages.Build || f.Tool != "gitleaks" || f.Validate() != nil {
			t.Errorf("finding %+v", f)
		}
		for _, v := range []string{"AWS_ACCESS_KEY_ID", "DATABASE_URL"} {
			if strings.Contains(f.Message, "variable "+v+" holds a secret") {
				vars[v] = f.RuleID
				if f.Location != (findings.Location{Path: "Dockerfile", Line: lines[v]}) {
					t.Errorf("%s at %+v, want Dockerfile:%d", v, f.Location, lines[v])
				}
			}
		}
	}
	if len(fs) != 2 || vars["AWS_ACCESS_KEY_ID"] != "aws-access-token" || vars["DATABASE_URL"] != "dagsec-database-url-credentials" {
		t.Fatalf("findings %v, variables %v", ruleIDs(fs), vars)
	}
	if fs[0].Fingerprint == fs[1].Fingerprint {
		t.Error("one fingerprint for two secrets")
	}

	// A clean environment: exit 0 and no findings.
	plans, err = stages.PlanStage(ctx, stages.Build, stages.Options{Image: testImage("PATH=/usr/bin", "LANG=C.UTF-8")}, r)
	if err != nil {
		t.Fatal(err)
	}
	p = byTool(plans)["gitleaks"]
	if res, err = r.Run(ctx, p.Step); err != nil || p.Step.Classify(res.ExitCode) != stages.OutcomeClean {
		t.Fatalf("clean env: exit %d, %v: %s", res.ExitCode, err, res.Stderr)
	}
	if fs, err := p.Parse(res.Report); err != nil || len(fs) != 0 {
		t.Fatalf("clean env: %v %v", ruleIDs(fs), err)
	}
}

// The image stage's syft step, run for real on a planted image tarball:
// the SBOM artifact lists the Debian and npm packages in the layer.
func TestSyftImageSBOMListsPackages(t *testing.T) {
	testenv.Tool(t, "syft")
	tarball, _ := testenv.ImageTarball(t, testenv.ImageSpec{Files: testenv.PlantedImageFiles()})
	r := imageRunner(t, tarball)
	ctx := context.Background()
	plans, err := stages.PlanStage(ctx, stages.Image, stages.Options{Tools: []string{"syft"}, Image: testImage()}, r)
	if err != nil {
		t.Fatal(err)
	}
	p := planFor(t, plans, "syft")
	res, err := r.Run(ctx, p.Step)
	if err != nil {
		t.Fatal(err)
	}
	if p.Step.Classify(res.ExitCode) != stages.OutcomeClean {
		t.Fatalf("syft exited %d: %s", res.ExitCode, res.Stderr)
	}
	fs, err := p.Parse(res.Report)
	if err != nil || len(fs) != 0 {
		t.Fatalf("findings %v, %v", fs, err)
	}
	sbom := res.Artifacts[stages.SBOMImageCycloneDX]
	var bom struct {
		BOMFormat  string
		Components []struct{ Type, Name, Version, PURL string }
	}
	if err := json.Unmarshal(sbom, &bom); err != nil || bom.BOMFormat != "CycloneDX" {
		t.Fatalf("SBOM: %v", err)
	}
	got := map[string]string{}
	for _, c := range bom.Components {
		got[c.Name] = c.PURL
	}
	if !strings.HasPrefix(got["zlib1g"], "pkg:deb/debian/zlib1g@") || got["left-pad"] != "pkg:npm/left-pad@1.3.0" {
		t.Fatalf("components %v", got)
	}
}

// On the host grype is never installed (its database host is unreachable):
// it is left out as unavailable. A signing step without its key fails
// rather than pass unsigned.
func TestImageToolsMissingOnHost(t *testing.T) {
	tarball, _ := testenv.ImageTarball(t, testenv.ImageSpec{Files: testenv.PlantedImageFiles()})
	r := imageRunner(t, tarball)
	r.AutoInstall = false
	ctx := context.Background()
	plans, err := stages.PlanStage(ctx, stages.Image, stages.Options{Image: testImage(), Sign: true}, r)
	if err != nil {
		t.Fatal(err)
	}
	idx := byTool(plans)
	if p := idx["grype: skipped"]; !p.Unavailable {
		t.Errorf("grype: %+v", idx)
	}
	sign := stages.SignPlans(stages.Options{}, []byte("{}"), []byte("{}"))[0]
	if _, err := r.Run(ctx, sign.Step); err == nil || !strings.Contains(err.Error(), "cosign") {
		t.Fatalf("cosign without a key: %v", err)
	}
}
