package stages

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
)

// CoverageTarget is one thing a stage's detection found to scan: a Go
// module, a dependency manifest or lockfile, a Dockerfile, an IaC folder or
// file, the Python code, an OpenAPI definition, the working tree. A stage accounts for each: some
// tool scanned it, or the report says why none did.
type CoverageTarget struct {
	Kind string `json:"kind"`
	Path string `json:"path"`
}

func (t CoverageTarget) String() string { return t.Kind + " " + t.Path }

// Target kinds.
const (
	TargetTree     = "working tree"
	TargetHistory  = "git history"
	TargetGoModule = "Go module"
	TargetPython   = "Python code"
	TargetCode     = "code in other languages"
	TargetManifest = "manifest"
	TargetIaC      = "IaC"
	TargetDocker   = "Dockerfile"
	TargetOpenAPI  = "OpenAPI definition"
)

// otherCodePatterns are code semgrep reads that no other SAST tool does.
var otherCodePatterns = []string{"**/*.js", "**/*.jsx", "**/*.ts", "**/*.tsx", "**/*.java", "**/*.kt", "**/*.rb",
	"**/*.php", "**/*.cs", "**/*.c", "**/*.cc", "**/*.cpp", "**/*.rs", "**/*.scala", "**/*.swift"}

// licensePatterns are the files syft reads licenses from.
var licensePatterns = append(slices.Clone(lockPatterns), "**/package.json", "**/pyproject.toml", "**/setup.py")

// StageTargets is what a code stage's detection finds to scan; ok is false
// for a stage that does not account for coverage (delivery stages, whose
// targets are an image or a URL).
func StageTargets(ctx context.Context, stage string, opts Options, probe Probe) (_ []CoverageTarget, ok bool, err error) {
	files := func(kind string, patterns ...string) ([]CoverageTarget, error) {
		fs, err := FindFiles(ctx, probe, patterns...)
		var out []CoverageTarget
		for _, f := range fs {
			out = append(out, CoverageTarget{kind, f})
		}
		return out, err
	}
	present := func(kind string, patterns ...string) ([]CoverageTarget, error) {
		fs, err := FindFiles(ctx, probe, patterns...)
		if err != nil || len(fs) == 0 {
			return nil, err
		}
		return []CoverageTarget{{kind, "."}}, nil
	}
	var out []CoverageTarget
	switch stage {
	case Secrets:
		if out, err = present(TargetTree, "*", "**/*"); err == nil && opts.History {
			if h, herr := probe.Exists(ctx, ".git"); herr == nil && h {
				out = append(out, CoverageTarget{TargetHistory, ".git"})
			}
		}
	case SAST:
		layout, lerr := FindGoModules(ctx, probe)
		if lerr != nil {
			return nil, true, lerr
		}
		for _, m := range layout.Modules {
			if len(m.Packages) > 0 {
				out = append(out, CoverageTarget{TargetGoModule, m.Dir})
			}
		}
		for _, k := range []struct {
			kind     string
			patterns []string
		}{{TargetPython, pythonPatterns}, {TargetCode, otherCodePatterns}} {
			t, ferr := present(k.kind, k.patterns...)
			if ferr != nil {
				return nil, true, ferr
			}
			out = append(out, t...)
		}
	case SCA:
		out, err = files(TargetManifest, lockPatterns...)
	case Licenses:
		out, err = files(TargetManifest, licensePatterns...)
	case IaC:
		out, err = iacTargets(ctx, probe)
	case Dockerfile:
		out, err = files(TargetDocker, DockerfilePatterns...)
	case API:
		var docs []string
		docs, err = openAPIFiles(ctx, opts, probe)
		for _, d := range docs {
			out = append(out, CoverageTarget{TargetOpenAPI, d})
		}
	default:
		return nil, false, nil
	}
	return out, true, err
}

// iacTargets are the Terraform folders and the other IaC files (Helm charts
// by folder, Kubernetes and CloudFormation manifests) of the source.
func iacTargets(ctx context.Context, probe Probe) ([]CoverageTarget, error) {
	tf, err := FindFiles(ctx, probe, terraformPatterns...)
	if err != nil {
		return nil, err
	}
	var out []CoverageTarget
	for _, d := range Dirs(tf) {
		out = append(out, CoverageTarget{TargetIaC, d})
	}
	cands, err := FindFiles(ctx, probe, iacPatterns...)
	if err != nil {
		return nil, err
	}
	tfDirs := Dirs(tf)
	charts := map[string]bool{}
	for _, f := range cands {
		if path.Base(f) == "Chart.yaml" {
			charts[path.Dir(f)] = true
			out = append(out, CoverageTarget{TargetIaC, path.Dir(f)})
		}
	}
	for i, f := range cands {
		if i >= maxProbeFiles || path.Base(f) == "Chart.yaml" || slices.Contains(tfDirs, path.Dir(f)) {
			continue
		}
		if inChart(f, charts) {
			continue
		}
		data, err := probe.ReadFile(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		if looksLikeIaC(data) {
			out = append(out, CoverageTarget{TargetIaC, f})
		}
	}
	return out, nil
}

func inChart(f string, charts map[string]bool) bool {
	for d := path.Dir(f); d != "." && d != "/"; d = path.Dir(d) {
		if charts[d] {
			return true
		}
	}
	return charts["."]
}

// Covers lists what a plan scans of its stage's targets: its Go module
// (gosec, govulncheck), the lockfiles it was given (osv-scanner, in
// CoversOnly), the
// Terraform (tfsec), the Python code (bandit), or everything.
func (p Plan) Covers(targets []CoverageTarget) []CoverageTarget {
	if p.CoversOnly != nil {
		var out []CoverageTarget
		for _, t := range targets {
			if slices.Contains(p.CoversOnly, t.Path) {
				out = append(out, t)
			}
		}
		return out
	}
	tool := p.ToolName()
	var keep func(CoverageTarget) bool
	switch {
	case (tool == "gosec" || tool == "govulncheck") && p.Target != "":
		keep = func(t CoverageTarget) bool {
			return (t.Kind == TargetGoModule && t.Path == p.Target) || (t.Kind == TargetManifest && t.Path == path.Join(p.Target, "go.mod"))
		}
	case tool == "gosec" || tool == "govulncheck":
		keep = func(t CoverageTarget) bool { return t.Kind == TargetGoModule || path.Base(t.Path) == "go.mod" }
	case tool == "bandit":
		keep = func(t CoverageTarget) bool { return t.Kind == TargetPython }
	case tool == "tfsec":
		keep = func(t CoverageTarget) bool {
			return t.Kind == TargetIaC && !strings.HasSuffix(t.Path, ".yaml") && !strings.HasSuffix(t.Path, ".yml") && !strings.HasSuffix(t.Path, ".json")
		}
	}
	if keep == nil {
		return targets
	}
	var out []CoverageTarget
	for _, t := range targets {
		if keep(t) {
			out = append(out, t)
		}
	}
	return out
}
