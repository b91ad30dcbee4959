package gitlab_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/samples"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports/gitlab"
	"github.com/dagsec/dagsec/stages"
)

// The run reports the tests write from are made of real tool output: the
// genuine samples in stages/testdata (see its SOURCES.md), parsed by the
// stages package's own parsers.

const (
	testCommit   = "3f2a9c1e5b7d4a6c8e0f1a2b3c4d5e6f7a8b9c0d"
	testImage    = "registry.example.com/shop/app:3f2a9c1e"
	testBuiltRef = "shop-app:dev"
	// testDockerfile is what testBuiltRef was built from.
	testDockerfile = "FROM python:3.12-slim\nWORKDIR /app\nENV DATABASE_URL=set-at-build\nCOPY . .\nCMD [\"python\", \"app.py\"]\n"
	// The staging URL carries credentials, as a target behind basic auth
	// does: they must never reach a report.
	testStagingUser = "stageuser"
)

// parsed checks a parser's result; the variants take those that also
// return what the tool said of its database.
func parsed(t testing.TB) (
	ok func([]findings.Finding, error) []findings.Finding,
	okT func([]findings.Finding, stages.TrivyDB, error) []findings.Finding,
	okD func([]findings.Finding, stages.DBInfo, error) []findings.Finding,
) {
	check := func(fs []findings.Finding, err error) []findings.Finding {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	return check,
		func(fs []findings.Finding, _ stages.TrivyDB, err error) []findings.Finding { return check(fs, err) },
		func(fs []findings.Finding, _ stages.DBInfo, err error) []findings.Finding { return check(fs, err) }
}

func secFiles(t testing.TB, o gitlab.Options, rep *pipeline.Report) map[string][]byte {
	t.Helper()
	m, err := o.SecurityReports(rep)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// stageRun is one stage of a fixture run.
type stageRun struct {
	name   string
	status policies.Status
	reason string
	tools  []pipeline.ToolReport
	fs     []findings.Finding
}

// tool is a tool that ran and reported fs.
func tool(name, version string, fs []findings.Finding) pipeline.ToolReport {
	return pipeline.ToolReport{Name: name, Version: version, Runner: "host", Findings: len(fs), DurationMS: 1200}
}

// runReport assembles a run report from stages, then saves and reads it
// back, as `dagsec report` would read a saved report.json (which keeps no
// finding Identity).
func runReport(t testing.TB, runs ...stageRun) *pipeline.Report {
	t.Helper()
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	rep := &pipeline.Report{
		SchemaVersion: pipeline.SchemaVersion,
		Dagsec:        "0.1.0-test",
		Runner:        "dagger",
		Source:        ".",
		Policy:        "default",
		StartedAt:     start,
		Errors:        []string{},
		Image:         &pipeline.ImageInfo{Ref: testBuiltRef},
	}
	var all []findings.Finding
	at := start
	for _, r := range runs {
		tools := slices.Clone(r.tools)
		for i, tr := range tools {
			if tr.Error == "" && tr.Skipped == "" && tr.Findings == 0 {
				tools[i].Findings = len(slices.DeleteFunc(slices.Clone(r.fs), func(f findings.Finding) bool { return f.Tool != tr.Name }))
			}
		}
		sr := pipeline.StageReport{
			Name: r.name, Status: r.status, Reason: r.reason, Tools: tools,
			Findings: len(r.fs), Counts: findings.CountBySeverity(r.fs),
			StartedAt: at, DurationMS: 2500,
		}
		if r.status == policies.StatusSkipped {
			sr.StartedAt = time.Time{}
			sr.DurationMS = 0
		}
		if r.status == policies.StatusBlocked {
			sr.Blocking = len(r.fs)
		}
		rep.Stages = append(rep.Stages, sr)
		all = append(all, r.fs...)
		at = at.Add(3 * time.Second)
	}
	findings.Sort(all)
	if all == nil {
		all = []findings.Finding{}
	}
	rep.Findings = all
	rep.Counts = findings.CountBySeverity(all)
	rep.FinishedAt = at
	rep.DurationMS = at.Sub(start).Milliseconds()
	data, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := pipeline.ReadReport(data)
	if err != nil {
		t.Fatal(err)
	}
	return saved
}

// fixture holds each stage's parsed findings.
type fixture struct {
	secrets, history, sast, iac, dockerfile, sca, licenses []findings.Finding
	buildChecks, buildEnv, image, imageSecrets, dast       []findings.Finding
}

func loadFixture(t testing.TB) fixture {
	t.Helper()
	var fx fixture
	ok, okT, okD := parsed(t)

	fx.secrets = ok(stages.ParseGitleaks(samples.Read(t, "gitleaks-v8.30.1.json")))
	// A history scan: the same parser on a gitleaks report of the shape
	// `gitleaks git --redact` writes, with the commit of the leak.
	fx.history = ok(stages.ParseGitleaks([]byte(`[{"RuleID":"generic-api-key","Description":"Detected a Generic API Key",
		"StartLine":3,"EndLine":3,"StartColumn":1,"EndColumn":40,"Match":"api_key = REDACTED","Secret":"REDACTED",
		"File":"old/settings.ini","Commit":"9b1deb4d3b7d4bad9bdd2b0d7b3dcb6d0f1e2a3b","Entropy":4.1,
		"Tags":[],"Fingerprint":"9b1deb4d:old/settings.ini:generic-api-key:3"}]`)))

	fx.sast = append(fx.sast, ok(stages.ParseGosecIn(samples.Read(t, "gosec-v2.30.0.json"), "/tmp/dagsec-sample/gosrc"))...)
	fx.sast = append(fx.sast, ok(stages.ParseBandit(samples.Read(t, "bandit-1.6.2.json")))...)

	fx.iac = append(fx.iac, okT(stages.ParseTrivy(samples.Read(t, "trivy-v0.74.0-config-terraform.json"), stages.IaC))...)
	fx.iac = append(fx.iac, ok(stages.ParseTfsec(samples.Read(t, "tfsec-v1.28.14-planted.json"), "/tmp/dagsec-iac-samples/planted"))...)

	fx.dockerfile = append(fx.dockerfile, okT(stages.ParseTrivy(samples.Read(t, "trivy-v0.74.0-config-dockerfile.json"), stages.Dockerfile))...)
	fx.dockerfile = append(fx.dockerfile, ok(stages.ParseHadolint(samples.Read(t, "hadolint-tool-check.json")))...)

	fx.sca = append(fx.sca, okD(stages.ParseGovulncheck(samples.Read(t, "govulncheck-v1.9.0-called.json.gz"), 0))...)
	fx.sca = append(fx.sca, okD(stages.ParseOSVScannerIn(samples.Read(t, "osv-scanner-v2.6.0-go-offline.json"), "/tmp/dagsec-samples/called"))...)
	fx.sca = append(fx.sca, okT(stages.ParseTrivy(samples.Read(t, "trivy-golden-pip.json"), stages.SCA))...)

	fx.licenses = okT(stages.ParseTrivy(samples.Read(t, "trivy-defectdojo-licenses-image.json"), stages.Licenses))

	// The build stage's own checks on an image that runs as root, built on
	// a base without a build time.
	origins := stages.NewImageOrigins("Dockerfile", []byte(testDockerfile), "", nil)
	fx.buildChecks = ok(stages.CheckImageConfigAt(stages.BuiltImage{
		Ref:        testBuiltRef,
		Config:     []byte(`{"created":"2026-11-19T10:00:00Z","config":{"Env":["PATH=/usr/bin"]}}`),
		BaseRef:    "python:3.12-slim",
		BaseConfig: []byte(`{"created":"1970-01-01T00:00:00Z","config":{}}`),
	}, origins, 0, time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)))
	// gitleaks on the image's environment: the build stage turns each leak
	// into a finding at the image (stages.imageEnvFindings), as here.
	for _, f := range ok(stages.ParseGitleaks(samples.Read(t, "gitleaks-v8.30.1.json")))[:1] {
		f.Stage = stages.Build
		f.Message = "the image's environment variable DATABASE_URL holds a secret (gitleaks rule " + f.RuleID + "): anyone who can pull the image can read it; pass it at run time instead"
		f.Location = origins.Env("DATABASE_URL")
		f.Tags = append(f.Tags, "image-env")
		fx.buildEnv = append(fx.buildEnv, f)
	}
	findings.AssignFingerprints(fx.buildEnv)

	// Image findings at the Dockerfile the image was built from.
	fx.image = append(fx.image, okT(stages.ParseTrivyImageAt(samples.Read(t, "trivy-golden-alpine-310-image.json"), origins))...)
	fx.image = append(fx.image, ok(stages.ParseGrypeAt(samples.Read(t, "grype-v0.112.0-npm-directory.json"), origins))...)
	for _, f := range okT(stages.ParseTrivy(samples.Read(t, "trivy-defectdojo-misconfigurations-and-secrets.json"), stages.Image)) {
		if slices.Contains(f.Tags, "secret") {
			fx.imageSecrets = append(fx.imageSecrets, f)
		}
	}

	fx.dast = append(fx.dast, ok(stages.ParseZAP(samples.Read(t, "zap-2.16.1-baseline.json")))...)
	fx.dast = append(fx.dast, ok(stages.ParseWapiti(samples.Read(t, "wapiti-3.0.4-planted.json")))...)

	for name, fs := range map[string][]findings.Finding{"secrets": fx.secrets, "sast": fx.sast, "iac": fx.iac,
		"dockerfile": fx.dockerfile, "sca": fx.sca, "licenses": fx.licenses, "build": fx.buildChecks,
		"image": fx.image, "image secrets": fx.imageSecrets, "dast": fx.dast} {
		if len(fs) == 0 {
			t.Fatalf("the %s samples gave no findings", name)
		}
	}
	return fx
}

// fullRun is a Dagger run of every stage.
func (fx fixture) fullRun(t testing.TB) *pipeline.Report {
	t.Helper()
	image := slices.Concat(fx.image, fx.imageSecrets)
	return runReport(t,
		stageRun{name: stages.Secrets, status: policies.StatusBlocked, reason: "3 findings at or above info",
			tools: []pipeline.ToolReport{tool("gitleaks", "v8.30.1", nil)}, fs: slices.Concat(fx.secrets, fx.history)},
		stageRun{name: stages.SAST, status: policies.StatusWarned, reason: "findings below critical",
			tools: []pipeline.ToolReport{tool("gosec", "v2.30.0", nil), tool("bandit", "1.6.2", nil),
				{Name: "semgrep", Runner: "host", Skipped: "semgrep runs only in the Dagger module"}}, fs: fx.sast},
		stageRun{name: stages.IaC, status: policies.StatusBlocked, reason: "findings at or above high",
			tools: []pipeline.ToolReport{tool("trivy", "0.74.0", nil), tool("tfsec", "v1.28.14", nil)}, fs: fx.iac},
		stageRun{name: stages.Dockerfile, status: policies.StatusBlocked, reason: "findings at or above high",
			tools: []pipeline.ToolReport{tool("trivy", "0.74.0", nil), tool("hadolint", "v2.12.0", nil)}, fs: fx.dockerfile},
		stageRun{name: stages.SCA, status: policies.StatusBlocked, reason: "findings at or above high",
			tools: []pipeline.ToolReport{tool("govulncheck", "v1.9.0", nil), tool("osv-scanner", "v2.6.0", nil), tool("trivy", "0.74.0", nil)}, fs: fx.sca},
		stageRun{name: stages.Licenses, status: policies.StatusBlocked, reason: "denied licenses",
			tools: []pipeline.ToolReport{tool("syft", "v1.57.1", nil)}, fs: fx.licenses},
		stageRun{name: stages.Build, status: policies.StatusBlocked, reason: "findings at or above high",
			tools: []pipeline.ToolReport{tool("dagsec", "0.1.0-test", fx.buildChecks), tool("gitleaks", "v8.30.1", fx.buildEnv)},
			fs:    slices.Concat(fx.buildChecks, fx.buildEnv)},
		stageRun{name: stages.Image, status: policies.StatusWarned, reason: "findings below critical",
			tools: []pipeline.ToolReport{tool("trivy", "0.74.0", nil), tool("grype", "v0.112.0", nil), tool("syft", "v1.57.1", nil)}, fs: image},
		stageRun{name: stages.Staging, status: policies.StatusPassed,
			reason: "built image served at http://" + testStagingUser + ":" + "hunter2" + "@staging.internal:8080/"},
		stageRun{name: stages.DAST, status: policies.StatusWarned, reason: "warn only",
			tools: []pipeline.ToolReport{tool("zap", "2.16.1", nil), tool("wapiti", "3.0.4", nil)}, fs: fx.dast},
		stageRun{name: stages.Production, status: policies.StatusSkipped, reason: "not deployed: earlier stages blocked"},
	)
}

// validateSchema checks doc against a schema of testdata/schemas and
// returns the problems.
func validateSchema(t testing.TB, schemaFile string, doc []byte) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "schemas", schemaFile))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(raw))
	if err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	res, err := schema.Validate(gojsonschema.NewBytesLoader(doc))
	if err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	var out []string
	for _, e := range res.Errors() {
		out = append(out, e.String())
	}
	return out
}

func decode[T any](t testing.TB, data []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return v
}
