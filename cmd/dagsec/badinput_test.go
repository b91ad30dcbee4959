package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/policies"
)

// Every bad input is one clear error naming what is wrong, exit code 2, and
// no report written: a half-written report folder would read as a result.
func TestBadInputsExitTwoWithOneClearErrorAndNoReport(t *testing.T) {
	src := testenv.Dir(t, testenv.CleanFiles())
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	binary := string([]byte{0x00, 0xff, 0xfe, 0x01, 0x02, 0x7f, 0x00})
	huge := strings.Repeat("# padding line\n", 80000) // over the policy's 1 MiB
	notSource := file("plain.txt", "not a folder\n")
	sups := 0
	sup := func(body string) string { sups++; return file(fmt.Sprintf("sup%d.yaml", sups), body) }
	// sparse makes a file of size bytes that takes no disk.
	sparse := func(name string, size int64) string {
		p := file(name, "")
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// withRepoPolicy is a clean source whose .dagsec.yaml setup makes.
	withRepoPolicy := func(setup func(path string) error) string {
		s := testenv.Dir(t, testenv.CleanFiles())
		if err := setup(filepath.Join(s, policies.RepoFile)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	repoPolicy := func(body string) string {
		return withRepoPolicy(func(p string) error { return os.WriteFile(p, []byte(body), 0o644) })
	}
	otherSARIF := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"other"}},"results":[{"ruleId":"x","message":{"text":"m"}}]}]}`

	tests := []struct {
		name string
		args []string
		want []string // every piece must be in stderr
	}{
		// Policies: file, line and field named.
		{"policy not YAML", []string{"--policy", file("p1.yaml", "stages: [\n")}, []string{"p1.yaml"}},
		{"policy unknown top key", []string{"--policy", file("p2.yaml", "stagez: {}\n")}, []string{"p2.yaml:1", "stagez"}},
		{"policy unknown stage", []string{"--policy", file("p3.yaml", "stages:\n  sats: {}\n")}, []string{"p3.yaml:2", "sats"}},
		{"policy unknown stage key", []string{"--policy", file("p4.yaml", "stages:\n  sast:\n    blockon: high\n")}, []string{"p4.yaml:3", "blockon"}},
		{"policy wrong type", []string{"--policy", file("p5.yaml", "stages:\n  sast:\n    block_on: [high]\n")}, []string{"p5.yaml:3", "block_on"}},
		{"policy invalid severity", []string{"--policy", file("p6.yaml", "stages:\n  sast:\n    block_on: severe\n")}, []string{"p6.yaml:3", "severe"}},
		{"policy unknown tool", []string{"--policy", file("p7.yaml", "stages:\n  sast:\n    tools: [gosek]\n")}, []string{"p7.yaml:3", "gosek"}},
		{"policy bad timeout", []string{"--policy", file("p8.yaml", "stages:\n  sast:\n    timeout: -5m\n")}, []string{"p8.yaml:3", "timeout"}},
		{"policy duplicate key", []string{"--policy", file("p9.yaml", "stages:\n  sast: {}\n  sast: {}\n")}, []string{"p9.yaml:3", "duplicate"}},
		{"policy missing", []string{"--policy", filepath.Join(dir, "absent.yaml")}, []string{"absent.yaml"}},
		{"policy binary", []string{"--policy", file("p10.yaml", binary)}, []string{"p10.yaml"}},
		{"policy huge", []string{"--policy", file("p11.yaml", huge)}, []string{"p11.yaml"}},
		{"policy bad target", []string{"--policy", file("p12.yaml", "targets:\n  scanned: 150\n")}, []string{"p12.yaml:2", "scanned"}},
		{"policy suppression without matcher", []string{"--policy", file("p13.yaml", "suppressions:\n  - justification: j\n    owner: o\n    expires: 2026-12-31\n")}, []string{"p13.yaml:2"}},
		{"policy key of another stage", []string{"--policy", file("p14.yaml", "stages:\n  sast:\n    max_base_age: 720h\n")}, []string{"p14.yaml:3", "max_base_age"}},
		{"unknown preset", []string{"--preset", "lenient"}, []string{"lenient"}},
		// Command line.
		{"unknown stage", []string{"--stages", "secrets,sats"}, []string{"sats"}},
		{"no stage named", []string{"--stages", ","}, []string{"--stages"}},
		{"unknown flag", []string{"--stage", "secrets"}, []string{"-stage"}},
		{"source missing", nil, []string{"nowhere", "no such file"}},
		// Suppression files.
		{"suppression without justification", []string{"--suppressions", sup("suppressions:\n  - rule: x\n    owner: o\n    expires: 2026-12-31\n")}, []string{":2", "justification"}},
		{"suppression bad date", []string{"--suppressions", sup("suppressions:\n  - rule: y\n    justification: j\n    owner: o\n    expires: 31/12/2026\n")}, []string{":5", "expires"}},
		{"suppression unknown key", []string{"--suppressions", sup("suppressions:\n  - rule: z\n    justification: j\n    owner: o\n    expires: 2026-12-31\n    reviewer: me\n")}, []string{":6", "reviewer"}},
		{"suppressions missing", []string{"--suppressions", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		// Baselines.
		{"baseline empty", []string{"--baseline", file("b1.json", "")}, []string{"b1.json"}},
		{"baseline binary", []string{"--baseline", file("b2.json", binary)}, []string{"b2.json"}},
		{"baseline not a report", []string{"--baseline", file("b3.json", `{"hello":"world"}`)}, []string{"b3.json"}},
		{"baseline other tool's SARIF", []string{"--baseline", file("b4.sarif", otherSARIF)}, []string{"b4.sarif"}},
		{"baseline huge", []string{"--baseline", sparse("b6.json", 300<<20)}, []string{"b6.json", "over the 256 MiB limit"}},
		{"baseline SARIF that is not SARIF", []string{"--baseline", file("b7.sarif", `{"version":"2.1.0","runs":"none"}`)}, []string{"b7.sarif"}},
		{"baseline a folder", []string{"--baseline", dir}, []string{dir, "folder"}},
		{"baseline future schema", []string{"--baseline", file("b5.json", `{"schema_version":"99","findings":[]}`)}, []string{"b5.json"}},
		// Delivery inputs.
		{"image tarball missing", []string{"--stages", "build", "--image-tar", filepath.Join(dir, "img.tar")}, []string{"--image-tar"}},
		{"deploy secret unset", []string{"--deploy-prod-cmd", "true", "--deploy-env", "DAGSEC_TEST_NOT_SET"}, []string{"DAGSEC_TEST_NOT_SET"}},
		{"vulnerability database not one", []string{"--stages", "sca", "--vuln-db", dir}, []string{dir}},
	}
	// The source's own policy (.dagsec.yaml) is checked as --policy is.
	repoTests := []struct {
		name   string
		args   []string
		want   []string
		source string
	}{
		{".dagsec.yaml unknown key", nil, []string{".dagsec.yaml:4", "blok_on", `did you mean "block_on"`},
			repoPolicy("version: 1\nstages:\n  secrets:\n    blok_on: high\n")},
		{".dagsec.yaml image URL", nil, []string{".dagsec.yaml:2", "images.trivy", "not a URL"},
			repoPolicy("images:\n  trivy: https://mirror.internal/aquasec/trivy:0.74.0\n")},
		{".dagsec.yaml unknown image key", nil, []string{".dagsec.yaml:3", `"trivvy"`, `did you mean "trivy"`},
			repoPolicy("version: 1\nimages:\n  trivvy: mirror.internal/aquasec/trivy:0.74.0\n")},
		{".dagsec.yaml extends another preset than --preset", []string{"--preset", "audit"}, []string{".dagsec.yaml:1", `extends "strict" conflicts`},
			repoPolicy("extends: strict\n")},
		{".dagsec.yaml empty", nil, []string{".dagsec.yaml:1", "policy is empty"}, repoPolicy("")},
		{".dagsec.yaml a symlink", nil, []string{".dagsec.yaml", "symlink"},
			withRepoPolicy(func(p string) error {
				if err := os.WriteFile(filepath.Join(filepath.Dir(p), "policy.yaml"), []byte("version: 1\n"), 0o644); err != nil {
					return err
				}
				return os.Symlink("policy.yaml", p)
			})},
		{".dagsec.yaml a folder", nil, []string{".dagsec.yaml", "folder"},
			withRepoPolicy(func(p string) error { return os.Mkdir(p, 0o755) })},
		{".dagsec.yaml a pipe", nil, []string{".dagsec.yaml", "not a regular file"},
			withRepoPolicy(func(p string) error { return syscall.Mkfifo(p, 0o644) })},
	}
	check := func(t *testing.T, source string, extra, want []string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "report")
		args := append([]string{"scan", "--no-install", "--out", out}, extra...)
		code, stdout, stderr := dagsec(t, append(args, source)...)
		if code != 2 {
			t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr does not name %q:\n%s", w, stderr)
			}
		}
		// The usage text, shown after a command-line error, is not an error line.
		if n := strings.Count(stderr, "dagsec: ") - strings.Count(stderr, "dagsec: a DevSecOps pipeline"); n != 1 {
			t.Errorf("want one error line, got %d:\n%s", n, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("a report folder was written for bad input")
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			source := src
			if tc.name == "source missing" {
				source = filepath.Join(dir, "nowhere")
			}
			check(t, source, tc.args, tc.want)
		})
	}
	for _, tc := range repoTests {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.source, tc.args, tc.want) })
	}

	t.Run("source is a file", func(t *testing.T) {
		code, _, stderr := dagsec(t, "scan", "--out", filepath.Join(t.TempDir(), "r"), notSource)
		if code != 2 || !strings.Contains(stderr, "plain.txt") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	for _, tc := range []struct{ name, body, want string }{
		{"report empty", "", "r-empty.json"},
		{"report binary", binary, "r-binary.json"},
		{"report not a run report", `{"a":1}`, "r-not a run report.json"},
		{"report is SARIF", otherSARIF, "r-sarif.json"},
		{"report truncated", `{"schema_version":"1","findings":[{"stage":"sca"`, "r-truncated.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := file(strings.TrimPrefix(tc.want, ""), tc.body)
			code, stdout, stderr := dagsec(t, "report", "--format", "junit", p)
			if code != 2 || !strings.Contains(stderr, filepath.Base(p)) || stdout != "" {
				t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
			}
		})
	}
	t.Run("report huge", func(t *testing.T) {
		p := sparse("r-huge.json", 300<<20)
		code, stdout, stderr := dagsec(t, "report", "--format", "json", p)
		if code != 2 || !strings.Contains(stderr, "r-huge.json") || !strings.Contains(stderr, "limit") || stdout != "" {
			t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
		}
	})
	t.Run("metrics report binary", func(t *testing.T) {
		p := file("m-binary.json", binary)
		code, stdout, stderr := dagsec(t, "metrics", p)
		if code != 2 || !strings.Contains(stderr, "m-binary.json") || stdout != "" {
			t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
		}
	})
	t.Run("metrics history missing", func(t *testing.T) {
		var buf bytes.Buffer
		code := run(t.Context(), []string{"metrics", "--history", filepath.Join(dir, "no-history")}, &buf, &buf)
		if code != 2 || !strings.Contains(buf.String(), "no-history") {
			t.Fatalf("exit %d: %s", code, buf.String())
		}
	})
}

// A symlink out of the source is refused before any scanner runs: some
// scanners follow links, and what they would read is not the source. Links
// that stay inside are fine.
func TestSourceWithSymlinkOutsideExitsTwo(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("not part of the source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, link, target string
		want               []string // "" means the scan runs
	}{
		{"absolute link out", "cfg/hosts", outside, []string{"cfg/hosts -> " + outside}},
		{"relative link out", "up", "../../..", []string{"up -> ../../.."}},
		{"dangling link out", "gone", "/nonexistent/dagsec-test", []string{"gone -> /nonexistent/dagsec-test"}},
		{"link to the root folder", "root", "/", []string{"root -> /"}},
		{"link inside", "docs/readme", "../main.go", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := testenv.Dir(t, testenv.CleanFiles())
			p := filepath.Join(src, filepath.FromSlash(tc.link))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.target, p); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "report")
			tools := testenv.FakeTools(t, "gitleaks", `echo "a scanner ran" >&2; exit 70`).Dir
			code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--tools-dir", tools, "--no-install", "--out", out, src)
			if tc.want == nil {
				// The scan ran (its fake scanner fails on purpose, so exit 2 from the tool).
				if !strings.Contains(stdout, "a scanner ran") {
					t.Fatalf("a link inside the source stopped the scan: exit %d\n%s\n%s", code, stdout, stderr)
				}
				return
			}
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			for _, w := range append(tc.want, "out of it") {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "a scanner ran") {
				t.Errorf("a scanner ran on a source with a link out of it")
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a report folder was written")
			}
		})
	}
}
