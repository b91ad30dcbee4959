package stages_test

import (
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/samples"
	"github.com/dagsec/dagsec/stages"
)

// Every parser explains each rule with what its tool's genuine report says
// of it (the samples' provenance is in testdata/SOURCES.md): the rule's
// description, how to fix it, the advisory's facts, links. The findings of
// one rule share one explanation.
func TestParsersExplainTheirRules(t *testing.T) {
	parse := func(fs []findings.Finding, err error) func(*testing.T) []findings.Finding {
		return func(t *testing.T) []findings.Finding {
			if err != nil {
				t.Fatal(err)
			}
			return fs
		}
	}
	drop := func(fs []findings.Finding, _ any, err error) ([]findings.Finding, error) { return fs, err }
	dropDB := func(fs []findings.Finding, _ stages.TrivyDB, err error) ([]findings.Finding, error) { return fs, err }
	read := func(name string) []byte { return samples.Read(t, name) }
	for _, tc := range []struct {
		tool, rule string
		fs         func(*testing.T) []findings.Finding
		want       []string // in Help, from the tool's report
	}{
		{"gosec", "G204", parse(stages.ParseGosecIn(read("gosec-v2.30.0.json"), "/tmp/dagsec-sample/gosrc")),
			[]string{"Audit use of command execution", "CWE-78: Improper Neutralization of Special Elements used in an OS Command", "https://cwe.mitre.org/data/definitions/78.html"}},
		{"bandit", "B403", parse(stages.ParseBandit(read("bandit-1.6.2.json"))),
			[]string{"Consider possible security implications associated with pickle module.", "bandit test B403 (blacklist)",
				"https://bandit.readthedocs.io/en/latest/blacklists/blacklist_imports.html#b403-import-pickle"}},
		{"semgrep", "bandit.B307", parse(stages.ParseSemgrep(read("semgrep-0.82.0-with-suppressions.sarif"))),
			[]string{"Consider using safer ast.literal_eval."}},
		{"trivy", "CVE-2019-14806", parse(dropDB(stages.ParseTrivy(read("trivy-golden-pip.json"), stages.SCA))),
			[]string{"insufficient debugger PIN randomness", "Docker containers share the same machine id", "Fix: Upgrade Werkzeug to 0.15.3 or later.", "CWE: CWE-331", "https://avd.aquasec.com/nvd/cve-2019-14806"}},
		{"trivy", "DS-0002", parse(dropDB(stages.ParseTrivy(read("trivy-v0.74.0-config-dockerfile.json"), stages.Dockerfile))),
			[]string{"Image user should not be 'root'. Running containers with 'root' user", "Fix: Add 'USER <non root user name>' line to the Dockerfile", "https://avd.aquasec.com/misconfig/ds-0002"}},
		{"trivy", "GPL-2.0", parse(dropDB(stages.ParseTrivy(read("trivy-defectdojo-licenses-image.json"), stages.Licenses))),
			[]string{"licensed under GPL-2.0, which trivy classifies as restricted"}},
		{"govulncheck", "GO-2020-0015", parse(drop(stages.ParseGovulncheck(samples.Read(t, "govulncheck-v1.9.0-called.json.gz"), 0))),
			[]string{"Infinite loop when decoding some inputs in golang.org/x/text", "UTF16 decoder", "Aliases: CVE-2020-14040, GHSA-5rcv-m4m3-hfh7", "Fixed in: golang.org/x/text 0.3.3", "https://go.dev/cl/238238"}},
		{"osv-scanner", "GO-2020-0015", parse(drop(stages.ParseOSVScannerIn(read("osv-scanner-v2.6.0-go-offline.json"), "/tmp/dagsec-samples/called"))),
			[]string{"Infinite loop when decoding some inputs", "Fix: Upgrade golang.org/x/text to 0.3.3 or later.", "https://osv.dev/vulnerability/GO-2020-0015"}},
		{"grype", "GHSA-qx2v-qp2m-jg93", parse(stages.ParseGrype(read("grype-v0.112.0-npm-directory.json"))),
			[]string{"PostCSS has XSS via Unescaped </style>", "Fixed in: postcss 8.5.10", "Aliases: CVE-2026-41305", "CWE: CWE-79", "https://github.com/advisories/GHSA-qx2v-qp2m-jg93"}},
		{"syft", stages.RuleLicenseUnknown, parse(stages.EvaluateLicenses(read("syft-v1.57.1-npm.cdx.json"), stages.LicensePolicy{Deny: stages.DefaultDeniedLicenses})),
			[]string{"declares no license", "This run's policy for unknown licenses: warn", stages.RulesDocURL + "#license-unknown"}},
		{"checkov", "CKV_K8S_40", parse(stages.ParseCheckov(read("checkov-3.2.502-cloudshield-trimmed.json"))),
			[]string{"Containers should run as a high UID to avoid host conflict", "Prisma Cloud id: BC_K8S_37", "https://docs.prismacloud.io/"}},
		{"hadolint", "SC2225", parse(stages.ParseHadolint(read("hadolint-tool-check.json"))),
			[]string{"This cp has no destination.", "https://www.shellcheck.net/wiki/SC2225"}},
		{"tfsec", "AVD-AWS-0107", parse(stages.ParseTfsec(read("tfsec-v1.28.14-planted.json"), "/tmp/dagsec-iac-samples/planted")),
			[]string{"An ingress security group rule allows traffic from /0.", "Your port exposed to the internet", "Fix: Set a more restrictive cidr range"}},
		{"gitleaks", "dagsec-database-url-credentials", parse(stages.ParseGitleaks(read("gitleaks-v8.30.1.json"))),
			[]string{"Database connection string with an embedded password", "Fix: Revoke and rotate the credential"}},
		{"zap", "zap-10038", parse(stages.ParseZAP(read("zap-2.16.1-baseline.json"))),
			[]string{"Content Security Policy (CSP) is an added layer of security", "Fix: Ensure that your web server", "CWE: CWE-693", "https://www.w3.org/TR/CSP/"}},
		{"wapiti", "wapiti-csp", parse(stages.ParseWapiti(read("wapiti-3.0.4-sample-app.json"))),
			[]string{"Content Security Policy (CSP) is an added layer", "Fix: Configuring Content Security Policy", "https://developer.mozilla.org/en-US/docs/Web/HTTP/CSP"}},
		{"dagsec", stages.HardeningRootUser, parse(stages.CheckDockerfile("Dockerfile", []byte("FROM alpine:3.22\n"))),
			[]string{stages.OwnRuleDoc(stages.HardeningRootUser).Description, stages.RulesDocURL + "#dagsec-df001"}},
	} {
		t.Run(tc.tool+"/"+tc.rule, func(t *testing.T) {
			var rule *findings.Rule
			n := 0
			for _, f := range tc.fs(t) {
				if f.RuleID != tc.rule {
					continue
				}
				n++
				if f.Rule == nil || f.Rule.Description == "" || f.Rule.Help == "" || f.Rule.HelpMarkdown == "" {
					t.Fatalf("%s finding without an explanation: %+v", tc.rule, f.Rule)
				}
				if rule != nil && rule != f.Rule && *rule != *f.Rule {
					t.Errorf("two explanations of %s", tc.rule)
				}
				rule = f.Rule
			}
			if n == 0 {
				t.Fatalf("no %s finding in the sample", tc.rule)
			}
			for _, w := range tc.want {
				if !strings.Contains(rule.Help, w) {
					t.Errorf("help lacks %q:\n%s", w, rule.Help)
				}
			}
		})
	}
}
