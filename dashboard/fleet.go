package dashboard

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/metrics"
)

// Fleet is fleet.html: the roll-up, one row per repository linking its
// report.html, and the findings of every repository (fr.Reports); with a
// fleet history (earlier runs, oldest first), the organisation's charts.
func Fleet(fr *fleet.Report, history []fleet.HistoryRun, opt Options) ([]byte, error) {
	ru := fr.Rollup
	p := page{
		Title:   fmt.Sprintf("dagsec fleet: %s · %d repositories", fr.Status, ru.Repos),
		Heading: "dagsec fleet report", Status: fr.Status, ExitCode: fr.ExitCode, Generated: stamp(fr.FinishedAt),
	}
	scope := fmt.Sprintf("%d of %d", ru.Repos, fr.Total)
	if fr.Shard != nil {
		scope += " (shard " + fr.Shard.String() + ")"
	}
	p.Facts = []fact{{"Repositories", scope}, {"Runner", fr.Runner}, {"Started", stamp(fr.StartedAt)},
		{"Duration", (time.Duration(fr.DurationMS) * time.Millisecond).String()}}
	if len(fr.Merged) > 1 {
		p.Facts = append(p.Facts, fact{"Merged from shards", fmt.Sprint(fr.Merged)})
	}
	p.Cards = []card{
		{"passed", ru.Passed, "st-passed"}, {"warned", ru.Warned, "st-warned"}, {"blocked", ru.Blocked, "st-blocked"},
		{"error", ru.Error, "st-error"}, {"nothing scanned", ru.Skipped, "st-skipped"},
	}
	p.Cards = append(p.Cards, severityCards(ru.Findings)...)
	var all []findings.Finding
	owner := map[int]string{}
	for _, r := range fr.Repos {
		row := repoRow{Name: r.Name, Ref: orDash(r.Ref), Commit: short(r.Commit), Status: string(r.Status), Error: r.Error,
			Link: r.Dir + "/" + ReportFile}
		for _, s := range severityOrder {
			row.Counts = append(row.Counts, r.Counts[s])
		}
		p.Repos = append(p.Repos, row)
		if rep := fr.Reports[r.Name]; rep != nil {
			for _, f := range rep.Findings {
				owner[len(all)] = r.Name
				all = append(all, f)
			}
		}
	}
	// Most severe first across repositories, each repository's order kept.
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(all[b].Severity) - int(all[a].Severity) })
	for _, i := range idx {
		if len(p.Findings) == MaxFindings {
			break
		}
		rows, _ := findingRows(owner[i], all[i:i+1], 1)
		p.Findings = append(p.Findings, rows...)
	}
	p.FindingsTotal = len(all)
	p.Filters = filters(p.Findings, true)
	if len(history) > 0 {
		runs := slices.Clone(history)
		if !slices.ContainsFunc(runs, func(h fleet.HistoryRun) bool { return h.Fleet.StartedAt.Equal(fr.StartedAt) }) {
			cur := fleet.HistoryRun{Fleet: fr, Runs: map[string]metrics.SavedRun{}}
			for name, rep := range fr.Reports {
				cur.Runs[name] = metrics.SavedRun{Report: rep, ManifestsDigest: rep.ManifestsDigest}
			}
			runs = append(runs, cur)
		}
		slices.SortStableFunc(runs, func(a, b fleet.HistoryRun) int { return a.Fleet.StartedAt.Compare(b.Fleet.StartedAt) })
		runs = runs[max(0, len(runs)-maxChartRuns):]
		pts := make([]Point, len(runs))
		for i, hr := range runs {
			om := metrics.Organisation(fleet.ByRepo(runs[:i+1]), opt.Targets, opt.ProductionBranch)
			open := findings.CountBySeverity(nil)
			for _, name := range slices.Sorted(maps.Keys(hr.Runs)) {
				for s, n := range openCounts(hr.Runs[name].Report) {
					open[s] += n
				}
			}
			o := om.Organisation
			pts[i] = Point{At: hr.Fleet.StartedAt, Open: open, MTTRCritical: o.Critical.MTTRHours, MTTRHigh: o.High.MTTRHours, Scanned: o.Scanned.Percent}
			if i == len(runs)-1 {
				p.Targets = o.Targets
			}
		}
		p.Charts = historyCharts(pts, opt.Targets)
	}
	return render(p)
}

func short(commit string) string {
	return commit[:min(len(commit), 12)]
}
