package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
)

// redate rewrites a saved report's start (and finish) to a known time, as
// dagsec writes reports.
func redate(t *testing.T, path string, when time.Time) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pipeline.ReadReport(data)
	if err != nil {
		t.Fatal(err)
	}
	d := rep.FinishedAt.Sub(rep.StartedAt)
	rep.StartedAt, rep.FinishedAt = when, when.Add(d)
	if data, err = rep.JSON(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// `dagsec metrics --history` over report folders that real scans (the real
// gitleaks) wrote: the three leaks of Dec 30 are fixed on Dec 31 (24h, within
// the 48h MTTR target).
//   - As of Dec 31 (runs 1 and 2) this quarter, 2025-Q4, has 3 leaks: the
//     secret_leaks target is missed, exit 1.
//   - With a clean run on Jan 2, 2026-Q1 has none: every target is met (no
//     image built: no data), exit 0.
func TestMetricsCLIHistoryExitCodes(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	repo := testenv.GitRepo(t, testenv.LeakyFiles(t))
	hist := t.TempDir()
	scan := func(name string, when time.Time, wantCode int) {
		t.Helper()
		out := filepath.Join(hist, name)
		if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--quiet", "--out", out, repo); code != wantCode {
			t.Fatalf("scan %s: exit %d, want %d: %s", name, code, wantCode, stderr)
		}
		redate(t, filepath.Join(out, "report.json"), when)
	}
	scan("run-1", time.Date(2025, 12, 30, 9, 0, 0, 0, time.UTC), 1)
	for _, f := range []string{"app/settings.py", "deploy/id_ec.pem", "config/db.env"} {
		if err := os.Remove(filepath.Join(repo, f)); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Commit(t, repo, "no more secrets")
	scan("run-2", time.Date(2025, 12, 31, 9, 0, 0, 0, time.UTC), 0)

	code, stdout, stderr := dagsec(t, "metrics", "--history", hist)
	if code != 1 {
		t.Fatalf("metrics with this quarter's leaks: exit %d, want 1: %s\n%s", code, stderr, stdout)
	}
	var m struct {
		TargetsMet bool `json:"targets_met"`
		Critical   struct {
			Remediated int      `json:"remediated"`
			MTTRHours  *float64 `json:"mttr_hours"`
		} `json:"critical"`
		SecretLeaksThisQuarter int `json:"secret_leaks_this_quarter"`
		Targets                []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"targets"`
	}
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, stdout)
	}
	if m.TargetsMet || m.SecretLeaksThisQuarter != 3 || m.Critical.Remediated != 3 || m.Critical.MTTRHours == nil || *m.Critical.MTTRHours != 24 {
		t.Errorf("metrics %+v", m)
	}
	for _, tg := range m.Targets {
		if want := map[bool]string{true: "missed", false: "met"}[tg.Name == "secret_leaks"]; tg.Name != "image_age" && tg.State != want {
			t.Errorf("target %s %s, want %s", tg.Name, tg.State, want)
		}
	}

	scan("run-3", time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC), 0)
	code, stdout, stderr = dagsec(t, "metrics", "--history", hist, "--format", "markdown", "--preset", "strict", "--branch", "main")
	if code != 0 {
		t.Fatalf("metrics with every target met: exit %d: %s\n%s", code, stderr, stdout)
	}
	for _, want := range []string{"# dagsec metrics: every target met", "| Mean time to remediate critical | 1d | ≤ 2d | ✅ met |", "| 2025-Q4 | 3 |", "| 2026-Q1 | 0 |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = dagsec(t, "metrics", "--history", hist, "--format", "openmetrics")
	if code != 0 || !strings.Contains(stdout, "dagsec_secret_leaks{quarter=\"2025-Q4\"} 3\n") || !strings.HasSuffix(stdout, "# EOF\n") {
		t.Errorf("openmetrics: exit %d\n%s", code, stdout)
	}

	// One run: its metrics, exit 0 whatever the run's own outcome.
	code, stdout, stderr = dagsec(t, "metrics", "--format", "openmetrics", filepath.Join(hist, "run-1", "report.json"))
	if code != 0 || !strings.Contains(stdout, "# TYPE dagsec_findings gauge\n") ||
		!strings.Contains(stdout, `dagsec_findings{stage="secrets",severity="critical"} 3`+"\n") ||
		!strings.Contains(stdout, `dagsec_run_status{status="blocked"} 1`+"\n") || !strings.HasSuffix(stdout, "\n# EOF\n") {
		t.Errorf("one run: exit %d %s\n%s", code, stderr, stdout)
	}
	code, stdout, _ = dagsec(t, "metrics", filepath.Join(hist, "run-2", "report.json"))
	var rm struct {
		Findings map[string]map[string]int  `json:"findings"`
		Stages   struct{ Scanned []string } `json:"stages"`
		Tools    []struct{ Tool, Version string }
	}
	if err := json.Unmarshal([]byte(stdout), &rm); code != 0 || err != nil || rm.Findings["secrets"]["critical"] != 0 || len(rm.Stages.Scanned) != 1 || rm.Tools[0].Tool != "gitleaks" {
		t.Errorf("one run JSON: exit %d %v %+v", code, err, rm)
	}

	// Bad input exits 2, naming the problem.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "notes.json"), []byte(`{"hello": "world"}`), 0o644)
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policy, []byte("version: 1\nstagez: {}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"metrics"}, "metrics takes --history DIR or one REPORT.json"},
		{[]string{"metrics", "--history", hist, filepath.Join(hist, "run-1", "report.json")}, "not both"},
		{[]string{"metrics", "--history", filepath.Join(hist, "missing")}, "history folder"},
		{[]string{"metrics", "--history", bad}, "notes.json is not a dagsec run report"},
		{[]string{"metrics", "--history", t.TempDir()}, "holds no run reports"},
		{[]string{"metrics", "--history", hist, "--format", "csv"}, `unknown metrics format "csv"`},
		{[]string{"metrics", "--history", hist, "--preset", "lenient"}, "lenient"},
		{[]string{"metrics", "--history", hist, "--policy", policy}, "stagez"},
		{[]string{"metrics", "--branch", "main", filepath.Join(hist, "run-1", "report.json")}, "apply to --history only"},
		{[]string{"metrics", filepath.Join(bad, "notes.json")}, "schema_version"},
		{[]string{"metrics", "--since", "1d", "--history", hist}, "since"},
	} {
		code, _, stderr := dagsec(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q: %s", tc.args, code, tc.want, stderr)
		}
	}
}
