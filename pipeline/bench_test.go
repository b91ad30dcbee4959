package pipeline_test

// Benchmarks of what dagsec adds around the scanners (see bench/README.md):
//
//   - BenchmarkTriage100k: everything a run does with findings after the
//     tools return (validation, fingerprints, severity overrides, dedup,
//     suppressions, each stage's gate, the run report and the merged SARIF
//     log's runs as values), on 100,000 findings from 20 tools. The
//     project's target: under 1 s and 300 MB on one core.
//   - BenchmarkEncodeSARIF100k and BenchmarkSARIFFiles100k: that SARIF log
//     as bytes (Report.SARIF; Report.SARIFFiles, what a run writes), which
//     the target does not cover.
//   - BenchmarkScheduleCodeStages*: the DAG scheduler's own cost, with fake
//     stages of known durations.
//
// Run them as bench/run does:
//
//	go test ./pipeline/ -run XXX -bench 'Triage100k|SARIF|Schedule' -benchtime 3x -cpu 1

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"runtime/metrics"
	"slices"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// benchTool is one tool of a stage in the synthetic run.
type benchTool struct{ stage, tool string }

// benchTools are 20 (stage, tool) pairs as real runs name them; pairs of one
// stage report some issues twice, which Dedup merges.
var benchTools = []benchTool{
	{stages.Secrets, "gitleaks"}, {stages.Secrets, "trivy"},
	{stages.SAST, "gosec"}, {stages.SAST, "bandit"}, {stages.SAST, "semgrep"},
	{stages.SCA, "govulncheck"}, {stages.SCA, "osv-scanner"}, {stages.SCA, "trivy"}, {stages.SCA, "grype"},
	{stages.Licenses, "syft"},
	{stages.IaC, "trivy"}, {stages.IaC, "checkov"}, {stages.IaC, "tfsec"},
	{stages.Dockerfile, "hadolint"}, {stages.Dockerfile, "trivy"}, {stages.Dockerfile, "dagsec"},
	{stages.Image, "trivy"}, {stages.Image, "grype"},
	{stages.DAST, "zap"}, {stages.DAST, "wapiti"},
}

// benchFinding is finding n of tool t: a realistic shape for its stage
// (vulnerabilities name a package and advisory, secrets a line, checks a
// rule, path and line).
func benchFinding(t benchTool, n int) findings.Finding {
	sev := findings.Severities()[(n*7+len(t.tool))%5]
	dir := []string{"cmd/api", "internal/store", "pkg/auth", "web/static", "deploy/terraform", "services/billing"}[n%6]
	path := fmt.Sprintf("%s/file%03d.go", dir, n%400)
	f := findings.Finding{
		Stage: t.stage, Tool: t.tool, Severity: sev,
		// n and n+1200 share a path, never a line: a tool reports a rule on
		// a line once (see BenchmarkTriage100k on what repeats cost).
		Location: findings.Location{Path: path, Line: 1 + (n/1200)%900*7 + n%5, Column: 1 + n%40},
	}
	switch t.stage {
	case stages.SCA, stages.Image:
		pkg := fmt.Sprintf("github.com/example/mod%04d@v1.%d.%d", n%2500, n%7, n%3)
		cve := fmt.Sprintf("CVE-2024-%05d", n)
		f.RuleID = cve
		f.Message = pkg + " is affected by " + cve + ": out-of-bounds read in the parser"
		f.Tags = []string{"vulnerability", fmt.Sprintf("GHSA-%04x-%04x-%04x", n, n*3%65536, n*7%65536)}
		f.Identity = pkg + " " + cve
		f.Location = findings.Location{Path: "go.mod"}
	case stages.Secrets:
		f.RuleID = []string{"aws-access-token", "github-pat", "generic-api-key", "slack-webhook-url"}[n%4]
		f.Message = "secret of type " + f.RuleID + " found (redacted)"
		f.Tags = []string{"secret"}
		f.Identity = fmt.Sprintf("REDACTED-%d", n)
		f.Severity = findings.SeverityHigh
	case stages.Licenses:
		f.RuleID = []string{"license-denied", "license-unknown"}[n%2]
		f.Message = fmt.Sprintf("github.com/example/lib%05d@v0.%d.0 is under GPL-3.0-only", n, n%9)
		f.Identity = f.Message
		f.Location = findings.Location{Path: "go.mod"}
	default:
		f.RuleID = fmt.Sprintf("%s-RULE-%03d", t.tool, n%150)
		f.RuleName = "rule " + f.RuleID
		f.Message = fmt.Sprintf("%s: issue %d in %s, consider fixing the flagged construct", f.RuleID, n, path)
		f.HelpURI = "https://example.com/rules/" + f.RuleID
		f.Tags = []string{"security", fmt.Sprintf("CWE-%d", 20+n%300)}
	}
	return f
}

// benchFindings builds about total findings over benchTools, about a tenth of
// them copies of another tool's finding of the same stage (the same rule id,
// package and advisory, or location), fingerprinted the way parsers do.
func benchFindings(total int) []findings.Finding {
	per := total / len(benchTools)
	var all, prev []findings.Finding
	for ti, t := range benchTools {
		fs := make([]findings.Finding, 0, per)
		for n := range per {
			if n%10 == 9 && ti > 0 && benchTools[ti-1].stage == t.stage {
				// A copy of what the previous tool of the stage reported.
				f := prev[n]
				f.Tool, f.Fingerprint = t.tool, ""
				f.Severity = findings.Severities()[n%5]
				fs = append(fs, f)
				continue
			}
			fs = append(fs, benchFinding(t, n+ti*per))
		}
		findings.AssignFingerprints(fs)
		all = append(all, fs...)
		prev = fs
	}
	return all
}

// benchSuppressions are a few suppressions of each kind of matcher.
func benchSuppressions(fs []findings.Finding) []policies.Suppression {
	exp := time.Now().AddDate(0, 6, 0)
	sup := func(s policies.Suppression) policies.Suppression {
		s.Justification, s.Owner, s.Expires, s.Source = "accepted risk", "team-sec", exp, "policy.yaml:12"
		return s
	}
	return []policies.Suppression{
		sup(policies.Suppression{Fingerprint: fs[123].Fingerprint}),
		sup(policies.Suppression{Fingerprint: fs[45678].Fingerprint}),
		sup(policies.Suppression{Rule: "gosec-RULE-017", Tool: "gosec", Stage: stages.SAST}),
		sup(policies.Suppression{Path: "web/static/**"}),
		sup(policies.Suppression{Package: "github.com/example/mod0042"}),
		sup(policies.Suppression{Rule: "checkov-RULE-001", Path: "deploy/**"}),
	}
}

// triageBench is the input of a run's triage: what each tool returned,
// and the policy.
type triageBench struct {
	tools [][]findings.Finding // per benchTools entry, as the parser returned it
	order []string             // stages in run order
	cfg   pipeline.Config
	now   time.Time
}

func newTriageBench(b *testing.B) *triageBench {
	raw := benchFindings(100_000)
	pol, err := policies.Preset("default")
	if err != nil {
		b.Fatal(err)
	}
	pol.Suppressions = benchSuppressions(raw)
	// Severity overrides on two stages, as a team tunes its noisiest rules;
	// the others have none, as in the presets.
	for stage, over := range map[string]map[string]findings.Severity{
		stages.SAST: {"gosec-RULE-017": findings.SeverityLow, "semgrep/semgrep-RULE-003": findings.SeverityCritical},
		stages.IaC:  {"checkov-RULE-001": findings.SeverityInfo},
	} {
		sp := pol.Stages[stage]
		sp.Severity = over
		pol.Stages[stage] = sp
	}
	tb := &triageBench{cfg: pipeline.Config{Policy: pol}, now: time.Now()}
	per := len(raw) / len(benchTools)
	for i, t := range benchTools {
		fs := slices.Clone(raw[i*per : (i+1)*per])
		// Half lose their fingerprint so the safety net (fingerprints per
		// tool for findings without one) runs.
		for j := range fs {
			if j%2 == 0 {
				fs[j].Fingerprint = ""
			}
		}
		tb.tools = append(tb.tools, fs)
		if !slices.Contains(tb.order, t.stage) {
			tb.order = append(tb.order, t.stage)
		}
	}
	return tb
}

// run is what Run does from the tools' findings to the finished report,
// stage by stage as runStage does it (the stages one after the other, as on
// one core): validation, triage (fingerprints, severity overrides, Dedup,
// suppressions), the gate, the stage's counts; then the run's suppression
// report and the merged, sorted findings.
func (tb *triageBench) run(b *testing.B) *pipeline.Report {
	rep := &pipeline.Report{SchemaVersion: pipeline.SchemaVersion, Dagsec: pipeline.Version, Runner: "host",
		Policy: tb.cfg.Policy.Name, StartedAt: tb.now, Errors: []string{}}
	var rec [][]findings.Finding
	for _, stage := range tb.order {
		sp := tb.cfg.Policy.Stage(stage)
		sr := pipeline.StageReport{Name: stage}
		n := 0
		for i, t := range benchTools {
			if t.stage == stage {
				n += len(tb.tools[i])
			}
		}
		all := make([]findings.Finding, 0, n)
		for i, t := range benchTools {
			if t.stage != stage {
				continue
			}
			if err := pipeline.Validate(tb.tools[i]); err != nil {
				b.Fatal(err)
			}
			sr.Tools = append(sr.Tools, pipeline.ToolReport{Name: t.tool, Version: "1.0.0", Runner: "host", Findings: len(tb.tools[i])})
			all = append(all, tb.tools[i]...)
		}
		all = pipeline.Triage(tb.cfg, sp, all, tb.now)
		v := policies.Evaluate(stage, sp, all, nil)
		sr.Status, sr.Reason = v.Status, v.Reason
		sr.Counts = findings.CountBySeverity(all)
		sr.Findings = len(all)
		sr.New, sr.Known, sr.Suppressed = pipeline.TriageCounts(all)
		sr.Blocking = len(v.Blocking)
		sr.BlockOn = sp.BlockOn.String()
		sr.WarnOnly = sp.WarnOnly
		rep.Stages = append(rep.Stages, sr)
		rec = append(rec, all)
	}
	fs := slices.Concat(rec...)
	rep.Suppressions = pipeline.RunSuppressionReport(tb.cfg, fs, tb.now)
	rep.Finish(fs)
	return rep
}

// triageStats is what the benchmarks report of a run.
type triageStats struct{ kept, merged, suppressed int }

// check fails the benchmark when the input did not exercise dedup and
// suppressions, and returns what to report of the run.
func (tb *triageBench) check(b *testing.B, rep *pipeline.Report) triageStats {
	st := triageStats{kept: len(rep.Findings)}
	for _, f := range rep.Findings {
		st.merged += len(f.AlsoFoundBy)
		if f.Suppressed != nil {
			st.suppressed++
		}
	}
	if st.merged == 0 || st.suppressed == 0 {
		b.Fatalf("dedup merged %d copies and suppressions matched %d findings: the input is not realistic", st.merged, st.suppressed)
	}
	return st
}

// memory measures a benchmark's allocation (runtime TotalAlloc, all of it,
// not only what the timer covers) and samples its peak heap in use (heap
// objects, live or not yet swept, and the free space in their spans; on
// one core the sampler runs about every 10 ms, when the scheduler preempts
// the benchmark).
type memory struct {
	before uint64
	// input is the heap in use when the benchmark starts: its input, which
	// a run holds anyway (the tools' findings).
	input uint64
	done  chan struct{}
	peak  chan uint64
}

func startMemory() *memory {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &memory{before: ms.TotalAlloc, input: ms.HeapAlloc, done: make(chan struct{}), peak: make(chan uint64)}
	go func() {
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		var peak uint64
		read := func() {
			metrics.Read(samples)
			peak = max(peak, samples[0].Value.Uint64()+samples[1].Value.Uint64())
		}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				read()
			case <-m.done:
				read()
				m.peak <- peak
				return
			}
		}
	}()
	return m
}

// report adds MB/op (allocated per op), peak-heap-MB and input-heap-MB
// (peak-heap-MB less it is what the work itself needs).
func (m *memory) report(b *testing.B) {
	close(m.done)
	peak := <-m.peak
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.TotalAlloc-m.before)/float64(b.N)/1e6, "MB/op")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(m.input)/1e6, "input-heap-MB")
}

// BenchmarkTriage100k is the target's "normalising, deduplicating, gating
// and merging 100,000 findings from 20 tools": per op, what Run does from the
// tools' findings to the run report (triageBench.run), and the merged SARIF
// log's runs built as values, one at a time as SARIF and SARIFFiles build
// them before encoding each (Report.sarifRuns). Encoding is
// BenchmarkEncodeSARIF100k's.
func BenchmarkTriage100k(b *testing.B) {
	tb := newTriageBench(b)
	var st triageStats
	b.ReportAllocs()
	mem := startMemory()
	for b.Loop() {
		// Nothing of an op outlives it: a run's report and runs are not
		// live (marked by every GC) during the next op.
		rep := tb.run(b)
		st = tb.check(b, rep)
		runs, results := 0, 0
		for run, err := range rep.SARIFRuns() {
			if err != nil {
				b.Fatal(err)
			}
			runs++
			results += len(run.Results)
		}
		if runs != len(benchTools) || results != st.kept {
			b.Fatalf("SARIF log of %d runs, %d results; want %d, %d", runs, results, len(benchTools), st.kept)
		}
	}
	mem.report(b)
	// Every op started from the same input: no step changed the tools'
	// findings (benchFindings is deterministic).
	if !reflect.DeepEqual(newTriageBench(b).tools, tb.tools) {
		b.Fatal("the tools' findings were changed")
	}
	b.ReportMetric(float64(st.kept), "findings-kept")
	b.ReportMetric(float64(st.merged), "copies-merged")
	b.ReportMetric(float64(st.suppressed), "suppressed")
}

// BenchmarkEncodeSARIF100k is Report.SARIF on BenchmarkTriage100k's report
// (made once, outside the timer): the runs built and encoded one at a time
// into one log.
func BenchmarkEncodeSARIF100k(b *testing.B) {
	tb := newTriageBench(b)
	rep := tb.run(b)
	tb.check(b, rep)
	size := 0
	b.ReportAllocs()
	mem := startMemory()
	for b.Loop() {
		out, err := rep.SARIF()
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	mem.report(b)
	b.ReportMetric(float64(size)/1e6, "sarif-MB")
}

// BenchmarkSARIFFiles100k is what a run writes of that report as SARIF
// (reports.Files): Report.SARIFFiles builds the log, splits it within
// GitHub's limits, encodes each file and measures it gzip-compressed.
func BenchmarkSARIFFiles100k(b *testing.B) {
	tb := newTriageBench(b)
	rep := tb.run(b)
	tb.check(b, rep)
	files, size := 0, 0
	b.ReportAllocs()
	mem := startMemory()
	for b.Loop() {
		out, err := rep.SARIFFiles()
		if err != nil {
			b.Fatal(err)
		}
		files, size = len(out), 0
		for _, f := range out {
			size += len(f)
		}
	}
	mem.report(b)
	b.ReportMetric(float64(files), "files")
	b.ReportMetric(float64(size)/1e6, "sarif-MB")
}

// sleepNode is a fake stage that takes d and passes, recording when it ran.
func sleepNode(name string, d time.Duration, needs ...string) pipeline.Node {
	return pipeline.Node{Name: name, Needs: needs, Run: func(ctx context.Context) pipeline.NodeResult {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return pipeline.NodeResult{Status: policies.StatusError, Reason: ctx.Err().Error()}
		}
		return pipeline.NodeResult{Status: policies.StatusPassed}
	}}
}

// codeStageDurations are six code stages, 20 to 120 ms, as in a real run
// where the slowest stage (sca) dominates.
var codeStageDurations = []time.Duration{
	20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond,
	80 * time.Millisecond, 100 * time.Millisecond, 120 * time.Millisecond,
}

var codeStageNames = []string{stages.Secrets, stages.SAST, stages.SCA, stages.Licenses, stages.IaC, stages.Dockerfile}

func benchSchedule(b *testing.B, nodes func() []pipeline.Node, wantMS, sumMS float64) {
	slowest := float64(slices.Max(codeStageDurations).Milliseconds())
	b.Helper()
	var wall time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, err := pipeline.Schedule(context.Background(), nodes(), 0)
		took := time.Since(start)
		wall += took
		if took < time.Duration(wantMS)*time.Millisecond {
			b.Fatalf("took %v, less than the critical path %v ms: a need was not respected", took, wantMS)
		}
		if err != nil {
			b.Fatal(err)
		}
		for name, r := range res {
			if r.Status != policies.StatusPassed {
				b.Fatalf("%s: %s %s", name, r.Status, r.Reason)
			}
		}
	}
	b.StopTimer()
	wallMS := float64(wall.Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(wallMS, "wall-ms")
	b.ReportMetric(slowest, "slowest-ms")
	b.ReportMetric(wantMS, "critical-path-ms")
	b.ReportMetric(sumMS, "sum-ms")
	b.ReportMetric(wallMS-wantMS, "overhead-ms")
}

// BenchmarkScheduleCodeStages: six independent stages run in parallel, so a
// run takes as long as the slowest (120 ms), not the sum (420 ms).
func BenchmarkScheduleCodeStages(b *testing.B) {
	benchSchedule(b, func() []pipeline.Node {
		var nodes []pipeline.Node
		for i, name := range codeStageNames {
			nodes = append(nodes, sleepNode(name, codeStageDurations[i]))
		}
		return nodes
	}, 120, 420)
}

// BenchmarkScheduleChain: the same six durations where each stage needs the
// one before it, so the run is their sum (420 ms); a wall time below that
// would mean a need was not respected, which is checked here too.
func BenchmarkScheduleChain(b *testing.B) {
	benchSchedule(b, func() []pipeline.Node {
		var nodes []pipeline.Node
		for i, name := range codeStageNames {
			var needs []string
			if i > 0 {
				needs = []string{codeStageNames[i-1]}
			}
			nodes = append(nodes, sleepNode(name, codeStageDurations[i], needs...))
		}
		return nodes
	}, 420, 420)
}

// BenchmarkScheduleDiamond: secrets (20 ms) and sast (40 ms) first, then
// sca (60 ms) needing both, licenses (80 ms) needing sca, and iac (100 ms)
// and dockerfile (120 ms) needing secrets only: the critical path is
// sast, sca, licenses = 180 ms.
func BenchmarkScheduleDiamond(b *testing.B) {
	benchSchedule(b, func() []pipeline.Node {
		d := codeStageDurations
		return []pipeline.Node{
			sleepNode(stages.Secrets, d[0]),
			sleepNode(stages.SAST, d[1]),
			sleepNode(stages.SCA, d[2], stages.Secrets, stages.SAST),
			sleepNode(stages.Licenses, d[3], stages.SCA),
			sleepNode(stages.IaC, d[4], stages.Secrets),
			sleepNode(stages.Dockerfile, d[5], stages.Secrets),
		}
	}, 180, 420)
}
