package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

var metricsFormats = []string{"json", "markdown", "openmetrics"}

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
func cmdMetrics(args []string, stdout io.Writer) (int, error) {
	fs := newFlagSet("metrics")
	history := fs.String("history", "", "folder of saved run reports (*.json, or report.json in subfolders)")
	policyFile := fs.String("policy", "", "policy YAML file whose targets and production_branch apply")
	preset := fs.String("preset", "", "policy preset: "+strings.Join(policies.PresetNames(), ", "))
	branch := fs.String("branch", "", "production branch (default: the policy's production_branch)")
	format := fs.String("format", "json", "output format: "+strings.Join(metricsFormats, ", "))
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError, err
	}
	if !slices.Contains(metricsFormats, *format) {
		return exitError, usageError{fmt.Sprintf("unknown metrics format %q (%s)", *format, strings.Join(metricsFormats, ", "))}
	}
	switch {
	case *history != "" && len(pos) > 0:
		return exitError, usageError{"metrics takes either --history DIR or one REPORT.json, not both"}
	case *history == "" && len(pos) != 1:
		return exitError, usageError{"metrics takes --history DIR or one REPORT.json"}
	case *history == "" && (*policyFile != "" || *preset != "" || *branch != ""):
		return exitError, usageError{"--policy, --preset and --branch apply to --history only"}
	}

	if *history == "" {
		data, err := readfile.Read(pos[0], pipeline.MaxReportSize)
		if err != nil {
			return exitError, err
		}
		run, err := metrics.ReadSavedRun(data)
		if err != nil {
			return exitError, fmt.Errorf("%s: %w", pos[0], err)
		}
		m := metrics.Run(run.Report)
		return exitPassed, writeMetrics(stdout, *format, m, m.Markdown, m.OpenMetrics)
	}

	pol, err := loadPolicy(*policyFile, *preset)
	if err != nil {
		return exitError, err
	}
	prodBranch := pol.ProductionBranch
	if *branch != "" {
		prodBranch = *branch
	}
	runs, err := metrics.LoadHistory(*history)
	if err != nil {
		return exitError, err
	}
	h := metrics.History(runs, policyTargets(pol), prodBranch)
	if err := writeMetrics(stdout, *format, h, h.Markdown, h.OpenMetrics); err != nil {
		return exitError, err
	}
	if !h.TargetsMet {
		return exitBlocked, nil
	}
	return exitPassed, nil
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
