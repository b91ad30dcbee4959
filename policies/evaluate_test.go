package policies

import (
	"errors"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

func finding(sev findings.Severity) findings.Finding {
	return findings.Finding{
		Stage: stages.Secrets, Tool: "gitleaks", RuleID: "generic-api-key", Severity: sev,
		Message: "secret AKIAIOSFODNN7EXAMPLE found", Identity: "AKIAIOSFODNN7EXAMPLE",
	}
}

// baselined gives fs[i] the baseline state states[i].
func baselined(fs []findings.Finding, states ...string) []findings.Finding {
	for i := range fs {
		fs[i].Baseline = states[i]
	}
	return fs
}

func TestEvaluate(t *testing.T) {
	def, err := Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	gate := func(blockOn findings.Severity, warnOnly bool, onErr ErrorAction) StagePolicy {
		return StagePolicy{Enabled: true, BlockOn: blockOn, WarnOnly: warnOnly, OnToolError: onErr}
	}
	errTool := &ToolError{Tool: "gitleaks", Err: errors.New("exited with code 2: fatal\nsecond line of stderr")}
	osvTimeout := &ToolError{Tool: "osv-scanner", Err: errors.New("timed out after 5m0s")}
	// allow lets tools' errors only warn, as per_tool on_error: warn does.
	allow := func(sp StagePolicy, tools ...string) StagePolicy {
		sp.PerTool = map[string]ToolPolicy{}
		for _, t := range tools {
			sp.PerTool[t] = ToolPolicy{OnError: ErrorWarn}
		}
		return sp
	}
	fs := func(sevs ...findings.Severity) []findings.Finding {
		var out []findings.Finding
		for _, s := range sevs {
			out = append(out, finding(s))
		}
		return out
	}
	tests := []struct {
		name     string
		stage    string
		sp       StagePolicy
		fs       []findings.Finding
		errs     []error
		status   Status
		reason   string
		blocking int
	}{
		{"no findings", stages.SCA, gate(high, false, ErrorBlock), nil, nil,
			StatusPassed, "no findings", 0},
		{"critical with block_on high", stages.SCA, gate(high, false, ErrorBlock), fs(crit), nil,
			StatusBlocked, "1 finding at or above high (1 critical)", 1},
		{"mixed with block_on high", stages.SCA, gate(high, false, ErrorBlock), fs(findings.SeverityLow, high, crit), nil,
			StatusBlocked, "2 findings at or above high (1 critical, 1 high), 1 below", 2},
		{"low with block_on high", stages.SCA, gate(high, false, ErrorBlock), fs(findings.SeverityLow), nil,
			StatusWarned, "1 finding below high (1 low)", 0},
		{"warn_only with critical", stages.DAST, gate(high, true, ErrorBlock), fs(crit, crit), nil,
			StatusWarned, "warn only: 2 findings at or above high (2 critical)", 0},
		{"tool error blocks", stages.Secrets, gate(info, false, ErrorBlock), nil, []error{errTool},
			StatusError, "1 tool error: gitleaks: exited with code 2: fatal ...", 0},
		{"tool error the tool's on_error allows", stages.Secrets, allow(gate(info, false, ErrorBlock), "gitleaks"), nil, []error{errTool},
			StatusWarned, "1 tool error: gitleaks: exited with code 2: fatal ... (allowed by per_tool.gitleaks.on_error: warn)", 0},
		{"stage-wide warn no longer relaxes", stages.Secrets, gate(info, false, ErrorWarn), nil, []error{errTool},
			StatusError, "1 tool error: gitleaks: exited with code 2: fatal ...", 0},
		{"another tool's on_error does not allow", stages.SCA, allow(gate(high, false, ErrorBlock), "trivy"), nil, []error{osvTimeout},
			StatusError, "1 tool error: osv-scanner: timed out after 5m0s", 0},
		{"one allowed, one not: errors", stages.SCA, allow(gate(high, false, ErrorBlock), "osv-scanner"), nil, []error{osvTimeout, errors.New("plan: no go.mod")},
			StatusError, "1 tool error: plan: no go.mod", 0},
		{"an error not tied to a tool never passes", stages.SCA, allow(gate(high, false, ErrorBlock), "osv-scanner"), nil, []error{errors.New("osv-scanner: x")},
			StatusError, "1 tool error: osv-scanner: x", 0},
		{"tool error under warn_only still errors", stages.SCA, gate(high, true, ErrorBlock), nil, []error{errors.New("a"), errors.New("b")},
			StatusError, "2 tool errors: a; b", 0},
		{"tool error and findings", stages.SCA, gate(high, false, ErrorBlock), fs(crit), []error{errors.New("osv: timeout")},
			StatusError, "1 tool error: osv: timeout; 1 finding at or above high (1 critical)", 1},
		{"allowed tool error does not hide blocking findings", stages.SCA, allow(gate(high, false, ErrorBlock), "osv-scanner"), fs(crit), []error{osvTimeout},
			StatusBlocked, "1 finding at or above high (1 critical); 1 tool error: osv-scanner: timed out after 5m0s (allowed by per_tool.osv-scanner.on_error: warn)", 1},
		{"nil tool error still counts", stages.SCA, gate(high, false, ErrorBlock), nil, []error{nil},
			StatusError, "1 tool error: unknown error", 0},
		{"secrets default blocks on info", stages.Secrets, def.Stage(stages.Secrets), fs(info), nil,
			StatusBlocked, "any finding blocks (policy: block_on info): 1 finding (1 info)", 1},
		{"secrets default blocks on any", stages.Secrets, def.Stage(stages.Secrets), fs(findings.SeverityLow, crit), nil,
			StatusBlocked, "any finding blocks (policy: block_on info): 2 findings (1 critical, 1 low)", 2},
		{"block_on info warn only", stages.Secrets, gate(info, true, ErrorBlock), fs(findings.SeverityLow, crit), nil,
			StatusWarned, "warn only: 2 findings (1 critical, 1 low)", 0},
		{"block_on info against a baseline", stages.Secrets, gate(info, false, ErrorBlock), baselined(fs(findings.SeverityLow, crit), findings.BaselineNew, findings.BaselineKnown), nil,
			StatusBlocked, "any new finding blocks (policy: block_on info): 1 new finding (1 low); 1 known", 1},
		{"zero policy fails closed", stages.SCA, StagePolicy{}, fs(info), []error{errors.New("x")},
			StatusError, "1 tool error: x; any finding blocks (policy: block_on info): 1 finding (1 info)", 1},
		{"invalid finding severity blocks", stages.SCA, gate(crit, false, ErrorBlock), fs(0), nil,
			StatusBlocked, "1 finding at or above critical (1 without a valid severity)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(tt.stage, tt.sp, tt.fs, tt.errs)
			if v.Status != tt.status || v.Reason != tt.reason || len(v.Blocking) != tt.blocking {
				t.Errorf("got %s %q (%d blocking), want %s %q (%d blocking)", v.Status, v.Reason, len(v.Blocking), tt.status, tt.reason, tt.blocking)
			}
			if strings.Contains(v.Reason, "AKIA") || strings.Contains(v.Reason, "generic-api-key") {
				t.Errorf("reason leaks finding details: %q", v.Reason)
			}
		})
	}
}

func TestEvaluateBlockingSorted(t *testing.T) {
	in := []findings.Finding{finding(high), finding(crit), finding(findings.SeverityLow)}
	v := Evaluate(stages.SCA, StagePolicy{BlockOn: high, OnToolError: ErrorBlock}, in, nil)
	if len(v.Blocking) != 2 || in[v.Blocking[0]].Severity != crit || in[v.Blocking[1]].Severity != high {
		t.Errorf("blocking = %v", v.Blocking)
	}
	if in[0].Severity != high {
		t.Error("Evaluate reordered its input")
	}
}

func TestEvaluateLongToolError(t *testing.T) {
	v := Evaluate(stages.SCA, StagePolicy{BlockOn: high}, nil, []error{errors.New(strings.Repeat("x", 5000))})
	if len(v.Reason) > 300 {
		t.Errorf("reason is %d bytes", len(v.Reason))
	}
}

func TestEvaluateSuppressedAndBaseline(t *testing.T) {
	gate := StagePolicy{Enabled: true, BlockOn: high, OnToolError: ErrorBlock}
	suppressed := func(f findings.Finding) findings.Finding {
		f.Suppressed = &findings.Suppressed{Justification: "j", Owner: "o", Expires: "2026-12-31", Source: "p.yaml:3"}
		return f
	}
	state := func(f findings.Finding, s string) findings.Finding { f.Baseline = s; return f }
	tests := []struct {
		name       string
		fs         []findings.Finding
		errs       []error
		status     Status
		reason     string
		blocking   int
		suppressed int
		known      int
	}{
		{"suppressed high does not block", []findings.Finding{suppressed(finding(high))}, nil,
			StatusPassed, "no findings; 1 suppressed", 0, 1, 0},
		{"suppressed next to a blocking one", []findings.Finding{suppressed(finding(crit)), finding(high), finding(low)}, nil,
			StatusBlocked, "1 finding at or above high (1 high), 1 below; 1 suppressed", 1, 1, 0},
		{"suppressed next to a low one", []findings.Finding{suppressed(finding(crit)), finding(low)}, nil,
			StatusWarned, "1 finding below high (1 low); 1 suppressed", 0, 1, 0},
		{"known critical does not block", []findings.Finding{state(finding(crit), findings.BaselineKnown)}, nil,
			StatusPassed, "no new findings; 1 known", 0, 0, 1},
		{"new critical blocks", []findings.Finding{state(finding(crit), findings.BaselineNew), state(finding(crit), findings.BaselineKnown)}, nil,
			StatusBlocked, "1 new finding at or above high (1 critical); 1 known", 1, 0, 1},
		{"baseline, suppressed and known", []findings.Finding{
			state(finding(crit), findings.BaselineNew), state(finding(high), findings.BaselineNew), state(finding(low), findings.BaselineNew),
			state(finding(crit), findings.BaselineKnown), state(finding(crit), findings.BaselineKnown), state(finding(high), findings.BaselineKnown),
			state(finding(med), findings.BaselineKnown), state(finding(info), findings.BaselineKnown),
			suppressed(state(finding(crit), findings.BaselineNew)),
		}, nil, StatusBlocked, "2 new findings at or above high (1 critical, 1 high), 1 below; 5 known, 1 suppressed", 2, 1, 5},
		{"known and suppressed counts as suppressed", []findings.Finding{suppressed(state(finding(crit), findings.BaselineKnown))}, nil,
			StatusPassed, "no new findings; 1 suppressed", 0, 1, 0},
		{"no state in a baseline run fails closed", []findings.Finding{state(finding(info), findings.BaselineKnown), finding(crit)}, nil,
			StatusBlocked, "1 new finding at or above high (1 critical); 1 known", 1, 0, 1},
		{"tool error with only suppressed findings", []findings.Finding{suppressed(finding(crit))}, []error{errors.New("x")},
			StatusError, "1 tool error: x; no findings; 1 suppressed", 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(stages.SCA, gate, tt.fs, tt.errs)
			if v.Status != tt.status || v.Reason != tt.reason || len(v.Blocking) != tt.blocking || v.Suppressed != tt.suppressed || v.Known != tt.known {
				t.Errorf("got %s %q (%d blocking, %d suppressed, %d known)\nwant %s %q (%d, %d, %d)",
					v.Status, v.Reason, len(v.Blocking), v.Suppressed, v.Known, tt.status, tt.reason, tt.blocking, tt.suppressed, tt.known)
			}
			for _, i := range v.Blocking {
				if !Gates(tt.fs[i]) {
					t.Errorf("blocking finding the gate does not count: %+v", tt.fs[i])
				}
			}
		})
	}
	warn := gate
	warn.WarnOnly = true
	v := Evaluate(stages.SCA, warn, []findings.Finding{state(finding(crit), findings.BaselineNew), state(finding(crit), findings.BaselineKnown)}, nil)
	if v.Status != StatusWarned || v.Reason != "warn only: 1 new finding at or above high (1 critical); 1 known" {
		t.Errorf("warn only: %s %q", v.Status, v.Reason)
	}
}

func TestEvaluateWithPolicyPipeline(t *testing.T) {
	// What the pipeline does per stage: override, suppress, evaluate.
	p, err := Parse([]byte(`stages:
  sast:
    block_on: high
    severity: {gosec/G104: critical}
suppressions:
  - rule: G401
    justification: legacy crypto for a checksum, not security
    owner: platform
    expires: 2099-01-01
`), "dagsec.yaml", "")
	if err == nil {
		t.Fatal("an expiry decades ahead was accepted")
	}
	fixedClock(t)
	p, err = Parse([]byte(`stages:
  sast:
    block_on: high
    severity: {gosec/G104: critical}
suppressions:
  - rule: G401
    justification: legacy crypto for a checksum, not security
    owner: platform
    expires: 2026-12-31
`), "dagsec.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	sp := p.Stage(stages.SAST)
	fs := []findings.Finding{
		{Stage: stages.SAST, Tool: "gosec", RuleID: "G104", Severity: low, Location: findings.Location{Path: "a.go"}},
		{Stage: stages.SAST, Tool: "gosec", RuleID: "G401", Severity: high, Location: findings.Location{Path: "b.go"}},
	}
	fs = sp.OverrideSeverity(fs)
	rep := Suppress(p.Suppressions, fs, clock())
	v := Evaluate(stages.SAST, sp, fs, nil)
	if v.Status != StatusBlocked || v.Reason != "1 finding at or above high (1 critical); 1 suppressed" || len(rep.Active) != 1 {
		t.Errorf("%s %q %+v", v.Status, v.Reason, rep)
	}
}
