package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports"
)

// display is where human output goes and what it may do there: update a
// line in place and colour only on a terminal outside CI, colour only
// without NO_COLOR or --no-color (https://no-color.org).
type display struct {
	w             io.Writer
	live, color   bool
	width, height int // of the terminal; 0 when not one
}

func newDisplay(w io.Writer, noColor bool) display {
	d := display{w: w}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || inCI() || os.Getenv("TERM") == "dumb" {
		return d
	}
	d.live = true
	d.color = !noColor && os.Getenv("NO_COLOR") == ""
	if wd, ht, err := term.GetSize(int(f.Fd())); err == nil {
		d.width, d.height = wd, ht
	}
	return d
}

// inCI reports a CI system (they set CI): plain lines, no escape codes.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

const (
	colorRed     = "31"
	colorGreen   = "32"
	colorYellow  = "33"
	colorBlue    = "34"
	colorMagenta = "35"
	colorBold    = "1"
	colorDim     = "2"
)

// paint wraps s in an SGR colour when the display has colour.
func (d display) paint(code, s string) string {
	if !d.color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (d display) status(s policies.Status) string {
	switch s {
	case policies.StatusPassed:
		return d.paint(colorGreen, string(s))
	case policies.StatusWarned:
		return d.paint(colorYellow, string(s))
	case policies.StatusBlocked:
		return d.paint(colorRed, string(s))
	case policies.StatusError:
		return d.paint(colorBold+";"+colorRed, string(s))
	}
	return d.paint(colorDim, string(s))
}

func (d display) severity(s findings.Severity) string {
	switch s {
	case findings.SeverityCritical:
		return d.paint(colorBold+";"+colorMagenta, s.String())
	case findings.SeverityHigh:
		return d.paint(colorRed, s.String())
	case findings.SeverityMedium:
		return d.paint(colorYellow, s.String())
	case findings.SeverityLow:
		return d.paint(colorBlue, s.String())
	}
	return d.paint(colorDim, s.String())
}

// lineWidth is how wide a line may be: the terminal's, else 100.
func (d display) lineWidth() int {
	if d.width > 20 {
		return d.width - 1
	}
	return 100
}

// progress shows the tools of a run as they start and finish: on a live
// display one status line, redrawn in place, with each finished tool
// printed above it; elsewhere one plain line per start and finish. It is
// also the writer for other notes during the run (tool builds), which it
// keeps clear of the status line.
type progress struct {
	d     display
	quiet bool
	start time.Time

	mu      sync.Mutex
	running []pipeline.Event // ToolStarted events of the tools running
	shown   int              // the status line's width on screen; 0: none
	done    chan struct{}    // closed by stop
	ticking sync.WaitGroup
	stopped bool
}

// statusEvery is how often the status line's clocks are redrawn.
const statusEvery = 200 * time.Millisecond

func startProgress(d display, quiet bool) *progress {
	p := &progress{d: d, quiet: quiet, start: time.Now(), done: make(chan struct{})}
	if d.live && !quiet {
		p.ticking.Add(1)
		go p.tick()
	}
	return p
}

func (p *progress) tick() {
	defer p.ticking.Done()
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			if len(p.running) > 0 {
				p.drawLocked()
			}
			p.mu.Unlock()
		}
	}
}

// stop clears the status line; later events and notes are dropped. It may
// be called more than once.
func (p *progress) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	close(p.done)
	p.clearLocked()
	p.mu.Unlock()
	p.ticking.Wait()
}

// event is pipeline.Config.Progress.
func (p *progress) event(e pipeline.Event) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	switch e.Kind {
	case pipeline.ToolStarted:
		p.running = append(p.running, e)
		if !p.d.live {
			fmt.Fprintf(p.d.w, "[%s] %s started\n", p.clock(e.Time), toolName(e))
		}
	case pipeline.ToolFinished:
		for i, r := range p.running {
			if r.Stage == e.Stage && r.Tool == e.Tool && r.Target == e.Target {
				p.running = append(p.running[:i], p.running[i+1:]...)
				break
			}
		}
		p.clearLocked()
		fmt.Fprintf(p.d.w, "%s %s\n", p.finishedMark(e), p.finishedText(e))
	}
	if p.d.live {
		p.drawLocked()
	}
}

func (p *progress) finishedMark(e pipeline.Event) string {
	if !p.d.live {
		return "[" + p.clock(e.Time) + "]"
	}
	if e.Error != "" {
		return p.d.paint(colorRed, "✗")
	}
	return p.d.paint(colorGreen, "✓")
}

func (p *progress) finishedText(e pipeline.Event) string {
	took := roundDuration(e.Duration)
	if e.Error != "" {
		// Why is in the stage's line at the end, once.
		return fmt.Sprintf("%s failed after %s", toolName(e), took)
	}
	return fmt.Sprintf("%s done in %s, %s", toolName(e), took, plural(e.Findings, "finding"))
}

// Write prints a note (a tool build's progress) above the status line.
func (p *progress) Write(b []byte) (int, error) {
	if p.quiet {
		return len(b), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return p.d.w.Write(b)
	}
	p.clearLocked()
	n, err := p.d.w.Write(b)
	if p.d.live && len(p.running) > 0 {
		p.drawLocked()
	}
	return n, err
}

func (p *progress) clock(t time.Time) string {
	return fmt.Sprintf("%6.1fs", t.Sub(p.start).Seconds())
}

// drawLocked redraws the status line: the run's time and each running
// tool with its own, cut to the terminal's width.
func (p *progress) drawLocked() {
	if len(p.running) == 0 {
		p.clearLocked()
		return
	}
	now := time.Now()
	parts := make([]string, len(p.running))
	for i, r := range p.running {
		parts[i] = fmt.Sprintf("%s %s", toolName(r), roundDuration(now.Sub(r.Time)))
	}
	line := cut(fmt.Sprintf("%s running: %s", roundDuration(now.Sub(p.start)), strings.Join(parts, " · ")), p.d.lineWidth())
	p.clearLocked()
	fmt.Fprint(p.d.w, p.d.paint(colorDim, line))
	p.shown = len([]rune(line))
}

// clearLocked blanks the status line with spaces, not an escape code, so
// that without colour nothing but text reaches the terminal.
func (p *progress) clearLocked() {
	if p.shown > 0 {
		fmt.Fprint(p.d.w, "\r"+strings.Repeat(" ", p.shown)+"\r")
		p.shown = 0
	}
}

// toolName is "sast: gosec", with the folder or URL it scans.
func toolName(e pipeline.Event) string {
	s := e.Stage + ": " + e.Tool
	if e.Target != "" {
		s += " (" + e.Target + ")"
	}
	return s
}

// roundDuration prints a duration to a tenth of a second, whole seconds
// from a minute on.
func roundDuration(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// cut shortens s to at most n runes, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 2 {
		return s
	}
	return string(r[:n-1]) + "…"
}

// maxBlockingListed is how many blocking findings a scan prints: with the
// stage lines and the last line, a screen of 24 lines.
const maxBlockingListed = 15

// printResults prints a finished run: a line per stage, the findings that
// blocked (most severe first, at most a screenful), and last the run's
// status, its exit code and where the summary is. Quiet prints only the
// reason of each stage in error, on errs, and the last line. Problems of
// the run that are no stage's (errs) are printed once, there.
func printResults(d display, errs io.Writer, rep *pipeline.Report, out string, code int, quiet bool) {
	if quiet {
		for _, s := range rep.Stages {
			if s.Status == policies.StatusError {
				fmt.Fprintf(errs, "dagsec: %s: %s\n", s.Name, s.Reason)
			}
		}
	} else {
		for _, s := range rep.Stages {
			line := fmt.Sprintf("%-11s %s%s", s.Name, d.status(s.Status), strings.Repeat(" ", max(1, 9-len(s.Status))))
			fmt.Fprintln(d.w, strings.TrimRight(line+s.Reason, " "))
		}
		printBlocking(d, rep, out)
		for _, e := range rep.Errors {
			if !strings.HasPrefix(e, "stage ") { // stage errors are in their line
				fmt.Fprintf(errs, "dagsec: %s\n", e)
			}
		}
	}
	verdict := d.status(rep.Status)
	if rep.Status == policies.StatusSkipped {
		verdict = d.paint(colorYellow, "nothing scanned: every stage was skipped, not passed")
	}
	fmt.Fprintf(d.w, "dagsec: %s (exit %d); summary: %s\n", verdict, code, filepath.Join(out, reports.SummaryFile))
}

// printBlocking lists the findings that blocked a gate: severity, file and
// line, rule and the message's first line, cut to the width.
func printBlocking(d display, rep *pipeline.Report, out string) {
	blocking := blockingFindings(rep)
	if len(blocking) == 0 {
		return
	}
	limit := maxBlockingListed
	if d.height > 0 {
		limit = min(limit, max(3, d.height-len(rep.Stages)-4))
	}
	fmt.Fprintf(d.w, "\n%s:\n", plural(len(blocking), "blocking finding"))
	for i, f := range blocking {
		if i == limit {
			fmt.Fprintf(d.w, "  … and %d more in %s (every finding: %s)\n", len(blocking)-limit, filepath.Join(out, reports.SummaryFile), reports.RunReportFile)
			break
		}
		loc := f.Location.Path
		if f.Location.Line > 0 {
			loc = fmt.Sprintf("%s:%d", loc, f.Location.Line)
		}
		head := fmt.Sprintf("  %s%s %s %s ", d.severity(f.Severity), strings.Repeat(" ", max(1, 9-len(f.Severity.String()))), loc, f.RuleID)
		msg := strings.Join(strings.Fields(f.Message), " ")
		// The width counts what shows, not the colour codes.
		room := d.lineWidth() - (11 + len([]rune(loc)) + len([]rune(f.RuleID)) + 1)
		fmt.Fprintln(d.w, head+cut(msg, max(room, 20)))
	}
	fmt.Fprintln(d.w)
}

// blockingFindings are the findings each blocked stage's gate blocked on,
// judged again from the report (the stage's block_on; suppressed and
// known findings never block), most severe first.
func blockingFindings(rep *pipeline.Report) []findings.Finding {
	blocked := map[string]pipeline.StageReport{}
	for _, s := range rep.Stages {
		if s.Status == policies.StatusBlocked {
			blocked[s.Name] = s
		}
	}
	var out []findings.Finding
	for i := range rep.Findings {
		if s, ok := blocked[rep.Findings[i].Stage]; ok && s.Blocks(&rep.Findings[i]) {
			out = append(out, rep.Findings[i])
		}
	}
	findings.Sort(out)
	return out
}
