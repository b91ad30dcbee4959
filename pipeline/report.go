package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/sarifio"
)

// SchemaVersion is the version of the run report's JSON layout. Readers
// check it; it changes only when a field changes meaning or goes away.
const SchemaVersion = "1"

// Version is dagsec's own version, recorded in every report.
var Version = "0.1.0-dev"

// Report is the result of one run: every stage, every finding, the tools
// that ran and how long everything took.
type Report struct {
	SchemaVersion string             `json:"schema_version"`
	Dagsec        string             `json:"dagsec_version"`
	Runner        string             `json:"runner"`
	Source        string             `json:"source"`
	Policy        string             `json:"policy"`
	StartedAt     time.Time          `json:"started_at"`
	FinishedAt    time.Time          `json:"finished_at"`
	DurationMS    int64              `json:"duration_ms"`
	Status        policies.Status    `json:"status"`
	ExitCode      int                `json:"exit_code"`
	Counts        findings.Counts    `json:"counts"`
	Stages        []StageReport      `json:"stages"`
	Findings      []findings.Finding `json:"findings"`
	Errors        []string           `json:"errors"`
	// Artifacts are files tools produced besides findings (SBOMs), by
	// file name; writers put them next to the report.
	Artifacts map[string][]byte `json:"-"`
}

// StageReport is one stage's verdict.
type StageReport struct {
	Name       string          `json:"name"`
	Status     policies.Status `json:"status"`
	Reason     string          `json:"reason,omitempty"`
	Needs      []string        `json:"needs,omitempty"`
	BlockOn    string          `json:"block_on,omitempty"`
	WarnOnly   bool            `json:"warn_only,omitempty"`
	Findings   int             `json:"findings"`
	Blocking   int             `json:"blocking"`
	Counts     findings.Counts `json:"counts,omitempty"`
	Tools      []ToolReport    `json:"tools,omitempty"`
	Errors     []string        `json:"errors,omitempty"`
	StartedAt  time.Time       `json:"started_at,omitzero"`
	DurationMS int64           `json:"duration_ms"`
}

// ToolReport is one tool run inside a stage.
type ToolReport struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Image      string `json:"image,omitempty"`
	Runner     string `json:"runner"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	Findings   int    `json:"findings"`
	Error      string `json:"error,omitempty"`
	// Skipped says why a tool of the stage did not run (no files in its
	// language, or not available to this runner).
	Skipped string `json:"skipped,omitempty"`
	// Database is the vulnerability database the tool used, as it said.
	Database  string   `json:"database,omitempty"`
	Artifacts []string `json:"artifacts,omitempty"`
}

func newReport(cfg Config) *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Dagsec:        Version,
		Runner:        cfg.Runner.Kind(),
		Source:        cfg.Source,
		Policy:        cfg.Policy.Name,
		StartedAt:     time.Now().UTC(),
		Errors:        []string{},
	}
}

func (r *Report) finish(fs []findings.Finding) {
	findings.Sort(fs)
	if fs == nil {
		fs = []findings.Finding{}
	}
	r.Findings = fs
	r.Counts = findings.CountBySeverity(fs)
	for _, s := range r.Stages {
		for _, e := range s.Errors {
			r.Errors = append(r.Errors, "stage "+s.Name+": "+e)
		}
	}
	r.Status = overall(r.Stages)
	r.ExitCode = ExitCode(r.Status)
	r.FinishedAt = time.Now().UTC()
	r.DurationMS = r.FinishedAt.Sub(r.StartedAt).Milliseconds()
}

// Err aggregates every stage's errors (as listed in Errors), or nil when no
// stage errored.
func (r *Report) Err() error {
	var merr *multierror.Error
	for _, e := range r.Errors {
		merr = multierror.Append(merr, errors.New(e))
	}
	return merr.ErrorOrNil()
}

// ReadReport loads a saved run report, checking its schema version and the
// fields every output depends on.
func ReadReport(data []byte) (*Report, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("run report is empty")
	}
	var r Report
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("run report is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("run report has trailing data after the JSON object")
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("run report schema_version %q is not supported (want %q)", r.SchemaVersion, SchemaVersion)
	}
	for i, f := range r.Findings {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("run report finding %d: %w", i, err)
		}
	}
	return &r, nil
}

// JSON is the versioned run report.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("run report: %w", err)
	}
	return append(b, '\n'), nil
}

// SARIF is the merged SARIF 2.1.0 log: one run per tool that completed, in
// stage order. It is derived from the report alone, so a saved report.json
// gives the same SARIF. A tool that failed gets no run: an empty run would
// tell code scanning that its alerts are fixed.
func (r *Report) SARIF() ([]byte, error) {
	type key struct{ stage, tool string }
	byTool := map[key][]findings.Finding{}
	for _, f := range r.Findings {
		k := key{f.Stage, f.Tool}
		byTool[k] = append(byTool[k], f)
	}
	var runs []sarifio.ToolRun
	done := map[key]bool{}
	for _, s := range r.Stages {
		failed := map[string]bool{}
		for _, t := range s.Tools {
			if t.Error != "" {
				failed[t.Name] = true
			}
		}
		for _, t := range s.Tools {
			k := key{s.Name, t.Name}
			// One run per tool of a stage, even when it ran once per module;
			// none when any of its runs failed or it did not run.
			if failed[t.Name] || t.Skipped != "" || done[k] {
				continue
			}
			done[k] = true
			runs = append(runs, sarifio.ToolRun{Stage: s.Name, Tool: t.Name, Version: t.Version, Findings: byTool[key{s.Name, t.Name}]})
		}
	}
	return sarifio.Marshal(runs)
}

// Markdown is the human summary: a table of stages, what blocked and why,
// and the most severe findings.
func (r *Report) Markdown() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# dagsec: %s\n\n", strings.ToUpper(string(r.Status)))
	fmt.Fprintf(&b, "Exit code %d · policy `%s` · runner %s · %s\n\n", r.ExitCode, mdCode(r.Policy), r.Runner, (time.Duration(r.DurationMS) * time.Millisecond).String())
	b.WriteString("| Stage | Status | Critical | High | Medium | Low | Info | Reason |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range r.Stages {
		c := s.Counts
		fmt.Fprintf(&b, "| %s | %s %s | %d | %d | %d | %d | %d | %s |\n", s.Name, statusIcon(s.Status), s.Status,
			c["critical"], c["high"], c["medium"], c["low"], c["info"], mdCell(s.Reason))
	}
	var stops []StageReport
	for _, s := range r.Stages {
		if s.Status == policies.StatusBlocked || s.Status == policies.StatusError {
			stops = append(stops, s)
		}
	}
	if len(stops) > 0 {
		b.WriteString("\n## What blocked\n\n")
		for _, s := range stops {
			fmt.Fprintf(&b, "- **%s** (%s): %s\n", s.Name, s.Status, mdCell(s.Reason))
			for _, e := range s.Errors {
				fmt.Fprintf(&b, "  - %s\n", mdCell(e))
			}
		}
	}
	if len(r.Findings) > 0 {
		const top = 20
		fmt.Fprintf(&b, "\n## Top findings (%d of %d)\n\n", min(top, len(r.Findings)), len(r.Findings))
		b.WriteString("| Severity | Stage | Tool | Rule | Location | Message |\n|---|---|---|---|---|---|\n")
		for _, f := range r.Findings[:min(top, len(r.Findings))] {
			loc := f.Location.Path
			if f.Location.Line > 0 {
				loc = fmt.Sprintf("%s:%d", loc, f.Location.Line)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | `%s` | %s |\n", f.Severity, f.Stage, f.Tool, mdCode(f.RuleID), mdCode(loc), mdCell(f.Message))
		}
	}
	b.WriteString("\n<details><summary>Tools</summary>\n\n| Stage | Tool | Version | Runner | Exit | Time | Notes |\n|---|---|---|---|---:|---:|---|\n")
	for _, s := range r.Stages {
		for _, t := range s.Tools {
			note := t.Skipped
			if note != "" {
				note = "not run: " + note
			}
			if t.Database != "" {
				note = "database " + t.Database
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %dms | %s |\n", s.Name, t.Name, mdCell(t.Version), t.Runner, t.ExitCode, t.DurationMS, mdCell(note))
		}
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

func statusIcon(s policies.Status) string {
	switch s {
	case policies.StatusPassed:
		return "✅"
	case policies.StatusWarned:
		return "⚠️"
	case policies.StatusBlocked:
		return "⛔"
	case policies.StatusError:
		return "❌"
	}
	return "⏭️"
}

// mdCell makes text safe inside a table cell: one line, no pipe breaking the row.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;").Replace(s)
}

func mdCode(s string) string { return strings.ReplaceAll(mdCell(s), "`", "'") }
