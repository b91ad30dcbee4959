package pipeline_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/pipeline"
)

func TestCommitFromGit(t *testing.T) {
	sha, other := strings.Repeat("a", 40), strings.Repeat("b", 40)
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"detached", map[string]string{".git/HEAD": sha + "\n"}, sha},
		{"loose ref", map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": sha + "\n"}, sha},
		{"packed ref", map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/packed-refs": "# pack-refs\n" + other + " refs/heads/dev\n" + sha + " refs/heads/main\n"}, sha},
		{"unborn branch", map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, ""},
		{"a ref out of .git", map[string]string{".git/HEAD": "ref: ../../etc/passwd\n"}, ""},
		{"no repository", map[string]string{}, ""},
	} {
		read := func(rel string) ([]byte, error) {
			if s, ok := tc.files[rel]; ok {
				return []byte(s), nil
			}
			return nil, fs.ErrNotExist
		}
		if got := pipeline.CommitFromGit(read); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDetectCommit(t *testing.T) {
	sha := strings.Repeat("c", 40)
	env := map[string]string{"GITHUB_SHA": "not-a-sha", "CI_COMMIT_SHA": sha}
	if got := pipeline.DetectCommit(func(k string) string { return env[k] }); got != sha {
		t.Errorf("DetectCommit = %q, want GitLab's %q (GitHub's is not a commit)", got, sha)
	}
}
