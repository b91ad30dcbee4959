package metrics

import (
	"fmt"
	"strings"
	"time"
)

// TopOpen is how many open findings per severity Markdown lists.
const TopOpen = 10

// Markdown is the summary: every target with its value and verdict, then
// the numbers behind them.
func (h HistoryMetrics) Markdown() string {
	var b strings.Builder
	b.WriteString(heading("dagsec metrics", h.Targets))
	fmt.Fprintf(&b, "%d runs from %s to %s · production branch `%s`: %d runs\n\n", h.Runs, mdTime(h.From), mdTime(h.AsOf),
		strings.ReplaceAll(h.ProductionBranch, "`", "'"), h.ProductionRuns)
	b.WriteString("| Target | Value | Goal | State | Notes |\n|---|---:|---:|---|---|\n")
	for _, r := range h.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.Label(), r.ValueText(), r.GoalText(), stateText(r.State), mdCell(r.Note))
	}

	b.WriteString("\n## Secret leaks per quarter\n\n| Quarter | Incidents |\n|---|---:|\n")
	for _, q := range h.SecretLeaks {
		fmt.Fprintf(&b, "| %s | %d |\n", q.Quarter, q.Incidents)
	}
	b.WriteString("\n## Dependencies\n\n")
	m := h.Manifests
	switch {
	case m.DaysSinceChange == nil:
		b.WriteString("No report records a manifests digest.\n")
	case m.ChangeObserved:
		fmt.Fprintf(&b, "Dependency manifests last changed %s ago (first seen in the run of %s).\n", fmtHours(*m.DaysSinceChange*24), mdTime(m.ChangedAt))
	default:
		fmt.Fprintf(&b, "Dependency manifests unchanged for at least %s (in all %d runs that record them).\n", fmtHours(*m.DaysSinceChange*24), m.RunsWithDigest)
	}
	for _, rem := range []Remediation{h.Critical, h.High} {
		if len(rem.OpenFindings) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## Open %s findings, oldest first\n\n| Age | Stage | Tool | Rule | Path | Suppressed |\n|---:|---|---|---|---|---|\n", rem.Severity)
		for i, o := range rem.OpenFindings {
			if i == TopOpen {
				fmt.Fprintf(&b, "\n… and %d more.\n", len(rem.OpenFindings)-TopOpen)
				break
			}
			sup := ""
			if o.Suppressed {
				sup = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", fmtHours(o.Hours), mdCell(o.Stage), mdCell(o.Tool), mdCell(o.RuleID), mdCell(o.Path), sup)
		}
	}
	if len(h.Scanned.Incomplete) > 0 {
		b.WriteString("\n## Runs that did not scan every stage\n\n| Run | Skipped | Error |\n|---|---|---|\n")
		for _, r := range h.Scanned.Incomplete {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdTime(r.StartedAt), list(r.Skipped), list(r.Error))
		}
	}
	return b.String()
}

// heading is a metrics summary's title: every target met, or how many
// were missed.
func heading(title string, targets []TargetResult) string {
	missed := 0
	for _, r := range targets {
		if r.State == TargetMissed {
			missed++
		}
	}
	if missed == 0 {
		return "# " + title + ": every target met\n\n"
	}
	return fmt.Sprintf("# %s: %d of %d targets missed\n\n", title, missed, len(targets))
}

func stateText(s TargetState) string {
	switch s {
	case TargetMet:
		return "✅ met"
	case TargetMissed:
		return "❌ missed"
	}
	return "➖ no data"
}

func mdTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

// OpenMetrics is the history's metrics as OpenMetrics text:
//
//	dagsec_history_runs, dagsec_history_production_runs
//	dagsec_mttr_seconds{severity}                      when something was remediated
//	dagsec_remediated_findings{severity}
//	dagsec_open_findings{severity,suppressed}
//	dagsec_oldest_open_finding_age_seconds{severity}   unsuppressed, when any
//	dagsec_open_critical_production                    when a run follows the production branch
//	dagsec_secret_leaks{quarter}                       incidents first seen per quarter
//	dagsec_scanned_runs_percent
//	dagsec_manifests_unchanged_days                    when reports record manifests
//	dagsec_base_image_age_days                         when known
//	dagsec_target_met{target}                          1 met, 0 missed (no series without data)
//	dagsec_target_value{target,unit}, dagsec_target_threshold{target,unit}
//	dagsec_targets_met                                 1 when no target was missed
func (h HistoryMetrics) OpenMetrics() []byte {
	return writeOpenMetrics(h.families())
}

func (h HistoryMetrics) families() []omFamily {
	runs := omFamily{name: "dagsec_history_runs", typ: omGauge, help: "Run reports in the history."}
	runs.add(float64(h.Runs))
	prod := omFamily{name: "dagsec_history_production_runs", typ: omGauge, help: "Run reports on the production branch (or recording no branch)."}
	prod.add(float64(h.ProductionRuns))
	mttr := omFamily{name: "dagsec_mttr_seconds", typ: omGauge, help: "Mean time to remediate, by severity."}
	remediated := omFamily{name: "dagsec_remediated_findings", typ: omGauge, help: "Findings remediated over the history, by severity."}
	open := omFamily{name: "dagsec_open_findings", typ: omGauge, help: "Findings still open, by severity and whether suppressed."}
	oldest := omFamily{name: "dagsec_oldest_open_finding_age_seconds", typ: omGauge, help: "Age of the oldest unsuppressed open finding, by severity."}
	for _, rem := range []Remediation{h.Critical, h.High} {
		if rem.MTTRHours != nil {
			mttr.add(rem.mttr.Seconds(), "severity", rem.Severity)
		}
		remediated.add(float64(rem.Remediated), "severity", rem.Severity)
		open.add(float64(rem.Open), "severity", rem.Severity, "suppressed", "false")
		open.add(float64(rem.OpenSuppressed), "severity", rem.Severity, "suppressed", "true")
		if rem.OldestOpenHours != nil {
			oldest.add(rem.oldestOpen.Seconds(), "severity", rem.Severity)
		}
	}
	oc := omFamily{name: "dagsec_open_critical_production", typ: omGauge, help: "Unsuppressed critical findings of the latest run on the production branch."}
	if h.OpenCritical.Count != nil {
		oc.add(float64(*h.OpenCritical.Count))
	}
	leaks := omFamily{name: "dagsec_secret_leaks", typ: omGauge, help: "Secret leak incidents (distinct secrets) first seen per calendar quarter."}
	for _, q := range h.SecretLeaks {
		leaks.add(float64(q.Incidents), "quarter", q.Quarter)
	}
	scanned := omFamily{name: "dagsec_scanned_runs_percent", typ: omGauge, help: "Share of runs in which every scanning stage scanned, in percent."}
	if h.Runs > 0 {
		scanned.add(h.Scanned.Percent)
	}
	manifests := omFamily{name: "dagsec_manifests_unchanged_days", typ: omGauge, help: "Days since the dependency manifests last changed."}
	if h.Manifests.DaysSinceChange != nil {
		manifests.add(*h.Manifests.DaysSinceChange)
	}
	image := omFamily{name: "dagsec_base_image_age_days", typ: omGauge, help: "Age of the latest built image's base image, in days."}
	if h.BaseImage.AgeDays != nil {
		image.add(*h.BaseImage.AgeDays)
	}
	met := omFamily{name: "dagsec_target_met", typ: omGauge, help: "1 when the target is met, 0 when missed; no series without data."}
	value := omFamily{name: "dagsec_target_value", typ: omGauge, help: "Measured value of each target."}
	threshold := omFamily{name: "dagsec_target_threshold", typ: omGauge, help: "Each target's goal."}
	for _, r := range h.Targets {
		if r.State != TargetNoData {
			met.add(boolValue(r.State == TargetMet), "target", r.Name)
		}
		if r.Value != nil {
			value.add(*r.Value, "target", r.Name, "unit", r.Unit)
		}
		threshold.add(r.Target, "target", r.Name, "unit", r.Unit)
	}
	all := omFamily{name: "dagsec_targets_met", typ: omGauge, help: "1 when no target was missed."}
	all.add(boolValue(h.TargetsMet))
	return []omFamily{runs, prod, mttr, remediated, open, oldest, oc, leaks, scanned, manifests, image, met, value, threshold, all}
}
