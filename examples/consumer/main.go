// Consumer shows how a Dagger module uses dagsec as a dependency: it runs
// dagsec's pipeline over its caller's repository and hands back the summary
// or the report files.
package main

import (
	"context"

	"dagger/consumer/internal/dagger"
)

type Consumer struct{}

// Ci runs dagsec's pipeline over the repository and returns its Markdown
// summary. A blocked run is not an error here; call gate to fail a job.
func (m *Consumer) Ci(
	ctx context.Context,
	// Repository to scan; defaults to the caller's repository root.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Built-in policy preset: default, strict or audit.
	// +optional
	preset string,
	// Stages to run, e.g. secrets, sast; empty runs every stage.
	// +optional
	stages []string,
) (string, error) {
	return m.run(source, preset, stages).Summary(ctx)
}

// Report returns the run's report files (report.json, results.sarif,
// summary.md, SBOMs), e.g. for `dagger call report export --path
// dagsec-report`.
func (m *Consumer) Report(
	// Repository to scan; defaults to the caller's repository root.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Built-in policy preset: default, strict or audit.
	// +optional
	preset string,
	// Stages to run, e.g. secrets, sast; empty runs every stage.
	// +optional
	stages []string,
) *dagger.Directory {
	return m.run(source, preset, stages).Directory()
}

// Gate fails when a policy gate blocks or a tool errors.
func (m *Consumer) Gate(
	ctx context.Context,
	// Repository to scan; defaults to the caller's repository root.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Built-in policy preset: default, strict or audit.
	// +optional
	preset string,
	// Stages to run, e.g. secrets, sast; empty runs every stage.
	// +optional
	stages []string,
) error {
	return m.run(source, preset, stages).Check(ctx)
}

// run is the one call into dagsec: dag.Dagsec() is its constructor (image
// overrides and an offline vulnerability database are its options) and Ci
// its whole-pipeline function. The source is passed on, so dagsec's own
// defaultPath and ignore patterns do not apply: the ignore patterns above
// mirror dagsec's (.git stays for history scans).
func (m *Consumer) run(source *dagger.Directory, preset string, stages []string) *dagger.DagsecReport {
	return dag.Dagsec().Ci(dagger.DagsecCiOpts{
		Source: source,
		Preset: preset,
		Stages: stages,
	})
}
