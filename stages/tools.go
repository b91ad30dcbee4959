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
	// GoReplace are the replace directives of the tool's own go.mod
	// ("old => new version"), which a build that requires the tool as a
	// dependency must repeat: replaces only apply in the main module.
	GoReplace []string
	// LDFlags is added to -ldflags so the binary reports its own version.
	LDFlags string
	// BuildEnv is extra environment the build needs (GOEXPERIMENT, GOTOOLCHAIN).
	BuildEnv []string
	// Install holds shell commands the Dagger runner runs on Image before the
	// tool, for tools without an official image. Pinned like the image.
	Install []string
	// Debian names the package that provides the tool on a Debian host.
	Debian string
	// NPM names the folder under stages/npm holding the tool's package.json
	// and package-lock.json: the host installs it with `npm ci` into the
	// tools folder, and NPMBin is the tool's path inside that install.
	NPM, NPMBin string
	// ImageHome is where Install puts the tool's own files in its image
	// (ToolHome in a step's argv); InstallFiles are written there, by
	// name, before Install runs.
	ImageHome    string
	InstallFiles map[string][]byte
	// ImageBinary is the tool's path in its image when that is not on the
	// image's PATH (images whose entrypoint is /<tool>).
	ImageBinary string
	// Toolchain marks the Go toolchain itself: the host runs the go
	// command on PATH (the one the project builds with), the Dagger
	// runner the pinned image.
	Toolchain bool
	// Network says why the tool needs the network as dagsec runs it (a
	// vulnerability database, a rules registry, Go module downloads, a DAST
	// target); "" for none. A runner that can runs the others, and steps
	// that need none of it (Step.NoNetwork), with no network.
	Network string
}

// HelperImage runs dagsec's own small jobs in the Dagger module (reading
// image tarballs, probing staging's health): sh, tar and wget.
const HelperImage = "docker.io/library/busybox:1.37.0"

var tools = map[string]Tool{
	"gitleaks": {
		Name:      "gitleaks",
		Version:   "v8.30.1",
		Image:     "ghcr.io/gitleaks/gitleaks:v8.30.1",
		GoModule:  "github.com/zricethezav/gitleaks/v8",
		GoPackage: "github.com/zricethezav/gitleaks/v8",
		LDFlags:   "-X github.com/zricethezav/gitleaks/v8/version.Version=v8.30.1",
	},
	"go": {
		Name:    "go",
		Version: "1.26.8",
		// The Go image the module builds with; `go mod download` fills the
		// module cache syft reads licenses from.
		Image:     "docker.io/library/golang:1.26.8-bookworm",
		Toolchain: true,
		Network:   "go mod download fetches modules from the Go module proxy",
	},
	"trufflehog": {
		Name:    "trufflehog",
		Version: "v3.90.0",
		// goreleaser tags images with the version without its "v".
		Image:     "docker.io/trufflesecurity/trufflehog:3.90.0",
		GoModule:  "github.com/trufflesecurity/trufflehog/v3",
		GoPackage: "github.com/trufflesecurity/trufflehog/v3",
		// Both from trufflehog v3.90.0's go.mod.
		GoReplace: []string{
			"github.com/jpillora/overseer => github.com/trufflesecurity/overseer v1.2.8",
			"github.com/coinbase/waas-client-library-go => github.com/trufflesecurity/waas-client-library-go v1.0.9",
		},
		LDFlags: "-X github.com/trufflesecurity/trufflehog/v3/pkg/version.BuildVersion=3.90.0",
		// The image's entrypoint is a script that reshuffles arguments.
		ImageBinary: "/usr/bin/trufflehog",
		Network:     "verification calls each secret's service",
	},
	"spectral": {
		Name:    "spectral",
		Version: "6.16.3",
		Image:   "docker.io/stoplight/spectral:6.16.3",
		// The OWASP API Security ruleset from the same lockfile on both
		// runners: npm ci in the image (node's, which the image is built on).
		NPM: "spectral", NPMBin: "node_modules/.bin/spectral",
		ImageHome:    "/opt/dagsec-spectral",
		InstallFiles: npmFiles("spectral"),
		Install:      []string{"cd /opt/dagsec-spectral && npm ci --ignore-scripts --no-audit --no-fund --omit=dev"},
	},
	"gosec": {
		Name:      "gosec",
		Version:   "v2.30.0",
		Image:     "docker.io/securego/gosec:2.30.0",
		GoModule:  "github.com/securego/gosec/v2",
		GoPackage: "github.com/securego/gosec/v2/cmd/gosec",
		LDFlags:   "-X main.Version=2.30.0",
		Network:   "go/packages loads the code and may download its modules",
	},
	"govulncheck": {
		Name:    "govulncheck",
		Version: "v1.9.0",
		// No official image: the Go image the module also builds with, plus
		// the pinned govulncheck. Source mode needs the Go toolchain anyway.
		Image:     "docker.io/library/golang:1.26.8-bookworm",
		Install:   []string{"go install golang.org/x/vuln/cmd/govulncheck@v1.9.0"},
		GoModule:  "golang.org/x/vuln",
		GoPackage: "golang.org/x/vuln/cmd/govulncheck",
		Network:   "Go module downloads, and its online vulnerability database when no local one is given",
	},
	"osv-scanner": {
		Name:      "osv-scanner",
		Version:   "v2.6.0",
		Image:     "ghcr.io/google/osv-scanner:v2.6.0",
		GoModule:  "github.com/google/osv-scanner/v2",
		GoPackage: "github.com/google/osv-scanner/v2/cmd/osv-scanner",
		LDFlags:   "-X github.com/google/osv-scanner/v2/internal/version.OSVVersion=2.6.0",
		BuildEnv:  []string{"GOTOOLCHAIN=go1.27.3"},
		// goreleaser.dockerfile: COPY osv-scanner ./ (WORKDIR /).
		ImageBinary: "/osv-scanner",
		Network:     "the osv.dev databases",
	},
	"trivy": {
		Name:      "trivy",
		Version:   "v0.74.0",
		Image:     "docker.io/aquasec/trivy:0.74.0",
		GoModule:  "github.com/aquasecurity/trivy",
		GoPackage: "github.com/aquasecurity/trivy/cmd/trivy",
		LDFlags:   "-X github.com/aquasecurity/trivy/pkg/version/app.ver=0.74.0",
		BuildEnv:  []string{"GOEXPERIMENT=jsonv2"},
		Network:   "its vulnerability database and checks bundle",
	},
	"syft": {
		Name:      "syft",
		Version:   "v1.57.1",
		Image:     "docker.io/anchore/syft:v1.57.1",
		GoModule:  "github.com/anchore/syft",
		GoPackage: "github.com/anchore/syft/cmd/syft",
		LDFlags:   "-X main.version=1.57.1",
		// A scratch image: COPY syft / (syft's Dockerfile).
		ImageBinary: "/syft",
	},
	"tfsec": {
		Name:      "tfsec",
		Version:   "v1.28.14",
		Image:     "docker.io/aquasec/tfsec:v1.28.14",
		GoModule:  "github.com/aquasecurity/tfsec",
		GoPackage: "github.com/aquasecurity/tfsec/cmd/tfsec",
		LDFlags:   "-X github.com/aquasecurity/tfsec/version.Version=v1.28.14",
	},
	"bandit": {
		Name:    "bandit",
		Version: "1.6.2",
		// Debian's package on both runners, so host and image agree.
		Image:   "docker.io/library/debian:12.12-slim",
		Install: []string{"apt-get update && apt-get install -y --no-install-recommends bandit=1.6.2-2 && rm -rf /var/lib/apt/lists/*"},
		Debian:  "bandit",
	},
	"semgrep": {
		Name:    "semgrep",
		Version: "1.100.0",
		Image:   "docker.io/semgrep/semgrep:1.100.0",
		Network: "rulesets from the registry",
	},
	"checkov": {
		Name:    "checkov",
		Version: "3.2.255",
		Image:   "docker.io/bridgecrew/checkov:3.2.255",
	},
	"hadolint": {
		Name:    "hadolint",
		Version: "v2.12.0",
		Image:   "docker.io/hadolint/hadolint:v2.12.0-debian",
	},
	"grype": {
		Name:    "grype",
		Version: "v0.121.2",
		Image:   "docker.io/anchore/grype:v0.121.2",
		// A scratch image: COPY grype / (grype's Dockerfile). Not built for
		// the host: its database host is unreachable offline.
		ImageBinary: "/grype",
		Network:     "its vulnerability database",
	},
	"cosign": {
		Name:    "cosign",
		Version: "v2.6.1",
		Image:   "ghcr.io/sigstore/cosign/cosign:v2.6.1",
		// Built with ko: the binary is /ko-app/cosign.
		ImageBinary: "/ko-app/cosign",
		GoModule:    "github.com/sigstore/cosign/v2",
		GoPackage:   "github.com/sigstore/cosign/v2/cmd/cosign",
		LDFlags:     "-X sigs.k8s.io/release-utils/version.gitVersion=v2.6.1",
	},
	"wapiti": {
		Name:    "wapiti",
		Version: "3.0.4",
		// Debian's package on both runners, so host and image agree.
		Image:   "docker.io/library/debian:12.12-slim",
		Install: []string{"apt-get update && apt-get install -y --no-install-recommends wapiti=3.0.4+dfsg-2 && rm -rf /var/lib/apt/lists/*"},
		Debian:  "wapiti",
		Network: "the DAST target",
	},
	"zap": {
		Name:    "zap",
		Version: "2.16.1",
		Image:   "ghcr.io/zaproxy/zaproxy:2.16.1",
		Network: "the DAST target",
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
