package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/internal/testenv"
)

func TestConflictLinesMatchCheckMergeConflict(t *testing.T) {
	// The cases of pre-commit-hooks' tests/check_merge_conflict_test.py:
	// markers count at a line's start only, the separator alone on its line.
	tests := []struct {
		name string
		in   string
		want []conflictLine
	}{
		{"a whole conflict", "a\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> branch\n",
			[]conflictLine{{2, "<<<<<<<"}, {4, "======="}, {6, ">>>>>>>"}}},
		{"CRLF separator", "<<<<<<< HEAD\r\nx\r\n=======\r\ny\r\n>>>>>>> b\r\n",
			[]conflictLine{{1, "<<<<<<<"}, {3, "======="}, {5, ">>>>>>>"}}},
		{"separator on the last line without newline", "x\n=======", nil},
		{"separator followed by text", "======= x\n", []conflictLine{{1, "======="}}},
		{"indented markers", "  <<<<<<< HEAD\n\t=======\n >>>>>>> b\n", nil},
		{"markers without the space", "<<<<<<<HEAD\n>>>>>>>\n", nil},
		{"a Markdown underline is longer", "Title\n========\n", nil},
		{"a Markdown underline of seven", "Title\n=======\n", []conflictLine{{2, "======="}}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conflictLines([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// conflictRepo makes a repository whose main and other branches change
// notes.txt's line differently, and merges other into main: git leaves the
// conflict markers in notes.txt and MERGE_HEAD and MERGE_MSG in .git.
func conflictRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	files["notes.txt"] = "one\ntwo\nthree\n"
	dir := testenv.GitRepo(t, files)
	testenv.Git(t, dir, "checkout", "-q", "-b", "other")
	testenv.Write(t, dir, map[string]string{"notes.txt": "one\nTWO (other)\nthree\n"})
	testenv.Commit(t, dir, "other")
	testenv.Git(t, dir, "checkout", "-q", "main")
	testenv.Write(t, dir, map[string]string{"notes.txt": "one\nTWO (main)\nthree\n"})
	testenv.Commit(t, dir, "main")
	cmd := exec.Command("git", "-c", "user.name=t", "-c", "user.email=t@dagsec.invalid", "merge", "other")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err == nil || !bytes.Contains(out, []byte("CONFLICT")) {
		t.Fatalf("git merge made no conflict: %v\n%s", err, out)
	}
	return dir
}

func TestHookMergeConflictOnlyWhileMerging(t *testing.T) {
	dir := conflictRepo(t, map[string]string{"README.md": "# r\n"})
	t.Chdir(dir)
	testenv.Git(t, dir, "add", "notes.txt")
	code, out := hook(t, "merge-conflict")
	wantCode(t, "staged conflict during a merge", code, 1, out)
	for _, want := range []string{`notes.txt:2: merge conflict marker "<<<<<<<"`, `notes.txt:4: merge conflict marker "======="`, `notes.txt:6: merge conflict marker ">>>>>>>"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// Outside a merge the same markers pass, unless --assume-in-merge.
	plain := hookRepoWith(t, map[string]string{"doc.rst": "Title\n=======\n\n<<<<<<< not a conflict\n"})
	code, out = hook(t, "merge-conflict")
	wantCode(t, "markers outside a merge", code, 0, out)
	code, out = hook(t, "merge-conflict", "--assume-in-merge")
	wantCode(t, "markers with --assume-in-merge", code, 1, out)
	if !strings.Contains(out, "doc.rst:2:") || !strings.Contains(out, "doc.rst:4:") {
		t.Errorf("want doc.rst:2 and :4 named:\n%s", out)
	}
	code, out = hook(t, "merge-conflict", "--assume-in-merge", filepath.Join(plain, "README.md"))
	wantCode(t, "a clean file given", code, 0, out)
	code, out = hook(t, "merge-conflict", "--assume-in-merge", "missing.txt")
	wantCode(t, "a missing file given", code, 2, out)
}

// The hook as the pre-commit framework runs it: `pre-commit install` in a
// repository whose .pre-commit-config.yaml declares dagsec-merge-conflict as
// .pre-commit-hooks.yaml does (with the dagsec built here as its entry),
// then `git commit` of a merge whose staged file still has the markers.
func TestHookMergeConflictRefusesCommitThroughPreCommit(t *testing.T) {
	preCommit, err := exec.LookPath("pre-commit")
	if err != nil {
		t.Fatalf("pre-commit (the framework, Debian package pre-commit) is not installed: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "dagsec")
	if out, err := exec.Command(goBinary(t), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building dagsec: %v\n%s", err, out)
	}
	h := manifestHook(t, "dagsec-merge-conflict")
	local := map[string]any{
		"id": h.ID, "name": h.Name, "language": "system", "types": h.Types,
		"entry": strings.Replace(h.Entry, "dagsec", bin, 1),
	}
	cfg, err := yaml.Marshal(map[string]any{"repos": []any{map[string]any{"repo": "local", "hooks": []any{local}}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := conflictRepo(t, map[string]string{".pre-commit-config.yaml": string(cfg)})
	env := append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"PRE_COMMIT_HOME="+t.TempDir(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@dagsec.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@dagsec.invalid")
	run := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(preCommit, "install"); err != nil {
		t.Fatalf("pre-commit install: %v\n%s", err, out)
	}
	head, _ := run("git", "rev-parse", "HEAD")

	testenv.Git(t, dir, "add", "notes.txt")
	out, err := run("git", "commit", "--no-edit")
	if err == nil {
		t.Fatalf("the merge with conflict markers was committed:\n%s", out)
	}
	for _, want := range []string{"dagsec merge conflict markers", "Failed", `notes.txt:2: merge conflict marker "<<<<<<<"`} {
		if !strings.Contains(out, want) {
			t.Errorf("pre-commit output lacks %q:\n%s", want, out)
		}
	}
	if now, _ := run("git", "rev-parse", "HEAD"); now != head {
		t.Errorf("HEAD moved from %s to %s", head, now)
	}

	// Resolved, the merge commits.
	testenv.Write(t, dir, map[string]string{"notes.txt": "one\nTWO (both)\nthree\n"})
	testenv.Git(t, dir, "add", "notes.txt")
	if out, err := run("git", "commit", "--no-edit"); err != nil || !strings.Contains(out, "Passed") {
		t.Fatalf("the resolved merge was refused: %v\n%s", err, out)
	}
}

// manifestHook is the hook id of .pre-commit-hooks.yaml.
func manifestHook(t *testing.T, id string) preCommitHook {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var list []preCommitHook
	if err := yaml.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	for _, h := range list {
		if h.ID == id {
			return h
		}
	}
	t.Fatalf(".pre-commit-hooks.yaml has no hook %s", id)
	return preCommitHook{}
}

// goBinary is the go command that runs this test.
func goBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no go command: %v", err)
	}
	return p
}
