package stages

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
)

//go:embed config/gitleaks.toml
var gitleaksConfig []byte

// GitleaksConfig is dagsec's extended gitleaks configuration.
func GitleaksConfig() []byte { return bytes.Clone(gitleaksConfig) }

// gitleaksFindingsCode is the exit code gitleaks is told to use for leaks, so
// that its own failures (exit 1) are never mistaken for findings.
const gitleaksFindingsCode = 3

func planSecrets(ctx context.Context, opts Options, probe Probe) ([]Plan, error) {
	var plans []Plan
	for _, tool := range opts.tools(Secrets) {
		switch tool {
		case "gitleaks":
			p, err := planGitleaks(ctx, opts, probe)
			if err != nil {
				return nil, err
			}
			plans = append(plans, p)
		case "trufflehog":
			c := newChooser(Secrets, opts, probe)
			if why := c.available(ctx, tool); why != "" {
				plans = append(plans, unavailable(Secrets, tool, why))
				continue
			}
			p, err := planTrufflehog(ctx, opts, probe)
			if err != nil {
				return nil, err
			}
			plans = append(plans, p)
		default:
			return nil, fmt.Errorf("stage %s: tool %q is not wired", Secrets, tool)
		}
	}
	return plans, nil
}

func planGitleaks(ctx context.Context, opts Options, probe Probe) (Plan, error) {
	t, _ := LookupTool("gitleaks")
	mode := "dir"
	if opts.History {
		mode = "git"
	}
	argv := []string{"gitleaks", mode,
		"--no-banner", "--no-color", "--log-level", "warn",
		"--redact", // values never reach the report file, the logs or us
		"--report-format", "json", "--report-path", OutputDir + "/gitleaks.json",
		"--exit-code", strconv.Itoa(gitleaksFindingsCode),
		// .gitleaksignore is read from the source, never from the working folder.
		"--gitleaks-ignore-path", SourceDir,
	}
	inputs := map[string][]byte{}

	cfg, err := secretsConfig(ctx, opts, probe)
	if err != nil {
		return Plan{}, err
	}
	var used []string
	if cfg != "" {
		used = []string{cfg}
	}
	if cfg == "" {
		inputs["gitleaks.toml"] = GitleaksConfig()
		argv = append(argv, "--config", InputDir+"/gitleaks.toml")
	} else {
		argv = append(argv, "--config", SourceDir+"/"+cfg)
	}
	if opts.Baseline != "" {
		rel, err := CleanRel(opts.Baseline)
		if err != nil {
			return Plan{}, fmt.Errorf("stage %s: baseline: %w", Secrets, err)
		}
		ok, err := probe.Exists(ctx, rel)
		if err != nil {
			return Plan{}, fmt.Errorf("stage %s: baseline %s: %w", Secrets, rel, err)
		}
		if !ok {
			return Plan{}, fmt.Errorf("stage %s: baseline %s does not exist in the source", Secrets, rel)
		}
		argv = append(argv, "--baseline-path", SourceDir+"/"+rel)
	}
	// Scanning "." from the source folder keeps reported paths relative.
	argv = append(argv, ".")

	return Plan{
		Stage: Secrets,
		Step: Step{
			Name:         Secrets + "/gitleaks",
			Tool:         "gitleaks",
			Version:      t.Version,
			Image:        t.Image,
			Argv:         argv,
			Workdir:      SourceDir,
			Inputs:       inputs,
			Report:       "gitleaks.json",
			OKCodes:      []int{0},
			FindingCodes: []int{gitleaksFindingsCode},
			Timeout:      opts.timeout(10 * time.Minute),
			NeedsGit:     opts.History,
		},
		Parse:  func(report []byte) ([]findings.Finding, error) { return ParseGitleaks(report) },
		Config: used,
	}, nil
}

// secretsConfig picks the gitleaks configuration, checked: the policy's
// per_tool or stage config path, else the repository's .gitleaks.toml,
// else "" for dagsec's own.
func secretsConfig(ctx context.Context, opts Options, probe Probe) (string, error) {
	override := opts.ToolConfigs["gitleaks"]
	if override == "" {
		override = opts.Config
	}
	cs, err := findConfigs(ctx, probe, "gitleaks", override)
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", Secrets, err)
	}
	if len(cs) == 0 {
		return "", nil
	}
	return cs[0].path, nil
}

// CleanRel cleans a slash path and accepts it only if it stays inside the
// folder it is relative to.
func CleanRel(p string) (string, error) {
	c := path.Clean(strings.ReplaceAll(p, "\\", "/"))
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || c == "." {
		return "", fmt.Errorf("%q must be a path inside the source", p)
	}
	return c, nil
}

// gitleaksLeak is the part of gitleaks' JSON report dagsec reads. Secret and
// Match are deliberately absent: even redacted, they are not carried on.
type gitleaksLeak struct {
	RuleID      string
	Description string
	StartLine   int
	EndLine     int
	StartColumn int
	EndColumn   int
	File        string
	SymlinkFile string
	Commit      string
	Entropy     float32
	Tags        []string
	Match       string
}

// ParseGitleaks turns a gitleaks JSON report (run with --redact) into findings.
// Every leak is critical: a committed credential is usable by whoever reads it.
func ParseGitleaks(report []byte) ([]findings.Finding, error) {
	trimmed := bytes.TrimSpace(report)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("gitleaks report is empty")
	}
	if trimmed[0] != '[' {
		return nil, fmt.Errorf("gitleaks report is not a JSON array")
	}
	// Valid rejects trailing data such as a stray "}", which the decoder's
	// More does not see at the top level.
	if !json.Valid(trimmed) {
		return nil, fmt.Errorf("gitleaks report is not valid JSON (truncated or trailing data)")
	}
	var leaks []gitleaksLeak
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&leaks); err != nil {
		return nil, fmt.Errorf("gitleaks report: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("gitleaks report: trailing data after the JSON array")
	}
	out := make([]findings.Finding, 0, len(leaks))
	docs := ruleDocs{}
	for i, l := range leaks {
		if l.RuleID == "" || l.File == "" {
			return nil, fmt.Errorf("gitleaks report: leak %d has no rule id or file", i)
		}
		msg := l.Description
		if msg == "" {
			msg = "secret detected by rule " + l.RuleID
		}
		if l.Commit != "" {
			msg += fmt.Sprintf(" (commit %.12s)", l.Commit)
		}
		f := findings.Finding{
			Stage:    Secrets,
			Tool:     "gitleaks",
			RuleID:   l.RuleID,
			RuleName: l.Description, // code scanning shows it as the alert title
			Severity: findings.SeverityCritical,
			Message:  msg,
			Location: findings.Location{
				Path:      relPath(l.File),
				Line:      l.StartLine,
				EndLine:   l.EndLine,
				Column:    l.StartColumn,
				EndColumn: l.EndColumn,
			},
			HelpURI: "https://github.com/gitleaks/gitleaks",
			Tags:    append([]string{"secret"}, l.Tags...),
			// The redacted match keeps the surrounding key name, and the
			// entropy of the value tells two secrets of one rule apart
			// without keeping the value; the commit separates history hits.
			Identity: redactedMatch(l.Match) + "|" + strconv.FormatFloat(float64(l.Entropy), 'f', 4, 32) + "|" + l.Commit,
		}
		docs.attach(&f, func() findings.Doc { return gitleaksDoc(l) })
		out = append(out, f)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// gitleaksDoc explains a gitleaks rule: its report gives the rule's
// description and tags; the secret itself is never part of it.
func gitleaksDoc(l gitleaksLeak) findings.Doc {
	what := l.Description
	if what == "" {
		what = "a secret"
	}
	d := findings.Doc{
		Summary: fmt.Sprintf("gitleaks rule %s found %s committed to the source.", l.RuleID, what),
		Details: "Anyone who can read the repository or its history can use a committed credential. dagsec keeps " +
			"neither the match nor the secret: gitleaks runs with --redact.",
		Fix: "Revoke and rotate the credential, remove it from the code (and from history where it was " +
			"committed), and load it at run time from a secret store or the environment.",
		Links: []string{"https://github.com/gitleaks/gitleaks#rules"},
	}
	if len(l.Tags) > 0 {
		d.Facts = append(d.Facts, findings.Fact{Label: "Tags", Value: strings.Join(l.Tags, ", ")})
	}
	return d
}

// redactedMatch keeps a gitleaks match only when it was redacted; a match
// that still holds anything but REDACTED around its key is reduced to that.
func redactedMatch(m string) string {
	if !strings.Contains(m, "REDACTED") {
		return ""
	}
	return m
}

// relPath strips the mount prefixes runners put in front of reported paths.
func relPath(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	p = strings.TrimPrefix(p, "./")
	return p
}
