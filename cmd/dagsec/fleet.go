package main

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/dashboard"
	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports"
	"github.com/dagsec/dagsec/stages"
)

// fleetOptions are dagsec fleet's flags.
type fleetOptions struct {
	repos, shard, out, policy, preset, stages, history, toolsDir, vulnDB string
	jobs                                                                 int
	noInstall, online, quiet                                             bool
}

func (o *fleetOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.repos, "repos", "", "`FILE` listing the repositories, one a line: URL[@REF] [NAME] (a local clone's folder, file://, https:// or ssh URL; # comments)")
	fs.IntVar(&o.jobs, "jobs", 2, "scan at most `N` repositories at once; each gets an equal share of the machine's tool budget")
	fs.StringVar(&o.shard, "shard", "", "scan only part `i/n` of the list (every n-th repository from the i-th), for n CI jobs whose folders `dagsec fleet merge` joins")
	fs.StringVar(&o.out, "out", "dagsec-fleet", "`DIR` for fleet.json, fleet.md, fleet.html and one report folder per repository")
	fs.StringVar(&o.policy, "policy", "", "policy YAML `FILE` for every repository (default: each repository's own "+policies.RepoFile+", else the preset)")
	presetFlag(fs, &o.preset, "policy preset; with a policy file, the preset it is applied over")
	fs.StringVar(&o.stages, "stages", "", "comma-separated `LIST` of code stages to run (default: "+strings.Join(stages.CodeStages, ",")+")")
	fs.StringVar(&o.history, "history", "", "`DIR` of earlier fleet folders: fleet.html then charts the organisation over time")
	toolsDirFlag(fs, &o.toolsDir)
	fs.BoolVar(&o.noInstall, "no-install", false, "do not build missing pinned tools; use PATH")
	fs.StringVar(&o.vulnDB, "vuln-db", "", "sca: local vulnerability database `DIR` (default: built from the pinned golang.org/x/vulndb into the tools folder)")
	fs.BoolVar(&o.online, "online", false, "let tools download their vulnerability databases")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the fleet's last line")
	alias(fs, "q", "quiet")
}

// fleetHistory reads the fleet history in dir, if any, and the targets
// fleet.html's charts judge against (pol's).
func fleetHistory(dir string, pol *policies.Policy) ([]fleet.HistoryRun, dashboard.Options, error) {
	opt := dashboard.Options{Targets: policyTargets(pol), ProductionBranch: pol.ProductionBranch}
	if dir == "" {
		return nil, opt, nil
	}
	runs, err := fleet.LoadHistory(dir)
	return runs, opt, err
}

func cmdFleet(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var o fleetOptions
	pos, err := parseFlags("fleet", o.register, args)
	if err != nil {
		return exitError, err
	}
	switch {
	case len(pos) > 0:
		return exitError, usageError{fmt.Sprintf("fleet takes no arguments (got %s): the repositories are in --repos FILE", strings.Join(pos, " ")), "fleet"}
	case o.repos == "":
		return exitError, usageError{"fleet needs --repos FILE", "fleet"}
	case o.jobs < 1 || o.jobs > 256:
		return exitError, usageError{fmt.Sprintf("--jobs %d: want 1 to 256", o.jobs), "fleet"}
	}
	var shard fleet.Shard
	if o.shard != "" {
		if shard, err = fleet.ParseShard(o.shard); err != nil {
			return exitError, usageError{"--shard: " + err.Error(), "fleet"}
		}
	}
	selected := slices.Clone(stages.CodeStages)
	if o.stages != "" {
		if selected, err = stages.ParseList(o.stages); err != nil {
			return exitError, usageError{"--stages: " + err.Error(), "fleet"}
		}
		for _, s := range selected {
			if !slices.Contains(stages.CodeStages, s) {
				return exitError, usageError{fmt.Sprintf("--stages: %s is not a code stage (%s): a fleet scans sources", s, strings.Join(stages.CodeStages, ", ")), "fleet"}
			}
		}
	}
	data, err := readfile.Read(o.repos, 16<<20)
	if err != nil {
		return exitError, err
	}
	all, err := fleet.ParseList(data, o.repos)
	if err != nil {
		return exitError, err
	}
	// The policy given must load before any clone; each repository's own
	// is loaded with its source.
	pol, err := loadPolicy(o.policy, o.preset)
	if err != nil {
		return exitError, err
	}
	history, dopt, err := fleetHistory(o.history, pol)
	if err != nil {
		return exitError, err
	}
	toolsDir := cmp.Or(o.toolsDir, host.DefaultToolsDir())
	inst := &host.Installer{Dir: toolsDir}
	if !o.quiet {
		inst.Progress = stderr
	}
	db, dbName, err := scanVulnDB(ctx, inst, pol, selected, o.vulnDB, o.online, o.noInstall)
	if err != nil {
		return exitError, err
	}
	work, err := os.MkdirTemp("", "dagsec-fleet-")
	if err != nil {
		return exitError, err
	}
	defer os.RemoveAll(work)

	s := &hostFleet{o: &o, inst: inst, stages: selected, db: db, dbName: dbName, work: work, limits: fleetLimits(o.jobs)}
	var writeErrs []error
	done := 0
	total := len(shard.Select(all))
	fr := fleet.Run(ctx, fleet.Config{All: all, Shard: shard, Jobs: o.jobs, Scan: s.scan, Runner: "host",
		Done: func(res fleet.RepoResult, rep *pipeline.Report) {
			done++
			// Each repository's folder is written as it finishes, so a
			// fleet stopped halfway keeps what it scanned.
			if err := writeRepoFolder(filepath.Join(o.out, res.Dir), rep); err != nil {
				writeErrs = append(writeErrs, fmt.Errorf("%s: %w", res.Name, err))
			}
			if !o.quiet {
				fmt.Fprintf(stderr, "[%*d/%d] %s\n", len(fmt.Sprint(total)), done, total, repoLine(res))
			}
		}})
	if len(writeErrs) > 0 {
		return exitError, writeErrs[0]
	}
	if err := writeFleetFiles(o.out, fr, history, dopt); err != nil {
		return exitError, err
	}
	printFleet(stdout, fr, o.out, o.quiet)
	if total == 0 {
		fmt.Fprintf(stderr, "dagsec: shard %s of %d repositories holds none: nothing scanned\n", shard, len(all))
	}
	return fr.ExitCode, nil
}

// fleetLimits shares the machine's tool budget among the repositories
// scanned at once.
func fleetLimits(jobs int) pipeline.Limits {
	d := pipeline.DefaultLimits()
	return pipeline.Limits{Jobs: max(d.Jobs/jobs, 1), MemoryMB: max(d.MemoryMB/int64(jobs), 512)}
}

func repoLine(r fleet.RepoResult) string {
	line := fmt.Sprintf("%s: %s (exit %d)", r.Name, fleet.StatusText(r.Status), r.ExitCode)
	if n := sumCounts(r.Counts); n > 0 {
		line += fmt.Sprintf(", %d findings", n)
	}
	if r.Error != "" {
		first, _, _ := strings.Cut(r.Error, "\n")
		line += ": " + first
	}
	return line
}

func sumCounts(c map[string]int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// printFleet prints the roll-up and the last line.
func printFleet(w io.Writer, fr *fleet.Report, out string, quiet bool) {
	ru := fr.Rollup
	if !quiet {
		for _, r := range fr.Repos {
			fmt.Fprintln(w, repoLine(r))
		}
		fmt.Fprintf(w, "%d repositories: %d passed, %d warned, %d blocked, %d error, %d scanned nothing\n",
			ru.Repos, ru.Passed, ru.Warned, ru.Blocked, ru.Error, ru.Skipped)
	}
	fmt.Fprintf(w, "fleet %s (exit %d): %s\n", fleet.StatusText(fr.Status), fr.ExitCode, filepath.Join(out, dashboard.FleetFile))
}

// writeRepoFolder writes a repository's report folder as scan does.
func writeRepoFolder(dir string, rep *pipeline.Report) error {
	_, err := writeOutputs(rep, dir, gitlabOptions("", "", ""))
	return err
}

func writeFleetFiles(dir string, fr *fleet.Report, history []fleet.HistoryRun, opt dashboard.Options) error {
	files, err := reports.FleetFiles(fr, history, opt)
	if err != nil {
		return err
	}
	return writeFiles(dir, files, false)
}

// hostFleet scans a fleet's repositories on this machine.
type hostFleet struct {
	o          *fleetOptions
	inst       *host.Installer
	stages     []string
	db, dbName string
	work       string
	limits     pipeline.Limits
}

func (h *hostFleet) scan(ctx context.Context, r fleet.Repo) (fleet.Scanned, error) {
	dir, cleanup, err := checkout(ctx, r, filepath.Join(h.work, r.Name))
	defer cleanup()
	if err != nil {
		return fleet.Scanned{}, err
	}
	commit, branch := gitHead(ctx, dir)
	file := h.o.policy
	if file == "" {
		if file, err = repoPolicy(dir); err != nil {
			return fleet.Scanned{}, err
		}
	}
	pol, err := loadPolicy(file, h.o.preset)
	if err != nil {
		return fleet.Scanned{}, err
	}
	runner, err := host.NewRunner(dir, h.inst)
	if err != nil {
		return fleet.Scanned{}, err
	}
	runner.AutoInstall, runner.DBDir = !h.o.noInstall, h.db
	rep, err := pipeline.Run(ctx, pipeline.Config{
		Runner: runner, Policy: pol, Stages: h.stages, Source: r.Spec(), VulnDB: h.db, VulnDBName: h.dbName,
		Offline: !h.o.online, Delivery: pipeline.Delivery{Branch: branch}, Limits: h.limits,
	})
	return fleet.Scanned{Report: rep, Commit: commit}, err
}

var hexRef = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// checkout gives the repository's files: a local clone named without a
// ref is scanned in place, as it is; anything else is cloned (shallow) at
// its ref into dest, removed by cleanup.
func checkout(ctx context.Context, r fleet.Repo, dest string) (dir string, cleanup func(), err error) {
	cleanup = func() { os.RemoveAll(dest) }
	url := r.URL
	if local, ok := fleet.LocalPath(r.URL); ok {
		abs, err := filepath.Abs(local)
		if err != nil {
			return "", cleanup, err
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return "", cleanup, fmt.Errorf("clone: %s is not a folder", local)
		}
		if r.Ref == "" {
			return abs, func() {}, nil
		}
		url = "file://" + abs // a local path ignores --depth
	}
	args := []string{"clone", "--quiet", "--depth", "1"}
	if r.Ref != "" {
		args = append(args, "--branch", r.Ref)
	}
	if _, err := git(ctx, "", append(args, "--", url, dest)...); err != nil {
		if !hexRef.MatchString(r.Ref) {
			return "", cleanup, fmt.Errorf("clone %s: %w", r.Spec(), err)
		}
		// A commit: fetch it alone (servers allow fetching reachable commits).
		os.RemoveAll(dest)
		for _, step := range [][]string{{"init", "--quiet", dest}, {"-C", dest, "fetch", "--quiet", "--depth", "1", url, r.Ref},
			{"-C", dest, "checkout", "--quiet", "FETCH_HEAD"}} {
			if _, err := git(ctx, "", step...); err != nil {
				return "", cleanup, fmt.Errorf("clone %s: %w", r.Spec(), err)
			}
		}
	}
	return dest, cleanup, nil
}

// gitHead is the commit and branch checked out in dir ("" when unknown: not
// a git repository, a detached HEAD).
func gitHead(ctx context.Context, dir string) (commit, branch string) {
	commit, _ = git(ctx, dir, "rev-parse", "HEAD")
	branch, _ = git(ctx, dir, "symbolic-ref", "--short", "-q", "HEAD")
	return commit, branch
}

// git runs git without prompts (a private repository without credentials
// fails instead of waiting for a password) and returns its trimmed output.
// Credentials come from git's credential helpers or a GIT_ASKPASS program
// the caller set (one that reads a token from the environment), never
// from the command line.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if os.Getenv("GIT_ASKPASS") == "" {
		cmd.Env = append(cmd.Env, "GIT_ASKPASS=") // no desktop password dialog (SSH_ASKPASS) either
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %s", args[0], gitMessage(errb.String(), err))
	}
	return strings.TrimSpace(out.String()), nil
}

// gitMessage is the line of git's stderr that says what went wrong (its
// fatal: line, not the warnings before it).
func gitMessage(stderr string, err error) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "fatal: ") || strings.HasPrefix(l, "error: ") {
			return strings.TrimSpace(l)
		}
	}
	if msg := strings.TrimSpace(stderr); msg != "" {
		return msg
	}
	return err.Error()
}

type fleetMergeOptions struct{ out, history, policy, preset string }

func registerFleetMerge(fs *flag.FlagSet, o *fleetMergeOptions) {
	fs.StringVar(&o.out, "out", "dagsec-fleet", "`DIR` for the merged fleet folder (the shards' repository folders are copied into it)")
	fs.StringVar(&o.history, "history", "", "`DIR` of earlier fleet folders: fleet.html then charts the organisation over time")
	fs.StringVar(&o.policy, "policy", "", "policy YAML `FILE` whose targets fleet.html's charts show")
	presetFlag(fs, &o.preset, "policy preset whose targets fleet.html's charts show")
}

// cmdFleetMerge joins shards' fleet folders into one.
func cmdFleetMerge(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var o fleetMergeOptions
	pos, err := parseFlags("fleet merge", func(fs *flag.FlagSet) { registerFleetMerge(fs, &o) }, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) == 0 {
		return exitError, usageError{"fleet merge takes the shards' fleet folders (SHARD_DIR...)", "fleet merge"}
	}
	pol, err := loadPolicy(o.policy, o.preset)
	if err != nil {
		return exitError, err
	}
	hist, dopt, err := fleetHistory(o.history, pol)
	if err != nil {
		return exitError, err
	}
	parts := make([]*fleet.Report, len(pos))
	for i, dir := range pos {
		hr, err := fleet.LoadFolder(dir)
		if err != nil {
			return exitError, err
		}
		parts[i] = hr.Fleet
	}
	merged, err := fleet.Merge(parts)
	if err != nil {
		return exitError, err
	}
	for i, p := range parts {
		for _, r := range p.Repos {
			if err := copyFolder(filepath.Join(pos[i], r.Dir), filepath.Join(o.out, r.Dir)); err != nil {
				return exitError, err
			}
		}
	}
	if err := writeFleetFiles(o.out, merged, hist, dopt); err != nil {
		return exitError, err
	}
	printFleet(stdout, merged, o.out, false)
	return merged.ExitCode, nil
}

// copyFolder copies a report folder's files (not subfolders) into dst,
// replacing the files of an earlier run there.
func copyFolder(src, dst string) error {
	a, errA := filepath.Abs(src)
	b, errB := filepath.Abs(dst)
	if errA == nil && errB == nil && a == b {
		return nil // merged into a shard's own folder
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("shard folder: %w", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if files[e.Name()], err = readfile.Read(filepath.Join(src, e.Name()), pipeline.MaxReportSize); err != nil {
			return err
		}
	}
	return writeFiles(dst, files, true)
}
