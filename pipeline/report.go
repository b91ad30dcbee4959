package pipeline

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/readfile"
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
	// Branch is the branch built, when known (production's gate).
	Branch string `json:"branch,omitempty"`
	// Concurrency is how many tool runs, and Go analysers among them, the
	// run let go at once.
	Concurrency *Limits `json:"concurrency,omitempty"`
	// ManifestsDigest hashes the source's dependency manifests, so metrics
	// over saved runs can tell when dependencies last changed.
	ManifestsDigest string `json:"manifests_digest,omitempty"`
	// Image is the image the build stage built or checked, if any.
	Image *ImageInfo `json:"image,omitempty"`
	// ImagesLock is the images.lock the run used, if any.
	ImagesLock *ImagesLock `json:"images_lock,omitempty"`
	// Baseline names the baseline the findings were compared with
	// (Config.Baseline): each finding's Baseline is then "new" or "known".
	Baseline string `json:"baseline,omitempty"`
	// Suppressions says what the policy's suppressions did over the whole
	// run: which were active, which expired, which matched no finding of
	// any stage (stale; in a run of some stages, the suppressions meant for
	// the others are stale too). Absent when the policy has none.
	Suppressions *policies.SuppressionReport `json:"suppressions,omitempty"`
	// Rules explain the findings' rules, once per tool and rule id
	// (findings.Finding.Rule): JSON writes them from the findings, and
	// ReadReport gives each finding its rule back.
	Rules []RuleEntry `json:"rules,omitempty"`
	// Artifacts are files tools produced besides findings (SBOMs), by
	// file name; writers put them next to the report.
	Artifacts map[string][]byte `json:"-"`
}

// RuleEntry is one rule of the run report's "rules".
type RuleEntry struct {
	Tool string `json:"tool"`
	ID   string `json:"id"`
	findings.Rule
}

type ruleKey struct{ tool, id string }

// ruleEntries lists the rules of fs once per tool and rule id, in
// findings order; findings without a Rule add nothing.
func ruleEntries(fs []findings.Finding) []RuleEntry {
	var out []RuleEntry
	seen := map[ruleKey]bool{}
	for i := range fs {
		f := &fs[i]
		k := ruleKey{f.Tool, f.RuleID}
		if f.Rule == nil || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, RuleEntry{Tool: f.Tool, ID: f.RuleID, Rule: *f.Rule})
	}
	return out
}

// attachRules gives every finding the rule r.Rules holds for its tool
// and rule id; an entry without a tool, id or description is an error.
func (r *Report) attachRules() error {
	byKey := make(map[ruleKey]*findings.Rule, len(r.Rules))
	for i := range r.Rules {
		e := &r.Rules[i]
		if e.Tool == "" || e.ID == "" || e.Description == "" {
			return fmt.Errorf("run report rule %d: tool, id and description are required", i)
		}
		byKey[ruleKey{e.Tool, e.ID}] = &e.Rule
	}
	for i := range r.Findings {
		if rule, ok := byKey[ruleKey{r.Findings[i].Tool, r.Findings[i].RuleID}]; ok {
			r.Findings[i].Rule = rule
		}
	}
	return nil
}

// ImageInfo describes the built image for reports and metrics.
type ImageInfo struct {
	Ref     string `json:"ref"`
	BaseRef string `json:"base_ref,omitempty"`
	// BaseCreated is the base image's build time from its config; zero
	// when unknown (a saved tarball, scratch).
	BaseCreated time.Time `json:"base_created,omitzero"`
}

// StageReport is one stage's verdict.
type StageReport struct {
	Name     string          `json:"name"`
	Status   policies.Status `json:"status"`
	Reason   string          `json:"reason,omitempty"`
	Needs    []string        `json:"needs,omitempty"`
	BlockOn  string          `json:"block_on,omitempty"`
	WarnOnly bool            `json:"warn_only,omitempty"`
	Findings int             `json:"findings"`
	Blocking int             `json:"blocking"`
	Counts   findings.Counts `json:"counts,omitempty"`
	// New and Known count the stage's findings by baseline state (only
	// with a baseline); Suppressed those a policy suppression matched. All
	// are among Findings, which counts each issue once however many tools
	// reported it (findings.Dedup).
	New        int          `json:"new,omitempty"`
	Known      int          `json:"known,omitempty"`
	Suppressed int          `json:"suppressed,omitempty"`
	Tools      []ToolReport `json:"tools,omitempty"`
	// Coverage accounts for what a code stage's detection found to scan.
	Coverage   *Coverage `json:"coverage,omitempty"`
	Errors     []string  `json:"errors,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	DurationMS int64     `json:"duration_ms"`

	// Score is the api stage's 0–100 score of its OpenAPI definitions
	// (stages.APIScore); absent when no definition was audited.
	Score *int `json:"score,omitempty"`
	// MinScore is the score the api stage's gate requires (policy
	// min_score).
	MinScore int `json:"min_score,omitempty"`

	// TopSeverity is the highest severity the stage's tools that ran can
	// give, the policy's overrides included; "" when unknown. A BlockOn
	// above it is a gate these tools cannot reach (Markdown says so).
	TopSeverity string `json:"top_severity,omitempty"`
}

// Blocks says whether f counts toward the stage's gate at its block_on,
// as policies.Evaluate judged it (an unset or invalid block_on is info,
// the strictest).
func (s StageReport) Blocks(f *findings.Finding) bool {
	threshold, err := findings.ParseSeverity(s.BlockOn)
	if err != nil {
		threshold = findings.SeverityInfo
	}
	return policies.BlocksAt(f, threshold)
}

// ToolReport is one tool run inside a stage.
type ToolReport struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Target is what the run covered: a Go module's folder when the tool
	// runs once per module, else "." (the source).
	Target string `json:"target"`
	// Image is the image the tool ran from, as the runner ran it (a mirror
	// where one replaced the pin); empty where no image ran (the host).
	Image string `json:"image,omitempty"`
	// LockedImage is the tool's image by digest (IMAGE@DIGEST) from the
	// images.lock the run used, on either runner.
	LockedImage string `json:"locked_image,omitempty"`
	Runner      string `json:"runner"`
	ExitCode    int    `json:"exit_code"`
	DurationMS  int64  `json:"duration_ms"`
	// Cached says the result is an earlier run's, taken because nothing the
	// tool reads changed; CachedFrom is when that run was.
	Cached     bool      `json:"cached,omitempty"`
	CachedFrom time.Time `json:"cached_from,omitzero"`
	// Covers lists the coverage targets ("kind path") the run scanned.
	Covers []string `json:"covers,omitempty"`
	// PeakMemoryMB is the most memory the tool's processes held at once,
	// where the runner can tell (the host).
	PeakMemoryMB float64 `json:"peak_memory_mb,omitempty"`
	Findings     int     `json:"findings"`
	Error        string  `json:"error,omitempty"`
	// ErrorAllowed names the policy setting that let Error pass the gate
	// (per_tool.<tool>.on_error: warn); "" when the error blocks.
	ErrorAllowed string `json:"error_allowed,omitempty"`
	// Skipped says why a tool of the stage did not run (no files in its
	// language, or not available to this runner).
	Skipped string `json:"skipped,omitempty"`
	// Network is what network the tool had where the runner decides it:
	// "none", or why a tool that needs none still had the host's.
	Network string `json:"network,omitempty"`
	// Database is the vulnerability database the tool used, as it said.
	Database string `json:"database,omitempty"`
	// Config lists the configuration files of the source the tool ran
	// with (the repository's bandit.yaml, .trivyignore, or the policy's
	// per_tool config).
	Config []string `json:"config,omitempty"`
	// Note says how the tool ran where that changes what its findings
	// mean (trufflehog: "verification did not run (offline): …").
	Note      string   `json:"note,omitempty"`
	Artifacts []string `json:"artifacts,omitempty"`
}

func newReport(cfg Config) *Report {
	base := ""
	if cfg.Baseline != nil {
		base = cfg.Baseline.Name()
	}
	return &Report{
		Baseline:      base,
		SchemaVersion: SchemaVersion,
		Dagsec:        Version,
		Runner:        cfg.Runner.Kind(),
		Source:        cfg.Source,
		Policy:        cfg.Policy.Name,
		Branch:        cfg.Delivery.Branch,
		ImagesLock:    cfg.ImagesLock,
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

// MaxReportSize caps a saved run report read back (ReadReportFile); a
// report of 100,000 findings is about 60 MB.
const MaxReportSize = 256 << 20

// ReadReportFile reads and checks a saved run report; errors name path.
func ReadReportFile(path string) (*Report, error) {
	data, err := readfile.Read(path, MaxReportSize)
	if err != nil {
		return nil, err
	}
	r, err := ReadReport(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
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
	if r.SchemaVersion == "" && isSARIF(data) {
		return nil, fmt.Errorf("this is a SARIF log, not a dagsec run report: give the report.json next to it (or the report folder)")
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

// isSARIF reports a JSON object with SARIF's version and runs.
func isSARIF(data []byte) bool {
	var probe struct {
		Version string          `json:"version"`
		Runs    json.RawMessage `json:"runs"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.Runs != nil && strings.HasPrefix(probe.Version, "2.")
}

// UnmarshalJSON reads a run report and gives each finding its rule from
// the report's "rules".
func (r *Report) UnmarshalJSON(data []byte) error {
	type plain Report // without this method
	if err := json.Unmarshal(data, (*plain)(r)); err != nil {
		return err
	}
	return r.attachRules()
}

// JSON is the versioned run report, with the rules of its findings.
func (r *Report) JSON() ([]byte, error) {
	c := *r
	c.Rules = ruleEntries(r.Findings)
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("run report: %w", err)
	}
	return append(b, '\n'), nil
}

// SARIF is the merged SARIF 2.1.0 log: one run per tool that completed, in
// stage order. It is derived from the report alone, so a saved report.json
// gives the same SARIF. A tool that failed gets no run: an empty run would
// tell code scanning that its alerts are fixed.
//
// The log holds every run in one file; GitHub code scanning accepts at most
// 20 runs per file, so upload SARIFFiles instead.
//
// Each result carries what dagsec decided about its finding: a suppressed
// finding a suppression (kind "external", status "accepted", the
// justification; a stable guid, and a location whose message names where the
// suppression is written), a finding compared with a baseline its
// baselineState ("new", or "unchanged" for known), a finding several tools
// reported the properties "alsoFoundBy" and baseline.MergedFingerprintsKey.
func (r *Report) SARIF() ([]byte, error) {
	return sarifio.EncodeRuns(r.sarifRuns())
}

// sarifRuns builds the log's runs one at a time (sarifio.Runs of toolRuns),
// each result annotated: SARIF and SARIFFiles encode a run before the next
// is built, so a run with 100,000 findings never holds its whole log as
// objects.
func (r *Report) sarifRuns() iter.Seq2[*sarif.Run, error] {
	return func(yield func(*sarif.Run, error) bool) {
		// sarifio.Runs builds each tool run as soon as it takes it, so the
		// last one taken is the one its run came from.
		var cur sarifio.ToolRun
		trs := func(yield func(sarifio.ToolRun) bool) {
			for tr := range r.toolRuns() {
				cur = tr
				if !yield(tr) {
					return
				}
			}
		}
		for run, err := range sarifio.Runs(trs) {
			if err == nil {
				err = annotateRun(run, cur)
			}
			if !yield(run, err) || err != nil {
				return
			}
		}
	}
}

// annotateRun adds suppressions, baseline states and merged copies to the
// results sarifio built for tr: one result per finding, in order, which
// the fingerprints confirm.
func annotateRun(run *sarif.Run, tr sarifio.ToolRun) error {
	if len(run.Results) != len(tr.Findings) {
		return fmt.Errorf("sarif run %s/%s: %d results for %d findings", tr.Stage, tr.Tool, len(run.Results), len(tr.Findings))
	}
	for j, f := range tr.Findings {
		res := run.Results[j]
		if fp, _ := res.PartialFingerprints[sarifio.FingerprintKey].(string); f.Fingerprint != "" && fp != f.Fingerprint {
			return fmt.Errorf("sarif run %s/%s: result %d is not finding %s", tr.Stage, tr.Tool, j, f.Fingerprint)
		}
		annotateResult(res, f)
	}
	return nil
}

func annotateResult(res *sarif.Result, f findings.Finding) {
	if len(f.AlsoFoundBy) > 0 || len(f.MergedFingerprints) > 0 {
		// sarifio.Merge shares a properties map between results.
		res.Properties = maps.Clone(res.Properties)
		if res.Properties == nil {
			res.Properties = sarif.Properties{}
		}
	}
	if len(f.AlsoFoundBy) > 0 {
		res.Properties["alsoFoundBy"] = slices.Clone(f.AlsoFoundBy)
	}
	if len(f.MergedFingerprints) > 0 {
		res.Properties[baseline.MergedFingerprintsKey] = slices.Clone(f.MergedFingerprints)
	}
	switch f.Baseline {
	case findings.BaselineNew:
		res.WithBaselineState("new")
	case findings.BaselineKnown:
		res.WithBaselineState("unchanged")
	}
	if s := f.Suppressed; s != nil {
		// go-sarif writes every unset field of a Suppression as null, which
		// the schema rejects for guid and location: both are always set.
		where := "dagsec policy suppression"
		if s.Source != "" {
			where += " at " + s.Source
		}
		loc := sarif.NewLocation()
		loc.Message = sarif.NewTextMessage(where)
		sup := sarif.NewSuppression("external").
			WithStatus("accepted").
			WithJustifcation(s.Justification).
			WithGuid(suppressionGUID(f.Fingerprint, s.Source)).
			WithLocation(loc)
		sup.Properties = sarif.Properties{}
		for _, p := range [...]struct{ k, v string }{{"owner", s.Owner}, {"expires", s.Expires}, {"source", s.Source}} {
			if p.v != "" {
				sup.Properties[p.k] = p.v
			}
		}
		res.Suppressions = append(res.Suppressions, sup)
	}
}

// suppressionGUID is a name-based (version 5 layout) GUID of the finding
// and the suppression's source: the same suppression of the same finding
// keeps its guid from run to run.
func suppressionGUID(fingerprint, source string) string {
	sum := sha1.Sum([]byte("dagsec-suppression\x00" + fingerprint + "\x00" + source))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// SARIFFiles is the merged SARIF log split into files GitHub code scanning
// accepts (sarifio.SplitForGitHub with GitHub's limits: at most 20 runs and
// 10 MB gzip-compressed per file, runs of more than 5,000 results split into
// parts with their own automation ids). Files are named results.sarif,
// results-2.sarif, results-3.sarif, ...; within the limits there is one,
// results.sarif, identical to SARIF(). Each file is one upload: a directory of
// them given to github/codeql-action/upload-sarif is merged into a single
// upload, where the 20-run limit applies to the whole.
func (r *Report) SARIFFiles() (map[string][]byte, error) {
	env, err := sarif.New(sarif.Version210)
	if err != nil {
		return nil, err
	}
	files, err := sarifio.SplitRunsForGitHub(env, r.sarifRuns(), sarifio.GitHubLimits{})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(files))
	for i, f := range files {
		out[SARIFFileName(i+1)] = f
	}
	return out, nil
}

// SARIFFileName is the name of the n-th file of SARIFFiles (from 1):
// results.sarif, then results-2.sarif, ...
func SARIFFileName(n int) string {
	if n <= 1 {
		return "results.sarif"
	}
	return fmt.Sprintf("results-%d.sarif", n)
}

// toolRuns yields the SARIF runs: one per tool of a stage that completed,
// in stage order, each with its findings in report order. The findings are
// copied into one buffer, reused for each run: a run's Findings hold only
// until the next run is asked for (sarifio.Runs builds a run first, and
// its objects keep no pointer into them).
func (r *Report) toolRuns() iter.Seq[sarifio.ToolRun] {
	return func(yield func(sarifio.ToolRun) bool) {
		type key struct{ stage, tool, target string }
		byRun := map[key][]int32{}
		most := 0
		for i := range r.Findings {
			f := &r.Findings[i]
			k := key{f.Stage, f.Tool, sourceTarget(f.Target)}
			byRun[k] = append(byRun[k], int32(i))
			most = max(most, len(byRun[k]))
		}
		buf := make([]findings.Finding, most)
		done := map[key]bool{}
		for _, s := range r.Stages {
			failed := map[key]bool{}
			for _, t := range s.Tools {
				if t.Error != "" {
					failed[key{s.Name, t.Name, sourceTarget(t.Target)}] = true
				}
			}
			for _, t := range s.Tools {
				k := key{s.Name, t.Name, sourceTarget(t.Target)}
				// One run per tool and target of a stage (a Go module's
				// own category); none for a target whose run failed or did
				// not run, so its alerts stay open.
				// cosign signs and verifies: it finds nothing, so it has
				// no alerts to keep or close.
				if failed[k] || t.Skipped != "" || done[k] || t.Name == "cosign" {
					continue
				}
				done[k] = true
				idx := byRun[k]
				fs := buf[:len(idx):len(idx)]
				for j, i := range idx {
					fs[j] = r.Findings[i]
				}
				if !yield(sarifio.ToolRun{Stage: s.Name, Tool: t.Name, Version: t.Version, Target: k.target, Covers: t.Covers, Findings: fs}) {
					return
				}
			}
		}
	}
}

// sourceTarget is a target as SARIF categories use it: "" for the whole
// source (".", or a report written before targets were recorded).
func sourceTarget(t string) string {
	if t == "." {
		return ""
	}
	return t
}

// TopFindings is how many findings Markdown lists.
const TopFindings = 20

// Markdown is the human summary (summary.md; reports/github uses it as the
// job summary): a table of stages with their findings by severity, what
// blocked and why, the most severe findings, the tools that did not run and
// why, and per tool its version, runner and database. Text from tools and
// findings is escaped so it cannot break a table row or add formatting.
func (r *Report) Markdown() string {
	var b bytes.Buffer
	title := strings.ToUpper(mdCell(string(r.Status)))
	if r.Status == policies.StatusSkipped {
		title = "NOTHING SCANNED (every stage was skipped: this is not a pass)"
	}
	fmt.Fprintf(&b, "# dagsec: %s\n\n", title)
	fmt.Fprintf(&b, "Exit code %d · policy `%s` · runner %s · %s\n\n", r.ExitCode, mdInlineCode(r.Policy), mdCell(r.Runner), (time.Duration(r.DurationMS) * time.Millisecond).String())
	b.WriteString("| Stage | Status | Critical | High | Medium | Low | Info | Reason |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range r.Stages {
		c := s.Counts
		fmt.Fprintf(&b, "| %s | %s %s | %d | %d | %d | %d | %d | %s |\n", mdCell(s.Name), statusIcon(s.Status), mdCell(string(s.Status)),
			c["critical"], c["high"], c["medium"], c["low"], c["info"], mdCell(s.Reason))
	}
	b.WriteString(r.triageLine())
	b.WriteString(r.reachLine())
	b.WriteString(r.coverageSection())
	var stops []StageReport
	for _, s := range r.Stages {
		if s.Status == policies.StatusBlocked || s.Status == policies.StatusError {
			stops = append(stops, s)
		}
	}
	if len(stops) > 0 {
		b.WriteString("\n## What blocked and why\n\n")
		for _, s := range stops {
			fmt.Fprintf(&b, "- **%s** (%s): %s\n", mdCell(s.Name), mdCell(string(s.Status)), mdCell(s.Reason))
			for _, e := range s.Errors {
				if !strings.Contains(s.Reason, e) {
					fmt.Fprintf(&b, "  - %s\n", mdCell(e))
				}
			}
		}
	}
	if len(r.Findings) > 0 {
		// A saved report may come in any order; most severe first.
		fs := slices.Clone(r.Findings)
		findings.Sort(fs)
		fmt.Fprintf(&b, "\n## Top findings (%d of %d)\n\n", min(TopFindings, len(fs)), len(fs))
		b.WriteString("| Severity | Stage | Tool | Rule | Location | Message |\n|---|---|---|---|---|---|\n")
		for _, f := range fs[:min(TopFindings, len(fs))] {
			loc := f.Location.Path
			if f.Location.Line > 0 {
				loc = fmt.Sprintf("%s:%d", loc, f.Location.Line)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", f.Severity.String()+triageMark(f), mdCell(f.Stage), mdCell(f.Tool), mdCodeSpan(f.RuleID), mdCodeSpan(loc), mdCell(shortCell(f.Message, maxCell)))
		}
	}
	b.WriteString(r.expiredSection())
	var notRun []string
	for _, s := range r.Stages {
		for _, t := range s.Tools {
			switch {
			case t.Error != "":
				notRun = append(notRun, fmt.Sprintf("- **%s/%s**%s failed: %s\n", mdCell(s.Name), mdCell(t.Name), onTarget(t.Target), mdCell(t.Error)))
			case t.Skipped != "":
				notRun = append(notRun, fmt.Sprintf("- **%s/%s**%s not run: %s\n", mdCell(s.Name), mdCell(t.Name), onTarget(t.Target), mdCell(t.Skipped)))
			}
		}
	}
	if len(notRun) > 0 {
		b.WriteString("\n## Tools that did not run\n\n")
		for _, l := range notRun {
			b.WriteString(l)
		}
	}
	b.WriteString("\n<details><summary>Tools</summary>\n\n| Stage | Tool | Target | Version | Runner | Exit | Time | Notes |\n|---|---|---|---|---|---:|---:|---|\n")
	for _, s := range r.Stages {
		for _, t := range s.Tools {
			var notes []string
			if t.Error != "" {
				notes = append(notes, "failed: "+t.Error)
			}
			if t.Skipped != "" {
				notes = append(notes, "not run: "+t.Skipped)
			}
			if t.Database != "" {
				notes = append(notes, "database "+t.Database)
			}
			if t.Cached {
				notes = append(notes, "cached: inputs unchanged since the run of "+t.CachedFrom.Format(time.RFC3339))
			}
			if len(t.Config) > 0 {
				notes = append(notes, "config "+strings.Join(t.Config, ", "))
			}
			if t.Note != "" {
				notes = append(notes, t.Note)
			}
			target := t.Target
			if target == "" {
				target = "."
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %dms | %s |\n", mdCell(s.Name), mdCell(t.Name), mdCodeSpan(target), mdCell(t.Version), mdCell(t.Runner), t.ExitCode, t.DurationMS, mdCell(strings.Join(notes, "; ")))
		}
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

// maxCell bounds a Top findings message cell; report.json keeps it whole.
const maxCell = 300

// shortCell keeps a summary cell short: a long comma-separated list (the
// vulnerable symbols govulncheck names) keeps its first items, says how
// many more report.json has, and keeps what followed the list; other text
// is cut at a space.
func shortCell(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	parts := strings.Split(s, ", ")
	if len(parts) > 3 {
		last := parts[len(parts)-1]
		tail := ""
		if i := strings.Index(last, " ("); i >= 0 {
			tail = last[i:]
		} else if strings.HasSuffix(last, ".") {
			tail = "."
		}
		var b strings.Builder
		b.WriteString(parts[0])
		n := 1
		for ; n < len(parts)-1 && b.Len()+2+len(parts[n])+len(tail) <= limit; n++ {
			b.WriteString(", " + parts[n])
		}
		fmt.Fprintf(&b, " and %d more in report.json%s", len(parts)-n, tail)
		return b.String()
	}
	cut := strings.LastIndex(s[:limit], " ")
	if cut <= 0 {
		cut = limit
	}
	return s[:cut] + " … (whole in report.json)"
}

// coverageSection lists, per code stage, what its detection found that no
// tool scanned, and why ("" when every stage covered all of it).
func (r *Report) coverageSection() string {
	var b strings.Builder
	n := 0
	for _, s := range r.Stages {
		c := s.Coverage
		if c == nil || len(c.NotCovered) == 0 {
			continue
		}
		if n == 0 {
			b.WriteString("\n## Not scanned\n\n")
		}
		fmt.Fprintf(&b, "- **%s** scanned %d of %d:", mdCell(s.Name), c.Covered, c.Targets)
		for i, u := range c.NotCovered {
			if i == 10 {
				fmt.Fprintf(&b, " and %d more in report.json", len(c.NotCovered)-10)
				break
			}
			fmt.Fprintf(&b, " %s %s (%s);", mdCell(u.Kind), mdCodeSpan(u.Path), mdCell(u.Reason))
		}
		b.WriteString("\n")
		n++
	}
	return b.String()
}

// onTarget names a tool run's target after the tool, for a target other
// than the whole source: " (`internal/tools`)".
func onTarget(t string) string {
	if t == "" || t == "." {
		return ""
	}
	return " (`" + mdInlineCode(t) + "`)"
}

// triageLine says, under the stage table, how many findings a baseline
// found new and how many a policy suppressed; "" when neither applies, so
// summaries of runs without either read as before.
func (r *Report) triageLine() string {
	var newCount, known, suppressed int
	for _, s := range r.Stages {
		newCount += s.New
		known += s.Known
		suppressed += s.Suppressed
	}
	var parts []string
	if r.Baseline != "" {
		parts = append(parts, fmt.Sprintf("Baseline `%s`: %d new, %d known", mdInlineCode(r.Baseline), newCount, known))
	}
	if suppressed > 0 {
		parts = append(parts, fmt.Sprintf("%d suppressed by the policy", suppressed))
	}
	if sr := r.Suppressions; sr != nil {
		if n := len(sr.Expired); n > 0 {
			parts = append(parts, fmt.Sprintf("%d expired suppression(s): their findings count again", n))
		}
		if n := len(sr.Stale); n > 0 {
			parts = append(parts, fmt.Sprintf("%d stale suppression(s) matched nothing", n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "\n" + strings.Join(parts, " · ") + "\n"
}

// expiredSection names each expired suppression: what it matched, its
// owner, where it is written and the date it ran out.
func (r *Report) expiredSection() string {
	if r.Suppressions == nil || len(r.Suppressions.Expired) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Expired suppressions\n\nTheir findings count again: fix them, or renew the suppression with a new `expires`.\n\n")
	for _, u := range r.Suppressions.Expired {
		fmt.Fprintf(&b, "- %s: owner %s, expired %s", mdCell(u.Describe()), mdCell(u.Owner), u.ExpiresDate())
		if u.Source != "" {
			fmt.Fprintf(&b, " (%s)", mdCodeSpan(u.Source))
		}
		fmt.Fprintf(&b, "; matches %d finding(s)\n", u.Matched)
	}
	return b.String()
}

// reachLine says, once, which gates the tools that ran cannot reach: a
// block_on above every severity they give never blocks.
func (r *Report) reachLine() string {
	var parts []string
	for _, s := range r.unreachableGates() {
		var ran []string
		for _, t := range s.Tools {
			if t.Skipped == "" && t.Error == "" && !slices.Contains(ran, t.Name) {
				ran = append(ran, mdCell(t.Name))
			}
		}
		parts = append(parts, fmt.Sprintf("**%s** blocks on %s, but what ran there (%s) reports at most %s", mdCell(s.Name), mdCell(s.BlockOn), strings.Join(ran, ", "), mdCell(s.TopSeverity)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "\nGates the tools that ran cannot reach, so they never block here: " + strings.Join(parts, "; ") + ".\n"
}

// triageMark tags a finding in the top findings: new against a baseline,
// or suppressed.
func triageMark(f findings.Finding) string {
	switch {
	case f.Suppressed != nil:
		return " (suppressed)"
	case f.Baseline == findings.BaselineNew:
		return " (new)"
	}
	return ""
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

// mdCell makes text safe in a table cell or list item: one line (newlines
// and runs of spaces become one space), and every character Markdown would
// read as syntax escaped: backslash escapes for pipes, backticks, emphasis and
// link brackets (a backslash itself too, so "\|" cannot unescape a pipe),
// entities for HTML.
func mdCell(s string) string {
	return mdCellReplacer.Replace(strings.Join(strings.Fields(s), " "))
}

var mdCellReplacer = strings.NewReplacer(
	"\\", "\\\\", "|", "\\|", "`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]", "~", "\\~",
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
)

// mdInlineCode is text for inside a code span written by the caller: one
// line, no backtick to end the span (backslash escapes do not work there).
func mdInlineCode(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
}

// mdCodeSpan is s as a code span for a table cell, pipes escaped for the
// table (GFM unescapes them even inside code spans); empty text is no span.
func mdCodeSpan(s string) string {
	c := strings.ReplaceAll(mdInlineCode(s), "|", "\\|")
	if c == "" {
		return ""
	}
	return "`" + c + "`"
}
