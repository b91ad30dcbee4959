package findings

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Dedup merges the copies of one issue that several tools of a stage
// reported into one finding, and returns the findings in Sort order. The
// input slice is not changed.
//
// Two findings are copies of one issue only when they are of the same stage,
// come from different tools, and share a dedup key:
//
//   - Vulnerabilities (tag "vulnerability"; trivy, grype, osv-scanner and
//     govulncheck): the same package and a shared advisory id. The package is
//     the message's first word, "name@version" (or "name" alone), which every
//     vulnerability parser writes first; the name is compared without case and
//     with runs of "-", "_" and "." as one "-" (PyPI's normalization), the
//     version without a leading "v", and only when both findings have one. The
//     advisory ids of a finding are its RuleID and every tag shaped like an
//     advisory id (CVE-yyyy-n, GHSA-xxxx-xxxx-xxxx, GO-yyyy-n, PYSEC-yyyy-n,
//     RUSTSEC-yyyy-n, GSD-yyyy-n), which is where grype, osv-scanner and
//     govulncheck put the aliases: govulncheck's GO-2021-0113 (tags
//     CVE-2021-38561, GHSA-ppp9-7jff-5vj2) and trivy's CVE-2021-38561 for
//     golang.org/x/text are one issue. CWE tags are never ids. The location is
//     not compared (osv-scanner names go.mod, govulncheck the call site).
//     A finding whose message does not start with a package or does not name
//     its RuleID is treated as a check below.
//   - Secrets (tag "secret"; gitleaks, trivy): the same path and line (a line
//     is required) and either the same rule family, the rule id's first word
//     before "-" or "_" without case (gitleaks aws-access-token and trivy
//     aws-access-key-id are both "aws"), or the same non-empty Identity (the
//     redacted match, when two tools describe it alike).
//   - Everything else (IaC and Dockerfile checks, SAST, DAST, licenses): the
//     same path (required) and line (0 only matches 0) and a shared check id: the RuleID
//     or a tag shaped like an AVD id (AVD-AWS-0086). Different rule ids are
//     merged only through such an alias: trivy's AWS-0086 carries the tag
//     AVD-AWS-0086, which is tfsec's rule id, so they merge; checkov's
//     CKV_AWS_20 shares no id with either and stays apart.
//
// The candidates linked this way form groups. A group in which some tool
// appears twice, or whose package versions disagree, is ambiguous (the same CVE in two copies of a package, two
// secrets of one vendor on one line): it is split by location path, and only
// the parts in which every tool appears once are merged; the rest stays as
// reported. A tool's own findings are therefore never merged with each other.
//
// A merged finding is the most severe copy (ties: the copy with a line, then
// the tool first in name order), so a merge never lowers what a gate sees. It
// keeps that copy's rule, message, location and fingerprint; its Tags are the
// union of all copies' tags (the kept copy's first), AlsoFoundBy the other
// tools in name order, and MergedFingerprints the other copies' fingerprints,
// which a baseline uses to recognise the issue whichever copy is kept.
// Running Dedup on its own output changes nothing.
func Dedup(fs []Finding) []Finding {
	n := len(fs)
	out := make([]Finding, 0, n)
	if n == 0 {
		return out
	}
	infos := make([]dedupInfo, n)
	buckets := map[string][]int{}
	var keyOrder []string
	for i, f := range fs {
		infos[i] = dedupKeys(f)
		for _, k := range infos[i].keys {
			if _, ok := buckets[k]; !ok {
				keyOrder = append(keyOrder, k)
			}
			buckets[k] = append(buckets[k], i)
		}
	}
	type edge struct{ a, b int }
	var edges []edge
	linked := map[edge]bool{}
	for _, k := range keyOrder {
		b := buckets[k]
		for x := 0; x < len(b); x++ {
			for y := x + 1; y < len(b); y++ {
				e := edge{b[x], b[y]}
				if linked[e] || !mergeable(fs[e.a], fs[e.b], infos[e.a], infos[e.b]) {
					continue
				}
				linked[e] = true
				edges = append(edges, e)
			}
		}
	}

	uf := newUnionFind(n)
	for _, e := range edges {
		uf.union(e.a, e.b)
	}
	// Each group's own edges, so an ambiguous group is split in time
	// proportional to its size, not to the whole run's.
	groupEdges := map[int][]edge{}
	for _, e := range edges {
		r := uf.find(e.a)
		groupEdges[r] = append(groupEdges[r], e)
	}
	var groups [][]int
	for _, g := range uf.groups() {
		if len(g) < 2 || unambiguous(fs, infos, g) {
			groups = append(groups, g)
			continue
		}
		// Ambiguous: link again only what also shares a path.
		pos := make(map[int]int, len(g))
		for j, i := range g {
			pos[i] = j
		}
		sub := newUnionFind(len(g))
		for _, e := range groupEdges[uf.find(g[0])] {
			if fs[e.a].Location.Path == fs[e.b].Location.Path {
				sub.union(pos[e.a], pos[e.b])
			}
		}
		for _, s := range sub.groups() {
			members := make([]int, len(s))
			for j, k := range s {
				members[j] = g[k]
			}
			if len(members) > 1 && unambiguous(fs, infos, members) {
				groups = append(groups, members)
				continue
			}
			for _, i := range members {
				groups = append(groups, []int{i})
			}
		}
	}
	for _, g := range groups {
		if len(g) == 1 {
			out = append(out, fs[g[0]])
			continue
		}
		out = append(out, mergeGroup(fs, g))
	}
	Sort(out)
	return out
}

// dedupInfo is what Dedup compares for one finding.
type dedupInfo struct {
	vuln    bool
	version string   // vulnerabilities only; "" when the finding has none
	keys    []string // findings sharing a key are candidates
}

func dedupKeys(f Finding) dedupInfo {
	const sep = "\x00"
	if slices.Contains(f.Tags, "vulnerability") {
		if name, version, ok := vulnPackage(f); ok {
			info := dedupInfo{vuln: true, version: version}
			for _, id := range idsOf(f, advisoryIDRE) {
				info.keys = append(info.keys, strings.Join([]string{f.Stage, "vuln", name, id}, sep))
			}
			return info
		}
	}
	line := strconv.Itoa(max(f.Location.Line, 0))
	if slices.Contains(f.Tags, "secret") {
		if f.Location.Path == "" || f.Location.Line <= 0 {
			return dedupInfo{}
		}
		base := strings.Join([]string{f.Stage, "secret", f.Location.Path, line}, sep)
		info := dedupInfo{keys: []string{base + sep + "family" + sep + secretFamily(f.RuleID)}}
		if id := normalizeSpace(f.Identity); id != "" {
			info.keys = append(info.keys, base+sep+"identity"+sep+id)
		}
		return info
	}
	var info dedupInfo
	if f.Location.Path == "" {
		return info
	}
	for _, id := range idsOf(f, checkIDRE) {
		info.keys = append(info.keys, strings.Join([]string{f.Stage, "check", f.Location.Path, line, id}, sep))
	}
	return info
}

// mergeable is checked for two findings that share a key: they come from
// different tools (none of either's tools in the other's), and two versions
// of a package, when both are known, agree.
func mergeable(a, b Finding, ia, ib dedupInfo) bool {
	for _, t := range toolsOf(a) {
		if slices.Contains(toolsOf(b), t) {
			return false
		}
	}
	if ia.vuln && ib.vuln && ia.version != "" && ib.version != "" && ia.version != ib.version {
		return false
	}
	return true
}

func toolsOf(f Finding) []string { return append([]string{f.Tool}, f.AlsoFoundBy...) }

// unambiguous: every tool appears once among the group's findings, and the
// package versions they know agree (two findings linked only through a third
// without a version may disagree).
func unambiguous(fs []Finding, infos []dedupInfo, g []int) bool {
	seen := map[string]bool{}
	version := ""
	for _, i := range g {
		if v := infos[i].version; v != "" {
			if version != "" && v != version {
				return false
			}
			version = v
		}
		for _, t := range toolsOf(fs[i]) {
			if seen[t] {
				return false
			}
			seen[t] = true
		}
	}
	return true
}

func mergeGroup(fs []Finding, g []int) Finding {
	members := make([]int, len(g))
	copy(members, g)
	sort.SliceStable(members, func(a, b int) bool {
		x, y := fs[members[a]], fs[members[b]]
		if x.Severity != y.Severity {
			return x.Severity > y.Severity
		}
		if hx, hy := x.Location.Line > 0, y.Location.Line > 0; hx != hy {
			return hx
		}
		if x.Tool != y.Tool {
			return x.Tool < y.Tool
		}
		return members[a] < members[b]
	})
	kept := fs[members[0]]
	kept.Tags = slices.Clone(kept.Tags)
	var also, merged []string
	also = append(also, kept.AlsoFoundBy...)
	merged = append(merged, kept.MergedFingerprints...)
	for _, i := range members[1:] {
		f := fs[i]
		also = append(also, toolsOf(f)...)
		merged = append(merged, f.Fingerprint)
		merged = append(merged, f.MergedFingerprints...)
		for _, t := range f.Tags {
			if !slices.Contains(kept.Tags, t) {
				kept.Tags = append(kept.Tags, t)
			}
		}
	}
	kept.AlsoFoundBy = sortedUnique(also, kept.Tool)
	kept.MergedFingerprints = sortedUnique(merged, kept.Fingerprint)
	return kept
}

// sortedUnique sorts ss, dropping duplicates, "" and drop.
func sortedUnique(ss []string, drop string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && s != drop && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

var (
	// advisoryIDRE matches the vulnerability ids tools give as aliases.
	advisoryIDRE = regexp.MustCompile(`^(CVE-\d{4}-\d{4,}|GHSA(-[0-9a-z]{4}){3}|GO-\d{4}-\d{4,}|PYSEC-\d{4}-\d+|RUSTSEC-\d{4}-\d+|GSD-\d{4}-\d+)$`)
	// checkIDRE matches the Aqua vulnerability database ids trivy and
	// tfsec share for their checks.
	checkIDRE = regexp.MustCompile(`^AVD-[A-Z0-9]+-\d+$`)
)

// idsOf is the RuleID and every tag that re matches.
func idsOf(f Finding, re *regexp.Regexp) []string {
	ids := []string{f.RuleID}
	for _, t := range f.Tags {
		if re.MatchString(t) && !slices.Contains(ids, t) {
			ids = append(ids, t)
		}
	}
	return ids
}

// vulnPackage reads "name@version" (or "name") from the message's first
// word; the message must also name the finding's RuleID.
func vulnPackage(f Finding) (name, version string, ok bool) {
	msg := strings.TrimSpace(f.Message)
	word, _, _ := strings.Cut(msg, " ")
	if word == "" || f.RuleID == "" || !strings.Contains(msg, f.RuleID) {
		return "", "", false
	}
	name = word
	if i := strings.LastIndex(word, "@"); i > 0 {
		name, version = word[:i], word[i+1:]
	}
	name = normalizePackage(name)
	if name == "" {
		return "", "", false
	}
	return name, strings.TrimPrefix(strings.TrimPrefix(version, "v"), "V"), true
}

var packageSepRE = regexp.MustCompile(`[-_.]+`)

func normalizePackage(name string) string {
	return packageSepRE.ReplaceAllString(strings.ToLower(name), "-")
}

// secretFamily is the rule id's first word: aws-access-token -> aws.
func secretFamily(rule string) string {
	r := strings.ToLower(strings.TrimSpace(rule))
	if i := strings.IndexAny(r, "-_"); i > 0 {
		return r[:i]
	}
	return r
}

// unionFind groups indexes; groups come out in order of their first index.
type unionFind struct{ parent []int }

func newUnionFind(n int) *unionFind {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return &unionFind{p}
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

func (u *unionFind) union(a, b int) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if ra < rb {
		u.parent[rb] = ra
	} else {
		u.parent[ra] = rb
	}
}

func (u *unionFind) groups() [][]int {
	idx := map[int]int{}
	var out [][]int
	for i := range u.parent {
		r := u.find(i)
		j, ok := idx[r]
		if !ok {
			j = len(out)
			idx[r] = j
			out = append(out, nil)
		}
		out[j] = append(out[j], i)
	}
	return out
}
