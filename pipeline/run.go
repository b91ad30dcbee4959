// Package pipeline orders the stages of a run as a DAG, executes their steps
// through a Runner, lets the policy judge each stage, and writes the report.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/metrics/manifests"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// Runner executes one step against the source it was made for. An error
// means the step could not be run or collected (image or tool missing,
// timeout); a tool that ran and exited with any code is not an error here.
type Runner interface {
	stages.Probe
	Run(ctx context.Context, step stages.Step) (stages.StepResult, error)
	// Kind names the runner in reports: "host" or "dagger".
	Kind() string
}

// Forgetter is a Runner that caches results and can drop one the pipeline
// rejected (an unreadable report, findings promised but none listed).
type Forgetter interface {
	Forget(res stages.StepResult)
}

// Config is one run of the pipeline.
type Config struct {
	Runner Runner
	Policy *policies.Policy
	// Stages to run, by name; empty means every implemented stage.
	Stages []string
	// Source is how the scanned tree is named in reports.
	Source string
	// History overrides the policy: also scan git history for secrets.
	History bool
	// Parallel caps how many stages run at once (0: no cap).
	Parallel int
	// Limits bound the tool runs going at once (zero fields: the policy's
	// concurrency, else DefaultLimits).
	Limits Limits
	// slots enforce them through a run, and shared runs each shared step
	// once (Run sets both).
	slots  *slots
	shared *sharedRuns
	// VulnDB is a local vulnerability database for sca (see stages.Options);
	// Offline says tools cannot download theirs.
	VulnDB     string
	VulnDBName string
	Offline    bool
	// Delivery configures build, image, staging, dast and production.
	Delivery Delivery
	// Baseline, when set, is an earlier run's findings: every finding is
	// marked new or known (findings.Finding.Baseline) before the gate
	// judges it, and the report names the baseline.
	Baseline *baseline.Baseline
	// ImagePins are the images, by digest, an images.lock pins each tool
	// to (tool rows' locked_image), and ImagesLock the lock's report entry;
	// both nil without a lock.
	ImagePins  map[string]string
	ImagesLock *ImagesLock
	// Progress, when set, hears each tool start and finish (Event). It is
	// called from the stages' goroutines, concurrently, and must return
	// quickly.
	Progress func(Event)
}

// Run executes the selected stages and returns the run report. The error is
// for a run that could not start at all (bad config); stage failures are in
// the report, with Report.ExitCode telling the outcome.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Runner == nil || cfg.Policy == nil {
		return nil, errors.New("pipeline: runner and policy are required")
	}
	selected := stages.InOrder(cfg.Stages)
	if len(selected) == 0 {
		selected = stages.Implemented()
	}
	lim := limitsFor(cfg)
	cfg.slots, cfg.shared = newSlots(lim), &sharedRuns{}
	rep := newReport(cfg)
	rep.Concurrency = &lim
	rec := &recorder{stages: map[string]*StageReport{}, now: rep.StartedAt, probe: stages.NewRunProbe(cfg.Runner)}
	// A failure leaves the digest out; only history metrics read it.
	if d, err := manifests.Digest(ctx, cfg.Runner); err == nil {
		rep.ManifestsDigest = d
	} else {
		rep.Errors = append(rep.Errors, "dependency manifests digest: "+err.Error())
	}

	var nodes []Node
	for _, name := range selected {
		def, ok := stages.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown stage %q", name)
		}
		sr := &StageReport{Name: name, Needs: slices.Concat(def.Needs, def.After)}
		rec.stages[name] = sr
		sp := cfg.Policy.Stage(name)
		nodes = append(nodes, Node{
			Name:  name,
			Needs: def.Needs,
			After: def.After,
			Run: func(ctx context.Context) NodeResult {
				res := runNode(ctx, cfg, name, sp, sr, selected, rec)
				rec.recordStatus(name, res.Status)
				return res
			},
		})
	}
	results, err := Schedule(ctx, nodes, cfg.Parallel)
	if err != nil {
		return nil, err
	}
	for name, r := range results {
		rec.recordStatus(name, r.Status) // held back ones too
	}
	rec.finishSigning(ctx, cfg, results)
	for _, name := range selected {
		sr := rec.stages[name]
		r := results[name]
		sr.Status, sr.Reason = r.Status, r.Reason
		if !r.StartedAt.IsZero() {
			sr.StartedAt = r.StartedAt.UTC()
		}
		sr.DurationMS = r.Duration.Milliseconds()
		rep.Stages = append(rep.Stages, *sr)
	}
	rep.Artifacts = rec.artifacts
	if rec.built != nil {
		rep.Image = imageInfo(rec.built)
	}
	// One copy of every stage's findings, not one per stage appended.
	all := slices.Concat(rec.findings...)
	if len(cfg.Policy.Suppressions) > 0 {
		rep.Suppressions = runSuppressionReport(cfg, all, rec.now)
	}
	rep.finish(all)
	return rep, nil
}

// runNode judges one stage: disabled, an engine stage, or tool runs.
func runNode(ctx context.Context, cfg Config, name string, sp policies.StagePolicy, sr *StageReport, selected []string, rec *recorder) NodeResult {
	if !sp.Enabled {
		return NodeResult{Status: policies.StatusSkipped, Reason: "disabled by policy", Quiet: true}
	}
	switch name {
	case stages.Staging:
		return runStaging(ctx, cfg, sp, sr, rec)
	case stages.Production:
		return runProduction(ctx, cfg, sp, sr, selected, rec)
	}
	return runStage(ctx, cfg, name, sp, sr, rec)
}

// recorder collects what concurrent stages produce.
type recorder struct {
	mu        sync.Mutex
	stages    map[string]*StageReport
	findings  [][]findings.Finding // each stage's
	artifacts map[string][]byte
	// now is the run's start: every stage judges suppression expiry by it.
	now time.Time
	// probe is the runner's, reading what every stage's detection shares
	// once (stages.RunProbe).
	probe *stages.RunProbe

	// The built image, built once for build, image, staging and production.
	buildMu  sync.Mutex
	built    *stages.BuiltImage
	buildErr error
	// target is the staging URL DAST scans.
	target string
	// statuses are the stages' verdicts as they finish; signing is the
	// built image's signing (sign.go).
	statuses map[string]policies.Status
	signing  signing
}

func (rec *recorder) setStagingURL(u string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.target = u
}

func (rec *recorder) stagingURL() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.target
}

func runStage(ctx context.Context, cfg Config, name string, sp policies.StagePolicy, sr *StageReport, rec *recorder) NodeResult {
	history := sp.History || (cfg.History && name == stages.Secrets)
	opts := stages.Options{
		Tools: sp.Tools, Config: sp.Config, Baseline: sp.Baseline, History: history, NoVerify: sp.NoVerify, Timeout: sp.Timeout, ToolTimeouts: sp.ToolTimeouts(), ToolConfigs: sp.ToolConfigs(),
		Rulesets: sp.Rulesets, UnreachableSeverity: sp.UnreachableSeverity, Licenses: sp.Licenses,
		DBRefresh: sp.DBRefresh, VulnDB: cfg.VulnDB, VulnDBName: cfg.VulnDBName, Offline: cfg.Offline,
	}
	if res := deliveryOptions(ctx, cfg, name, sp, &opts, rec); res != nil {
		sr.Errors = appendReason(sr.Errors, res)
		return *res
	}
	plans, err := stages.PlanStage(ctx, name, opts, rec.probe)
	var targets []stages.CoverageTarget
	accounts := false
	if err == nil {
		targets, accounts, err = stages.StageTargets(ctx, name, opts, rec.probe)
	}
	if err != nil {
		v := policies.Evaluate(name, sp, nil, []error{err})
		sr.Errors = append(sr.Errors, err.Error())
		return NodeResult{Status: v.Status, Reason: v.Reason}
	}

	if accounts && len(targets) == 0 {
		// Nothing to scan is not a failure, and not a pass either: the
		// stage is skipped without holding back what comes after it.
		sr.Coverage = &Coverage{NotCovered: []UncoveredTarget{}}
		for _, p := range plans {
			tr, _, _, _ := runTool(ctx, cfg.Runner, stages.Plan{Stage: p.Stage, Tool: p.ToolName(), Target: p.Target, Skipped: nothingToScan(p)})
			sr.Tools = append(sr.Tools, tr)
		}
		return NodeResult{Status: policies.StatusSkipped, Reason: "nothing to scan: " + nothingToScanReason[name], Quiet: true}
	}
	if why := noToolRan(plans); why != "" {
		for _, p := range plans {
			tr, _, _, _ := runTool(ctx, cfg.Runner, p) // each one only records its skip
			sr.Tools = append(sr.Tools, tr)
		}
		if accounts {
			sr.Coverage = coverage(targets, plans, make([]bool, len(plans)))
		}
		return NodeResult{Status: policies.StatusSkipped, Reason: why}
	}

	type outcome struct {
		tool      ToolReport
		findings  []findings.Finding
		artifacts map[string][]byte
		err       error
	}
	outs := make([]outcome, len(plans))
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.Skipped == "" && p.Inline == nil {
				release, err := cfg.slots.acquire(ctx, p.ToolName(), p.Step.Memory())
				if err != nil {
					te := &policies.ToolError{Tool: p.ToolName(), Target: p.Target, Err: fmt.Errorf("cancelled: %w", err)}
					outs[i] = outcome{ToolReport{Name: p.ToolName(), Target: p.Target, Error: te.Error()}, nil, nil, te}
					return
				}
				defer release()
			}
			tr, fs, arts, err := runToolReporting(ctx, cfg, name, opts, p)
			outs[i] = outcome{tr, fs, arts, err}
		}()
	}
	wg.Wait()

	n := 0
	for _, o := range outs {
		n += len(o.findings)
	}
	all := make([]findings.Finding, 0, n)
	var toolErrs []error
	for _, o := range outs {
		if o.err != nil {
			o.tool.ErrorAllowed = sp.AllowedToolError(o.tool.Name)
		}
		sr.Tools = append(sr.Tools, o.tool)
		if o.err != nil {
			toolErrs = append(toolErrs, o.err)
			sr.Errors = append(sr.Errors, o.err.Error())
			continue
		}
		all = append(all, o.findings...)
		if len(o.artifacts) > 0 {
			rec.addArtifacts(o.artifacts)
		}
	}
	if accounts {
		ran := make([]bool, len(plans))
		for i, o := range outs {
			ran[i] = o.err == nil && plans[i].Skipped == ""
		}
		sr.Coverage = coverage(targets, plans, ran)
		for i := range sr.Tools {
			if ran[i] {
				sr.Tools[i].Covers = coveredPaths(plans[i].Covers(targets))
			}
		}
	}
	all = dropTargetCopies(all)
	stages.Anchor(ctx, cfg.Runner, all, cfg.Delivery.Build.DockerfilePath())
	all = triage(cfg, sp, all, rec.now)
	v := policies.Evaluate(name, sp, all, toolErrs)
	if name == stages.API {
		v, sr.Score = scoreGate(sp, all, sr.Tools, v)
		sr.MinScore = sp.MinScore
	}
	sr.Counts = findings.CountBySeverity(all)
	sr.Findings = len(all)
	sr.New, sr.Known, sr.Suppressed = triageCounts(all)
	sr.Blocking = len(v.Blocking)
	sr.BlockOn = sp.BlockOn.String()
	sr.WarnOnly = sp.WarnOnly
	sr.TopSeverity = topSeverity(name, sp, sr.Tools)

	rec.mu.Lock()
	rec.findings = append(rec.findings, all)
	rec.mu.Unlock()
	return judgeCoverage(NodeResult{Status: v.Status, Reason: v.Reason}, sr.Coverage, len(toolErrs) > 0)
}

// dropTargetCopies keeps one of the findings a tool reported identically
// (same fingerprint) from runs on several targets: in a go.work, the root
// module's govulncheck reaches a library module's call of a vulnerable
// function, which the library's own run reports too. The copy kept is the
// one whose target holds its file.
func dropTargetCopies(fs []findings.Finding) []findings.Finding {
	first := map[string]int{}
	drop := map[int]bool{}
	for i := range fs {
		fp := fs[i].Fingerprint
		if fp == "" {
			continue
		}
		j, seen := first[fp]
		switch {
		case !seen:
			first[fp] = i
		case fs[j].Target == fs[i].Target:
			// one run's own repeats are the parser's business
		case ownership(fs[i].Target, fs[i].Location.Path) > ownership(fs[j].Target, fs[j].Location.Path):
			drop[j], first[fp] = true, i
		default:
			drop[i] = true
		}
	}
	if len(drop) == 0 {
		return fs
	}
	out := fs[:0]
	for i := range fs {
		if !drop[i] {
			out = append(out, fs[i])
		}
	}
	return out
}

// ownership says how closely a target folder holds a path: -1 when it
// does not, else the folder's length ("" and "." hold everything, least
// closely), so a module's own folder beats the root's.
func ownership(target, p string) int {
	switch {
	case target == "" || target == ".":
		return 0
	case strings.HasPrefix(p, target+"/"):
		return len(target)
	}
	return -1
}

// triage readies one stage's findings for its gate, in this order:
//
//  1. the policy's severity overrides (a rule or finding raised or lowered),
//     so that dedup keeps the copy that is most severe as the policy sees it;
//  2. findings.Dedup: one finding per issue however many tools reported it;
//  3. baseline marking (Config.Baseline): new or known, by fingerprint;
//  4. the policy's suppressions, which stay in the report but no gate counts.
//
// policies.Evaluate then judges what is left: it ignores suppressed findings
// and, under a baseline, known ones. fs is the stage's own (runStage builds
// it from its tools' findings): triage changes and reorders it in place and
// returns what to keep of it.
func triage(cfg Config, sp policies.StagePolicy, fs []findings.Finding, now time.Time) []findings.Finding {
	ensureFingerprints(fs)
	fs = sp.OverrideSeverity(fs)
	fs = findings.DedupInPlace(fs)
	if cfg.Baseline != nil {
		fs = cfg.Baseline.Mark(fs)
	}
	// The stage's own suppression report is dropped: see runSuppressionReport.
	policies.Suppress(cfg.Policy.Suppressions, fs, now)
	return fs
}

// runSuppressionReport is the suppression report of the whole run. Each
// stage applied the suppressions to its own findings (triage), but a
// stage's report alone calls stale every suppression meant for another
// stage. Rather than merge those reports, the run's applies the
// suppressions once more to every stage's findings together (the same
// findings, the same now, so the same matches and expiries): a suppression
// is stale only if it matched nothing in any stage. It only counts: the
// run's findings are not changed.
func runSuppressionReport(cfg Config, fs []findings.Finding, now time.Time) *policies.SuppressionReport {
	sr := policies.SuppressionUsage(cfg.Policy.Suppressions, fs, now)
	return &sr
}

// triageCounts counts a stage's findings by baseline state and suppression.
func triageCounts(fs []findings.Finding) (newCount, known, suppressed int) {
	for _, f := range fs {
		switch f.Baseline {
		case findings.BaselineNew:
			newCount++
		case findings.BaselineKnown:
			known++
		}
		if f.Suppressed != nil {
			suppressed++
		}
	}
	return newCount, known, suppressed
}

// ensureFingerprints fingerprints what a parser left without one, per
// tool, so dedup, baselines and SARIF all see the same fingerprint.
// Every parser fingerprints its findings; this is a safety net.
func ensureFingerprints(fs []findings.Finding) {
	byTool := map[string][]int{}
	var tools []string
	for i := range fs {
		if f := &fs[i]; f.Fingerprint == "" {
			if _, ok := byTool[f.Tool]; !ok {
				tools = append(tools, f.Tool)
			}
			byTool[f.Tool] = append(byTool[f.Tool], i)
		}
	}
	for _, t := range tools {
		findings.AssignFingerprintsAt(fs, byTool[t])
	}
}

// appendReason records an engine error in the stage's errors; a skip
// needs no entry, its reason says why.
func appendReason(errs []string, res *NodeResult) []string {
	if res.Status != policies.StatusError {
		return errs
	}
	return append(errs, res.Reason)
}

// noToolRan explains a stage none of whose tools could run on this runner
// although one had something to scan: that stage is skipped, not passed.
func noToolRan(plans []stages.Plan) string {
	var missing []string
	for _, p := range plans {
		if p.Skipped == "" {
			return ""
		}
		if p.Unavailable {
			missing = append(missing, p.Tool)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "no tool available to this runner: " + strings.Join(missing, ", ") + " not installed"
}

// runTool executes one plan and reads its report, failing closed: an exit
// code the step does not declare, a missing or unreadable report, or a
// "findings" exit with no findings in the report is a tool error.
func runTool(ctx context.Context, r Runner, p stages.Plan) (ToolReport, []findings.Finding, map[string][]byte, error) {
	tr, fs, arts, err := runPlan(ctx, r, p)
	tr.Target = p.Target
	if tr.Target == "" {
		tr.Target = "."
	}
	for i := range fs {
		fs[i].Target = p.Target
	}
	return tr, fs, arts, err
}

// runPlan is runTool without the target.
func runPlan(ctx context.Context, r Runner, p stages.Plan) (ToolReport, []findings.Finding, map[string][]byte, error) {
	switch {
	case p.Skipped != "":
		return ToolReport{Name: p.Tool, Runner: r.Kind(), Skipped: p.Skipped}, nil, nil, nil
	case p.Inline != nil:
		return runInline(ctx, r, p)
	}
	tr := ToolReport{Name: p.Step.Tool, Version: p.Step.Version, Runner: r.Kind(), Config: p.Config, Note: p.Note}
	fail := func(err error) (ToolReport, []findings.Finding, map[string][]byte, error) {
		te := &policies.ToolError{Tool: p.ToolName(), Target: p.Target, Err: err}
		tr.Error = te.Error()
		return tr, nil, nil, te
	}
	if err := p.Step.Validate(); err != nil {
		return fail(err)
	}
	res, err := r.Run(ctx, p.Step)
	tr.ExitCode = res.ExitCode
	tr.DurationMS = res.Duration.Milliseconds()
	tr.Network = res.Network
	tr.Image = res.Image
	if !res.CachedAt.IsZero() {
		tr.Cached, tr.CachedFrom = true, res.CachedAt.UTC()
	}
	tr.PeakMemoryMB = math.Round(float64(res.PeakMemory)/1e5) / 10
	if res.ToolVersion != "" {
		tr.Version = res.ToolVersion
	}
	if err != nil {
		return fail(err)
	}
	if f, ok := r.(Forgetter); ok {
		// A result the pipeline cannot use is not one to replay.
		failRun := fail
		fail = func(err error) (ToolReport, []findings.Finding, map[string][]byte, error) {
			f.Forget(res)
			return failRun(err)
		}
	}
	outcome := p.Step.Classify(res.ExitCode)
	if outcome == stages.OutcomeToolError {
		msg := fmt.Sprintf("exited with code %d", res.ExitCode)
		if res.Stderr != "" {
			msg += ": " + res.Stderr
		}
		return fail(errors.New(msg))
	}
	var fs []findings.Finding
	if p.Step.Report != "" {
		if res.ReportMissing || res.Report == nil {
			return fail(fmt.Errorf("wrote no report %s (exit code %d)", p.Step.Report, res.ExitCode))
		}
		if p.ParseIn != nil {
			fs, err = p.ParseIn(res.Report, res.Workdir)
		} else {
			fs, err = p.Parse(res.Report)
		}
		if err != nil {
			return fail(fmt.Errorf("unreadable report: %w", err))
		}
		if p.Database != nil {
			tr.Database = p.Database(res.Report, res.DBInfo)
		}
	}
	for _, a := range p.Step.Artifacts {
		if _, ok := res.Artifacts[a]; !ok {
			return fail(fmt.Errorf("wrote no %s (exit code %d)", a, res.ExitCode))
		}
		tr.Artifacts = append(tr.Artifacts, a)
	}
	if err := validate(fs); err != nil {
		return fail(err)
	}
	if outcome == stages.OutcomeFindings && len(fs) == 0 {
		return fail(fmt.Errorf("exit code %d means findings, but the report lists none", res.ExitCode))
	}
	tr.Findings = len(fs)
	return tr, fs, res.Artifacts, nil
}

// runInline runs dagsec's own checks of a stage in-process.
func runInline(ctx context.Context, r Runner, p stages.Plan) (ToolReport, []findings.Finding, map[string][]byte, error) {
	tr := ToolReport{Name: p.Tool, Version: Version, Runner: r.Kind()}
	start := time.Now()
	fs, err := p.Inline(ctx, r)
	tr.DurationMS = time.Since(start).Milliseconds()
	if err == nil {
		err = validate(fs)
	}
	if err != nil {
		te := &policies.ToolError{Tool: p.ToolName(), Err: err}
		tr.Error = te.Error()
		return tr, nil, nil, te
	}
	tr.Findings = len(fs)
	return tr, fs, nil, nil
}

func validate(fs []findings.Finding) error {
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}

// ExitNothingScanned is the exit code of a run none of whose scanning
// stages scanned anything (run status skipped): not a pass, not a block.
const ExitNothingScanned = 3

// ExitCode is a run status's exit code: 0 passed or warned, 1 blocked, 2 a
// tool or input error, 3 nothing scanned.
func ExitCode(s policies.Status) int {
	switch s {
	case policies.StatusError:
		return 2
	case policies.StatusBlocked:
		return 1
	case policies.StatusSkipped:
		return ExitNothingScanned
	}
	return 0
}

// scanningStages scan something (not staging and production, which
// deploy): a run that requested some of them and in which none scanned
// anything is not a pass.
var scanningStages = append(slices.Clone(stages.CodeStages), stages.Build, stages.Image, stages.DAST)

// overall folds stage statuses: error over blocked over warned over passed;
// skipped when every scanning stage of the run was skipped (nothing to
// scan, no tool could run, disabled).
func overall(srs []StageReport) policies.Status {
	rank := map[policies.Status]int{policies.StatusError: 4, policies.StatusBlocked: 3, policies.StatusWarned: 2}
	best := policies.StatusPassed
	requested, scanned := false, false
	for _, s := range srs {
		if rank[s.Status] > rank[best] {
			best = s.Status
		}
		if slices.Contains(scanningStages, s.Name) {
			requested = true
			scanned = scanned || s.Status != policies.StatusSkipped
		}
	}
	if best == policies.StatusPassed && requested && !scanned {
		return policies.StatusSkipped
	}
	return best
}
