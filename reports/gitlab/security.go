package gitlab

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/stages"
)

// Options carries what a run report does not say but GitLab's locations
// want. The zero value works: every field has a documented fallback.
type Options struct {
	// Commit is the commit the scanned source was checked out at (in GitLab
	// CI, $CI_COMMIT_SHA). Secret detection locations need a commit; a
	// finding of a working-tree scan gets this one, or the placeholder
	// "0000000" without it. Findings of a history scan keep the commit
	// gitleaks named.
	Commit string
	// Image names the built image in container scanning locations (for
	// example $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA, or the reference the image
	// was published to). Without it, the run report's image reference,
	// else "unknown".
	Image string
	// Target is the URL DAST attacked. Without it, the URL the staging
	// stage's reason names; without either, DAST locations have no
	// hostname. Only its scheme, host and port are written, never
	// credentials, path or query.
	Target string
}

// NoCommit is the commit secret detection locations name when neither the
// finding nor Options says which commit holds the secret (a working-tree
// scan). The schema requires a non-empty sha.
const NoCommit = "0000000"

// category is one GitLab security report.
type category struct {
	file  string
	typ   string // scan.type
	label string
	// stages are those whose findings may land in this report, in the
	// order their messages are listed.
	stages []string
}

var categories = []category{
	{SASTFile, "sast", "SAST", []string{stages.SAST, stages.IaC, stages.Dockerfile}},
	{SecretDetectionFile, "secret_detection", "secret detection", []string{stages.Secrets, stages.Build, stages.Image}},
	{DependencyScanFile, "dependency_scanning", "dependency scanning", []string{stages.SCA}},
	{ContainerScanningFile, "container_scanning", "container scanning", []string{stages.Image, stages.Build}},
	{DASTFile, "dast", "DAST", []string{stages.DAST}},
}

// route names the report a finding belongs to; false for findings no
// security report takes.
//
//   - sast, iac, dockerfile → SAST: all three are static findings at a
//     line of a file in the repository (code, Terraform/Kubernetes, a
//     Dockerfile), which is exactly SAST's location (file, start_line).
//     GitLab has no separate IaC report type: its own IaC scanning writes
//     gl-sast-report.json too.
//   - secrets, and the build stage's gitleaks findings (secrets in the
//     image's environment), and the image stage's trivy secrets (secrets in
//     the image's files) → secret detection.
//   - sca → dependency scanning.
//   - image (trivy and grype vulnerabilities) and the build stage's own
//     image checks (root user, base image age) → container scanning.
//   - dast → DAST.
//   - licenses → none: a license is not a vulnerability, and GitLab reads
//     licenses from the CycloneDX SBOM the licenses stage writes
//     (artifacts:reports:cyclonedx), not from a security report.
func route(f findings.Finding) (string, bool) {
	switch f.Stage {
	case stages.SAST, stages.IaC, stages.Dockerfile:
		return SASTFile, true
	case stages.Secrets:
		return SecretDetectionFile, true
	case stages.SCA:
		return DependencyScanFile, true
	case stages.DAST:
		return DASTFile, true
	case stages.Build:
		if f.Tool == "gitleaks" || slices.Contains(f.Tags, "secret") {
			return SecretDetectionFile, true
		}
		return ContainerScanningFile, true
	case stages.Image:
		if slices.Contains(f.Tags, "secret") {
			return SecretDetectionFile, true
		}
		return ContainerScanningFile, true
	}
	return "", false
}

// toolFeeds says whether a tool of a stage can give findings to a report:
// the build and image stages feed two reports with different tools.
func toolFeeds(stage, tool, file string) bool {
	switch stage {
	case stages.Build:
		if tool == "gitleaks" {
			return file == SecretDetectionFile
		}
		return file == ContainerScanningFile
	case stages.Image:
		switch tool {
		case "trivy":
			return true // vulnerabilities and secrets
		case "grype":
			return file == ContainerScanningFile
		}
		return false // syft (an SBOM), cosign (a signature)
	}
	return true
}

// SecurityReports is Options{}.SecurityReports.
func SecurityReports(rep *pipeline.Report) (map[string][]byte, error) {
	return Options{}.SecurityReports(rep)
}

// SecurityReports returns GitLab security reports by file name (SASTFile,
// SecretDetectionFile, ...): one for each category some stage of which ran
// in this run (any status but skipped), even with no vulnerability, so
// GitLab sees that the scan ran and found nothing. A category none of whose
// stages ran gets no file: an empty report would tell GitLab its findings
// were fixed.
//
// scan.status is "failure" when a tool that feeds the report failed, or a
// stage that feeds it errored without any tool to blame (the engine could
// not build or serve): its findings may be incomplete. scan.messages list,
// per stage and tool, what ran, what did not and why.
//
// Each finding becomes one vulnerability: its id a UUID (version 8,
// SHA-256) derived from the finding's fingerprint, so it is stable from run
// to run; its first identifier the rule: a CVE, GHSA or CWE identifier
// when the rule id is one, else a "dagsec_<tool>" one; then every CVE,
// GHSA and CWE id among its tags (aliases, weaknesses).
func (o Options) SecurityReports(rep *pipeline.Report) (map[string][]byte, error) {
	if rep == nil {
		return nil, fmt.Errorf("gitlab reports: no run report")
	}
	byFile := map[string][]findings.Finding{}
	for i, f := range rep.Findings {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("gitlab reports: finding %d: %w", i, err)
		}
		if file, ok := route(f); ok {
			byFile[file] = append(byFile[file], f)
		}
	}
	ran := ranStages(rep)
	ctx := o.context(rep)
	out := map[string][]byte{}
	for _, c := range categories {
		if !slices.ContainsFunc(c.stages, func(s string) bool { return ran[s] }) {
			continue
		}
		r := secReport{
			Version:         SchemaVersion,
			Vulnerabilities: []vulnerability{},
			Scan:            ctx.scan(rep, c, ran),
		}
		ids := map[string]int{}
		for _, f := range byFile[c.file] {
			r.Vulnerabilities = append(r.Vulnerabilities, ctx.vulnerability(c, f, ids))
		}
		if c.file == DASTFile {
			res := scannedResources(ctx.host, r.Vulnerabilities)
			r.Scan.ScannedResources = &res
		}
		b, err := marshal(r)
		if err != nil {
			return nil, fmt.Errorf("gitlab %s report: %w", c.label, err)
		}
		out[c.file] = b
	}
	return out, nil
}

// ranStages are the stages that ran in this run: listed with a status
// other than skipped, or named by a finding.
func ranStages(rep *pipeline.Report) map[string]bool {
	ran := map[string]bool{}
	for _, s := range rep.Stages {
		if s.Status != "" && s.Status != policies.StatusSkipped {
			ran[s.Name] = true
		}
	}
	for _, f := range rep.Findings {
		ran[f.Stage] = true
	}
	return ran
}

// runContext is what every vulnerability of one run shares.
type runContext struct {
	commit string // for working-tree secrets
	image  string
	os     string // the image's operating system, when a finding says it
	host   string // scheme://host[:port] of the DAST target, or ""
}

func (o Options) context(rep *pipeline.Report) runContext {
	c := runContext{commit: strings.TrimSpace(o.Commit), image: strings.TrimSpace(o.Image), os: "unknown"}
	if c.commit == "" {
		c.commit = NoCommit
	}
	if c.image == "" {
		c.image = builtImageRef(rep)
	}
	for _, f := range rep.Findings {
		if f.Stage == stages.Image {
			if os := operatingSystem(f); os != "" {
				c.os = os
				break
			}
		}
	}
	target := strings.TrimSpace(o.Target)
	if target == "" {
		target = stagingURL(rep)
	}
	c.host = origin(target)
	return c
}

// builtImageRef is the run report's image reference, else "unknown".
func builtImageRef(rep *pipeline.Report) string {
	if rep.Image != nil && strings.TrimSpace(rep.Image.Ref) != "" {
		return rep.Image.Ref
	}
	return "unknown"
}

// stagingURL is the first http(s) URL in the staging stage's reason
// ("built image served at URL", "external staging at URL").
func stagingURL(rep *pipeline.Report) string {
	for _, s := range rep.Stages {
		if s.Name != stages.Staging {
			continue
		}
		for _, w := range strings.Fields(s.Reason) {
			if strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://") {
				return strings.TrimRight(w, ".,;)")
			}
		}
	}
	return ""
}

// origin is scheme://host[:port] of a URL, without credentials; "" when
// it is not an absolute http(s) URL.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// scan describes how the stages feeding c ran.
func (ctx runContext) scan(rep *pipeline.Report, c category, ran map[string]bool) scan {
	var tools []string
	var msgs []scanMessage
	var start, end time.Time
	failed := false
	for _, name := range c.stages {
		if !ran[name] {
			continue
		}
		sr, ok := stageReport(rep, name)
		if !ok {
			continue // named only by findings: nothing more is known
		}
		if !sr.StartedAt.IsZero() {
			if start.IsZero() || sr.StartedAt.Before(start) {
				start = sr.StartedAt
			}
			if e := sr.StartedAt.Add(time.Duration(sr.DurationMS) * time.Millisecond); e.After(end) {
				end = e
			}
		}
		msg := fmt.Sprintf("stage %s: %s", name, sr.Status)
		if sr.Reason != "" {
			msg += ": " + sr.Reason
		}
		msgs = append(msgs, scanMessage{Level: "info", Value: msg})
		toolFailed := false
		for _, t := range sr.Tools {
			if !toolFeeds(name, t.Name, c.file) {
				continue
			}
			switch {
			case t.Error != "":
				toolFailed, failed = true, true
				msgs = append(msgs, scanMessage{Level: "warn", Value: fmt.Sprintf("%s (stage %s) failed: %s", t.Name, name, t.Error)})
			case t.Skipped != "":
				msgs = append(msgs, scanMessage{Level: "info", Value: fmt.Sprintf("%s (stage %s) did not run: %s", t.Name, name, t.Skipped)})
			default:
				if !slices.Contains(tools, t.Name) {
					tools = append(tools, t.Name)
				}
				v := fmt.Sprintf("%s %s (stage %s): %d findings", t.Name, t.Version, name, t.Findings)
				if t.Database != "" {
					v += "; database " + t.Database
				}
				msgs = append(msgs, scanMessage{Level: "info", Value: v})
			}
		}
		if sr.Status == policies.StatusError && !toolFailed && !slices.ContainsFunc(sr.Tools, func(t pipeline.ToolReport) bool { return t.Error != "" }) {
			// The stage failed before or around its tools (no image, no
			// staging): what it would have found is unknown.
			failed = true
			msgs = append(msgs, scanMessage{Level: "fatal", Value: fmt.Sprintf("stage %s errored: %s", name, strings.Join(append([]string{sr.Reason}, sr.Errors...), "; "))})
		}
	}
	if start.IsZero() {
		start, end = rep.StartedAt, rep.FinishedAt
	}
	if end.Before(start) {
		end = start
	}
	status := "success"
	if failed {
		status = "failure"
	}
	version := rep.Dagsec
	if version == "" {
		version = "unknown"
	}
	name := "dagsec"
	if len(tools) > 0 {
		name += " (" + strings.Join(tools, ", ") + ")"
	}
	return scan{
		Analyzer:  scannerDetails{ID: "dagsec", Name: "dagsec", URL: "https://github.com/dagsec/dagsec", Vendor: vendor{Name: "dagsec"}, Version: version},
		Scanner:   scannerDetails{ID: "dagsec", Name: name, URL: "https://github.com/dagsec/dagsec", Vendor: vendor{Name: "dagsec"}, Version: version},
		Type:      c.typ,
		StartTime: scanTime(start),
		EndTime:   scanTime(end),
		Status:    status,
		Messages:  msgs,
	}
}

func stageReport(rep *pipeline.Report, name string) (pipeline.StageReport, bool) {
	for _, s := range rep.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return pipeline.StageReport{}, false
}

var severityWords = map[findings.Severity]string{
	findings.SeverityCritical: "Critical",
	findings.SeverityHigh:     "High",
	findings.SeverityMedium:   "Medium",
	findings.SeverityLow:      "Low",
	findings.SeverityInfo:     "Info",
}

// Schema limits on vulnerability texts, in characters.
const (
	maxName        = 255
	maxDescription = 1 << 20
)

func (ctx runContext) vulnerability(c category, f findings.Finding, ids map[string]int) vulnerability {
	name := f.RuleName
	if strings.TrimSpace(name) == "" {
		name = f.RuleID
	}
	v := vulnerability{
		ID:          vulnerabilityID(f, ids),
		Name:        clip(oneLine(name), maxName),
		Description: clip(description(f), maxDescription),
		Severity:    severityWords[f.Severity],
		Identifiers: identifiersOf(f),
	}
	if findings.IsWebURL(f.HelpURI) {
		v.Links = []link{{URL: f.HelpURI}}
	}
	l := f.Location
	switch c.file {
	case SASTFile:
		v.Location = location{File: l.Path, StartLine: l.Line}
		if l.EndLine > l.Line {
			v.Location.EndLine = l.EndLine
		}
	case SecretDetectionFile:
		v.Location = location{File: l.Path, Commit: &commit{Sha: ctx.secretCommit(f)}, StartLine: l.Line}
		if l.EndLine > l.Line {
			v.Location.EndLine = l.EndLine
		}
	case DependencyScanFile:
		// The manifest or lockfile: a reachable vulnerability's call site
		// (govulncheck) is in a source file, its module in go.mod.
		file := l.Manifest
		if file == "" {
			file = l.Path
		}
		if file == "" {
			file = "unknown"
		}
		v.Location = location{File: file, Dependency: dependencyOf(f)}
	case ContainerScanningFile:
		os := operatingSystem(f)
		if os == "" {
			os = ctx.os
		}
		v.Location = location{Image: ctx.image, OperatingSystem: os, Dependency: dependencyOf(f)}
	case DASTFile:
		v.Location = location{Hostname: ctx.host}
		if q := l.Request; q != nil {
			v.Location.Method, v.Location.Path, v.Location.Param = q.Method, q.Path, q.Param
		}
	}
	return v
}

// vulnerabilityID is a UUID (RFC 9562 version 8, from SHA-256) of the
// finding's fingerprint: the same finding gets the same id in every run.
// A fingerprint seen before in this report (the same finding listed twice)
// gets its occurrence number hashed in, so ids stay unique.
func vulnerabilityID(f findings.Finding, seen map[string]int) string {
	fp := f.Fingerprint
	if fp == "" {
		fp = findings.Fingerprint(f)
	}
	n := seen[fp]
	seen[fp] = n + 1
	name := "dagsec\x00" + fp
	if n > 0 {
		name += "\x00" + strconv.Itoa(n+1)
	}
	sum := sha256.Sum256([]byte(name))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// description is the finding's message and where dagsec found it, in
// GitLab Flavored Markdown.
func description(f findings.Finding) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(f.Message))
	fmt.Fprintf(&b, "\n\nFound by %s (rule %s) in dagsec's %s stage", f.Tool, mdCode(f.RuleID), f.Stage)
	if where := locationText(f.Location); where != "" {
		fmt.Fprintf(&b, " at %s", mdCode(where))
	}
	b.WriteString(".")
	return b.String()
}

func locationText(l findings.Location) string {
	switch {
	case l.Path == "":
		return ""
	case l.Line > 0:
		return l.Path + ":" + strconv.Itoa(l.Line)
	}
	return l.Path
}

// mdCode is s as a Markdown code span, or plain when it holds a backtick.
func mdCode(s string) string {
	s = oneLine(s)
	if strings.Contains(s, "`") {
		return s
	}
	return "`" + s + "`"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip cuts s to at most n characters, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// secretCommit is the commit a history scan named in the message
// (stages.ParseGitleaks writes "(commit SHA)"), else the run's commit.
func (ctx runContext) secretCommit(f findings.Finding) string {
	if i := strings.LastIndex(f.Message, "(commit "); i >= 0 {
		rest := f.Message[i+len("(commit "):]
		if j := strings.IndexByte(rest, ')'); j >= 7 && isHex(rest[:j]) {
			return rest[:j]
		}
	}
	return ctx.commit
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return s != ""
}

// dependencyOf is the package a vulnerability finding is about. The
// vulnerability parsers (trivy, grype, govulncheck, osv-scanner) all start
// their message with NAME@VERSION; a scoped npm name keeps its leading @.
// A finding about the image's configuration (the build stage's checks) is
// placed at the package "image-config".
func dependencyOf(f findings.Finding) *dependency {
	if !slices.Contains(f.Tags, "vulnerability") {
		return &dependency{Package: pkg{Name: "image-config"}}
	}
	tok, _, _ := strings.Cut(strings.TrimSpace(f.Message), " ")
	if i := strings.LastIndex(tok, "@"); i > 0 {
		return &dependency{Package: pkg{Name: tok[:i]}, Version: tok[i+1:]}
	}
	if tok == "" {
		tok = "unknown"
	}
	return &dependency{Package: pkg{Name: tok}}
}

// operatingSystem is the image's OS as a finding tells it: trivy tags an
// OS package finding with its class ("os-pkgs") followed by the OS family
// ("alpine"); grype tags it with its namespace ("debian:distro:debian:12",
// written "debian:12" as GitLab's analyzers do). "" when it says nothing.
func operatingSystem(f findings.Finding) string {
	for i, t := range f.Tags {
		if t == "os-pkgs" && i+1 < len(f.Tags) && f.Tags[i+1] != "" {
			return f.Tags[i+1]
		}
		if p := strings.Split(t, ":"); len(p) == 4 && p[1] == "distro" && p[2] != "" {
			return p[2] + ":" + p[3]
		}
	}
	return ""
}

// scannedResources lists each method and URL the DAST findings name, once,
// in report order: the part of the attack surface dagsec knows of.
func scannedResources(host string, vs []vulnerability) []scannedResource {
	out := []scannedResource{}
	seen := map[string]bool{}
	for _, v := range vs {
		l := v.Location
		u := host + l.Path
		if u == "" {
			continue
		}
		m := l.Method
		if m == "" {
			m = "GET"
		}
		if k := m + " " + u; !seen[k] {
			seen[k] = true
			out = append(out, scannedResource{Method: m, URL: u, Type: "url"})
		}
	}
	return out
}
