package sarifio

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"
)

// GitHub code scanning's documented limits on one uploaded SARIF file.
//
// "SARIF results exceed one or more limits"
// (https://docs.github.com/en/code-security/code-scanning/troubleshooting-sarif-uploads/results-exceed-limit)
// lists, as maximum values above which the upload is rejected: runs per file
// 20; results per run 25,000, of which "only the top 5,000 results will be
// included, prioritized by severity"; rules per run 25,000; tool extensions
// per run 100; locations per result 1,000; tags per rule 20 (only 10 shown).
// "SARIF file is too large"
// (https://docs.github.com/en/code-security/code-scanning/troubleshooting-sarif-uploads/file-too-large)
// gives 10 MB for the gzip-compressed file.
const (
	GitHubMaxRunsPerFile        = 20
	GitHubMaxResultsPerRun      = 25_000
	GitHubIncludedResultsPerRun = 5_000
	GitHubMaxRulesPerRun        = 25_000
	GitHubMaxExtensionsPerRun   = 100
	GitHubMaxLocationsPerResult = 1_000
	GitHubMaxTagsPerRule        = 20
	// GitHubMaxGzipBytes is "10 MB" read as 10,000,000 bytes, below 10 MiB,
	// so a file that fits here fits either reading.
	GitHubMaxGzipBytes = 10_000_000
)

// GitHubLimits bounds each file SplitForGitHub returns. A zero field takes
// its default; a value above GitHub's maximum is an error.
type GitHubLimits struct {
	// RunsPerFile defaults to GitHubMaxRunsPerFile.
	RunsPerFile int
	// ResultsPerRun defaults to GitHubIncludedResultsPerRun, not to the
	// 25,000 GitHub accepts: code scanning keeps only the top 5,000 results
	// of a run and drops the rest, so a larger part would lose findings.
	ResultsPerRun int
	// RulesPerRun defaults to GitHubMaxRulesPerRun.
	RulesPerRun int
	// TagsPerRule defaults to GitHubMaxTagsPerRule; longer tag lists are cut.
	TagsPerRule int
	// GzipBytes defaults to GitHubMaxGzipBytes, measured with compress/gzip
	// at the default level on the bytes returned.
	GzipBytes int
}

func (l GitHubLimits) resolve() (GitHubLimits, error) {
	for _, f := range []struct {
		v        *int
		def, max int
		name     string
	}{
		{&l.RunsPerFile, GitHubMaxRunsPerFile, GitHubMaxRunsPerFile, "runs per file"},
		{&l.ResultsPerRun, GitHubIncludedResultsPerRun, GitHubMaxResultsPerRun, "results per run"},
		{&l.RulesPerRun, GitHubMaxRulesPerRun, GitHubMaxRulesPerRun, "rules per run"},
		{&l.TagsPerRule, GitHubMaxTagsPerRule, GitHubMaxTagsPerRule, "tags per rule"},
		{&l.GzipBytes, GitHubMaxGzipBytes, GitHubMaxGzipBytes, "gzip bytes"},
	} {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0 || *f.v > f.max:
			return l, fmt.Errorf("GitHub SARIF limit %s = %d: want 1 to %d", f.name, *f.v, f.max)
		}
	}
	return l, nil
}

// SplitBytesForGitHub is SplitForGitHub on a serialized SARIF 2.1.0 log.
func SplitBytesForGitHub(data []byte, lim GitHubLimits) ([][]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("SARIF: empty document")
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("SARIF: not valid JSON: %w", jsonSyntaxError(data))
	}
	log, err := sarif.FromBytes(data)
	if err != nil {
		if fixed, ok := dropUnsetIndexes(data); ok {
			log, err = sarif.FromBytes(fixed)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("SARIF: unexpected structure: %w", err)
	}
	return SplitForGitHub(log, lim)
}

// SplitForGitHub turns one SARIF log into the files to upload to GitHub code
// scanning, each within lim, and returns them serialized as Encode does
// (indented below IndentLimit, trailing newline). The caller names them; the
// pipeline writes results.sarif, results-2.sarif, ... Each file must be
// uploaded on its own (one upload-sarif step or API call per file):
// github/codeql-action combines all files of a directory into a single
// upload, where the limits apply to the whole.
//
// Every run must have its own automationDetails.id: the id is the run's
// category, and a run replaces the alerts of its category only. Runs are never
// dropped, empty ones included, since an empty run is what closes the alerts
// of a tool that now finds nothing.
//
// A log within the limits comes back as one file, byte for byte what Marshal
// writes for it. Otherwise:
//
//   - runs are packed in order into files of at most RunsPerFile runs and
//     GzipBytes compressed bytes;
//   - a run with more than ResultsPerRun results is split, in result order,
//     into parts of at most ResultsPerRun. Part 1 keeps the run's id; part k
//     gets the id with "part-k/" after the category's last slash
//     ("dagsec/sca/trivy/" becomes "dagsec/sca/trivy/part-2/"), a category of
//     its own. No result is dropped. When a later upload needs fewer parts,
//     the alerts of the parts it no longer sends stay open until the category
//     is deleted in the code scanning tool status page;
//   - rules carrying more than TagsPerRule tags keep the first TagsPerRule;
//   - a run with more than RulesPerRun rules keeps only the rules its results
//     reference, renumbered.
//
// It is an error when a run (or one part of it) alone is over GzipBytes
// compressed; the error names the tool and the run's id. It is also an error
// when a run has no id, two runs share one, or a run exceeds a limit that
// cannot be split (more than 100 tool extensions, more than 1,000 locations on
// one result). The input log is never modified.
func SplitForGitHub(log *sarif.Report, lim GitHubLimits) ([][]byte, error) {
	if log == nil || log.Runs == nil {
		return nil, fmt.Errorf("SARIF: not a SARIF log (no runs)")
	}
	runs := func(yield func(*sarif.Run, error) bool) {
		for _, run := range log.Runs {
			if !yield(run, nil) {
				return
			}
		}
	}
	return SplitRunsForGitHub(log, runs, lim)
}

// SplitRunsForGitHub is SplitForGitHub on the log env with the runs runs
// yields in place of its own (env.Runs is not read). Each run is encoded as
// it comes and not kept, so a caller that builds runs one at a time (Runs)
// never holds the whole log as objects, only its encoding. A run's error
// stops it.
func SplitRunsForGitHub(env *sarif.Report, runs iter.Seq2[*sarif.Run, error], lim GitHubLimits) ([][]byte, error) {
	lim, err := lim.resolve()
	if err != nil {
		return nil, err
	}
	if env == nil {
		return nil, fmt.Errorf("SARIF: not a SARIF log (no runs)")
	}
	if env.Version != string(sarif.Version210) {
		return nil, fmt.Errorf("SARIF: version %q, GitHub code scanning takes %s", env.Version, sarif.Version210)
	}
	frame, err := frameOf(env)
	if err != nil {
		return nil, err
	}
	enc := newCompactEncoder()
	var parts []encodedRun
	var ids []string
	seen := map[string]int{}
	i := 0
	for run, err := range runs {
		if err != nil {
			return nil, err
		}
		if err := checkRun(run, i, seen); err != nil {
			return nil, err
		}
		ps, err := splitRun(run, lim)
		if err != nil {
			return nil, fmt.Errorf("SARIF run %d (%s): %w", i, runName(run), err)
		}
		for _, p := range ps {
			e, err := encodeRun(enc, p)
			if err != nil {
				return nil, err
			}
			parts, ids = append(parts, e), append(ids, *p.AutomationDetails.ID)
		}
		i++
	}
	// Part ids are made up; they must not collide with a real run's.
	taken := map[string]bool{}
	for _, id := range ids {
		if taken[id] {
			return nil, fmt.Errorf("SARIF: two runs would share automationDetails.id %q after splitting", id)
		}
		taken[id] = true
	}

	// The common case: everything fits in one file.
	if len(parts) <= lim.RunsPerFile {
		b, n, err := frame.file(parts)
		if err != nil {
			return nil, err
		}
		if n <= lim.GzipBytes {
			return [][]byte{b}, nil
		}
	}

	// Measure each run alone, pack greedily by the sum of those sizes, then
	// check each file and halve any that still comes out too large.
	sizes := make([]int, len(parts))
	for i, p := range parts {
		_, n, err := frame.file(parts[i : i+1])
		if err != nil {
			return nil, err
		}
		if n > lim.GzipBytes {
			return nil, fmt.Errorf("SARIF run (%s) with %d result(s) is %d bytes gzip-compressed on its own, over GitHub code scanning's limit of %d bytes per file",
				p.name, p.results, n, lim.GzipBytes)
		}
		sizes[i] = n
	}
	var groups [][]encodedRun
	start, curSize := 0, 0
	for i := range parts {
		if i > start && (i-start == lim.RunsPerFile || curSize+sizes[i] > lim.GzipBytes) {
			groups = append(groups, parts[start:i])
			start, curSize = i, 0
		}
		curSize += sizes[i]
	}
	groups = append(groups, parts[start:])

	var files [][]byte
	var emit func(runs []encodedRun) error
	emit = func(runs []encodedRun) error {
		b, n, err := frame.file(runs)
		if err != nil {
			return err
		}
		if n > lim.GzipBytes && len(runs) > 1 {
			half := len(runs) / 2
			if err := emit(runs[:half]); err != nil {
				return err
			}
			return emit(runs[half:])
		}
		files = append(files, b)
		return nil
	}
	for _, g := range groups {
		if err := emit(g); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// file is the SARIF file of the frame's log with runs, as Encode writes
// it, and its gzip-compressed size.
func (f logFrame) file(runs []encodedRun) ([]byte, int, error) {
	b, err := f.encode(runs)
	if err != nil {
		return nil, 0, err
	}
	n, err := gzipSize(b)
	return b, n, err
}

// checkRun rejects what splitting cannot fix. Ids must be unique: code
// scanning rejects a file with two runs of one tool and category
// (https://github.blog/changelog/2025-07-21-code-scanning-will-stop-combining-multiple-sarif-runs-uploaded-in-the-same-sarif-file/),
// and runs of different tools sharing a category would close each other's
// alerts.
func checkRun(run *sarif.Run, i int, seen map[string]int) error {
	if run == nil {
		return fmt.Errorf("SARIF run %d is null", i)
	}
	if run.Tool.Driver == nil || run.Tool.Driver.Name == "" {
		return fmt.Errorf("SARIF run %d has no tool.driver.name", i)
	}
	id := automationID(run)
	if id == "" {
		return fmt.Errorf("SARIF run %d (tool %s) has no automationDetails.id: GitHub code scanning needs one category per run, or uploads close each other's alerts", i, run.Tool.Driver.Name)
	}
	if j, dup := seen[id]; dup {
		return fmt.Errorf("SARIF runs %d and %d share automationDetails.id %q: GitHub code scanning needs one category per run", j, i, id)
	}
	seen[id] = i
	if n := len(run.Tool.Extensions); n > GitHubMaxExtensionsPerRun {
		return fmt.Errorf("SARIF run %d (%s) has %d tool extensions, over GitHub's %d", i, runName(run), n, GitHubMaxExtensionsPerRun)
	}
	for k, res := range run.Results {
		if res == nil {
			return fmt.Errorf("SARIF run %d (%s): result %d is null", i, runName(run), k)
		}
		if n := len(res.Locations); n > GitHubMaxLocationsPerResult {
			return fmt.Errorf("SARIF run %d (%s): result %d has %d locations, over GitHub's %d", i, runName(run), k, n, GitHubMaxLocationsPerResult)
		}
	}
	return nil
}

func automationID(run *sarif.Run) string {
	if run.AutomationDetails == nil || run.AutomationDetails.ID == nil {
		return ""
	}
	return *run.AutomationDetails.ID
}

// runName is "tool trivy, id dagsec/sca/trivy/" for errors.
func runName(run *sarif.Run) string {
	name := ""
	if run.Tool.Driver != nil {
		name = run.Tool.Driver.Name
	}
	return fmt.Sprintf("tool %s, id %q", name, automationID(run))
}

// PartID is the automationDetails.id of part k (k >= 2) of a run split for
// GitHub: "part-k/" inserted after the id's last slash, so the part is a
// category of its own next to the run's.
func PartID(id string, k int) string {
	p := fmt.Sprintf("part-%d/", k)
	i := strings.LastIndex(id, "/")
	if i < 0 {
		return id + "/" + p
	}
	return id[:i+1] + p + id[i+1:]
}

// splitRun returns run itself when it is within the limits, else shallow
// copies with their own results, ids and tool.
func splitRun(run *sarif.Run, lim GitHubLimits) ([]*sarif.Run, error) {
	tool, trimmed := trimTool(run.Tool, lim.TagsPerRule)
	if len(run.Results) <= lim.ResultsPerRun && !trimmed && len(run.Tool.Driver.Rules) <= lim.RulesPerRun {
		return []*sarif.Run{run}, nil
	}
	id := automationID(run)
	var parts []*sarif.Run
	for start := 0; start == 0 || start < len(run.Results); start += lim.ResultsPerRun {
		k := len(parts) + 1
		cp := *run
		cp.Tool = tool
		cp.Results = run.Results[start:min(start+lim.ResultsPerRun, len(run.Results))]
		if k > 1 {
			ad := *run.AutomationDetails
			ad.ID = ptr(PartID(id, k))
			// A GUID names one run; the parts are different runs.
			ad.GUID = nil
			cp.AutomationDetails = &ad
		}
		if len(tool.Driver.Rules) > lim.RulesPerRun {
			if err := pruneRules(&cp); err != nil {
				return nil, err
			}
			if n := len(cp.Tool.Driver.Rules); n > lim.RulesPerRun {
				return nil, fmt.Errorf("%d rules referenced by %d results, over the limit of %d rules per run", n, len(cp.Results), lim.RulesPerRun)
			}
		}
		parts = append(parts, &cp)
	}
	return parts, nil
}

// trimTool returns the tool with every rule's tags cut to max, copying only
// what changes; ok reports whether anything did.
func trimTool(tool sarif.Tool, max int) (sarif.Tool, bool) {
	changed := false
	if d, ok := trimTags(tool.Driver, max); ok {
		tool.Driver, changed = d, true
	}
	var exts []*sarif.ToolComponent
	for i, e := range tool.Extensions {
		te, ok := trimTags(e, max)
		if !ok {
			continue
		}
		if exts == nil {
			exts = slices.Clone(tool.Extensions)
		}
		exts[i] = te
	}
	if exts != nil {
		tool.Extensions, changed = exts, true
	}
	return tool, changed
}

// trimTags returns a copy of tc whose rules carry at most max tags, or tc
// and false when none has more.
func trimTags(tc *sarif.ToolComponent, max int) (*sarif.ToolComponent, bool) {
	if tc == nil {
		return tc, false
	}
	var rules []*sarif.ReportingDescriptor
	for i, r := range tc.Rules {
		if r == nil {
			continue
		}
		p, ok := cutTags(r.Properties, max)
		if !ok {
			continue
		}
		if rules == nil {
			rules = slices.Clone(tc.Rules)
		}
		c := *r
		c.Properties = p
		rules[i] = &c
	}
	if rules == nil {
		return tc, false
	}
	c := *tc
	c.Rules = rules
	return &c, true
}

// cutTags keeps the first max entries of properties.tags, as built ([]string)
// or as parsed ([]any).
func cutTags(p sarif.Properties, max int) (sarif.Properties, bool) {
	var cut any
	switch t := p["tags"].(type) {
	case []string:
		if len(t) <= max {
			return p, false
		}
		cut = slices.Clone(t[:max])
	case []any:
		if len(t) <= max {
			return p, false
		}
		cut = slices.Clone(t[:max])
	default:
		return p, false
	}
	c := maps.Clone(p)
	c["tags"] = cut
	return c, true
}

// pruneRules keeps in run (a copy) only the driver rules its results
// reference, renumbering ruleIndex and rule.index to match; the driver and the
// results are copied, never changed in place. Results that name their rule by
// id only keep that rule too. References to an extension's rules are left
// alone.
func pruneRules(run *sarif.Run) error {
	d := run.Tool.Driver
	byID := map[string]uint{}
	for i, r := range d.Rules {
		if r == nil {
			continue
		}
		if _, ok := byID[r.ID]; !ok {
			byID[r.ID] = uint(i)
		}
	}
	used := map[uint]bool{}
	for k, res := range run.Results {
		if res.Rule != nil && res.Rule.ToolComponent != nil {
			continue
		}
		var idxs []*uint
		if res.RuleIndex != nil {
			idxs = append(idxs, res.RuleIndex)
		}
		if res.Rule != nil && res.Rule.Index != nil {
			idxs = append(idxs, res.Rule.Index)
		}
		for _, idx := range idxs {
			if *idx >= uint(len(d.Rules)) {
				return fmt.Errorf("result %d: ruleIndex %d out of range: the driver has %d rules", k, *idx, len(d.Rules))
			}
			used[*idx] = true
		}
		if len(idxs) > 0 {
			continue
		}
		id := deref(res.RuleID)
		if id == "" && res.Rule != nil {
			id = deref(res.Rule.Id)
		}
		if i, ok := byID[id]; ok {
			used[i] = true
		}
	}
	old := slices.Sorted(maps.Keys(used))
	renumber := make(map[uint]uint, len(old))
	rules := make([]*sarif.ReportingDescriptor, len(old))
	for n, o := range old {
		renumber[o] = uint(n)
		rules[n] = d.Rules[o]
	}
	results := make([]*sarif.Result, len(run.Results))
	for k, res := range run.Results {
		results[k] = res
		if res.Rule != nil && res.Rule.ToolComponent != nil {
			continue
		}
		c := *res
		if res.RuleIndex != nil {
			c.RuleIndex = ptr(renumber[*res.RuleIndex])
		}
		if res.Rule != nil && res.Rule.Index != nil {
			rc := *res.Rule
			rc.Index = ptr(renumber[*res.Rule.Index])
			c.Rule = &rc
		}
		results[k] = &c
	}
	dc := *d
	dc.Rules = rules
	run.Tool.Driver = &dc
	run.Results = results
	return nil
}

// gzipSize is the length of data compressed with compress/gzip at the
// default level, as github/codeql-action's zlib.gzipSync does.
func gzipSize(data []byte) (int, error) {
	var n countWriter
	zw := gzip.NewWriter(&n)
	if _, err := zw.Write(data); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int(n), nil
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)

func ptr[T any](v T) *T { return &v }
