package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// Pre-commit hooks: fast checks that run on the host, without a container
// engine, on the files about to be committed. .pre-commit-hooks.yaml at the
// repository root declares them for the pre-commit framework.

const hookUsage = `Usage: dagsec hook NAME [flags] [FILE...]

Checks for the files about to be committed, run on this machine without a
container engine (pre-commit hooks: see .pre-commit-hooks.yaml). FILEs are
the files pre-commit passes, read from the working tree (pre-commit stashes
unstaged changes first, so that is what gets committed); with no FILE, the
files staged in git's index are checked, as staged. Run from inside the
git repository.

  secrets          secrets in the files: gitleaks (dagsec's pinned build),
                   values redacted
      [--config FILE] [--tools-dir DIR] [--no-install] [--timeout DURATION]
  private-key      private keys in the files: gitleaks' private-key rule
      [--config FILE] [--tools-dir DIR] [--no-install] [--timeout DURATION]
  large-files      files being added that are over a size limit (staged size)
      [--max-kb N (default 500)] [--enforce-all]
  protected-branch refuse commits on protected branches (a glob each)
      [--branch NAME]... (default: main, master)
  dockerfile       dagsec's Dockerfile hardening checks, gated by the policy's
                   dockerfile stage (default preset: high blocks)
      [--policy FILE] [--preset NAME] [--block-on SEVERITY]

Exit codes: 0 nothing found, 1 a problem found, 2 a tool or input error.
`

type hookFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error)

// hooks are the subcommands of dagsec hook; .pre-commit-hooks.yaml names them.
var hooks = map[string]hookFunc{
	"secrets":          hookSecrets,
	"private-key":      hookPrivateKey,
	"large-files":      hookLargeFiles,
	"protected-branch": hookProtectedBranch,
	"dockerfile":       hookDockerfile,
}

func hookNames() []string {
	names := make([]string, 0, len(hooks))
	for n := range hooks {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// cmdHook runs one pre-commit hook: exit 0 when nothing was found, 1 when a
// problem was (named by file and line), 2 on a tool or input error.
func cmdHook(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return exitError, fmt.Errorf("hook needs a name: %s (see dagsec hook --help)", strings.Join(hookNames(), ", "))
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, hookUsage)
		return exitPassed, nil
	}
	h, ok := hooks[args[0]]
	if !ok {
		return exitError, fmt.Errorf("unknown hook %q (hooks: %s; see dagsec hook --help)", args[0], strings.Join(hookNames(), ", "))
	}
	return h(ctx, args[1:], stdout, stderr)
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

// parseHookArgs parses flags anywhere before a "--"; everything after it is
// a file, so files named like flags can be passed. It reports help asked for.
func parseHookArgs(fs *flag.FlagSet, args []string) (files []string, help bool, err error) {
	before, after := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		before, after = args[:i], args[i+1:]
	}
	if slices.ContainsFunc(before, func(a string) bool { return a != "help" && isHelp(a) }) {
		return nil, true, nil
	}
	files, err = parseInterspersed(fs, before)
	if err != nil {
		return nil, false, err
	}
	return append(files, after...), false, nil
}

// hookRepo is the git repository a hook runs in.
type hookRepo struct {
	root string // absolute top-level folder
}

// hookTargets opens the repository the hook runs in and lists the files
// it checks: those given, else the staged ones.
func hookTargets(ctx context.Context, files []string) (*hookRepo, []hookFile, error) {
	repo, err := openHookRepo(ctx)
	if err != nil {
		return nil, nil, err
	}
	targets, err := repo.targets(ctx, files)
	if err != nil {
		return nil, nil, err
	}
	return repo, targets, nil
}

func openHookRepo(ctx context.Context) (*hookRepo, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	out, err := runGit(ctx, cwd, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("dagsec hook runs inside a git repository: %w", err)
	}
	root := strings.TrimRight(string(out), "\r\n")
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	return &hookRepo{root: root}, nil
}

// runGit runs git in dir and returns its stdout. The caller's environment
// is kept: during a commit, GIT_INDEX_FILE names the index being committed.
func runGit(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return stdout.Bytes(), &gitError{args: args, msg: msg, err: err}
	}
	return stdout.Bytes(), nil
}

type gitError struct {
	args []string
	msg  string
	err  error
}

func (e *gitError) Error() string { return "git " + strings.Join(e.args, " ") + ": " + e.msg }
func (e *gitError) Unwrap() error { return e.err }

// hookFile is one file a hook checks.
type hookFile struct {
	rel    string // slash path from the repository root, as messages name it
	abs    string // the working-tree file; "" when the staged content is read
	staged bool
}

// targets are the files given (working tree), else the staged files
// (index). Files given that are not regular files (symlinks) are skipped,
// as pre-commit does not pass them either; missing ones and folders are
// input errors.
func (r *hookRepo) targets(ctx context.Context, files []string) ([]hookFile, error) {
	if len(files) == 0 {
		return r.stagedFiles(ctx)
	}
	var out []hookFile
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		st, err := os.Lstat(abs)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: %w", f, errors.Unwrap(err))
		case st.IsDir():
			return nil, fmt.Errorf("%s is a folder; pass files", f)
		case !st.Mode().IsRegular():
			continue
		}
		dir := filepath.Dir(abs)
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		rel, err := filepath.Rel(r.root, filepath.Join(dir, filepath.Base(abs)))
		if err != nil || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("%s is outside the repository %s", f, r.root)
		}
		hf := hookFile{rel: filepath.ToSlash(rel), abs: abs}
		if !slices.ContainsFunc(out, func(o hookFile) bool { return o.rel == hf.rel }) {
			out = append(out, hf) // a file given twice is checked once
		}
	}
	return out, nil
}

// stagedFiles lists the files added, copied, modified, renamed or changed in
// type in the index: what the next commit adds or changes.
func (r *hookRepo) stagedFiles(ctx context.Context) ([]hookFile, error) {
	names, err := r.nameList(ctx, "diff", "--cached", "--name-only", "-z", "--no-renames", "--diff-filter=ACMT")
	if err != nil {
		return nil, err
	}
	out := make([]hookFile, 0, len(names))
	for _, n := range names {
		out = append(out, hookFile{rel: n, staged: true})
	}
	return out, nil
}

// addedFiles are the paths the index adds (not in HEAD).
func (r *hookRepo) addedFiles(ctx context.Context) (map[string]bool, error) {
	names, err := r.nameList(ctx, "diff", "--cached", "--name-only", "-z", "--no-renames", "--diff-filter=A")
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set, nil
}

func (r *hookRepo) nameList(ctx context.Context, args ...string) ([]string, error) {
	out, err := runGit(ctx, r.root, nil, args...)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Split(string(out), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// indexBlobs streams the staged blob of each path to fn (body is nil when
// sizesOnly). Paths the index holds no blob for (a submodule, a path not
// staged) are left out.
func (r *hookRepo) indexBlobs(ctx context.Context, paths []string, sizesOnly bool, fn func(rel string, size int64, body io.Reader) error) error {
	if len(paths) == 0 {
		return nil
	}
	var in strings.Builder
	for _, p := range paths {
		if strings.ContainsAny(p, "\n\r") {
			return fmt.Errorf("%q: file names with line breaks are not supported", p)
		}
		in.WriteString(":" + p + "\n")
	}
	mode := "--batch"
	if sizesOnly {
		mode = "--batch-check"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "cat-file", mode)
	cmd.Dir = r.root
	cmd.Stdin = strings.NewReader(in.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	br := bufio.NewReader(pipe)
	readErr := func() error {
		for _, p := range paths {
			header, err := br.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file: reading %s: %w", p, err)
			}
			fields := strings.Fields(header)
			if len(fields) != 3 {
				continue // "<name> missing" or "ambiguous": no staged blob
			}
			size, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				return fmt.Errorf("git cat-file: bad header %q", strings.TrimSpace(header))
			}
			if sizesOnly {
				if fields[1] == "blob" {
					if err := fn(p, size, nil); err != nil {
						return err
					}
				}
				continue
			}
			body := io.LimitReader(br, size)
			if fields[1] == "blob" {
				if err := fn(p, size, body); err != nil {
					return err
				}
			}
			if _, err := io.Copy(io.Discard, body); err != nil {
				return fmt.Errorf("git cat-file: reading %s: %w", p, err)
			}
			if _, err := br.ReadByte(); err != nil { // the newline after the content
				return fmt.Errorf("git cat-file: reading %s: %w", p, err)
			}
		}
		return nil
	}()
	if readErr != nil {
		cancel()
		_ = cmd.Wait()
		return readErr
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// readHookFile returns a file's content as it will be committed.
func (r *hookRepo) readHookFile(ctx context.Context, f hookFile) ([]byte, error) {
	if !f.staged {
		return os.ReadFile(f.abs)
	}
	var data []byte
	found := false
	err := r.indexBlobs(ctx, []string{f.rel}, false, func(_ string, _ int64, body io.Reader) error {
		var err error
		data, err = io.ReadAll(body)
		found = true
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("%s is not staged", f.rel)
	}
	return data, err
}

// ---- secrets and private-key: gitleaks over the files ----

func hookSecrets(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	return gitleaksHook(ctx, "secrets", "", args, stdout, stderr)
}

// hookPrivateKey runs gitleaks with only its private-key rule (part of
// gitleaks' default rules, which dagsec's configuration extends).
func hookPrivateKey(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	return gitleaksHook(ctx, "private-key", "private-key", args, stdout, stderr)
}

// gitleaksHook copies the files (their content as committed) under their
// repository paths into a private folder and runs the pinned gitleaks over
// it through the host runner, as the secrets stage does: --redact, the
// repository's .gitleaks.toml or dagsec's configuration, its
// .gitleaksignore. Nothing of a match is printed but file, line and rule.
func gitleaksHook(ctx context.Context, name, onlyRule string, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("hook " + name)
	config := fs.String("config", "", "gitleaks configuration (default: the repository's .gitleaks.toml, else dagsec's)")
	toolsDir := fs.String("tools-dir", host.DefaultToolsDir(), "folder of pinned tool builds")
	noInstall := fs.Bool("no-install", false, "do not build a missing pinned gitleaks; use PATH")
	timeout := fs.Duration("timeout", 5*time.Minute, "gitleaks time limit")
	files, help, err := parseHookArgs(fs, args)
	if help || err != nil {
		return hookHelp(help, err, stdout)
	}
	if *timeout <= 0 {
		return exitError, fmt.Errorf("--timeout must be positive (see dagsec hook --help)")
	}
	repo, targets, err := hookTargets(ctx, files)
	if err != nil {
		return exitError, err
	}
	if len(targets) == 0 {
		fmt.Fprintf(stdout, "dagsec hook %s: no files to check\n", name)
		return exitPassed, nil
	}

	work, err := os.MkdirTemp("", "dagsec-hook-")
	if err != nil {
		return exitError, err
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	if err := repo.materialize(ctx, targets, src); err != nil {
		return exitError, err
	}

	t, _ := stages.LookupTool("gitleaks")
	argv := []string{"gitleaks", "dir",
		"--no-banner", "--no-color", "--log-level", "warn",
		"--redact",
		"--report-format", "json", "--report-path", stages.OutputDir + "/gitleaks.json",
		"--exit-code", strconv.Itoa(hookFindingsCode),
		"--gitleaks-ignore-path", repo.root,
	}
	inputs := map[string][]byte{}
	switch cfg, err := repo.gitleaksConfig(*config); {
	case err != nil:
		return exitError, err
	case cfg == "":
		inputs["gitleaks.toml"] = stages.GitleaksConfig()
		argv = append(argv, "--config", stages.InputDir+"/gitleaks.toml")
	default:
		argv = append(argv, "--config", cfg)
	}
	if onlyRule != "" {
		argv = append(argv, "--enable-rule", onlyRule)
	}
	argv = append(argv, ".")
	step := stages.Step{
		Name: "hook/" + name, Tool: t.Name, Version: t.Version, Image: t.Image,
		Argv: argv, Workdir: stages.SourceDir, Inputs: inputs,
		Report: "gitleaks.json", OKCodes: []int{0}, FindingCodes: []int{hookFindingsCode},
		Timeout: *timeout,
	}
	runner, err := host.NewRunner(src, &host.Installer{Dir: *toolsDir, Progress: stderr})
	if err != nil {
		return exitError, err
	}
	runner.AutoInstall = !*noInstall
	res, err := runner.Run(ctx, step)
	if err != nil {
		return exitError, fmt.Errorf("gitleaks: %w%s", err, tailNote(res.Stderr))
	}
	if res.ToolVersion != "" {
		fmt.Fprintf(stderr, "dagsec: gitleaks %s\n", res.ToolVersion)
	}
	switch step.Classify(res.ExitCode) {
	case stages.OutcomeClean:
		fmt.Fprintf(stdout, "dagsec hook %s: %s checked, nothing found\n", name, plural(len(targets), "file"))
		return exitPassed, nil
	case stages.OutcomeFindings:
	default:
		msg := fmt.Errorf("gitleaks exited with code %d%s", res.ExitCode, tailNote(res.Stderr))
		if onlyRule != "" && strings.Contains(res.Stderr, "not found in rules") {
			msg = fmt.Errorf("%w (the configuration has no %s rule: extend gitleaks' defaults with [extend] useDefault = true, or pass --config)", msg, onlyRule)
		}
		return exitError, msg
	}
	if res.Report == nil {
		return exitError, fmt.Errorf("gitleaks reported leaks but wrote no report")
	}
	leaks, err := stages.ParseGitleaks(res.Report)
	if err != nil {
		return exitError, err
	}
	if len(leaks) == 0 {
		return exitError, fmt.Errorf("gitleaks exited with code %d but its report lists no leak", res.ExitCode)
	}
	sortByLine(leaks)
	inFiles := map[string]bool{}
	for _, l := range leaks {
		inFiles[l.Location.Path] = true
		// gitleaks' own fingerprint for a file scan, for .gitleaksignore.
		fp := fmt.Sprintf("%s:%s:%d", l.Location.Path, l.RuleID, l.Location.Line)
		fmt.Fprintf(stdout, "%s:%d: %s: %s [value not shown; .gitleaksignore: %s]\n", l.Location.Path, l.Location.Line, l.RuleID, l.Message, fp)
	}
	what := "secret"
	if onlyRule != "" {
		what = "private key"
	}
	fmt.Fprintf(stdout, "dagsec hook %s: %s in %s; take them out of the commit (and rotate any that was ever pushed), or add a false positive's fingerprint to .gitleaksignore\n",
		name, plural(len(leaks), what), plural(len(inFiles), "file"))
	return exitBlocked, nil
}

// hookFindingsCode is the exit code gitleaks is told to use for leaks, so
// its own failures (exit 1) are never mistaken for findings.
const hookFindingsCode = 3

// gitleaksConfig is the configuration file to use: the one given (relative
// to the working folder), else the repository's .gitleaks.toml, else ""
// for dagsec's own.
func (r *hookRepo) gitleaksConfig(given string) (string, error) {
	if given != "" {
		abs, err := filepath.Abs(given)
		if err != nil {
			return "", err
		}
		if st, err := os.Stat(abs); err != nil || !st.Mode().IsRegular() {
			return "", fmt.Errorf("--config %s: not a readable file", given)
		}
		return abs, nil
	}
	p := filepath.Join(r.root, ".gitleaks.toml")
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p, nil
	}
	return "", nil
}

// materialize writes the files, as they will be committed, under dst at
// their repository paths, readable by this user only.
func (r *hookRepo) materialize(ctx context.Context, files []hookFile, dst string) error {
	write := func(rel string, body io.Reader) error {
		p := filepath.Join(dst, filepath.FromSlash(rel))
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("%s: not a path inside the repository", rel)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	var staged []string
	for _, f := range files {
		if f.staged {
			staged = append(staged, f.rel)
			continue
		}
		in, err := os.Open(f.abs)
		if err != nil {
			return err
		}
		err = write(f.rel, in)
		in.Close()
		if err != nil {
			return fmt.Errorf("copying %s: %w", f.rel, err)
		}
	}
	return r.indexBlobs(ctx, staged, false, func(rel string, _ int64, body io.Reader) error {
		if err := write(rel, body); err != nil {
			return fmt.Errorf("copying staged %s: %w", rel, err)
		}
		return nil
	})
}

// ---- large-files ----

// hookLargeFiles refuses files being added whose staged size is over the
// limit. The staged size is the blob git stores: for a Git LFS file that
// is the small pointer, so LFS files pass. Files already committed are
// only checked with --enforce-all.
func hookLargeFiles(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("hook large-files")
	maxKB := fs.Int64("max-kb", 500, "size limit in KB (1024 bytes)")
	enforceAll := fs.Bool("enforce-all", false, "check every file, not only files being added")
	files, help, err := parseHookArgs(fs, args)
	if help || err != nil {
		return hookHelp(help, err, stdout)
	}
	if *maxKB <= 0 {
		return exitError, fmt.Errorf("--max-kb must be a positive number of KB (see dagsec hook --help)")
	}
	repo, targets, err := hookTargets(ctx, files)
	if err != nil {
		return exitError, err
	}
	if !*enforceAll {
		added, err := repo.addedFiles(ctx)
		if err != nil {
			return exitError, err
		}
		targets = slices.DeleteFunc(targets, func(f hookFile) bool { return !added[f.rel] })
	}
	paths := make([]string, len(targets))
	for i, f := range targets {
		paths[i] = f.rel
	}
	sizes := map[string]int64{}
	if err := repo.indexBlobs(ctx, paths, true, func(rel string, size int64, _ io.Reader) error {
		sizes[rel] = size
		return nil
	}); err != nil {
		return exitError, err
	}
	limit := *maxKB * 1024
	over := 0
	for _, f := range targets {
		size, ok := sizes[f.rel]
		if !ok { // not in the index (--enforce-all on an untracked file)
			if f.abs == "" {
				continue
			}
			st, err := os.Stat(f.abs)
			if err != nil {
				return exitError, err
			}
			size = st.Size()
		}
		if size > limit {
			over++
			fmt.Fprintf(stdout, "%s: %d KB, over the %d KB limit\n", f.rel, (size+1023)/1024, *maxKB)
		}
	}
	if over > 0 {
		fmt.Fprintf(stdout, "dagsec hook large-files: %s over %d KB; keep large files out of git (Git LFS, or an artifact store), or raise --max-kb\n", plural(over, "file"), *maxKB)
		return exitBlocked, nil
	}
	return exitPassed, nil
}

// ---- protected-branch ----

type branchFlag []string

func (b *branchFlag) String() string { return strings.Join(*b, ",") }

func (b *branchFlag) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("want a branch name or glob")
	}
	if _, err := path.Match(v, ""); err != nil {
		return fmt.Errorf("bad glob %q: %v", v, err)
	}
	*b = append(*b, v)
	return nil
}

// defaultProtectedBranches are refused when no --branch is given.
var defaultProtectedBranches = []string{"main", "master"}

// hookProtectedBranch refuses a commit when HEAD is on a protected branch;
// a detached HEAD (rebase, bisect) is on no branch and passes.
func hookProtectedBranch(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("hook protected-branch")
	var branches branchFlag
	fs.Var(&branches, "branch", "protected branch name or glob such as release/*; repeatable (default: main, master)")
	_, help, err := parseHookArgs(fs, args) // file names, if any are passed, do not matter
	if help || err != nil {
		return hookHelp(help, err, stdout)
	}
	if len(branches) == 0 {
		branches = defaultProtectedBranches
	}
	repo, err := openHookRepo(ctx)
	if err != nil {
		return exitError, err
	}
	out, err := runGit(ctx, repo.root, nil, "symbolic-ref", "--quiet", "--short", "HEAD")
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return exitPassed, nil // detached HEAD
	}
	if err != nil {
		return exitError, err
	}
	branch := strings.TrimSpace(string(out))
	for _, p := range branches {
		if ok, _ := path.Match(p, branch); ok || p == branch {
			fmt.Fprintf(stdout, "dagsec hook protected-branch: %q is a protected branch (%s); commit on another branch (git switch -c NAME) and open a merge request\n", branch, p)
			return exitBlocked, nil
		}
	}
	return exitPassed, nil
}

// ---- dockerfile ----

// hookDockerfile runs dagsec's Dockerfile hardening checks and gates them
// as the dockerfile stage does: findings at or above the policy's block_on
// fail the hook, lower ones are printed as warnings.
func hookDockerfile(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("hook dockerfile")
	policyFile := fs.String("policy", "", "policy YAML file (its dockerfile stage decides what blocks)")
	preset := fs.String("preset", "", "policy preset: "+strings.Join(policies.PresetNames(), ", "))
	blockOn := fs.String("block-on", "", "lowest severity that fails the hook (overrides the policy): critical, high, medium, low, info")
	files, help, err := parseHookArgs(fs, args)
	if help || err != nil {
		return hookHelp(help, err, stdout)
	}
	pol, err := loadPolicy(*policyFile, *preset)
	if err != nil {
		return exitError, err
	}
	sp := pol.Stage(stages.Dockerfile)
	if *blockOn != "" {
		sev, err := findings.ParseSeverity(*blockOn)
		if err != nil {
			return exitError, fmt.Errorf("--block-on: %v (see dagsec hook --help)", err)
		}
		sp.BlockOn, sp.WarnOnly = sev, false
	}
	repo, targets, err := hookTargets(ctx, files)
	if err != nil {
		return exitError, err
	}
	if len(files) == 0 {
		targets = slices.DeleteFunc(targets, func(f hookFile) bool {
			return !slices.ContainsFunc(stages.DockerfilePatterns, func(p string) bool { return stages.MatchGlob(p, f.rel) })
		})
	}
	var all []findings.Finding
	var failed []string
	for _, f := range targets {
		content, err := repo.readHookFile(ctx, f)
		if err != nil {
			return exitError, err
		}
		found, err := stages.CheckDockerfile(f.rel, content)
		if err != nil {
			fmt.Fprintf(stderr, "dagsec: %v\n", err)
			failed = append(failed, f.rel)
			continue
		}
		all = append(all, found...)
	}
	v := policies.Evaluate(stages.Dockerfile, sp, all, nil)
	blocking := map[string]bool{}
	for _, i := range v.Blocking {
		blocking[all[i].Fingerprint] = true
	}
	sortByLine(all)
	for _, f := range all {
		verdict := "warning"
		if blocking[f.Fingerprint] {
			verdict = "blocks"
		}
		fmt.Fprintf(stdout, "%s:%d: %s %s (%s): %s\n", f.Location.Path, f.Location.Line, f.RuleID, f.Severity, verdict, f.Message)
	}
	if len(failed) > 0 {
		return exitError, fmt.Errorf("could not check %s", strings.Join(failed, ", "))
	}
	if v.Status == policies.StatusBlocked {
		fmt.Fprintf(stdout, "dagsec hook dockerfile: %s\n", v.Reason)
		return exitBlocked, nil
	}
	return exitPassed, nil
}

// hookHelp answers --help or a flag error. Flag errors point to the hook
// usage rather than dagsec's, which usageError would print.
func hookHelp(help bool, err error, stdout io.Writer) (int, error) {
	if help {
		fmt.Fprint(stdout, hookUsage)
		return exitPassed, nil
	}
	return exitError, fmt.Errorf("%v (see dagsec hook --help)", err)
}

// sortByLine orders findings as an editor lists them: file, line, rule.
func sortByLine(fs []findings.Finding) {
	slices.SortStableFunc(fs, func(a, b findings.Finding) int {
		if c := strings.Compare(a.Location.Path, b.Location.Path); c != 0 {
			return c
		}
		if a.Location.Line != b.Location.Line {
			return a.Location.Line - b.Location.Line
		}
		return strings.Compare(a.RuleID, b.RuleID)
	})
}

func tailNote(s string) string {
	s = stages.Tail(s, 600)
	if s == "" {
		return ""
	}
	return ": " + s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
