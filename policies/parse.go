package policies

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// Error is a problem in a policy file. It prints as "file:line: message";
// Line is 0 only when no line applies (a file too large to read).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// maxErrors keeps a badly broken file from burying the first problems.
const maxErrors = 20

// joinErrors orders located errors by line so they read top to bottom.
func joinErrors(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int {
		var ea, eb *Error
		errors.As(a, &ea)
		errors.As(b, &eb)
		if ea == nil || eb == nil {
			return 0
		}
		return cmp.Compare(ea.Line, eb.Line)
	})
	if len(errs) > maxErrors {
		errs = errs[:maxErrors]
	}
	return errors.Join(errs...)
}

// CurrentVersion is the only policy format version; a file without version is this one.
const CurrentVersion = 1

var (
	topKeys   = []string{"version", "extends", "production_branch", "stages", "suppressions", "targets", "images", "concurrency"}
	stageKeys = []string{"enabled", "tools", "block_on", "warn_only", "on_tool_error", "timeout", "per_tool", "config", "baseline", "severity"}
	// stageOnlyKeys are the settings of a single stage, listed after
	// stageKeys in this order.
	stageOnlyKeys = []struct{ key, stage string }{
		{"history", stages.Secrets},
		{"verify", stages.Secrets},
		{"rulesets", stages.SAST},
		{"unreachable_severity", stages.SCA},
		{"db_refresh", stages.SCA},
		{"allow", stages.Licenses},
		{"deny", stages.Licenses},
		{"unknown_license", stages.Licenses},
		{"max_base_age", stages.Build},
		{"min_score", stages.API},
	}
)

// knownStageKeys lists the keys a stage accepts.
func knownStageKeys(stage string) []string {
	out := slices.Clone(stageKeys)
	for _, k := range stageOnlyKeys {
		if k.stage == stage {
			out = append(out, k.key)
		}
	}
	return out
}

// keyOwner names the only stage that has key, if one does.
func keyOwner(key string) (string, bool) {
	for _, k := range stageOnlyKeys {
		if k.key == key {
			return k.stage, true
		}
	}
	return "", false
}

var (
	// registryRE matches semgrep registry configs: p/ packs, r/ rules, s/ snippets.
	registryRE = regexp.MustCompile(`^(p|r|s)/[A-Za-z0-9._/-]+$`)
	// spdxRE matches one SPDX license id (MIT, GPL-3.0-or-later, GPL-2.0+)
	// or a LicenseRef, optionally qualified by a DocumentRef.
	spdxRE = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9.+-]*|(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+)$`)
)

// minDBRefresh keeps vulnerability database downloads from running every scan.
const minDBRefresh = time.Minute

// rawPolicy holds what a file sets; nil fields keep the base preset's value.
type rawPolicy struct {
	extends          *string
	extendsLine      int
	productionBranch *string
	stages           map[string]*rawStage
	// suppressions are appended to the base's, in file order.
	suppressions []Suppression
	targets      rawTargets
	// images are laid over the base's key by key.
	images      map[string]string
	concurrency rawConcurrency
}

type rawStage struct {
	enabled     *bool
	tools       *[]string
	blockOn     *findings.Severity
	warnOnly    *bool
	onToolError *ErrorAction
	timeout     *time.Duration
	perTool     *map[string]ToolPolicy
	config      *string
	baseline    *string
	history     *bool
	verify      *bool
	// severity replaces the base's overrides; an empty map clears them.
	severity *map[string]findings.Severity

	rulesets            *[]string
	unreachableSeverity *findings.Severity
	dbRefresh           *time.Duration
	allow, deny         *[]string
	// allowAt and denyAt give the line of each id of allow and deny, by
	// lower-case id.
	allowAt, denyAt map[string]int
	unknownLicense  *stages.LicenseAction
	maxBaseAge      *time.Duration
	minScore        *int
}

// apply returns a copy of base with the file's settings laid over it.
func (r *rawPolicy) apply(base *Policy) *Policy {
	p := base.clone()
	if r.productionBranch != nil {
		p.ProductionBranch = *r.productionBranch
	}
	p.Suppressions = append(p.Suppressions, r.suppressions...)
	r.targets.apply(&p.Targets)
	applyImages(&p.Images, r.images)
	r.concurrency.apply(&p.Concurrency)
	for name, rs := range r.stages {
		sp := p.Stage(name)
		set(&sp.Enabled, rs.enabled)
		set(&sp.Tools, rs.tools)
		set(&sp.BlockOn, rs.blockOn)
		set(&sp.WarnOnly, rs.warnOnly)
		set(&sp.OnToolError, rs.onToolError)
		set(&sp.Timeout, rs.timeout)
		if rs.perTool != nil {
			sp.PerTool = nil
			if len(*rs.perTool) > 0 {
				sp.PerTool = maps.Clone(*rs.perTool)
			}
		}
		set(&sp.Config, rs.config)
		set(&sp.Baseline, rs.baseline)
		set(&sp.History, rs.history)
		if rs.verify != nil {
			sp.NoVerify = !*rs.verify
		}
		if rs.severity != nil {
			sp.Severity = nil
			if len(*rs.severity) > 0 {
				sp.Severity = maps.Clone(*rs.severity)
			}
		}
		set(&sp.Rulesets, rs.rulesets)
		set(&sp.UnreachableSeverity, rs.unreachableSeverity)
		set(&sp.DBRefresh, rs.dbRefresh)
		set(&sp.Licenses.Allow, rs.allow)
		set(&sp.Licenses.Deny, rs.deny)
		set(&sp.Licenses.Unknown, rs.unknownLicense)
		set(&sp.MaxBaseAge, rs.maxBaseAge)
		set(&sp.MinScore, rs.minScore)
		p.Stages[name] = sp
	}
	return p
}

// conflicts finds the licenses a file allows that its base denies, or the
// reverse; a file that sets both lists was already checked by decode.
// baseName names the base preset ("" for none).
func (r *rawPolicy) conflicts(p *Policy, file, baseName string) []error {
	rs := r.stages[stages.Licenses]
	if rs == nil || (rs.allow == nil) == (rs.deny == nil) {
		return nil
	}
	base := "the base policy"
	if baseName != "" {
		base = "the " + baseName + " preset"
	}
	lp := p.Stage(stages.Licenses).Licenses
	key, ids, at, other, otherKey := "allow", lp.Allow, rs.allowAt, lp.Deny, "deny"
	if rs.deny != nil {
		key, ids, at, other, otherKey = "deny", lp.Deny, rs.denyAt, lp.Allow, "allow"
	}
	var errs []error
	for _, id := range ids {
		if slices.ContainsFunc(other, func(o string) bool { return strings.EqualFold(o, id) }) {
			errs = append(errs, &Error{File: file, Line: at[strings.ToLower(id)], Msg: fmt.Sprintf(
				"stages.licenses.%s: %s is in the %s list of %s (set stages.licenses.%s too, to say which)",
				key, quote(id), otherKey, base, otherKey)})
		}
	}
	return errs
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// parser walks the yaml.Node tree rather than decoding into structs: the
// nodes carry the exact line and key of every problem.
type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := 1
	if n != nil && n.Line > 0 {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// readRoot reads a single-document YAML file whose root is a mapping; noun
// names the kind of file in errors ("policy") and keys lists a few of its
// keys. It returns nil and the errors when there is no such mapping.
func (p *parser) readRoot(data []byte, noun, keys string) (*yaml.Node, []error) {
	if len(data) > MaxSize {
		return nil, []error{&Error{File: p.file, Msg: fmt.Sprintf("%s is larger than %d bytes", noun, MaxSize)}}
	}
	docs, err := decodeDocs(data)
	if err != nil {
		return nil, []error{&Error{File: p.file, Line: syntaxLine(data, err), Msg: "invalid YAML: " + yamlMessage(err)}}
	}
	if len(docs) > 1 {
		p.errorf(docs[1], "more than one YAML document (a %s is a single document; remove the extra ---)", noun)
		return nil, p.errs
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 || isNull(docs[0].Content[0]) {
		p.errorf(nil, "%s is empty", noun)
		return nil, p.errs
	}
	root := docs[0].Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a %s is a mapping of settings (%s), got %s", noun, keys, describe(root))
		return nil, p.errs
	}
	return root, nil
}

// version checks a file's version key.
func (p *parser) version(v *yaml.Node, noun string) {
	if n, ok := p.integer(v, "version"); ok && n != CurrentVersion {
		p.errorf(v, "unsupported %s version %d (supported: %d)", noun, n, CurrentVersion)
	}
}

// decode reads a policy document. It returns nil settings when the file is
// not a usable document at all, and otherwise every problem it found.
func decode(data []byte, file string) (*rawPolicy, []error) {
	p := &parser{file: file}
	root, errs := p.readRoot(data, "policy", "version, stages, ...")
	if root == nil {
		return nil, errs
	}
	raw := &rawPolicy{stages: map[string]*rawStage{}}
	p.mapping(root, "at top level", topKeys, "known", func(key string, k, v *yaml.Node) bool {
		switch key {
		case "version":
			p.version(v, "policy")
		case "extends":
			if s, ok := p.str(v, "extends"); ok {
				if s == "" {
					p.errorf(v, "extends is empty (presets: %s)", strings.Join(presetOrder, ", "))
				} else {
					raw.extends, raw.extendsLine = &s, lineOf(v)
				}
			}
		case "production_branch":
			if s, ok := p.str(v, "production_branch"); ok {
				if msg := checkBranch(s); msg != "" {
					p.errorf(v, "production_branch: %s", msg)
				} else {
					raw.productionBranch = &s
				}
			}
		case "stages":
			p.stages(v, raw)
		case "suppressions":
			raw.suppressions = p.suppressions(v)
		case "targets":
			p.targets(v, &raw.targets)
		case "images":
			p.images(v, raw)
		case "concurrency":
			p.concurrency(v, &raw.concurrency)
		default:
			return false
		}
		return true
	})
	return raw, p.errs
}

func (p *parser) stages(v *yaml.Node, raw *rawPolicy) {
	m := resolve(v)
	if isNull(m) {
		return
	}
	if m.Kind != yaml.MappingNode {
		p.errorf(v, "stages: want a mapping of stage names to settings, got %s", describe(m))
		return
	}
	p.mapping(m, "in stages", stages.Names(), "stages", func(name string, k, v *yaml.Node) bool {
		if _, ok := stages.Lookup(name); !ok {
			return false
		}
		rs := &rawStage{}
		raw.stages[name] = rs
		p.stage(name, v, rs)
		return true
	})
}

func (p *parser) stage(name string, v *yaml.Node, rs *rawStage) {
	m := resolve(v)
	if isNull(m) {
		return // "secrets:" with nothing under it changes nothing
	}
	where := "stages." + name
	if m.Kind != yaml.MappingNode {
		p.errorf(v, "%s: want a mapping of settings, got %s", where, describe(m))
		return
	}
	known := knownStageKeys(name)
	p.mapping(m, "in "+where, known, "known", func(key string, k, v *yaml.Node) bool {
		at := where + "." + key
		if owner, ok := keyOwner(key); ok && owner != name {
			p.errorf(k, "%s: %s only applies to the %s stage (known in %s: %s)", at, key, owner, where, strings.Join(known, ", "))
			return true
		}
		switch key {
		case "enabled":
			rs.enabled = p.boolean(v, at)
		case "warn_only":
			rs.warnOnly = p.boolean(v, at)
		case "history":
			rs.history = p.boolean(v, at)
		case "verify":
			rs.verify = p.boolean(v, at)
		case "tools":
			rs.tools = p.tools(name, v, at)
		case "block_on":
			rs.blockOn = p.severity(v, at)
		case "on_tool_error":
			if s, ok := p.str(v, at); ok {
				switch a := ErrorAction(s); a {
				case ErrorBlock:
					rs.onToolError = &a
				case ErrorWarn:
					// A stage-wide warn would let any of its tools fail
					// unnoticed, a missing report included.
					p.errorf(v, "%s: warn is not allowed for a whole stage; name each tool whose errors may only warn, e.g. per_tool: {%s: {on_error: warn}}", at, exampleTool(name))
				default:
					p.errorf(v, "%s: want block, got %s (per_tool.<tool>.on_error: warn relaxes one tool)", at, quote(s))
				}
			}
		case "timeout":
			rs.timeout = p.duration(v, at)
		case "per_tool":
			rs.perTool = p.perTool(name, v, at)
		case "config":
			rs.config = p.relPath(v, at)
		case "baseline":
			rs.baseline = p.relPath(v, at)
		case "severity":
			rs.severity = p.severityOverrides(name, v, at)
		case "rulesets":
			rs.rulesets = p.rulesets(v, at)
		case "unreachable_severity":
			rs.unreachableSeverity = p.severity(v, at)
		case "db_refresh":
			if d := p.duration(v, at); d != nil {
				if *d < minDBRefresh {
					p.errorf(v, "%s: must be at least %s, got %s", at, formatDuration(minDBRefresh), resolve(v).Value)
				} else {
					rs.dbRefresh = d
				}
			}
		case "max_base_age":
			rs.maxBaseAge = p.duration(v, at)
		case "min_score":
			if n, ok := p.integer(v, at); ok {
				if n < 0 || n > 100 {
					p.errorf(v, "%s: want a score from 0 to 100, got %d", at, n)
				} else {
					rs.minScore = &n
				}
			}
		case "allow":
			rs.allow, rs.allowAt = p.licenseIDs(v, at)
		case "deny":
			rs.deny, rs.denyAt = p.licenseIDs(v, at)
		case "unknown_license":
			if s, ok := p.str(v, at); ok {
				switch a := stages.LicenseAction(s); a {
				case stages.LicenseAllow, stages.LicenseWarn, stages.LicenseBlock:
					rs.unknownLicense = &a
				default:
					p.errorf(v, "%s: want allow, warn or block, got %s", at, quote(s))
				}
			}
		default:
			return false
		}
		return true
	})
	if rs.allow != nil && rs.deny != nil {
		p.bothAllowedAndDenied(where, *rs.allow, rs.allowAt, rs.denyAt)
	}
}

// bothAllowedAndDenied reports each id in both lists at its later line.
func (p *parser) bothAllowedAndDenied(where string, allow []string, allowAt, denyAt map[string]int) {
	for _, id := range allow {
		lower := strings.ToLower(id)
		aLine, dLine := allowAt[lower], denyAt[lower]
		if dLine == 0 {
			continue
		}
		key, line, other, otherLine := "allow", aLine, "deny", dLine
		if dLine > aLine {
			key, line, other, otherLine = "deny", dLine, "allow", aLine
		}
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(
			"%s.%s: %s is also in %s.%s (line %d); a license is either allowed or denied", where, key, quote(id), where, other, otherLine)})
	}
}

// mapping calls fn for each key of m; fn returns false for a key it does not
// know. Non-string keys, merge keys and duplicates are errors here.
func (p *parser) mapping(m *yaml.Node, where string, known []string, knownLabel string, fn func(key string, k, v *yaml.Node) bool) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "keys %s must be plain names, got %s", where, describe(k))
			continue
		}
		if k.Tag == "!!merge" || k.ShortTag() == "!!merge" {
			p.errorf(k, "merge keys (<<) are not supported %s", where)
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			p.errorf(k, "duplicate key %s %s (first at line %d)", quote(key), where, first)
			continue
		}
		seen[key] = lineOf(k)
		if !fn(key, k, v) {
			msg := fmt.Sprintf("unknown %s %s %s (%s: %s)", unknownWhat(knownLabel), quote(key), where, knownLabel, strings.Join(known, ", "))
			if s := Suggest(key, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			p.errorf(k, "%s", msg)
		}
	}
}

func unknownWhat(label string) string {
	if label == "stages" {
		return "stage"
	}
	return "key"
}

func (p *parser) scalar(v *yaml.Node, at, want string) (*yaml.Node, bool) {
	r := resolve(v)
	if isNull(r) {
		p.errorf(v, "%s has no value (want %s)", at, want)
		return nil, false
	}
	if r.Kind != yaml.ScalarNode {
		p.errorf(v, "%s: want %s, got %s", at, want, describe(r))
		return nil, false
	}
	return r, true
}

func (p *parser) str(v *yaml.Node, at string) (string, bool) {
	r, ok := p.scalar(v, at, "a string")
	if !ok {
		return "", false
	}
	if r.ShortTag() != "!!str" {
		p.errorf(v, "%s: want a string, got %s (quote it if it is meant as text)", at, describe(r))
		return "", false
	}
	return r.Value, true
}

func (p *parser) boolean(v *yaml.Node, at string) *bool {
	r, ok := p.scalar(v, at, "true or false")
	if !ok {
		return nil
	}
	// Only YAML 1.2 booleans: yes/no/on/off are strings, and so are rejected.
	var b bool
	if r.ShortTag() != "!!bool" || r.Decode(&b) != nil {
		p.errorf(v, "%s: want true or false, got %s", at, describe(r))
		return nil
	}
	return &b
}

func (p *parser) integer(v *yaml.Node, at string) (int, bool) {
	r, ok := p.scalar(v, at, "an integer")
	if !ok {
		return 0, false
	}
	var n int
	if r.ShortTag() != "!!int" || r.Decode(&n) != nil {
		p.errorf(v, "%s: want an integer, got %s", at, describe(r))
		return 0, false
	}
	return n, true
}

func (p *parser) duration(v *yaml.Node, at string) *time.Duration {
	r, ok := p.scalar(v, at, "a duration such as 10m")
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(r.Value)
	if err != nil || (r.ShortTag() != "!!str" && r.ShortTag() != "!!int") {
		p.errorf(v, "%s: invalid duration %s (use a Go duration such as 90s, 10m or 1h30m)", at, describe(r))
		return nil
	}
	if d <= 0 {
		p.errorf(v, "%s: must be positive, got %s", at, r.Value)
		return nil
	}
	return &d
}

func (p *parser) severity(v *yaml.Node, at string) *findings.Severity {
	s, ok := p.str(v, at)
	if !ok {
		return nil
	}
	sev, err := findings.ParseSeverity(s)
	if err != nil {
		p.errorf(v, "%s: invalid severity %s (want critical, high, medium, low or info)", at, quote(s))
		return nil
	}
	return &sev
}

// mappingOf returns v as a mapping, or nil after an error saying what was
// wanted: a null value, or a value of another kind.
func (p *parser) mappingOf(v *yaml.Node, at, want string) *yaml.Node {
	m := resolve(v)
	if isNull(m) {
		p.errorf(v, "%s has no value (want %s)", at, want)
		return nil
	}
	if m.Kind != yaml.MappingNode {
		p.errorf(v, "%s: want %s, got %s", at, want, describe(m))
		return nil
	}
	return m
}

// list returns the items of a list value; null or another kind is an error.
func (p *parser) list(v *yaml.Node, at, want, example string) ([]*yaml.Node, bool) {
	seq := resolve(v)
	if isNull(seq) {
		p.errorf(v, "%s has no value (want a list such as %s)", at, example)
		return nil, false
	}
	if seq.Kind != yaml.SequenceNode {
		p.errorf(v, "%s: want a list of %s, got %s", at, want, describe(seq))
		return nil, false
	}
	return seq.Content, true
}

// rulesets reads semgrep configs: registry names or paths inside the source.
func (p *parser) rulesets(v *yaml.Node, at string) *[]string {
	items, ok := p.list(v, at, "semgrep rulesets", "[p/owasp-top-ten]")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(v, "%s: the list is empty (omit rulesets for the stage's default)", at)
		return nil
	}
	var out []string
	seen := map[string]int{}
	for _, item := range items {
		s, isStr := p.str(item, at)
		if !isStr {
			ok = false
			continue
		}
		key := s // registry names compare as written, paths once cleaned
		switch {
		case s == "":
			p.errorf(item, "%s: empty ruleset", at)
			ok = false
			continue
		case registryRE.MatchString(s):
			if slices.Contains(strings.Split(s, "/"), "..") {
				p.errorf(item, "%s: invalid registry name %s", at, quote(s))
				ok = false
				continue
			}
		default:
			c, err := stages.CleanRel(s)
			if err != nil || strings.ContainsRune(s, 0) || strings.HasPrefix(s, "-") || strings.Contains(s, "://") {
				p.errorf(item, "%s: %s is neither a registry name such as p/owasp-top-ten nor a path inside the source, relative to it", at, quote(s))
				ok = false
				continue
			}
			key = "./" + c
		}
		if first, dup := seen[key]; dup {
			p.errorf(item, "%s: ruleset %s is listed twice (first at line %d)", at, quote(s), first)
			ok = false
			continue
		}
		seen[key] = lineOf(item)
		out = append(out, s)
	}
	if !ok {
		return nil
	}
	return &out
}

// licenseIDs reads a list of SPDX license ids; an empty list is nil. It also
// returns the line of each id, by lower-case id (ids compare ignoring case).
func (p *parser) licenseIDs(v *yaml.Node, at string) (*[]string, map[string]int) {
	items, ok := p.list(v, at, "SPDX license ids", "[MIT, Apache-2.0]")
	if !ok {
		return nil, nil
	}
	var out []string
	lines := map[string]int{}
	for _, item := range items {
		id, isStr := p.str(item, at)
		if !isStr {
			ok = false
			continue
		}
		if !spdxRE.MatchString(id) {
			p.errorf(item, "%s: %s is not an SPDX license id (such as MIT, GPL-3.0-only or LicenseRef-custom; one id per item, no expressions)", at, quote(id))
			ok = false
			continue
		}
		lower := strings.ToLower(id)
		if first, dup := lines[lower]; dup {
			p.errorf(item, "%s: license %s is listed twice (first at line %d)", at, quote(id), first)
			ok = false
			continue
		}
		lines[lower] = lineOf(item)
		out = append(out, id)
	}
	if !ok {
		return nil, nil
	}
	return &out, lines
}

func (p *parser) relPath(v *yaml.Node, at string) *string {
	s, ok := p.str(v, at)
	if !ok {
		return nil
	}
	if s != "" {
		if _, err := stages.CleanRel(s); err != nil || strings.ContainsRune(s, 0) {
			p.errorf(v, "%s: %s must be a file path inside the source, relative to it", at, quote(s))
			return nil
		}
	}
	return &s
}

func (p *parser) tools(stage string, v *yaml.Node, at string) *[]string {
	items, ok := p.list(v, at, "tool names", "[gitleaks]")
	if !ok {
		return nil
	}
	d, _ := stages.Lookup(stage)
	if len(items) == 0 && len(d.Tools) > 0 {
		p.errorf(v, "%s: the list is empty (omit tools for the stage's default tools, or set enabled: false)", at)
		return nil
	}
	var out []string
	for _, item := range items {
		name, isStr := p.str(item, at)
		if !isStr {
			ok = false
			continue
		}
		if err := stages.CheckTools(stage, []string{name}); err != nil {
			p.errorf(item, "%s: %v", at, err)
			ok = false
			continue
		}
		if slices.Contains(out, name) {
			p.errorf(item, "%s: tool %q is listed twice", at, name)
			ok = false
			continue
		}
		out = append(out, name)
	}
	if !ok {
		return nil
	}
	return &out
}

// checkBranch rejects names git would refuse or could read as an option.
func checkBranch(s string) string {
	switch {
	case s == "":
		return "is empty"
	case strings.HasPrefix(s, "-"), strings.HasPrefix(s, "/"), strings.HasSuffix(s, "/"),
		strings.HasSuffix(s, "."), strings.HasSuffix(s, ".lock"),
		strings.Contains(s, ".."), strings.Contains(s, "@{"), strings.Contains(s, "//"),
		strings.ContainsAny(s, "~^:?*[\\"),
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Sprintf("invalid branch name %s", quote(s))
	}
	return ""
}

// resolve follows aliases; the bound only guards against malformed graphs.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func lineOf(n *yaml.Node) int {
	if n == nil || n.Line < 1 {
		return 1
	}
	return n.Line
}

// describe names a node's value for an error, shortened.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	case isNull(n):
		return "null"
	}
	return quote(n.Value)
}

func quote(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "..."
	}
	return strconv.Quote(s)
}

// Suggest returns the known name closest to s if it is a plausible typo
// (at most two edits, and at most half its length), or "" when none is:
// policy files and the command line both use it for "did you mean".
func Suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD > len(s)/2 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// decodeDocs parses up to two documents (two are enough to reject the file).
// yaml.v3 has panicked on hostile input before; a policy file must not crash
// the caller, so a panic becomes an error.
func decodeDocs(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for len(docs) < 2 {
		var n yaml.Node
		if err := dec.Decode(&n); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
	return docs, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

func yamlMessage(err error) string { return yamlLineRE.ReplaceAllString(err.Error(), "") }

// syntaxLine's bounds on re-parsing: policies are a few KiB, and a huge
// broken file should fail fast rather than precisely.
const (
	searchBudget   = 256 << 10 // bytes
	searchAttempts = 300
)

// syntaxLine locates a YAML syntax error. yaml.v3 reports the line where the
// enclosing block starts (or nothing on the first line), which can be far from
// the mistake; the line after the longest prefix that still parses is closer.
func syntaxLine(data []byte, err error) int {
	reported := 1
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil && m[1] != "" {
		reported, _ = strconv.Atoi(m[1])
	}
	var ends []int // ends[k] is the length of the first k+1 lines
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			ends = append(ends, i+1)
		}
	}
	budget := searchBudget
	for k := len(ends) - 1; k >= 0; k-- {
		if budget -= ends[k]; budget < 0 || len(ends)-k > searchAttempts {
			return max(reported, 1)
		}
		if _, err := decodeDocs(data[:ends[k]]); err == nil {
			return k + 2
		}
	}
	return 1
}
