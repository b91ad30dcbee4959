package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

const (
	crit = findings.SeverityCritical
	high = findings.SeverityHigh
)

// MTTR from saved reports, by hand:
//
//	run  when (2026)   branch     sca                      findings
//	1    Jan 1 00:00   main       scanned                  A crit, H high (sast)
//	2    Jan 1 12:00   main       skipped (nothing to run) -            (A absent: says nothing)
//	3    Jan 2 00:00   main       scanned                  A, B, C crit, S crit suppressed (H gone)
//	4    Jan 2 06:00   feature/x  scanned                  -            (another branch: says nothing)
//	5    Jan 2 12:00   main       scanned                  A, C, S      (B gone)
//	6    Jan 2 18:00   main       warned, govulncheck failed -          (tool failed: says nothing)
//	7    Jan 3 00:00   main       scanned                  C, S         (A gone)
//
//	A: first seen Jan 1 00:00, gone Jan 3 00:00 → 48h (not 12h at run 2,
//	   nor 54h... at run 4, nor run 6)
//	B: first seen Jan 2 00:00, gone Jan 2 12:00 → 12h
//	MTTR critical = (48h + 12h) / 2 = 30h
//	C: still open, first seen Jan 2 00:00, as of Jan 3 00:00 → 24h old
//	S: suppressed, still open: not remediated, not in MTTR, not in Open
//	H (high): first seen Jan 1 00:00, gone Jan 2 00:00 → MTTR high 24h
func TestMetricsHistoryMTTRMatchesHandCalculation(t *testing.T) {
	a := finding("sca", "govulncheck", "GO-2026-0001", crit, "go.mod")
	b := finding("sca", "govulncheck", "GO-2026-0002", crit, "go.mod")
	c := finding("sca", "govulncheck", "GO-2026-0003", crit, "go.mod")
	s := suppressed(finding("sca", "govulncheck", "GO-2026-0004", crit, "go.mod"))
	h := finding("sast", "gosec", "G204", high, "main.go")
	failed := scanned("sca", "govulncheck")
	failed.Status, failed.Tools[0].Error = policies.StatusWarned, "govulncheck exited 2"
	reps := []*pipeline.Report{
		report(jan(1, 0), "main", []pipeline.StageReport{scanned("sca", "govulncheck"), scanned("sast", "gosec")}, a, h),
		report(jan(1, 12), "main", []pipeline.StageReport{skipped("sca", "no tool could run"), scanned("sast", "gosec")}, h),
		report(jan(2, 0), "main", []pipeline.StageReport{scanned("sca", "govulncheck"), scanned("sast", "gosec")}, a, b, c, s),
		report(jan(2, 6), "feature/x", []pipeline.StageReport{scanned("sca", "govulncheck"), scanned("sast", "gosec")}),
		report(jan(2, 12), "main", []pipeline.StageReport{scanned("sca", "govulncheck"), scanned("sast", "gosec")}, a, c, s),
		report(jan(2, 18), "main", []pipeline.StageReport{failed, scanned("sast", "gosec")}),
		report(jan(3, 0), "main", []pipeline.StageReport{scanned("sca", "govulncheck"), scanned("sast", "gosec")}, c, s),
	}
	m := History(saveHistory(t, reps...), DefaultTargets(), "main")

	if m.Runs != 7 || m.ProductionRuns != 6 || !m.AsOf.Equal(jan(3, 0)) || !m.From.Equal(jan(1, 0)) {
		t.Fatalf("runs %d, production %d, from %v, as of %v", m.Runs, m.ProductionRuns, m.From, m.AsOf)
	}
	cr := m.Critical
	if cr.Remediated != 2 || cr.MTTRHours == nil || *cr.MTTRHours != 30 {
		t.Fatalf("critical: %d remediated, MTTR %s hours; want 2 and 30 (48h and 12h): %+v", cr.Remediated, val(cr.MTTRHours), cr.RemediatedFindings)
	}
	got := map[string]Occurrence{}
	for _, o := range cr.RemediatedFindings {
		got[o.Fingerprint] = o
	}
	if o := got[a.Fingerprint]; !o.FirstSeen.Equal(jan(1, 0)) || !o.RemediatedAt.Equal(jan(3, 0)) || o.Hours != 48 {
		t.Errorf("A: %+v; want seen Jan 1 00:00, remediated Jan 3 00:00, 48h", o)
	}
	if o := got[b.Fingerprint]; !o.FirstSeen.Equal(jan(2, 0)) || !o.RemediatedAt.Equal(jan(2, 12)) || o.Hours != 12 {
		t.Errorf("B: %+v; want 12h", o)
	}
	if cr.Open != 1 || cr.OldestOpenHours == nil || *cr.OldestOpenHours != 24 || cr.OpenSuppressed != 1 {
		t.Errorf("critical open %d (oldest %s h), suppressed %d; want 1 (C, 24h) and 1 (S)", cr.Open, val(cr.OldestOpenHours), cr.OpenSuppressed)
	}
	if len(cr.OpenFindings) != 2 || cr.OpenFindings[0].Fingerprint != c.Fingerprint && cr.OpenFindings[1].Fingerprint != c.Fingerprint {
		t.Errorf("open findings %+v", cr.OpenFindings)
	}
	if hi := m.High; hi.Remediated != 1 || hi.MTTRHours == nil || *hi.MTTRHours != 24 || hi.Open != 0 {
		t.Errorf("high: %d remediated, MTTR %s; want 1, 24h", hi.Remediated, val(hi.MTTRHours))
	}
	if r := target(t, m, TargetMTTRCritical); r.State != TargetMet || *r.Value != 30 || r.Target != 48 {
		t.Errorf("mttr_critical target: %+v", r)
	}
}

// Each way a run can fail to look for a finding leaves it open; only a run
// that scanned the stage with the finding's tool remediates it.
func TestMetricsRunThatSkippedTheStageIsNotRemediation(t *testing.T) {
	a := finding("sca", "osv-scanner", "GHSA-xxxx-yyyy-zzzz", crit, "web/package-lock.json")
	toolLeftOut := scanned("sca", "govulncheck")
	toolLeftOut.Tools = append(toolLeftOut.Tools, pipeline.ToolReport{Name: "osv-scanner", Version: "v2.6.0", Skipped: "no local OSV database and no network"})
	errored := scanned("sca", "osv-scanner")
	errored.Status, errored.Tools[0].Error = policies.StatusError, "osv-scanner crashed"
	cases := []struct {
		name string
		run  *pipeline.Report
	}{
		{"stage skipped", report(jan(2, 0), "main", []pipeline.StageReport{skipped("sca", "disabled by policy")})},
		{"stage not selected", report(jan(2, 0), "main", []pipeline.StageReport{scanned("secrets", "gitleaks")})},
		{"stage error", report(jan(2, 0), "main", []pipeline.StageReport{errored})},
		{"the finding's tool left out", report(jan(2, 0), "main", []pipeline.StageReport{toolLeftOut})},
		{"another branch", report(jan(2, 0), "release/2", []pipeline.StageReport{scanned("sca", "osv-scanner")})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := report(jan(1, 0), "main", []pipeline.StageReport{scanned("sca", "osv-scanner")}, a)
			m := History(Saved(first, tc.run), DefaultTargets(), "main")
			if m.Critical.Remediated != 0 || m.Critical.Open != 1 || *m.Critical.OldestOpenHours != 24 {
				t.Fatalf("%s remediated the finding: %+v", tc.name, m.Critical)
			}
			// A later run that does scan it remediates it, from the first sighting.
			fixed := report(jan(4, 0), "main", []pipeline.StageReport{scanned("sca", "osv-scanner")})
			m = History(Saved(first, tc.run, fixed), DefaultTargets(), "main")
			if m.Critical.Remediated != 1 || *m.Critical.MTTRHours != 72 {
				t.Fatalf("then remediated: %+v", m.Critical)
			}
		})
	}
}

// A finding that comes back after a fix starts a new clock; its severity
// is the highest it had while open.
func TestMetricsRegressionIsANewOccurrence(t *testing.T) {
	a := finding("sca", "govulncheck", "GO-2026-0001", high, "go.mod")
	aCrit := a
	aCrit.Severity = crit // reachable now: the same fingerprint, raised
	sca := []pipeline.StageReport{scanned("sca", "govulncheck")}
	m := History(Saved(
		report(jan(1, 0), "main", sca, a),
		report(jan(1, 6), "main", sca, aCrit),
		report(jan(1, 10), "main", sca, a),
		report(jan(2, 0), "main", sca), // fixed after 24h: critical
		report(jan(3, 0), "main", sca, a),
		report(jan(3, 2), "main", sca), // back, fixed after 2h: high
	), DefaultTargets(), "main")
	if m.Critical.Remediated != 1 || *m.Critical.MTTRHours != 24 || m.High.Remediated != 1 || *m.High.MTTRHours != 2 {
		t.Fatalf("critical %+v\nhigh %+v", m.Critical, m.High)
	}
}

// Leaks: distinct secret fingerprints by the quarter of their first
// unsuppressed sighting, on any branch; secrets stage, gitleaks in any
// stage, or tagged "secret".
func TestMetricsSecretLeaksPerQuarter(t *testing.T) {
	q4 := time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)
	q1 := time.Date(2026, 2, 3, 9, 0, 0, 0, time.UTC)
	q3 := time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)
	key := finding("secrets", "gitleaks", "aws-access-token", crit, "app/settings.py")
	pem := finding("secrets", "gitleaks", "private-key", crit, "deploy/id_ec.pem")
	fixture := suppressed(finding("secrets", "gitleaks", "generic-api-key", crit, "testdata/fake.env"))
	env := finding("build", "gitleaks", "generic-api-key", crit, "image config: Env")
	layer := finding("image", "trivy", "aws-secret-access-key", crit, "/app/.env")
	layer.Tags = []string{"secret"}
	cve := finding("sca", "govulncheck", "GO-2026-0001", crit, "go.mod")
	sec := []pipeline.StageReport{scanned("secrets", "gitleaks"), scanned("build", "gitleaks"), scanned("image", "trivy"), scanned("sca", "govulncheck")}
	m := History(Saved(
		report(q4, "main", sec, key, fixture, cve),
		report(q1, "feature/leak", sec, key, pem, fixture), // key again: the same incident
		report(q1.Add(time.Hour), "main", sec, env, layer),
		report(q3, "main", sec, fixture),
	), DefaultTargets(), "main")
	want := []QuarterLeaks{
		{Quarter: "2025-Q4", Incidents: 1}, {Quarter: "2026-Q1", Incidents: 3}, {Quarter: "2026-Q2", Incidents: 0}, {Quarter: "2026-Q3", Incidents: 0},
	}
	if len(m.SecretLeaks) != len(want) {
		t.Fatalf("quarters %+v", m.SecretLeaks)
	}
	for i, w := range want {
		if g := m.SecretLeaks[i]; g.Quarter != w.Quarter || g.Incidents != w.Incidents || len(g.Fingerprints) != w.Incidents {
			t.Errorf("quarter %d: %+v, want %+v", i, g, w)
		}
	}
	if m.SecretLeaks[0].Fingerprints[0] != key.Fingerprint {
		t.Errorf("2025-Q4 leak %v, want the AWS key", m.SecretLeaks[0].Fingerprints)
	}
	if m.Quarter != "2026-Q3" || m.SecretLeaksThisQuarter != 0 || target(t, m, TargetSecretLeaks).State != TargetMet {
		t.Errorf("this quarter %s: %d, %+v", m.Quarter, m.SecretLeaksThisQuarter, target(t, m, TargetSecretLeaks))
	}
	// As of Q1, the three new leaks miss the target of none.
	m = History(Saved(report(q4, "main", sec, key), report(q1, "main", sec, key, pem, env, layer)), DefaultTargets(), "main")
	if r := target(t, m, TargetSecretLeaks); r.State != TargetMissed || *r.Value != 3 {
		t.Errorf("Q1 leaks target %+v", r)
	}
	if Quarter(time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC)) != "2026-Q1" || Quarter(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) != "2026-Q2" ||
		Quarter(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) != "2026-Q4" {
		t.Error("Quarter boundaries")
	}
}

// Scan coverage: a run counts when every scanning stage passed, warned or
// blocked; a skipped or failed stage spoils it, production skipped on a
// feature branch does not.
func TestMetricsScannedShare(t *testing.T) {
	code := func() []pipeline.StageReport {
		return []pipeline.StageReport{scanned("secrets", "gitleaks"), scanned("sast", "gosec"), scanned("sca", "govulncheck")}
	}
	withProd := append(code(), skipped("production", "branch feature/x is not the production branch main"))
	withSkip := append(code(), skipped("iac", "no tool had anything to scan"))
	errored := code()
	errored[1].Status = policies.StatusError
	warned := code()
	warned[2].Status = policies.StatusWarned
	m := History(Saved(
		report(jan(1, 0), "main", code()),
		report(jan(2, 0), "feature/x", withProd),
		report(jan(3, 0), "main", withSkip),
		report(jan(4, 0), "main", errored),
		report(jan(5, 0), "main", warned),
		report(jan(6, 0), "main", code(), finding("sca", "govulncheck", "GO-1", high, "go.mod")), // blocked: scanned
		report(jan(7, 0), "main", nil), // nothing ran
		report(jan(8, 0), "main", code()),
	), DefaultTargets(), "main")
	if m.Scanned.Runs != 8 || m.Scanned.Complete != 5 || m.Scanned.Percent != 62.5 {
		t.Fatalf("scanned %+v; want 5 of 8 = 62.5%%", m.Scanned)
	}
	if len(m.Scanned.Incomplete) != 3 || m.Scanned.Incomplete[0].Skipped[0] != "iac" || m.Scanned.Incomplete[1].Error[0] != "sast" {
		t.Errorf("incomplete %+v", m.Scanned.Incomplete)
	}
	if r := target(t, m, TargetScannedPercent); r.State != TargetMissed || *r.Value != 62.5 || r.Bound != "min" {
		t.Errorf("default target 100%%: %+v", r)
	}
	tg := DefaultTargets()
	tg.ScannedPercent = 60
	if r := target(t, History(m2runs(m), tg, "main"), TargetScannedPercent); r.State != TargetMet {
		t.Errorf("60%% target: %+v", r)
	}
}

// m2runs is a history with the same coverage as m's (5 of 8), rebuilt.
func m2runs(m HistoryMetrics) []SavedRun {
	var out []SavedRun
	for i := range m.Scanned.Runs {
		sts := []pipeline.StageReport{scanned("secrets", "gitleaks")}
		if i >= m.Scanned.Complete {
			sts = append(sts, skipped("sast", "no tool"))
		}
		out = append(out, Saved(report(jan(1, i), "main", sts))...)
	}
	return out
}

// Open criticals: the latest run on the production branch, unsuppressed
// only; a later feature-branch run does not count; a run recording no
// branch is the production branch's; none at all is no data.
func TestMetricsOpenCriticalOnProductionBranch(t *testing.T) {
	sca := []pipeline.StageReport{scanned("sca", "govulncheck")}
	a := finding("sca", "govulncheck", "GO-1", crit, "go.mod")
	b := suppressed(finding("sca", "govulncheck", "GO-2", crit, "go.mod"))
	c := finding("sca", "govulncheck", "GO-3", crit, "go.mod")
	m := History(Saved(
		report(jan(1, 0), "main", sca, a, b, c),
		report(jan(2, 0), "refs/heads/main", sca, a, b),
		report(jan(3, 0), "feature/x", sca),
	), DefaultTargets(), "main")
	oc := m.OpenCritical
	if oc.Count == nil || *oc.Count != 1 || oc.Suppressed != 1 || !oc.RunStarted.Equal(jan(2, 0)) {
		t.Fatalf("open critical %+v; want 1 (A) of the Jan 2 run, 1 suppressed", oc)
	}
	if r := target(t, m, TargetOpenCritical); r.State != TargetMissed || *r.Value != 1 || !strings.Contains(r.Note, "scanned: sca") {
		t.Errorf("target %+v", r)
	}
	if len(oc.ScannedStages) != 1 || oc.ScannedStages[0] != "sca" {
		t.Errorf("scanned stages %v", oc.ScannedStages)
	}
	// The branch may be given as a ref.
	if m2 := History(Saved(report(jan(1, 0), "main", sca, a)), DefaultTargets(), "refs/heads/main"); m2.OpenCritical.Count == nil || *m2.OpenCritical.Count != 1 {
		t.Errorf("--branch refs/heads/main: %+v", m2.OpenCritical)
	}
	m = History(Saved(report(jan(1, 0), "main", sca, a), report(jan(2, 0), "", sca, b)), DefaultTargets(), "main")
	if r := target(t, m, TargetOpenCritical); r.State != TargetMet || *r.Value != 0 || !strings.Contains(r.Note, "records no branch") {
		t.Errorf("a run without a branch: %+v", r)
	}
	m = History(Saved(report(jan(1, 0), "feature/x", sca, a)), DefaultTargets(), "main")
	if r := target(t, m, TargetOpenCritical); r.State != TargetNoData || r.Value != nil || m.OpenCritical.Count != nil {
		t.Errorf("no production run: %+v", r)
	}
	if !m.TargetsMet {
		t.Errorf("no data is not a miss: %+v", m.Targets)
	}
}

// Every target met, then each missed in turn.
func TestMetricsTargetsMetAndMissed(t *testing.T) {
	sts := func() []pipeline.StageReport {
		return []pipeline.StageReport{scanned("secrets", "gitleaks"), scanned("sca", "govulncheck"), scanned("build", "dagsec", "gitleaks")}
	}
	img := &pipeline.ImageInfo{Ref: "registry.example.com/app:1.4.0", BaseRef: "python:3.13-slim", BaseCreated: jan(1, 0).AddDate(0, 0, -10)}
	withImage := func(r *pipeline.Report, i *pipeline.ImageInfo) *pipeline.Report { r.Image = i; return r }
	a := finding("sca", "govulncheck", "GO-1", crit, "go.mod")
	hi := finding("sca", "govulncheck", "GO-2", high, "go.mod")
	good := Saved(
		withImage(report(jan(1, 0), "main", sts(), a, hi), img),
		withImage(report(jan(2, 0), "main", sts()), img), // A fixed in 24h, H in 24h
	)
	m := History(good, DefaultTargets(), "main")
	want := map[string]float64{TargetMTTRCritical: 24, TargetMTTRHigh: 24, TargetScannedPercent: 100, TargetOpenCritical: 0, TargetSecretLeaks: 0, TargetImageAge: 11}
	for _, r := range m.Targets {
		if r.State != TargetMet || r.Value == nil || *r.Value != want[r.Name] {
			t.Errorf("%s: %s %s (%s), want met at %v", r.Name, r.State, val(r.Value), r.Note, want[r.Name])
		}
	}
	if !m.TargetsMet || len(m.Targets) != 6 {
		t.Fatalf("targets %+v", m.Targets)
	}

	// Tighter targets: each one missed.
	tight := Targets{MTTRCritical: 12 * time.Hour, MTTRHigh: 23 * time.Hour, ImageAge: 240 * time.Hour, ScannedPercent: 100, OpenCritical: 0, SecretLeaks: 0}
	m = History(good, tight, "main")
	for _, name := range []string{TargetMTTRCritical, TargetMTTRHigh, TargetImageAge} {
		if r := target(t, m, name); r.State != TargetMissed {
			t.Errorf("%s: %+v, want missed", name, r)
		}
	}
	if m.TargetsMet {
		t.Error("TargetsMet with misses")
	}
	// Bounds are inclusive: 24h meets a 24h target.
	tight.MTTRCritical = 24 * time.Hour
	if r := target(t, History(good, tight, "main"), TargetMTTRCritical); r.State != TargetMet {
		t.Errorf("24h against 24h: %+v", r)
	}

	// An open critical older than the target misses it though the mean of
	// the remediated ones is within it: leaving it open cannot help.
	old := finding("sca", "govulncheck", "GO-3", crit, "go.mod")
	m = History(Saved(
		report(jan(1, 0), "main", sts(), a, old),
		report(jan(1, 1), "main", sts(), old), // A fixed in 1h
		report(jan(4, 0), "main", sts(), old), // GO-3 open for 72h
	), DefaultTargets(), "main")
	if r := target(t, m, TargetMTTRCritical); r.State != TargetMissed || *r.Value != 1 || !strings.Contains(r.Note, "1 open longer than the target") {
		t.Errorf("overdue open critical: %+v", r)
	}
	// Suppressed, the same finding does not miss the MTTR target.
	m = History(Saved(
		report(jan(1, 0), "main", sts(), a, suppressed(old)),
		report(jan(1, 1), "main", sts(), suppressed(old)),
		report(jan(4, 0), "main", sts(), suppressed(old)),
	), DefaultTargets(), "main")
	if r := target(t, m, TargetMTTRCritical); r.State != TargetMet || m.Critical.OpenSuppressed != 1 {
		t.Errorf("suppressed open critical: %+v %+v", r, m.Critical)
	}
	// No image built, nothing to remediate: no data and met, not missed.
	m = History(Saved(report(jan(1, 0), "main", sts())), DefaultTargets(), "main")
	if r := target(t, m, TargetImageAge); r.State != TargetNoData || !strings.Contains(r.Note, "no run on the production branch built an image") {
		t.Errorf("image age without an image: %+v", r)
	}
	if r := target(t, m, TargetMTTRCritical); r.State != TargetMet || r.Value != nil || r.Note != "no critical findings" {
		t.Errorf("nothing to remediate: %+v", r)
	}
}

// Base image age is measured at the latest run, from the latest image built
// on the production branch.
func TestMetricsBaseImageAge(t *testing.T) {
	sts := []pipeline.StageReport{scanned("build", "dagsec")}
	r1 := report(jan(1, 0), "main", sts)
	r1.Image = &pipeline.ImageInfo{Ref: "app:1", BaseRef: "alpine:3.20", BaseCreated: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)}
	r2 := report(jan(11, 12), "main", []pipeline.StageReport{scanned("secrets", "gitleaks")}) // no build
	m := History(Saved(r1, r2), DefaultTargets(), "main")
	if b := m.BaseImage; b.AgeDays == nil || *b.AgeDays != 41.5 || b.BaseRef != "alpine:3.20" {
		t.Fatalf("base image %+v; want 41.5 days (Dec 1 to Jan 11 12:00)", b)
	}
	if r := target(t, m, TargetImageAge); r.State != TargetMissed || r.Target != 30 {
		t.Errorf("target %+v", r)
	}
	r2.Image = &pipeline.ImageInfo{Ref: "app:2"} // scratch: unknown
	m = History(Saved(r1, r2), DefaultTargets(), "main")
	if r := target(t, m, TargetImageAge); r.State != TargetNoData || m.BaseImage.Ref != "app:2" {
		t.Errorf("scratch base: %+v %+v", r, m.BaseImage)
	}
}

// Days since the dependency manifests changed: dated at the first run whose
// digest differs from the one before; reports without one are ignored.
func TestMetricsManifestsDaysSinceChange(t *testing.T) {
	dir := t.TempDir()
	s := []pipeline.StageReport{scanned("sca", "govulncheck")}
	for i, r := range []struct {
		at     time.Time
		branch string
		digest string
	}{
		{jan(1, 0), "main", "sha256:aaa"},
		{jan(3, 0), "main", "sha256:aaa"},
		{jan(5, 0), "main", "sha256:bbb"}, // changed
		{jan(6, 0), "main", ""},           // an older dagsec: ignored
		{jan(7, 0), "feature/x", "sha256:ccc"},
		{jan(9, 0), "main", "sha256:bbb"},
		{jan(10, 12), "main", ""},
	} {
		saveRun(t, filepath.Join(dir, "r"+string(rune('a'+i))+".json"), report(r.at, r.branch, s), r.digest)
	}
	runs, err := LoadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := History(runs, DefaultTargets(), "main")
	mf := m.Manifests
	if mf.RunsWithDigest != 4 || !mf.ChangeObserved || !mf.ChangedAt.Equal(jan(5, 0)) || mf.DaysSinceChange == nil || *mf.DaysSinceChange != 5.5 || mf.Digest != "sha256:bbb" {
		t.Fatalf("manifests %+v (days %s); want changed Jan 5, 5.5 days before Jan 10 12:00", mf, val(mf.DaysSinceChange))
	}
	// Never changed: a lower bound from the first digest.
	m = History(runs[:2], DefaultTargets(), "main")
	if mf := m.Manifests; mf.ChangeObserved || *mf.DaysSinceChange != 2 {
		t.Errorf("unchanged %+v", mf)
	}
	// No digests at all: null.
	m = History(Saved(report(jan(1, 0), "main", s)), DefaultTargets(), "main")
	if m.Manifests.DaysSinceChange != nil {
		t.Errorf("no digests: %+v", m.Manifests)
	}
}

// LoadHistory reads *.json and report folders, sorted by start time, and
// names any file that is not a run report.
func TestMetricsLoadHistory(t *testing.T) {
	dir := t.TempDir()
	saveRun(t, filepath.Join(dir, "b.json"), report(jan(1, 0), "main", nil), "sha256:1")
	saveRun(t, filepath.Join(dir, "run-7", "report.json"), report(jan(3, 0), "main", nil), "")
	saveRun(t, filepath.Join(dir, "a.json"), report(jan(2, 0), "main", nil), "")
	// A report folder's other files are not read; hidden files neither.
	os.WriteFile(filepath.Join(dir, "run-7", "sbom.cdx.json"), []byte(`{"bomFormat":"CycloneDX"}`), 0o644)
	os.WriteFile(filepath.Join(dir, ".a.json.tmp"), []byte(`{`), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(`x`), 0o644)
	runs, err := LoadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 || filepath.Base(runs[0].File) != "b.json" || filepath.Base(runs[1].File) != "a.json" || runs[2].File != filepath.Join(dir, "run-7", "report.json") {
		t.Fatalf("order %v %v %v", runs[0].File, runs[1].File, runs[2].File)
	}
	if runs[0].ManifestsDigest != "sha256:1" || runs[1].ManifestsDigest != "" {
		t.Errorf("digests %q %q", runs[0].ManifestsDigest, runs[1].ManifestsDigest)
	}

	os.WriteFile(filepath.Join(dir, "sbom.cdx.json"), []byte(`{"bomFormat":"CycloneDX"}`), 0o644)
	if _, err := LoadHistory(dir); err == nil || !strings.Contains(err.Error(), "sbom.cdx.json is not a dagsec run report") {
		t.Errorf("foreign JSON: %v", err)
	}
	if _, err := LoadHistory(t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds no run reports") {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := LoadHistory(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing folder accepted")
	}
}

// The JSON output uses snake_case and nulls for what is unknown.
func TestMetricsHistoryJSONAndMarkdown(t *testing.T) {
	a := finding("sca", "govulncheck", "GO-1", crit, "go.mod")
	m := History(Saved(
		report(jan(1, 0), "main", []pipeline.StageReport{scanned("sca", "govulncheck")}, a),
		report(jan(2, 0), "main", []pipeline.StageReport{scanned("sca", "govulncheck"), skipped("iac", "nothing | to scan")}, a),
	), DefaultTargets(), "main")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"runs", "production_runs", "production_branch", "as_of", "critical", "high", "open_critical", "secret_leaks", "secret_leaks_this_quarter", "scanned", "manifests", "base_image", "targets", "targets_met"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON has no %s", k)
		}
	}
	crit := got["critical"].(map[string]any)
	if crit["mttr_hours"] != nil || crit["open"] != 1.0 || got["base_image"].(map[string]any)["age_days"] != nil {
		t.Errorf("critical %v, base image %v", crit, got["base_image"])
	}
	md := m.Markdown()
	for _, want := range []string{
		"# dagsec metrics: 2 of 6 targets missed",
		"| Open criticals on the production branch | 1 | ≤ 0 | ❌ missed |",
		"| Runs that scanned every stage | 50% | ≥ 100% | ❌ missed | 1 of 2 runs scanned every stage |",
		"| Base image age | – | ≤ 30d | ➖ no data |",
		"| 2026-Q1 | 0 |",
		"## Open critical findings, oldest first",
		"| 1d | sca | govulncheck | GO-1 | go.mod |  |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}

// Durations read alike in every place Markdown prints one: a value, a
// goal, an age. 40 seconds is 40s, never "0h", and days never come with
// hours in parentheses.
func TestDurationsHaveOneStyle(t *testing.T) {
	for _, tt := range []struct {
		hours float64
		want  string
	}{
		{0, "0s"},
		{hours(40 * time.Second), "40s"},
		{hours(12 * time.Minute), "12m"},
		{hours(90*time.Minute + 20*time.Second), "1h 30m"},
		{hours(59*time.Minute + 59*time.Second + 600*time.Millisecond), "1h"},
		{hours(30 * time.Hour), "1d 6h"},
		{48, "2d"},
		{84, "3d 12h"},
		{168, "7d"},
		{hours(47*time.Hour + 59*time.Minute + 50*time.Second), "2d"},
	} {
		if got := fmtHours(tt.hours); got != tt.want {
			t.Errorf("fmtHours(%v) = %q, want %q", tt.hours, got, tt.want)
		}
	}
	// Days (image and dependency ages) print the same way.
	r := TargetResult{Unit: "days"}
	if got := r.valueText(1.5); got != "1d 12h" {
		t.Errorf("1.5 days = %q, want 1d 12h", got)
	}
}

// A remediation of 40 seconds shows as 40s in the summary, next to a
// goal in the same units.
func TestMarkdownShowsShortRemediation(t *testing.T) {
	var h HistoryMetrics
	v := hours(40 * time.Second)
	h.Targets = []TargetResult{{Name: TargetMTTRCritical, State: TargetMet, Value: &v, Target: 48, Unit: "hours", Bound: "max"}}
	md := h.Markdown()
	if want := "| Mean time to remediate critical | 40s | ≤ 2d | ✅ met |"; !strings.Contains(md, want) {
		t.Errorf("Markdown lacks %q:\n%s", want, md)
	}
}
