package main

import (
	"context"
	"flag"
	"io"
	"strings"
)

const hookExits = "Exit codes: 0 nothing found, 1 a problem found, 2 a tool or input error."

// commands is dagsec's command tree; help pages, suggestions and
// dispatch all read it.
func commands() *command {
	root := &command{
		about: "dagsec runs a repository's security pipeline (secrets, SAST, dependency CVEs, licenses, IaC, " +
			"Dockerfile lint; with a saved image or a running staging also build checks, image scan and DAST) " +
			"and judges it by a policy. The Dagger module runs the whole pipeline in containers.",
		examples: []string{
			"dagsec scan .",
			"dagsec scan --fail-on high --stages sast,sca .",
			"dagsec help scan",
		},
	}
	root.subs = []*command{
		{
			name: "scan", args: "[PATH]",
			summary: "run the pipeline's stages on a source folder",
			about: "Runs the code stages (or the --stages named) on PATH (default .) and writes the report folder " +
				"(--out): report.json, results.sarif, summary.md, junit.xml, GitLab and GitHub files, metrics and SBOMs. " +
				"Without --policy the source's own " + ".dagsec.yaml" + " applies when there is one, else the preset." +
				"\n\nWhile tools run it shows which tool is running on what, and for how long: on a terminal in one " +
				"line updated in place, in CI (the CI variable set) or when not a terminal as plain lines. Then one " +
				"line per stage, the findings that blocked a gate, and a last line naming summary.md. Colour only " +
				"on a terminal, never with NO_COLOR set or --no-color." +
				"\n\nThe host runs what needs no container engine: build and image need --image-tar, staging and " +
				"dast --target (or --deploy-staging-cmd), production --deploy-prod-cmd.",
			examples: []string{
				"dagsec scan .",
				"dagsec scan --preset strict --stages sast,sca,licenses --out reports .",
				"dagsec scan --fail-on high --exit-code 3 .",
				"dagsec scan --format json -q . > report.json",
				"dagsec scan --baseline main-report/ .",
				"dagsec scan --stages staging,dast --target http://localhost:8080/ .",
				"dagsec scan --stages build,image --image-tar app.tar .",
			},
			flags: func(fs *flag.FlagSet) { new(scanOptions).register(fs) },
			run:   cmdScan,
		},
		{
			name: "report", args: "REPORT.json",
			summary: "convert a saved run report for a CI system or a reader",
			about: "Converts a saved run report (report.json, or the report folder holding it): github prints the " +
				"annotations, appends the summary to $GITHUB_STEP_SUMMARY and writes $GITHUB_OUTPUT; gitlab writes " +
				"the GitLab security and Code Quality reports into --out (default .); junit, markdown, sarif, json " +
				"and html (report.html, the dashboard; with --history DIR of earlier runs, charts over time) print " +
				"on stdout, or write into --out.",
			examples: []string{
				"dagsec report --format sarif dagsec-report/report.json > results.sarif",
				"dagsec report --format gitlab --out . dagsec-report",
				"dagsec report --format github dagsec-report/report.json",
				"dagsec report --format html --history reports/ --out dagsec-report dagsec-report",
			},
			exits: "Exit codes: 0 converted, 2 a bad report or flag.",
			flags: func(fs *flag.FlagSet) { new(reportOptions).register(fs) },
			run:   cmdReport,
		},
		{
			name: "metrics", args: "[REPORT.json]",
			summary: "security metrics of saved runs, judged against the policy's targets",
			about: "With --history DIR: the metrics of every saved run in DIR (mean time to remediate, open " +
				"criticals on the production branch, secret leaks per quarter, scan coverage, dependency and base " +
				"image age), each judged against the policy's targets; exit 1 when one is missed. When DIR holds " +
				"fleet folders (dagsec fleet's --out, one a run), each repository's metrics and the organisation's: " +
				"MTTR over every repository's remediated findings, open criticals summed, leaks per quarter summed, " +
				"the share of all runs that scanned every stage, the stalest manifests and oldest base image; exit 1 " +
				"when a target of the organisation or of a repository is missed. With one REPORT.json (or its " +
				"report folder): that run's metrics, exit 0.",
			examples: []string{
				"dagsec metrics --history reports/ --format markdown",
				"dagsec metrics --history reports/ --branch release --policy .dagsec.yaml",
				"dagsec metrics --history fleets/ --format markdown",
				"dagsec metrics dagsec-report/report.json",
			},
			exits: "Exit codes: 0 every target met (or one report), 1 a target missed, 2 a bad report or flag.",
			flags: func(fs *flag.FlagSet) { new(metricsOptions).register(fs) },
			run:   cmdMetrics,
		},
		{
			name: "fleet", args: "--repos FILE",
			summary: "scan many repositories into one roll-up and fleet.html; subcommands",
			about: "Scans every repository of --repos FILE (one a line: URL[@REF] [NAME]; a local clone's folder " +
				"without a ref is scanned as it is, anything else is cloned shallow at its ref) with the code stages, " +
				"--jobs at a time, and writes --out: fleet.json (each repository's verdict, the roll-up), fleet.md, " +
				"fleet.html and one report folder per repository (report.json, report.html, SARIF, ...). Each " +
				"repository's own .dagsec.yaml applies unless --policy is given. A repository that " +
				"cannot be cloned or scanned is that repository's error, never the fleet's crash." +
				"\n\nThe fleet's verdict is its worst repository's: error over blocked over nothing scanned over " +
				"warned over passed. --shard i/n scans every n-th repository from the i-th, so n CI jobs share a " +
				"fleet; dagsec fleet merge joins their folders.",
			examples: []string{
				"dagsec fleet --repos repos.txt",
				"dagsec fleet --repos repos.txt --jobs 4 --stages secrets,sast,sca --out fleet",
				"dagsec fleet --repos repos.txt --shard 2/4 --out shard-2",
				"dagsec fleet merge --out fleet shard-1 shard-2 shard-3 shard-4",
			},
			exits: "Exit codes: 0 every repository passed, 1 a gate blocked, 2 a repository errored (or bad input), 3 a repository scanned nothing.",
			flags: func(fs *flag.FlagSet) { new(fleetOptions).register(fs) },
			run:   cmdFleet,
			subs: []*command{
				{
					name: "fleet merge", args: "SHARD_DIR...",
					summary: "join the fleet folders of a fleet's shards",
					about: "Joins the folders `dagsec fleet --shard i/n` wrote into --out: every shard of one list " +
						"exactly once (a missing or repeated shard, or a shard of another list, is an error), the " +
						"repositories' report folders copied, the roll-up and verdict computed anew. It exits as " +
						"the whole fleet would.",
					examples: []string{
						"dagsec fleet merge --out fleet shard-1 shard-2",
						"dagsec fleet merge --history fleets/ --out fleets/2026-12-07 shard-*",
					},
					exits: "Exit codes: 0 every repository passed, 1 a gate blocked, 2 a repository errored (or bad shards), 3 a repository scanned nothing.",
					flags: func(fs *flag.FlagSet) { registerFleetMerge(fs, new(fleetMergeOptions)) },
					run:   cmdFleetMerge,
				},
			},
		},
		{
			name: "policy", summary: "check or print a policy",
			about: "A policy is YAML: per stage the tools, block_on, warn_only, timeouts and more; suppressions; " +
				"metrics targets. See the README's Policies section.",
			examples: []string{"dagsec policy validate", "dagsec policy show --preset strict"},
			exits:    "Exit codes: 0 valid, 2 a bad policy or flag.",
			subs: []*command{
				{
					name: "policy validate", args: "[FILE]",
					summary: "check a policy file (default: .dagsec.yaml here) as scan loads it",
					about: "Checks FILE (default: " + ".dagsec.yaml" + " in this folder) as dagsec scan loads it: " +
						"errors name the file, line and field. A suppression already past its expires date is a " +
						"warning naming its line: the file stays valid, but its findings count again.",
					examples: []string{
						"dagsec policy validate",
						"dagsec policy validate --preset strict policy.yaml",
					},
					exits: "Exit codes: 0 valid (warnings on stderr), 2 a bad policy or flag.",
					flags: func(fs *flag.FlagSet) { policyValidateFlags(fs, new(string)) },
					run:   cmdPolicyValidate,
				},
				{
					name:    "policy show",
					summary: "print the effective policy, every setting spelled out",
					about: "Prints the effective policy of a preset, or of a policy file merged over its preset, " +
						"with every setting of every stage written out; the output validates and loads back to " +
						"the same policy.",
					examples: []string{
						"dagsec policy show --preset strict",
						"dagsec policy show --policy .dagsec.yaml",
					},
					exits: "Exit codes: 0 printed, 2 a bad policy or flag.",
					flags: func(fs *flag.FlagSet) { new(policyShowOptions).register(fs) },
					run:   cmdPolicyShow,
				},
			},
		},
		{
			name: "tools", summary: "install or list the pinned scanners",
			about: "dagsec builds its pinned Go scanners from the Go module proxy into the tools folder on first " +
				"use; bandit and wapiti come from Debian; semgrep, checkov, hadolint and ZAP run in the Dagger module only.",
			examples: []string{"dagsec tools install", "dagsec tools list"},
			exits:    "Exit codes: 0 done, 2 a tool could not be installed or a bad flag.",
			subs: []*command{
				{
					name: "tools install", args: "[TOOL...]",
					summary: "build pinned tools (default: every one buildable here, and the vulnerability database)",
					about: "Builds the pinned TOOLs (default: every Go scanner, Spectral with npm ci from its " +
						"committed lockfile, and vulndb, the offline Go vulnerability database) into the tools folder; " +
						"tools already built are kept. TOOL is one of: " +
						strings.Join(knownTools(), ", ") + ".",
					examples: []string{
						"dagsec tools install",
						"dagsec tools install gitleaks gosec vulndb",
						"dagsec tools install --tools-dir /opt/dagsec/tools trivy",
					},
					exits: "Exit codes: 0 installed, 2 a tool could not be installed or a bad flag.",
					flags: func(fs *flag.FlagSet) { toolsDirFlag(fs, new(string)) },
					run:   cmdToolsInstall,
				},
				{
					name: "tools list", args: "[TOOL...]",
					summary: "list pinned tools, their versions and images, and where this machine has them",
					about:   "Lists each pinned TOOL (default: all) with its version, its image and its state here.",
					examples: []string{
						"dagsec tools list",
						"dagsec tools list gitleaks",
					},
					exits: "Exit codes: 0 listed, 2 an unknown tool or a bad flag.",
					flags: func(fs *flag.FlagSet) { toolsDirFlag(fs, new(string)) },
					run:   cmdToolsList,
				},
			},
		},
		{
			name: "images", summary: "pin the images dagsec runs to their digests",
			about: "images.lock pins every image dagsec runs (each tool's, the helper's, and any replacement from " +
				"the policy's images: or a DAGSEC_IMAGE_<TOOL> variable) to the digest its tag had when locked. With a " +
				"lock at the source's root (or --images-lock), the Dagger module runs IMAGE@DIGEST and dagsec scan " +
				"checks the tags against their registries. Registry credentials come from the Docker config " +
				"(~/.docker/config.json and its credential helpers).",
			examples: []string{"dagsec images lock", "dagsec images verify"},
			exits:    imagesExits,
			subs: []*command{
				{
					name:    "images lock",
					summary: "resolve every image to its digest and write images.lock",
					about: "Asks each image's registry for the digest of its tag and writes the lock (--out, default " +
						"images.lock), sorted, so the same images give the same file. Commit it at the source's root.",
					examples: []string{
						"dagsec images lock",
						"dagsec images lock --policy .dagsec.yaml --out images.lock",
					},
					exits: "Exit codes: 0 written, 2 an image could not be resolved, or a bad policy or flag.",
					flags: func(fs *flag.FlagSet) { new(imagesOptions).registerLock(fs) },
					run:   cmdImagesLock,
				},
				{
					name:    "images verify",
					summary: "check that every locked tag still has its digest",
					about: "Checks that the lock holds every image a run uses, as the run names it, and asks each " +
						"registry for the tag's digest now: a tag that moved, or a registry that does not answer, fails.",
					examples: []string{
						"dagsec images verify",
						"dagsec images verify --images-lock ci/images.lock",
					},
					exits: "Exit codes: 0 every tag has its locked digest, 2 a tag moved, a registry failed, a stale or bad lock, or a bad flag.",
					flags: func(fs *flag.FlagSet) { new(imagesOptions).registerVerify(fs) },
					run:   cmdImagesVerify,
				},
			},
		},
		{
			name: "hook", summary: "pre-commit hooks",
			about: "Checks for the files about to be committed, run on this machine without a container engine " +
				"(pre-commit hooks: see .pre-commit-hooks.yaml). FILEs are the files pre-commit passes, read from " +
				"the working tree; with no FILE, the files staged in git's index are checked, as staged. Run from " +
				"inside the git repository. Files after -- are files even when named like flags.",
			examples: []string{
				"dagsec hook secrets",
				"dagsec hook large-files --max-kb 1024 big.bin",
			},
			exits: hookExits,
			subs: []*command{
				{
					name: "hook secrets", args: "[FILE...]",
					summary: "secrets in the files: gitleaks (dagsec's pinned build), values never printed",
					about: "Runs dagsec's pinned gitleaks with dagsec's extended rules (or the repository's " +
						".gitleaks.toml, or --config) over the files as they will be committed. Each leak is named " +
						"by file, line and rule, never by its value; .gitleaksignore is honoured.",
					examples: []string{"dagsec hook secrets", "dagsec hook secrets config/app.env"},
					flags:    func(fs *flag.FlagSet) { new(gitleaksHookOptions).register(fs) },
					run:      hookSecrets,
				},
				{
					name: "hook private-key", args: "[FILE...]",
					summary: "private keys in the files: gitleaks' private-key rule",
					about:   "Runs gitleaks' private-key rule only over the files as they will be committed.",
					examples: []string{
						"dagsec hook private-key",
						"dagsec hook private-key deploy/id_ed25519",
					},
					flags: func(fs *flag.FlagSet) { new(gitleaksHookOptions).register(fs) },
					run:   hookPrivateKey,
				},
				{
					name: "hook large-files", args: "[FILE...]",
					summary: "files being added that are over a size limit",
					about: "Refuses files being added that are over --max-kb: staged new files by their staged " +
						"size (a Git LFS pointer is small, so LFS files pass), and untracked files given as FILE " +
						"by their size on disk. Files already committed are checked only with --enforce-all.",
					examples: []string{
						"dagsec hook large-files",
						"dagsec hook large-files --max-kb 1024 --enforce-all",
					},
					flags: func(fs *flag.FlagSet) { new(largeFilesOptions).register(fs) },
					run:   hookLargeFiles,
				},
				{
					name:    "hook protected-branch",
					summary: "refuse commits on protected branches",
					about: "Refuses a commit when HEAD is on a protected branch (default: main, master); a " +
						"detached HEAD passes. File arguments are ignored.",
					examples: []string{
						"dagsec hook protected-branch",
						"dagsec hook protected-branch --branch main --branch 'release/*'",
					},
					flags: func(fs *flag.FlagSet) { new(branchFlag).register(fs) },
					run:   hookProtectedBranch,
				},
				{
					name: "hook dockerfile", args: "[FILE...]",
					summary: "dagsec's Dockerfile hardening checks, gated by the policy's dockerfile stage",
					about: "Runs dagsec's Dockerfile hardening checks (root user, latest tag, no digest, no " +
						"HEALTHCHECK) on the Dockerfiles given or staged; findings at or above the dockerfile " +
						"stage's block_on (default preset: high) fail the hook, lower ones are warnings.",
					examples: []string{
						"dagsec hook dockerfile",
						"dagsec hook dockerfile --block-on medium Dockerfile",
					},
					flags: func(fs *flag.FlagSet) { new(dockerfileHookOptions).register(fs) },
					run:   hookDockerfile,
				},
				{
					name: "hook merge-conflict", args: "[FILE...]",
					summary: "conflict markers (<<<<<<<, =======, >>>>>>>) in the files, while a merge or rebase is in progress",
					about: "Refuses files with a line that starts with a git conflict marker, as pre-commit-hooks' " +
						"check-merge-conflict does: only while a merge or rebase is in progress, unless " +
						"--assume-in-merge. Each marker is named by file and line.",
					examples: []string{
						"dagsec hook merge-conflict",
						"dagsec hook merge-conflict --assume-in-merge README.md",
					},
					flags: func(fs *flag.FlagSet) { new(mergeConflictOptions).register(fs) },
					run:   hookMergeConflict,
				},
			},
		},
		{
			name: "version", summary: "print dagsec's version (also -v, --version)",
			examples: []string{"dagsec version", "dagsec -v"},
			exits:    "Exit code: 0.",
			run: func(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
				if len(args) > 0 {
					return exitError, usageError{"version takes no arguments", "version"}
				}
				return printVersion(stdout), nil
			},
		},
	}
	help := &command{
		name: "help", args: "[COMMAND...]",
		summary:  "show a command's help (also COMMAND --help, -h)",
		about:    "Shows the help of a command or subcommand: its flags with their descriptions and examples.",
		examples: []string{"dagsec help scan", "dagsec help policy validate", "dagsec scan --help"},
		exits:    "Exit codes: 0 shown, 2 an unknown command.",
	}
	help.run = cmdHelp(root)
	root.subs = append(root.subs, help)
	for _, c := range root.subs {
		if len(c.subs) > 0 { // a group's list names its subcommands
			c.summary += ": " + strings.Join(c.subWords(), ", ")
		}
		for _, s := range c.subs { // a subcommand exits as its group unless it says
			if s.exits == "" {
				s.exits = c.exits
			}
		}
	}
	return root
}
