package metrics

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// StageCounts tallies findings per stage, each stage with every severity
// (zero or not), so consumers always see the same keys.
type StageCounts map[string]findings.Counts

func (c StageCounts) ensure(stage string) findings.Counts {
	if c[stage] == nil {
		c[stage] = findings.CountBySeverity(nil)
	}
	return c[stage]
}

// RunMetrics are the numbers of one run report.
type RunMetrics struct {
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
	Status     policies.Status `json:"status"`
	ExitCode   int             `json:"exit_code"`
	Branch     string          `json:"branch,omitempty"`
	Policy     string          `json:"policy,omitempty"`
	Runner     string          `json:"runner,omitempty"`

	// Findings counts every finding, suppressed ones included (as the run
	// report's counts do), by stage and severity.
	Findings StageCounts `json:"findings"`
	// New and Known count the findings the run's baseline comparison marked
	// "new" and "known"; a run not compared with a baseline has none.
	New   StageCounts `json:"findings_new"`
	Known StageCounts `json:"findings_known"`
	// Suppressed counts the findings a suppression of the policy matched.
	Suppressed StageCounts   `json:"findings_suppressed"`
	Totals     FindingTotals `json:"totals"`
	// Suppressions counts the policy's suppressions by state: active
	// (unexpired, matched something), expired, stale (matched nothing).
	Suppressions SuppressionCounts `json:"suppressions"`

	// Stages sorts the run's scanning stages by whether they scanned.
	Stages StageCoverage `json:"stages"`

	// Image is the image the run built, if any.
	Image *pipeline.ImageInfo `json:"image"`
	// BaseImageAgeDays is how old the built image's base was when the run
	// started, in days; null when the run built no image or the base's
	// creation time is unknown (scratch, a saved tarball).
	BaseImageAgeDays *float64 `json:"base_image_age_days"`

	// Tools lists each tool that ran (not the ones left out), with the
	// vulnerability database it used, once per stage.
	Tools []ToolVersion `json:"tools"`
}

// SuppressionCounts are the run's suppressions by state; an expired one
// that matched nothing counts as expired and stale.
type SuppressionCounts struct {
	Active  int `json:"active"`
	Expired int `json:"expired"`
	Stale   int `json:"stale"`
}

// FindingTotals sums a run's findings.
type FindingTotals struct {
	Findings int `json:"findings"`
	// Open are the findings no suppression matched.
	Open       int `json:"open"`
	Suppressed int `json:"suppressed"`
	New        int `json:"new"`
	Known      int `json:"known"`
	// NotCompared are findings with no baseline state.
	NotCompared int `json:"not_compared"`
}

// StageCoverage lists a run's scanning stages by state:
//   - scanned: the stage ran its tools and the policy judged the result
//     (passed, warned or blocked);
//   - skipped: the stage did not run (disabled by the policy, no tool had
//     anything to scan or could run here, a stage it needs blocked);
//   - error: a tool failed, so the stage's result is incomplete: it counts
//     as not scanned;
//   - partial: judged, but some of what the stage's detection found was not
//     scanned (report.json's coverage): not complete either;
//   - nothing: the stage found nothing to scan, which neither scans nor
//     fails to.
//
// Stages that scan nothing (staging and production deploy) are left out:
// production is skipped on every branch but the production branch by design.
type StageCoverage struct {
	Scanned []string `json:"scanned"`
	Skipped []string `json:"skipped"`
	Error   []string `json:"error"`
	Partial []string `json:"partial"`
	Nothing []string `json:"nothing_to_scan"`
}

// Complete reports whether at least one stage scanned and none was skipped
// or failed.
func (c StageCoverage) Complete() bool {
	return len(c.Scanned) > 0 && len(c.Skipped) == 0 && len(c.Error) == 0 && len(c.Partial) == 0
}

// ToolVersion is one tool that ran in a stage.
type ToolVersion struct {
	Stage    string `json:"stage"`
	Tool     string `json:"tool"`
	Version  string `json:"version"`
	Database string `json:"database,omitempty"`
}

// Scan states of a stage.
const (
	StateScanned = "scanned"
	StateSkipped = "skipped"
	StateError   = "error"
	StatePartial = "partial"
	StateNothing = "nothing to scan"
)

// scanning reports whether a stage scans something: the catalog's stages
// with tools, and any stage the catalog does not know (a newer report).
func scanning(stage string) bool {
	d, ok := stages.Lookup(stage)
	return !ok || len(d.Tools) > 0
}

// scanState is a scanning stage's state, "" for a stage that scans nothing.
func scanState(s pipeline.StageReport) string {
	if !scanning(s.Name) {
		return ""
	}
	switch {
	case judged(s.Status) && s.Coverage.Partial():
		return StatePartial
	case judged(s.Status):
		return StateScanned
	case s.Status == policies.StatusError:
		return StateError
	case s.Coverage.Nothing():
		return StateNothing
	}
	return StateSkipped
}

// judged reports whether a stage ran and the policy judged its result.
func judged(s policies.Status) bool {
	return s == policies.StatusPassed || s == policies.StatusWarned || s == policies.StatusBlocked
}

// Coverage sorts a report's scanning stages by state (see StageCoverage).
func Coverage(rep *pipeline.Report) StageCoverage {
	c := StageCoverage{Scanned: []string{}, Skipped: []string{}, Error: []string{}, Partial: []string{}, Nothing: []string{}}
	for _, s := range rep.Stages {
		switch scanState(s) {
		case StateScanned:
			c.Scanned = append(c.Scanned, s.Name)
		case StateSkipped:
			c.Skipped = append(c.Skipped, s.Name)
		case StateError:
			c.Error = append(c.Error, s.Name)
		case StatePartial:
			c.Partial = append(c.Partial, s.Name)
		case StateNothing:
			c.Nothing = append(c.Nothing, s.Name)
		}
	}
	return c
}

// Run computes the metrics of one run report.
func Run(rep *pipeline.Report) RunMetrics {
	m := RunMetrics{
		StartedAt: rep.StartedAt, FinishedAt: rep.FinishedAt, Status: rep.Status, ExitCode: rep.ExitCode,
		Branch: rep.Branch, Policy: rep.Policy, Runner: rep.Runner,
		Findings: StageCounts{}, New: StageCounts{}, Known: StageCounts{}, Suppressed: StageCounts{},
		Stages: Coverage(rep), Image: rep.Image, Tools: []ToolVersion{},
	}
	if sr := rep.Suppressions; sr != nil {
		m.Suppressions = SuppressionCounts{Active: len(sr.Active), Expired: len(sr.Expired), Stale: len(sr.Stale)}
	}
	for _, s := range rep.Stages {
		for _, c := range []StageCounts{m.Findings, m.New, m.Known, m.Suppressed} {
			c.ensure(s.Name)
		}
	}
	for _, f := range rep.Findings {
		for _, c := range []StageCounts{m.Findings, m.New, m.Known, m.Suppressed} {
			c.ensure(f.Stage)
		}
		sev := f.Severity.String()
		m.Findings[f.Stage][sev]++
		m.Totals.Findings++
		switch f.Baseline {
		case findings.BaselineNew:
			m.New[f.Stage][sev]++
			m.Totals.New++
		case findings.BaselineKnown:
			m.Known[f.Stage][sev]++
			m.Totals.Known++
		default:
			m.Totals.NotCompared++
		}
		if f.Suppressed != nil {
			m.Suppressed[f.Stage][sev]++
			m.Totals.Suppressed++
		} else {
			m.Totals.Open++
		}
	}
	if rep.Image != nil && !rep.Image.BaseCreated.IsZero() {
		d := days(max(0, rep.StartedAt.Sub(rep.Image.BaseCreated)))
		m.BaseImageAgeDays = &d
	}
	for _, s := range rep.Stages {
		for _, t := range s.Tools {
			if t.Skipped != "" {
				continue
			}
			tv := ToolVersion{Stage: s.Name, Tool: t.Name, Version: t.Version, Database: t.Database}
			if !slices.Contains(m.Tools, tv) { // a tool run once per module
				m.Tools = append(m.Tools, tv)
			}
		}
	}
	return m
}

// days is a duration in days, to two decimals.
func days(d time.Duration) float64 { return round2(d.Hours() / 24) }

func hours(d time.Duration) float64 { return math.Round(d.Hours()*10000) / 10000 }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// runStatuses are the states dagsec_run_status has a series for.
var runStatuses = []policies.Status{policies.StatusPassed, policies.StatusWarned, policies.StatusBlocked, policies.StatusError}

// OpenMetrics is the run's metrics as OpenMetrics text:
//
//	dagsec_run_status{status}            1 for the run's status, 0 for the others
//	dagsec_run_exit_code                 0 passed, 1 blocked, 2 error
//	dagsec_run_timestamp_seconds         when the run started (Unix time)
//	dagsec_run_duration_seconds
//	dagsec_findings{stage,severity}      every finding, suppressed included
//	dagsec_findings_new{stage,severity}  baseline "new"
//	dagsec_findings_known{stage,severity}
//	dagsec_findings_suppressed{stage,severity}
//	dagsec_suppressions{state}           active, expired, stale
//	dagsec_stages{state}                 scanning stages scanned, skipped, error
//	dagsec_base_image_age_days           only when known
//	dagsec_tool_info{tool,version,database} 1 (an info metric)
//
// Every stage of the report has a series per severity, zero or not.
func (m RunMetrics) OpenMetrics() []byte {
	status := omFamily{name: "dagsec_run_status", typ: omGauge, help: "Outcome of the run: 1 for its status."}
	for _, s := range runStatuses {
		status.add(boolValue(m.Status == s), "status", string(s))
	}
	exit := omFamily{name: "dagsec_run_exit_code", typ: omGauge, help: "Exit code of the run: 0 passed, 1 a gate blocked, 2 a tool or input error."}
	exit.add(float64(m.ExitCode))
	started := omFamily{name: "dagsec_run_timestamp_seconds", typ: omGauge, help: "When the run started, in seconds since the Unix epoch."}
	started.add(float64(m.StartedAt.UnixMilli()) / 1000)
	fams := []omFamily{status, exit, started}
	if !m.FinishedAt.IsZero() {
		dur := omFamily{name: "dagsec_run_duration_seconds", typ: omGauge, help: "How long the run took."}
		dur.add(m.FinishedAt.Sub(m.StartedAt).Seconds())
		fams = append(fams, dur)
	}
	for _, c := range []struct {
		name, help string
		counts     StageCounts
	}{
		{"dagsec_findings", "Findings of the run by stage and severity, suppressed ones included.", m.Findings},
		{"dagsec_findings_new", "Findings the baseline comparison marked new.", m.New},
		{"dagsec_findings_known", "Findings the baseline comparison marked known.", m.Known},
		{"dagsec_findings_suppressed", "Findings a suppression of the policy matched.", m.Suppressed},
	} {
		f := omFamily{name: c.name, typ: omGauge, help: c.help}
		for _, stage := range sortedStages(c.counts) {
			for _, sev := range findings.Severities() {
				f.add(float64(c.counts[stage][sev.String()]), "stage", stage, "severity", sev.String())
			}
		}
		fams = append(fams, f)
	}
	sup := omFamily{name: "dagsec_suppressions", typ: omGauge, help: "Suppressions of the policy by state: active, expired, stale (matched nothing)."}
	sup.add(float64(m.Suppressions.Active), "state", "active")
	sup.add(float64(m.Suppressions.Expired), "state", "expired")
	sup.add(float64(m.Suppressions.Stale), "state", "stale")
	fams = append(fams, sup)
	st := omFamily{name: "dagsec_stages", typ: omGauge, help: "Scanning stages of the run by state: scanned (passed, warned or blocked), skipped, error."}
	st.add(float64(len(m.Stages.Scanned)), "state", StateScanned)
	st.add(float64(len(m.Stages.Skipped)), "state", StateSkipped)
	st.add(float64(len(m.Stages.Error)), "state", StateError)
	fams = append(fams, st)
	if m.BaseImageAgeDays != nil {
		age := omFamily{name: "dagsec_base_image_age_days", typ: omGauge, help: "Age of the built image's base image when the run started, in days."}
		age.add(*m.BaseImageAgeDays)
		fams = append(fams, age)
	}
	tools := omFamily{name: "dagsec_tool", typ: omInfo, help: "Tools that ran, with the vulnerability database they used."}
	for _, t := range m.Tools {
		tools.add(1, "tool", t.Tool, "version", t.Version, "database", t.Database)
	}
	fams = append(fams, tools)
	return writeOpenMetrics(fams)
}

// sortedStages lists the stages of a tally in pipeline order, unknown
// stages last by name.
func sortedStages(c StageCounts) []string {
	order := stages.Names()
	var out []string
	for s := range c {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	return out
}

// Markdown is a short summary of the run's metrics.
func (m RunMetrics) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# dagsec run metrics: %s\n\n", mdCell(string(m.Status)))
	fmt.Fprintf(&b, "Started %s", m.StartedAt.UTC().Format(time.RFC3339))
	if m.Branch != "" {
		fmt.Fprintf(&b, " · branch %s", mdCell(m.Branch))
	}
	fmt.Fprintf(&b, " · exit code %d\n\n", m.ExitCode)
	b.WriteString("| Stage | Critical | High | Medium | Low | Info | New | Known | Suppressed |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range sortedStages(m.Findings) {
		c := m.Findings[s]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d |\n", mdCell(s), c["critical"], c["high"], c["medium"], c["low"], c["info"],
			sum(m.New[s]), sum(m.Known[s]), sum(m.Suppressed[s]))
	}
	fmt.Fprintf(&b, "\n%d findings: %d open, %d suppressed; %d new, %d known, %d not compared with a baseline.\n\n",
		m.Totals.Findings, m.Totals.Open, m.Totals.Suppressed, m.Totals.New, m.Totals.Known, m.Totals.NotCompared)
	fmt.Fprintf(&b, "Stages scanned: %s; skipped: %s; error: %s.\n\n", list(m.Stages.Scanned), list(m.Stages.Skipped), list(m.Stages.Error))
	if m.BaseImageAgeDays != nil {
		fmt.Fprintf(&b, "Base image %s of %s: %s old.\n\n", mdCell(m.Image.BaseRef), mdCell(m.Image.Ref), fmtHours(*m.BaseImageAgeDays*24))
	}
	if len(m.Tools) > 0 {
		b.WriteString("| Stage | Tool | Version | Database |\n|---|---|---|---|\n")
		for _, t := range m.Tools {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(t.Stage), mdCell(t.Tool), mdCell(t.Version), mdCell(t.Database))
		}
	}
	return b.String()
}

func sum(c findings.Counts) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = mdCell(n)
	}
	return strings.Join(out, ", ")
}

// mdCell makes text safe in a table cell: one line, Markdown syntax and
// HTML escaped.
func mdCell(s string) string {
	return mdReplacer.Replace(strings.Join(strings.Fields(s), " "))
}

var mdReplacer = strings.NewReplacer(
	"\\", "\\\\", "|", "\\|", "`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]", "~", "\\~",
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
)
