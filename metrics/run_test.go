package metrics

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// runReport is a run with findings in several stages, baseline states,
// suppressions, a built image, tools with databases and a tool whose
// version needs escaping.
func runReport() *pipeline.Report {
	sca := scanned("sca", "govulncheck", "osv-scanner", "govulncheck")
	sca.Tools[0].Database = "golang.org/x/vulndb v0.0.0-20261105234957-e22db6528018"
	sca.Tools[2].Database = sca.Tools[0].Database // once per module: listed once
	sca.Tools[1].Database = "local osv"
	iac := scanned("iac", "trivy", "checkov")
	iac.Tools[1].Skipped, iac.Tools[1].Version = "not available on this runner", "3.2.255"
	df := scanned("dockerfile", "hadolint")
	df.Tools[0].Version = "v2.12.0 \"patched\" \\ build\nline 2"
	build := scanned("build", "dagsec")
	sts := []pipeline.StageReport{
		scanned("secrets", "gitleaks"), scanned("sast", "gosec"), sca, iac, df, build,
		{Name: "licenses", Status: policies.StatusError, Reason: "syft crashed"},
		skipped("dast", "disabled by policy"),
		skipped("production", "branch feature/x is not the production branch main"),
	}
	newF := func(f findings.Finding) findings.Finding { f.Baseline = findings.BaselineNew; return f }
	knownF := func(f findings.Finding) findings.Finding { f.Baseline = findings.BaselineKnown; return f }
	fs := []findings.Finding{
		newF(finding("sca", "govulncheck", "GO-1", high, "go.mod")),
		knownF(finding("sca", "osv-scanner", "GHSA-1", high, "web/package-lock.json")),
		suppressed(knownF(finding("sca", "osv-scanner", "GHSA-2", high, "web/package-lock.json"))),
		newF(finding("sca", "osv-scanner", "GHSA-3", findings.SeverityLow, "web/package-lock.json")),
		newF(finding("secrets", "gitleaks", "aws-access-token", crit, "app/settings.py")),
		knownF(finding("sast", "gosec", "G401", findings.SeverityMedium, "main.go")),
		finding("iac", "trivy", "AVD-AWS-0086", high, "infra/main.tf"), // not compared
	}
	rep := report(time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC), "feature/x", sts, fs...)
	rep.Image = &pipeline.ImageInfo{Ref: "app:1.4.0", BaseRef: "python:3.13-slim", BaseCreated: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	return rep
}

func TestMetricsRunCounts(t *testing.T) {
	m := Run(runReport())
	if got := m.Findings["sca"]; got["high"] != 3 || got["low"] != 1 || got["critical"] != 0 {
		t.Errorf("sca findings %v", got)
	}
	if m.New["sca"]["high"] != 1 || m.New["secrets"]["critical"] != 1 || m.Known["sca"]["high"] != 2 || m.Suppressed["sca"]["high"] != 1 {
		t.Errorf("new %v known %v suppressed %v", m.New, m.Known, m.Suppressed)
	}
	// Every stage of the report has every severity, zero or not.
	if c, ok := m.Findings["dast"]; !ok || len(c) != 5 || c["info"] != 0 {
		t.Errorf("dast counts %v", c)
	}
	want := FindingTotals{Findings: 7, Open: 6, Suppressed: 1, New: 3, Known: 3, NotCompared: 1}
	if m.Totals != want {
		t.Errorf("totals %+v, want %+v", m.Totals, want)
	}
	if strings.Join(m.Stages.Scanned, ",") != "secrets,sast,sca,iac,dockerfile,build" || strings.Join(m.Stages.Skipped, ",") != "dast" ||
		strings.Join(m.Stages.Error, ",") != "licenses" || m.Stages.Complete() {
		t.Errorf("stages %+v (production is no scan)", m.Stages)
	}
	if m.BaseImageAgeDays == nil || *m.BaseImageAgeDays != 14.5 {
		t.Errorf("base image age %s, want 14.5 days (Mar 1 to Mar 15 12:00)", val(m.BaseImageAgeDays))
	}
	var tools []string
	for _, tv := range m.Tools {
		tools = append(tools, tv.Stage+"/"+tv.Tool)
	}
	if strings.Join(tools, " ") != "secrets/gitleaks sast/gosec sca/govulncheck sca/osv-scanner iac/trivy dockerfile/hadolint build/dagsec" {
		t.Errorf("tools %v (skipped checkov left out, govulncheck once)", tools)
	}

	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"findings":{"build":{"critical":0`, `"findings_new":`, `"findings_suppressed":`, `"base_image_age_days":14.5`, `"database":"local osv"`, `"stages":{"scanned":["secrets"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	// No image: null, not zero.
	rep := runReport()
	rep.Image = nil
	b, _ = json.Marshal(Run(rep))
	if !strings.Contains(string(b), `"base_image_age_days":null`) || !strings.Contains(string(b), `"image":null`) {
		t.Errorf("no image: %s", b)
	}
	rep.Image = &pipeline.ImageInfo{Ref: "app:scratch"}
	if Run(rep).BaseImageAgeDays != nil {
		t.Error("a base without a creation time has an age")
	}
}

func TestMetricsRunOpenMetrics(t *testing.T) {
	text := string(Run(runReport()).OpenMetrics())
	series, types, err := parseOpenMetrics(text)
	if err != nil {
		t.Fatalf("invalid OpenMetrics: %v\n%s", err, text)
	}
	if !strings.Contains(text, "# TYPE dagsec_findings gauge\n") || !strings.Contains(text, `dagsec_findings{stage="sca",severity="high"} 3`+"\n") ||
		!strings.HasSuffix(text, "\n# EOF\n") {
		t.Errorf("text:\n%s", text)
	}
	want := map[string]float64{
		`dagsec_findings{severity="high",stage="sca"}`:                               3,
		`dagsec_findings{severity="info",stage="dast"}`:                              0,
		`dagsec_findings_new{severity="critical",stage="secrets"}`:                   1,
		`dagsec_findings_known{severity="high",stage="sca"}`:                         2,
		`dagsec_findings_suppressed{severity="high",stage="sca"}`:                    1,
		`dagsec_stages{state="scanned"}`:                                             6,
		`dagsec_stages{state="skipped"}`:                                             1,
		`dagsec_stages{state="error"}`:                                               1,
		`dagsec_base_image_age_days{}`:                                               14.5,
		`dagsec_run_status{status="blocked"}`:                                        0,
		`dagsec_run_status{status="error"}`:                                          1,
		`dagsec_run_exit_code{}`:                                                     2,
		`dagsec_run_timestamp_seconds{}`:                                             float64(time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC).Unix()),
		`dagsec_run_duration_seconds{}`:                                              90,
		`dagsec_tool_info{database="local osv",tool="osv-scanner",version="v1.0.0"}`: 1,
		// Escaped on the wire, the same text once parsed.
		`dagsec_tool_info{database="",tool="hadolint",version="v2.12.0 \"patched\" \\ build\nline 2"}`: 1,
	}
	for k, v := range want {
		if got, ok := series[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if !strings.Contains(text, `version="v2.12.0 \"patched\" \\ build\nline 2"`) {
		t.Errorf("label value not escaped:\n%s", text)
	}
	if types["dagsec_tool"] != "info" || types["dagsec_findings"] != "gauge" {
		t.Errorf("types %v", types)
	}
	// govulncheck ran twice with the same version and database: one series.
	n := 0
	for k := range series {
		if strings.Contains(k, `tool="govulncheck"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d govulncheck series", n)
	}
	// Without an image the family is left out, and the text stays valid.
	rep := runReport()
	rep.Image = nil
	text = string(Run(rep).OpenMetrics())
	if _, _, err := parseOpenMetrics(text); err != nil || strings.Contains(text, "dagsec_base_image_age_days") {
		t.Errorf("no image: %v\n%s", err, text)
	}
}

func TestMetricsHistoryOpenMetrics(t *testing.T) {
	a := finding("sca", "govulncheck", "GO-1", crit, "go.mod")
	key := finding("secrets", "gitleaks", "aws-access-token", crit, "app/settings.py")
	sts := []pipeline.StageReport{scanned("secrets", "gitleaks"), scanned("sca", "govulncheck")}
	m := History(Saved(
		report(jan(1, 0), "main", sts, a, key),
		report(jan(2, 6), "main", sts, key),
	), DefaultTargets(), "main")
	text := string(m.OpenMetrics())
	series, _, err := parseOpenMetrics(text)
	if err != nil {
		t.Fatalf("invalid OpenMetrics: %v\n%s", err, text)
	}
	for k, v := range map[string]float64{
		`dagsec_mttr_seconds{severity="critical"}`:                         30 * 3600,
		`dagsec_remediated_findings{severity="critical"}`:                  1,
		`dagsec_open_findings{severity="critical",suppressed="false"}`:     1,
		`dagsec_oldest_open_finding_age_seconds{severity="critical"}`:      30 * 3600,
		`dagsec_open_critical_production{}`:                                1,
		`dagsec_secret_leaks{quarter="2026-Q1"}`:                           1,
		`dagsec_scanned_runs_percent{}`:                                    100,
		`dagsec_target_met{target="open_critical"}`:                        0,
		`dagsec_target_met{target="mttr_critical"}`:                        1,
		`dagsec_target_value{target="mttr_critical",unit="hours"}`:         30,
		`dagsec_target_threshold{target="image_age",unit="days"}`:          30,
		`dagsec_target_threshold{target="scanned_percent",unit="percent"}`: 100,
		`dagsec_targets_met{}`:                                             0,
	} {
		if got, ok := series[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, ok := series[`dagsec_target_met{target="image_age"}`]; ok {
		t.Error("a target without data has a dagsec_target_met series")
	}
}
