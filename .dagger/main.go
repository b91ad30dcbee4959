// dagsec runs a DevSecOps pipeline of pinned security scanners in containers
// and judges their findings against a YAML policy.
//
// A blocked or errored run is still returned as a Report, so its files can be
// exported; call check on it to fail a CI job.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"dagger/dagsec/internal/dagger"

	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// Dagsec runs dagsec's scans. Every tool image can be overridden, so the
// module works in air-gapped networks against a registry mirror.
type Dagsec struct {
	// Image used for gitleaks instead of the pinned one; empty keeps the pin.
	GitleaksImage string
}

// New configures image overrides; without any, each tool runs from its
// pinned official image.
func New(
	// Image to run gitleaks from instead of the pinned
	// ghcr.io/gitleaks/gitleaks image, e.g. a copy in a private registry.
	// It should be the same gitleaks version: reports record the pin.
	// +optional
	gitleaksImage string,
) *Dagsec {
	return &Dagsec{GitleaksImage: gitleaksImage}
}

// images is the tool-to-image override map the runner applies.
func (m *Dagsec) images() map[string]string {
	out := map[string]string{}
	if m.GitleaksImage != "" {
		out["gitleaks"] = m.GitleaksImage
	}
	return out
}

// Scan runs the pipeline's stages over a source tree and returns the run
// report. A blocked run is not an error here: call check on the report.
//
// +cache="session"
func (m *Dagsec) Scan(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// .git stays included: history scans need it.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the preset applies as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
	// Stages to run, by name (e.g. secrets); empty runs every available stage.
	// +optional
	stages []string,
	// Also scan git history for secrets, not only the working tree.
	// +optional
	history bool,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, stages, history)
}

// Secrets runs only the secrets stage and returns the run report.
//
// +cache="session"
func (m *Dagsec) Secrets(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// .git stays included: history scans need it.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the preset applies as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit). With a policy file,
	// the preset the file is applied over.
	// +optional
	preset string,
	// Also scan git history for secrets, not only the working tree.
	// +optional
	history bool,
) (*Report, error) {
	return m.run(ctx, source, policy, preset, []string{stages.Secrets}, history)
}

// Check scans the caller's repository with every available stage and fails
// when a gate blocks or a tool errors, so `dagger check` runs the pipeline.
//
// +check
// +cache="session"
func (m *Dagsec) Check(
	ctx context.Context,
	// Source tree to scan; defaults to the root of the caller's repository.
	// +defaultPath="/"
	// +ignore=["**/node_modules", "**/.venv", "**/dagsec-report"]
	source *dagger.Directory,
	// Policy YAML file; without one, the preset applies as is.
	// +optional
	policy *dagger.File,
	// Built-in policy preset (default, strict or audit).
	// +optional
	preset string,
) error {
	rep, err := m.run(ctx, source, policy, preset, nil, false)
	if err != nil {
		return err
	}
	return rep.Check(ctx)
}

func (m *Dagsec) run(ctx context.Context, source *dagger.Directory, policy *dagger.File, preset string, only []string, history bool) (*Report, error) {
	pol, err := loadPolicy(ctx, policy, preset)
	if err != nil {
		return nil, err
	}
	var selected []string
	if len(only) > 0 {
		// ParseList rejects unknown and not yet implemented stages.
		if selected, err = stages.ParseList(strings.Join(only, ",")); err != nil {
			return nil, fmt.Errorf("stages: %w", err)
		}
	}
	// The digest names exactly what was scanned, as a path does on the host.
	digest, err := source.Digest(ctx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	rep, err := pipeline.Run(ctx, pipeline.Config{
		Runner:  &daggerRunner{source: source, images: m.images()},
		Policy:  pol,
		Stages:  selected,
		Source:  digest,
		History: history,
	})
	if err != nil {
		return nil, err
	}
	return newReport(rep)
}

// loadPolicy mirrors the CLI: a file over the preset it names or is given,
// else the preset, else the default preset.
func loadPolicy(ctx context.Context, file *dagger.File, preset string) (*policies.Policy, error) {
	if file == nil {
		if preset == "" {
			preset = policies.DefaultPreset
		}
		return policies.Preset(preset)
	}
	name, err := file.Name(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	// Checked before reading so a huge file never crosses the API.
	size, err := file.Size(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	if size > policies.MaxSize {
		return nil, fmt.Errorf("policy %s is larger than %d bytes", name, policies.MaxSize)
	}
	data, err := file.Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	return policies.Parse([]byte(data), name, preset)
}

// Report is the outcome of one run: the run report, its Markdown summary and
// SARIF log, and the overall verdict.
type Report struct {
	// Run report as JSON: every stage, finding and tool run, with timings.
	JSON string `json:"json"`
	// Human summary in Markdown: stages, what blocked and the top findings.
	Summary string `json:"summary"`
	// Merged SARIF 2.1.0 log (results.sarif), one run per completed tool.
	Sarif *dagger.File `json:"sarif"`
	// Overall status: passed, warned, blocked or error.
	Status string `json:"status"`
	// Exit code for the status: 0 passed or warned, 1 blocked, 2 error.
	ExitCode int `json:"exitCode"`
}

func newReport(rep *pipeline.Report) (*Report, error) {
	js, err := rep.JSON()
	if err != nil {
		return nil, err
	}
	sarif, err := rep.SARIF()
	if err != nil {
		return nil, fmt.Errorf("results.sarif: %w", err)
	}
	return &Report{
		JSON:     string(js),
		Summary:  rep.Markdown(),
		Sarif:    dag.File("results.sarif", string(sarif)),
		Status:   string(rep.Status),
		ExitCode: rep.ExitCode,
	}, nil
}

// Check fails when the run blocked or errored, naming each such stage and its
// reason; findings themselves stay in the report files.
func (r *Report) Check(ctx context.Context) error {
	if r.ExitCode == 0 {
		return nil
	}
	// Only the fields needed: the error must not carry finding details or
	// tool output, which may be long or sensitive.
	var run struct {
		Stages []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"stages"`
	}
	if err := json.Unmarshal([]byte(r.JSON), &run); err != nil {
		return fmt.Errorf("dagsec: %s (exit code %d); run report unreadable: %w", r.Status, r.ExitCode, err)
	}
	var stops []string
	for _, s := range run.Stages {
		if s.Status != string(policies.StatusBlocked) && s.Status != string(policies.StatusError) {
			continue
		}
		msg := s.Name + " " + s.Status
		if s.Reason != "" {
			msg += ": " + s.Reason
		}
		stops = append(stops, msg)
	}
	if len(stops) == 0 {
		return fmt.Errorf("dagsec: %s (exit code %d)", r.Status, r.ExitCode)
	}
	return fmt.Errorf("dagsec: %s (exit code %d): %s", r.Status, r.ExitCode, strings.Join(stops, "; "))
}

// Directory holds report.json, results.sarif and summary.md, ready to export.
func (r *Report) Directory() *dagger.Directory {
	dir := dag.Directory().
		WithNewFile("report.json", r.JSON).
		WithNewFile("summary.md", r.Summary)
	if r.Sarif != nil {
		dir = dir.WithFile("results.sarif", r.Sarif)
	}
	return dir
}
