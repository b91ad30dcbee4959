package findings

import (
	"cmp"
	"hash/maphash"
	"regexp"
	"slices"
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
//     aws-access-key-id are both "aws"; credentials in URLs and connection
//     strings are one family, see secretFamily), or the same non-empty Identity (the
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
	return DedupInPlace(slices.Clone(fs))
}

// DedupInPlace is Dedup in fs's own array, which it reorders and returns
// a prefix of; the caller must use only what it returns. The pipeline
// owns each stage's findings and so needs no copy of them.
func DedupInPlace(fs []Finding) []Finding {
	n := len(fs)
	if n == 0 {
		return []Finding{}
	}
	infos, buckets := dedupBuckets(fs)
	uf := newUnionFind(n)
	var edges []edge
	for _, b := range buckets {
		edges = linkCopies(fs, infos, b, uf, edges)
	}

	// Groups in order of their first finding (a root is its group's
	// smallest index), as lists in one slice.
	root := make([]int32, n)
	gstart := make([]int32, n+1)
	for i := range n {
		root[i] = int32(uf.find(i))
		gstart[root[i]+1]++
	}
	for i := range n {
		gstart[i+1] += gstart[i]
	}
	grouped := make([]int, n)
	gfill := slices.Clone(gstart[:n])
	for i := range n {
		grouped[gfill[root[i]]] = i
		gfill[root[i]]++
	}
	// What to output, in group order: a finding alone, or a merge of
	// several (the kept copy first). Sorting these before building them
	// spares moving the built findings.
	entries := make([]dedupEntry, 0, n)
	var groupEdges map[int32][]edge
	for r := range n {
		g := grouped[gstart[r]:gstart[r+1]]
		switch {
		case len(g) == 0:
		case len(g) == 1:
			entries = append(entries, dedupEntry{kept: g[0]})
		case unambiguous(fs, infos, g):
			entries = append(entries, mergeEntry(fs, g))
		default:
			if groupEdges == nil {
				// Each group's own edges, so an ambiguous group is split in
				// time proportional to its size, not to the whole run's.
				groupEdges = map[int32][]edge{}
				for _, e := range edges {
					groupEdges[root[e.a]] = append(groupEdges[root[e.a]], e)
				}
			}
			entries = splitAmbiguous(entries, fs, infos, g, groupEdges[int32(r)])
		}
	}
	// A merge keeps its kept copy's severity, location, tool and rule,
	// which is all Sort looks at. Output position k takes fs[src[k]]; the
	// positions past the output take the copies a merge absorbed, which
	// makes src a permutation. Merges are built before anything moves.
	type built struct {
		at int
		f  Finding
	}
	var merges []built
	src := make([]int, n)
	used := make([]bool, n)
	for k, j := range sortOrder(len(entries), func(j int) *Finding { return &fs[entries[j].kept] }) {
		e := entries[j]
		src[k], used[e.kept] = e.kept, true
		if e.members != nil {
			merges = append(merges, built{k, mergeGroup(fs, e.members)})
		}
	}
	k := len(entries)
	for i := range n {
		if !used[i] {
			src[k] = i
			k++
		}
	}
	permute(fs, src)
	for _, m := range merges {
		fs[m.at] = m.f
	}
	clear(fs[len(entries):]) // the absorbed copies: nothing to keep alive
	return fs[:len(entries)]
}

// dedupBuckets lists, for each dedup key, the findings that have it, in
// input order.
func dedupBuckets(fs []Finding) ([]dedupInfo, [][]int32) {
	infos := make([]dedupInfo, len(fs))
	keys := make([]dedupKey, 0, 2*len(fs)) // most findings have one or two ids
	keyEnd := make([]int32, len(fs))       // finding i's keys end at keys[keyEnd[i]]
	for i := range fs {
		infos[i], keys = dedupKeys(&fs[i], keys)
		keyEnd[i] = int32(len(keys))
	}
	// Keys get ids through a map of their hashes, a fifth the size of one of
	// whole keys; a key whose hash an unequal key already has (never seen
	// in practice) gets its id from a map of its own.
	seed := maphash.MakeSeed()
	byHash := make(map[uint64]int32, len(keys))
	var collided map[dedupKey]int32
	var firstKey []int32 // the first key of each id
	ids := make([]int32, len(keys))
	for k := range keys {
		h := maphash.Comparable(seed, keys[k])
		id, ok := byHash[h]
		switch {
		case !ok:
			id = int32(len(firstKey))
			byHash[h] = id
			firstKey = append(firstKey, int32(k))
		case keys[firstKey[id]] != keys[k]:
			if id, ok = collided[keys[k]]; !ok {
				if collided == nil {
					collided = map[dedupKey]int32{}
				}
				id = int32(len(firstKey))
				collided[keys[k]] = id
				firstKey = append(firstKey, int32(k))
			}
		}
		ids[k] = id
	}
	// The buckets share one slice.
	count := make([]int32, len(firstKey))
	for _, id := range ids {
		count[id]++
	}
	all := make([]int32, len(keys))
	buckets := make([][]int32, len(firstKey))
	off := int32(0)
	for id, c := range count {
		buckets[id] = all[off : off : off+c]
		off += c
	}
	for i, k := 0, 0; k < len(keys); k++ {
		for int32(k) == keyEnd[i] {
			i++
		}
		buckets[ids[k]] = append(buckets[ids[k]], int32(i))
	}
	return infos, buckets
}

// linkCopies links the findings of one bucket that mergeable accepts,
// appending each link to edges. Only findings of different tools are
// compared: one tool's many findings under one key (a license rule on
// go.mod) cost no pairs.
func linkCopies(fs []Finding, infos []dedupInfo, b []int32, uf *unionFind, edges []edge) []edge {
	link := func(a, b int32) {
		if mergeable(&fs[a], &fs[b], &infos[a], &infos[b]) {
			// A pair sharing several keys is linked more than once, which
			// changes no group.
			edges = append(edges, edge{a, b})
			uf.union(int(a), int(b))
		}
	}
	switch {
	case len(b) < 2:
	case len(b) == 2:
		if fs[b[0]].Tool != fs[b[1]].Tool {
			link(b[0], b[1])
		}
	default:
		slices.SortStableFunc(b, func(x, y int32) int { return strings.Compare(fs[x].Tool, fs[y].Tool) })
		for x := 0; x < len(b); {
			end := x + 1 // end of x's tool's run
			for end < len(b) && fs[b[end]].Tool == fs[b[x]].Tool {
				end++
			}
			for ; x < end; x++ {
				for y := end; y < len(b); y++ {
					link(b[x], b[y])
				}
			}
		}
	}
	return edges
}

// dedupEntry is one finding of Dedup's output: fs[kept] alone, or the merge
// of members (kept first).
type dedupEntry struct {
	kept    int
	members []int
}

// splitAmbiguous appends the entries of an ambiguous group: linked again
// only through edges within one path, the parts in which every tool appears
// once merged, the rest as reported.
func splitAmbiguous(entries []dedupEntry, fs []Finding, infos []dedupInfo, g []int, edges []edge) []dedupEntry {
	pos := make(map[int32]int, len(g))
	for j, i := range g {
		pos[int32(i)] = j
	}
	sub := newUnionFind(len(g))
	for _, e := range edges {
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
			entries = append(entries, mergeEntry(fs, members))
			continue
		}
		for _, i := range members {
			entries = append(entries, dedupEntry{kept: i})
		}
	}
	return entries
}

// edge links two findings Dedup found to be copies.
type edge struct{ a, b int32 }

// dedupInfo is what Dedup compares for one finding.
type dedupInfo struct {
	vuln    bool
	version string // vulnerabilities only; "" when the finding has none
}

// dedupKey is a key findings are candidates under; line is 0 for
// vulnerabilities, where is the package (vulnerabilities) or the path.
type dedupKey struct {
	kind               uint8
	line               int
	stage, where, what string
}

const (
	keyVuln uint8 = iota + 1
	keySecretFamily
	keySecretIdentity
	keyCheck
)

// dedupKeys appends f's keys to keys.
func dedupKeys(f *Finding, keys []dedupKey) (dedupInfo, []dedupKey) {
	if slices.Contains(f.Tags, "vulnerability") {
		if name, version, ok := vulnPackage(f); ok {
			return dedupInfo{vuln: true, version: version}, appendIDKeys(keys, f, dedupKey{kind: keyVuln, stage: f.Stage, where: name}, isAdvisoryID)
		}
	}
	line := max(f.Location.Line, 0)
	if slices.Contains(f.Tags, "secret") {
		if f.Location.Path == "" || f.Location.Line <= 0 {
			return dedupInfo{}, keys
		}
		keys = append(keys, dedupKey{keySecretFamily, line, f.Stage, f.Location.Path, secretFamily(f.RuleID)})
		if id := normalizeSpace(f.Identity); id != "" {
			keys = append(keys, dedupKey{keySecretIdentity, line, f.Stage, f.Location.Path, id})
		}
		return dedupInfo{}, keys
	}
	if f.Location.Path == "" {
		return dedupInfo{}, keys
	}
	return dedupInfo{}, appendIDKeys(keys, f, dedupKey{kind: keyCheck, line: line, stage: f.Stage, where: f.Location.Path}, isCheckID)
}

// appendIDKeys appends base with each id of f: its RuleID and every tag
// that isID accepts, once each.
func appendIDKeys(keys []dedupKey, f *Finding, base dedupKey, isID func(string) bool) []dedupKey {
	first := len(keys)
	base.what = f.RuleID
	keys = append(keys, base)
	for _, t := range f.Tags {
		if !isID(t) || slices.ContainsFunc(keys[first:], func(k dedupKey) bool { return k.what == t }) {
			continue
		}
		base.what = t
		keys = append(keys, base)
	}
	return keys
}

// mergeable is checked for two findings that share a key: they come from
// different tools (none of either's tools in the other's), and two versions
// of a package, when both are known, agree.
func mergeable(a, b *Finding, ia, ib *dedupInfo) bool {
	if a.Tool == b.Tool || slices.Contains(b.AlsoFoundBy, a.Tool) || slices.Contains(a.AlsoFoundBy, b.Tool) {
		return false
	}
	for _, t := range a.AlsoFoundBy {
		if slices.Contains(b.AlsoFoundBy, t) {
			return false
		}
	}
	if ia.vuln && ib.vuln && ia.version != "" && ib.version != "" && ia.version != ib.version {
		return false
	}
	return true
}

func toolsOf(f *Finding) []string { return append([]string{f.Tool}, f.AlsoFoundBy...) }

// unambiguous: every tool appears once among the group's findings, and the
// package versions they know agree (two findings linked only through a third
// without a version may disagree).
func unambiguous(fs []Finding, infos []dedupInfo, g []int) bool {
	var seen []string // a group has few tools: a list beats a map
	version := ""
	for _, i := range g {
		if v := infos[i].version; v != "" {
			if version != "" && v != version {
				return false
			}
			version = v
		}
		for _, t := range toolsOf(&fs[i]) {
			if slices.Contains(seen, t) {
				return false
			}
			seen = append(seen, t)
		}
	}
	return true
}

// mergeEntry orders a group's members as a merge keeps them: the most
// severe copy first (ties: the copy with a line, then the tool first in name
// order).
func mergeEntry(fs []Finding, g []int) dedupEntry {
	members := slices.Clone(g)
	slices.SortStableFunc(members, func(a, b int) int {
		x, y := &fs[a], &fs[b]
		if x.Severity != y.Severity {
			return cmp.Compare(y.Severity, x.Severity)
		}
		if hx, hy := x.Location.Line > 0, y.Location.Line > 0; hx != hy {
			if hx {
				return -1
			}
			return 1
		}
		if c := strings.Compare(x.Tool, y.Tool); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return dedupEntry{kept: members[0], members: members}
}

// mergeGroup merges members, ordered by mergeEntry, into the first.
func mergeGroup(fs []Finding, members []int) Finding {
	kept := fs[members[0]]
	kept.Tags = slices.Clone(kept.Tags)
	var also, merged []string
	also = append(also, kept.AlsoFoundBy...)
	merged = append(merged, kept.MergedFingerprints...)
	for _, i := range members[1:] {
		f := &fs[i]
		also = append(also, f.Tool)
		also = append(also, f.AlsoFoundBy...)
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
	// advisoryIDRE matches the vulnerability ids tools give as aliases
	// (isAdvisoryID checks the same without it).
	advisoryIDRE = regexp.MustCompile(`^(CVE-\d{4}-\d{4,}|GHSA(-[0-9a-z]{4}){3}|GO-\d{4}-\d{4,}|PYSEC-\d{4}-\d+|RUSTSEC-\d{4}-\d+|GSD-\d{4}-\d+)$`)
	// checkIDRE matches the Aqua vulnerability database ids trivy and
	// tfsec share for their checks.
	checkIDRE = regexp.MustCompile(`^AVD-[A-Z0-9]+-\d+$`)
)

// IsAdvisoryID reports a vulnerability advisory id (CVE-, GHSA-, GO-,
// PYSEC-, RUSTSEC-, GSD-), as tools give them as rule ids and aliases.
func IsAdvisoryID(s string) bool { return isAdvisoryID(s) }

// isAdvisoryID is advisoryIDRE.MatchString without a regexp run per tag.
func isAdvisoryID(t string) bool {
	for _, p := range [...]struct {
		prefix string
		min    int // digits after the year
	}{{"CVE-", 4}, {"GO-", 4}, {"PYSEC-", 1}, {"RUSTSEC-", 1}, {"GSD-", 1}} {
		if rest, ok := strings.CutPrefix(t, p.prefix); ok {
			// yyyy-n...
			return len(rest) >= 5+p.min && digits(rest[:4]) && rest[4] == '-' && digits(rest[5:])
		}
	}
	rest, ok := strings.CutPrefix(t, "GHSA")
	if !ok || len(rest) != 15 {
		return false
	}
	for i := 0; i < 15; i += 5 {
		if rest[i] != '-' {
			return false
		}
		for _, c := range []byte(rest[i+1 : i+5]) {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
				return false
			}
		}
	}
	return true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isCheckID runs its regexp only on tags with the prefix it requires.
func isCheckID(t string) bool { return strings.HasPrefix(t, "AVD-") && checkIDRE.MatchString(t) }

// vulnPackage reads "name@version" (or "name") from the message's first
// word; the message must also name the finding's RuleID.
func vulnPackage(f *Finding) (name, version string, ok bool) {
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

// normalizePackage lowercases name and turns each run of "-", "_" and "."
// into one "-".
func normalizePackage(name string) string {
	s := strings.ToLower(name)
	if !strings.ContainsAny(s, "_.") && !strings.Contains(s, "--") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	sep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '_' || c == '.' {
			if !sep {
				b.WriteByte('-')
			}
			sep = true
			continue
		}
		sep = false
		b.WriteByte(c)
	}
	return b.String()
}

// secretFamily is the rule id's first word: aws-access-token -> aws; rules
// for credentials in a connection string or URL share one family, whose
// tools name them by scheme (trufflehog's postgres, uri) or by shape
// (dagsec's gitleaks rules dagsec-database-url-credentials and co).
func secretFamily(rule string) string {
	r := strings.ToLower(strings.TrimSpace(rule))
	switch r {
	case "dagsec-database-url-credentials", "dagsec-url-credentials", "dagsec-connection-string-password",
		"postgres", "mysql", "mongodb", "redis", "jdbc", "sqlserver", "uri", "ftp", "ldap":
		return "url-credentials"
	}
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
