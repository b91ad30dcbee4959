package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/dagsec/dagsec/dashboard"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/reports"
	"github.com/dagsec/dagsec/reports/github"
	"github.com/dagsec/dagsec/reports/gitlab"
	"github.com/dagsec/dagsec/reports/junit"
)

// gitlabOptions fills the GitLab reports' context from GitLab CI's
// variables when the flags leave it out.
func gitlabOptions(commit, image, target string) gitlab.Options {
	if commit == "" {
		commit = os.Getenv("CI_COMMIT_SHA")
	}
	if image == "" && os.Getenv("CI_REGISTRY_IMAGE") != "" && os.Getenv("CI_COMMIT_SHA") != "" {
		image = os.Getenv("CI_REGISTRY_IMAGE") + ":" + os.Getenv("CI_COMMIT_SHA")
	}
	return gitlab.Options{Commit: commit, Image: image, Target: target}
}

// ownedFile matches the files a report folder may hold from an earlier run
// that this run does not write again (a stage that did not run this time):
// they are removed so no CI system reads a stale result.
var ownedFile = regexp.MustCompile(`^(results(-[0-9]+)?\.sarif|gl-[a-z-]+-report\.json|junit\.xml|github-(annotations|outputs)\.txt|metrics\.(json|prom)|report\.html)$`)

// writeOutputs writes a run's report folder through temporary names, so a
// failed run never leaves a half-written report behind.
// It returns the files written, by name.
func writeOutputs(rep *pipeline.Report, dir string, gl gitlab.Options) (map[string][]byte, error) {
	files, err := reports.Files(rep, gl)
	if err != nil {
		return nil, err
	}
	return files, writeFiles(dir, files, true)
}

// writeFiles writes files into dir; prune removes the report files of an
// earlier run that this one did not write (only in a scan's own folder).
func writeFiles(dir string, files map[string][]byte, prune bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	names := slices.Sorted(maps.Keys(files))
	for i, name := range names {
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, files[name], 0o644); err != nil {
			// Nothing half-written stays: the earlier run's files are
			// untouched and this run's temporary copies go.
			for _, n := range names[:i+1] {
				os.Remove(filepath.Join(dir, "."+n+".tmp"))
			}
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	for _, e := range old {
		if _, kept := files[e.Name()]; prune && !kept && e.Type().IsRegular() && ownedFile.MatchString(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("removing the stale %s: %w", e.Name(), err)
			}
		}
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(dir, "."+name+".tmp"), filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

var reportFormats = []string{"github", "gitlab", "junit", "markdown", "sarif", "json", "html"}

// reportOptions are dagsec report's flags.
type reportOptions struct{ format, out, commit, image, target, history, policy string }

func (o *reportOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.format, "format", "markdown", "output `FORMAT`: "+strings.Join(reportFormats, ", "))
	fs.StringVar(&o.out, "out", "", "`DIR` to write the files into instead of stdout (gitlab: default .)")
	fs.StringVar(&o.commit, "commit", "", "gitlab: commit `SHA` the source was scanned at (default $CI_COMMIT_SHA)")
	fs.StringVar(&o.image, "image", "", "gitlab: the scanned image's `REF` (default $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA)")
	fs.StringVar(&o.target, "target", "", "gitlab: the `URL` DAST scanned (default: from the report)")
	fs.StringVar(&o.history, "history", "", "html: `DIR` of the repository's saved run reports (as dagsec metrics --history reads them): charts of open findings, MTTR and coverage over time")
	fs.StringVar(&o.policy, "policy", "", "html: policy YAML `FILE` whose targets and production branch the charts judge by (default: the default preset's)")
}

// cmdReport converts a saved run report for the CI system reading it:
//   - github: annotations (workflow commands) on stdout, the job summary
//     appended to $GITHUB_STEP_SUMMARY, outputs to $GITHUB_OUTPUT;
//   - gitlab: the security and Code Quality reports, into --out;
//   - junit, markdown, json: on stdout, or into --out;
//   - sarif: the merged log on stdout, or GitHub-sized files into --out;
//   - html: report.html, with charts over --history's runs.
func cmdReport(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var o reportOptions
	pos, err := parseFlags("report", o.register, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) != 1 {
		return exitError, usageError{"report takes one REPORT.json (or the report folder holding it)", "report"}
	}
	if !slices.Contains(reportFormats, o.format) {
		return exitError, usageError{fmt.Sprintf("unknown report format %q (%s)", o.format, strings.Join(reportFormats, ", ")), "report"}
	}
	file, err := reportFile("report", pos[0])
	if err != nil {
		return exitError, err
	}
	rep, err := pipeline.ReadReportFile(file)
	if err != nil {
		return exitError, err
	}
	if o.format == "github" {
		a := githubactions.New(githubactions.WithWriter(stdout))
		if err := github.Write(rep, a); err != nil {
			return exitError, err
		}
		return exitPassed, nil
	}
	files := map[string][]byte{}
	var single []byte
	switch o.format {
	case "gitlab":
		if files, err = gitlabOptions(o.commit, o.image, o.target).SecurityReports(rep); err == nil {
			files[gitlab.CodeQualityFile], err = gitlab.CodeQuality(rep)
		}
		if o.out == "" {
			o.out = "."
		}
	case "junit":
		single, err = junit.JUnit(rep)
		files[junit.FileName] = single
	case "markdown":
		single = []byte(rep.Markdown())
		files[reports.SummaryFile] = single
	case "json":
		single, err = rep.JSON()
		files[reports.RunReportFile] = single
	case "html":
		single, err = o.html(rep)
		files[reports.DashboardFile] = single
	case "sarif":
		if o.out != "" {
			files, err = rep.SARIFFiles()
		} else {
			single, err = rep.SARIF()
		}
	}
	if err != nil {
		return exitError, err
	}
	if o.out == "" {
		stdout.Write(single)
		return exitPassed, nil
	}
	if err := writeFiles(o.out, files, false); err != nil {
		return exitError, err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(stderr, "wrote %s\n", filepath.Join(o.out, name))
	}
	return exitPassed, nil
}

// html is report.html, with charts when --history is given.
func (o *reportOptions) html(rep *pipeline.Report) ([]byte, error) {
	var opt dashboard.Options
	if o.history != "" {
		pol, err := loadPolicy(o.policy, "")
		if err != nil {
			return nil, err
		}
		if opt.History, err = metrics.LoadHistory(o.history); err != nil {
			return nil, err
		}
		opt.Targets, opt.ProductionBranch = policyTargets(pol), pol.ProductionBranch
	}
	return dashboard.Report(rep, opt)
}

// reportFile is the run report a path names: the file, or report.json in
// a report folder. what names the flag or command in errors.
func reportFile(what, p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return p, nil // reading the file reports what is wrong with it
	}
	f := filepath.Join(p, reports.RunReportFile)
	if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s %s: the folder holds no %s; give a report folder dagsec scan wrote, or a run report file", what, p, reports.RunReportFile)
	}
	return f, nil
}
