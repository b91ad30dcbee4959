package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sethvargo/go-githubactions"

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
var ownedFile = regexp.MustCompile(`^(results(-[0-9]+)?\.sarif|gl-[a-z-]+-report\.json|junit\.xml|github-(annotations|outputs)\.txt|metrics\.(json|prom))$`)

// writeOutputs writes a run's report folder through temporary names, so a
// failed run never leaves a half-written report behind.
func writeOutputs(rep *pipeline.Report, dir string, gl gitlab.Options) error {
	files, err := reports.Files(rep, gl)
	if err != nil {
		return err
	}
	return writeFiles(dir, files, true)
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

var reportFormats = []string{"github", "gitlab", "junit", "markdown", "sarif", "json"}

// cmdReport converts a saved run report for the CI system reading it:
//   - github: annotations (workflow commands) on stdout, the job summary
//     appended to $GITHUB_STEP_SUMMARY, outputs to $GITHUB_OUTPUT;
//   - gitlab: the security and Code Quality reports, into --out;
//   - junit, markdown, json: on stdout, or into --out;
//   - sarif: the merged log on stdout, or GitHub-sized files into --out.
func cmdReport(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("report")
	format := fs.String("format", "markdown", "output format: "+strings.Join(reportFormats, ", "))
	out := fs.String("out", "", "folder to write the files into (gitlab: default .)")
	commit := fs.String("commit", "", "gitlab: commit the source was scanned at (default $CI_COMMIT_SHA)")
	image := fs.String("image", "", "gitlab: the scanned image's reference (default $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA)")
	target := fs.String("target", "", "gitlab: the URL DAST scanned (default: from the report)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) != 1 {
		return exitError, usageError{"report takes one REPORT.json"}
	}
	if !slices.Contains(reportFormats, *format) {
		return exitError, usageError{fmt.Sprintf("unknown report format %q (%s)", *format, strings.Join(reportFormats, ", "))}
	}
	rep, err := pipeline.ReadReportFile(pos[0])
	if err != nil {
		return exitError, err
	}
	if *format == "github" {
		a := githubactions.New(githubactions.WithWriter(stdout))
		if err := github.Write(rep, a); err != nil {
			return exitError, err
		}
		return exitPassed, nil
	}
	files := map[string][]byte{}
	var single []byte
	switch *format {
	case "gitlab":
		if files, err = gitlabOptions(*commit, *image, *target).SecurityReports(rep); err == nil {
			files[gitlab.CodeQualityFile], err = gitlab.CodeQuality(rep)
		}
		if *out == "" {
			*out = "."
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
	case "sarif":
		if *out != "" {
			files, err = rep.SARIFFiles()
		} else {
			single, err = rep.SARIF()
		}
	}
	if err != nil {
		return exitError, err
	}
	if *out == "" {
		stdout.Write(single)
		return exitPassed, nil
	}
	if err := writeFiles(*out, files, false); err != nil {
		return exitError, err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(stderr, "wrote %s\n", filepath.Join(*out, name))
	}
	return exitPassed, nil
}
