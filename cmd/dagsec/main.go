// Command dagsec runs the dagsec pipeline's steps on this machine (the host
// runner) and manages policies and pinned tools.
//
// Exit codes: 0 passed, 1 a gate blocked, 2 a tool or input error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

const (
	exitPassed  = 0
	exitBlocked = 1
	exitError   = 2
)

const usage = `dagsec: a DevSecOps pipeline; this command runs its steps on the host.

Usage:
  dagsec scan [--policy FILE] [--preset NAME] [--stages LIST] [--out DIR] [--history]
              [--vuln-db DIR] [--online] [--baseline REPORT]... [--suppressions FILE] [PATH]
  dagsec policy validate [FILE]        (default: .dagsec.yaml in this folder)
  dagsec policy show [--preset NAME | --policy FILE]
  dagsec scan ... [--image-tar FILE] [--target URL] [--openapi FILE] [--branch NAME]
              [--deploy-staging-cmd CMD [--deploy-staging-url URL]] [--deploy-prod-cmd CMD]
              [--deploy-env NAME]...
  dagsec report --format github|gitlab|junit|markdown|sarif|json [--out DIR]
                [--commit SHA] [--image REF] [--target URL] REPORT.json
  dagsec metrics --history DIR [--policy FILE | --preset NAME] [--branch NAME]
                 [--format json|markdown|openmetrics]
  dagsec metrics REPORT.json
  dagsec hook NAME [flags] [FILE...]   (pre-commit hooks: secrets, private-key,
              large-files, protected-branch, dockerfile)
  dagsec tools install [--tools-dir DIR] [TOOL...]
  dagsec tools list [--tools-dir DIR]
  dagsec version

scan without --policy applies PATH/.dagsec.yaml when there is one.

Exit codes: 0 passed, 1 a gate blocked, 2 a tool or input error.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is bad input on the command line: exit 2 with the usage hint.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	var (
		code int
		err  error
	)
	switch args[0] {
	case "scan":
		code, err = cmdScan(ctx, args[1:], stdout, stderr)
	case "policy":
		code, err = cmdPolicy(args[1:], stdout)
	case "tools":
		code, err = cmdTools(ctx, args[1:], stdout, stderr)
	case "report":
		code, err = cmdReport(args[1:], stdout, stderr)
	case "hook":
		code, err = cmdHook(ctx, args[1:], stdout, stderr)
	case "metrics":
		code, err = cmdMetrics(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintf(stdout, "dagsec %s\n", pipeline.Version)
		return exitPassed
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitPassed
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	if err != nil {
		fmt.Fprintf(stderr, "dagsec: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprint(stderr, "\n"+usage)
		}
		return exitError
	}
	return code
}

// parseInterspersed lets flags follow positional arguments
// (`dagsec scan . --out r`), as users of most CLIs expect.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func loadPolicy(file, preset string) (*policies.Policy, error) {
	if file != "" {
		return policies.Load(file, preset)
	}
	if preset == "" {
		preset = "default"
	}
	return policies.Preset(preset)
}

// repoPolicy returns the source's own policy file (policies.RepoFile at its
// root), or "" when it has none. Only a regular file counts: a link could
// point out of the source, and a folder or device is a mistake to report.
func repoPolicy(source string) (string, error) {
	if fi, err := os.Stat(source); err != nil || !fi.IsDir() {
		return "", nil // not a folder: the runner reports that
	}
	p := filepath.Join(source, policies.RepoFile)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read policy: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", fmt.Errorf("policy %s is a symlink; it must be a regular file (or pass --policy FILE)", p)
	case fi.IsDir():
		return "", fmt.Errorf("policy %s is a folder, not a file (or pass --policy FILE)", p)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("policy %s is not a regular file (or pass --policy FILE)", p)
	}
	return p, nil
}

func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("scan")
	policyFile := fs.String("policy", "", "policy YAML file (default: PATH/"+policies.RepoFile+" when there is one, else the preset)")
	preset := fs.String("preset", "", "policy preset: "+strings.Join(policies.PresetNames(), ", "))
	stageList := fs.String("stages", "", "comma-separated stages to run (default: the code stages "+strings.Join(stages.CodeStages, ",")+")")
	out := fs.String("out", "dagsec-report", "folder for report.json, results.sarif and summary.md")
	history := fs.Bool("history", false, "secrets: scan git history as well as the working tree")
	toolsDir := fs.String("tools-dir", host.DefaultToolsDir(), "folder of pinned tool builds")
	noInstall := fs.Bool("no-install", false, "do not build missing pinned tools; use PATH")
	quiet := fs.Bool("quiet", false, "print only the final status line")
	vulnDB := fs.String("vuln-db", "", "sca: local vulnerability database folder (default: built from the pinned golang.org/x/vulndb into the tools folder)")
	online := fs.Bool("online", false, "let tools download their vulnerability databases (trivy, osv-scanner ecosystems beyond Go)")
	var dl deliveryFlags
	dl.register(fs)
	var baselines listFiles
	fs.Var(&baselines, "baseline", "previous report.json or dagsec SARIF (repeatable for results-N.sarif): gates block only on findings new since it")
	suppressions := fs.String("suppressions", "", "file of suppressions (the policy's suppressions: list), added to the policy's")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) > 1 {
		return exitError, usageError{fmt.Sprintf("scan takes one PATH, got %d: %s", len(pos), strings.Join(pos, " "))}
	}
	source := "."
	if len(pos) == 1 {
		source = pos[0]
	}

	file := *policyFile
	if file == "" {
		if file, err = repoPolicy(source); err != nil {
			return exitError, err
		}
	}
	pol, err := loadPolicy(file, *preset)
	if err != nil {
		return exitError, err
	}
	if file != *policyFile && !*quiet {
		// A policy nobody named on the command line should not apply unseen.
		fmt.Fprintf(stderr, "policy: %s (the source's own; --policy FILE overrides it)\n", file)
	}
	if *suppressions != "" {
		sups, err := policies.ReadSuppressions(*suppressions)
		if err != nil {
			return exitError, err
		}
		pol.Suppressions = append(pol.Suppressions, sups...)
	}
	var base *baseline.Baseline
	if len(baselines) > 0 {
		if base, err = baseline.LoadFiles(baselines...); err != nil {
			return exitError, err
		}
	}
	selected := slices.Clone(stages.CodeStages)
	if *stageList != "" {
		if selected, err = stages.ParseList(*stageList); err != nil {
			return exitError, usageError{"--stages: " + err.Error()}
		}
	}
	progress := stderr
	if *quiet {
		progress = io.Discard
	}
	inst := &host.Installer{Dir: *toolsDir, Progress: progress}
	runner, err := host.NewRunner(source, inst)
	if err != nil {
		return exitError, err
	}
	runner.AutoInstall = !*noInstall
	db, dbName, err := scanVulnDB(ctx, inst, pol, selected, *vulnDB, *online, *noInstall)
	if err != nil {
		return exitError, err
	}
	runner.DBDir = db
	delivery, err := dl.apply(runner)
	if err != nil {
		return exitError, err
	}

	rep, err := pipeline.Run(ctx, pipeline.Config{
		Runner: runner, Policy: pol, Stages: selected, Source: source, History: *history,
		VulnDB: db, VulnDBName: dbName, Offline: !*online, Delivery: delivery, Baseline: base,
	})
	if err != nil {
		return exitError, err
	}
	if err := writeOutputs(rep, *out, gitlabOptions("", "", delivery.Target)); err != nil {
		return exitError, err
	}
	if !*quiet {
		for _, s := range rep.Stages {
			line := fmt.Sprintf("%-11s %-8s", s.Name, s.Status)
			if s.Reason != "" {
				line += " " + s.Reason
			}
			fmt.Fprintln(stdout, line)
		}
		if e := rep.Err(); e != nil {
			fmt.Fprintf(stderr, "dagsec: %v\n", e)
		}
	}
	fmt.Fprintf(stdout, "dagsec: %s (exit %d); reports in %s\n", rep.Status, rep.ExitCode, *out)
	return rep.ExitCode, nil
}

// scanVulnDB picks the local vulnerability database for sca: the one given,
// else (offline, when sca runs) the pinned Go database, built on first use.
// It returns the folder and what its VERSION file says it holds.
func scanVulnDB(ctx context.Context, inst *host.Installer, pol *policies.Policy, selected []string, given string, online, noInstall bool) (dir, name string, err error) {
	if given != "" {
		if dir, err = filepath.Abs(given); err != nil {
			return "", "", err
		}
	} else {
		sca := len(selected) == 0 || slices.Contains(selected, stages.SCA)
		if online || !sca || !pol.Stage(stages.SCA).Enabled {
			return "", "", nil
		}
		if noInstall && !inst.VulnDBReady() {
			return "", "", fmt.Errorf("sca needs a local vulnerability database offline: run `dagsec tools install vulndb`, pass --vuln-db DIR or --online")
		}
		if dir, err = inst.EnsureVulnDB(ctx); err != nil {
			return "", "", fmt.Errorf("sca: building the offline vulnerability database: %w (pass --vuln-db DIR or --online)", err)
		}
	}
	st, err := host.ReadVulnDB(dir)
	if err != nil {
		return "", "", fmt.Errorf("vulnerability database %s: %w", dir, err)
	}
	return dir, st.String(), nil
}

func cmdPolicy(args []string, stdout io.Writer) (int, error) {
	if len(args) == 0 {
		return exitError, usageError{"policy needs a subcommand: validate or show"}
	}
	switch args[0] {
	case "validate":
		fs := newFlagSet("policy validate")
		preset := fs.String("preset", "", "preset the file is applied over")
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return exitError, err
		}
		if len(pos) > 1 {
			return exitError, usageError{"policy validate takes one FILE"}
		}
		var file string
		if len(pos) == 1 {
			file = pos[0]
		} else {
			// The same check scan makes, so what validates here is what scan loads.
			if file, err = repoPolicy("."); err != nil {
				return exitError, err
			}
			if file == "" {
				return exitError, usageError{"policy validate: no FILE given and no " + policies.RepoFile + " here"}
			}
		}
		p, err := policies.Load(file, *preset)
		if err != nil {
			return exitError, err
		}
		base := p.Extends
		if base == "" {
			base = policies.DefaultPreset
		}
		fmt.Fprintf(stdout, "%s: valid policy (extends %s)\n", file, base)
		return exitPassed, nil
	case "show":
		fs := newFlagSet("policy show")
		preset := fs.String("preset", "", "preset to show: "+strings.Join(policies.PresetNames(), ", "))
		file := fs.String("policy", "", "policy file to show, merged over its preset")
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return exitError, err
		}
		if len(pos) > 0 {
			return exitError, usageError{"policy show takes no arguments"}
		}
		p, err := loadPolicy(*file, *preset)
		if err != nil {
			return exitError, err
		}
		b, err := p.Marshal()
		if err != nil {
			return exitError, err
		}
		stdout.Write(b)
		return exitPassed, nil
	}
	return exitError, usageError{fmt.Sprintf("unknown policy subcommand %q", args[0])}
}

// vulnDBName is the pseudo-tool `tools install` builds the offline Go
// vulnerability database under.
const vulnDBName = "vulndb"

func cmdTools(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return exitError, usageError{"tools needs a subcommand: install or list"}
	}
	fs := newFlagSet("tools " + args[0])
	dir := fs.String("tools-dir", host.DefaultToolsDir(), "folder of pinned tool builds")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitError, err
	}
	inst := &host.Installer{Dir: *dir, Progress: stderr}
	known := append(stages.ToolNames(), vulnDBName)
	names := pos
	for _, n := range names {
		if !slices.Contains(known, n) {
			return exitError, usageError{fmt.Sprintf("unknown tool %q (tools: %s)", n, strings.Join(known, ", "))}
		}
	}
	switch args[0] {
	case "install":
		if len(names) == 0 {
			// Everything that can be built here; image-only tools cannot.
			for _, n := range stages.ToolNames() {
				if t, _ := stages.LookupTool(n); t.GoModule != "" {
					names = append(names, n)
				}
			}
			names = append(names, vulnDBName)
		}
		for _, n := range names {
			if n == vulnDBName {
				p, err := inst.EnsureVulnDB(ctx)
				if err != nil {
					return exitError, err
				}
				fmt.Fprintf(stdout, "%s %s installed: %s\n", vulnDBName, stages.VulnDBVersion, p)
				continue
			}
			t, _ := stages.LookupTool(n)
			switch {
			case inst.Installed(t):
				fmt.Fprintf(stdout, "%s %s already installed: %s\n", t.Name, t.Version, inst.Path(t))
				continue
			case t.GoModule == "" && t.Debian != "":
				return exitError, fmt.Errorf("%s %s is not a Go tool: install the Debian package %s (apt-get install %s)", t.Name, t.Version, t.Debian, t.Debian)
			case t.GoModule == "":
				return exitError, fmt.Errorf("%s %s cannot be installed here; the Dagger module runs it from %s", t.Name, t.Version, t.Image)
			}
			p, err := inst.Ensure(ctx, t)
			if err != nil {
				return exitError, err
			}
			fmt.Fprintf(stdout, "%s %s installed: %s\n", t.Name, t.Version, p)
		}
		return exitPassed, nil
	case "list":
		if len(names) == 0 {
			names = known
		}
		for _, n := range names {
			if n == vulnDBName {
				state := "not installed"
				if inst.VulnDBReady() {
					state = inst.VulnDBPath()
				}
				fmt.Fprintf(stdout, "%-12s %-9s %-45s %s\n", vulnDBName, stages.VulnDBVersion[:7]+"…", stages.VulnDBModule, state)
				continue
			}
			t, _ := stages.LookupTool(n)
			state := "not installed"
			switch {
			case inst.Installed(t):
				state = inst.Path(t)
			case t.GoModule == "" && t.Debian == "":
				state = "image only (Dagger module)"
			case t.GoModule == "":
				if p, err := exec.LookPath(t.Name); err == nil {
					state = p + " (Debian " + t.Debian + ")"
				} else {
					state = "not installed (Debian package " + t.Debian + ")"
				}
			}
			fmt.Fprintf(stdout, "%-12s %-9s %-45s %s\n", t.Name, t.Version, t.Image, state)
		}
		return exitPassed, nil
	}
	return exitError, usageError{fmt.Sprintf("unknown tools subcommand %q", args[0])}
}
