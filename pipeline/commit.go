package pipeline

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// DetectCommit names the commit a CI job builds from its environment
// (GitHub Actions, GitLab CI); "" when unknown.
func DetectCommit(getenv func(string) string) string {
	for _, v := range []string{"GITHUB_SHA", "CI_COMMIT_SHA"} {
		if c := strings.TrimSpace(getenv(v)); commitRE.MatchString(c) {
			return c
		}
	}
	return ""
}

// CommitFromGit reads the commit HEAD names out of a .git folder through
// read (a path relative to the source: ".git/HEAD"): a detached HEAD, a
// loose ref or a packed one. "" when it cannot tell.
func CommitFromGit(read func(rel string) ([]byte, error)) string {
	head, err := read(".git/HEAD")
	if err != nil {
		return ""
	}
	h := strings.TrimSpace(string(head))
	ref, isRef := strings.CutPrefix(h, "ref: ")
	if !isRef {
		if commitRE.MatchString(h) {
			return h
		}
		return ""
	}
	if strings.Contains(ref, "..") || !strings.HasPrefix(ref, "refs/") {
		return ""
	}
	if data, err := read(".git/" + ref); err == nil {
		if c := strings.TrimSpace(string(data)); commitRE.MatchString(c) {
			return c
		}
	}
	packed, err := read(".git/packed-refs")
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(packed))
	for sc.Scan() {
		c, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref && commitRE.MatchString(c) {
			return c
		}
	}
	return ""
}
