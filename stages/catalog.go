// Package stages knows, for each stage of the pipeline, which tools run,
// from which pinned image, with which argv, and how their reports become
// findings. It has no Dagger types: runners execute the steps it builds.
package stages

import (
	"fmt"
	"slices"
	"strings"
)

// Stage names, in pipeline order. They are interfaces: policies, --stages and
// reports use them as written.
const (
	Secrets    = "secrets"
	SAST       = "sast"
	SCA        = "sca"
	Licenses   = "licenses"
	IaC        = "iac"
	Dockerfile = "dockerfile"
	API        = "api"
	Build      = "build"
	Image      = "image"
	Staging    = "staging"
	DAST       = "dast"
	Production = "production"
)

// Def declares a stage: what it needs before it may start and which tools
// it can run. Needs name stages; a stage starts only when every selected
// stage it needs has finished without blocking.
type Def struct {
	Name  string
	Needs []string
	// After are stages whose output this one reads without needing their
	// gate: it runs after them even when they blocked (pipeline.Node.After).
	After []string
	Tools []string // every tool the stage knows, default ones first
	// Default are the tools run when the policy names none; nil means all
	// of Tools. Tools left out run only where asked (tfsec).
	Default []string
	// Implemented is false for stages whose tools are not wired yet; selecting
	// one is an input error rather than a silent pass.
	Implemented bool
}

var defs = []Def{
	{Name: Secrets, Tools: []string{"gitleaks", "trufflehog"}, Implemented: true},
	{Name: SAST, Tools: []string{"gosec", "bandit", "semgrep"}, Implemented: true},
	// The code stages (secrets to dockerfile) all start at once: none reads
	// another's output, and `scan` runs them in parallel.
	{Name: SCA, Tools: []string{"govulncheck", "osv-scanner", "trivy"}, Implemented: true},
	{Name: Licenses, Tools: []string{"syft"}, Implemented: true},
	{Name: IaC, Tools: []string{"trivy", "checkov", "tfsec"}, Default: []string{"trivy", "checkov"}, Implemented: true},
	{Name: Dockerfile, Tools: []string{"hadolint", "trivy", HardeningTool}, Implemented: true},
	// The OpenAPI audit: Spectral with the OWASP API Security ruleset, and
	// a score gate (policy min_score).
	{Name: API, Tools: []string{"spectral"}, Implemented: true},
	// build's own checks read the built image: its config (dagsec) and its
	// environment (gitleaks).
	{Name: Build, Needs: []string{Secrets, SAST, IaC, Dockerfile, API}, Tools: []string{HardeningTool, "gitleaks"}, Implemented: true},
	// A blocked build still made an image: scanning it shows everything
	// wrong at once. Staging and production need build's gate.
	{Name: Image, After: []string{Build}, Tools: []string{"trivy", "grype", "syft", "cosign"}, Default: []string{"trivy", "grype", "syft"}, Implemented: true},
	{Name: Staging, Needs: []string{Build, SCA, Licenses, Image}, Implemented: true},
	{Name: DAST, Needs: []string{Staging}, Tools: []string{"zap", "wapiti"}, Implemented: true},
	// Production needs every stage before it: it deploys only when all of
	// them passed (or were disabled by the policy).
	{Name: Production, Needs: []string{Secrets, SAST, IaC, Dockerfile, API, Build, SCA, Licenses, Image, Staging, DAST}, Implemented: true},
}

// SBOM files the licenses stage writes next to the report.
const (
	SBOMCycloneDX = "sbom.cdx.json"
	SBOMSPDX      = "sbom.spdx.json"
)

// HardeningTool names dagsec's own Dockerfile hardening checks in reports.
const HardeningTool = "dagsec"

// CodeStages are the stages that read only the source; they run in parallel.
var CodeStages = []string{Secrets, SAST, SCA, Licenses, IaC, Dockerfile, API}

// DeliveryStages follow the code stages: they build, scan and run the image
// and deploy it. They need a runner that is also an engine (pipeline.Engine).
var DeliveryStages = []string{Build, Image, Staging, DAST, Production}

// SBOMImageCycloneDX is the image's SBOM the image stage writes.
const SBOMImageCycloneDX = "sbom-image.cdx.json"

// DefaultTools are the tools a stage runs when the policy names none.
func (d Def) DefaultTools() []string {
	if d.Default != nil {
		return slices.Clone(d.Default)
	}
	return slices.Clone(d.Tools)
}

// All returns every stage definition in pipeline order.
func All() []Def { return slices.Clone(defs) }

// Names returns every stage name in pipeline order.
func Names() []string {
	out := make([]string, len(defs))
	for i, d := range defs {
		out[i] = d.Name
	}
	return out
}

// Lookup returns the definition of a stage.
func Lookup(name string) (Def, bool) {
	for _, d := range defs {
		if d.Name == name {
			return d, true
		}
	}
	return Def{}, false
}

// Implemented returns the names of stages that can run today, in order.
func Implemented() []string {
	var out []string
	for _, d := range defs {
		if d.Implemented {
			out = append(out, d.Name)
		}
	}
	return out
}

// InOrder returns the stage names in pipeline order, the order every
// report lists stages in whichever runner ran them; unknown names keep
// their places after the known ones.
func InOrder(names []string) []string {
	rank := func(n string) int {
		i := slices.IndexFunc(defs, func(d Def) bool { return d.Name == n })
		if i < 0 {
			return len(defs)
		}
		return i
	}
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int { return rank(a) - rank(b) })
	return out
}

// ParseList turns "secrets,sast" into validated stage names in pipeline
// order. Unknown or not yet implemented stages are errors.
func ParseList(list string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		d, ok := Lookup(n)
		if !ok {
			return nil, fmt.Errorf("unknown stage %q (stages: %s)", n, strings.Join(Names(), ", "))
		}
		if !d.Implemented {
			return nil, fmt.Errorf("stage %q has no tools yet (available: %s)", n, strings.Join(Implemented(), ", "))
		}
		want[n] = true
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no stage named in %q", list)
	}
	var out []string
	for _, d := range defs {
		if want[d.Name] {
			out = append(out, d.Name)
		}
	}
	return out, nil
}
