package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"dagger/dagsec/internal/dagger"

	"github.com/dagsec/dagsec/dashboard"
	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/reports"
	"github.com/dagsec/dagsec/reports/gitlab"
)

// Fleet scans many git repositories on this engine: each repository's code
// stages, jobs repositories at once, read through the engine's git API (a
// token for private ones). It returns the fleet report: per repository its
// report folder, plus the roll-up. A repository that cannot be fetched or
// scanned is that repository's error, never the fleet's: call check on the
// report to fail a CI job.
//
// +cache="session"
func (m *Dagsec) Fleet(
	ctx context.Context,
	// Repositories, each URL or URL@REF (a branch, tag or commit), e.g.
	// https://github.com/acme/api@main; named after the URL's last element.
	repos []string,
	// Token for private repositories over HTTPS, sent as the password of
	// HTTP basic authentication (a GitHub or GitLab access token).
	// +optional
	token *dagger.Secret,
	// Policy YAML file for every repository; without one, each
	// repository's .dagsec.yaml, else the preset.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
	// Code stages to run, by name; empty runs every code stage.
	// +optional
	stages []string,
	// How many repositories are scanned at once; 0 means 4.
	// +optional
	jobs int,
	// Part i/n of the list (every n-th repository from the i-th), for n CI
	// jobs whose exported folders `dagsec fleet merge` joins.
	// +optional
	shard string,
) (*FleetReport, error) {
	all, err := fleet.FromSpecs(repos)
	if err != nil {
		return nil, err
	}
	var part fleet.Shard
	if shard != "" {
		if part, err = fleet.ParseShard(shard); err != nil {
			return nil, err
		}
	}
	switch {
	case jobs == 0:
		jobs = 4
	case jobs < 0:
		return nil, fmt.Errorf("jobs %d: want at least 1", jobs)
	}
	scan := func(ctx context.Context, r fleet.Repo) (fleet.Scanned, error) {
		repo := dag.Git(r.URL, dagger.GitOpts{HTTPAuthToken: token})
		ref := repo.Head()
		if r.Ref != "" {
			ref = repo.Ref(r.Ref)
		}
		// Resolving the commit fetches: a repository that is not there, or
		// not readable with the token, fails here, as its own error.
		commit, err := ref.Commit(ctx)
		if err != nil {
			return fleet.Scanned{}, fmt.Errorf("git %s: %w", r.Spec(), err)
		}
		name, err := ref.Ref(ctx)
		if err != nil {
			return fleet.Scanned{}, fmt.Errorf("git %s: %w", r.Spec(), err)
		}
		o := runOptions{source: ref.Tree(), policy: policy, preset: preset, stages: stages, sourceName: r.Spec()}
		if branch, ok := strings.CutPrefix(name, "refs/heads/"); ok {
			o.delivery.Branch = branch // a tag or a commit is on no branch
		}
		rep, _, err := m.runPipeline(ctx, o)
		return fleet.Scanned{Report: rep, Commit: commit}, err
	}
	fr := fleet.Run(ctx, fleet.Config{All: all, Shard: part, Jobs: jobs, Scan: scan, Runner: "dagger"})
	return newFleetReport(fr)
}

// FleetReport is the outcome of a fleet: the roll-up and every
// repository's report folder.
type FleetReport struct {
	// fleet.json: each repository's verdict and the roll-up.
	JSON string `json:"json"`
	// fleet.md: the roll-up in Markdown, for a CI job summary.
	Summary string `json:"summary"`
	// fleet.html: the dashboard, one self-contained file.
	HTML *dagger.File `json:"html"`
	// The fleet's verdict, its worst repository's: error, blocked, skipped
	// (a repository scanned nothing), warned or passed.
	Status string `json:"status"`
	// Exit code for the status: 0 passed or warned, 1 blocked, 2 error, 3
	// a repository scanned nothing.
	ExitCode int `json:"exitCode"`
	// The names of the repositories that errored, blocked or scanned
	// nothing.
	Failed []string `json:"failed"`
	// The fleet folder: fleet.json, fleet.md, fleet.html and one report
	// folder per repository (report.json, report.html, SARIF, ...).
	Files *dagger.Directory `json:"files"`
}

func newFleetReport(fr *fleet.Report) (*FleetReport, error) {
	own, err := reports.FleetFiles(fr, nil, dashboard.Options{})
	if err != nil {
		return nil, err
	}
	folders, err := reports.RepoFolders(fr, gitlab.Options{})
	if err != nil {
		return nil, err
	}
	dir := dag.Directory()
	for _, name := range slices.Sorted(maps.Keys(own)) {
		dir = dir.WithNewFile(name, string(own[name]))
	}
	for _, sub := range slices.Sorted(maps.Keys(folders)) {
		files := folders[sub]
		for _, name := range slices.Sorted(maps.Keys(files)) {
			dir = dir.WithNewFile(sub+"/"+name, string(files[name]))
		}
	}
	return &FleetReport{
		JSON:     string(own[fleet.ReportFile]),
		Summary:  string(own[fleet.SummaryFile]),
		HTML:     dag.File(dashboard.FleetFile, string(own[dashboard.FleetFile])),
		Status:   string(fr.Status),
		ExitCode: fr.ExitCode,
		Failed:   slices.Concat(fr.Rollup.ErrorRepos, fr.Rollup.BlockedRepos, fr.Rollup.SkippedRepos),
		Files:    dir,
	}, nil
}

// Directory is the fleet folder, ready to export.
func (r *FleetReport) Directory() *dagger.Directory {
	return r.Files
}

// Repository is one repository's report folder, by its name.
func (r *FleetReport) Repository(name string) *dagger.Directory {
	return r.Files.Directory(name)
}

// Check fails unless every repository passed or warned, naming the
// repositories that errored, blocked or scanned nothing.
func (r *FleetReport) Check(ctx context.Context) error {
	if r.ExitCode == 0 {
		return nil
	}
	return fmt.Errorf("dagsec fleet: %s (exit code %d): %s", r.Status, r.ExitCode, strings.Join(r.Failed, ", "))
}
