package policies

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
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
	topKeys   = []string{"version", "extends", "production_branch", "stages"}
	stageKeys = []string{"enabled", "tools", "block_on", "warn_only", "on_tool_error", "timeout", "config", "baseline", "history"}
)

// rawPolicy holds what a file sets; nil fields keep the base preset's value.
type rawPolicy struct {
	extends          *string
	extendsLine      int
	productionBranch *string
	stages           map[string]*rawStage
}

type rawStage struct {
	enabled     *bool
	tools       *[]string
	blockOn     *findings.Severity
	warnOnly    *bool
	onToolError *ErrorAction
	timeout     *time.Duration
	config      *string
	baseline    *string
	history     *bool
}

// apply returns a copy of base with the file's settings laid over it.
func (r *rawPolicy) apply(base *Policy) *Policy {
	p := base.clone()
	if r.productionBranch != nil {
		p.ProductionBranch = *r.productionBranch
	}
	for name, rs := range r.stages {
		sp := p.Stage(name)
		set(&sp.Enabled, rs.enabled)
		set(&sp.Tools, rs.tools)
		set(&sp.BlockOn, rs.blockOn)
		set(&sp.WarnOnly, rs.warnOnly)
		set(&sp.OnToolError, rs.onToolError)
		set(&sp.Timeout, rs.timeout)
		set(&sp.Config, rs.config)
		set(&sp.Baseline, rs.baseline)
		set(&sp.History, rs.history)
		p.Stages[name] = sp
	}
	return p
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

// decode reads a policy document. It returns nil settings when the file is
// not a usable document at all, and otherwise every problem it found.
func decode(data []byte, file string) (*rawPolicy, []error) {
	p := &parser{file: file}
	if len(data) > MaxSize {
		return nil, []error{&Error{File: file, Msg: fmt.Sprintf("policy is larger than %d bytes", MaxSize)}}
	}
	docs, err := decodeDocs(data)
	if err != nil {
		return nil, []error{&Error{File: file, Line: syntaxLine(data, err), Msg: "invalid YAML: " + yamlMessage(err)}}
	}
	if len(docs) > 1 {
		p.errorf(docs[1], "more than one YAML document (a policy is a single document; remove the extra ---)")
		return nil, p.errs
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 || isNull(docs[0].Content[0]) {
		p.errorf(nil, "policy is empty")
		return nil, p.errs
	}
	root := docs[0].Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a policy is a mapping of settings (version, stages, ...), got %s", describe(root))
		return nil, p.errs
	}
	raw := &rawPolicy{stages: map[string]*rawStage{}}
	p.mapping(root, "at top level", topKeys, "known", func(key string, k, v *yaml.Node) bool {
		switch key {
		case "version":
			if n, ok := p.integer(v, "version"); ok {
				if n != CurrentVersion {
					p.errorf(v, "unsupported policy version %d (supported: %d)", n, CurrentVersion)
				}
			}
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
	known := stageKeys
	if name != stages.Secrets {
		known = known[:len(known)-1] // history
	}
	p.mapping(m, "in "+where, known, "known", func(key string, k, v *yaml.Node) bool {
		at := where + "." + key
		switch key {
		case "enabled":
			rs.enabled = p.boolean(v, at)
		case "warn_only":
			rs.warnOnly = p.boolean(v, at)
		case "history":
			if name != stages.Secrets {
				p.errorf(k, "%s: history only applies to the %s stage", at, stages.Secrets)
				return true
			}
			rs.history = p.boolean(v, at)
		case "tools":
			rs.tools = p.tools(name, v, at)
		case "block_on":
			if s, ok := p.str(v, at); ok {
				sev, err := findings.ParseSeverity(s)
				if err != nil {
					p.errorf(v, "%s: invalid severity %s (want critical, high, medium, low or info)", at, quote(s))
				} else {
					rs.blockOn = &sev
				}
			}
		case "on_tool_error":
			if s, ok := p.str(v, at); ok {
				switch a := ErrorAction(s); a {
				case ErrorBlock, ErrorWarn:
					rs.onToolError = &a
				default:
					p.errorf(v, "%s: want block or warn, got %s", at, quote(s))
				}
			}
		case "timeout":
			rs.timeout = p.duration(v, at)
		case "config":
			rs.config = p.relPath(v, at)
		case "baseline":
			rs.baseline = p.relPath(v, at)
		default:
			return false
		}
		return true
	})
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
			if s := suggest(key, known); s != "" {
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
	seq := resolve(v)
	if isNull(seq) {
		p.errorf(v, "%s has no value (want a list such as [gitleaks])", at)
		return nil
	}
	if seq.Kind != yaml.SequenceNode {
		p.errorf(v, "%s: want a list of tool names, got %s", at, describe(seq))
		return nil
	}
	d, _ := stages.Lookup(stage)
	if len(seq.Content) == 0 && len(d.Tools) > 0 {
		p.errorf(v, "%s: the list is empty (omit tools for every tool of the stage, or set enabled: false)", at)
		return nil
	}
	var out []string
	ok := true
	for _, item := range seq.Content {
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

// suggest returns the known name closest to s if it is a plausible typo.
func suggest(s string, known []string) string {
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
