package stages

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// trufflehog v3.90.0 exits 0 after a scan, and with --fail 183 when it found
// anything; 1 is its own failure (bad flags, an unreadable source).
var (
	TrufflehogOKCodes      = []int{0}
	TrufflehogFindingCodes = []int{183}
)

// TrufflehogReportFile is where trufflehog's stdout (JSON lines) is kept.
const TrufflehogReportFile = "trufflehog.json"

// trufflehogExcludeInput lists, as trufflehog's --exclude-paths regexes, the
// folders it leaves out: git's own and dagsec's reports. Like gitleaks it
// scans vendored code and test fixtures, where a real key is as live.
const trufflehogExcludeInput = "trufflehog-exclude.txt"

// TrufflehogArgv scans the working folder ("." keeps reported paths relative),
// or its git history. verify lets trufflehog check each secret with its
// service (network); without it every result is unverified.
func TrufflehogArgv(history, verify bool) []string {
	argv := []string{"trufflehog"}
	if history {
		argv = append(argv, "git", "file://.")
	} else {
		argv = append(argv, "filesystem", ".")
	}
	argv = append(argv, "--json", "--no-color", "--no-update", "--fail", "--force-skip-binaries",
		"--exclude-paths", InputDir+"/"+trufflehogExcludeInput)
	if !verify {
		argv = append(argv, "--no-verification")
	}
	return argv
}

// TrufflehogInputs are the files TrufflehogArgv reads from InputDir: the
// folders it skips, and binaries, by path.
func TrufflehogInputs(binaries []string) map[string][]byte {
	var b strings.Builder
	for _, d := range []string{".git", "dagsec-report"} {
		fmt.Fprintf(&b, "(^|/)%s/\n", regexp.QuoteMeta(d))
	}
	for _, f := range binaries {
		fmt.Fprintf(&b, "^%s$\n", regexp.QuoteMeta(f))
	}
	return map[string][]byte{trufflehogExcludeInput: []byte(b.String())}
}

// maxBinaryProbes bounds how many files are read to find binaries.
const maxBinaryProbes = 2000

// binaryFiles lists the source's binaries (a NUL byte in the first 8 KiB,
// as gitleaks and git decide) among files without an extension or with a
// compiled one: trufflehog's --force-skip-binaries goes by extension only,
// and a built program holds its sources' strings (dagsec's own rules'
// examples) as data, which gitleaks skips.
func binaryFiles(ctx context.Context, probe Probe) ([]string, error) {
	all, err := probe.Glob(ctx, "**/*")
	if err != nil {
		return nil, err
	}
	var out []string
	read := 0
	for _, f := range all {
		if ext := path.Ext(f); ext != "" && !binaryExts[ext] {
			continue
		}
		if read++; read > maxBinaryProbes {
			break
		}
		data, err := probe.ReadFile(ctx, f)
		if err != nil {
			continue // a link or special file: trufflehog decides
		}
		if bytes.IndexByte(data[:min(len(data), 8<<10)], 0) >= 0 {
			out = append(out, f)
		}
	}
	return out, nil
}

var binaryExts = map[string]bool{".exe": true, ".dll": true, ".so": true, ".dylib": true, ".a": true, ".o": true, ".bin": true, ".test": true, ".out": true}

func planTrufflehog(ctx context.Context, opts Options, probe Probe) (Plan, error) {
	t, _ := LookupTool("trufflehog")
	verify := !opts.NoVerify && !opts.Offline
	binaries, err := binaryFiles(ctx, probe)
	if err != nil {
		return Plan{}, fmt.Errorf("stage %s: %w", Secrets, err)
	}
	st := Step{
		Name: Secrets + "/trufflehog", Tool: t.Name, Version: t.Version, Image: t.Image,
		Argv: TrufflehogArgv(opts.History, verify), Workdir: SourceDir, Inputs: TrufflehogInputs(binaries),
		Report: TrufflehogReportFile, StdoutReport: true,
		OKCodes: TrufflehogOKCodes, FindingCodes: TrufflehogFindingCodes,
		Timeout: opts.timeout(10 * time.Minute), NeedsGit: opts.History,
		// Without verification trufflehog needs no network: cut it off.
		NoNetwork: !verify,
		// A verified secret may be revoked or rotated at any time.
		Live: verify,
	}
	p := Plan{Stage: Secrets, Step: st,
		Parse: func(report []byte) ([]findings.Finding, error) { return ParseTrufflehog(report, verify) }}
	if !verify {
		why := "offline"
		if opts.NoVerify {
			why = "policy verify: false"
		}
		p.Note = "verification did not run (" + why + "): results are unverified, high"
	}
	return p, nil
}

// trufflehogResult is the part of one trufflehog JSON line dagsec reads.
// Raw, RawV2, Redacted and ExtraData are deliberately absent: the decoder
// drops them, so no secret value is kept past this point.
type trufflehogResult struct {
	SourceMetadata *struct {
		Data struct {
			Filesystem *struct {
				File string `json:"file"`
				Line int    `json:"line"`
			} `json:"Filesystem"`
			Git *struct {
				Commit string `json:"commit"`
				File   string `json:"file"`
				Line   int    `json:"line"`
			} `json:"Git"`
		} `json:"Data"`
	} `json:"SourceMetadata"`
	DetectorName        string `json:"DetectorName"`
	DetectorDescription string `json:"DetectorDescription"`
	DecoderName         string `json:"DecoderName"`
	Verified            *bool  `json:"Verified"`
	VerificationError   string `json:"VerificationError"`
}

// trufflehogRules names detectors as gitleaks' rules are named where the
// two overlap, so that findings.Dedup (same line, same rule family) merges
// them; any other detector is its name in lower case (AWS: aws).
var trufflehogRules = map[string]string{
	"PrivateKey": "private-key",
	"GitHub":     "github",
	"GitHubApp":  "github-app",
	"GitLab":     "gitlab",
}

// TrufflehogRule is the rule id of a trufflehog detector.
func TrufflehogRule(detector string) string {
	if r, ok := trufflehogRules[detector]; ok {
		return r
	}
	return strings.ToLower(detector)
}

// ParseTrufflehog reads trufflehog's JSON lines. Severity (docs/severity.md):
// a secret its service confirmed live is critical; one that could not be
// checked (verification did not run, or failed) is high; one verification
// found not live is medium. Each result's value is dropped by the decoder,
// so two secrets of one detector in one file are told apart by their order
// (the fingerprint's occurrence suffix), not by anything of the value.
func ParseTrufflehog(report []byte, verified bool) ([]findings.Finding, error) {
	var out []findings.Finding
	sc := bufio.NewScanner(bytes.NewReader(report))
	sc.Buffer(make([]byte, 0, 64<<10), MaxReportBytes)
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		n++
		if len(line) == 0 {
			continue
		}
		var r trufflehogResult
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("trufflehog report line %d: not a JSON result: %s", n, jsonErrText(err))
		}
		f, err := trufflehogFinding(r, verified)
		if err != nil {
			return nil, fmt.Errorf("trufflehog report line %d: %w", n, err)
		}
		out = append(out, f)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trufflehog report: %w", err)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// jsonErrText names a JSON error without quoting the input, which may hold
// a secret.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return "unexpected content"
}

func trufflehogFinding(r trufflehogResult, verification bool) (findings.Finding, error) {
	if r.DetectorName == "" || r.SourceMetadata == nil || r.Verified == nil {
		return findings.Finding{}, fmt.Errorf("not a trufflehog result (no detector, source or verification state)")
	}
	var file, commit string
	var line int
	switch d := r.SourceMetadata.Data; {
	case d.Filesystem != nil:
		file, line = d.Filesystem.File, d.Filesystem.Line
	case d.Git != nil:
		file, line, commit = d.Git.File, d.Git.Line, d.Git.Commit
	default:
		return findings.Finding{}, fmt.Errorf("%s result has no file", r.DetectorName)
	}
	if file == "" || line < 0 {
		return findings.Finding{}, fmt.Errorf("%s result has no file or a negative line", r.DetectorName)
	}
	sev, state := findings.SeverityHigh, "not verified: verification did not run"
	switch {
	case *r.Verified:
		sev, state = findings.SeverityCritical, "verified live"
	case !verification:
	case r.VerificationError != "":
		state = "not verified: verification failed"
	default:
		sev, state = findings.SeverityMedium, "verification found it not live"
	}
	tags := []string{"secret"}
	if !*r.Verified {
		tags = append(tags, "unverified")
	} else {
		tags = append(tags, "verified")
	}
	msg := fmt.Sprintf("%s secret (%s)", r.DetectorName, state)
	if commit != "" {
		msg += fmt.Sprintf(" (commit %.12s)", commit)
	}
	return findings.Finding{
		Stage:    Secrets,
		Tool:     "trufflehog",
		RuleID:   TrufflehogRule(r.DetectorName),
		RuleName: r.DetectorName + " secret",
		Severity: sev,
		Message:  msg,
		Location: findings.Location{Path: relPath(file), Line: line},
		HelpURI:  "https://github.com/trufflesecurity/trufflehog",
		Tags:     tags,
		Identity: r.DetectorName + "|" + r.DecoderName + "|" + commit,
	}, nil
}
