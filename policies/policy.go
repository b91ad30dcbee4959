// Package policies reads the YAML policy that says, per stage, which tools
// run and from which severity findings block, and judges stage results
// against it.
package policies

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// Status is a stage's outcome. The values are interfaces: reports print them.
type Status string

const (
	StatusPassed  Status = "passed"
	StatusWarned  Status = "warned"
	StatusBlocked Status = "blocked"
	StatusError   Status = "error"
	StatusSkipped Status = "skipped"
)

// ErrorAction is what a tool error does to a stage.
type ErrorAction string

const (
	ErrorBlock ErrorAction = "block" // fail closed: the stage errors
	ErrorWarn  ErrorAction = "warn"
)

// StagePolicy is the effective policy of one stage.
type StagePolicy struct {
	Enabled bool
	// Tools to run; empty means the stage's default tools
	// (stages.Def.DefaultTools), which leave out tools such as tfsec that
	// run only when named.
	Tools []string
	// BlockOn is the lowest severity that blocks.
	BlockOn     findings.Severity
	WarnOnly    bool
	OnToolError ErrorAction
	// Timeout applies to each tool run; PerTool may set a tool's own.
	Timeout time.Duration
	// PerTool holds settings of single tools (timeout, on_error); nil
	// means none. A file's map replaces the base's.
	PerTool map[string]ToolPolicy
	// Config and Baseline are paths relative to the scanned source; "" is unset.
	Config   string
	Baseline string
	// History is for secrets only: scan git history too.
	History bool
	// MinScore (api only) is the lowest API score (0-100) that passes.
	MinScore int
	// NoVerify is for secrets only (verify: false): trufflehog does not
	// check the secrets it finds with their services.
	NoVerify bool
	// Rulesets (sast only) are semgrep configs: registry names like
	// p/owasp-top-ten or paths inside the source; empty means the stage's
	// default.
	Rulesets []string
	// UnreachableSeverity (sca only): the severity given to a known
	// vulnerability the code never calls; zero means the stage's default.
	UnreachableSeverity findings.Severity
	// DBRefresh (sca only): how often vulnerability databases are refreshed;
	// zero means the stage's default.
	DBRefresh time.Duration
	// Licenses (licenses only): the license policy. Unknown "" means the
	// stage's default.
	Licenses stages.LicensePolicy
	// MaxBaseAge (build only): the oldest the built image's base may be,
	// e.g. 720h; zero means the stage's default (30 days).
	MaxBaseAge time.Duration
	// Severity overrides the severity tools give, by rule id or "tool/rule"
	// (see OverrideSeverity); nil means none. A file's map replaces the
	// base's.
	Severity map[string]findings.Severity
}

// clone deep-copies the slices, so a copy handed out cannot change the original.
func (sp StagePolicy) clone() StagePolicy {
	sp.Tools = slices.Clone(sp.Tools)
	sp.Rulesets = slices.Clone(sp.Rulesets)
	sp.Licenses.Allow = slices.Clone(sp.Licenses.Allow)
	sp.Licenses.Deny = slices.Clone(sp.Licenses.Deny)
	sp.Severity = maps.Clone(sp.Severity)
	sp.PerTool = maps.Clone(sp.PerTool)
	return sp
}

// Policy is an effective policy: a preset with a file's overrides applied.
type Policy struct {
	// Name is the preset name, or the file path for a loaded file.
	Name string
	// Extends is the base preset as the file or caller named it; "" means
	// the implicit default (and is what the default preset itself has).
	Extends          string
	ProductionBranch string
	// Stages has every stage of stages.Names() after Load, Parse or Preset.
	Stages map[string]StagePolicy
	// Suppressions accept known findings until they expire, in the order
	// they apply (Suppress): the base's (presets have none), then
	// the file's.
	Suppressions []Suppression
	// Targets are the goals the metrics report measures against.
	Targets Targets
	// Images replace pinned images, by tool name or HelperImageKey, for
	// registry mirrors; nil means none (presets set none).
	Images map[string]string
	// Concurrency bounds the tool runs a run has going at once; zero
	// fields keep the runner's defaults.
	Concurrency Concurrency
}

// DefaultPreset is the base of a file that names no other.
const DefaultPreset = "default"

// RepoFile is the repository's own policy, at the scanned source's root; it
// applies when no policy file is given.
const RepoFile = ".dagsec.yaml"

// MaxSize caps a policy file; anything larger is not a hand-written policy.
const MaxSize = 1 << 20

//go:embed presets/*.yaml
var presetFS embed.FS

// presetOrder is also the load order: a preset may only extend an earlier one.
var presetOrder = []string{DefaultPreset, "strict", "audit"}

// PresetNames lists the built-in presets.
func PresetNames() []string { return slices.Clone(presetOrder) }

func isPreset(name string) bool { return slices.Contains(presetOrder, name) }

func unknownPresetMsg(name string) string {
	return fmt.Sprintf("unknown preset %q (presets: %s)", name, strings.Join(presetOrder, ", "))
}

var loadPresets = sync.OnceValues(func() (map[string]*Policy, error) {
	out := map[string]*Policy{}
	for _, name := range presetOrder {
		file := "presets/" + name + ".yaml"
		data, err := presetFS.ReadFile(file)
		if err != nil {
			return nil, err
		}
		raw, errs := decode(data, file)
		base, ext := strictest(), ""
		if raw != nil && raw.extends != nil {
			ext = *raw.extends
			b, ok := out[ext]
			if !ok {
				errs = append(errs, &Error{File: file, Line: raw.extendsLine, Msg: fmt.Sprintf("preset extends %q, which is not an earlier preset", ext)})
			}
			base = b
		}
		if len(errs) > 0 {
			return nil, joinErrors(errs)
		}
		p := raw.apply(base)
		if errs := raw.conflicts(p, file, ext); len(errs) > 0 {
			return nil, joinErrors(errs)
		}
		p.Name, p.Extends = name, ext
		out[name] = p
	}
	return out, nil
})

// Preset returns a copy of a built-in preset.
func Preset(name string) (*Policy, error) {
	if !isPreset(name) {
		return nil, errors.New(unknownPresetMsg(name))
	}
	all, err := loadPresets()
	if err != nil {
		return nil, fmt.Errorf("built-in presets are broken: %w", err)
	}
	return all[name].clone(), nil
}

// Load reads a policy file. The base preset is preset if non-empty, else the
// file's extends, else default; naming two different ones is an error.
func Load(path string, preset string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	defer f.Close()
	// One byte over the cap is enough to tell the file is too large.
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", path, err)
	}
	return Parse(data, path, preset)
}

// Parse reads a policy from data; filename is used in errors and as Name.
// preset works as in Load.
func Parse(data []byte, filename string, preset string) (*Policy, error) {
	if preset != "" && !isPreset(preset) {
		return nil, errors.New(unknownPresetMsg(preset))
	}
	raw, errs := decode(data, filename)
	if raw == nil {
		return nil, joinErrors(errs)
	}
	baseName, ext := DefaultPreset, preset
	if preset != "" {
		baseName = preset
	}
	if raw.extends != nil {
		e := &Error{File: filename, Line: raw.extendsLine}
		switch {
		case preset != "" && *raw.extends != preset:
			e.Msg = fmt.Sprintf("extends %q conflicts with the requested preset %q (remove extends, or request %q)", *raw.extends, preset, *raw.extends)
			errs = append(errs, e)
		case !isPreset(*raw.extends):
			e.Msg = "extends: " + unknownPresetMsg(*raw.extends)
			errs = append(errs, e)
		default:
			baseName, ext = *raw.extends, *raw.extends
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	base, err := Preset(baseName)
	if err != nil {
		return nil, err
	}
	p := raw.apply(base)
	if errs := raw.conflicts(p, filename, baseName); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	p.Name, p.Extends = filename, ext
	return p, nil
}

// strictest is the fail-closed base the default preset is written over, and
// what Stage answers for a stage a hand-built Policy lacks.
func strictest() *Policy {
	p := &Policy{Stages: map[string]StagePolicy{}}
	for _, name := range stages.Names() {
		p.Stages[name] = strictestStage(name)
	}
	return p
}

// strictestStage leaves Tools empty (the stage's default tools) and the
// stage-specific settings at the stage's defaults, except that a license
// nobody recognised blocks.
func strictestStage(name string) StagePolicy {
	sp := StagePolicy{
		Enabled:     true,
		BlockOn:     findings.SeverityInfo,
		OnToolError: ErrorBlock,
		Timeout:     15 * time.Minute,
	}
	if name == stages.Licenses {
		sp.Licenses.Unknown = stages.LicenseBlock
	}
	if name == stages.API {
		sp.MinScore = 100 // fail closed: only a flawless definition passes
	}
	return sp
}

func (p *Policy) clone() *Policy {
	c := *p
	c.Stages = maps.Clone(p.Stages)
	for n, sp := range c.Stages {
		c.Stages[n] = sp.clone()
	}
	c.Suppressions = slices.Clone(p.Suppressions)
	c.Images = maps.Clone(p.Images)
	return &c
}

// Stage returns the policy of a stage. A stage missing from the map (only
// possible in a hand-built Policy) gets the strictest settings, so a gap
// fails closed rather than skipping the stage.
func (p *Policy) Stage(name string) StagePolicy {
	if p != nil {
		if sp, ok := p.Stages[name]; ok {
			return sp.clone()
		}
	}
	return strictestStage(name)
}

// FailOn makes every stage block on findings at or above sev, as a
// command line's --fail-on asks: it replaces each stage's block_on and
// clears warn_only. Disabled stages stay disabled; tool errors are judged
// as before.
func (p *Policy) FailOn(sev findings.Severity) error {
	if !sev.Valid() {
		return fmt.Errorf("invalid severity %s", sev)
	}
	if p.Stages == nil {
		p.Stages = map[string]StagePolicy{}
	}
	for _, name := range stages.Names() {
		sp := p.Stage(name)
		sp.BlockOn, sp.WarnOnly = sev, false
		p.Stages[name] = sp
	}
	return nil
}

// Marshal returns the full effective policy as YAML, every setting of every
// stage spelled out, so it loads back to the same policy on any base, but
// for each suppression's Source: the written file has other lines, so the
// original file:line is written as a comment above the suppression.
func (p *Policy) Marshal() ([]byte, error) {
	if p == nil {
		return nil, errors.New("no policy to marshal")
	}
	for name := range p.Stages {
		if _, ok := stages.Lookup(name); !ok {
			return nil, fmt.Errorf("policy %s: unknown stage %q", p.Name, name)
		}
	}
	root := mapNode()
	addPair(root, "version", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"})
	if p.Extends != "" {
		addPair(root, "extends", strNode(p.Extends))
	}
	if p.ProductionBranch != "" {
		addPair(root, "production_branch", strNode(p.ProductionBranch))
	}
	st := mapNode()
	for _, name := range stages.Names() {
		sp := p.Stage(name)
		if !sp.BlockOn.Valid() {
			return nil, fmt.Errorf("policy %s: stage %s has an invalid block_on (%s)", p.Name, name, sp.BlockOn)
		}
		m := mapNode()
		addPair(m, "enabled", boolNode(sp.Enabled))
		if len(sp.Tools) > 0 {
			addPair(m, "tools", seqNode(sp.Tools, yaml.FlowStyle))
		}
		addPair(m, "block_on", strNode(sp.BlockOn.String()))
		addPair(m, "warn_only", boolNode(sp.WarnOnly))
		if sp.OnToolError != ErrorBlock {
			return nil, fmt.Errorf("policy %s: stage %s: on_tool_error is %q; only block is allowed (per_tool.<tool>.on_error: warn relaxes one tool)", p.Name, name, sp.OnToolError)
		}
		addPair(m, "on_tool_error", strNode(string(sp.OnToolError)))
		addPair(m, "timeout", strNode(formatDuration(sp.Timeout)))
		if len(sp.PerTool) > 0 {
			addPair(m, "per_tool", marshalPerTool(sp.PerTool))
		}
		if sp.Config != "" {
			addPair(m, "config", strNode(sp.Config))
		}
		if sp.Baseline != "" {
			addPair(m, "baseline", strNode(sp.Baseline))
		}
		if len(sp.Severity) > 0 {
			sev, err := marshalSeverity(sp.Severity)
			if err != nil {
				return nil, fmt.Errorf("policy %s: stage %s: %w", p.Name, name, err)
			}
			addPair(m, "severity", sev)
		}
		if err := marshalStageOnly(m, name, sp); err != nil {
			return nil, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		addPair(st, name, m)
	}
	addPair(root, "stages", st)
	if len(p.Suppressions) > 0 {
		addPair(root, "suppressions", marshalSuppressions(p.Suppressions))
	}
	addPair(root, "targets", p.Targets.marshal())
	if len(p.Images) > 0 {
		addPair(root, "images", marshalImages(p.Images))
	}
	if p.Concurrency != (Concurrency{}) {
		addPair(root, "concurrency", p.Concurrency.marshal())
	}

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.Name, err)
	}
	// A hand-built Policy may hold values the parser rejects; printing them
	// would give a file that does not load.
	if _, err := Parse(buf.Bytes(), p.Name, ""); err != nil {
		return nil, fmt.Errorf("policy %s is not valid: %w", p.Name, err)
	}
	return buf.Bytes(), nil
}

// marshalStageOnly writes the settings only one stage has, and refuses them
// on any other stage: dropping them would print a different policy.
func marshalStageOnly(m *yaml.Node, name string, sp StagePolicy) error {
	wrong := func(key string) error {
		owner, _ := keyOwner(key)
		return fmt.Errorf("stage %s sets %s, which only the %s stage has", name, key, owner)
	}
	switch {
	case name == stages.Secrets:
		addPair(m, "history", boolNode(sp.History))
		addPair(m, "verify", boolNode(!sp.NoVerify))
	case sp.History:
		return wrong("history")
	case sp.NoVerify:
		return wrong("verify")
	}
	switch {
	case name == stages.SAST:
		if len(sp.Rulesets) > 0 {
			addPair(m, "rulesets", seqNode(sp.Rulesets, 0))
		}
	case len(sp.Rulesets) > 0:
		return wrong("rulesets")
	}
	switch {
	case name == stages.SCA:
		if sp.UnreachableSeverity != 0 {
			if !sp.UnreachableSeverity.Valid() {
				return fmt.Errorf("stage %s has an invalid unreachable_severity (%s)", name, sp.UnreachableSeverity)
			}
			addPair(m, "unreachable_severity", strNode(sp.UnreachableSeverity.String()))
		}
		if sp.DBRefresh != 0 {
			addPair(m, "db_refresh", strNode(formatDuration(sp.DBRefresh)))
		}
	case sp.UnreachableSeverity != 0:
		return wrong("unreachable_severity")
	case sp.DBRefresh != 0:
		return wrong("db_refresh")
	}
	switch {
	case name == stages.API:
		addPair(m, "min_score", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(sp.MinScore)})
	case sp.MinScore != 0:
		return wrong("min_score")
	}
	switch {
	case name == stages.Build:
		if sp.MaxBaseAge != 0 {
			addPair(m, "max_base_age", strNode(formatDuration(sp.MaxBaseAge)))
		}
	case sp.MaxBaseAge != 0:
		return wrong("max_base_age")
	}
	lp := sp.Licenses
	switch {
	case name == stages.Licenses:
		// Empty lists are written out: on a base with a list, leaving the
		// key out would load that list back.
		addPair(m, "allow", seqNode(lp.Allow, 0))
		addPair(m, "deny", seqNode(lp.Deny, 0))
		if lp.Unknown != "" {
			addPair(m, "unknown_license", strNode(string(lp.Unknown)))
		}
	case len(lp.Allow) > 0:
		return wrong("allow")
	case len(lp.Deny) > 0:
		return wrong("deny")
	case lp.Unknown != "":
		return wrong("unknown_license")
	}
	return nil
}

// seqNode is a list of strings; an empty one is written as [].
func seqNode(items []string, style yaml.Style) *yaml.Node {
	if len(items) == 0 {
		style = yaml.FlowStyle
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: style}
	for _, it := range items {
		seq.Content = append(seq.Content, strNode(it))
	}
	return seq
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func strNode(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(b)}
}

func addPair(m *yaml.Node, key string, v *yaml.Node) { m.Content = append(m.Content, strNode(key), v) }

// formatDuration drops Go's trailing zero units: 15m rather than 15m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
