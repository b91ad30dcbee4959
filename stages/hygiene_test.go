package stages_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/stages"
)

// credentialName is what an environment variable holding a credential is
// usually called.
var credentialName = regexp.MustCompile(`(?i)token|passw|secret|credential|auth|api_?key|private`)

// Scanners get no credentials: of every step of every stage, planned with
// every tool and every option that adds steps, only cosign, which signs with
// the caller's key, is given secrets, and only the signing ones. No step
// carries a credential as a plain environment variable or argument.
func TestOnlySigningStepsGetSecrets(t *testing.T) {
	files := map[string]string{
		"main.go": "package main\n", "go.mod": "module x\n", "go.sum": "",
		"app.py": "print(1)\n", "requirements.txt": "flask==2.0.0\n",
		"main.tf": "resource \"aws_s3_bucket\" \"b\" {}\n", "Dockerfile": "FROM alpine:3.20\n",
		"package-lock.json": "{}", "api/openapi.yaml": "openapi: 3.0.0\n",
	}
	every := []string{"gitleaks", "gosec", "bandit", "semgrep", "govulncheck", "osv-scanner", "trivy", "syft",
		"checkov", "tfsec", "hadolint", "grype", "cosign", "zap", "wapiti", stages.HardeningTool}
	probe := imgProbe{files: files, tools: every}
	signing := []string{stages.CosignKeySecret, stages.CosignPasswordSecret}

	steps := 0
	for _, name := range stages.Names() {
		d, _ := stages.Lookup(name)
		opts := stages.Options{Tools: d.Tools, Image: testImage("PATH=/bin"), Sign: true,
			Target: "http://staging:8080/", OpenAPI: "api/openapi.yaml"}
		plans, err := stages.PlanStage(context.Background(), name, opts, probe)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch name {
		case stages.Image: // signing runs after the stages, with the image's plans
			plans = append(plans, stages.SignPlans(opts, []byte("{}"), []byte("{}"))...)
		case stages.Production:
			plans = append(plans, stages.VerifyPlans(opts, []byte("PUBLIC"), nil)...)
		}
		for _, p := range plans {
			st := p.Step
			if p.Skipped != "" || p.Inline != nil {
				continue
			}
			steps++
			var secrets []string
			for _, s := range st.SecretEnv {
				secrets = append(secrets, s)
			}
			for _, s := range st.SecretFiles {
				secrets = append(secrets, s)
			}
			if p.ToolName() != "cosign" && len(secrets) > 0 {
				t.Errorf("%s is given secrets %v", st.Name, secrets)
			}
			for _, s := range secrets {
				if !slices.Contains(signing, s) {
					t.Errorf("%s is given secret %q, not a signing one", st.Name, s)
				}
			}
			for k, v := range st.Env {
				if credentialName.MatchString(k) {
					t.Errorf("%s: plain environment variable %s=%q looks like a credential", st.Name, k, v)
				}
			}
			for _, a := range st.Argv {
				if credentialName.MatchString(a) && strings.Contains(a, "=") && !strings.HasPrefix(a, "--") {
					t.Errorf("%s: argument %q looks like a credential", st.Name, a)
				}
			}
		}
	}
	if steps < 15 {
		t.Fatalf("only %d steps planned: the test no longer sees every tool", steps)
	}
}
