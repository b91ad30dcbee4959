package metrics

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// OrgMetrics are a fleet's metrics: each repository's History, and the
// organisation's, pooled from them and judged against the same targets.
//
// The organisation's numbers:
//   - MTTR: the mean over every remediated finding of every repository
//     (not a mean of the repositories' means), per severity; an open
//     finding of any repository older than the target misses it;
//   - open criticals: the sum over repositories of the unsuppressed
//     criticals of each one's latest run on the production branch;
//   - secret leaks: each repository's incidents, summed per quarter;
//   - scanned: the runs of every repository that scanned every stage,
//     over all their runs (a repository the fleet could not clone or scan
//     is a run that scanned nothing);
//   - dependency manifests and base image: the stalest repository's.
type OrgMetrics struct {
	Repositories     int       `json:"repositories"`
	Runs             int       `json:"runs"`
	ProductionBranch string    `json:"production_branch"`
	From             time.Time `json:"from"`
	AsOf             time.Time `json:"as_of"`
	// Organisation is the pooled metrics with every target judged.
	Organisation HistoryMetrics `json:"organisation"`
	// StalestManifests and OldestImage name the repositories whose numbers
	// the organisation's manifests and base image age are.
	StalestManifests string `json:"stalest_manifests,omitempty"`
	OldestImage      string `json:"oldest_image,omitempty"`
	// Repos are each repository's metrics, by name.
	Repos      []RepoMetrics `json:"repos"`
	TargetsMet bool          `json:"targets_met"`
}

// RepoMetrics is one repository's History.
type RepoMetrics struct {
	Name    string         `json:"name"`
	Metrics HistoryMetrics `json:"metrics"`
}

// Organisation computes each repository's metrics over its runs and the
// organisation's. TargetsMet is false when a target of the organisation
// or of any repository was missed.
func Organisation(byRepo map[string][]SavedRun, targets Targets, productionBranch string) OrgMetrics {
	om := OrgMetrics{Repositories: len(byRepo), Repos: []RepoMetrics{}}
	o := HistoryMetrics{
		ProductionBranch: strings.TrimPrefix(productionBranch, "refs/heads/"),
		Critical:         Remediation{Severity: "critical", RemediatedFindings: []Occurrence{}, OpenFindings: []Occurrence{}},
		High:             Remediation{Severity: "high", RemediatedFindings: []Occurrence{}, OpenFindings: []Occurrence{}},
		SecretLeaks:      []QuarterLeaks{},
		Scanned:          ScanCoverage{Incomplete: []IncompleteRun{}},
	}
	leaks := map[string][]string{} // quarter: repo:fingerprint
	var staleManifests, oldImage time.Duration = -1, -1
	for _, name := range slices.Sorted(maps.Keys(byRepo)) {
		h := History(byRepo[name], targets, productionBranch)
		om.Repos = append(om.Repos, RepoMetrics{Name: name, Metrics: h})
		if h.Runs == 0 {
			continue
		}
		o.Runs += h.Runs
		o.ProductionRuns += h.ProductionRuns
		if o.From.IsZero() || h.From.Before(o.From) {
			o.From = h.From
		}
		if h.AsOf.After(o.AsOf) {
			o.AsOf = h.AsOf
		}
		o.Critical.pool(name, h.Critical)
		o.High.pool(name, h.High)
		if c := h.OpenCritical.Count; c != nil {
			if o.OpenCritical.Count == nil {
				o.OpenCritical.Count = new(int)
			}
			*o.OpenCritical.Count += *c
			o.OpenCritical.Suppressed += h.OpenCritical.Suppressed
		}
		for _, q := range h.SecretLeaks {
			for _, fp := range q.Fingerprints {
				leaks[q.Quarter] = append(leaks[q.Quarter], name+":"+fp)
			}
		}
		o.Scanned.Runs += h.Scanned.Runs
		o.Scanned.Complete += h.Scanned.Complete
		o.Scanned.Incomplete = append(o.Scanned.Incomplete, h.Scanned.Incomplete...)
		if m := h.Manifests; m.DaysSinceChange != nil {
			if age := h.AsOf.Sub(m.ChangedAt); age > staleManifests {
				staleManifests, o.Manifests, om.StalestManifests = age, m, name
			}
		}
		if b := h.BaseImage; b.AgeDays != nil && b.age > oldImage {
			oldImage, o.BaseImage, om.OldestImage = b.age, b, name
		}
	}
	o.Critical.finishPool()
	o.High.finishPool()
	if o.Scanned.Runs > 0 {
		o.Scanned.Percent = round2(100 * float64(o.Scanned.Complete) / float64(o.Scanned.Runs))
	}
	if o.BaseImage.AgeDays == nil {
		o.BaseImage.Note = "no repository's run on the production branch built an image with a known base"
	}
	if o.From.IsZero() {
		o.Quarter = Quarter(o.AsOf) // no runs: no quarters to list
	} else {
		o.quarterLeaks(leaks)
	}
	o.judge(targets)
	o.orgNotes(om)
	om.Runs, om.ProductionBranch, om.From, om.AsOf = o.Runs, o.ProductionBranch, o.From, o.AsOf
	om.Organisation = o
	om.TargetsMet = o.TargetsMet
	for _, r := range om.Repos {
		om.TargetsMet = om.TargetsMet && r.Metrics.TargetsMet
	}
	return om
}

// pool adds a repository's findings to the organisation's.
func (rem *Remediation) pool(repo string, from Remediation) {
	for _, o := range from.RemediatedFindings {
		o.Repo = repo
		rem.RemediatedFindings = append(rem.RemediatedFindings, o)
		rem.mttr += o.dur // the sum until finishPool
	}
	for _, o := range from.OpenFindings {
		o.Repo = repo
		rem.OpenFindings = append(rem.OpenFindings, o)
	}
	rem.Open += from.Open
	rem.OpenSuppressed += from.OpenSuppressed
	if from.OldestOpenHours != nil && from.oldestOpen >= rem.oldestOpen {
		rem.oldestOpen, rem.OldestOpenHours = from.oldestOpen, from.OldestOpenHours
	}
}

// finishPool turns the pooled sum of times to remediate into their mean.
func (rem *Remediation) finishPool() {
	rem.Remediated = len(rem.RemediatedFindings)
	if rem.Remediated > 0 {
		rem.mttr /= time.Duration(rem.Remediated)
		v := hours(rem.mttr)
		rem.MTTRHours = &v
	}
	slices.SortStableFunc(rem.OpenFindings, func(a, b Occurrence) int { return a.FirstSeen.Compare(b.FirstSeen) })
}

// orgNotes rewrites the notes of the targets whose single-repository
// wording does not fit the organisation.
func (h *HistoryMetrics) orgNotes(om OrgMetrics) {
	withProd := 0
	for _, r := range om.Repos {
		if r.Metrics.OpenCritical.Count != nil {
			withProd++
		}
	}
	for i := range h.Targets {
		t := &h.Targets[i]
		switch t.Name {
		case TargetOpenCritical:
			if t.State != TargetNoData {
				t.Note = fmt.Sprintf("the latest run on the production branch of each of %d repositories", withProd)
				if h.OpenCritical.Suppressed > 0 {
					t.Note += fmt.Sprintf("; %d suppressed not counted", h.OpenCritical.Suppressed)
				}
			}
		case TargetImageAge:
			if om.OldestImage != "" {
				t.Note = "the oldest base image: " + om.OldestImage + "'s, " + t.Note
			}
		case TargetScannedPercent:
			if t.State != TargetNoData {
				t.Note += fmt.Sprintf(" across %d repositories", len(om.Repos))
			}
		}
	}
}

// Markdown is the organisation's targets, then each repository's.
func (om OrgMetrics) Markdown() string {
	var b strings.Builder
	o := om.Organisation
	b.WriteString(heading("dagsec organisation metrics", o.Targets))
	fmt.Fprintf(&b, "%d repositories, %d runs from %s to %s · production branch `%s`\n\n", om.Repositories, om.Runs,
		mdTime(om.From), mdTime(om.AsOf), strings.ReplaceAll(om.ProductionBranch, "`", "'"))
	b.WriteString("| Target | Organisation | Goal | State | Notes |\n|---|---:|---:|---|---|\n")
	for _, r := range o.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.Label(), r.ValueText(), r.GoalText(), stateText(r.State), mdCell(r.Note))
	}
	b.WriteString("\n## Per repository\n\n| Repository | Runs |")
	for _, r := range o.Targets {
		b.WriteString(" " + r.Label() + " |")
	}
	b.WriteString("\n|---|---:|" + strings.Repeat("---|", len(o.Targets)) + "\n")
	for _, rm := range om.Repos {
		fmt.Fprintf(&b, "| %s | %d |", mdCell(rm.Name), rm.Metrics.Runs)
		for _, r := range rm.Metrics.Targets {
			fmt.Fprintf(&b, " %s %s |", stateIcon(r.State), r.ValueText())
		}
		b.WriteString("\n")
	}
	return b.String()
}

func stateIcon(s TargetState) string {
	icon, _, _ := strings.Cut(stateText(s), " ")
	return icon
}

// OpenMetrics is the organisation's series (as HistoryMetrics.OpenMetrics
// names them), then each repository's targets:
//
//	dagsec_repo_target_met{repo,target}         1 met, 0 missed (no series without data)
//	dagsec_repo_target_value{repo,target,unit}
func (om OrgMetrics) OpenMetrics() []byte {
	fams := om.Organisation.families()
	met := omFamily{name: "dagsec_repo_target_met", typ: omGauge, help: "Per repository: 1 when the target is met, 0 when missed."}
	value := omFamily{name: "dagsec_repo_target_value", typ: omGauge, help: "Per repository: the measured value of each target."}
	for _, rm := range om.Repos {
		for _, r := range rm.Metrics.Targets {
			if r.State != TargetNoData {
				met.add(boolValue(r.State == TargetMet), "repo", rm.Name, "target", r.Name)
			}
			if r.Value != nil {
				value.add(*r.Value, "repo", rm.Name, "target", r.Name, "unit", r.Unit)
			}
		}
	}
	return writeOpenMetrics(append(fams, met, value))
}
