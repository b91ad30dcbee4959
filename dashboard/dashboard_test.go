package dashboard_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/dashboard"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// xss is a finding message shaped to run script if it were not escaped:
// each part would mark the page's body.
const xss = `<script>document.body.setAttribute("data-xss","script")</script>` +
	`<img src=x onerror="document.body.setAttribute('data-xss','img')">`

func finding(stage, tool, rule string, sev findings.Severity, msg, path string, line int) findings.Finding {
	f := findings.Finding{Stage: stage, Tool: tool, RuleID: rule, Severity: sev, Message: msg,
		Location: findings.Location{Path: path, Line: line}}
	f.Fingerprint = findings.Fingerprint(f)
	return f
}

// sampleReport is a run with findings in every triage state, of several
// stages, tools and severities, one of them the XSS-shaped message.
func sampleReport(at time.Time, fs ...findings.Finding) *pipeline.Report {
	rep := &pipeline.Report{
		SchemaVersion: pipeline.SchemaVersion, Runner: "host", Source: "/src/<app>", Policy: "default",
		StartedAt: at, FinishedAt: at.Add(time.Minute), DurationMS: 60000, Status: policies.StatusBlocked, ExitCode: 1,
		Branch: "main", Findings: fs, Counts: findings.CountBySeverity(fs), Errors: []string{},
		Stages: []pipeline.StageReport{
			{Name: "secrets", Status: policies.StatusBlocked, Reason: "1 finding at or above info", Findings: 1, Blocking: 1,
				Tools: []pipeline.ToolReport{{Name: "gitleaks", Version: "v8.30.1", Target: "."}}},
			{Name: "sast", Status: policies.StatusWarned, Reason: "2 findings below critical", Findings: 2,
				Tools: []pipeline.ToolReport{{Name: "gosec", Version: "v2.30.0", Target: "."}, {Name: "bandit", Skipped: "no Python files"}}},
			{Name: "sca", Status: policies.StatusPassed, Reason: "no vulnerabilities",
				Tools: []pipeline.ToolReport{{Name: "govulncheck", Version: "v1.9.0", Target: "."}}},
		},
	}
	return rep
}

func sampleFindings() []findings.Finding {
	leak := finding("secrets", "gitleaks", "aws-access-token", findings.SeverityHigh, "AWS access key", "config/app.env", 3)
	inject := finding("sast", "gosec", "G204", findings.SeverityHigh, xss, "main.go", 12)
	inject.Baseline = findings.BaselineNew
	md5 := finding("sast", "gosec", "G401", findings.SeverityMedium, "Use of weak cryptographic primitive", "main.go", 20)
	md5.Baseline = findings.BaselineKnown
	old := finding("sca", "govulncheck", "GO-2021-0113", findings.SeverityLow, "Out-of-bounds read in golang.org/x/text", "go.mod", 5)
	old.Suppressed = &findings.Suppressed{Justification: "not reachable", Owner: "team", Expires: "2027-01-01"}
	return []findings.Finding{leak, inject, md5, old}
}

var findingRow = regexp.MustCompile(`<tr class="finding"[^>]*>`)

// visible lists the data-<attr> values of the finding rows not hidden.
func visible(t *testing.T, dom, attr string) []string {
	t.Helper()
	var out []string
	for _, row := range findingRow.FindAllString(dom, -1) {
		if strings.Contains(row, ` hidden=""`) {
			continue
		}
		m := regexp.MustCompile(` data-` + attr + `="([^"]*)"`).FindStringSubmatch(row)
		if m == nil {
			t.Fatalf("row without data-%s: %s", attr, row)
		}
		out = append(out, m[1])
	}
	return out
}

// checkPage opens the page with each filter and checks what every
// dashboard must do: render with no console message and no page error,
// run its script to the end, keep the XSS-shaped message as text, and
// show the rows each filter selects.
func checkPage(t *testing.T, file string, filters []filterCase) {
	t.Helper()
	for _, fc := range filters {
		t.Run("filter="+fc.fragment, func(t *testing.T) {
			p := testenv.Browse(t, file, fc.fragment)
			if len(p.Console) > 0 {
				t.Errorf("console messages:\n%s", strings.Join(p.Console, "\n"))
			}
			if !strings.Contains(p.DOM, `data-ready="1"`) {
				t.Errorf("the page's script did not finish (no data-ready on body)")
			}
			if regexp.MustCompile(`<pre id="page-errors"[^>]*>[^<]`).MatchString(p.DOM) {
				t.Errorf("the page recorded errors: %s", regexp.MustCompile(`(?s)<pre id="page-errors".*?</pre>`).FindString(p.DOM))
			}
			if strings.Contains(p.DOM, "data-xss") && !strings.Contains(p.DOM, "&lt;script&gt;document.body.setAttribute(\"data-xss\"") {
				t.Errorf("the XSS-shaped message was not kept as text")
			}
			if regexp.MustCompile(`<body[^>]*data-xss`).MatchString(p.DOM) {
				t.Errorf("the XSS-shaped message ran: %s", regexp.MustCompile(`<body[^>]*>`).FindString(p.DOM))
			}
			if n := strings.Count(p.DOM, "<script"); n != 1 {
				t.Errorf("%d script elements in the DOM, want the page's own only", n)
			}
			if strings.Contains(p.DOM, "<img") {
				t.Errorf("a finding's markup became an element")
			}
			got := visible(t, p.DOM, fc.attr)
			if strings.Join(got, ",") != strings.Join(fc.want, ",") {
				t.Errorf("visible rows' %s = %v, want %v", fc.attr, got, fc.want)
			}
			if !strings.Contains(p.DOM, `<span id="shown">`+strconv.Itoa(len(fc.want))+`</span>`) {
				t.Errorf("the shown count is not %d", len(fc.want))
			}
		})
	}
}

type filterCase struct {
	fragment, attr string
	want           []string
}

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReportHTMLInBrowser(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	fs := sampleFindings()
	// A history: the leak and the injection open 50 hours before this run;
	// a critical seen in the first run and gone in the second.
	crit := finding("sca", "govulncheck", "GO-2024-0001", findings.SeverityCritical, "RCE", "go.mod", 4)
	first := sampleReport(t0, append([]findings.Finding{crit}, fs[:2]...)...)
	second := sampleReport(t0.Add(24*time.Hour), fs[:2]...)
	rep := sampleReport(t0.Add(50*time.Hour), fs...)
	page, err := dashboard.Report(rep, dashboard.Options{History: metrics.Saved(first, second), Targets: metrics.DefaultTargets(), ProductionBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{"Open findings by severity", "Mean time to remediate", "Coverage", "<polyline", `id="targets"`} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html with history lacks %q", want)
		}
	}
	for _, banned := range []string{"http://", "https://", "@import", "src=\"http", "<link"} {
		if strings.Contains(strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, ""), banned) {
			t.Errorf("report.html refers outside itself: %q", banned)
		}
	}
	file := write(t, dashboard.ReportFile, page)
	checkPage(t, file, []filterCase{
		{"", "severity", []string{"high", "high", "medium", "low"}},
		{"severity=high", "tool", []string{"gitleaks", "gosec"}},
		{"stage=sast&state=known", "severity", []string{"medium"}},
		{"state=suppressed", "stage", []string{"sca"}},
		{"tool=gosec&severity=low", "stage", nil},
		{"severity=bogus", "severity", []string{"high", "high", "medium", "low"}},
	})
	testenv.Screenshot(t, file, "report.png")
}

func TestFleetHTMLInBrowser(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	fs := sampleFindings()
	repos := []fleet.Repo{{Index: 0, Name: "api", URL: "https://git.example/api.git"}, {Index: 1, Name: "web", URL: "/src/web", Ref: "main"},
		{Index: 2, Name: "gone", URL: "/src/gone"}}
	reps := []*pipeline.Report{sampleReport(t0, fs[:2]...), sampleReport(t0, fs[2:]...)}
	fr := &fleet.Report{SchemaVersion: fleet.SchemaVersion, Runner: "host", StartedAt: t0, FinishedAt: t0.Add(time.Minute),
		Total: 3, Reports: map[string]*pipeline.Report{}}
	for i, rep := range reps {
		fr.Repos = append(fr.Repos, fleet.Result(repos[i], rep))
		fr.Reports[repos[i].Name] = rep
	}
	gone := fleet.ErrorReport(repos[2], t0, errString(`git clone: repository "<b>gone</b>" not found`))
	fr.Repos = append(fr.Repos, fleet.Result(repos[2], gone))
	fr.Reports["gone"] = gone
	fr.Finish()

	page, err := dashboard.Fleet(fr, nil, dashboard.Options{Targets: metrics.DefaultTargets()})
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{`href="api/report.html"`, `href="gone/report.html"`, "&lt;b&gt;gone&lt;/b&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("fleet.html lacks %q", want)
		}
	}
	file := write(t, dashboard.FleetFile, page)
	checkPage(t, file, []filterCase{
		{"", "repo", []string{"api", "api", "web", "web"}},
		{"repo=web", "severity", []string{"medium", "low"}},
		{"repo=api&severity=high", "tool", []string{"gitleaks", "gosec"}},
		{"state=new", "repo", []string{"api"}},
	})
	testenv.Screenshot(t, file, "fleet.png")
}

type errString string

func (e errString) Error() string { return string(e) }
