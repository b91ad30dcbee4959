// Package dashboard writes the HTML dashboards: report.html for one run
// and fleet.html for a fleet. Each is one self-contained file (inline CSS,
// one inline script, charts as inline SVG; no fonts, images or network) so
// it works when opened from a CI artifact. Everything from tool output goes
// through html/template, and a Content-Security-Policy lets only the
// page's own script run, so a finding that carries markup stays text.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// File names of the dashboards.
const (
	ReportFile = "report.html"
	FleetFile  = "fleet.html"
)

// MaxFindings caps the findings rows of a page (most severe first): a run
// of 100,000 findings keeps its page usable; the JSON has them all.
const MaxFindings = 5000

// maxChartRuns caps the runs a chart draws (the latest ones).
const maxChartRuns = 100

//go:embed page.html.tmpl
var pageTemplate string

//go:embed page.js
var pageScript string

//go:embed page.css
var pageStyle string

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"lower": strings.ToLower,
}).Parse(pageTemplate))

// scriptHash is the CSP source of the page's one script.
var scriptHash = func() string {
	sum := sha256.Sum256([]byte(pageScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// Options add history to a dashboard: charts over time, judged against
// the policy's targets.
type Options struct {
	// History are saved runs of the same repository (report.html).
	History []metrics.SavedRun
	// Targets and ProductionBranch judge MTTR and coverage.
	Targets          metrics.Targets
	ProductionBranch string
}

// page is what the template renders.
type page struct {
	Title, Heading string
	CSP            string
	Style          template.CSS
	Script         template.JS
	Status         policies.Status
	ExitCode       int
	Facts          []fact
	Cards          []card
	Repos          []repoRow
	Stages         []stageRow
	Findings       []findingRow
	FindingsTotal  int
	Filters        []filter
	Charts         []chart
	Targets        []metrics.TargetResult
	Generated      string
}

type fact struct{ Label, Value string }

type card struct {
	Label string
	Value int
	Class string
}

type repoRow struct {
	Name, Ref, Commit, Status, Error, Link string
	Counts                                 []int // critical, high, medium, low, info
}

type stageRow struct {
	Name, Status, Reason, Tools, Duration string
	Findings, Blocking                    int
}

type findingRow struct {
	Repo, Stage, Severity, Tool, Rule, Message, Where, State, Help string
}

type filter struct {
	Key, Label string
	Values     []string
}

// severityOrder is how counts are shown, most severe first.
var severityOrder = []string{"critical", "high", "medium", "low", "info"}

func render(p page) ([]byte, error) {
	p.CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src " + scriptHash +
		"; base-uri 'none'; form-action 'none'"
	p.Style, p.Script = template.CSS(pageStyle), template.JS(pageScript)
	var b bytes.Buffer
	if err := tmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return b.Bytes(), nil
}

// Report is report.html for one run; with Options.History, charts over the
// repository's runs.
func Report(rep *pipeline.Report, opt Options) ([]byte, error) {
	p := page{
		Title: "dagsec: " + string(rep.Status) + " · " + rep.Source, Heading: "dagsec run report",
		Status: rep.Status, ExitCode: rep.ExitCode, Generated: stamp(rep.FinishedAt),
	}
	p.Facts = []fact{{"Source", rep.Source}, {"Branch", orDash(rep.Branch)}, {"Policy", orDash(rep.Policy)},
		{"Runner", rep.Runner}, {"Started", stamp(rep.StartedAt)}, {"Duration", (time.Duration(rep.DurationMS) * time.Millisecond).String()}}
	if rep.Baseline != "" {
		p.Facts = append(p.Facts, fact{"Baseline", rep.Baseline})
	}
	p.Cards = severityCards(rep.Counts)
	for _, s := range rep.Stages {
		p.Stages = append(p.Stages, stageRowOf(s))
	}
	for _, e := range rep.Errors {
		if len(rep.Stages) == 0 { // a run that never started: say why
			p.Stages = append(p.Stages, stageRow{Name: "-", Status: string(policies.StatusError), Reason: e})
		}
	}
	p.Findings, p.FindingsTotal = findingRows("", rep.Findings, MaxFindings)
	p.Filters = filters(p.Findings, false)
	if len(opt.History) > 0 {
		runs := withCurrent(opt.History, rep)
		p.Charts = runCharts(runs, opt.Targets, opt.ProductionBranch)
		p.Targets = metrics.History(runs, opt.Targets, opt.ProductionBranch).Targets
	}
	return render(p)
}

// withCurrent is the history with rep added when it is not in it yet
// (by start time and source), oldest first.
func withCurrent(history []metrics.SavedRun, rep *pipeline.Report) []metrics.SavedRun {
	runs := slices.Clone(history)
	in := slices.ContainsFunc(runs, func(r metrics.SavedRun) bool {
		return r.Report.StartedAt.Equal(rep.StartedAt) && r.Report.Source == rep.Source
	})
	if !in {
		runs = append(runs, metrics.SavedRun{Report: rep, ManifestsDigest: rep.ManifestsDigest})
	}
	slices.SortStableFunc(runs, func(a, b metrics.SavedRun) int { return a.Report.StartedAt.Compare(b.Report.StartedAt) })
	return runs
}

func stageRowOf(s pipeline.StageReport) stageRow {
	var tools []string
	for _, t := range s.Tools {
		switch {
		case t.Skipped != "":
			tools = append(tools, t.Name+" (not run)")
		case t.Error != "":
			tools = append(tools, t.Name+" (error)")
		case t.Target != "" && t.Target != ".":
			tools = append(tools, t.Name+" "+t.Version+" on "+t.Target)
		default:
			tools = append(tools, t.Name+" "+t.Version)
		}
	}
	return stageRow{
		Name: s.Name, Status: string(s.Status), Reason: s.Reason, Tools: strings.Join(tools, ", "),
		Duration: (time.Duration(s.DurationMS) * time.Millisecond).Round(time.Millisecond).String(),
		Findings: s.Findings, Blocking: s.Blocking,
	}
}

// State is a finding's triage state for the filters.
func State(f findings.Finding) string {
	switch {
	case f.Suppressed != nil:
		return "suppressed"
	case f.Baseline != "":
		return f.Baseline
	}
	return "not compared"
}

// findingRows lists up to limit findings, most severe first (a run
// report's findings are already in that order); total counts them all.
func findingRows(repo string, fs []findings.Finding, limit int) ([]findingRow, int) {
	var out []findingRow
	for _, f := range fs {
		if len(out) == limit {
			break
		}
		where := f.Location.Path
		if f.Location.Line > 0 {
			where += fmt.Sprintf(":%d", f.Location.Line)
		}
		if r := f.Location.Request; r != nil {
			where = strings.TrimSpace(r.Method + " " + r.Path)
			if r.Param != "" {
				where += " (" + r.Param + ")"
			}
		}
		msg := f.Message
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		out = append(out, findingRow{
			Repo: repo, Stage: f.Stage, Severity: f.Severity.String(), Tool: f.Tool, Rule: f.RuleID,
			Message: msg, Where: where, State: State(f), Help: safeURL(f.HelpURI),
		})
	}
	return out, len(fs)
}

// safeURL keeps http(s) links only; html/template would neuter others,
// but a link that goes nowhere is better left out.
func safeURL(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}

// filters offers each column's values present in the rows.
func filters(rows []findingRow, withRepo bool) []filter {
	sets := map[string]map[string]bool{}
	add := func(k, v string) {
		if sets[k] == nil {
			sets[k] = map[string]bool{}
		}
		sets[k][v] = true
	}
	for _, r := range rows {
		add("repo", r.Repo)
		add("stage", r.Stage)
		add("severity", r.Severity)
		add("tool", r.Tool)
		add("state", r.State)
	}
	var out []filter
	for _, k := range []struct{ key, label string }{
		{"repo", "Repository"}, {"stage", "Stage"}, {"severity", "Severity"}, {"tool", "Tool"}, {"state", "State"},
	} {
		if k.key == "repo" && !withRepo {
			continue
		}
		vals := slices.Sorted(maps.Keys(sets[k.key]))
		if k.key == "severity" {
			vals = slices.DeleteFunc(slices.Clone(severityOrder), func(s string) bool { return !sets["severity"][s] })
		}
		out = append(out, filter{Key: k.key, Label: k.label, Values: vals})
	}
	return out
}

func severityCards(c findings.Counts) []card {
	out := make([]card, len(severityOrder))
	for i, s := range severityOrder {
		out[i] = card{Label: s, Value: c[s], Class: "sev-" + s}
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
