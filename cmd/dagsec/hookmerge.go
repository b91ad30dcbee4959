package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// conflictMarkers are the lines git writes around a conflict, as
// pre-commit-hooks' check-merge-conflict (v5) matches them: at the start of a
// line, the long markers followed by a space, the separator alone on its line.
var conflictMarkers = [][]byte{
	[]byte("<<<<<<< "),
	[]byte("======= "),
	[]byte("=======\r\n"),
	[]byte("=======\n"),
	[]byte(">>>>>>> "),
}

// mergeConflictOptions are the merge-conflict hook's flags.
type mergeConflictOptions struct {
	assumeInMerge bool
}

func (o *mergeConflictOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.assumeInMerge, "assume-in-merge", false, "check the files even when no merge or rebase is in progress")
}

// hookMergeConflict refuses files holding conflict markers, only while a
// merge or rebase is in progress (unless --assume-in-merge), as
// pre-commit-hooks' check-merge-conflict does: outside a merge a line of
// seven '=' is as likely a Markdown or reStructuredText underline.
func hookMergeConflict(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
	var o mergeConflictOptions
	files, err := parseHookArgs("hook merge-conflict", o.register, args)
	if err != nil {
		return exitError, err
	}
	repo, err := openHookRepo(ctx)
	if err != nil {
		return exitError, err
	}
	if !o.assumeInMerge {
		merging, err := repo.inMerge(ctx)
		if err != nil {
			return exitError, err
		}
		if !merging {
			fmt.Fprintln(stdout, "dagsec hook merge-conflict: no merge or rebase in progress, nothing to check (--assume-in-merge checks anyway)")
			return exitPassed, nil
		}
	}
	targets, err := repo.targets(ctx, files)
	if err != nil {
		return exitError, err
	}
	found := 0
	for _, f := range targets {
		data, err := repo.readHookFile(ctx, f)
		if err != nil {
			return exitError, err
		}
		for _, m := range conflictLines(data) {
			fmt.Fprintf(stdout, "%s:%d: merge conflict marker %q\n", f.rel, m.line, m.marker)
			found++
		}
	}
	if found > 0 {
		fmt.Fprintf(stdout, "dagsec hook merge-conflict: %s; resolve the conflict before committing\n", plural(found, "conflict marker"))
		return exitBlocked, nil
	}
	fmt.Fprintf(stdout, "dagsec hook merge-conflict: %s checked, no conflict marker\n", plural(len(targets), "file"))
	return exitPassed, nil
}

type conflictLine struct {
	line   int
	marker string
}

// conflictLines finds the lines of data that start with a conflict marker.
func conflictLines(data []byte) []conflictLine {
	var out []conflictLine
	r := bufio.NewReader(bytes.NewReader(data))
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		for _, m := range conflictMarkers {
			if bytes.HasPrefix(line, m) {
				out = append(out, conflictLine{n, strings.TrimSpace(string(m))})
				break
			}
		}
		if err != nil {
			return out
		}
	}
}

// inMerge is pre-commit-hooks' is_in_merge: git has written MERGE_MSG and a
// merge (MERGE_HEAD) or a rebase (rebase-apply, rebase-merge) is under way.
func (r *hookRepo) inMerge(ctx context.Context) (bool, error) {
	out, err := runGit(ctx, r.root, nil, "rev-parse", "--git-dir")
	if err != nil {
		return false, err
	}
	dir := strings.TrimRight(string(out), "\r\n")
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(r.root, dir)
	}
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	return exists("MERGE_MSG") && (exists("MERGE_HEAD") || exists("rebase-apply") || exists("rebase-merge")), nil
}
