package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

var metricsFormats = []string{"json", "markdown", "openmetrics"}

type metricsOptions struct{ history, policy, preset, branch, format string }

func (o *metricsOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.history, "history", "", "`DIR` of saved run reports (*.json, or report.json in subfolders)")
	fs.StringVar(&o.policy, "policy", "", "policy YAML `FILE` whose targets and production_branch apply")
	presetFlag(fs, &o.preset, "policy preset whose targets apply")
	fs.StringVar(&o.branch, "branch", "", "production branch `NAME` (default: the policy's production_branch)")
	fs.StringVar(&o.format, "format", "json", "output `FORMAT`: "+strings.Join(metricsFormats, ", "))
}

// cmdMetrics prints metrics of saved run reports.
//
//	dagsec metrics --history DIR [--policy FILE | --preset NAME] [--branch NAME] [--format F]
//
// reads every run report of DIR (metrics.LoadHistory), judges the policy's
// targets and exits 0 when none was missed, 1 when one was (a target
// without data is not missed): a gate, like scan's.
//
//	dagsec metrics [--format F] REPORT.json
//
// prints one run's metrics and exits 0: a single run is judged by its own
// gate (its exit_code). Bad input exits 2.
func cmdMetrics(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var o metricsOptions
	pos, err := parseFlags("metrics", o.register, args)
	if err != nil {
		return exitError, err
	}
	if !slices.Contains(metricsFormats, o.format) {
		return exitError, usageError{fmt.Sprintf("unknown metrics format %q (%s)", o.format, strings.Join(metricsFormats, ", ")), "metrics"}
	}
	switch {
	case o.history != "" && len(pos) > 0:
		return exitError, usageError{"metrics takes either --history DIR or one REPORT.json, not both", "metrics"}
	case o.history == "" && len(pos) != 1:
		return exitError, usageError{"metrics takes --history DIR or one REPORT.json", "metrics"}
	case o.history == "" && (o.policy != "" || o.preset != "" || o.branch != ""):
		return exitError, usageError{"--policy, --preset and --branch apply to --history only", "metrics"}
	}

	if o.history == "" {
		file, err := reportFile("metrics", pos[0])
		if err != nil {
			return exitError, err
		}
		data, err := readfile.Read(file, pipeline.MaxReportSize)
		if err != nil {
			return exitError, err
		}
		run, err := metrics.ReadSavedRun(data)
		if err != nil {
			return exitError, fmt.Errorf("%s: %w", file, err)
		}
		m := metrics.Run(run.Report)
		return exitPassed, writeMetrics(stdout, o.format, m, m.Markdown, m.OpenMetrics)
	}

	pol, err := loadPolicy(o.policy, o.preset)
	if err != nil {
		return exitError, err
	}
	prodBranch := pol.ProductionBranch
	if o.branch != "" {
		prodBranch = o.branch
	}
	if st, err := os.Stat(o.history); err == nil && !st.IsDir() {
		return exitError, usageError{fmt.Sprintf("--history %s is a file; it takes a folder of saved run reports (for one report: dagsec metrics %s)", o.history, o.history), "metrics"}
	}
	if fleet.IsHistory(o.history) {
		return orgMetrics(stdout, o.history, o.format, policyTargets(pol), prodBranch)
	}
	runs, err := metrics.LoadHistory(o.history)
	if err != nil {
		return exitError, err
	}
	h := metrics.History(runs, policyTargets(pol), prodBranch)
	if err := writeMetrics(stdout, o.format, h, h.Markdown, h.OpenMetrics); err != nil {
		return exitError, err
	}
	if h.ProductionRuns == 0 && o.branch == "" {
		fmt.Fprintf(stderr, "dagsec: no run in %s is on the production branch %q (the runs are on %s); pass --branch NAME to measure one of them\n",
			o.history, prodBranch, strings.Join(runBranches(runs), ", "))
	}
	if !h.TargetsMet {
		return exitBlocked, nil
	}
	return exitPassed, nil
}

// orgMetrics prints the metrics of a fleet's history (fleet folders, as
// dagsec fleet writes them): each repository's and the organisation's.
func orgMetrics(stdout io.Writer, dir, format string, targets metrics.Targets, branch string) (int, error) {
	runs, err := fleet.LoadHistory(dir)
	if err != nil {
		return exitError, err
	}
	om := metrics.Organisation(fleet.ByRepo(runs), targets, branch)
	if err := writeMetrics(stdout, format, om, om.Markdown, om.OpenMetrics); err != nil {
		return exitError, err
	}
	if !om.TargetsMet {
		return exitBlocked, nil
	}
	return exitPassed, nil
}

// runBranches lists the branches saved runs record, once each.
func runBranches(runs []metrics.SavedRun) []string {
	var out []string
	for _, r := range runs {
		if b := strings.TrimPrefix(r.Report.Branch, "refs/heads/"); b != "" && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// policyTargets are the targets a policy sets (the two types have the same
// fields in the same order).
func policyTargets(pol *policies.Policy) metrics.Targets {
	return metrics.Targets(pol.Targets)
}

func writeMetrics(w io.Writer, format string, v any, markdown func() string, om func() []byte) error {
	var out []byte
	switch format {
	case "markdown":
		out = []byte(markdown())
	case "openmetrics":
		out = om()
	default:
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		out = append(b, '\n')
	}
	_, err := w.Write(out)
	return err
}
