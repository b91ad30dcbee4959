package stages

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/dagsec/dagsec/findings"
)

// DockerfilePatterns are the doublestar globs that find Dockerfiles in a source tree.
var DockerfilePatterns = []string{"**/Dockerfile", "**/Dockerfile.*", "**/*.Dockerfile", "**/Containerfile"}

// Rule ids of dagsec's own Dockerfile hardening checks. They are interfaces:
// reports, baselines and code scanning key on them.
const (
	HardeningRootUser      = "DAGSEC-DF001"
	HardeningLatestTag     = "DAGSEC-DF002"
	HardeningNoDigest      = "DAGSEC-DF003"
	HardeningNoHealthcheck = "DAGSEC-DF004"
)

// HardeningRules are dagsec's Dockerfile hardening checks, in rule id order.
var HardeningRules = []HardeningRule{
	{
		ID:       HardeningRootUser,
		Title:    "Container runs as root",
		Tool:     HardeningTool,
		Stage:    Dockerfile,
		Severity: findings.SeverityHigh,
		Help: "The final stage sets no USER, or its last USER is root (root, 0, root:GROUP, 0:GROUP), so the " +
			"container's processes run as UID 0.",
		Fix:     "Create an unprivileged user and end the final stage with USER NAME or USER UID:GID.",
		HelpURI: "https://docs.docker.com/reference/dockerfile/#user",
		SameAs:  "AVD-DS-0002",
	},
	{
		ID:       HardeningLatestTag,
		Title:    "Base image uses the latest tag",
		Tool:     HardeningTool,
		Stage:    Dockerfile,
		Severity: findings.SeverityMedium,
		Help: "A FROM image has the tag latest, or neither tag nor digest (which means latest), so every build " +
			"may pull a different image.",
		Fix:     "Name an explicit version tag, and preferably a digest.",
		HelpURI: "https://docs.docker.com/reference/dockerfile/#from",
		SameAs:  "AVD-DS-0001",
	},
	{
		ID:       HardeningNoDigest,
		Title:    "Base image is not pinned by digest",
		Tool:     HardeningTool,
		Stage:    Dockerfile,
		Severity: findings.SeverityLow,
		Help:     "A FROM image is named by tag only; tags are mutable and can be moved to another image.",
		Fix: "Pin it as NAME:TAG@sha256:DIGEST so builds are reproducible and a retagged image is not pulled " +
			"silently.",
		HelpURI: "https://docs.docker.com/build/building/best-practices/#pin-base-image-versions",
	},
	{
		ID:       HardeningNoHealthcheck,
		Title:    "No HEALTHCHECK",
		Tool:     HardeningTool,
		Stage:    Dockerfile,
		Severity: findings.SeverityLow,
		Help: "The final stage has no HEALTHCHECK instruction, or disables it with HEALTHCHECK NONE, so the " +
			"runtime cannot tell a hung container from a healthy one.",
		Fix:     "Add HEALTHCHECK CMD with a probe of the service.",
		HelpURI: "https://docs.docker.com/reference/dockerfile/#healthcheck",
		SameAs:  "AVD-DS-0026",
	},
}

// LookupHardeningRule returns the hardening rule with the given id.
func LookupHardeningRule(id string) (HardeningRule, bool) {
	for _, r := range HardeningRules {
		if r.ID == id {
			return r, true
		}
	}
	return HardeningRule{}, false
}

// CheckDockerfile runs the hardening checks on one Dockerfile. path is its slash path relative to the source, used in findings.
func CheckDockerfile(path string, content []byte) ([]findings.Finding, error) {
	res, err := parseDockerfile(content)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	df, err := readHardeningStages(res)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	var out []findings.Finding
	add := func(ruleID string, n *parser.Node, msg, identity string) {
		r, _ := LookupHardeningRule(ruleID)
		out = append(out, findings.Finding{
			Stage:    Dockerfile,
			Tool:     HardeningTool,
			RuleID:   r.ID,
			RuleName: r.Title,
			Severity: r.Severity,
			Message:  msg,
			Location: findings.Location{Path: path, Line: n.StartLine, EndLine: n.EndLine},
			HelpURI:  r.HelpURI,
			Rule:     OwnRuleDoc(r.ID),
			Tags:     hardeningTags(r),
			Identity: identity,
		})
	}

	// DF002 and DF003 look at every FROM that pulls an image.
	for _, st := range df.stages {
		if st.parent >= 0 || st.unresolved || strings.EqualFold(st.image, "scratch") {
			continue
		}
		ref := parseImageRef(st.image)
		image := quoteImage(st)
		switch {
		case ref.tag == "latest" && !ref.pinned:
			add(HardeningLatestTag, st.from, fmt.Sprintf("base image %s uses the latest tag; name an explicit version", image), st.image)
		case ref.tag == "" && ref.digest == "":
			add(HardeningLatestTag, st.from, fmt.Sprintf("base image %s has no tag or digest, so it resolves to latest; name an explicit version", image), st.image)
		case ref.digest != "" && !ref.pinned:
			add(HardeningNoDigest, st.from, fmt.Sprintf("base image %s has an invalid digest %q; pin it as @sha256:<64 hex digits>", image, ref.digest), st.image)
		case !ref.pinned:
			add(HardeningNoDigest, st.from, fmt.Sprintf("base image %s is pinned by tag only; pin it by digest (%s@sha256:...)", image, st.image), st.image)
		}
	}

	final := df.stages[len(df.stages)-1]
	finalImage := quoteImage(final)

	// DF001: the last USER of the final stage, or of the stages it builds on.
	if u, st := df.lastUser(final); u == nil {
		add(HardeningRootUser, final.from, fmt.Sprintf("final stage (FROM %s) sets no USER, so the container runs as root unless the base image sets a non-root user", finalImage), "final-stage")
	} else if isRootUser(u.value) {
		msg := fmt.Sprintf("final stage runs as root: USER %s", u.node.Next.Value)
		if u.value != u.node.Next.Value {
			msg += fmt.Sprintf(" (resolves to %s)", u.value)
		}
		if st != final {
			msg += fmt.Sprintf(", inherited from stage %q", st.name)
		}
		add(HardeningRootUser, u.node, msg, "final-stage")
	}

	// DF004: the last HEALTHCHECK of the final stage, or of the stages it builds on.
	if h, st := df.lastHealthcheck(final); h == nil {
		add(HardeningNoHealthcheck, final.from, fmt.Sprintf("final stage (FROM %s) has no HEALTHCHECK", finalImage), "final-stage")
	} else if strings.EqualFold(h.Next.Value, "NONE") {
		msg := fmt.Sprintf("final stage (FROM %s) disables its health check with HEALTHCHECK NONE (line %d)", finalImage, h.StartLine)
		if st != final {
			msg += fmt.Sprintf(", inherited from stage %q", st.name)
		}
		add(HardeningNoHealthcheck, final.from, msg, "final-stage")
	}

	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Location.Line != out[b].Location.Line {
			return out[a].Location.Line < out[b].Location.Line
		}
		return out[a].RuleID < out[b].RuleID
	})
	findings.AssignFingerprints(out)
	return out, nil
}

func hardeningTags(r HardeningRule) []string {
	if r.SameAs == "" {
		return []string{"dockerfile", "hardening"}
	}
	return []string{"dockerfile", "hardening", r.SameAs}
}

// parseDockerfile runs buildkit's parser. A panic in it is turned into an
// error: one odd Dockerfile must fail its stage, not the whole run.
func parseDockerfile(content []byte) (res *parser.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("Dockerfile parser failed: %v", r)
		}
	}()
	res, err = parser.Parse(bytes.NewReader(content))
	if err != nil {
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 && le.Locations[0][0].Start.Line > 0 {
			return nil, fmt.Errorf("invalid Dockerfile near line %d: %w", le.Locations[0][0].Start.Line, err)
		}
		return nil, fmt.Errorf("invalid Dockerfile: %w", err)
	}
	return res, nil
}

// hardeningStage is one build stage as the checks see it.
type hardeningStage struct {
	from       *parser.Node
	raw        string // the base name as written
	image      string // the base name after ARG substitution
	unresolved bool   // the base name depends on a build argument without a default
	name       string // the stage's lowercased AS name, "" if none
	parent     int    // index of the earlier stage it builds on, -1 for an image
	user       *hardeningUser
	health     *parser.Node // last HEALTHCHECK
	env        map[string]string
	// nodes are the stage's instructions after its FROM, in order.
	nodes []*parser.Node
}

type hardeningUser struct {
	node  *parser.Node
	value string // after substitution
}

type hardeningDockerfile struct {
	stages []*hardeningStage
}

var hardeningStageName = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)

// hardeningPlatformArgs are the build arguments buildkit defines without a
// declaration; their values only matter for expansion, not for the checks.
var hardeningPlatformArgs = map[string]string{
	"BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": "",
	"TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64", "TARGETVARIANT": "",
}

// readHardeningStages walks the parsed instructions into stages, resolving
// ARG defaults in FROM and ARG/ENV values in USER as a build without
// --build-arg would.
func readHardeningStages(res *parser.Result) (*hardeningDockerfile, error) {
	lex := shell.NewLex(res.EscapeToken)
	global := hardeningEnv{}
	for k, v := range hardeningPlatformArgs {
		global[k] = v
	}
	declaredNoDefault := map[string]bool{}
	df := &hardeningDockerfile{}
	var cur *hardeningStage
	var args hardeningEnv // ARG values of the current stage

	for _, n := range res.AST.Children {
		cmd := strings.ToLower(n.Value)
		if _, ok := command.Commands[cmd]; !ok {
			return nil, fmt.Errorf("line %d: unknown instruction %s", n.StartLine, hardeningShort(n.Value))
		}
		if cur == nil && cmd != command.Arg && cmd != command.From {
			return nil, fmt.Errorf("line %d: %s before the first FROM", n.StartLine, strings.ToUpper(cmd))
		}
		if cur != nil && cmd != command.From {
			cur.nodes = append(cur.nodes, n)
		}
		switch cmd {
		case command.From:
			st, err := readHardeningFrom(n, lex, global, declaredNoDefault, df.stages)
			if err != nil {
				return nil, err
			}
			if st.parent >= 0 {
				st.env = hardeningEnv(df.stages[st.parent].env).clone()
			} else {
				st.env = map[string]string{}
			}
			df.stages = append(df.stages, st)
			cur, args = st, hardeningEnv{}
		case command.Arg:
			if n.Next == nil {
				return nil, fmt.Errorf("line %d: ARG requires at least one argument", n.StartLine)
			}
			for w := n.Next; w != nil; w = w.Next {
				key, val, hasVal := strings.Cut(w.Value, "=")
				if key == "" {
					return nil, fmt.Errorf("line %d: ARG names can not be blank", n.StartLine)
				}
				if cur == nil {
					// A global ARG: its default is expanded with the ones before it.
					if _, auto := hardeningPlatformArgs[key]; auto && !hasVal {
						continue // ARG TARGETARCH keeps buildkit's value
					}
					if !hasVal {
						declaredNoDefault[key] = true
						delete(global, key)
						continue
					}
					v, _, err := lex.ProcessWord(val, global)
					if err != nil {
						return nil, fmt.Errorf("line %d: ARG %s: %w", n.StartLine, key, err)
					}
					global[key] = v
					delete(declaredNoDefault, key)
					continue
				}
				if !hasVal {
					// Inside a stage, ARG NAME takes the global default.
					if v, ok := global[key]; ok {
						args[key] = v
					}
					continue
				}
				v, _, err := lex.ProcessWord(val, hardeningStageEnv{cur.env, args})
				if err != nil {
					return nil, fmt.Errorf("line %d: ARG %s: %w", n.StartLine, key, err)
				}
				args[key] = v
			}
		case command.Env:
			for kv := n.Next; kv != nil; {
				if kv.Next == nil {
					return nil, fmt.Errorf("line %d: ENV requires a name and a value", n.StartLine)
				}
				v, _, err := lex.ProcessWord(kv.Next.Value, hardeningStageEnv{cur.env, args})
				if err != nil {
					return nil, fmt.Errorf("line %d: ENV %s: %w", n.StartLine, kv.Value, err)
				}
				cur.env[kv.Value] = v
				kv = kv.Next.Next // skip the value and its separator
				if kv != nil {
					kv = kv.Next
				}
			}
		case command.User:
			if n.Next == nil || strings.TrimSpace(n.Next.Value) == "" {
				return nil, fmt.Errorf("line %d: USER requires exactly one argument", n.StartLine)
			}
			// A reference to an unset variable expands to "", which is not
			// root; ${UID:-0} expands to its default, which is.
			v, _, err := lex.ProcessWord(n.Next.Value, hardeningStageEnv{cur.env, args})
			if err != nil {
				return nil, fmt.Errorf("line %d: USER: %w", n.StartLine, err)
			}
			cur.user = &hardeningUser{node: n, value: strings.TrimSpace(v)}
		case command.Healthcheck:
			if n.Next == nil {
				return nil, fmt.Errorf("line %d: HEALTHCHECK requires at least one argument", n.StartLine)
			}
			cur.health = n
		}
	}
	if len(df.stages) == 0 {
		return nil, errors.New("invalid Dockerfile: no FROM instruction")
	}
	return df, nil
}

func readHardeningFrom(n *parser.Node, lex *shell.Lex, global hardeningEnv, declaredNoDefault map[string]bool, earlier []*hardeningStage) (*hardeningStage, error) {
	var words []string
	for w := n.Next; w != nil; w = w.Next {
		words = append(words, w.Value)
	}
	st := &hardeningStage{from: n, parent: -1}
	switch {
	case len(words) == 3 && strings.EqualFold(words[1], "as"):
		st.name = strings.ToLower(words[2])
		if !hardeningStageName.MatchString(st.name) {
			return nil, fmt.Errorf("line %d: invalid build stage name %q", n.StartLine, words[2])
		}
	case len(words) != 1:
		return nil, fmt.Errorf("line %d: FROM requires either one or three arguments", n.StartLine)
	}
	st.raw = words[0]
	m, err := lex.ProcessWordWithMatches(st.raw, global)
	if err != nil {
		return nil, fmt.Errorf("line %d: FROM %s: %w", n.StartLine, st.raw, err)
	}
	for k := range m.Unmatched {
		if declaredNoDefault[k] {
			// Only a --build-arg can set it: the image is not known here.
			st.unresolved = true
		}
	}
	st.image = strings.TrimSpace(m.Result)
	if st.unresolved {
		return st, nil
	}
	if st.image == "" {
		return nil, fmt.Errorf("line %d: base name (%s) should not be blank", n.StartLine, st.raw)
	}
	lower := strings.ToLower(st.image)
	for i := len(earlier) - 1; i >= 0; i-- {
		if earlier[i].name != "" && earlier[i].name == lower {
			st.parent = i
			break
		}
	}
	return st, nil
}

// lastUser returns the USER in effect at the end of st: its own last one,
// else that of the stage it builds on, and the stage that set it.
func (df *hardeningDockerfile) lastUser(st *hardeningStage) (*hardeningUser, *hardeningStage) {
	for s := st; s != nil; s = df.parentOf(s) {
		if s.user != nil {
			return s.user, s
		}
	}
	return nil, nil
}

// lastHealthcheck returns the HEALTHCHECK in effect at the end of st, and
// the stage that set it.
func (df *hardeningDockerfile) lastHealthcheck(st *hardeningStage) (*parser.Node, *hardeningStage) {
	for s := st; s != nil; s = df.parentOf(s) {
		if s.health != nil {
			return s.health, s
		}
	}
	return nil, nil
}

func (df *hardeningDockerfile) parentOf(st *hardeningStage) *hardeningStage {
	if st.parent < 0 {
		return nil
	}
	return df.stages[st.parent]
}

// isRootUser reports whether a USER value (user[:group]) names UID 0.
func isRootUser(v string) bool {
	user, _, _ := strings.Cut(v, ":")
	if user == "root" {
		return true
	}
	uid, err := strconv.ParseUint(user, 10, 32)
	return err == nil && uid == 0
}

type hardeningImageRef struct {
	tag    string
	digest string
	pinned bool // digest is a valid content digest
}

var hardeningDigest = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$`)

// parseImageRef splits [registry[:port]/]path[:tag][@digest] into its tag and digest.
func parseImageRef(s string) hardeningImageRef {
	var r hardeningImageRef
	name := s
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name, r.digest = name[:i], name[i+1:]
		r.pinned = hardeningDigest.MatchString(r.digest)
	}
	slash := strings.LastIndexByte(name, '/')
	if i := strings.LastIndexByte(name, ':'); i > slash {
		r.tag = name[i+1:]
	}
	return r
}

// quoteImage names a stage's base image for messages, with the FROM text
// when ARG substitution changed it.
func quoteImage(st *hardeningStage) string {
	switch {
	case st.unresolved:
		return st.raw
	case st.raw != st.image:
		return fmt.Sprintf("%s (from %s)", st.image, st.raw)
	}
	return st.image
}

// hardeningShort keeps error messages readable when the input is garbage.
func hardeningShort(s string) string {
	const limit = 40
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}

// hardeningEnv is a set of variables for shell.Lex.
type hardeningEnv map[string]string

func (e hardeningEnv) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }

func (e hardeningEnv) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (e hardeningEnv) clone() hardeningEnv {
	c := make(hardeningEnv, len(e))
	for k, v := range e {
		c[k] = v
	}
	return c
}

// hardeningStageEnv looks a variable up as a build step does: ENV first, then ARG.
type hardeningStageEnv struct {
	env  map[string]string
	args hardeningEnv
}

func (e hardeningStageEnv) Get(k string) (string, bool) {
	if v, ok := e.env[k]; ok {
		return v, true
	}
	return e.args.Get(k)
}

func (e hardeningStageEnv) Keys() []string {
	all := hardeningEnv{}
	for k, v := range e.args {
		all[k] = v
	}
	for k, v := range e.env {
		all[k] = v
	}
	return all.Keys()
}

// BaseImage names the image the target stage (the last one when target is
// empty) finally builds on, following stages built on earlier stages, with
// ARG defaults applied. It returns "" for scratch or a base that only a
// --build-arg names.
func BaseImage(dockerfile []byte, target string) (string, error) {
	res, err := parseDockerfile(dockerfile)
	if err != nil {
		return "", err
	}
	df, err := readHardeningStages(res)
	if err != nil {
		return "", err
	}
	if len(df.stages) == 0 {
		return "", fmt.Errorf("no FROM instruction")
	}
	st := df.stages[len(df.stages)-1]
	if target != "" {
		st = nil
		for _, s := range df.stages {
			if s.name == strings.ToLower(target) {
				st = s
			}
		}
		if st == nil {
			return "", fmt.Errorf("no build stage named %q", target)
		}
	}
	for df.parentOf(st) != nil {
		st = df.parentOf(st)
	}
	if st.unresolved || strings.EqualFold(st.image, "scratch") {
		return "", nil
	}
	return st.image, nil
}
