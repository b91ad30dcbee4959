package stages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// ConfigError is a tool configuration file of the source that the tool
// would not read as its author meant: an input error, never a fallback to
// the tool's defaults. It names the file and, where there is one, the line.
type ConfigError struct {
	Tool string
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	at := e.File
	if e.Line > 0 {
		at = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("%s configuration %s: %s", e.Tool, at, e.Msg)
}

// configCheck validates a configuration file's content; it returns a
// ConfigError without Tool and File, which toolConfig fills in.
type configCheck func(data []byte) *ConfigError

// configFile is one configuration a tool reads from the source: the file
// names it is found under (the first present wins), how it is checked, and
// whether the policy's per_tool config replaces it (a tool's main file).
type configFile struct {
	names []string
	check configCheck
	main  bool
}

// toolConfigs are the configuration files each tool reads from the
// source, as the tools name them. dagsec passes each one found to the tool
// explicitly (the tools would read some of them from their working folder
// unasked) and records it in the tool's report row.
var toolConfigs = map[string][]configFile{
	"gitleaks": {{names: []string{".gitleaks.toml"}, check: checkTOML, main: true}},
	// bandit 1.6.2: -c takes YAML (tests, skips, plugin settings), --ini the
	// [bandit] section of an INI file, which bandit otherwise reads from
	// the target folder by itself.
	"bandit": {
		{names: []string{"bandit.yaml", ".bandit.yaml"}, check: checkBanditYAML, main: true},
		{names: []string{".bandit"}, check: checkBanditINI},
	},
	"semgrep": {
		{names: []string{".semgrep.yml", ".semgrep.yaml"}, check: checkSemgrepRules, main: true},
		{names: []string{".semgrepignore"}, check: checkText},
	},
	"hadolint": {{names: []string{".hadolint.yaml", ".hadolint.yml"}, check: checkHadolint, main: true}},
	"trivy": {
		{names: []string{"trivy.yaml"}, check: checkYAMLMapping, main: true},
		{names: []string{".trivyignore"}, check: checkTrivyIgnore},
	},
	"checkov": {{names: []string{".checkov.yaml", ".checkov.yml"}, check: checkYAMLMapping, main: true}},
	"tfsec":   {{names: []string{".tfsec/config.yml", ".tfsec/config.yaml", ".tfsec/config.json"}, check: checkTfsec, main: true}},
}

// ConfigFiles lists the configuration file names a tool reads from the
// source, main file first.
func ConfigFiles(tool string) []string {
	var out []string
	for _, c := range toolConfigs[tool] {
		out = append(out, c.names...)
	}
	return out
}

// foundConfig is a configuration file a tool runs with.
type foundConfig struct {
	path string // relative to the source
	main bool   // the tool's main file (bandit.yaml), not an ignore list
	data []byte
}

// overrides reports whether the policy's per_tool config (override) takes
// the place of cf: the file of the same extension (bandit's .bandit INI
// file against its YAML), else the main file.
func (cf configFile) overrides(tool, override string) bool {
	if override == "" {
		return false
	}
	ext := path.Ext(override)
	for _, other := range toolConfigs[tool] {
		if slices.ContainsFunc(other.names, func(n string) bool { return path.Ext(n) == ext }) {
			return slices.ContainsFunc(cf.names, func(n string) bool { return path.Ext(n) == ext })
		}
	}
	return cf.main
}

// findConfigs returns the configuration files tool runs with, checked: the
// policy's per_tool config (override) in place of its main file, else
// those present in the source. A broken file, or an override that does not
// exist, is a *ConfigError.
func findConfigs(ctx context.Context, probe Probe, tool, override string) ([]foundConfig, error) {
	var out []foundConfig
	for _, cf := range toolConfigs[tool] {
		names := cf.names
		if cf.overrides(tool, override) {
			rel, err := CleanRel(override)
			if err != nil {
				return nil, &ConfigError{Tool: tool, File: override, Msg: err.Error()}
			}
			ok, err := probe.Exists(ctx, rel)
			if err != nil {
				return nil, &ConfigError{Tool: tool, File: rel, Msg: err.Error()}
			}
			if !ok {
				return nil, &ConfigError{Tool: tool, File: rel, Msg: "does not exist in the source (the policy names it)"}
			}
			names = []string{rel}
		}
		for _, name := range names {
			ok, err := probe.Exists(ctx, name)
			if err != nil {
				return nil, &ConfigError{Tool: tool, File: name, Msg: err.Error()}
			}
			if !ok {
				continue
			}
			data, err := probe.ReadFile(ctx, name)
			if err != nil {
				return nil, &ConfigError{Tool: tool, File: name, Msg: err.Error()}
			}
			if e := cf.check(data); e != nil {
				e.Tool, e.File = tool, name
				return nil, e
			}
			out = append(out, foundConfig{path: name, main: cf.main, data: data})
			break
		}
	}
	return out, nil
}

// configPaths are the files' paths, for the report.
func configPaths(cs []foundConfig) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.path)
	}
	return out
}

// applyToolConfig finds the configuration files of a planned tool run in
// the source (or the policy's per_tool config), checks them, hands them to
// the tool explicitly and records them on the plan. gitleaks' is chosen
// by planGitleaks, which has done all this.
func applyToolConfig(ctx context.Context, probe Probe, opts Options, p *Plan) error {
	tool := p.ToolName()
	if _, ok := toolConfigs[tool]; !ok || tool == "gitleaks" || p.Skipped != "" || p.Inline != nil {
		return nil
	}
	cs, err := findConfigs(ctx, probe, tool, opts.ToolConfigs[tool])
	if err != nil || len(cs) == 0 {
		return err
	}
	p.Config = configPaths(cs)
	st := &p.Step
	for _, c := range cs {
		file := SourceDir + "/" + c.path
		switch {
		case tool == "bandit" && path.Ext(c.path) == ".bandit":
			st.Argv = append(st.Argv, "--ini", file)
		case tool == "bandit":
			st.Argv = append(st.Argv, "-c", file)
			if dirs := BanditExcludeDirs(c.data); len(dirs) > 0 {
				i := slices.Index(st.Argv, "-x")
				st.Argv[i+1] += "," + strings.Join(dirs, ",")
			}
		case tool == "semgrep" && c.main:
			st.Argv = insertBefore(st.Argv, "--config", file)
		case tool == "semgrep":
			// .semgrepignore: semgrep reads it from the folder it scans, the
			// source; a policy cannot move it.
		case tool == "trivy" && c.main:
			// Appended: trivy takes flags after its target, and the image
			// stage's argv ends with a flag's value.
			st.Argv = append(st.Argv, "--config", file)
		case tool == "trivy":
			st.Argv = append(st.Argv, "--ignorefile", file)
		case tool == "hadolint":
			st.Argv = slices.Concat(st.Argv[:1], []string{"--config", file}, st.Argv[1:])
		case tool == "checkov", tool == "tfsec":
			st.Argv = append(st.Argv, "--config-file", file)
		}
	}
	return nil
}

// insertBefore puts extra before argv's last element (the scanned folder).
func insertBefore(argv []string, extra ...string) []string {
	if len(extra) == 0 {
		return argv
	}
	return slices.Concat(argv[:len(argv)-1], extra, argv[len(argv)-1:])
}

// ---- checks ----

// checkText accepts UTF-8 text: a binary file under a config's name is a mistake.
func checkText(data []byte) *ConfigError {
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return &ConfigError{Msg: "is not a text file"}
	}
	return nil
}

// yamlRoot parses one YAML document; an empty file yields nil.
func yamlRoot(data []byte) (*yaml.Node, *ConfigError) {
	if e := checkText(data); e != nil {
		return nil, e
	}
	var doc yaml.Node
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("yaml: parser failed: %v", r)
			}
		}()
		return yaml.Unmarshal(data, &doc)
	}()
	if err != nil {
		return nil, &ConfigError{Line: yamlErrLine(err), Msg: "invalid YAML: " + yamlErrRE.ReplaceAllString(err.Error(), "")}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlErrRE = regexp.MustCompile(`^yaml: (?:unmarshal errors:\n\s*)?(?:line (\d+): )?`)

func yamlErrLine(err error) int {
	var line int
	if m := yamlErrRE.FindStringSubmatch(err.Error()); m != nil && m[1] != "" {
		fmt.Sscan(m[1], &line)
	}
	return line
}

// yamlMapping parses a YAML file whose root must be a mapping; an empty
// file is an empty mapping.
func yamlMapping(data []byte) (map[string]*yaml.Node, []*yaml.Node, *ConfigError) {
	root, e := yamlRoot(data)
	if e != nil || root == nil {
		return map[string]*yaml.Node{}, nil, e
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, &ConfigError{Line: root.Line, Msg: "want a mapping of settings at the top level"}
	}
	m := map[string]*yaml.Node{}
	var keys []*yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if _, dup := m[k.Value]; dup {
			return nil, nil, &ConfigError{Line: k.Line, Msg: fmt.Sprintf("duplicate key %q", k.Value)}
		}
		m[k.Value] = root.Content[i+1]
		keys = append(keys, k)
	}
	return m, keys, nil
}

func checkYAMLMapping(data []byte) *ConfigError {
	_, _, e := yamlMapping(data)
	return e
}

// stringList checks that key, when set, is a list of non-empty strings.
func stringList(m map[string]*yaml.Node, key string) ([]string, *ConfigError) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, &ConfigError{Line: v.Line, Msg: fmt.Sprintf("%s: want a list such as [B101], got %s", key, yamlKind(v))}
	}
	var out []string
	for _, it := range v.Content {
		if it.Kind != yaml.ScalarNode || it.Tag != "!!str" || strings.TrimSpace(it.Value) == "" {
			return nil, &ConfigError{Line: it.Line, Msg: fmt.Sprintf("%s: want non-empty strings, got %s", key, yamlKind(it))}
		}
		out = append(out, it.Value)
	}
	return out, nil
}

func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

// checkBanditYAML: bandit 1.6.2 refuses an empty file ("Error parsing
// file"); tests, skips and exclude_dirs are lists of test ids or folders.
func checkBanditYAML(data []byte) *ConfigError {
	m, _, e := yamlMapping(data)
	if e != nil {
		return e
	}
	if len(m) == 0 {
		return &ConfigError{Msg: "is empty (bandit refuses an empty configuration)"}
	}
	for _, key := range []string{"tests", "skips", "exclude_dirs"} {
		if _, e := stringList(m, key); e != nil {
			return e
		}
	}
	return nil
}

// BanditExcludeDirs are the exclude_dirs of a bandit YAML configuration
// (bandit 1.7's key): bandit 1.6.2 ignores the key, so dagsec passes them
// with -x. A plain name excludes that folder anywhere, a path one folder.
func BanditExcludeDirs(data []byte) []string {
	m, _, e := yamlMapping(data)
	if e != nil {
		return nil
	}
	dirs, _ := stringList(m, "exclude_dirs")
	var out []string
	for _, d := range dirs {
		d = strings.Trim(strings.TrimPrefix(d, "./"), "/")
		switch {
		case d == "":
		case strings.Contains(d, "/"):
			out = append(out, "./"+d+"/")
		default:
			out = append(out, "/"+d+"/")
		}
	}
	return out
}

// checkBanditINI: bandit reads the [bandit] section with Python's
// configparser and silently ignores a file without one.
func checkBanditINI(data []byte) *ConfigError {
	if e := checkText(data); e != nil {
		return e
	}
	section := ""
	found := false
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";"):
		case strings.HasPrefix(t, "["):
			if !strings.HasSuffix(t, "]") {
				return &ConfigError{Line: i + 1, Msg: fmt.Sprintf("section header %q has no closing ]", t)}
			}
			section = strings.TrimSpace(t[1 : len(t)-1])
			found = found || section == "bandit"
		case line != t && section != "":
			// an indented line continues the value above
		case section == "":
			return &ConfigError{Line: i + 1, Msg: "a setting before any [section] header"}
		case !strings.ContainsAny(t, "=:"):
			return &ConfigError{Line: i + 1, Msg: fmt.Sprintf("%q is not a key = value setting", t)}
		}
	}
	if !found {
		return &ConfigError{Msg: "has no [bandit] section, so bandit would ignore it"}
	}
	return nil
}

// checkSemgrepRules: a semgrep rules file is a mapping with a rules list.
func checkSemgrepRules(data []byte) *ConfigError {
	m, _, e := yamlMapping(data)
	if e != nil {
		return e
	}
	rules, ok := m["rules"]
	if !ok {
		return &ConfigError{Msg: "has no rules: list (a semgrep configuration is rules: [...])"}
	}
	if rules.Kind != yaml.SequenceNode {
		return &ConfigError{Line: rules.Line, Msg: "rules: want a list of rules, got " + yamlKind(rules)}
	}
	for _, r := range rules.Content {
		if r.Kind != yaml.MappingNode {
			return &ConfigError{Line: r.Line, Msg: "rules: each rule is a mapping with an id, got " + yamlKind(r)}
		}
	}
	return nil
}

// hadolintKeys are the settings hadolint v2.12.0 reads from its YAML
// configuration (Hadolint.Config.Configfile); it ignores any other key.
var hadolintKeys = []string{"no-fail", "no-color", "verbose", "format", "ignored", "override", "trustedRegistries",
	"label-schema", "strict-labels", "disable-ignore-pragma", "failure-threshold"}

var hadolintSeverities = []string{"error", "warning", "info", "style", "ignore", "none"}

// checkHadolint checks .hadolint.yaml as hadolint reads it: an unknown key
// (a typo such as ignore:) would be ignored and so would the rules it meant.
func checkHadolint(data []byte) *ConfigError {
	m, keys, e := yamlMapping(data)
	if e != nil {
		return e
	}
	for _, k := range keys {
		if !slices.Contains(hadolintKeys, k.Value) {
			return &ConfigError{Line: k.Line, Msg: fmt.Sprintf("unknown key %q (hadolint reads %s)", k.Value, strings.Join(hadolintKeys, ", "))}
		}
	}
	for _, key := range []string{"ignored", "trustedRegistries"} {
		if _, e := stringList(m, key); e != nil {
			return e
		}
	}
	if o, ok := m["override"]; ok {
		if o.Kind != yaml.MappingNode {
			return &ConfigError{Line: o.Line, Msg: "override: want a mapping of error, warning, info, style to rule lists"}
		}
		om := map[string]*yaml.Node{}
		for i := 0; i+1 < len(o.Content); i += 2 {
			k := o.Content[i]
			if !slices.Contains(hadolintSeverities[:4], k.Value) {
				return &ConfigError{Line: k.Line, Msg: fmt.Sprintf("override: unknown level %q (error, warning, info, style)", k.Value)}
			}
			om[k.Value] = o.Content[i+1]
		}
		for k := range om {
			if _, e := stringList(om, k); e != nil {
				e.Msg = "override." + e.Msg
				return e
			}
		}
	}
	if ft, ok := m["failure-threshold"]; ok && !slices.Contains(hadolintSeverities, ft.Value) {
		return &ConfigError{Line: ft.Line, Msg: fmt.Sprintf("failure-threshold: want one of %s, got %s", strings.Join(hadolintSeverities, ", "), yamlKind(ft))}
	}
	return nil
}

// checkTfsec checks tfsec's config.yml (or .json): exclude is a list of
// check ids, severity_overrides a mapping, minimum_severity a severity.
func checkTfsec(data []byte) *ConfigError {
	m, _, e := yamlMapping(data)
	if e != nil {
		return e
	}
	if _, e := stringList(m, "exclude"); e != nil {
		return e
	}
	if so, ok := m["severity_overrides"]; ok && so.Kind != yaml.MappingNode {
		return &ConfigError{Line: so.Line, Msg: "severity_overrides: want a mapping of check ids to severities, got " + yamlKind(so)}
	}
	if ms, ok := m["minimum_severity"]; ok && !slices.Contains([]string{"CRITICAL", "HIGH", "MEDIUM", "LOW"}, strings.ToUpper(ms.Value)) {
		return &ConfigError{Line: ms.Line, Msg: "minimum_severity: want CRITICAL, HIGH, MEDIUM or LOW, got " + yamlKind(ms)}
	}
	return nil
}

// checkTrivyIgnore checks .trivyignore as trivy v0.74 reads it: one id a
// line, # comments, and an optional exp:YYYY-MM-DD after the id, which
// trivy refuses to parse in any other form.
func checkTrivyIgnore(data []byte) *ConfigError {
	if e := checkText(data); e != nil {
		return e
	}
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		fields := strings.Fields(t)
		for _, f := range fields[1:] {
			if strings.HasPrefix(f, "#") {
				break
			}
			exp, ok := strings.CutPrefix(f, "exp:")
			if !ok {
				continue
			}
			if _, err := time.Parse("2006-01-02", exp); err != nil {
				return &ConfigError{Line: i + 1, Msg: fmt.Sprintf("%q: want exp:YYYY-MM-DD", f)}
			}
		}
		if strings.HasPrefix(fields[0], "exp:") {
			return &ConfigError{Line: i + 1, Msg: "a line starts with exp: instead of a vulnerability or check id"}
		}
	}
	return nil
}

// checkTOML checks TOML syntax (gitleaks' configuration).
func checkTOML(data []byte) *ConfigError {
	if e := checkText(data); e != nil {
		return e
	}
	var v map[string]any
	if _, err := toml.Decode(string(data), &v); err != nil {
		e := &ConfigError{Msg: "invalid TOML: " + err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			e.Line, e.Msg = pe.Position.Line, "invalid TOML: "+pe.Message
		}
		return e
	}
	return nil
}
