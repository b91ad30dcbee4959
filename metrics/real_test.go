package metrics

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// scanSecrets runs the secrets stage with the host runner and the real
// gitleaks over dir, and the manifests digest over the same runner's view.
func scanSecrets(t *testing.T, dir string) (*pipeline.Report, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := host.NewRunner(dir, testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policies.Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pipeline.Run(ctx, pipeline.Config{Runner: r, Policy: pol, Stages: []string{stages.Secrets}, Source: dir, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	digest, err := ManifestsDigest(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	return rep, digest
}

// at moves a real run to a known start, keeping its duration.
func at(rep *pipeline.Report, when time.Time) {
	d := rep.FinishedAt.Sub(rep.StartedAt)
	rep.StartedAt, rep.FinishedAt = when, when.Add(d)
}

// A history of four real runs of the host runner with the real gitleaks on
// a planted repository, their start times rewritten to known dates:
//
//	run  start (UTC)        repository                          leaks found
//	1    2025-11-15 09:00   AWS key, EC key, database URL, go.mod  3 (2025-Q4: 3 new)
//	2    2026-01-10 09:00   database URL removed                  2 (no new)
//	3    2026-02-01 09:00   a second EC key added, requirements.txt 3 (2026-Q1: 1 new)
//	4    2026-04-02 09:00   every secret removed                  0 (2026-Q2: none)
//
// gitleaks' findings are critical. Time to remediate, by hand:
//
//	database URL  Nov 15 09:00 → Jan 10 09:00 = 16+31+9 = 56 days    = 1344h
//	AWS key       Nov 15 09:00 → Apr  2 09:00 = 16+31+31+28+31+1    = 138 days = 3312h
//	EC key        the same                                          = 3312h
//	second key    Feb  1 09:00 → Apr  2 09:00 = 28+31+1 = 60 days    = 1440h
//	MTTR critical = (1344 + 3312 + 3312 + 1440) / 4 = 9408 / 4      = 2352h (98 days)
//
// The manifests (go.mod, then requirements.txt too) change at run 3: 60
// days before run 4.
func TestMetricsRealGitleaksSeries(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	files := testenv.LeakyFiles(t)
	files["go.mod"] = "module example.com/leaky\n\ngo 1.22\n"
	dir := testenv.GitRepo(t, files)
	hist := t.TempDir()
	save := func(name string, when time.Time, wantLeaks int) *pipeline.Report {
		t.Helper()
		rep, digest := scanSecrets(t, dir)
		if n := len(rep.Findings); n != wantLeaks {
			for _, f := range rep.Findings {
				t.Logf("%s %s %s", f.RuleID, f.Location.Path, f.Fingerprint)
			}
			t.Fatalf("%s: gitleaks found %d leaks, want %d (%s: %s)", name, n, wantLeaks, rep.Status, rep.Stages[0].Reason)
		}
		at(rep, when)
		saveRun(t, filepath.Join(hist, name, "report.json"), rep, digest)
		return rep
	}
	first := save("run-1", time.Date(2025, 11, 15, 9, 0, 0, 0, time.UTC), 3)
	if first.Status != policies.StatusBlocked || first.Findings[0].Tool != "gitleaks" || first.Findings[0].Severity != crit {
		t.Fatalf("first run: %s, %+v", first.Status, first.Findings[0])
	}

	if err := os.Remove(filepath.Join(dir, "config", "db.env")); err != nil {
		t.Fatal(err)
	}
	testenv.Commit(t, dir, "remove the database URL")
	save("run-2", time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC), 2)

	testenv.Write(t, dir, map[string]string{"deploy/id_new.pem": testenv.PrivateKeyPEM(t), "requirements.txt": "requests==2.32.3\n"})
	testenv.Commit(t, dir, "a second key")
	save("run-3", time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC), 3)

	for _, f := range []string{"deploy/id_ec.pem", "deploy/id_new.pem"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Write(t, dir, map[string]string{"app/settings.py": "import os\n\nAWS_ACCESS_KEY_ID = os.environ[\"AWS_ACCESS_KEY_ID\"]\n"})
	testenv.Commit(t, dir, "secrets from the environment")
	last := save("run-4", time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC), 0)
	if last.Status != policies.StatusPassed {
		t.Fatalf("clean run: %s", last.Status)
	}

	runs, err := LoadHistory(hist)
	if err != nil {
		t.Fatal(err)
	}
	m := History(runs, DefaultTargets(), "main")

	var leaks []string
	for _, q := range m.SecretLeaks {
		leaks = append(leaks, q.Quarter+":"+string(rune('0'+q.Incidents)))
	}
	if strings.Join(leaks, " ") != "2025-Q4:3 2026-Q1:1 2026-Q2:0" || m.Quarter != "2026-Q2" || m.SecretLeaksThisQuarter != 0 {
		t.Errorf("leaks per quarter %v, this quarter %s %d", leaks, m.Quarter, m.SecretLeaksThisQuarter)
	}
	cr := m.Critical
	if cr.Remediated != 4 || cr.MTTRHours == nil || *cr.MTTRHours != 2352 || cr.Open != 0 {
		for _, o := range cr.RemediatedFindings {
			t.Logf("%s %s %v → %v %vh", o.RuleID, o.Path, o.FirstSeen, o.RemediatedAt, o.Hours)
		}
		t.Fatalf("critical: %d remediated, MTTR %s h, %d open; want 4, 2352h, 0", cr.Remediated, val(cr.MTTRHours), cr.Open)
	}
	hours := map[string]float64{}
	for _, o := range cr.RemediatedFindings {
		hours[o.Path] += o.Hours
	}
	if hours["config/db.env"] != 1344 || hours["app/settings.py"] != 3312 || hours["deploy/id_ec.pem"] != 3312 || hours["deploy/id_new.pem"] != 1440 {
		t.Errorf("per finding %v", hours)
	}
	if mf := m.Manifests; mf.RunsWithDigest != 4 || !mf.ChangeObserved || *mf.DaysSinceChange != 60 {
		t.Errorf("manifests %+v, days %s; want changed at run 3, 60 days", mf, val(mf.DaysSinceChange))
	}
	if m.Scanned.Percent != 100 || *m.OpenCritical.Count != 0 {
		t.Errorf("scanned %v, open critical %d", m.Scanned.Percent, *m.OpenCritical.Count)
	}
	// 98 days to remediate misses 48h; the rest is met or has no data.
	for _, r := range m.Targets {
		want := TargetMet
		switch r.Name {
		case TargetMTTRCritical:
			want = TargetMissed
		case TargetImageAge:
			want = TargetNoData
		}
		if r.State != want {
			t.Errorf("%s: %s (%s), want %s", r.Name, r.State, r.Note, want)
		}
	}

	// The real run's tools: the secrets stage's, each with its pinned version.
	rm := Run(first)
	if len(rm.Tools) != 2 {
		t.Errorf("tools %+v, want gitleaks and trufflehog", rm.Tools)
	}
	for i, name := range []string{"gitleaks", "trufflehog"} {
		tool, _ := stages.LookupTool(name)
		if i < len(rm.Tools) && (rm.Tools[i].Tool != name || !strings.Contains(rm.Tools[i].Version, strings.TrimPrefix(tool.Version, "v"))) {
			t.Errorf("tool %d: %+v, want %s %s", i, rm.Tools[i], name, tool.Version)
		}
	}
	if _, _, err := parseOpenMetrics(string(rm.OpenMetrics())); err != nil {
		t.Errorf("real run's OpenMetrics: %v", err)
	}
	if _, _, err := parseOpenMetrics(string(m.OpenMetrics())); err != nil {
		t.Errorf("real history's OpenMetrics: %v", err)
	}
}

// ManifestsDigest covers manifests and lockfiles by path and content,
// outside the folders no stage scans.
func TestMetricsManifestsDigest(t *testing.T) {
	dir := testenv.Dir(t, map[string]string{
		"go.mod":                          "module example.com/x\n\ngo 1.22\n",
		"go.sum":                          "golang.org/x/text v0.3.0 h1:abc=\n",
		"web/package-lock.json":           `{"lockfileVersion": 3}`,
		"app/requirements-dev.txt":        "pytest==8.0.0\n",
		"main.go":                         "package main\n",
		"vendor/golang.org/x/text/go.mod": "module golang.org/x/text\n",
		"web/node_modules/a/package.json": `{"name": "a"}`,
		"testdata/go.mod":                 "module fixture\n",
	})
	digest := func() string {
		t.Helper()
		r, err := host.NewRunner(dir, testenv.Installer(t))
		if err != nil {
			t.Fatal(err)
		}
		d, err := ManifestsDigest(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d1 := digest()
	if !strings.HasPrefix(d1, "sha256:") || len(d1) != len("sha256:")+64 || digest() != d1 {
		t.Fatalf("digest %q not stable", d1)
	}
	// Code and skipped folders do not count.
	testenv.Write(t, dir, map[string]string{
		"main.go": "package main\n\nfunc main() {}\n", "vendor/golang.org/x/text/go.mod": "module golang.org/x/text\n\ngo 1.20\n",
		"web/node_modules/a/package.json": `{"name": "a", "version": "2"}`, "testdata/go.mod": "module fixture2\n",
	})
	if digest() != d1 {
		t.Error("a change outside the manifests changed the digest")
	}
	testenv.Write(t, dir, map[string]string{"go.sum": "golang.org/x/text v0.3.8 h1:def=\n"})
	d2 := digest()
	if d2 == d1 {
		t.Error("a go.sum change kept the digest")
	}
	// The same content under another name is a change.
	if err := os.Rename(filepath.Join(dir, "app", "requirements-dev.txt"), filepath.Join(dir, "app", "requirements-test.txt")); err != nil {
		t.Fatal(err)
	}
	if digest() == d2 {
		t.Error("a renamed manifest kept the digest")
	}
	// A manifest that cannot be read is an error naming it.
	_, err := ManifestsDigest(context.Background(), failingProbe{files: []string{"go.mod"}})
	if err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("unreadable manifest: %v", err)
	}
}

type failingProbe struct{ files []string }

func (p failingProbe) Exists(context.Context, string) (bool, error) { return true, nil }
func (p failingProbe) Glob(_ context.Context, pattern string) ([]string, error) {
	var out []string
	for _, f := range p.files {
		if stages.MatchGlob(pattern, f) {
			out = append(out, f)
		}
	}
	return out, nil
}
func (p failingProbe) ReadFile(context.Context, string) ([]byte, error) {
	return nil, errors.New("permission denied")
}
func (p failingProbe) HasTool(context.Context, string) bool { return false }
