package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
)

// wrapGitleaks installs a gitleaks that runs the real one and then does
// fault to it, with $rp set to the report path the pipeline asked for and
// $rc to the real exit code. Faults are real tool runs gone wrong, not stubs.
func wrapGitleaks(t *testing.T, fault string) string {
	t.Helper()
	real := testenv.Tool(t, "gitleaks")
	script := `rp=""; prev=""
for a in "$@"; do [ "$prev" = "--report-path" ] && rp="$a"; prev="$a"; done
"` + real + `" "$@"; rc=$?
` + fault
	return testenv.FakeTools(t, "gitleaks", script).Dir
}

// readRunReport reads report.json of a finished scan.
func readRunReport(t *testing.T, dir string) pipeline.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r pipeline.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Every way a scanner can fail makes its stage error and the run exit 2,
// whatever it found before failing; per_tool on_error: warn is the only way
// to let it pass, and the report then says so.
func TestScannerFaultsFailClosed(t *testing.T) {
	src := testenv.Dir(t, testenv.LeakyFiles(t))
	policyDir := t.TempDir()
	policy := func(name, body string) string {
		p := filepath.Join(policyDir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	strict := policy("timeout.yaml", "stages:\n  secrets:\n    per_tool:\n      gitleaks: {timeout: 2s}\n")
	allowed := policy("allowed.yaml", "stages:\n  secrets:\n    per_tool:\n      gitleaks: {timeout: 2s, on_error: warn}\n")
	otherTool := policy("other.yaml", "stages:\n  secrets:\n    per_tool:\n      gitleaks: {timeout: 2s}\n  sast:\n    per_tool:\n      gosec: {on_error: warn}\n")

	faults := []struct {
		name, fault, want string
	}{
		{"crashes", `echo "panic: runtime error" >&2; exit 70`, "exited with code 70"},
		{"is killed", `kill -9 $$`, "killed"},
		{"times out", `sleep 20; exit $rc`, "timed out after 2s"},
		{"writes no report", `rm -f "$rp"; exit $rc`, "wrote no report"},
		{"writes a truncated report", `head -c 60 "$rp" > "$rp.cut"; mv "$rp.cut" "$rp"; exit $rc`, "unreadable report"},
		{"writes an invalid report", `echo '{"not": "a gitleaks report"}' > "$rp"; exit $rc`, "unreadable report"},
		{"writes an empty report after finding", `: > "$rp"; exit $rc`, "unreadable report"},
		{"says findings but lists none", `echo '[]' > "$rp"; exit $rc`, "lists none"},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			tools := wrapGitleaks(t, f.fault)
			scan := func(pol string) (int, string, string, pipeline.Report) {
				out := filepath.Join(t.TempDir(), "report")
				code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--tools-dir", tools, "--no-install",
					"--policy", pol, "--out", out, src)
				return code, stdout, stderr, readRunReport(t, out)
			}

			for _, pol := range []string{strict, otherTool} {
				code, stdout, stderr, rep := scan(pol)
				st := rep.Stages[0]
				if code != 2 || st.Status != "error" || !strings.Contains(st.Reason, f.want) {
					t.Fatalf("%s: exit %d, stage %s %q; want exit 2 and error %q\nstdout: %s\nstderr: %s",
						filepath.Base(pol), code, st.Status, st.Reason, f.want, stdout, stderr)
				}
				if st.Tools[0].ErrorAllowed != "" {
					t.Errorf("%s: error marked allowed: %+v", filepath.Base(pol), st.Tools[0])
				}
				// A failed tool's partial output never becomes findings.
				if len(rep.Findings) != 0 {
					t.Errorf("%s: %d findings from a failed tool", filepath.Base(pol), len(rep.Findings))
				}
			}

			code, stdout, _, rep := scan(allowed)
			st := rep.Stages[0]
			if code != 0 || st.Status != "warned" {
				t.Fatalf("allowed: exit %d, stage %s %q\n%s", code, st.Status, st.Reason, stdout)
			}
			if !strings.Contains(st.Reason, "allowed by per_tool.gitleaks.on_error: warn") || !strings.Contains(st.Reason, f.want) {
				t.Errorf("allowed: the reason does not say what failed and what allowed it: %q", st.Reason)
			}
			if tr := st.Tools[0]; tr.Error == "" || tr.ErrorAllowed != "per_tool.gitleaks.on_error: warn" {
				t.Errorf("allowed: the tool report does not say it: %+v", tr)
			}
		})
	}
}
