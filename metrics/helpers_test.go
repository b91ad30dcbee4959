package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// jan is a time in January 2026, UTC.
func jan(day, hour int) time.Time { return time.Date(2026, 1, day, hour, 0, 0, 0, time.UTC) }

// scanned is a stage that ran the tools named and passed (report raises it
// to blocked when it holds critical or high findings).
func scanned(name string, tools ...string) pipeline.StageReport {
	s := pipeline.StageReport{Name: name, Status: policies.StatusPassed, Reason: "no findings"}
	for _, t := range tools {
		s.Tools = append(s.Tools, pipeline.ToolReport{Name: t, Version: "v1.0.0", Runner: "host"})
	}
	return s
}

func skipped(name, reason string) pipeline.StageReport {
	return pipeline.StageReport{Name: name, Status: policies.StatusSkipped, Reason: reason}
}

// finding is a finding with its real fingerprint.
func finding(stage, tool, rule string, sev findings.Severity, path string) findings.Finding {
	f := findings.Finding{Stage: stage, Tool: tool, RuleID: rule, Severity: sev, Message: rule + " in " + path, Location: findings.Location{Path: path, Line: 3}}
	f.Fingerprint = findings.Fingerprint(f)
	return f
}

func suppressed(f findings.Finding) findings.Finding {
	f.Suppressed = &findings.Suppressed{Justification: "accepted until the vendor ships a fix", Owner: "team-a", Expires: "2026-12-31", Source: "dagsec.yaml:12"}
	return f
}

// report is a run report as pipeline.Run writes it: statuses, counts and
// exit code consistent with the stages and findings.
func report(at time.Time, branch string, sts []pipeline.StageReport, fs ...findings.Finding) *pipeline.Report {
	rep := &pipeline.Report{
		SchemaVersion: pipeline.SchemaVersion, Dagsec: pipeline.Version, Runner: "host", Source: ".", Policy: "default",
		StartedAt: at, FinishedAt: at.Add(90 * time.Second), DurationMS: 90000, Branch: branch, Errors: []string{},
	}
	rank := map[policies.Status]int{policies.StatusError: 4, policies.StatusBlocked: 3, policies.StatusWarned: 2}
	rep.Status = policies.StatusPassed
	for _, s := range sts {
		var mine []findings.Finding
		for _, f := range fs {
			if f.Stage == s.Name {
				mine = append(mine, f)
			}
		}
		s.Findings, s.Counts = len(mine), findings.CountBySeverity(mine)
		if s.Status == policies.StatusPassed {
			for _, f := range mine {
				if f.Suppressed == nil && f.Severity >= findings.SeverityHigh {
					s.Status, s.Reason = policies.StatusBlocked, "findings at or above high"
					s.Blocking++
				}
			}
		}
		if rank[s.Status] > rank[rep.Status] {
			rep.Status = s.Status
		}
		rep.Stages = append(rep.Stages, s)
	}
	if fs == nil {
		fs = []findings.Finding{}
	}
	rep.Findings, rep.Counts = fs, findings.CountBySeverity(fs)
	rep.ExitCode = pipeline.ExitCode(rep.Status)
	return rep
}

// saveRun writes a report as dagsec writes report.json (rep.JSON), with a
// manifests_digest added when digest is set (pipeline.Report has no such
// field yet), and checks pipeline.ReadReport accepts the file.
func saveRun(t *testing.T, path string, rep *pipeline.Report, digest string) {
	t.Helper()
	data, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if digest != "" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		m["manifests_digest"], _ = json.Marshal(digest)
		if data, err = json.MarshalIndent(m, "", "  "); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pipeline.ReadReport(data); err != nil {
		t.Fatalf("ReadReport rejects the saved report: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// saveHistory writes reports into a new folder as run-01.json, ... (in the
// reverse order, so loading must sort them) and loads them back.
func saveHistory(t *testing.T, reps ...*pipeline.Report) []SavedRun {
	t.Helper()
	dir := t.TempDir()
	for i := len(reps) - 1; i >= 0; i-- {
		saveRun(t, filepath.Join(dir, fmt.Sprintf("run-%02d.json", len(reps)-i)), reps[i], "")
	}
	runs, err := LoadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func target(t *testing.T, h HistoryMetrics, name string) TargetResult {
	t.Helper()
	for _, r := range h.Targets {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no target %s in %+v", name, h.Targets)
	return TargetResult{}
}

func val(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
