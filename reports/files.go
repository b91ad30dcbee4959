// Package reports turns a run report into the files CI systems read: the
// SARIF files for GitHub code scanning, the Markdown summary, JUnit, and
// GitLab's security and Code Quality reports. Its sub-packages write each
// format; this package gathers them for a report folder.
package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/dashboard"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/reports/github"
	"github.com/dagsec/dagsec/reports/gitlab"
	"github.com/dagsec/dagsec/reports/junit"
	"github.com/dagsec/dagsec/vex"
)

// Names of the files every report folder holds besides SARIF and GitLab's.
const (
	RunReportFile = "report.json"
	SummaryFile   = "summary.md"
	// GitHub Actions reads these from a workflow step that prints them:
	// `cat github-annotations.txt` (workflow commands) and
	// `cat github-outputs.txt >> "$GITHUB_OUTPUT"` (name=value lines).
	AnnotationsFile = "github-annotations.txt"
	OutputsFile     = "github-outputs.txt"
	// The run's security metrics, as JSON and as OpenMetrics text.
	MetricsFile     = "metrics.json"
	OpenMetricsFile = "metrics.prom"
	// The run's dashboard, one self-contained HTML file.
	DashboardFile = dashboard.ReportFile
)

// Files returns every file of a report folder by name: report.json,
// results.sarif (and results-N.sarif past GitHub's limits), summary.md,
// report.html, junit.xml, the GitLab reports of the stages that ran, vex.openvex.json
// when the run found vulnerabilities in packages, and the artifacts
// tools wrote (SBOMs, the image signature). An artifact never replaces one
// of dagsec's own files, and only plain file names are kept.
func Files(rep *pipeline.Report, gl gitlab.Options) (map[string][]byte, error) {
	js, err := rep.JSON()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{RunReportFile: js, SummaryFile: []byte(rep.Markdown())}
	if files[DashboardFile], err = dashboard.Report(rep, dashboard.Options{}); err != nil {
		return nil, fmt.Errorf("%s: %w", DashboardFile, err)
	}
	var ann bytes.Buffer
	if err := github.Annotations(rep, &ann); err != nil {
		return nil, fmt.Errorf("%s: %w", AnnotationsFile, err)
	}
	files[AnnotationsFile] = ann.Bytes()
	files[OutputsFile] = outputLines(github.Outputs(rep))
	m := metrics.Run(rep)
	if files[MetricsFile], err = json.MarshalIndent(m, "", "  "); err != nil {
		return nil, fmt.Errorf("%s: %w", MetricsFile, err)
	}
	files[OpenMetricsFile] = m.OpenMetrics()
	sarif, err := rep.SARIFFiles()
	if err != nil {
		return nil, fmt.Errorf("sarif: %w", err)
	}
	if err := merge(files, sarif); err != nil {
		return nil, err
	}
	if files[junit.FileName], err = junit.JUnit(rep); err != nil {
		return nil, fmt.Errorf("%s: %w", junit.FileName, err)
	}
	sec, err := gl.SecurityReports(rep)
	if err != nil {
		return nil, err
	}
	if err := merge(files, sec); err != nil {
		return nil, err
	}
	if files[gitlab.CodeQualityFile], err = gitlab.CodeQuality(rep); err != nil {
		return nil, fmt.Errorf("%s: %w", gitlab.CodeQualityFile, err)
	}
	// The run's decisions about vulnerabilities, for VEX consumers; none
	// when the run found no vulnerability in a package.
	doc, err := vex.Export(rep.Findings, vex.Options{Tooling: "dagsec " + rep.Dagsec, Time: rep.FinishedAt})
	if err != nil {
		return nil, err
	}
	if doc != nil {
		files[vex.File] = doc
	}
	for name, data := range rep.Artifacts {
		if _, taken := files[name]; !taken && name == path.Base(name) && name != "." && name != ".." {
			files[name] = data
		}
	}
	return files, nil
}

// outputLines writes outputs as GITHUB_OUTPUT's name=value lines; the
// values are numbers, words and stage lists, never multi-line.
func outputLines(out map[string]string) []byte {
	var b bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(out)) {
		fmt.Fprintf(&b, "%s=%s\n", k, strings.ReplaceAll(out[k], "\n", " "))
	}
	return b.Bytes()
}

func merge(into, from map[string][]byte) error {
	for name, data := range from {
		if _, taken := into[name]; taken {
			return fmt.Errorf("two report files named %s", name)
		}
		into[name] = data
	}
	return nil
}
