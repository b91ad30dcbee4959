package dashboard

import (
	"fmt"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
)

// chart is a line chart drawn as inline SVG: the server computes every
// coordinate, so the page needs no charting script.
type chart struct {
	Title, Unit   string
	Width, Height int
	Series        []drawnSeries
	// Target is the target's line, when the chart has one.
	Target  *drawnLine
	YTicks  []tick
	XLabels []tick
	Empty   string
}

type drawnSeries struct {
	Name, Class string
	// Segments are polylines' points ("x,y x,y"); a run without a value
	// breaks the line.
	Segments []string
	Dots     []dot
	Last     string
}

type dot struct {
	X, Y  float64
	Title string
}

type drawnLine struct {
	Y     float64
	Label string
}

type tick struct {
	Pos           float64
	Label, Anchor string
}

// series is one line's values, one per run (nil: no value then).
type series struct {
	Name, Class string
	Values      []*float64
}

const (
	chartW, chartH                       = 640, 220
	padLeft, padRight, padTop, padBottom = 56, 16, 12, 28
)

// lineChart lays out series over the runs' times; target, when set, is
// drawn as a dashed line.
func lineChart(title, unit string, at []time.Time, ss []series, target *float64, format func(float64) string) chart {
	c := chart{Title: title, Unit: unit, Width: chartW, Height: chartH}
	ymax := 0.0
	any := false
	for _, s := range ss {
		for _, v := range s.Values {
			if v != nil {
				any = true
				ymax = max(ymax, *v)
			}
		}
	}
	if !any {
		c.Empty = "no data yet"
		return c
	}
	if target != nil {
		ymax = max(ymax, *target)
	}
	if ymax <= 0 {
		ymax = 1
	}
	ymax *= 1.1
	plotW, plotH := float64(chartW-padLeft-padRight), float64(chartH-padTop-padBottom)
	x := func(i int) float64 {
		if len(at) == 1 {
			return padLeft + plotW/2
		}
		return padLeft + plotW*float64(i)/float64(len(at)-1)
	}
	y := func(v float64) float64 { return padTop + plotH*(1-v/ymax) }
	for _, s := range ss {
		d := drawnSeries{Name: s.Name, Class: s.Class}
		var seg []string
		for i, v := range s.Values {
			if v == nil {
				if len(seg) > 0 {
					d.Segments = append(d.Segments, strings.Join(seg, " "))
				}
				seg = nil
				continue
			}
			seg = append(seg, fmt.Sprintf("%.1f,%.1f", x(i), y(*v)))
			d.Dots = append(d.Dots, dot{X: x(i), Y: y(*v), Title: s.Name + " " + at[i].UTC().Format("2006-01-02 15:04Z") + ": " + format(*v)})
			d.Last = format(*v)
		}
		if len(seg) > 0 {
			d.Segments = append(d.Segments, strings.Join(seg, " "))
		}
		c.Series = append(c.Series, d)
	}
	if target != nil {
		c.Target = &drawnLine{Y: y(*target), Label: "target " + format(*target)}
	}
	for _, f := range []float64{0, 0.5, 1} {
		v := ymax / 1.1 * f
		c.YTicks = append(c.YTicks, tick{Pos: y(v), Label: format(v)})
	}
	idx := []int{0}
	if len(at) > 2 {
		idx = append(idx, len(at)/2)
	}
	if len(at) > 1 {
		idx = append(idx, len(at)-1)
	}
	for n, i := range idx {
		anchor := "middle"
		switch {
		case len(idx) > 1 && n == 0:
			anchor = "start"
		case len(idx) > 1 && n == len(idx)-1:
			anchor = "end"
		}
		c.XLabels = append(c.XLabels, tick{Pos: x(i), Label: at[i].UTC().Format("2006-01-02"), Anchor: anchor})
	}
	return c
}

// Point is one moment of a history for the charts: open findings by
// severity then, and the metrics judged over the runs up to it.
type Point struct {
	At   time.Time
	Open findings.Counts
	// MTTR in hours (nil: nothing remediated yet) and the share of runs
	// that scanned every stage, as HistoryMetrics reports them.
	MTTRCritical, MTTRHigh *float64
	Scanned                float64
}

// openCounts counts a run's unsuppressed findings by severity.
func openCounts(rep *pipeline.Report) findings.Counts {
	c := findings.CountBySeverity(nil)
	for _, f := range rep.Findings {
		if f.Suppressed == nil {
			c[f.Severity.String()]++
		}
	}
	return c
}

// runCharts are a repository's charts over its runs.
func runCharts(runs []metrics.SavedRun, t metrics.Targets, branch string) []chart {
	runs = runs[max(0, len(runs)-maxChartRuns):]
	pts := make([]Point, len(runs))
	for i, r := range runs {
		h := metrics.History(runs[:i+1], t, branch)
		pts[i] = Point{At: r.Report.StartedAt, Open: openCounts(r.Report), MTTRCritical: h.Critical.MTTRHours,
			MTTRHigh: h.High.MTTRHours, Scanned: h.Scanned.Percent}
	}
	return historyCharts(pts, t)
}

// historyCharts draws open findings by severity, MTTR against its target
// and coverage against its target.
func historyCharts(pts []Point, t metrics.Targets) []chart {
	at := make([]time.Time, len(pts))
	var open []series
	for _, s := range severityOrder[:4] {
		open = append(open, series{Name: s, Class: "sev-" + s, Values: make([]*float64, len(pts))})
	}
	crit := series{Name: "critical", Class: "sev-critical", Values: make([]*float64, len(pts))}
	high := series{Name: "high", Class: "sev-high", Values: make([]*float64, len(pts))}
	scanned := series{Name: "runs that scanned every stage", Class: "line-scanned", Values: make([]*float64, len(pts))}
	for i, p := range pts {
		at[i] = p.At
		for j, s := range severityOrder[:4] {
			v := float64(p.Open[s])
			open[j].Values[i] = &v
		}
		crit.Values[i], high.Values[i] = p.MTTRCritical, p.MTTRHigh
		v := p.Scanned
		scanned.Values[i] = &v
	}
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	hoursText := metrics.FormatHours
	critTarget, scanTarget := t.MTTRCritical.Hours(), t.ScannedPercent
	return []chart{
		lineChart("Open findings by severity", "findings", at, open, nil, count),
		lineChart("Mean time to remediate (critical; high)", "hours", at, []series{crit, high}, &critTarget, hoursText),
		lineChart("Coverage", "percent", at, []series{scanned}, &scanTarget, func(v float64) string { return fmt.Sprintf("%.0f%%", v) }),
	}
}
