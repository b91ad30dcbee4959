package policies

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// want is one row of a preset's table: block_on and warn_only per stage.
type want struct {
	blockOn  findings.Severity
	warnOnly bool
}

var (
	crit = findings.SeverityCritical
	high = findings.SeverityHigh
	med  = findings.SeverityMedium
	low  = findings.SeverityLow
	info = findings.SeverityInfo
)

// defaultDeny is the default preset's license deny list.
var defaultDeny = []string{
	"GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-2.0+",
	"GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later", "GPL-3.0+",
	"AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "AGPL-3.0+",
}

// presetExtras sets the stage-specific settings a preset documents.
func presetExtras(preset, stage string, sp *StagePolicy) {
	switch stage {
	case stages.SAST:
		sp.Rulesets = []string{"p/owasp-top-ten", "p/python", "p/jwt", "p/sql-injection"}
	case stages.SCA:
		sp.UnreachableSeverity, sp.DBRefresh = low, 24*time.Hour
		if preset == "strict" {
			sp.UnreachableSeverity = med
		}
	case stages.Build:
		sp.MaxBaseAge = 30 * 24 * time.Hour
	case stages.API:
		sp.MinScore = 70
		if preset == "strict" {
			sp.MinScore = 80
		}
	case stages.Licenses:
		sp.Licenses = stages.LicensePolicy{Deny: defaultDeny, Unknown: stages.LicenseWarn}
		if preset == "strict" {
			sp.Licenses.Unknown = stages.LicenseBlock
		}
	}
}

func TestPresetsMatchTable(t *testing.T) {
	defaults := map[string]want{
		stages.Secrets: {info, false}, stages.SAST: {crit, false}, stages.SCA: {high, false},
		stages.Image: {crit, false}, stages.IaC: {high, false}, stages.Dockerfile: {high, false},
		stages.Licenses: {high, false}, stages.DAST: {high, true}, stages.Build: {high, false},
		stages.Staging: {crit, false}, stages.Production: {crit, false}, stages.API: {crit, false},
	}
	strict := map[string]want{
		stages.Secrets: {info, false}, stages.SAST: {high, false}, stages.SCA: {med, false},
		stages.Image: {med, false}, stages.IaC: {med, false}, stages.Dockerfile: {high, false},
		stages.Licenses: {med, false}, stages.DAST: {high, false}, stages.Build: {high, false},
		stages.Staging: {crit, false}, stages.Production: {crit, false}, stages.API: {high, false},
	}
	audit := map[string]want{}
	for name, w := range defaults {
		audit[name] = want{w.blockOn, name != stages.Secrets}
	}
	tests := []struct {
		preset  string
		extends string
		table   map[string]want
	}{
		{"default", "", defaults},
		{"strict", "default", strict},
		{"audit", "default", audit},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			p, err := Preset(tt.preset)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.preset || p.Extends != tt.extends || p.ProductionBranch != "main" {
				t.Errorf("name/extends/branch = %q/%q/%q", p.Name, p.Extends, p.ProductionBranch)
			}
			if len(p.Stages) != len(stages.Names()) {
				t.Errorf("%d stages, want %d", len(p.Stages), len(stages.Names()))
			}
			for _, name := range stages.Names() {
				w, ok := tt.table[name]
				if !ok {
					t.Fatalf("test table lacks stage %s", name)
				}
				timeout := 15 * time.Minute
				if name == stages.Secrets {
					timeout = 10 * time.Minute
				}
				// No tools: every stage runs its default tools.
				wantSP := StagePolicy{
					Enabled: true, BlockOn: w.blockOn, WarnOnly: w.warnOnly,
					OnToolError: ErrorBlock, Timeout: timeout,
				}
				presetExtras(tt.preset, name, &wantSP)
				if got := p.Stage(name); !reflect.DeepEqual(got, wantSP) {
					t.Errorf("%s = %+v, want %+v", name, got, wantSP)
				}
			}
		})
	}
}

func TestPresetFilesAreThePresets(t *testing.T) {
	files, err := fs.Glob(presetFS, "presets/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	slices.Sort(names)
	want := PresetNames()
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("embedded presets %v, PresetNames %v", names, want)
	}
}

func TestPresetUnknown(t *testing.T) {
	_, err := Preset("strcit")
	if err == nil || !strings.Contains(err.Error(), `"strcit"`) || !strings.Contains(err.Error(), "default, strict, audit") {
		t.Errorf("err = %v", err)
	}
}

func TestPresetDocumentedValues(t *testing.T) {
	def, _ := Preset("default")
	strict, _ := Preset("strict")
	audit, _ := Preset("audit")
	if deny := def.Stage(stages.Licenses).Licenses.Deny; !slices.Contains(deny, "GPL-3.0-only") || !slices.Contains(deny, "AGPL-3.0-or-later") {
		t.Errorf("default deny = %v", deny)
	}
	if lp := def.Stage(stages.Licenses).Licenses; lp.Allow != nil || lp.Unknown != stages.LicenseWarn {
		t.Errorf("default licenses = %+v", lp)
	}
	if u := strict.Stage(stages.Licenses).Licenses.Unknown; u != stages.LicenseBlock {
		t.Errorf("strict unknown_license = %q", u)
	}
	if sev := strict.Stage(stages.SCA).UnreachableSeverity; sev != med {
		t.Errorf("strict unreachable_severity = %s", sev)
	}
	if !reflect.DeepEqual(audit.Stage(stages.Licenses).Licenses, def.Stage(stages.Licenses).Licenses) {
		t.Error("audit changed the license policy")
	}
	for _, p := range []*Policy{def, strict, audit} {
		for _, name := range stages.Names() {
			if tools := p.Stage(name).Tools; len(tools) != 0 {
				t.Errorf("%s: %s tools = %v, want none (the stage's default tools)", p.Name, name, tools)
			}
		}
	}
}

func TestPresetIsACopy(t *testing.T) {
	p, _ := Preset("default")
	sast, lic := p.Stages[stages.SAST], p.Stages[stages.Licenses]
	sast.Rulesets[0] = "changed"
	lic.Licenses.Deny[0] = "changed"
	p.Stages[stages.Secrets] = StagePolicy{}
	got := p.Stage(stages.SCA)
	got.Tools = append(got.Tools, "changed")
	q, _ := Preset("default")
	if q.Stage(stages.SAST).Rulesets[0] != "p/owasp-top-ten" || q.Stage(stages.Licenses).Licenses.Deny[0] != "GPL-2.0" ||
		!q.Stage(stages.Secrets).Enabled || len(q.Stage(stages.SCA).Tools) != 0 {
		t.Error("changing a preset's copy changed the preset")
	}
	// Stage hands out copies too.
	sp := q.Stage(stages.SAST)
	sp.Rulesets[0] = "changed"
	if q.Stage(stages.SAST).Rulesets[0] != "p/owasp-top-ten" {
		t.Error("changing Stage's result changed the policy")
	}
}

func TestUnknownKeyNamesKeyAndLine(t *testing.T) {
	src := `version: 1
# comment
stages:
  sast:
    block_on: high
  secrets:
    blok_on: info
`
	_, err := Parse([]byte(src), "policy.yaml", "")
	want := `policy.yaml:7: unknown key "blok_on" in stages.secrets (known: enabled, tools, block_on, warn_only, on_tool_error, timeout, per_tool, config, baseline, severity, history, verify); did you mean "block_on"?`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.File != "policy.yaml" || pe.Line != 7 {
		t.Errorf("errors.As: %+v", pe)
	}
}

func TestBadInputs(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"empty file", "", 1, "policy is empty"},
		{"only comments", "# nothing\n\n", 1, "policy is empty"},
		{"null document", "~\n", 1, "policy is empty"},
		{"not a mapping", "- version: 1\n", 1, "a policy is a mapping of settings"},
		{"two documents", "version: 1\n---\nversion: 1\n", 2, "more than one YAML document"},
		{"unknown top key", "version: 1\nstage:\n  secrets: {}\n", 2, `unknown key "stage" at top level (known: version, extends, production_branch, stages, suppressions, targets, images, concurrency); did you mean "stages"?`},
		{"unknown stage", "stages:\n  secret:\n    enabled: true\n", 2, `unknown stage "secret" in stages (stages: secrets, sast, sca, licenses, iac, dockerfile, api, build, image, staging, dast, production); did you mean "secrets"?`},
		{"unsupported version", "version: 2\n", 1, "unsupported policy version 2 (supported: 1)"},
		{"version not a number", "version: one\n", 1, `version: want an integer, got "one"`},
		{"invalid severity", "stages:\n  sca:\n    block_on: severe\n", 3, `stages.sca.block_on: invalid severity "severe" (want critical, high, medium, low or info)`},
		{"null severity", "stages:\n  sca:\n    block_on:\n", 3, "stages.sca.block_on has no value"},
		{"bad duration", "stages:\n  secrets:\n    timeout: ten minutes\n", 3, `stages.secrets.timeout: invalid duration "ten minutes"`},
		{"duration without unit", "stages:\n  secrets:\n    timeout: 10\n", 3, `stages.secrets.timeout: invalid duration "10"`},
		{"negative timeout", "stages:\n  secrets:\n    timeout: -5m\n", 3, "stages.secrets.timeout: must be positive, got -5m"},
		{"zero timeout", "stages:\n  secrets:\n    timeout: 0s\n", 3, "stages.secrets.timeout: must be positive, got 0s"},
		{"enabled: maybe", "stages:\n  secrets:\n    enabled: maybe\n", 3, `stages.secrets.enabled: want true or false, got "maybe"`},
		{"enabled: yes", "stages:\n  secrets:\n    enabled: yes\n", 3, `stages.secrets.enabled: want true or false, got "yes"`},
		{"quoted bool", "stages:\n  secrets:\n    warn_only: \"true\"\n", 3, `stages.secrets.warn_only: want true or false, got "true"`},
		{"bool is a list", "stages:\n  secrets:\n    enabled: [true]\n", 3, "stages.secrets.enabled: want true or false, got a list"},
		{"unknown tool", "stages:\n  secrets:\n    tools:\n      - gitleaks\n      - truffleog\n", 5, `stages.secrets.tools: unknown tool "truffleog" for stage secrets (tools: gitleaks, trufflehog)`},
		{"tool for a stage without tools", "stages:\n  staging:\n    tools: [semgrep]\n", 3, `stage staging has no tools yet, so tool "semgrep" cannot be chosen`},
		{"tool of another stage", "stages:\n  build:\n    tools: [semgrep]\n", 3, `unknown tool "semgrep" for stage build (tools: dagsec, gitleaks)`},
		{"max_base_age outside build", "stages:\n  image:\n    max_base_age: 720h\n", 3, "max_base_age only applies to the build stage"},
		{"max_base_age not a duration", "stages:\n  build:\n    max_base_age: 30d\n", 3, "stages.build.max_base_age: invalid duration"},
		{"tool listed twice", "stages:\n  secrets:\n    tools:\n      - gitleaks\n      - gitleaks\n", 5, `tool "gitleaks" is listed twice`},
		{"empty tool list", "stages:\n  secrets:\n    tools: []\n", 3, "stages.secrets.tools: the list is empty"},
		{"tools not a list", "stages:\n  secrets:\n    tools: gitleaks\n", 3, `stages.secrets.tools: want a list of tool names, got "gitleaks"`},
		{"unknown preset in extends", "version: 1\nextends: paranoid\n", 2, `extends: unknown preset "paranoid" (presets: default, strict, audit)`},
		{"empty extends", "extends: ''\n", 1, "extends is empty"},
		{"duplicate key", "stages:\n  secrets:\n    enabled: true\n    enabled: false\n", 4, `duplicate key "enabled" in stages.secrets (first at line 3)`},
		{"duplicate stage", "stages:\n  sca: {}\n  sca: {}\n", 3, `duplicate key "sca" in stages (first at line 2)`},
		{"history outside secrets", "stages:\n  sast:\n    history: true\n", 3, "stages.sast.history: history only applies to the secrets stage"},
		{"bad on_tool_error", "stages:\n  sca:\n    on_tool_error: ignore\n", 3, `stages.sca.on_tool_error: want block, got "ignore"`},
		{"stage-wide on_tool_error warn", "stages:\n  sca:\n    on_tool_error: warn\n", 3, `stages.sca.on_tool_error: warn is not allowed for a whole stage; name each tool whose errors may only warn, e.g. per_tool: {govulncheck: {on_error: warn}}`},
		{"per_tool unknown tool", "stages:\n  sca:\n    per_tool:\n      gosec: {timeout: 1m}\n", 4, `stages.sca.per_tool: `},
		{"per_tool unknown key", "stages:\n  sca:\n    per_tool:\n      trivy: {timout: 1m}\n", 4, `unknown key "timout" in stages.sca.per_tool.trivy (known: timeout, on_error, config); did you mean "timeout"?`},
		{"per_tool bad on_error", "stages:\n  sca:\n    per_tool:\n      trivy:\n        on_error: pass\n", 5, `stages.sca.per_tool.trivy.on_error: want block or warn, got "pass"`},
		{"per_tool bad timeout", "stages:\n  sca:\n    per_tool:\n      trivy: {timeout: soon}\n", 4, `stages.sca.per_tool.trivy.timeout: invalid duration`},
		{"per_tool not a mapping", "stages:\n  sca:\n    per_tool: [trivy]\n", 3, `stages.sca.per_tool: want a mapping of tools to settings`},
		{"per_tool tool not a mapping", "stages:\n  sca:\n    per_tool:\n      trivy: warn\n", 4, `stages.sca.per_tool.trivy: want a mapping with timeout, on_error or config, got`},
		{"absolute config", "stages:\n  secrets:\n    config: /etc/gitleaks.toml\n", 3, `stages.secrets.config: "/etc/gitleaks.toml" must be a file path inside the source`},
		{"escaping baseline", "stages:\n  secrets:\n    baseline: ../other/baseline.json\n", 3, "stages.secrets.baseline:"},
		{"config not a string", "stages:\n  secrets:\n    config: 12\n", 3, `stages.secrets.config: want a string, got "12" (quote it`},
		{"branch like an option", "production_branch: --force\n", 1, `production_branch: invalid branch name "--force"`},
		{"branch with space", "production_branch: 'my branch'\n", 1, `invalid branch name "my branch"`},
		{"stages not a mapping", "stages: [secrets]\n", 1, "stages: want a mapping of stage names to settings, got a list"},
		{"stage not a mapping", "stages:\n  secrets: off\n", 2, `stages.secrets: want a mapping of settings, got "off"`},
		{"merge key", "base: &b {enabled: true}\nstages:\n  secrets:\n    <<: *b\n", 1, `unknown key "base" at top level`},
		{"merge key in stage", "stages:\n  secrets:\n    <<: {enabled: true}\n", 3, "merge keys (<<) are not supported in stages.secrets"},
		{"non-scalar key", "stages:\n  ? [a]\n  : 1\n", 2, "keys in stages must be plain names, got a list"},
		{"misindented key", "version: 1\nstages:\n  secrets:\n    enabled: true\n   block_on: high\n", 5, "invalid YAML: did not find expected key"},
		{"tab indent", "version: 1\nstages:\n  secrets:\n\tenabled: true\n", 4, "invalid YAML: found character that cannot start any token"},
		{"unclosed list", "stages:\n  secrets:\n    tools: [gitleaks\n    block_on: high\n", 3, "invalid YAML:"},
		{"unclosed quote", "version: 1\nstages:\n  secrets:\n    config: \"abc\n", 4, "invalid YAML: found unexpected end of stream"},
		{"unknown anchor", "version: 1\nstages:\n  secrets:\n    enabled: *yes\n", 4, "invalid YAML: unknown anchor 'yes' referenced"},
		{"control character", "version: 1\nstages:\n  secrets:\x01\n", 3, "invalid YAML: control characters are not allowed"},
		{"invalid UTF-8", "version: 1\nproduction_branch: ma\xffin\n", 2, "invalid YAML:"},
		{"mapping value on first line", "version: 1: 2\n", 1, "invalid YAML: mapping values are not allowed in this context"},
		{"unknown unreachable severity", "stages:\n  sca:\n    unreachable_severity: minor\n", 3, `stages.sca.unreachable_severity: invalid severity "minor" (want critical, high, medium, low or info)`},
		{"zero db_refresh", "stages:\n  sca:\n    db_refresh: 0s\n", 3, "stages.sca.db_refresh: must be positive, got 0s"},
		{"short db_refresh", "stages:\n  sca:\n    db_refresh: 30s\n", 3, "stages.sca.db_refresh: must be at least 1m, got 30s"},
		{"bad db_refresh", "stages:\n  sca:\n    db_refresh: daily\n", 3, `stages.sca.db_refresh: invalid duration "daily"`},
		{"unknown_license: maybe", "stages:\n  licenses:\n    unknown_license: maybe\n", 3, `stages.licenses.unknown_license: want allow, warn or block, got "maybe"`},
		{"unknown_license not a string", "stages:\n  licenses:\n    unknown_license: true\n", 3, `stages.licenses.unknown_license: want a string, got "true"`},
		{"SPDX id with a space", "stages:\n  licenses:\n    deny:\n      - GPL-3.0\n      - Apache 2.0\n", 5, `stages.licenses.deny: "Apache 2.0" is not an SPDX license id`},
		{"SPDX expression", "stages:\n  licenses:\n    allow: [MIT OR Apache-2.0]\n", 3, `stages.licenses.allow: "MIT OR Apache-2.0" is not an SPDX license id`},
		{"SPDX id with a leading dash", "stages:\n  licenses:\n    allow: [-MIT]\n", 3, `stages.licenses.allow: "-MIT" is not an SPDX license id`},
		{"SPDX id not a string", "stages:\n  licenses:\n    allow: [[MIT]]\n", 3, "stages.licenses.allow: want a string, got a list"},
		{"license listed twice", "stages:\n  licenses:\n    allow:\n      - MIT\n      - mit\n", 5, `stages.licenses.allow: license "mit" is listed twice (first at line 4)`},
		{"license both allowed and denied", "stages:\n  licenses:\n    allow: [MIT, BSD-3-Clause]\n    deny:\n      - GPL-3.0-only\n      - bsd-3-clause\n", 6,
			`stages.licenses.deny: "BSD-3-Clause" is also in stages.licenses.allow (line 3); a license is either allowed or denied`},
		{"license denied then allowed", "stages:\n  licenses:\n    deny: [MIT]\n    allow:\n      - MIT\n", 5,
			`stages.licenses.allow: "MIT" is also in stages.licenses.deny (line 3)`},
		{"allow not a list", "stages:\n  licenses:\n    allow: MIT\n", 3, `stages.licenses.allow: want a list of SPDX license ids, got "MIT"`},
		{"deny without value", "stages:\n  licenses:\n    deny:\n", 3, "stages.licenses.deny has no value (want a list such as [MIT, Apache-2.0])"},
		{"allow conflicts with the preset's deny", "stages:\n  licenses:\n    allow:\n      - MIT\n      - GPL-3.0-only\n", 5,
			`stages.licenses.allow: "GPL-3.0-only" is in the deny list of the default preset (set stages.licenses.deny too, to say which)`},
		{"ruleset listed twice", "stages:\n  sast:\n    rulesets:\n      - p/jwt\n      - p/python\n      - p/jwt\n", 6, `stages.sast.rulesets: ruleset "p/jwt" is listed twice (first at line 4)`},
		{"ruleset path listed twice", "stages:\n  sast:\n    rulesets: [rules/a.yaml, ./rules/a.yaml]\n", 3, `stages.sast.rulesets: ruleset "./rules/a.yaml" is listed twice`},
		{"ruleset outside the source", "stages:\n  sast:\n    rulesets:\n      - p/jwt\n      - ../x\n", 5, `stages.sast.rulesets: "../x" is neither a registry name such as p/owasp-top-ten nor a path inside the source`},
		{"absolute ruleset", "stages:\n  sast:\n    rulesets: [/etc/semgrep.yml]\n", 3, `stages.sast.rulesets: "/etc/semgrep.yml" is neither`},
		{"ruleset URL", "stages:\n  sast:\n    rulesets: ['https://example.com/r.yml']\n", 3, `stages.sast.rulesets: "https://example.com/r.yml" is neither`},
		{"ruleset like an option", "stages:\n  sast:\n    rulesets: [--help]\n", 3, `stages.sast.rulesets: "--help" is neither`},
		{"registry name escaping", "stages:\n  sast:\n    rulesets: [p/../x]\n", 3, `stages.sast.rulesets: invalid registry name "p/../x"`},
		{"empty ruleset", "stages:\n  sast:\n    rulesets: ['']\n", 3, "stages.sast.rulesets: empty ruleset"},
		{"empty ruleset list", "stages:\n  sast:\n    rulesets: []\n", 3, "stages.sast.rulesets: the list is empty"},
		{"rulesets not a list", "stages:\n  sast:\n    rulesets: p/jwt\n", 3, `stages.sast.rulesets: want a list of semgrep rulesets, got "p/jwt"`},
		{"unknown key under licenses", "stages:\n  licenses:\n    denny: [MIT]\n", 3,
			`unknown key "denny" in stages.licenses (known: enabled, tools, block_on, warn_only, on_tool_error, timeout, per_tool, config, baseline, severity, allow, deny, unknown_license); did you mean "deny"?`},
		{"unknown key under sast", "stages:\n  sast:\n    ruleset: [p/jwt]\n", 3, `did you mean "rulesets"?`},
		{"unknown key under sca", "stages:\n  sca:\n    db_refersh: 1h\n", 3, `did you mean "db_refresh"?`},
		{"min_score above 100", "stages:\n  api:\n    min_score: 120\n", 3, "stages.api.min_score: want a score from 0 to 100, got 120"},
		{"min_score of another stage", "stages:\n  sast:\n    min_score: 70\n", 3, "stages.sast.min_score: min_score only applies to the api stage"},
		{"min_score not a number", "stages:\n  api:\n    min_score: high\n", 3, "stages.api.min_score: want an integer"},
		{"per_tool config of a tool without one", "stages:\n  sast:\n    per_tool:\n      gosec: {config: x.yml}\n", 4, "stages.sast.per_tool.gosec.config: gosec reads no configuration file"},
		{"per_tool config outside the source", "stages:\n  sast:\n    per_tool:\n      bandit: {config: ../bandit.yaml}\n", 4, `stages.sast.per_tool.bandit.config: "../bandit.yaml" must be a file path inside the source`},
		{"per_tool config not a string", "stages:\n  sast:\n    per_tool:\n      bandit:\n        config: [a]\n", 5, "stages.sast.per_tool.bandit.config: want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.src), "policy.yaml", "")
			if err == nil {
				t.Fatalf("no error; got %+v", p)
			}
			msg := err.Error()
			prefix := "policy.yaml:" + strconv.Itoa(tt.line) + ": "
			if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.want) {
				t.Errorf("err = %s\nwant prefix %q and %q", msg, prefix, tt.want)
			}
		})
	}
}

func TestAllErrorsReported(t *testing.T) {
	src := "version: 1\nstages:\n  secrets:\n    block_on: hgih\n  sca:\n    timeout: 0s\n  bogus: {}\n"
	_, err := Parse([]byte(src), "p.yaml", "")
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	var got []string
	for _, l := range lines {
		got = append(got, l[:strings.Index(l, ": ")])
	}
	if want := []string{"p.yaml:4", "p.yaml:6", "p.yaml:7"}; !slices.Equal(got, want) {
		t.Errorf("error locations %v, want %v\n%s", got, want, err)
	}
}

func TestStageSpecificSettings(t *testing.T) {
	src := `version: 1
stages:
  sast:
    rulesets:
      - p/owasp-top-ten
      - r/python.lang.security.audit.eval-detected
      - s/some-snippet
      - .semgrep/rules.yml
  sca:
    unreachable_severity: info
    db_refresh: 6h30m
  licenses:
    allow: [MIT, Apache-2.0, BSD-3-Clause, LicenseRef-acme-internal]
    deny:
      - GPL-3.0-or-later
      - GPL-2.0+
      - DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2
    unknown_license: block
`
	p, err := Parse([]byte(src), "policy.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	def, _ := Preset("default")
	want := map[string]func(*StagePolicy){
		stages.SAST: func(sp *StagePolicy) {
			sp.Rulesets = []string{"p/owasp-top-ten", "r/python.lang.security.audit.eval-detected", "s/some-snippet", ".semgrep/rules.yml"}
		},
		stages.SCA: func(sp *StagePolicy) { sp.UnreachableSeverity, sp.DBRefresh = info, 6*time.Hour+30*time.Minute },
		stages.Licenses: func(sp *StagePolicy) {
			sp.Licenses = stages.LicensePolicy{
				Allow:   []string{"MIT", "Apache-2.0", "BSD-3-Clause", "LicenseRef-acme-internal"},
				Deny:    []string{"GPL-3.0-or-later", "GPL-2.0+", "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2"},
				Unknown: stages.LicenseBlock,
			}
		},
	}
	for _, name := range stages.Names() {
		wantSP := def.Stage(name)
		if edit, ok := want[name]; ok {
			edit(&wantSP)
		}
		if got := p.Stage(name); !reflect.DeepEqual(got, wantSP) {
			t.Errorf("%s = %+v\nwant %+v", name, got, wantSP)
		}
	}
}

func TestStageSpecificOverrides(t *testing.T) {
	tests := []struct {
		name, src, preset, stage string
		check                    func(StagePolicy) bool
	}{
		{"empty allow is no allow list", "stages:\n  licenses:\n    allow: []\n", "", stages.Licenses,
			func(sp StagePolicy) bool { return sp.Licenses.Allow == nil && len(sp.Licenses.Deny) == 12 }},
		{"empty deny drops the preset's", "stages:\n  licenses:\n    deny: []\n    allow: [GPL-3.0-only]\n", "", stages.Licenses,
			func(sp StagePolicy) bool {
				return sp.Licenses.Deny == nil && slices.Equal(sp.Licenses.Allow, []string{"GPL-3.0-only"})
			}},
		{"deny replaces the preset's", "stages:\n  licenses:\n    deny: [SSPL-1.0]\n", "strict", stages.Licenses,
			func(sp StagePolicy) bool {
				return slices.Equal(sp.Licenses.Deny, []string{"SSPL-1.0"}) && sp.Licenses.Unknown == stages.LicenseBlock
			}},
		{"unknown_license allow", "stages:\n  licenses:\n    unknown_license: allow\n", "", stages.Licenses,
			func(sp StagePolicy) bool {
				return sp.Licenses.Unknown == stages.LicenseAllow && len(sp.Licenses.Deny) == 12
			}},
		{"db_refresh of a minute", "stages:\n  sca:\n    db_refresh: 1m\n", "", stages.SCA,
			func(sp StagePolicy) bool { return sp.DBRefresh == time.Minute && sp.UnreachableSeverity == low }},
		{"rulesets replace the preset's", "stages:\n  sast:\n    rulesets: [p/golang]\n", "audit", stages.SAST,
			func(sp StagePolicy) bool { return slices.Equal(sp.Rulesets, []string{"p/golang"}) && sp.WarnOnly }},
		{"tools only when set", "stages:\n  iac:\n    tools: [tfsec]\n", "", stages.IaC,
			func(sp StagePolicy) bool { return slices.Equal(sp.Tools, []string{"tfsec"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.src), "policy.yaml", tt.preset)
			if err != nil {
				t.Fatal(err)
			}
			if sp := p.Stage(tt.stage); !tt.check(sp) {
				t.Errorf("%s = %+v", tt.stage, sp)
			}
		})
	}
}

func TestStageSpecificKeyUnderWrongStage(t *testing.T) {
	tests := []struct {
		key, value, owner string
	}{
		{"history", "true", stages.Secrets},
		{"rulesets", "[p/jwt]", stages.SAST},
		{"unreachable_severity", "low", stages.SCA},
		{"db_refresh", "24h", stages.SCA},
		{"allow", "[MIT]", stages.Licenses},
		{"deny", "[GPL-3.0-only]", stages.Licenses},
		{"unknown_license", "warn", stages.Licenses},
	}
	for _, tt := range tests {
		for _, stage := range stages.Names() {
			if stage == tt.owner {
				continue
			}
			t.Run(tt.key+"/"+stage, func(t *testing.T) {
				src := "version: 1\nstages:\n  " + stage + ":\n    block_on: high\n    " + tt.key + ": " + tt.value + "\n"
				_, err := Parse([]byte(src), "policy.yaml", "")
				known := strings.Join(knownStageKeys(stage), ", ")
				want := "policy.yaml:5: stages." + stage + "." + tt.key + ": " + tt.key + " only applies to the " + tt.owner +
					" stage (known in stages." + stage + ": " + known + ")"
				if err == nil || err.Error() != want {
					t.Errorf("err = %v\nwant  %s", err, want)
				}
				if strings.Contains(known, tt.key) {
					t.Errorf("stage %s lists %s as known", stage, tt.key)
				}
			})
		}
	}
}

func TestOverrideKeepsBase(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		preset string
		stages []string
		edit   func(*StagePolicy)
		base   string
	}{
		{"block_on only", "stages:\n  sca:\n    block_on: critical\n", "", []string{stages.SCA},
			func(sp *StagePolicy) { sp.BlockOn = crit }, "default"},
		{"timeout only", "stages:\n  secrets:\n    timeout: 2m30s\n", "", []string{stages.Secrets},
			func(sp *StagePolicy) { sp.Timeout = 150 * time.Second }, "default"},
		{"over strict via extends", "extends: strict\nstages:\n  dast:\n    enabled: false\n", "", []string{stages.DAST},
			func(sp *StagePolicy) { sp.Enabled = false }, "strict"},
		{"over audit via preset argument", "stages:\n  secrets:\n    history: true\n    config: .cfg/gitleaks.toml\n", "audit", []string{stages.Secrets},
			func(sp *StagePolicy) { sp.History = true; sp.Config = ".cfg/gitleaks.toml" }, "audit"},
		{"same extends and preset", "extends: audit\nstages:\n  sca:\n    per_tool: {osv-scanner: {on_error: warn}}\n", "audit", []string{stages.SCA},
			func(sp *StagePolicy) { sp.PerTool = map[string]ToolPolicy{"osv-scanner": {OnError: ErrorWarn}} }, "audit"},
		{"per-tool timeout", "stages:\n  sast:\n    per_tool:\n      gosec: {timeout: 90s}\n", "", []string{stages.SAST},
			func(sp *StagePolicy) { sp.PerTool = map[string]ToolPolicy{"gosec": {Timeout: 90 * time.Second}} }, "default"},
		{"empty stage changes nothing", "stages:\n  sca:\n", "", []string{stages.SCA}, func(*StagePolicy) {}, "default"},
		{"alias for a stage", "stages:\n  sca: &lax {warn_only: true}\n  iac: *lax\n", "", []string{stages.SCA, stages.IaC},
			func(sp *StagePolicy) { sp.WarnOnly = true }, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.src), "policy.yaml", tt.preset)
			if err != nil {
				t.Fatal(err)
			}
			base, _ := Preset(tt.base)
			for _, name := range stages.Names() {
				want := base.Stage(name)
				if slices.Contains(tt.stages, name) {
					tt.edit(&want)
				}
				if got := p.Stage(name); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %+v\nwant %+v", name, got, want)
				}
			}
			if p.Name != "policy.yaml" || p.ProductionBranch != base.ProductionBranch {
				t.Errorf("name %q branch %q", p.Name, p.ProductionBranch)
			}
		})
	}
}

func TestExtendsConflictsWithPreset(t *testing.T) {
	_, err := Parse([]byte("version: 1\nextends: strict\n"), "policy.yaml", "audit")
	want := `policy.yaml:2: extends "strict" conflicts with the requested preset "audit"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v", err)
	}
	if _, err := Parse([]byte("version: 1\n"), "policy.yaml", "lenient"); err == nil || !strings.Contains(err.Error(), `unknown preset "lenient"`) {
		t.Errorf("unknown preset argument: err = %v", err)
	}
}

func TestExtendsRecorded(t *testing.T) {
	tests := []struct{ src, preset, want string }{
		{"version: 1\n", "", ""},
		{"version: 1\n", "strict", "strict"},
		{"extends: default\n", "", "default"},
		{"extends: audit\n", "", "audit"},
	}
	for _, tt := range tests {
		p, err := Parse([]byte(tt.src), "p.yaml", tt.preset)
		if err != nil {
			t.Fatal(err)
		}
		if p.Extends != tt.want {
			t.Errorf("%q with preset %q: Extends = %q, want %q", tt.src, tt.preset, p.Extends, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "dagsec.yaml")
	if err := os.WriteFile(good, []byte("extends: strict\nproduction_branch: release/v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(good, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != good || p.Extends != "strict" || p.ProductionBranch != "release/v1" || p.Stage(stages.SCA).BlockOn != med {
		t.Errorf("loaded %+v", p)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("stages:\n  secrets:\n    blok_on: info\n"), 0o644)
	if _, err := Load(bad, ""); err == nil || !strings.HasPrefix(err.Error(), bad+":3: unknown key \"blok_on\"") {
		t.Errorf("bad file: %v", err)
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml"), ""); err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}

	huge := filepath.Join(dir, "huge.yaml")
	os.WriteFile(huge, []byte("version: 1\n"+strings.Repeat("# padding\n", MaxSize/10+1)), 0o644)
	if _, err := Load(huge, ""); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: %v", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	custom, err := Parse([]byte(`version: 1
extends: strict
production_branch: release/2.0
stages:
  secrets:
    history: true
    config: "yes"
    baseline: "123"
    timeout: 1h30m
  sast:
    tools: [semgrep, gosec]
    rulesets: [p/golang, "./rules/no"]
  sca:
    unreachable_severity: critical
    db_refresh: 90m
  licenses:
    allow: [MIT, "0BSD", GPL-3.0-only]
    deny: []
    unknown_license: allow
  dast:
    enabled: false
    on_tool_error: block
    timeout: 90s
    per_tool:
      wapiti: {on_error: warn}
      zap: {timeout: 20m, on_error: block}
`), "custom.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	// Both license lists replaced on a preset other than default.
	denyOnly, err := Parse([]byte("stages:\n  licenses:\n    deny: [SSPL-1.0]\n    allow: [MIT]\n"), "deny-only.yaml", "audit")
	if err != nil {
		t.Fatal(err)
	}
	policies := []*Policy{custom, denyOnly}
	for _, n := range PresetNames() {
		p, _ := Preset(n)
		policies = append(policies, p)
	}
	for _, p := range policies {
		t.Run(p.Name, func(t *testing.T) {
			out, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			// Any base: a marshalled policy spells everything out.
			for _, preset := range []string{"", p.Extends} {
				back, err := Parse(out, p.Name, preset)
				if err != nil {
					t.Fatalf("re-parse: %v\n%s", err, out)
				}
				if !reflect.DeepEqual(back, p) {
					t.Errorf("round trip changed the policy\n got %+v\nwant %+v\n%s", back, p, out)
				}
			}
		})
	}
}

func TestMarshalRejectsInvalidPolicy(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Policy)
	}{
		{"zero block_on", func(p *Policy) { sp := p.Stages[stages.SCA]; sp.BlockOn = 0; p.Stages[stages.SCA] = sp }},
		{"zero timeout", func(p *Policy) { sp := p.Stages[stages.SCA]; sp.Timeout = 0; p.Stages[stages.SCA] = sp }},
		{"bad action", func(p *Policy) { sp := p.Stages[stages.SCA]; sp.OnToolError = "ignore"; p.Stages[stages.SCA] = sp }},
		{"unknown stage", func(p *Policy) { p.Stages["fuzz"] = StagePolicy{} }},
		{"history outside secrets", func(p *Policy) { sp := p.Stages[stages.SAST]; sp.History = true; p.Stages[stages.SAST] = sp }},
		{"unknown tool", func(p *Policy) {
			sp := p.Stages[stages.Secrets]
			sp.Tools = []string{"nope"}
			p.Stages[stages.Secrets] = sp
		}},
		{"rulesets outside sast", func(p *Policy) {
			sp := p.Stages[stages.SCA]
			sp.Rulesets = []string{"p/jwt"}
			p.Stages[stages.SCA] = sp
		}},
		{"unreachable_severity outside sca", func(p *Policy) {
			sp := p.Stages[stages.SAST]
			sp.UnreachableSeverity = low
			p.Stages[stages.SAST] = sp
		}},
		{"db_refresh outside sca", func(p *Policy) { sp := p.Stages[stages.Image]; sp.DBRefresh = time.Hour; p.Stages[stages.Image] = sp }},
		{"allow outside licenses", func(p *Policy) {
			sp := p.Stages[stages.SCA]
			sp.Licenses.Allow = []string{"MIT"}
			p.Stages[stages.SCA] = sp
		}},
		{"deny outside licenses", func(p *Policy) {
			sp := p.Stages[stages.SCA]
			sp.Licenses.Deny = []string{"MIT"}
			p.Stages[stages.SCA] = sp
		}},
		{"unknown_license outside licenses", func(p *Policy) {
			sp := p.Stages[stages.SCA]
			sp.Licenses.Unknown = stages.LicenseWarn
			p.Stages[stages.SCA] = sp
		}},
		{"bad ruleset", func(p *Policy) {
			sp := p.Stages[stages.SAST]
			sp.Rulesets = []string{"../x"}
			p.Stages[stages.SAST] = sp
		}},
		{"bad unreachable_severity", func(p *Policy) {
			sp := p.Stages[stages.SCA]
			sp.UnreachableSeverity = 99
			p.Stages[stages.SCA] = sp
		}},
		{"short db_refresh", func(p *Policy) { sp := p.Stages[stages.SCA]; sp.DBRefresh = time.Second; p.Stages[stages.SCA] = sp }},
		{"bad license id", func(p *Policy) {
			sp := p.Stages[stages.Licenses]
			sp.Licenses.Deny = []string{"GPL 3"}
			p.Stages[stages.Licenses] = sp
		}},
		{"license allowed and denied", func(p *Policy) {
			sp := p.Stages[stages.Licenses]
			sp.Licenses.Allow = []string{"gpl-3.0-only"}
			p.Stages[stages.Licenses] = sp
		}},
		{"bad unknown_license", func(p *Policy) {
			sp := p.Stages[stages.Licenses]
			sp.Licenses.Unknown = "maybe"
			p.Stages[stages.Licenses] = sp
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := Preset("default")
			tt.edit(p)
			if out, err := p.Marshal(); err == nil {
				t.Errorf("no error; got\n%s", out)
			}
		})
	}
}

func TestStageMissingFailsClosed(t *testing.T) {
	var nilPolicy *Policy
	for _, p := range []*Policy{nilPolicy, {Name: "hand-built"}} {
		sp := p.Stage(stages.Secrets)
		if !sp.Enabled || sp.BlockOn != info || sp.WarnOnly || sp.OnToolError != ErrorBlock || sp.Timeout <= 0 || len(sp.Tools) != 0 {
			t.Errorf("%+v", sp)
		}
		if u := p.Stage(stages.Licenses).Licenses.Unknown; u != stages.LicenseBlock {
			t.Errorf("licenses unknown_license = %q, want block", u)
		}
	}
}

func TestDocumentedExample(t *testing.T) {
	src := `version: 1
extends: default          # a preset name this file overrides
production_branch: main
stages:
  secrets:
    enabled: true
    tools: [gitleaks]
    block_on: info
    warn_only: false
    on_tool_error: block
    timeout: 10m
    config: .gitleaks.toml
    baseline: ""
    history: false
`
	p, err := Parse([]byte(src), "policy.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	sp := p.Stage(stages.Secrets)
	if sp.Config != ".gitleaks.toml" || sp.Baseline != "" || sp.Timeout != 10*time.Minute || sp.BlockOn != info {
		t.Errorf("%+v", sp)
	}
}
