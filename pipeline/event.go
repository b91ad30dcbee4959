package pipeline

import (
	"context"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// EventKind says what an Event reports.
type EventKind int

const (
	// ToolStarted: a tool of a stage began to run.
	ToolStarted EventKind = iota + 1
	// ToolFinished: it ended, with findings or an error.
	ToolFinished
)

// Event is a moment of a run, for Config.Progress: which tool of which
// stage started or finished, on what.
type Event struct {
	Kind  EventKind
	Stage string
	Tool  string
	// Target is what the tool scans when it is not the whole source: a
	// folder of the source (a Go module) or the URL DAST scans.
	Target string
	Time   time.Time
	// ToolFinished only: how long the tool ran, how many findings it
	// reported, and Error, why it failed ("" when it ran to the end).
	Duration time.Duration
	Findings int
	Error    string
}

// emit calls cfg.Progress, if any.
func (cfg Config) emit(e Event) {
	if cfg.Progress != nil {
		e.Time = time.Now()
		cfg.Progress(e)
	}
}

// planTarget is what a plan scans: the URL of a DAST step, the folder of a
// step that runs in one, "" for the whole source.
func planTarget(p stages.Plan, opts stages.Options) string {
	if p.Step.NeedsTarget {
		return opts.Target
	}
	if p.Target != "" {
		if p.Target == "." {
			return "" // the root module: the source itself
		}
		return p.Target
	}
	dir, ok := strings.CutPrefix(p.Step.Workdir, stages.SourceDir+"/")
	if !ok {
		return ""
	}
	return dir
}

// runToolReporting is runTool between a ToolStarted and a ToolFinished
// event.
func runToolReporting(ctx context.Context, cfg Config, stage string, opts stages.Options, p stages.Plan) (ToolReport, []findings.Finding, map[string][]byte, error) {
	if p.Skipped != "" {
		return runTool(ctx, cfg.Runner, p) // it only records why it did not run
	}
	e := Event{Stage: stage, Tool: p.ToolName(), Target: planTarget(p, opts)}
	start := time.Now()
	e.Kind = ToolStarted
	cfg.emit(e)
	tr, fs, arts, err := runTool(ctx, sharingRunner{cfg.Runner, cfg.shared}, p)
	tr.LockedImage = cfg.lockedImage(p.Step.Tool)
	e.Kind, e.Duration, e.Findings = ToolFinished, time.Since(start), len(fs)
	if err != nil {
		e.Error = err.Error()
	}
	cfg.emit(e)
	return tr, fs, arts, err
}
