package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports"
	"github.com/dagsec/dagsec/stages"
	"github.com/dagsec/dagsec/vex"
)

// scanOptions are dagsec scan's flags.
type scanOptions struct {
	policy, preset, stages, out, toolsDir, vulnDB, suppressions string
	imagesLock                                                  string
	failOn, format                                              string
	exitCode, jobs, goAnalysers, memoryMB                       int
	history, noInstall, quiet, noColor, online, noCache         bool
	baselines, vexFiles                                         listFiles
	delivery                                                    deliveryFlags
}

// scanFormats are what --format prints on stdout.
var scanFormats = []string{"json", "sarif", "markdown"}

func (o *scanOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.policy, "policy", "", "policy YAML `FILE` (default: PATH/"+policies.RepoFile+" when there is one, else the preset)")
	fs.StringVar(&o.preset, "preset", "", "policy preset `NAME`: "+strings.Join(policies.PresetNames(), ", ")+"; with a policy file, the preset it is applied over")
	fs.StringVar(&o.stages, "stages", "", "comma-separated `LIST` of stages to run (default: the code stages "+strings.Join(stages.CodeStages, ",")+")")
	fs.StringVar(&o.out, "out", "dagsec-report", "`DIR` for report.json, results.sarif, summary.md and the other reports")
	fs.StringVar(&o.failOn, "fail-on", "", "every stage blocks on findings at or above `SEVERITY` (critical, high, medium, low, info), whatever the policy's block_on and warn_only say")
	fs.IntVar(&o.exitCode, "exit-code", exitBlocked, "exit code `N` of a run a gate blocked (0 to 125; 2 stays for errors); report.json keeps exit_code 1")
	fs.StringVar(&o.format, "format", "", "also print the report on stdout as `FORMAT`: "+strings.Join(scanFormats, ", ")+" (report.json, the merged SARIF log, summary.md); progress and results then go to stderr")
	fs.BoolVar(&o.quiet, "quiet", false, "print no progress, stages or findings: only the reason of an error and the final status line")
	alias(fs, "q", "quiet")
	fs.BoolVar(&o.noColor, "no-color", false, "no colour on a terminal (NO_COLOR=1 does the same)")
	fs.BoolVar(&o.history, "history", false, "secrets: scan git history as well as the working tree")
	fs.IntVar(&o.jobs, "jobs", 0, "run at most `N` tools at once (default: the policy's concurrency.jobs, else four a core)")
	fs.IntVar(&o.memoryMB, "memory-mb", 0, "let the tools running at once hold at most `MB` of memory together, by each run's estimate (default: the policy's concurrency.memory_mb, else half the machine's memory)")
	fs.IntVar(&o.goAnalysers, "go-analysers", 0, "also run at most `N` Go analysers (gosec, govulncheck) at once (default: the policy's concurrency.go_analysers, else no cap but memory)")
	toolsDirFlag(fs, &o.toolsDir)
	fs.BoolVar(&o.noInstall, "no-install", false, "do not build missing pinned tools; use PATH")
	fs.BoolVar(&o.noCache, "no-cache", false, "run every tool, even one whose inputs did not change since an earlier run (the result cache is in dagsec/results beside the tools folder)")
	fs.StringVar(&o.vulnDB, "vuln-db", "", "sca: local vulnerability database `DIR` (default: built from the pinned golang.org/x/vulndb into the tools folder)")
	fs.BoolVar(&o.online, "online", false, "let tools download their vulnerability databases (trivy, osv-scanner ecosystems beyond Go)")
	o.delivery.register(fs)
	fs.Var(&o.baselines, "baseline", "an earlier run to compare with: its report.json (or `REPORT` folder holding one) or dagsec SARIF (repeatable for results-N.sarif); gates block only on findings new since it")
	fs.StringVar(&o.suppressions, "suppressions", "", "`FILE` of suppressions (the policy's suppressions: list), added to the policy's")
	fs.Var(&o.vexFiles, "vex", "OpenVEX `FILE` whose not_affected and fixed statements suppress the advisory in their packages, with their justification and expiry (repeatable)")
	fs.StringVar(&o.imagesLock, "images-lock", "", "images lock `FILE` (default: PATH/images.lock when there is one): each tag of the selected stages' tools must still have its locked digest")
}

// check validates the flags that need no file read.
func (o *scanOptions) check() error {
	if o.format != "" && !slices.Contains(scanFormats, o.format) {
		return usageError{fmt.Sprintf("--format %q: want %s", o.format, strings.Join(scanFormats, ", ")), "scan"}
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"jobs", o.jobs}, {"go-analysers", o.goAnalysers}} {
		if n.v < 0 || n.v > 256 {
			return usageError{fmt.Sprintf("--%s %d: want 1 to 256", n.flag, n.v), "scan"}
		}
	}
	if o.memoryMB < 0 {
		return usageError{fmt.Sprintf("--memory-mb %d: want a positive number of megabytes", o.memoryMB), "scan"}
	}
	if o.exitCode < 0 || o.exitCode > 125 || o.exitCode == exitError {
		return usageError{fmt.Sprintf("--exit-code %d: want 0 to 125, and not 2, which means a tool or input error", o.exitCode), "scan"}
	}
	return nil
}

func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var o scanOptions
	pos, err := parseFlags("scan", o.register, args)
	if err != nil {
		return exitError, err
	}
	if err := o.check(); err != nil {
		return exitError, err
	}
	if len(pos) > 1 {
		return exitError, usageError{fmt.Sprintf("scan takes one PATH, got %d: %s", len(pos), strings.Join(pos, " ")), "scan"}
	}
	source := "."
	if len(pos) == 1 {
		source = pos[0]
	}
	// Human output goes to stdout unless the report does.
	human := stdout
	if o.format != "" {
		human = stderr
	}
	prog := startProgress(newDisplay(stderr, o.noColor), o.quiet)
	defer prog.stop()

	pol, err := o.loadPolicy(source, prog)
	if err != nil {
		return exitError, err
	}
	var base *baseline.Baseline
	if len(o.baselines) > 0 {
		files := make([]string, len(o.baselines))
		for i, b := range o.baselines {
			if files[i], err = reportFile("--baseline", b); err != nil {
				return exitError, err
			}
		}
		if base, err = baseline.LoadFiles(files...); err != nil {
			return exitError, err
		}
	}
	selected := slices.Clone(stages.CodeStages)
	if o.stages != "" {
		if selected, err = stages.ParseList(o.stages); err != nil {
			return exitError, usageError{"--stages: " + err.Error(), "scan"}
		}
	}
	if err := o.delivery.needsTarget(selected, pol); err != nil {
		return exitError, err
	}
	pins, lockInfo, err := scanImagesLock(ctx, o.imagesLock, source, pol, selected, prog)
	if err != nil {
		return exitError, err
	}
	toolsDir := cmp.Or(o.toolsDir, host.DefaultToolsDir())
	inst := &host.Installer{Dir: toolsDir, Progress: prog}
	runner, err := host.NewRunner(source, inst)
	if err != nil {
		return exitError, err
	}
	runner.AutoInstall = !o.noInstall
	db, dbName, err := scanVulnDB(ctx, inst, pol, selected, o.vulnDB, o.online, o.noInstall)
	if err != nil {
		return exitError, err
	}
	runner.DBDir = db
	if !o.noCache {
		runner.ResultsDir = host.ResultsDir(toolsDir)
	}
	delivery, err := o.delivery.apply(runner)
	if err != nil {
		return exitError, err
	}

	rep, err := pipeline.Run(ctx, pipeline.Config{
		Runner: runner, Policy: pol, Stages: selected, Source: source, History: o.history,
		VulnDB: db, VulnDBName: dbName, Offline: !o.online, Delivery: delivery, Baseline: base,
		ImagePins: pins, ImagesLock: lockInfo,
		Progress: prog.event, Limits: pipeline.Limits{Jobs: o.jobs, MemoryMB: int64(o.memoryMB), GoAnalysers: o.goAnalysers},
	})
	prog.stop()
	if err != nil {
		return exitError, err
	}
	files, err := writeOutputs(rep, o.out, gitlabOptions("", "", delivery.Target))
	if err != nil {
		return exitError, err
	}
	if o.format != "" {
		if err := printReport(stdout, rep, files, o.format); err != nil {
			return exitError, err
		}
	}
	code := rep.ExitCode
	if code == exitBlocked {
		code = o.exitCode
	}
	printResults(newDisplay(human, o.noColor), stderr, rep, o.out, code, o.quiet)
	return code, nil
}

// loadPolicy is the policy the flags select, with --suppressions added
// and --fail-on applied.
func (o *scanOptions) loadPolicy(source string, notes io.Writer) (*policies.Policy, error) {
	file := o.policy
	if file == "" {
		var err error
		if file, err = repoPolicy(source); err != nil {
			return nil, err
		}
	}
	pol, err := loadPolicy(file, o.preset)
	if err != nil {
		return nil, err
	}
	if file != o.policy {
		// A policy nobody named on the command line should not apply unseen.
		fmt.Fprintf(notes, "policy: %s (the source's own; --policy FILE overrides it)\n", file)
	}
	if o.suppressions != "" {
		sups, err := policies.ReadSuppressions(o.suppressions)
		if err != nil {
			return nil, err
		}
		pol.Suppressions = append(pol.Suppressions, sups...)
	}
	for _, f := range o.vexFiles {
		sups, err := vex.ReadFile(f, time.Now())
		if err != nil {
			return nil, err
		}
		pol.Suppressions = append(pol.Suppressions, sups...)
	}
	if o.failOn != "" {
		sev, err := findings.ParseSeverity(o.failOn)
		if err != nil {
			return nil, usageError{"--fail-on: " + err.Error(), "scan"}
		}
		if err := pol.FailOn(sev); err != nil {
			return nil, err
		}
		pol.Name += " with --fail-on " + sev.String()
	}
	return pol, nil
}

// printReport prints the report folder's file of a --format on stdout;
// sarif is the whole merged log, however many files GitHub needs.
func printReport(w io.Writer, rep *pipeline.Report, files map[string][]byte, format string) error {
	var out []byte
	switch format {
	case "json":
		out = files[reports.RunReportFile]
	case "markdown":
		out = files[reports.SummaryFile]
	case "sarif":
		var err error
		if out, err = rep.SARIF(); err != nil {
			return err
		}
	}
	_, err := w.Write(out)
	return err
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
