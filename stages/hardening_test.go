package stages

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
)

// hardeningHit is one expected finding: rule and start line (end line when
// the instruction spans several).
type hardeningHit struct {
	rule    string
	line    int
	endLine int // 0 means the same as line
}

const hardeningDigestHex = "3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"

func hardeningFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hardening", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckDockerfile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []hardeningHit
		// msg holds substrings every finding's message must contain, by rule.
		msg map[string]string
	}{
		{
			name:    "python latest, no user, no healthcheck",
			content: hardeningFile(t, "python-latest.Dockerfile"),
			want:    []hardeningHit{{HardeningRootUser, 1, 0}, {HardeningLatestTag, 1, 0}, {HardeningNoHealthcheck, 1, 0}},
			msg: map[string]string{
				HardeningRootUser:      "sets no USER",
				HardeningLatestTag:     "python:latest",
				HardeningNoHealthcheck: "no HEALTHCHECK",
			},
		},
		{
			name:    "no tag is latest",
			content: "FROM alpine\nUSER app\nHEALTHCHECK CMD true\n",
			want:    []hardeningHit{{HardeningLatestTag, 1, 0}},
			msg:     map[string]string{HardeningLatestTag: `alpine has no tag`},
		},
		{
			name:    "hardened multi-stage",
			content: hardeningFile(t, "hardened.Dockerfile"),
		},
		{
			name: "tag without digest",
			content: "FROM node:22-alpine\n" +
				"USER node\n" +
				"HEALTHCHECK CMD wget -q http://localhost/\n",
			want: []hardeningHit{{HardeningNoDigest, 1, 0}},
			msg:  map[string]string{HardeningNoDigest: "node:22-alpine"},
		},
		{
			name: "registry port is not a tag",
			content: "FROM localhost:5000/team/app\n" +
				"FROM registry.example.com:443/team/app:1.2@sha256:" + hardeningDigestHex + "\n" +
				"USER 1000\nHEALTHCHECK CMD true\n",
			want: []hardeningHit{{HardeningLatestTag, 1, 0}},
		},
		{
			name:    "latest pinned by digest is pinned",
			content: "FROM python:latest@sha256:" + hardeningDigestHex + "\nUSER 1000\nHEALTHCHECK CMD true\n",
		},
		{
			name:    "invalid digest",
			content: "FROM python:3.12@sha256:1234\nUSER 1000\nHEALTHCHECK CMD true\n",
			want:    []hardeningHit{{HardeningNoDigest, 1, 0}},
			msg:     map[string]string{HardeningNoDigest: "invalid digest"},
		},
		{
			name: "user root after a non-root user",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + "\n" +
				"USER app\n" +
				"RUN true\n" +
				"USER root\n" +
				"HEALTHCHECK CMD true\n",
			want: []hardeningHit{{HardeningRootUser, 4, 0}},
			msg:  map[string]string{HardeningRootUser: "USER root"},
		},
		{
			name:    "user 0:0",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + "\nUSER 0:0\nHEALTHCHECK CMD true\n",
			want:    []hardeningHit{{HardeningRootUser, 2, 0}},
			msg:     map[string]string{HardeningRootUser: "USER 0:0"},
		},
		{
			name:    "user root:group",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + "\nHEALTHCHECK CMD true\nUSER root:wheel\n",
			want:    []hardeningHit{{HardeningRootUser, 3, 0}},
		},
		{
			name:    "user from ARG default",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + "\nARG UID=0\nUSER ${UID}\nHEALTHCHECK CMD true\n",
			want:    []hardeningHit{{HardeningRootUser, 3, 0}},
			msg:     map[string]string{HardeningRootUser: "resolves to 0"},
		},
		{
			name:    "user from ENV is not root",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + "\nENV APP_UID=10001\nUSER $APP_UID\nHEALTHCHECK CMD true\n",
		},
		{
			name:    "user names like root are not root",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + "\nUSER rootless:0\nHEALTHCHECK CMD true\n",
		},
		{
			name: "root in builder is fine, final stage alias and inherited user",
			content: "FROM golang:1.26@sha256:" + hardeningDigestHex + " AS builder\n" +
				"RUN go build -o /app .\n" +
				"USER 10001\n" +
				"HEALTHCHECK CMD [\"/app\", \"health\"]\n" +
				"FROM builder\n" +
				"CMD [\"/app\"]\n",
		},
		{
			name: "inherited root user is reported on its line",
			content: "FROM debian:12@sha256:" + hardeningDigestHex + " AS base\n" +
				"USER root\n" +
				"FROM Base AS final\n" +
				"HEALTHCHECK CMD true\n",
			want: []hardeningHit{{HardeningRootUser, 2, 0}},
			msg:  map[string]string{HardeningRootUser: `inherited from stage "base"`},
		},
		{
			name: "stage alias is not latest but a later alias is an image",
			content: "FROM builder\n" +
				"FROM alpine:3.20@sha256:" + hardeningDigestHex + " AS builder\n" +
				"FROM builder\n" +
				"USER 1000\nHEALTHCHECK CMD true\n",
			want: []hardeningHit{{HardeningLatestTag, 1, 0}},
		},
		{
			name:    "scratch",
			content: "FROM scratch\nCOPY app /app\nUSER 65534\nHEALTHCHECK CMD [\"/app\", \"-health\"]\n",
		},
		{
			name:    "ARG substituted base",
			content: "ARG BASE=node:latest\nFROM ${BASE}\nUSER node\nHEALTHCHECK CMD true\n",
			want:    []hardeningHit{{HardeningLatestTag, 2, 0}},
			msg:     map[string]string{HardeningLatestTag: "node:latest (from ${BASE})"},
		},
		{
			name: "ARG defaults build on each other",
			content: "ARG NODE=22\nARG BASE=node:${NODE}-alpine\n" +
				"FROM --platform=$BUILDPLATFORM $BASE AS build\n" +
				"FROM node:${NODE:-20}@sha256:" + hardeningDigestHex + "\nUSER node\nHEALTHCHECK CMD true\n",
			want: []hardeningHit{{HardeningNoDigest, 3, 0}},
			msg:  map[string]string{HardeningNoDigest: "node:22-alpine"},
		},
		{
			name:    "ARG without default leaves the image to the build",
			content: "ARG BASE\nFROM ${BASE}\nUSER app\nHEALTHCHECK CMD true\n",
		},
		{
			name:    "stage ARG does not reach FROM",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + "\nARG TAG=latest\nFROM alpine:${TAG:-3}\nUSER app\nHEALTHCHECK CMD true\n",
			want:    []hardeningHit{{HardeningNoDigest, 3, 0}},
			msg:     map[string]string{HardeningNoDigest: "alpine:3 (from alpine:${TAG:-3})"},
		},
		{
			name:    "line continuations, heredocs and comments keep start lines",
			content: hardeningFile(t, "continuations.Dockerfile"),
			want:    []hardeningHit{{HardeningNoDigest, 1, 2}, {HardeningRootUser, 12, 13}},
		},
		{
			name:    "escape directive and CRLF",
			content: hardeningFile(t, "windows.Dockerfile"),
			want:    []hardeningHit{{HardeningNoDigest, 2, 0}},
		},
		{
			name: "healthcheck none is disabled",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + "\n" +
				"HEALTHCHECK CMD true\n" +
				"USER app\n" +
				"HEALTHCHECK NONE\n",
			want: []hardeningHit{{HardeningNoHealthcheck, 1, 0}},
			msg:  map[string]string{HardeningNoHealthcheck: "disables its health check with HEALTHCHECK NONE (line 4)"},
		},
		{
			name: "only the final stage needs user and healthcheck",
			content: "FROM alpine:3.20@sha256:" + hardeningDigestHex + " AS one\n" +
				"USER app\nHEALTHCHECK CMD true\n" +
				"FROM alpine:3.20@sha256:" + hardeningDigestHex + "\n" +
				"RUN echo final\n",
			want: []hardeningHit{{HardeningRootUser, 4, 0}, {HardeningNoHealthcheck, 4, 0}},
		},
		{
			name:    "lowercase instructions",
			content: "from alpine:latest as base\nuser root\n",
			want:    []hardeningHit{{HardeningLatestTag, 1, 0}, {HardeningRootUser, 2, 0}, {HardeningNoHealthcheck, 1, 0}},
		},
		{
			name:    "same image twice gets distinct fingerprints",
			content: "FROM alpine AS a\nFROM alpine\nUSER app\nHEALTHCHECK CMD true\n",
			want:    []hardeningHit{{HardeningLatestTag, 1, 0}, {HardeningLatestTag, 2, 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const path = "svc/Dockerfile"
			got, err := CheckDockerfile(path, []byte(tc.content))
			if err != nil {
				t.Fatalf("CheckDockerfile: %v", err)
			}
			var hits []hardeningHit
			for _, f := range got {
				hits = append(hits, hardeningHit{f.RuleID, f.Location.Line, f.Location.EndLine})
			}
			want := slices.Clone(tc.want)
			for i := range want {
				if want[i].endLine == 0 {
					want[i].endLine = want[i].line
				}
			}
			hardeningSortHits(hits)
			hardeningSortHits(want)
			if !slices.Equal(hits, want) {
				t.Fatalf("findings %v, want %v\n%s", hits, want, hardeningDump(got))
			}
			hardeningCheckFields(t, path, got)
			for _, f := range got {
				if sub, ok := tc.msg[f.RuleID]; ok && !strings.Contains(f.Message, sub) {
					t.Errorf("%s message %q does not contain %q", f.RuleID, f.Message, sub)
				}
			}
		})
	}
}

func hardeningSortHits(h []hardeningHit) {
	slices.SortFunc(h, func(a, b hardeningHit) int {
		if a.line != b.line {
			return a.line - b.line
		}
		return strings.Compare(a.rule, b.rule)
	})
}

func hardeningDump(fs []findings.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.RuleID + " " + f.Location.Path + ":" + strconv.Itoa(f.Location.Line) + " " + f.Message + "\n")
	}
	return b.String()
}

// hardeningCheckFields checks what every hardening finding must carry.
func hardeningCheckFields(t *testing.T, path string, fs []findings.Finding) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range fs {
		if err := f.Validate(); err != nil {
			t.Errorf("invalid finding: %v", err)
		}
		r, ok := LookupHardeningRule(f.RuleID)
		if !ok {
			t.Errorf("rule %s is not in HardeningRules", f.RuleID)
		}
		if f.Stage != Dockerfile || f.Tool != HardeningTool || f.RuleName != r.Title || f.Severity != r.Severity {
			t.Errorf("finding %+v does not match stage %s, tool %s, rule %+v", f, Dockerfile, HardeningTool, r)
		}
		if f.Location.Path != path || f.Location.Line < 1 || f.Location.EndLine < f.Location.Line {
			t.Errorf("%s: bad location %+v", f.RuleID, f.Location)
		}
		if !strings.HasPrefix(f.HelpURI, "https://docs.docker.com/") {
			t.Errorf("%s: help uri %q", f.RuleID, f.HelpURI)
		}
		if want := hardeningWantTags(r); !slices.Equal(f.Tags, want) {
			t.Errorf("%s: tags %v", f.RuleID, f.Tags)
		}
		if f.Message == "" || f.Identity == "" {
			t.Errorf("%s: empty message or identity", f.RuleID)
		}
		if f.Fingerprint == "" || seen[f.Fingerprint] {
			t.Errorf("%s: empty or duplicate fingerprint %q", f.RuleID, f.Fingerprint)
		}
		seen[f.Fingerprint] = true
	}
}

func TestCheckDockerfileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // substring of the error
	}{
		{"empty", "", "no instructions"},
		{"only comments", "# just a comment\n\n# another\n", "no instructions"},
		{"no FROM", "ARG X=1\n", "no FROM"},
		{"RUN before FROM", "RUN echo hi\nFROM alpine\n", "line 1: RUN before the first FROM"},
		{"binary garbage", "\x00\x01\x02\xff\xfe ELF\x7f\n\x89PNG\r\n\x1a\n", "unknown instruction"},
		{"unknown instruction", "FROM alpine:3.20\nFROBNICATE now\n", "line 2: unknown instruction"},
		{"FROM without image", "FROM\n", "FROM requires either one or three arguments"},
		{"FROM with two words", "FROM alpine builder\n", "FROM requires either one or three arguments"},
		{"bad stage name", "FROM alpine AS 1st\n", "invalid build stage name"},
		{"blank base", "FROM ${NOPE}\n", "should not be blank"},
		{"unterminated heredoc", "FROM alpine\nRUN <<EOF\necho hi\n", "unterminated heredoc"},
		{"bad escape directive", "# escape=x\nFROM alpine\n", "invalid escape token"},
		{"USER without value", "FROM alpine\nUSER\n", "USER requires exactly one argument"},
		{"HEALTHCHECK without value", "FROM alpine\nHEALTHCHECK\n", "HEALTHCHECK requires at least one argument"},
		{"bad substitution", "ARG A=${B\nFROM alpine\n", "ARG A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := CheckDockerfile("app/Dockerfile", []byte(tc.content))
			if err == nil {
				t.Fatalf("no error, findings %v", fs)
			}
			if fs != nil {
				t.Errorf("findings %v returned with the error", fs)
			}
			if !strings.HasPrefix(err.Error(), "app/Dockerfile: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want the path and %q", err, tc.want)
			}
		})
	}
}

// Moving a Dockerfile's content down keeps every fingerprint; the lines move.
func TestHardeningFingerprintsIgnoreLines(t *testing.T) {
	for _, name := range []string{"python-latest.Dockerfile", "continuations.Dockerfile"} {
		content := hardeningFile(t, name)
		before, err := CheckDockerfile("Dockerfile", []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		const shift = 4
		after, err := CheckDockerfile("Dockerfile", []byte("# syntax=docker/dockerfile:1\n\n# moved down\n\n"+content))
		if err != nil {
			t.Fatal(err)
		}
		if len(before) == 0 || len(before) != len(after) {
			t.Fatalf("%s: %d findings before, %d after", name, len(before), len(after))
		}
		for i := range before {
			b, a := before[i], after[i]
			if b.RuleID != a.RuleID || b.Fingerprint != a.Fingerprint {
				t.Errorf("%s: %s %s became %s %s", name, b.RuleID, b.Fingerprint, a.RuleID, a.Fingerprint)
			}
			if a.Location.Line != b.Location.Line+shift {
				t.Errorf("%s: %s line %d became %d, want %d", name, b.RuleID, b.Location.Line, a.Location.Line, b.Location.Line+shift)
			}
		}
	}
	// The path is part of the fingerprint.
	a, _ := CheckDockerfile("a/Dockerfile", []byte("FROM alpine\n"))
	b, _ := CheckDockerfile("b/Dockerfile", []byte("FROM alpine\n"))
	if len(a) == 0 || len(a) != len(b) || a[0].Fingerprint == b[0].Fingerprint {
		t.Errorf("fingerprints do not depend on the path: %v %v", a, b)
	}
}

func TestHardeningRules(t *testing.T) {
	want := []string{"DAGSEC-DF001", "DAGSEC-DF002", "DAGSEC-DF003", "DAGSEC-DF004"}
	var ids []string
	for _, r := range HardeningRules {
		ids = append(ids, r.ID)
		if r.Title == "" || r.Help == "" || !r.Severity.Valid() || !strings.HasPrefix(r.HelpURI, "https://docs.docker.com/") {
			t.Errorf("rule %+v is incomplete", r)
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("rule ids %v, want %v", ids, want)
	}
	sev := map[string]findings.Severity{
		HardeningRootUser: findings.SeverityHigh, HardeningLatestTag: findings.SeverityMedium,
		HardeningNoDigest: findings.SeverityLow, HardeningNoHealthcheck: findings.SeverityLow,
	}
	for id, s := range sev {
		if r, _ := LookupHardeningRule(id); r.Severity != s {
			t.Errorf("%s severity %s, want %s", id, r.Severity, s)
		}
	}
	if _, ok := LookupHardeningRule("DAGSEC-DF999"); ok {
		t.Error("unknown rule found")
	}
	wantPatterns := []string{"**/Dockerfile", "**/Dockerfile.*", "**/*.Dockerfile", "**/Containerfile"}
	if !slices.Equal(DockerfilePatterns, wantPatterns) {
		t.Errorf("DockerfilePatterns %v, want %v", DockerfilePatterns, wantPatterns)
	}
}

func FuzzCheckDockerfile(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "hardening"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add([]byte(hardeningFile(f, e.Name())))
	}
	for _, s := range []string{
		"", "FROM", "FROM alpine", "ARG B=x:latest\nFROM $B AS b\nFROM b\nUSER 0\n",
		"FROM a\nRUN <<EOF\nx\nEOF\nHEALTHCHECK NONE\n", "# escape=`\nFROM a `\n AS b\n",
		"FROM ${A:-${B:?x}}\n", "FROM a@\nFROM b:\nFROM :@sha256:\n", "\x00\xff\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		fs, err := CheckDockerfile("Dockerfile", content)
		if err != nil {
			if fs != nil {
				t.Fatalf("findings with an error: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "Dockerfile: ") {
				t.Fatalf("error without the path: %v", err)
			}
			return
		}
		hardeningCheckFields(t, "Dockerfile", fs)
	})
}

func TestBaseImage(t *testing.T) {
	tests := []struct {
		name, dockerfile, target, want, err string
	}{
		{"single stage", "FROM debian:12.12-slim\nRUN true\n", "", "debian:12.12-slim", ""},
		{"multi-stage runtime", "FROM golang:1.26.8 AS build\nRUN go build\nFROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /app /app\n", "", "gcr.io/distroless/static-debian12:nonroot", ""},
		{"target stage", "FROM golang:1.26.8 AS build\nFROM alpine:3.22\n", "build", "golang:1.26.8", ""},
		{"stage on a stage", "ARG V=3.22\nFROM alpine:${V} AS base\nFROM base AS final\nUSER 10001\n", "", "alpine:3.22", ""},
		{"scratch", "FROM golang:1.26.8 AS build\nFROM scratch\n", "", "", ""},
		{"build arg without default", "ARG BASE\nFROM ${BASE}\n", "", "", ""},
		{"unknown target", "FROM alpine:3.22\n", "nope", "", `no build stage named "nope"`},
		{"no instructions", "# nothing\n", "", "", "file with no instructions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BaseImage([]byte(tc.dockerfile), tc.target)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("BaseImage = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// hardeningWantTags: every hardening finding is tagged dockerfile and
// hardening, and with trivy's AVD id where trivy has the same check, so
// the two tools' findings merge.
func hardeningWantTags(r HardeningRule) []string {
	want := []string{"dockerfile", "hardening"}
	same := map[string]string{HardeningRootUser: "AVD-DS-0002", HardeningLatestTag: "AVD-DS-0001",
		HardeningNoHealthcheck: "AVD-DS-0026"}[r.ID]
	if same != "" {
		want = append(want, same)
	}
	return want
}
