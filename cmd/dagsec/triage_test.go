package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
)

// A repository with one leaked key, scanned by the real gitleaks.
func oneLeak(t *testing.T) string {
	t.Helper()
	testenv.Tool(t, "gitleaks")
	files := testenv.LeakyFiles(t)
	return testenv.Dir(t, map[string]string{"app/settings.py": files["app/settings.py"], "README.md": "# sample\n"})
}

// A suppression works until its expiry date; the day after, the same
// finding blocks again and the report says the suppression expired.
func TestScanSuppressionExpiryReblocks(t *testing.T) {
	dir := oneLeak(t)
	today := time.Now().UTC()
	tests := []struct {
		name    string
		expires time.Time
		code    int
		report  string
	}{
		{"unexpired suppresses", today.AddDate(0, 0, 30), 0, `"active"`},
		{"expired re-blocks", today.AddDate(0, 0, -1), 1, `"expired"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sups := filepath.Join(t.TempDir(), "suppressions.yaml")
			body := fmt.Sprintf("suppressions:\n  - rule: aws-access-token\n    path: app/settings.py\n    justification: rotated test key, see INC-42\n    owner: security-team\n    expires: %s\n", tc.expires.Format("2006-01-02"))
			if err := os.WriteFile(sups, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--suppressions", sups, "--out", out, dir)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			data, err := os.ReadFile(filepath.Join(out, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.report) || !strings.Contains(string(data), "suppressions.yaml:2") {
				t.Errorf("report.json does not list the suppression as %s with its source", tc.report)
			}
			m, err := os.ReadFile(filepath.Join(out, "metrics.json"))
			if err != nil || !strings.Contains(string(m), tc.report+": 1") {
				t.Errorf("metrics.json does not count the suppression as %s: %v", tc.report, err)
			}
		})
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("suppressions:\n  - rule: x\n    owner: me\n    expires: 2026-12-01\n"), 0o644)
	if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--suppressions", bad, "--out", t.TempDir(), dir); code != 2 || !strings.Contains(stderr, "bad.yaml:2") || !strings.Contains(stderr, "justification") {
		t.Errorf("a suppression without justification: exit %d, %q", code, stderr)
	}
}

// With a baseline, the gate blocks only on findings new since it.
func TestScanBaselineBlocksOnlyNewFindings(t *testing.T) {
	dir := oneLeak(t)
	first := t.TempDir()
	if code, _, stderr := dagsec(t, "scan", "--stages", "secrets", "--out", first, dir); code != 1 {
		t.Fatalf("first scan: exit %d: %s", code, stderr)
	}
	base := filepath.Join(first, "report.json")
	if code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--baseline", base, "--out", t.TempDir(), dir); code != 0 {
		t.Fatalf("known leak only: exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	// The known leak moved 20 lines down, and a new one added.
	files := testenv.LeakyFiles(t)
	testenv.Write(t, dir, map[string]string{
		"app/settings.py": strings.Repeat("# padding\n", 20) + files["app/settings.py"],
		"config/db.env":   files["config/db.env"],
	})
	out := t.TempDir()
	code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--baseline", base, "--out", out, dir)
	if code != 1 || !strings.Contains(stdout, "1 new finding") || !strings.Contains(stdout, "1 known") {
		t.Fatalf("exit %d, want 1 blocking on the one new finding\n%s\n%s", code, stdout, stderr)
	}
	sarif, _ := os.ReadFile(filepath.Join(out, "results.sarif"))
	if !strings.Contains(string(sarif), `"baselineState": "unchanged"`) || !strings.Contains(string(sarif), `"baselineState": "new"`) {
		t.Errorf("SARIF lacks baseline states")
	}
}
