package main

import (
	"bufio"
	"bytes"
	"cmp"
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

// parseHookArgs parses flags anywhere before a "--"; everything after it is
// a file, so files named like flags can be passed.
func parseHookArgs(name string, register func(*flag.FlagSet), args []string) (files []string, err error) {
	before, after := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		before, after = args[:i], args[i+1:]
	}
	files, err = parseFlags(name, register, before)
	if err != nil {
		return nil, err
	}
	return append(files, after...), nil
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

// gitleaksHookOptions are the flags of the secrets and private-key hooks.
type gitleaksHookOptions struct {
	config, toolsDir string
	noInstall        bool
	timeout          time.Duration
}

func (o *gitleaksHookOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.config, "config", "", "gitleaks configuration `FILE` (default: the repository's .gitleaks.toml, else dagsec's)")
	toolsDirFlag(fs, &o.toolsDir)
	fs.BoolVar(&o.noInstall, "no-install", false, "do not build a missing pinned gitleaks; use PATH")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "gitleaks time limit, a `DURATION` such as 90s or 10m")
}

// gitleaksHook copies the files (their content as committed) under their
// repository paths into a private folder and runs the pinned gitleaks over
// it through the host runner, as the secrets stage does: --redact, the
// repository's .gitleaks.toml or dagsec's configuration, its
// .gitleaksignore. Nothing of a match is printed but file, line and rule.
func gitleaksHook(ctx context.Context, name, onlyRule string, args []string, stdout, stderr io.Writer) (int, error) {
	var o gitleaksHookOptions
	files, err := parseHookArgs("hook "+name, o.register, args)
	if err != nil {
		return exitError, err
	}
	if o.timeout <= 0 {
		return exitError, usageError{"--timeout must be positive", "hook " + name}
	}
	o.toolsDir = cmp.Or(o.toolsDir, host.DefaultToolsDir())
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
	switch cfg, err := repo.gitleaksConfig(o.config); {
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
		Timeout: o.timeout,
	}
	runner, err := host.NewRunner(src, &host.Installer{Dir: o.toolsDir, Progress: stderr})
	if err != nil {
		return exitError, err
	}
	runner.AutoInstall = !o.noInstall
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

// largeFilesOptions are the large-files hook's flags.
type largeFilesOptions struct {
	maxKB      int64
	enforceAll bool
}

func (o *largeFilesOptions) register(fs *flag.FlagSet) {
	fs.Int64Var(&o.maxKB, "max-kb", 500, "size limit in KB (1024 bytes), a number `N`")
	fs.BoolVar(&o.enforceAll, "enforce-all", false, "check every file given or staged, not only files being added")
}

// hookLargeFiles refuses files being added whose staged size is over the
// limit. The staged size is the blob git stores: for a Git LFS file that
// is the small pointer, so LFS files pass. An untracked file given by name
// is being added too: its size on disk counts. Files already committed are
// only checked with --enforce-all.
func hookLargeFiles(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var o largeFilesOptions
	files, err := parseHookArgs("hook large-files", o.register, args)
	if err != nil {
		return exitError, err
	}
	if o.maxKB <= 0 {
		return exitError, usageError{"--max-kb must be a positive number of KB", "hook large-files"}
	}
	repo, targets, err := hookTargets(ctx, files)
	if err != nil {
		return exitError, err
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
	var added map[string]bool
	if !o.enforceAll {
		if added, err = repo.addedFiles(ctx); err != nil {
			return exitError, err
		}
	}
	limit := o.maxKB * 1024
	over := 0
	for _, f := range targets {
		size, staged := sizes[f.rel]
		note := ""
		switch {
		case staged && !o.enforceAll && !added[f.rel]:
			continue // committed before: only --enforce-all checks it
		case !staged && f.abs == "":
			continue // no staged blob (a submodule)
		case !staged:
			// Untracked, given by name: it would be added as it is on disk.
			st, err := os.Stat(f.abs)
			if err != nil {
				return exitError, err
			}
			size, note = st.Size(), " (untracked: its size on disk)"
		}
		if size > limit {
			over++
			fmt.Fprintf(stdout, "%s: %d KB, over the %d KB limit%s\n", f.rel, (size+1023)/1024, o.maxKB, note)
		}
	}
	if over > 0 {
		fmt.Fprintf(stdout, "dagsec hook large-files: %s over %d KB; keep large files out of git (Git LFS, or an artifact store), or raise --max-kb\n", plural(over, "file"), o.maxKB)
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

func (b *branchFlag) register(fs *flag.FlagSet) {
	fs.Var(b, "branch", "protected branch `NAME` or glob such as release/*; repeatable (default: main, master)")
}

// defaultProtectedBranches are refused when no --branch is given.
var defaultProtectedBranches = []string{"main", "master"}

// hookProtectedBranch refuses a commit when HEAD is on a protected branch;
// a detached HEAD (rebase, bisect) is on no branch and passes.
func hookProtectedBranch(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var branches branchFlag
	if _, err := parseHookArgs("hook protected-branch", branches.register, args); err != nil { // file names, if any are passed, do not matter
		return exitError, err
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

// dockerfileHookOptions are the dockerfile hook's flags.
type dockerfileHookOptions struct{ policy, preset, blockOn string }

func (o *dockerfileHookOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.policy, "policy", "", "policy YAML `FILE` (its dockerfile stage decides what blocks)")
	presetFlag(fs, &o.preset, "policy preset")
	fs.StringVar(&o.blockOn, "block-on", "", "lowest `SEVERITY` that fails the hook (overrides the policy): critical, high, medium, low, info")
}

// hookDockerfile runs dagsec's Dockerfile hardening checks and gates them
// as the dockerfile stage does: findings at or above the policy's block_on
// fail the hook, lower ones are printed as warnings.
func hookDockerfile(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var o dockerfileHookOptions
	files, err := parseHookArgs("hook dockerfile", o.register, args)
	if err != nil {
		return exitError, err
	}
	pol, err := loadPolicy(o.policy, o.preset)
	if err != nil {
		return exitError, err
	}
	sp := pol.Stage(stages.Dockerfile)
	if o.blockOn != "" {
		sev, err := findings.ParseSeverity(o.blockOn)
		if err != nil {
			return exitError, usageError{"--block-on: " + err.Error(), "hook dockerfile"}
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
