package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// vulnDBName is the pseudo-tool `tools install` builds the offline Go
// vulnerability database under.
const vulnDBName = "vulndb"

func toolsDirFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "tools-dir", "", "`DIR` of pinned tool builds (default: $"+host.ToolsDirEnv+", else dagsec/tools in the user cache folder, ~/.cache on Linux)")
}

// toolsArgs parses the flags and TOOL names of tools install and list.
func toolsArgs(name string, args []string, stderr io.Writer) (*host.Installer, []string, error) {
	var dir string
	names, err := parseFlags(name, func(fs *flag.FlagSet) { toolsDirFlag(fs, &dir) }, args)
	if err != nil {
		return nil, nil, err
	}
	dir = cmp.Or(dir, host.DefaultToolsDir())
	known := knownTools()
	for _, n := range names {
		if !slices.Contains(known, n) {
			msg := fmt.Sprintf("unknown tool %q", n)
			if s := policies.Suggest(n, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return nil, nil, usageError{msg + " (tools: " + strings.Join(known, ", ") + ")", name}
		}
	}
	return &host.Installer{Dir: dir, Progress: stderr}, names, nil
}

func knownTools() []string { return append(stages.ToolNames(), vulnDBName) }

// cmdToolsInstall builds pinned tools (all that can be built here by
// default) and the offline Go vulnerability database.
func cmdToolsInstall(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	inst, names, err := toolsArgs("tools install", args, stderr)
	if err != nil {
		return exitError, err
	}
	if len(names) == 0 {
		// Everything that can be built here; image-only tools cannot.
		for _, n := range stages.ToolNames() {
			if t, _ := stages.LookupTool(n); t.GoModule != "" || t.NPM != "" {
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
		case t.NPM != "":
		case t.Toolchain:
			return exitError, fmt.Errorf("%s is the Go toolchain: the host runs the go command on PATH, the Dagger module %s", t.Name, t.Image)
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
}

// cmdToolsList lists pinned tools and how this machine has them.
func cmdToolsList(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	inst, names, err := toolsArgs("tools list", args, stderr)
	if err != nil {
		return exitError, err
	}
	if len(names) == 0 {
		names = knownTools()
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
		case t.NPM != "":
		case t.Toolchain:
			state = "the go command on PATH (image in the Dagger module)"
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
