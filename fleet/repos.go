// Package fleet scans many repositories as one fleet: the list of
// repositories and its shards, the scans run concurrently under a limit,
// the fleet report with one verdict per repository and a roll-up, and the
// merge of shards' reports. It runs no tool itself: a Scanner (the host
// runner, or the Dagger module) scans each repository.
package fleet

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Repo is one repository of a fleet: where to get it, at which ref, and
// the name its report folder has.
type Repo struct {
	// Index is the repository's place in the whole list (0-based): shards
	// and merges keep the list's order by it.
	Index int    `json:"index"`
	Name  string `json:"name"`
	URL   string `json:"url"`
	// Ref is a branch, tag or commit; "" is the repository's default
	// branch (or, for a local folder, its working tree as it is).
	Ref string `json:"ref,omitempty"`
}

// Spec is how the repository is written in a list: URL@REF, or URL.
func (r Repo) Spec() string {
	if r.Ref == "" {
		return r.URL
	}
	return r.URL + "@" + r.Ref
}

// ParseSpec splits "URL@REF" (or "URL"). The ref follows the last "@"
// unless that "@" is a user's (scp-like user@host:path, or the user
// part of scheme://user@host/path); a ref may hold "/" (release/1.2).
func ParseSpec(s string) (url, ref string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", fmt.Errorf("empty repository")
	}
	if err := noCredentials(s); err != nil {
		return "", "", err
	}
	url = s
	if i := strings.LastIndex(s, "@"); i >= 0 {
		before, after := s[:i], s[i+1:]
		userinfo := false
		if scheme := strings.Index(before, "://"); scheme >= 0 {
			// scheme://user@host/...: the "@" comes before the host's "/".
			userinfo = !strings.Contains(before[scheme+3:], "/")
		}
		if !userinfo && !strings.Contains(after, ":") && before != "" {
			url, ref = before, after
			if ref == "" {
				return "", "", fmt.Errorf("%q: empty ref after @", s)
			}
		}
	}
	if strings.ContainsAny(url, " \t") {
		return "", "", fmt.Errorf("%q: a repository URL has no spaces", s)
	}
	return url, ref, nil
}

// tokenPrefixes start the access tokens of GitHub and GitLab, which also
// work as a URL's user name.
var tokenPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-"}

// noCredentials refuses a URL with a secret in it (scheme://user:SECRET@host,
// or a token as the user): the URL is printed and written into fleet.json
// and every report, so a token belongs in git's credential helper on the
// host, or the module's token argument (a Dagger secret). The error shows
// the URL with the secret replaced.
func noCredentials(s string) error {
	scheme := strings.Index(s, "://")
	if scheme < 0 {
		return nil
	}
	rest := s[scheme+3:]
	authority, _, _ := strings.Cut(rest, "/")
	at := strings.Index(authority, "@")
	if at < 0 {
		return nil
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	token := false
	for _, p := range tokenPrefixes {
		token = token || strings.HasPrefix(user, p)
	}
	if !hasPassword && !token {
		return nil
	}
	shown := user + ":***"
	if token {
		shown = "***"
		if hasPassword {
			shown += ":***"
		}
	}
	return fmt.Errorf("%q: a repository URL holds a credential; remove it and use git's credential helper "+
		"(the host) or the module's token argument (a Dagger secret)", s[:scheme+3]+shown+rest[at:])
}

// namePattern is what a repository's name may be: it names its report
// folder.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// DefaultName is a repository's name from its URL: the last path element
// without ".git", made safe for a folder name.
func DefaultName(url string) string {
	u := strings.TrimRight(url, "/")
	if i := strings.LastIndexAny(u, "/:"); i >= 0 {
		u = u[i+1:]
	}
	u = strings.TrimSuffix(u, ".git")
	u = regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(u, "-")
	u = strings.TrimLeft(u, ".-_")
	if u == "" {
		return "repo"
	}
	return u[:min(len(u), 100)]
}

// ParseList reads a list of repositories: one a line, `URL[@REF] [NAME]`,
// blank lines and lines starting with # ignored. NAME defaults to the
// URL's last element; names must be unique (a derived name that repeats
// gets -2, -3, ...). Errors name the file and line.
func ParseList(data []byte, file string) ([]Repo, error) {
	var out []Repo
	explicit := map[string]int{} // name: line
	var derived []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) > 2 {
			return nil, fmt.Errorf("%s:%d: want URL[@REF] [NAME], got %d fields", file, line, len(fields))
		}
		url, ref, err := ParseSpec(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		r := Repo{Index: len(out), URL: url, Ref: ref}
		if len(fields) == 2 {
			r.Name = fields[1]
			if !namePattern.MatchString(r.Name) {
				return nil, fmt.Errorf("%s:%d: name %q: want letters, digits, '.', '_' or '-' (it names a folder)", file, line, r.Name)
			}
			if prev, dup := explicit[r.Name]; dup {
				return nil, fmt.Errorf("%s:%d: name %q is already used on line %d", file, line, r.Name, prev)
			}
			explicit[r.Name] = line
		} else {
			derived = append(derived, len(out))
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no repositories (want one URL[@REF] a line)", file)
	}
	taken := map[string]bool{}
	for n := range explicit {
		taken[n] = true
	}
	for _, i := range derived {
		base := DefaultName(out[i].URL)
		name := base
		for n := 2; taken[name]; n++ {
			name = base + "-" + strconv.Itoa(n)
		}
		taken[name] = true
		out[i].Name = name
	}
	return out, nil
}

// FromSpecs is a list from "URL@REF" strings (the module's repos
// argument), named as ParseList names them.
func FromSpecs(specs []string) ([]Repo, error) {
	var b strings.Builder
	for i, s := range specs {
		if strings.ContainsAny(strings.TrimSpace(s), " \t\n") || strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("repos[%d] %q: want URL or URL@REF", i, s)
		}
		b.WriteString(s + "\n")
	}
	return ParseList([]byte(b.String()), "repos")
}

// Digest identifies a whole list (every repository, its ref and name, in
// order), so shards of one fleet can be told from another's.
func Digest(repos []Repo) string {
	h := sha256.New()
	for _, r := range repos {
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s\n", r.Index, r.Name, r.URL, r.Ref)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Shard is one of Count parts of a fleet (Index is 1-based). The zero
// Shard is the whole fleet.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ParseShard reads "i/n" (1 ≤ i ≤ n).
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	a, err1 := strconv.Atoi(i)
	b, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || b < 1 || a < 1 || a > b || b > 10000 {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 1 ≤ i ≤ n, e.g. 1/4", s)
	}
	return Shard{Index: a, Count: b}, nil
}

func (s Shard) String() string {
	if s.Count == 0 {
		return "1/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Select keeps the shard's repositories: every Count-th from the Index-th,
// so shards of a list sorted by size get a fair share of large ones.
func (s Shard) Select(repos []Repo) []Repo {
	if s.Count <= 1 {
		return repos
	}
	var out []Repo
	for _, r := range repos {
		if r.Index%s.Count == s.Index-1 {
			out = append(out, r)
		}
	}
	return out
}

// LocalPath reports whether a URL is a folder on this machine rather than
// a remote (an absolute or relative path, or file://).
func LocalPath(url string) (string, bool) {
	if p, ok := strings.CutPrefix(url, "file://"); ok {
		return p, true
	}
	if strings.Contains(url, "://") {
		return "", false
	}
	// scp-like user@host:path has a ":" before any "/".
	if i := strings.Index(url, ":"); i >= 0 && !strings.Contains(url[:i], "/") {
		return "", false
	}
	return path.Clean(url), true
}
