package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// SchemaVersion is the version of fleet.json's layout.
const SchemaVersion = "1"

// File names of a fleet folder; each repository's report folder is the
// subfolder named after it.
const (
	ReportFile  = "fleet.json"
	SummaryFile = "fleet.md"
)

// Scanned is what a Scanner got from one repository.
type Scanned struct {
	Report *pipeline.Report
	// Commit is the commit scanned, when known.
	Commit string
}

// Scanner scans one repository. An error (a clone that failed, a policy
// that does not load) is that repository's error, never the fleet's.
type Scanner func(ctx context.Context, r Repo) (Scanned, error)

// Config is one fleet run.
type Config struct {
	// All is the whole list; Shard picks the part this run scans.
	All   []Repo
	Shard Shard
	// Jobs is how many repositories are scanned at once (at least 1).
	Jobs int
	Scan Scanner
	// Runner names the runner in the report ("host", "dagger").
	Runner string
	// Done, when set, hears each repository as it finishes (from its
	// goroutine, one at a time).
	Done func(RepoResult, *pipeline.Report)
}

// Report is a fleet run: one verdict per repository and the roll-up.
type Report struct {
	SchemaVersion string    `json:"schema_version"`
	Dagsec        string    `json:"dagsec_version"`
	Runner        string    `json:"runner"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	DurationMS    int64     `json:"duration_ms"`
	// ReposDigest identifies the whole list (Digest) and Total counts it:
	// shards of one list merge, shards of different lists do not.
	ReposDigest string `json:"repos_digest"`
	Total       int    `json:"total"`
	// Shard is the part of the list this run scanned; absent for a whole
	// fleet. Merged lists the shards a merged report was made of.
	Shard  *Shard   `json:"shard,omitempty"`
	Merged []string `json:"merged,omitempty"`
	// Status is the worst repository's verdict (Worst), ExitCode its code.
	Status   policies.Status `json:"status"`
	ExitCode int             `json:"exit_code"`
	Rollup   Rollup          `json:"rollup"`
	Repos    []RepoResult    `json:"repos"`

	// Reports are the repositories' run reports by name (not in the JSON:
	// each is in its report folder).
	Reports map[string]*pipeline.Report `json:"-"`
}

// RepoResult is one repository's verdict.
type RepoResult struct {
	Repo
	Commit   string          `json:"commit,omitempty"`
	Branch   string          `json:"branch,omitempty"`
	Status   policies.Status `json:"status"`
	ExitCode int             `json:"exit_code"`
	// Counts are its findings by severity, suppressed ones included;
	// Blocking the findings that blocked a gate.
	Counts   findings.Counts `json:"counts"`
	Blocking int             `json:"blocking"`
	// Stages are its stages' verdicts by name.
	Stages map[string]policies.Status `json:"stages"`
	// Error says why the repository was not scanned (a clone that failed)
	// or which stages failed.
	Error      string `json:"error,omitempty"`
	Dir        string `json:"dir"`
	DurationMS int64  `json:"duration_ms"`
}

// Rollup counts the fleet's repositories by verdict and their findings,
// and names the repositories that blocked, errored or scanned nothing.
type Rollup struct {
	Repos    int             `json:"repos"`
	Passed   int             `json:"passed"`
	Warned   int             `json:"warned"`
	Blocked  int             `json:"blocked"`
	Error    int             `json:"error"`
	Skipped  int             `json:"skipped"`
	Findings findings.Counts `json:"findings"`
	// The names of the repositories in each state that needs a look.
	BlockedRepos []string `json:"blocked_repos"`
	ErrorRepos   []string `json:"error_repos"`
	SkippedRepos []string `json:"skipped_repos"`
}

// verdict is the fleet's: error over blocked over skipped (nothing
// scanned: its code went unchecked, which weighs more than a warning) over
// warned over passed, read from the roll-up, where a status this version
// does not know already counts as an error. A fleet of no repositories
// scanned nothing.
func (ru Rollup) verdict() policies.Status {
	switch {
	case ru.Error > 0:
		return policies.StatusError
	case ru.Blocked > 0:
		return policies.StatusBlocked
	case ru.Skipped > 0:
		return policies.StatusSkipped
	case ru.Warned > 0:
		return policies.StatusWarned
	case ru.Passed > 0:
		return policies.StatusPassed
	}
	return policies.StatusSkipped
}

// Run scans the shard's repositories, Jobs at a time. Every repository
// gets a result: a Scanner's error or panic, or a report missing, is its
// error. Only ctx's end stops the fleet, and then the repositories not yet
// scanned are errors too.
func Run(ctx context.Context, cfg Config) *Report {
	repos := cfg.Shard.Select(cfg.All)
	fr := &Report{
		SchemaVersion: SchemaVersion, Dagsec: pipeline.Version, Runner: cfg.Runner,
		StartedAt: time.Now().UTC(), ReposDigest: Digest(cfg.All), Total: len(cfg.All),
		Repos: make([]RepoResult, len(repos)), Reports: map[string]*pipeline.Report{},
	}
	if cfg.Shard.Count > 1 {
		s := cfg.Shard
		fr.Shard = &s
	}
	jobs := max(cfg.Jobs, 1)
	sem := make(chan struct{}, jobs)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, r := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			res, rep := scanOne(ctx, cfg.Scan, r)
			mu.Lock()
			defer mu.Unlock()
			fr.Repos[i], fr.Reports[r.Name] = res, rep
			if cfg.Done != nil {
				cfg.Done(res, rep)
			}
		}()
	}
	wg.Wait()
	fr.FinishedAt = time.Now().UTC()
	fr.DurationMS = fr.FinishedAt.Sub(fr.StartedAt).Milliseconds()
	fr.Finish()
	return fr
}

// scanOne scans a repository and turns whatever happened into its result
// and its run report (a report of the error when it could not be scanned).
func scanOne(ctx context.Context, scan Scanner, r Repo) (res RepoResult, rep *pipeline.Report) {
	start := time.Now().UTC()
	var s Scanned
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("scanner panicked: %v\n%s", p, debug.Stack())
			}
		}()
		if err = ctx.Err(); err == nil {
			s, err = scan(ctx, r)
		}
	}()
	if err == nil && s.Report == nil {
		err = fmt.Errorf("the scanner returned no report")
	}
	if err != nil {
		rep = ErrorReport(r, start, err)
	} else {
		rep = s.Report
	}
	res = Result(r, rep)
	res.Commit = s.Commit
	if err != nil {
		res.Error = err.Error()
	}
	return res, rep
}

// ErrorReport is the run report of a repository that could not be
// scanned: status error, exit 2, the reason in its errors, no stage.
func ErrorReport(r Repo, start time.Time, err error) *pipeline.Report {
	end := time.Now().UTC()
	return &pipeline.Report{
		SchemaVersion: pipeline.SchemaVersion, Dagsec: pipeline.Version, Runner: "fleet",
		Source: r.Spec(), Policy: "", StartedAt: start, FinishedAt: end, DurationMS: end.Sub(start).Milliseconds(),
		Status: policies.StatusError, ExitCode: pipeline.ExitCode(policies.StatusError),
		Counts: findings.CountBySeverity(nil), Stages: []pipeline.StageReport{}, Findings: []findings.Finding{},
		Errors: []string{r.Name + ": " + err.Error()},
	}
}

// Result is a repository's verdict from its run report.
func Result(r Repo, rep *pipeline.Report) RepoResult {
	res := RepoResult{
		Repo: r, Branch: rep.Branch, Status: rep.Status, ExitCode: rep.ExitCode, Counts: rep.Counts,
		Stages: map[string]policies.Status{}, Dir: r.Name, DurationMS: rep.DurationMS,
	}
	if res.Counts == nil {
		res.Counts = findings.CountBySeverity(nil)
	}
	for _, s := range rep.Stages {
		res.Stages[s.Name] = s.Status
		res.Blocking += s.Blocking
	}
	if rep.Status == policies.StatusError {
		res.Error = strings.Join(rep.Errors, "; ")
	}
	return res
}

// Finish orders the repositories by their place in the list and computes
// the roll-up and the verdict.
func (fr *Report) Finish() {
	slices.SortFunc(fr.Repos, func(a, b RepoResult) int { return a.Index - b.Index })
	ru := Rollup{Repos: len(fr.Repos), Findings: findings.CountBySeverity(nil),
		BlockedRepos: []string{}, ErrorRepos: []string{}, SkippedRepos: []string{}}
	for _, r := range fr.Repos {
		switch r.Status {
		case policies.StatusPassed:
			ru.Passed++
		case policies.StatusWarned:
			ru.Warned++
		case policies.StatusBlocked:
			ru.Blocked++
			ru.BlockedRepos = append(ru.BlockedRepos, r.Name)
		case policies.StatusSkipped:
			ru.Skipped++
			ru.SkippedRepos = append(ru.SkippedRepos, r.Name)
		default: // error, or a status this version does not know: fail closed
			ru.Error++
			ru.ErrorRepos = append(ru.ErrorRepos, r.Name)
		}
		for sev, n := range r.Counts {
			ru.Findings[sev] += n
		}
	}
	fr.Rollup = ru
	fr.Status = ru.verdict()
	fr.ExitCode = pipeline.ExitCode(fr.Status)
}

// JSON is fleet.json.
func (fr *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(fr, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ReportFile, err)
	}
	return append(b, '\n'), nil
}

// ReadReport reads fleet.json, checking its schema version and that every
// repository has a name and a verdict.
func ReadReport(data []byte, file string) (*Report, error) {
	var fr Report
	if err := json.Unmarshal(data, &fr); err != nil {
		return nil, fmt.Errorf("%s: not a fleet report: %w", file, err)
	}
	if fr.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s: fleet report schema_version %q is not supported (want %q)", file, fr.SchemaVersion, SchemaVersion)
	}
	for i, r := range fr.Repos {
		if !namePattern.MatchString(r.Name) || r.Status == "" || r.Dir != r.Name {
			return nil, fmt.Errorf("%s: repos[%d]: a name (that is also its folder) and a status are required", file, i)
		}
	}
	fr.Reports = map[string]*pipeline.Report{}
	return &fr, nil
}

// Merge joins the reports of a fleet's shards into the report of the
// whole: each shard of one list exactly once. The repositories keep the
// list's order; the roll-up and verdict are computed anew.
func Merge(parts []*Report) (*Report, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	first := parts[0]
	out := &Report{
		SchemaVersion: SchemaVersion, Dagsec: pipeline.Version, Runner: first.Runner,
		ReposDigest: first.ReposDigest, Total: first.Total, Reports: map[string]*pipeline.Report{},
	}
	count := 1
	if first.Shard != nil {
		count = first.Shard.Count
	}
	seen := map[int]bool{}
	names := map[string]bool{}
	for i, p := range parts {
		if p.ReposDigest != first.ReposDigest || p.Total != first.Total {
			return nil, fmt.Errorf("part %d scanned another list of repositories (repos_digest %s, not %s): only shards of one list merge", i+1, p.ReposDigest, first.ReposDigest)
		}
		s := Shard{Index: 1, Count: 1}
		if p.Shard != nil {
			s = *p.Shard
		}
		if s.Count != count {
			return nil, fmt.Errorf("part %d is shard %s, part 1 one of %d", i+1, s, count)
		}
		if seen[s.Index] {
			return nil, fmt.Errorf("shard %s is given twice", s)
		}
		seen[s.Index] = true
		if out.StartedAt.IsZero() || p.StartedAt.Before(out.StartedAt) {
			out.StartedAt = p.StartedAt
		}
		if p.FinishedAt.After(out.FinishedAt) {
			out.FinishedAt = p.FinishedAt
		}
		for _, r := range p.Repos {
			if names[r.Name] {
				return nil, fmt.Errorf("repository %s is in two parts", r.Name)
			}
			names[r.Name] = true
			out.Repos = append(out.Repos, r)
		}
		maps.Copy(out.Reports, p.Reports)
	}
	var missing []string
	for i := 1; i <= count; i++ {
		s := Shard{Index: i, Count: count}.String()
		if !seen[i] {
			missing = append(missing, s)
		}
		out.Merged = append(out.Merged, s)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("shard %s missing: a merge needs every shard, or it would pass repositories nobody scanned", strings.Join(missing, ", "))
	}
	if len(out.Repos) != out.Total {
		return nil, fmt.Errorf("the shards hold %d repositories, the list %d", len(out.Repos), out.Total)
	}
	out.FinishedAt = maxTime(out.FinishedAt, out.StartedAt)
	out.DurationMS = out.FinishedAt.Sub(out.StartedAt).Milliseconds()
	out.Finish()
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
