package metrics

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// TargetState is a target's verdict.
type TargetState string

const (
	TargetMet    TargetState = "met"
	TargetMissed TargetState = "missed"
	// TargetNoData: the history holds nothing to judge the target by (no
	// run on the production branch, no image built). It is not a miss.
	TargetNoData TargetState = "no_data"
)

// Target names, in the order HistoryMetrics.Targets lists them.
const (
	TargetMTTRCritical   = "mttr_critical"
	TargetMTTRHigh       = "mttr_high"
	TargetScannedPercent = "scanned_percent"
	TargetOpenCritical   = "open_critical"
	TargetSecretLeaks    = "secret_leaks"
	TargetImageAge       = "image_age"
)

// TargetResult is one target judged.
type TargetResult struct {
	Name  string      `json:"name"`
	State TargetState `json:"state"`
	// Value is the measured value in Unit; null without data (or, for
	// MTTR, when nothing was remediated).
	Value  *float64 `json:"value"`
	Target float64  `json:"target"`
	Unit   string   `json:"unit"`
	// Bound is "max" (met when the value is at most the target) or "min"
	// (at least).
	Bound string `json:"bound"`
	Note  string `json:"note,omitempty"`
}

// judge fills Targets and TargetsMet. Bounds are inclusive: an MTTR of
// exactly 48h meets a 48h target, as a base image of exactly max_base_age
// passes the build check.
func (h *HistoryMetrics) judge(t Targets) {
	h.Targets = []TargetResult{
		h.judgeMTTR(TargetMTTRCritical, h.Critical, t.MTTRCritical),
		h.judgeMTTR(TargetMTTRHigh, h.High, t.MTTRHigh),
		h.judgeScanned(t.ScannedPercent),
		h.judgeOpenCritical(t.OpenCritical),
		h.judgeLeaks(t.SecretLeaks),
		h.judgeImageAge(t.ImageAge),
	}
	h.TargetsMet = true
	for _, r := range h.Targets {
		if r.State == TargetMissed {
			h.TargetsMet = false
		}
	}
}

func verdict(met bool) TargetState {
	if met {
		return TargetMet
	}
	return TargetMissed
}

func ptr(v float64) *float64 { return &v }

// judgeMTTR: the mean time to remediate must be within the target, and no
// unsuppressed finding still open may already be older than the target
// (however it ends, its time to remediate will exceed it), so leaving the
// oldest findings open cannot keep the mean low.
func (h *HistoryMetrics) judgeMTTR(name string, rem Remediation, target time.Duration) TargetResult {
	r := TargetResult{Name: name, Target: hours(target), Unit: "hours", Bound: "max", Value: rem.MTTRHours}
	if h.ProductionRuns == 0 {
		r.State, r.Note = TargetNoData, h.noProductionRun()
		return r
	}
	overdue := 0
	for _, o := range rem.OpenFindings {
		if !o.Suppressed && o.dur > target {
			overdue++
		}
	}
	var notes []string
	switch {
	case rem.Remediated > 0:
		notes = append(notes, fmt.Sprintf("%d remediated", rem.Remediated))
	case rem.Open+rem.OpenSuppressed > 0:
		notes = append(notes, fmt.Sprintf("no %s finding remediated yet", rem.Severity))
	default:
		notes = append(notes, fmt.Sprintf("no %s findings", rem.Severity))
	}
	if rem.Open > 0 {
		notes = append(notes, fmt.Sprintf("%d open, the oldest %s", rem.Open, fmtHours(*rem.OldestOpenHours)))
	}
	if overdue > 0 {
		notes = append(notes, fmt.Sprintf("%d open longer than the target", overdue))
	}
	if rem.OpenSuppressed > 0 {
		notes = append(notes, fmt.Sprintf("%d open and suppressed (not counted)", rem.OpenSuppressed))
	}
	r.State = verdict(!(rem.Remediated > 0 && rem.mttr > target) && overdue == 0)
	r.Note = strings.Join(notes, "; ")
	return r
}

func (h *HistoryMetrics) noProductionRun() string {
	return fmt.Sprintf("no run on the production branch %q", h.ProductionBranch)
}

func (h *HistoryMetrics) judgeScanned(target float64) TargetResult {
	r := TargetResult{Name: TargetScannedPercent, Target: target, Unit: "percent", Bound: "min"}
	if h.Scanned.Runs == 0 {
		r.State, r.Note = TargetNoData, "no runs"
		return r
	}
	r.Value = ptr(h.Scanned.Percent)
	r.State = verdict(h.Scanned.Percent >= target)
	r.Note = fmt.Sprintf("%d of %d runs scanned every stage", h.Scanned.Complete, h.Scanned.Runs)
	return r
}

func (h *HistoryMetrics) judgeOpenCritical(target int) TargetResult {
	r := TargetResult{Name: TargetOpenCritical, Target: float64(target), Unit: "findings", Bound: "max"}
	oc := h.OpenCritical
	if oc.Count == nil {
		r.State, r.Note = TargetNoData, h.noProductionRun()
		return r
	}
	r.Value = ptr(float64(*oc.Count))
	r.State = verdict(*oc.Count <= target)
	r.Note = "latest run on the production branch, " + oc.RunStarted.UTC().Format(time.RFC3339)
	if oc.Branch == "" {
		r.Note += " (it records no branch)"
	}
	r.Note += "; scanned: " + strings.Join(oc.ScannedStages, ", ")
	if len(oc.ScannedStages) == 0 {
		r.Note += "nothing"
	}
	if oc.Suppressed > 0 {
		r.Note += fmt.Sprintf("; %d suppressed not counted", oc.Suppressed)
	}
	return r
}

func (h *HistoryMetrics) judgeLeaks(target int) TargetResult {
	r := TargetResult{Name: TargetSecretLeaks, Target: float64(target), Unit: "incidents", Bound: "max"}
	if h.Runs == 0 {
		r.State, r.Note = TargetNoData, "no runs"
		return r
	}
	r.Value = ptr(float64(h.SecretLeaksThisQuarter))
	r.State = verdict(h.SecretLeaksThisQuarter <= target)
	r.Note = "secrets first leaked in " + h.Quarter
	return r
}

func (h *HistoryMetrics) judgeImageAge(target time.Duration) TargetResult {
	r := TargetResult{Name: TargetImageAge, Target: days(target), Unit: "days", Bound: "max"}
	b := h.BaseImage
	if b.AgeDays == nil {
		r.State, r.Note = TargetNoData, b.Note
		return r
	}
	r.Value = b.AgeDays
	r.State = verdict(b.age <= target)
	r.Note = "base image of " + b.Ref
	if b.BaseRef != "" {
		r.Note = b.BaseRef + ", base of " + b.Ref
	}
	return r
}

// fmtHours prints a number of hours as a duration in one style
// everywhere: its two largest units of d, h, m and s, so "40s", "12m",
// "5h 30m", "2d", "3d 12h" (a value, a goal and an age read alike).
func fmtHours(h float64) string {
	return fmtDuration(time.Duration(math.Round(h*3600)) * time.Second)
}

func fmtDuration(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDuration(-d)
	}
	units := [...]struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	i := 0 // the largest unit d holds
	for i < len(units)-1 && d < units[i].size {
		i++
	}
	res := units[min(i+1, len(units)-1)].size // the second unit, rounded
	d = (d + res/2) / res * res
	for i > 0 && d >= units[i-1].size { // rounding carried: 59m 59.6s is 1h
		i--
	}
	n := d / units[i].size
	s := fmt.Sprintf("%d%s", n, units[i].name)
	if i+1 < len(units) {
		if rest := (d - n*units[i].size) / units[i+1].size; rest > 0 {
			s += fmt.Sprintf(" %d%s", rest, units[i+1].name)
		}
	}
	return s
}

func fmtNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// valueText prints a target's value with its unit.
func (r TargetResult) valueText(v float64) string {
	switch r.Unit {
	case "hours":
		return fmtHours(v)
	case "percent":
		return fmtNumber(v) + "%"
	case "days":
		return fmtHours(v * 24)
	}
	return fmtNumber(v)
}

// ValueText is the measured value with its unit, "–" without one.
func (r TargetResult) ValueText() string {
	if r.Value == nil {
		return "–"
	}
	return r.valueText(*r.Value)
}

// GoalText is the target with its bound: "≤ 2d", "≥ 100%".
func (r TargetResult) GoalText() string {
	if r.Bound == "min" {
		return "≥ " + r.valueText(r.Target)
	}
	return "≤ " + r.valueText(r.Target)
}

// StateText is the verdict for people: met, missed, no data.
func (r TargetResult) StateText() string {
	return strings.ReplaceAll(string(r.State), "_", " ")
}

// FormatHours writes hours as every metrics output does: "40s", "3d 12h".
func FormatHours(h float64) string { return fmtHours(h) }

// Label is a target's name for people.
func (r TargetResult) Label() string {
	switch r.Name {
	case TargetMTTRCritical:
		return "Mean time to remediate critical"
	case TargetMTTRHigh:
		return "Mean time to remediate high"
	case TargetScannedPercent:
		return "Runs that scanned every stage"
	case TargetOpenCritical:
		return "Open criticals on the production branch"
	case TargetSecretLeaks:
		return "Secret leaks this quarter"
	case TargetImageAge:
		return "Base image age"
	}
	return r.Name
}
