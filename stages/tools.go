package stages

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// Tool is a pinned scanner: the version the host runner builds from the Go
// module proxy and the image the Dagger runner pulls. Both pins move together.
type Tool struct {
	Name    string
	Version string
	// Image is the official image at the pinned version. Override it for a
	// mirror with DAGSEC_IMAGE_<NAME> (e.g. DAGSEC_IMAGE_GITLEAKS) or the
	// module's image options.
	Image string
	// GoModule and GoPackage tell `dagsec tools install` how to build the tool
	// (empty for tools that are not Go programs).
	GoModule  string
	GoPackage string
	// LDFlags is added to -ldflags so the binary reports its own version.
	LDFlags string
	// BuildEnv is extra environment the build needs (GOEXPERIMENT, GOTOOLCHAIN).
	BuildEnv []string
}

var tools = map[string]Tool{
	"gitleaks": {
		Name:      "gitleaks",
		Version:   "v8.30.1",
		Image:     "ghcr.io/gitleaks/gitleaks:v8.30.1",
		GoModule:  "github.com/zricethezav/gitleaks/v8",
		GoPackage: "github.com/zricethezav/gitleaks/v8",
		LDFlags:   "-X github.com/zricethezav/gitleaks/v8/version.Version=v8.30.1",
	},
}

// LookupTool returns a tool's pins, with any image override applied.
func LookupTool(name string) (Tool, bool) {
	t, ok := tools[name]
	if !ok {
		return Tool{}, false
	}
	if img := os.Getenv(ImageEnv(name)); img != "" {
		t.Image = img
	}
	return t, true
}

// ImageEnv is the environment variable that overrides a tool's image.
func ImageEnv(tool string) string {
	return "DAGSEC_IMAGE_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(tool))
}

// ToolNames lists every pinned tool, sorted.
func ToolNames() []string {
	out := make([]string, 0, len(tools))
	for n := range tools {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CheckTools verifies that every tool named belongs to the stage.
func CheckTools(stage string, names []string) error {
	d, ok := Lookup(stage)
	if !ok {
		return fmt.Errorf("unknown stage %q", stage)
	}
	for _, n := range names {
		found := false
		for _, t := range d.Tools {
			if t == n {
				found = true
			}
		}
		if !found {
			if len(d.Tools) == 0 {
				return fmt.Errorf("stage %s has no tools yet, so tool %q cannot be chosen", stage, n)
			}
			return fmt.Errorf("unknown tool %q for stage %s (tools: %s)", n, stage, strings.Join(d.Tools, ", "))
		}
	}
	return nil
}
