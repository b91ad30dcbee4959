package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/dagsec/dagsec/metrics"
)

// FuzzReadSavedRun reads a saved run report as `dagsec metrics` does, for
// one report and for a history folder. No panic, whatever the file; a run
// it accepts:
//
//   - has a report with a start time and keeps its manifests_digest;
//   - reads the same through LoadHistory from a history folder;
//   - gives per-run metrics, and history metrics over it and a later run
//     on the production branch with every finding gone, that write as JSON
//     (no NaN or infinity), Markdown and OpenMetrics.
func FuzzReadSavedRun(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1","started_at":"2026-11-27T06:57:39Z","status":"passed","stages":[],"findings":[]}`))
	f.Add([]byte(`{"schema_version":"1","started_at":"2026-11-27T06:57:39Z","finished_at":"2026-11-27T06:59:24Z","duration_ms":104883,"status":"blocked","exit_code":1,` +
		`"counts":{"critical":1},"branch":"main","manifests_digest":"sha256:00","image":{"ref":"app:1","base_ref":"alpine:3.20","base_created":"2026-01-02T03:04:05Z"},` +
		`"stages":[{"name":"secrets","status":"blocked","findings":1,"blocking":1,"tools":[{"name":"gitleaks","version":"v8.30.1","runner":"host","findings":1}]},{"name":"image","status":"skipped","reason":"no image"}],` +
		`"findings":[{"stage":"secrets","tool":"gitleaks","rule_id":"aws-access-token","severity":"critical","message":"AWS key","location":{"path":"config.py","line":3},"fingerprint":"0123456789abcdef0123456789abcdef"}]}`))
	f.Add([]byte(`{"schema_version":"1","started_at":"0001-01-01T00:00:00.000000001Z","findings":[{"stage":"sca","tool":"trivy","rule_id":"CVE-1","severity":"high","fingerprint":"a","suppressed":{"expires":"2020-01-01"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := metrics.ReadSavedRun(data)
		if err != nil {
			if run.Report != nil {
				t.Fatalf("a report with the error %v", err)
			}
			return
		}
		if run.Report == nil || run.Report.StartedAt.IsZero() {
			t.Fatal("accepted a run without a report or a start time")
		}
		if run.ManifestsDigest != run.Report.ManifestsDigest {
			t.Fatalf("manifests digest %q, the report says %q", run.ManifestsDigest, run.Report.ManifestsDigest)
		}

		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "run.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		hist, err := metrics.LoadHistory(dir)
		if err != nil || len(hist) != 1 {
			t.Fatalf("the history folder holding the run reads as %d runs: %v", len(hist), err)
		}
		if !reflect.DeepEqual(hist[0].Report, run.Report) || hist[0].ManifestsDigest != run.ManifestsDigest {
			t.Fatal("LoadHistory reads the run differently from ReadSavedRun")
		}

		m := metrics.Run(run.Report)
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("run metrics do not write as JSON: %v", err)
		}
		_ = m.Markdown()
		_ = m.OpenMetrics()

		later := *run.Report
		later.StartedAt = run.Report.StartedAt.Add(36 * time.Hour)
		later.Findings = nil
		later.Branch = "main"
		runs := append(metrics.Saved(run.Report), metrics.Saved(&later)...)
		h := metrics.History(runs, metrics.DefaultTargets(), "main")
		if _, err := json.Marshal(h); err != nil {
			t.Fatalf("history metrics do not write as JSON: %v", err)
		}
		_ = h.Markdown()
		_ = h.OpenMetrics()
	})
}
