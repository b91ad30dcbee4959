package pipeline

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/policies"
)

func TestTopSeverityOfTheToolsThatRan(t *testing.T) {
	ran := func(names ...string) []ToolReport {
		var out []ToolReport
		for _, n := range names {
			out = append(out, ToolReport{Name: n})
		}
		return out
	}
	failed := ToolReport{Name: "semgrep", Error: "exited with code 2"}
	skipped := ToolReport{Name: "semgrep", Skipped: "not available to this runner"}
	for _, tt := range []struct {
		name  string
		stage string
		sp    policies.StagePolicy
		tools []ToolReport
		want  string
	}{
		{"host sast", "sast", policies.StagePolicy{}, ran("gosec", "bandit"), "high"},
		{"semgrep reaches critical", "sast", policies.StagePolicy{}, ran("gosec", "semgrep"), "critical"},
		{"a failed tool does not count", "sast", policies.StagePolicy{}, append(ran("gosec"), failed), "high"},
		{"a skipped tool does not count", "sast", policies.StagePolicy{}, append(ran("gosec"), skipped), "high"},
		{"an override raises the ceiling", "sast", policies.StagePolicy{Severity: map[string]findings.Severity{"G101": findings.SeverityCritical}}, ran("gosec"), "critical"},
		{"unreachable_severity raises govulncheck's", "sca", policies.StagePolicy{UnreachableSeverity: findings.SeverityCritical}, ran("govulncheck"), "critical"},
		{"licenses", "licenses", policies.StagePolicy{}, ran("syft"), "high"},
		{"an SBOM only is no ceiling", "image", policies.StagePolicy{}, ran("syft", "cosign"), ""},
		{"a tool without a known ceiling", "sast", policies.StagePolicy{}, ran("gosec", "newtool"), ""},
		{"nothing ran", "sast", policies.StagePolicy{}, []ToolReport{skipped}, ""},
	} {
		if got := topSeverity(tt.stage, tt.sp, tt.tools); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// The summary says once which gates the tools that ran cannot reach, and
// nothing for a warn-only stage or a reachable gate.
func TestMarkdownSaysOnceWhichGatesCannotBeReached(t *testing.T) {
	r := &Report{Stages: []StageReport{
		{Name: "sast", Status: policies.StatusWarned, BlockOn: "critical", TopSeverity: "high", Tools: []ToolReport{{Name: "gosec"}, {Name: "bandit"}, {Name: "semgrep", Skipped: "x"}}},
		{Name: "dockerfile", Status: policies.StatusPassed, BlockOn: "critical", TopSeverity: "high", Tools: []ToolReport{{Name: "dagsec"}}},
		{Name: "dast", Status: policies.StatusWarned, BlockOn: "critical", WarnOnly: true, TopSeverity: "high"},
		{Name: "sca", Status: policies.StatusPassed, BlockOn: "high", TopSeverity: "critical"},
	}}
	md := r.Markdown()
	want := "Gates the tools that ran cannot reach, so they never block here: **sast** blocks on critical, but what ran there (gosec, bandit) reports at most high; **dockerfile** blocks on critical, but what ran there (dagsec) reports at most high.\n"
	if strings.Count(md, "cannot reach") != 1 || !strings.Contains(md, want) {
		t.Errorf("Markdown lacks, once:\n%s\n%s", want, md)
	}
}

// Long messages stay short in the summary's table: govulncheck's list of
// vulnerable symbols keeps its first names, the count of the rest and the
// call site after it; other long text is cut at a space.
func TestShortCell(t *testing.T) {
	var syms []string
	for i := range 40 {
		syms = append(syms, fmt.Sprintf("net/http.Func%02d", i))
	}
	long := "stdlib@v1.26.8 has GO-2026-6613: desync. Fixed in v1.26.9. Vulnerable code is called: " + strings.Join(syms, ", ") + " (from check.go:102)."
	got := shortCell(long, maxCell)
	if len(got) > maxCell+60 || !strings.Contains(got, "net/http.Func00, net/http.Func01") ||
		!strings.HasSuffix(got, "more in report.json (from check.go:102).") {
		t.Errorf("shortCell = %q (%d bytes)", got, len(got))
	}
	words := strings.Repeat("word ", 100)
	if got := shortCell(words, maxCell); len(got) > maxCell+30 || !strings.HasSuffix(got, "… (whole in report.json)") {
		t.Errorf("shortCell(words) = %q", got)
	}
	if got := shortCell("short, text", maxCell); got != "short, text" {
		t.Errorf("a short cell changed: %q", got)
	}
}
