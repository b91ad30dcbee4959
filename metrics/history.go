package metrics

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/stages"
)

// HistoryMetrics are the numbers of a series of saved runs, each target
// judged. Times are measured up to AsOf, the start of the latest run, so
// the same reports always give the same numbers.
//
// Runs of different branches are read as follows:
//   - remediation (Critical, High), open criticals, dependency manifests and
//     the base image follow the production branch: the runs that record it,
//     and the runs that record no branch (taken as the production
//     branch's). A feature branch's findings are not the product's, and
//     their absence on another branch fixes nothing;
//   - secret leaks and scan coverage count every run: a secret pushed to any
//     branch has leaked, and every run should scan.
type HistoryMetrics struct {
	// Runs is how many reports the history holds, ProductionRuns how many
	// of them follow the production branch (see above).
	Runs             int       `json:"runs"`
	ProductionRuns   int       `json:"production_runs"`
	ProductionBranch string    `json:"production_branch"`
	From             time.Time `json:"from"`
	AsOf             time.Time `json:"as_of"`

	// Critical and High are time to remediate for findings whose highest
	// severity was critical and high.
	Critical Remediation `json:"critical"`
	High     Remediation `json:"high"`

	OpenCritical OpenCritical `json:"open_critical"`

	// SecretLeaks lists the leak incidents per calendar quarter (UTC), from
	// the first run's quarter to AsOf's, which is Quarter.
	SecretLeaks            []QuarterLeaks `json:"secret_leaks"`
	Quarter                string         `json:"quarter"`
	SecretLeaksThisQuarter int            `json:"secret_leaks_this_quarter"`

	Scanned   ScanCoverage `json:"scanned"`
	Manifests Manifests    `json:"manifests"`
	BaseImage BaseImageAge `json:"base_image"`

	// Targets are judged in a fixed order; TargetsMet is false when any was
	// missed (a target without data is not missed).
	Targets    []TargetResult `json:"targets"`
	TargetsMet bool           `json:"targets_met"`
}

// Remediation is how fast findings of one severity were fixed.
//
// A finding is tracked by fingerprint. It is open from the first run that
// reports it and remediated at the first later run that no longer reports it
// and could have: the run scanned the finding's stage (passed, warned or
// blocked) and ran the tool that reported it without error. A run that did
// not run the stage or the tool, or whose tool failed, says nothing. Time to
// remediate is the remediating run's start minus the first sighting's. A
// finding that comes back after being remediated is a new occurrence with a
// clock of its own.
//
// Its severity is the highest it had while open, so lowering a severity
// does not move a finding out of the critical bucket.
//
// Suppression is not remediation: a suppressed finding still reported is
// open and its clock runs; it is left out of MTTR (which counts remediated
// findings only) and of the open findings that miss the target
// (OpenSuppressed counts it apart). A suppressed finding that later goes
// away is remediated like any other.
type Remediation struct {
	Severity   string `json:"severity"`
	Remediated int    `json:"remediated"`
	// MTTRHours is the mean time to remediate, in hours; null when nothing
	// was remediated.
	MTTRHours *float64 `json:"mttr_hours"`
	// Open counts the unsuppressed findings still open; OldestOpenHours is
	// the age of the oldest of them at AsOf.
	Open            int      `json:"open"`
	OldestOpenHours *float64 `json:"oldest_open_hours"`
	OpenSuppressed  int      `json:"open_suppressed"`

	RemediatedFindings []Occurrence `json:"remediated_findings"`
	// OpenFindings are the open findings, suppressed ones included
	// (marked), oldest first.
	OpenFindings []Occurrence `json:"open_findings"`

	mttr, oldestOpen time.Duration
}

// Occurrence is one finding from its first sighting until it went away (or
// until now).
type Occurrence struct {
	// Repo is the repository, in organisation metrics (Organisation).
	Repo        string    `json:"repo,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	Stage       string    `json:"stage"`
	Tool        string    `json:"tool"`
	RuleID      string    `json:"rule_id"`
	Path        string    `json:"path,omitempty"`
	Severity    string    `json:"severity"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	// RemediatedAt is the start of the run that showed it gone.
	RemediatedAt time.Time `json:"remediated_at,omitzero"`
	// Hours is the time to remediate, or for an open finding its age at AsOf.
	Hours float64 `json:"hours"`
	// Suppressed is set when its last sighting was suppressed.
	Suppressed bool `json:"suppressed,omitempty"`

	dur      time.Duration
	severity findings.Severity
	sources  map[[2]string]bool // stage, tool
}

// OpenCritical is the unsuppressed critical findings of the latest run on
// the production branch (or recording no branch).
type OpenCritical struct {
	// Count is null when no run follows the production branch.
	Count      *int      `json:"count"`
	Suppressed int       `json:"suppressed"`
	RunStarted time.Time `json:"run_started_at,omitzero"`
	Branch     string    `json:"branch,omitempty"`
	File       string    `json:"file,omitempty"`
	// ScannedStages are the stages that run scanned: a critical in a stage
	// it did not scan is not counted.
	ScannedStages []string `json:"scanned_stages"`
}

// QuarterLeaks counts the secret leak incidents first seen in a quarter.
//
// A leak is a secret finding (stage secrets, tool gitleaks in any stage,
// or tagged "secret", as trivy's secret findings are) that no suppression
// matched; an incident is a distinct fingerprint, dated by the first run,
// on any branch, that reported it unsuppressed. A secret reported again
// later is the same incident.
type QuarterLeaks struct {
	Quarter      string   `json:"quarter"` // YYYY-Qn
	Incidents    int      `json:"incidents"`
	Fingerprints []string `json:"fingerprints"`
}

// ScanCoverage is the share of runs in which every scanning stage scanned:
// each scanning stage of the run's report passed, warned or blocked, none
// skipped or failed (StageCoverage.Complete).
type ScanCoverage struct {
	Runs     int     `json:"runs"`
	Complete int     `json:"complete"`
	Percent  float64 `json:"percent"`
	// Incomplete lists the other runs and what they did not scan.
	Incomplete []IncompleteRun `json:"incomplete"`
}

// IncompleteRun is a run that did not scan every stage.
type IncompleteRun struct {
	StartedAt time.Time `json:"started_at"`
	File      string    `json:"file,omitempty"`
	Skipped   []string  `json:"skipped"`
	Error     []string  `json:"error"`
}

// Manifests dates the last change of the dependency manifests from the
// reports' manifests_digest (reports without one are left out): the change
// is dated at the first run whose digest differs from the run before it.
// When no change was seen, ChangeObserved is false and the days count from
// the first run with a digest: a lower bound.
type Manifests struct {
	RunsWithDigest  int       `json:"runs_with_digest"`
	Digest          string    `json:"digest,omitempty"`
	ChangedAt       time.Time `json:"changed_at,omitzero"`
	ChangeObserved  bool      `json:"change_observed"`
	DaysSinceChange *float64  `json:"days_since_change"`
}

// BaseImageAge is the age at AsOf of the base of the image the latest run
// on the production branch that built one built.
type BaseImageAge struct {
	Ref         string    `json:"ref,omitempty"`
	BaseRef     string    `json:"base_ref,omitempty"`
	BaseCreated time.Time `json:"base_created,omitzero"`
	RunStarted  time.Time `json:"run_started_at,omitzero"`
	AgeDays     *float64  `json:"age_days"`
	Note        string    `json:"note,omitempty"`
	age         time.Duration
}

// History computes the metrics of saved runs (in any order; they are
// sorted by start time) and judges them against targets. productionBranch
// is the policy's production_branch; "" takes every run as the production
// branch's.
func History(runs []SavedRun, targets Targets, productionBranch string) HistoryMetrics {
	runs = slices.Clone(runs)
	sortRuns(runs)
	productionBranch = strings.TrimPrefix(productionBranch, "refs/heads/")
	h := HistoryMetrics{
		Runs: len(runs), ProductionBranch: productionBranch,
		Critical: Remediation{Severity: "critical"}, High: Remediation{Severity: "high"},
		SecretLeaks: []QuarterLeaks{},
		Scanned:     ScanCoverage{Incomplete: []IncompleteRun{}},
	}
	if len(runs) > 0 {
		h.From, h.AsOf = runs[0].Report.StartedAt, runs[len(runs)-1].Report.StartedAt
	}
	var prod []SavedRun
	for _, r := range runs {
		if onBranch(r.Report, productionBranch) {
			prod = append(prod, r)
		}
	}
	h.ProductionRuns = len(prod)

	h.remediation(prod)
	h.openCritical(prod)
	h.leaks(runs)
	h.coverage(runs)
	h.manifests(prod)
	h.baseImage(prod)
	h.judge(targets)
	return h
}

// onBranch reports whether a run follows the production branch: it records
// that branch (refs/heads/ or not), or none.
func onBranch(rep *pipeline.Report, branch string) bool {
	b := strings.TrimPrefix(rep.Branch, "refs/heads/")
	return branch == "" || b == "" || b == branch
}

func (h *HistoryMetrics) remediation(prod []SavedRun) {
	open := map[string]*Occurrence{}
	var done []*Occurrence
	for _, r := range prod {
		rep := r.Report
		at := rep.StartedAt
		present := map[string]findings.Finding{}
		sources := map[string][][2]string{}
		for _, f := range rep.Findings {
			if f.Fingerprint == "" {
				continue // nothing to follow it by
			}
			sources[f.Fingerprint] = append(sources[f.Fingerprint], [2]string{f.Stage, f.Tool})
			if p, ok := present[f.Fingerprint]; ok {
				// The same fingerprint twice: the most severe, suppressed
				// only when both are.
				if f.Severity < p.Severity {
					f.Severity = p.Severity
				}
				if p.Suppressed == nil {
					f.Suppressed = nil
				}
			}
			present[f.Fingerprint] = f
		}
		for _, fp := range slices.Sorted(maps.Keys(present)) {
			f := present[fp]
			o := open[fp]
			if o == nil {
				o = &Occurrence{Fingerprint: fp, FirstSeen: at, sources: map[[2]string]bool{}}
				open[fp] = o
			}
			o.Stage, o.Tool, o.RuleID, o.Path = f.Stage, f.Tool, f.RuleID, f.Location.Path
			o.severity = max(o.severity, f.Severity)
			o.LastSeen, o.Suppressed = at, f.Suppressed != nil
			for _, src := range sources[fp] {
				o.sources[src] = true
			}
		}
		for _, fp := range slices.Sorted(maps.Keys(open)) {
			o := open[fp]
			if _, still := present[fp]; still || !couldReport(rep, o.sources) {
				continue
			}
			o.RemediatedAt = at
			o.dur = at.Sub(o.FirstSeen)
			done = append(done, o)
			delete(open, fp)
		}
	}
	for _, rem := range []*Remediation{&h.Critical, &h.High} {
		rem.RemediatedFindings, rem.OpenFindings = []Occurrence{}, []Occurrence{}
		var total time.Duration
		for _, o := range done {
			if o.severity.String() != rem.Severity {
				continue
			}
			o.Severity, o.Hours = rem.Severity, hours(o.dur)
			rem.RemediatedFindings = append(rem.RemediatedFindings, *o)
			total += o.dur
		}
		if n := len(rem.RemediatedFindings); n > 0 {
			rem.Remediated = n
			rem.mttr = total / time.Duration(n)
			v := hours(rem.mttr)
			rem.MTTRHours = &v
		}
		for _, fp := range slices.Sorted(maps.Keys(open)) {
			o := open[fp]
			if o.severity.String() != rem.Severity {
				continue
			}
			o.dur = h.AsOf.Sub(o.FirstSeen)
			o.Severity, o.Hours = rem.Severity, hours(o.dur)
			rem.OpenFindings = append(rem.OpenFindings, *o)
			if o.Suppressed {
				rem.OpenSuppressed++
				continue
			}
			rem.Open++
			if o.dur >= rem.oldestOpen {
				rem.oldestOpen = o.dur
				v := hours(o.dur)
				rem.OldestOpenHours = &v
			}
		}
		slices.SortStableFunc(rem.OpenFindings, func(a, b Occurrence) int { return a.FirstSeen.Compare(b.FirstSeen) })
	}
}

// couldReport reports whether a run would have reported a finding seen
// from these stage and tool pairs: each stage scanned and each tool ran in
// it without error. A stage report without tools (a hand-made report) is
// judged by its status alone.
func couldReport(rep *pipeline.Report, sources map[[2]string]bool) bool {
	for src := range sources {
		i := slices.IndexFunc(rep.Stages, func(s pipeline.StageReport) bool { return s.Name == src[0] })
		if i < 0 || !judged(rep.Stages[i].Status) {
			return false
		}
		s := rep.Stages[i]
		if len(s.Tools) == 0 {
			continue
		}
		ran := false
		for _, t := range s.Tools {
			if t.Name != src[1] || t.Skipped != "" {
				continue
			}
			if t.Error != "" {
				return false
			}
			ran = true
		}
		if !ran {
			return false
		}
	}
	return true
}

func (h *HistoryMetrics) openCritical(prod []SavedRun) {
	if len(prod) == 0 {
		return
	}
	last := prod[len(prod)-1]
	n := 0
	for _, f := range last.Report.Findings {
		if f.Severity != findings.SeverityCritical {
			continue
		}
		if f.Suppressed != nil {
			h.OpenCritical.Suppressed++
		} else {
			n++
		}
	}
	h.OpenCritical.Count = &n
	h.OpenCritical.RunStarted, h.OpenCritical.Branch, h.OpenCritical.File = last.Report.StartedAt, last.Report.Branch, last.File
	h.OpenCritical.ScannedStages = Coverage(last.Report).Scanned
}

// isSecret reports whether a finding is a leaked secret.
func isSecret(f findings.Finding) bool {
	return f.Stage == stages.Secrets || f.Tool == "gitleaks" || slices.Contains(f.Tags, "secret")
}

// Quarter names a time's calendar quarter in UTC: 2026-Q1.
func Quarter(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}

func (h *HistoryMetrics) leaks(runs []SavedRun) {
	if len(runs) == 0 {
		return
	}
	first := map[string]string{} // fingerprint: quarter
	byQuarter := map[string][]string{}
	for _, r := range runs {
		for _, f := range r.Report.Findings {
			if !isSecret(f) || f.Suppressed != nil || f.Fingerprint == "" {
				continue
			}
			if _, seen := first[f.Fingerprint]; seen {
				continue
			}
			q := Quarter(r.Report.StartedAt)
			first[f.Fingerprint] = q
			byQuarter[q] = append(byQuarter[q], f.Fingerprint)
		}
	}
	h.quarterLeaks(byQuarter)
}

// quarterLeaks sets Quarter (AsOf's), SecretLeaks (every quarter from
// From's to AsOf's, with the fingerprints first leaked in it, sorted) and
// SecretLeaksThisQuarter.
func (h *HistoryMetrics) quarterLeaks(byQuarter map[string][]string) {
	h.Quarter = Quarter(h.AsOf)
	start := h.From.UTC()
	for t := time.Date(start.Year(), (start.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC); !t.After(h.AsOf); t = t.AddDate(0, 3, 0) {
		q := Quarter(t)
		fps := slices.Sorted(slices.Values(byQuarter[q]))
		if fps == nil {
			fps = []string{}
		}
		h.SecretLeaks = append(h.SecretLeaks, QuarterLeaks{Quarter: q, Incidents: len(fps), Fingerprints: fps})
		if q == h.Quarter {
			h.SecretLeaksThisQuarter = len(fps)
		}
	}
}

func (h *HistoryMetrics) coverage(runs []SavedRun) {
	h.Scanned.Runs = len(runs)
	for _, r := range runs {
		c := Coverage(r.Report)
		if c.Complete() {
			h.Scanned.Complete++
			continue
		}
		h.Scanned.Incomplete = append(h.Scanned.Incomplete, IncompleteRun{StartedAt: r.Report.StartedAt, File: r.File, Skipped: c.Skipped, Error: c.Error})
	}
	if h.Scanned.Runs > 0 {
		h.Scanned.Percent = round2(100 * float64(h.Scanned.Complete) / float64(h.Scanned.Runs))
	}
}

func (h *HistoryMetrics) manifests(prod []SavedRun) {
	prev := ""
	for _, r := range prod {
		d := r.ManifestsDigest
		if d == "" {
			continue
		}
		h.Manifests.RunsWithDigest++
		switch {
		case prev == "":
			h.Manifests.ChangedAt = r.Report.StartedAt
		case d != prev:
			h.Manifests.ChangedAt, h.Manifests.ChangeObserved = r.Report.StartedAt, true
		}
		prev = d
	}
	if prev != "" {
		h.Manifests.Digest = prev
		v := days(h.AsOf.Sub(h.Manifests.ChangedAt))
		h.Manifests.DaysSinceChange = &v
	}
}

func (h *HistoryMetrics) baseImage(prod []SavedRun) {
	b := &h.BaseImage
	for i := len(prod) - 1; i >= 0; i-- {
		rep := prod[i].Report
		if rep.Image == nil {
			continue
		}
		b.Ref, b.BaseRef, b.BaseCreated, b.RunStarted = rep.Image.Ref, rep.Image.BaseRef, rep.Image.BaseCreated, rep.StartedAt
		if rep.Image.BaseCreated.IsZero() {
			b.Note = "the latest image's base has no known creation time (scratch, or a saved image)"
			return
		}
		b.age = max(0, h.AsOf.Sub(rep.Image.BaseCreated))
		v := days(b.age)
		b.AgeDays = &v
		return
	}
	b.Note = "no run on the production branch built an image"
}
