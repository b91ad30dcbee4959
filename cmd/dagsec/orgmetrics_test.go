package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// A generated fleet history: per repository and fleet run, what that run
// reported. Times are hours after t0.
type histRun struct {
	// at is the fleet run's start, in hours after t0.
	at float64
	// open are the findings reported, by id (see histFinding).
	open []string
	// skipped names a scanning stage the run skipped; failed: the
	// repository could not be scanned at all (a clone that failed).
	skipped string
	failed  bool
	digest  string
}

// histFinding is a finding by id: its stage, tool and severity.
var histFinding = map[string]struct {
	stage, tool string
	sev         findings.Severity
}{
	"C1": {"sca", "govulncheck", findings.SeverityCritical},
	"C2": {"sca", "govulncheck", findings.SeverityCritical},
	"C3": {"sast", "gosec", findings.SeverityCritical},
	"H1": {"sast", "gosec", findings.SeverityHigh},
	"S1": {"secrets", "gitleaks", findings.SeverityHigh},
}

var t0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func histReport(t *testing.T, r histRun) *pipeline.Report {
	at := t0.Add(time.Duration(r.at * float64(time.Hour)))
	var fs []findings.Finding
	for _, id := range r.open {
		h := histFinding[id]
		f := findings.Finding{Stage: h.stage, Tool: h.tool, RuleID: id, Severity: h.sev, Message: "finding " + id,
			Location: findings.Location{Path: "src/" + id, Line: 1}}
		f.Fingerprint = findings.Fingerprint(f)
		fs = append(fs, f)
	}
	if fs == nil {
		fs = []findings.Finding{}
	}
	rep := &pipeline.Report{SchemaVersion: pipeline.SchemaVersion, Runner: "host", Source: "x", Policy: "default",
		StartedAt: at, FinishedAt: at.Add(time.Minute), Branch: "main", Findings: fs, Counts: findings.CountBySeverity(fs),
		Errors: []string{}, ManifestsDigest: r.digest, Status: policies.StatusPassed}
	for _, st := range []struct{ stage, tool string }{{"secrets", "gitleaks"}, {"sast", "gosec"}, {"sca", "govulncheck"}} {
		sr := pipeline.StageReport{Name: st.stage, Status: policies.StatusPassed, Tools: []pipeline.ToolReport{{Name: st.tool, Version: "v1"}}}
		if st.stage == r.skipped {
			sr.Status, sr.Tools = policies.StatusSkipped, nil
		}
		rep.Stages = append(rep.Stages, sr)
	}
	return rep
}

// writeFleetHistory writes one fleet folder per fleet run, as dagsec fleet
// writes them: fleet.json and a report folder per repository.
func writeFleetHistory(t *testing.T, history map[string][]histRun) string {
	t.Helper()
	dir := t.TempDir()
	names := []string{"api", "legacy", "web"}
	for i := range history["api"] {
		fr := &fleet.Report{SchemaVersion: fleet.SchemaVersion, Runner: "host", Total: len(names), Reports: map[string]*pipeline.Report{}}
		for j, name := range names {
			run := history[name][i]
			repo := fleet.Repo{Index: j, Name: name, URL: "/src/" + name}
			rep := histReport(t, run)
			if run.failed {
				rep = fleet.ErrorReport(repo, rep.StartedAt, errors.New("clone: not found"))
			}
			fr.Repos = append(fr.Repos, fleet.Result(repo, rep))
			fr.StartedAt, fr.FinishedAt = rep.StartedAt, rep.FinishedAt
			if _, err := writeOutputs(rep, filepath.Join(dir, "run-"+string(rune('a'+i)), name), gitlabOptions("", "", "")); err != nil {
				t.Fatal(err)
			}
		}
		fr.Finish()
		js, err := fr.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "run-"+string(rune('a'+i)), fleet.ReportFile), js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.01 }

func target(t *testing.T, h metrics.HistoryMetrics, name string) metrics.TargetResult {
	t.Helper()
	for _, r := range h.Targets {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no target %s", name)
	return metrics.TargetResult{}
}

func TestOrganisationMetricsMatchAHandCalculation(t *testing.T) {
	// Three repositories over three fleet runs at 0 h, 30 h and 100 h.
	history := map[string][]histRun{
		// api: C1 fixed at 30 h, H1 fixed at 100 h; every stage scanned.
		"api": {{at: 0, open: []string{"C1", "H1"}, digest: "sha256:a"}, {at: 30, open: []string{"H1"}, digest: "sha256:a"},
			{at: 100, digest: "sha256:a"}},
		// web: C2 open from 0 h, fixed at 100 h; the secret S1 leaks at 30 h
		// and is still there at 100 h (one incident); sast skipped at 30 h;
		// its manifests change at 100 h.
		"web": {{at: 0, open: []string{"C2"}, digest: "sha256:w1"}, {at: 30, open: []string{"C2", "S1"}, skipped: "sast", digest: "sha256:w1"},
			{at: 100, open: []string{"S1"}, digest: "sha256:w2"}},
		// legacy: not cloned at 0 h; C3 open from 30 h, still open at 100 h.
		"legacy": {{at: 0, failed: true}, {at: 30, open: []string{"C3"}, digest: "sha256:l"}, {at: 100, open: []string{"C3"}, digest: "sha256:l"}},
	}
	dir := writeFleetHistory(t, history)

	code, stdout, stderr := dagsec(t, "metrics", "--history", dir, "--format", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (targets missed)\n%s%s", code, stdout, stderr)
	}
	var om metrics.OrgMetrics
	if err := json.Unmarshal([]byte(stdout), &om); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	o := om.Organisation

	// By hand, from the history above.
	const asOf = 100.0
	critFixed := []float64{30 - 0, 100 - 0} // api C1, web C2
	wantMTTRCrit := (critFixed[0] + critFixed[1]) / 2
	wantMTTRHigh := 100.0 - 0   // api H1
	wantOldestCrit := asOf - 30 // legacy C3
	wantOpenCrit := 0 + 0 + 1   // latest run of api, web, legacy
	runs, complete := 9, 9-1-1  // web at 30 h skipped sast; legacy at 0 h was not scanned
	wantScanned := math.Round(100*float64(complete)/float64(runs)*100) / 100
	wantLeaks := 1                                   // S1, first leaked in 2026-Q4
	wantStalest := math.Round((asOf-0)/24*100) / 100 // api's manifests never changed: since 0 h

	checks := []struct {
		what      string
		got, want float64
	}{
		{"repositories", float64(om.Repositories), 3},
		{"runs", float64(om.Runs), float64(runs)},
		{"MTTR critical", *o.Critical.MTTRHours, wantMTTRCrit},
		{"critical remediated", float64(o.Critical.Remediated), 2},
		{"critical open", float64(o.Critical.Open), 1},
		{"oldest open critical", *o.Critical.OldestOpenHours, wantOldestCrit},
		{"MTTR high", *o.High.MTTRHours, wantMTTRHigh},
		{"open criticals", float64(*o.OpenCritical.Count), float64(wantOpenCrit)},
		{"scanned percent", o.Scanned.Percent, wantScanned},
		{"secret leaks this quarter", float64(o.SecretLeaksThisQuarter), float64(wantLeaks)},
		{"days since manifests changed (stalest)", *o.Manifests.DaysSinceChange, wantStalest},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("organisation %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if om.StalestManifests != "api" || o.Quarter != "2026-Q4" {
		t.Errorf("stalest manifests %q, quarter %q", om.StalestManifests, o.Quarter)
	}
	// Judged against the default targets: MTTR critical 65 h > 48 h (and
	// C3 open 70 h), an open critical, a leak, 77.78% < 100% missed; MTTR
	// high 100 h ≤ 168 h met; no image built.
	for name, want := range map[string]metrics.TargetState{
		metrics.TargetMTTRCritical: metrics.TargetMissed, metrics.TargetMTTRHigh: metrics.TargetMet,
		metrics.TargetOpenCritical: metrics.TargetMissed, metrics.TargetSecretLeaks: metrics.TargetMissed,
		metrics.TargetScannedPercent: metrics.TargetMissed, metrics.TargetImageAge: metrics.TargetNoData,
	} {
		if got := target(t, o, name).State; got != want {
			t.Errorf("organisation target %s: %s, want %s", name, got, want)
		}
	}

	// Each repository's own numbers.
	per := map[string]metrics.HistoryMetrics{}
	for _, r := range om.Repos {
		per[r.Name] = r.Metrics
	}
	repoChecks := []struct {
		repo, what string
		got        *float64
		want       float64
	}{
		{"api", "MTTR critical", per["api"].Critical.MTTRHours, critFixed[0]},
		{"web", "MTTR critical", per["web"].Critical.MTTRHours, critFixed[1]},
		{"api", "scanned", ptrTo(per["api"].Scanned.Percent), 100},
		{"web", "scanned", ptrTo(per["web"].Scanned.Percent), math.Round(100*2.0/3*100) / 100},
		{"legacy", "scanned", ptrTo(per["legacy"].Scanned.Percent), math.Round(100*2.0/3*100) / 100},
		{"legacy", "open criticals", ptrTo(float64(*per["legacy"].OpenCritical.Count)), 1},
		{"web", "leaks", ptrTo(float64(per["web"].SecretLeaksThisQuarter)), 1},
		{"web", "days since manifests changed", per["web"].Manifests.DaysSinceChange, 0},
	}
	for _, c := range repoChecks {
		if c.got == nil || !near(*c.got, c.want) {
			t.Errorf("%s %s = %v, want %v", c.repo, c.what, c.got, c.want)
		}
	}
	if per["legacy"].Critical.MTTRHours != nil || target(t, per["api"], metrics.TargetMTTRCritical).State != metrics.TargetMet {
		t.Errorf("legacy remediated nothing, api met its MTTR target")
	}

	// The other formats say the same.
	code, md, _ := dagsec(t, "metrics", "--history", dir, "--format", "markdown")
	if code != 1 || !strings.Contains(md, "# dagsec organisation metrics: 4 of 6 targets missed") || !strings.Contains(md, "| legacy | 3 |") {
		t.Errorf("markdown (exit %d):\n%s", code, md)
	}
	_, om2, _ := dagsec(t, "metrics", "--history", dir, "--format", "openmetrics")
	for _, line := range []string{`dagsec_mttr_seconds{severity="critical"} 234000`, `dagsec_open_critical_production 1`,
		`dagsec_repo_target_met{repo="web",target="mttr_critical"} 0`, "# EOF"} {
		if !strings.Contains(om2, line) {
			t.Errorf("openmetrics lacks %q:\n%s", line, om2)
		}
	}

	// fleet.html charts the organisation over the history: the latest
	// fleet folder merged alone, with --history.
	out := filepath.Join(t.TempDir(), "latest")
	if code, stdout, stderr := dagsec(t, "fleet", "merge", "--history", dir, "--out", out, filepath.Join(dir, "run-c")); code != 0 {
		t.Fatalf("merge of the latest run: exit %d, want 0 (every report of it says passed)\n%s%s", code, stdout, stderr)
	}
	p := testenv.Browse(t, filepath.Join(out, "fleet.html"), "")
	if len(p.Console) > 0 || !strings.Contains(p.DOM, `data-ready="1"`) {
		t.Errorf("fleet.html with history: console %v", p.Console)
	}
	for _, want := range []string{"Open findings by severity", "Mean time to remediate", "Coverage", "<polyline", `id="targets"`} {
		if !strings.Contains(p.DOM, want) {
			t.Errorf("fleet.html with history lacks %q", want)
		}
	}
	testenv.Screenshot(t, filepath.Join(out, "fleet.html"), "fleet-history.png")
}

func ptrTo(v float64) *float64 { return &v }
