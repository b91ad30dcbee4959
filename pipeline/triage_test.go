package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/sarifio"
	"github.com/dagsec/dagsec/stages"
)

// The Go module the baseline test scans, in three versions.
const (
	baselineGoMod = "module example.com/baseline\n\ngo 1.22\n"
	// v1: a TLS client that skips verification (gosec G402, high).
	baselineV1 = `package main

import (
	"crypto/tls"
	"fmt"
)

func client() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true}
}

func main() { fmt.Println(client()) }
`
	// v3 adds to v2 a token from math/rand (gosec G404, high).
	baselineV3Addition = `
func token() int { return rand.Intn(1000000) }
`
)

// baselineV2 is v1 with 20 lines inserted above the vulnerable code, which
// is re-indented (one block deeper, spaces inside the literal).
func baselineV2() string {
	var pad strings.Builder
	for i := range 20 {
		pad.WriteString("// padding line " + string(rune('a'+i)) + "\n")
	}
	return strings.Replace(strings.Replace(baselineV1, "func client()", pad.String()+"func client()", 1),
		"\treturn &tls.Config{InsecureSkipVerify: true}\n",
		"\t{\n\t\t\treturn &tls.Config{InsecureSkipVerify:   true}\n\t}\n", 1)
}

func baselineV3() string {
	v := strings.Replace(baselineV2(), "\t\"fmt\"\n", "\t\"fmt\"\n\t\"math/rand\"\n", 1)
	v = strings.Replace(v, "fmt.Println(client())", "fmt.Println(client(), token())", 1)
	return v + baselineV3Addition
}

func runSAST(t *testing.T, dir string, pol *policies.Policy, base *baseline.Baseline) *pipeline.Report {
	t.Helper()
	r, err := host.NewRunner(dir, testenv.Installer(t))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pipeline.Run(context.Background(), pipeline.Config{
		Runner: r, Policy: pol, Stages: []string{stages.SAST}, Source: dir, Offline: true, Baseline: base,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func gosecFindings(t *testing.T, rep *pipeline.Report, rule string) []findings.Finding {
	t.Helper()
	fs := find(rep, stages.SAST, "gosec", rule)
	for _, f := range rep.Findings {
		t.Logf("%s %s %s %s:%d %q baseline=%q", f.Tool, f.RuleID, f.Severity, f.Location.Path, f.Location.Line, f.Fingerprint, f.Baseline)
	}
	return fs
}

// The real gosec, through the host runner: a finding moved 20 lines down
// and re-indented keeps its fingerprint and is known to a baseline made of
// the first run's report.json or results.sarif; a new call is new, and
// with sast blocking from high, only the new one blocks.
func TestBaselineWithRealGosec(t *testing.T) {
	testenv.Tool(t, "gosec")
	pol := preset(t, "default")
	sp := pol.Stages[stages.SAST]
	sp.BlockOn = findings.SeverityHigh
	pol.Stages[stages.SAST] = sp

	dir := testenv.Dir(t, map[string]string{"go.mod": baselineGoMod, "main.go": baselineV1})
	first := runSAST(t, dir, pol, nil)
	old := gosecFindings(t, first, "G402")
	if len(old) != 1 || old[0].Location.Line != 9 || old[0].Baseline != "" {
		t.Fatalf("first run: G402 %+v, want one at main.go:9 without baseline state", old)
	}
	if s := stage(t, first, stages.SAST); s.Status != policies.StatusBlocked || s.New+s.Known != 0 {
		t.Fatalf("first run: sast %s (%s) new %d known %d; want blocked, no baseline counts", s.Status, s.Reason, s.New, s.Known)
	}
	out := render(t, first)
	saved := t.TempDir()
	for name, data := range map[string]string{"report.json": out.json, "results.sarif": out.sarif} {
		if err := os.WriteFile(filepath.Join(saved, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	for _, file := range []string{"report.json", "results.sarif"} {
		t.Run(file, func(t *testing.T) {
			base, err := baseline.LoadFile(filepath.Join(saved, file))
			if err != nil {
				t.Fatal(err)
			}

			t.Run("moved and re-indented is known", func(t *testing.T) {
				testenv.Write(t, dir, map[string]string{"main.go": baselineV2()})
				rep := runSAST(t, dir, pol, base)
				got := gosecFindings(t, rep, "G402")
				if len(got) != 1 {
					t.Fatalf("G402: %d findings, want 1", len(got))
				}
				f := got[0]
				if f.Location.Line < old[0].Location.Line+20 {
					t.Errorf("G402 at line %d: the code did not move down 20 lines from %d", f.Location.Line, old[0].Location.Line)
				}
				if f.Fingerprint != old[0].Fingerprint || f.Baseline != findings.BaselineKnown {
					t.Errorf("moved G402: fingerprint %s (was %s), baseline %q; want the same fingerprint, known", f.Fingerprint, old[0].Fingerprint, f.Baseline)
				}
				s := stage(t, rep, stages.SAST)
				if s.Known != 1 || s.New != 0 || rep.Baseline != filepath.Join(saved, file) {
					t.Errorf("stage counts new %d known %d, report baseline %q", s.New, s.Known, rep.Baseline)
				}
				// The known finding alone does not block.
				if s.Status == policies.StatusBlocked || s.Blocking != 0 {
					t.Errorf("sast %s (%s), %d blocking: a known finding must not block", s.Status, s.Reason, s.Blocking)
				}
				if out := render(t, rep); !strings.Contains(out.sarif, `"baselineState": "unchanged"`) || !strings.Contains(out.md, "0 new, 1 known") {
					t.Errorf("SARIF or summary lacks the baseline state")
				}
			})

			t.Run("a new call is new and alone blocks", func(t *testing.T) {
				testenv.Write(t, dir, map[string]string{"main.go": baselineV3()})
				rep := runSAST(t, dir, pol, base)
				known, added := gosecFindings(t, rep, "G402"), gosecFindings(t, rep, "G404")
				if len(known) != 1 || known[0].Baseline != findings.BaselineKnown || known[0].Fingerprint != old[0].Fingerprint {
					t.Fatalf("G402 %+v, want the old finding, known", known)
				}
				if len(added) != 1 || added[0].Baseline != findings.BaselineNew || added[0].Severity < findings.SeverityHigh {
					t.Fatalf("G404 %+v, want one new finding, high", added)
				}
				s := stage(t, rep, stages.SAST)
				if s.New != 1 || s.Known != 1 {
					t.Errorf("stage counts new %d known %d, want 1 and 1", s.New, s.Known)
				}
				if s.Status != policies.StatusBlocked || s.Blocking != 1 || !strings.Contains(s.Reason, "1 new finding") {
					t.Errorf("sast %s (%s) with %d blocking; want blocked by the one new finding", s.Status, s.Reason, s.Blocking)
				}
				out := render(t, rep)
				for _, want := range []string{`"baselineState": "new"`, `"baselineState": "unchanged"`} {
					if !strings.Contains(out.sarif, want) {
						t.Errorf("SARIF lacks %s", want)
					}
				}
				if !strings.Contains(out.md, "1 new, 1 known") || !strings.Contains(out.md, "high (new)") {
					t.Errorf("summary does not show the new finding:\n%s", out.md)
				}
			})
		})
	}
}

// The real gitleaks on the leaky tree, with suppressions in the policy: the
// suppressed finding stays in every output, marked, and no longer blocks;
// the run's report lists active, expired and stale suppressions.
func TestSuppressionsWithRealGitleaks(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	dir := testenv.Dir(t, testenv.LeakyFiles(t))
	future := time.Now().UTC().AddDate(0, 1, 0)
	sup := func(rule, path string, expires time.Time, line int) policies.Suppression {
		return policies.Suppression{Rule: rule, Path: path, Justification: "test key, rotated", Owner: "security-team",
			Expires: expires, Source: "dagsec.yaml:" + string(rune('0'+line))}
	}
	pol := preset(t, "default")
	pol.Suppressions = []policies.Suppression{
		sup("private-key", "deploy/*.pem", future, 3),
		sup("aws-access-token", "nowhere/**", future, 5),                                     // stale
		sup("dagsec-database-url-credentials", "config/db.env", future.AddDate(0, -2, 0), 7), // expired
	}
	rep := runOn(t, dir, testenv.Installer(t), pol)
	s := stage(t, rep, stages.Secrets)
	if s.Status != policies.StatusBlocked || s.Suppressed != 1 || s.Blocking != s.Findings-1 {
		t.Fatalf("secrets %s (%s): %d findings, %d suppressed, %d blocking", s.Status, s.Reason, s.Findings, s.Suppressed, s.Blocking)
	}
	key := find(rep, stages.Secrets, "gitleaks", "private-key")
	if len(key) != 1 || key[0].Suppressed == nil || key[0].Suppressed.Owner != "security-team" || key[0].Suppressed.Source != "dagsec.yaml:3" {
		t.Fatalf("private-key %+v, want it suppressed", key)
	}
	sr := rep.Suppressions
	if sr == nil || len(sr.Active) != 1 || len(sr.Expired) != 1 || len(sr.Stale) != 1 || sr.Stale[0].Rule != "aws-access-token" {
		t.Fatalf("suppression report %+v", sr)
	}

	out := render(t, rep) // validates the SARIF
	if !strings.Contains(out.md, "1 suppressed by the policy") || !strings.Contains(out.md, "(suppressed)") ||
		!strings.Contains(out.md, "1 expired suppression") || !strings.Contains(out.md, "1 stale suppression") {
		t.Errorf("summary does not show the suppressions:\n%s", out.md)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID       string `json:"ruleId"`
				Suppressions []struct {
					Kind, Status, Justification, GUID string
					Location                          struct{ Message struct{ Text string } }
				} `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out.sarif), &log); err != nil {
		t.Fatal(err)
	}
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	n := 0
	for _, run := range log.Runs {
		for _, res := range run.Results {
			if res.RuleID != "private-key" {
				if len(res.Suppressions) > 0 {
					t.Errorf("%s has a suppression", res.RuleID)
				}
				continue
			}
			n++
			if len(res.Suppressions) != 1 {
				t.Fatalf("private-key result has %d suppressions", len(res.Suppressions))
			}
			x := res.Suppressions[0]
			if x.Kind != "external" || x.Status != "accepted" || x.Justification != "test key, rotated" ||
				!guid.MatchString(x.GUID) || !strings.Contains(x.Location.Message.Text, "dagsec.yaml:3") {
				t.Errorf("suppression %+v", x)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d private-key results in SARIF", n)
	}
	// The saved report reads back with its suppressions and gives the same SARIF.
	back, err := pipeline.ReadReport([]byte(out.json))
	if err != nil {
		t.Fatal(err)
	}
	if back.Suppressions == nil || len(back.Suppressions.Stale) != 1 {
		t.Errorf("suppression report lost in report.json")
	}
	if again, err := back.SARIF(); err != nil || string(again) != out.sarif {
		t.Errorf("SARIF from the saved report differs (err %v)", err)
	}

	// Everything suppressed: the gate passes, and still lists them.
	pol.Suppressions = []policies.Suppression{sup("private-key", "**", future, 3), sup("aws-access-token", "**", future, 4),
		sup("dagsec-database-url-credentials", "**", future, 5)}
	rep = runOn(t, dir, testenv.Installer(t), pol)
	if s := stage(t, rep, stages.Secrets); s.Status != policies.StatusPassed || s.Suppressed != s.Findings || s.Findings < 3 {
		t.Errorf("all suppressed: secrets %s (%s), %d of %d suppressed", s.Status, s.Reason, s.Suppressed, s.Findings)
	}
}

// Report-level: what a saved report with merged, baselined and suppressed
// findings gives in JSON, SARIF (schema-valid, readable) and Markdown.
func TestReportCarriesTriage(t *testing.T) {
	mk := func(tool, rule string, sev findings.Severity, line int) findings.Finding {
		f := findings.Finding{Stage: stages.SCA, Tool: tool, RuleID: rule, Severity: sev, Message: rule + " message",
			Location: findings.Location{Path: "go.mod", Line: line}, Identity: rule}
		f.Fingerprint = findings.Fingerprint(f)
		return f
	}
	merged := mk("govulncheck", "GO-2021-0113", findings.SeverityHigh, 3)
	merged.AlsoFoundBy, merged.MergedFingerprints, merged.Baseline = []string{"osv-scanner"}, []string{"0123456789abcdef0123456789abcdef"}, findings.BaselineNew
	known := mk("govulncheck", "GO-2022-1059", findings.SeverityLow, 3)
	known.Baseline = findings.BaselineKnown
	quiet := mk("osv-scanner", "GO-2020-0015", findings.SeverityMedium, 0)
	quiet.Baseline = findings.BaselineKnown
	quiet.Suppressed = &findings.Suppressed{Justification: "not reachable", Owner: "alice", Expires: "2027-01-31", Source: "policy.yaml:12"}
	rep := &pipeline.Report{
		SchemaVersion: pipeline.SchemaVersion, Status: policies.StatusBlocked, ExitCode: 1, Policy: "default",
		Baseline: "old/report.json", Errors: []string{},
		Stages: []pipeline.StageReport{{Name: stages.SCA, Status: policies.StatusBlocked, Findings: 3, New: 1, Known: 2, Suppressed: 1,
			Tools: []pipeline.ToolReport{{Name: "govulncheck", Version: "v1.9.0"}, {Name: "osv-scanner", Version: "2.6.0"}}}},
		Findings: []findings.Finding{merged, known, quiet},
	}
	out := render(t, rep)
	for _, want := range []string{`"baselineState": "new"`, `"baselineState": "unchanged"`, `"kind": "external"`, `"status": "accepted"`,
		`"justification": "not reachable"`, `"alsoFoundBy"`, `"` + baseline.MergedFingerprintsKey + `"`} {
		if !strings.Contains(out.sarif, want) {
			t.Errorf("SARIF lacks %s", want)
		}
	}
	if strings.Count(out.sarif, `"suppressions"`) != 1 {
		t.Errorf("want exactly one result with suppressions")
	}
	// A third-party reader still reads every result.
	if fs, err := sarifio.ReadFindings([]byte(out.sarif), stages.SCA); err != nil || len(fs) != 3 {
		t.Errorf("ReadFindings: %d findings, %v", len(fs), err)
	}
	files, err := rep.SARIFFiles()
	if err != nil || len(files) != 1 || string(files["results.sarif"]) != out.sarif {
		t.Errorf("SARIFFiles differs from SARIF (err %v)", err)
	}
	back, err := pipeline.ReadReport([]byte(out.json))
	if err != nil {
		t.Fatal(err)
	}
	if back.Baseline != rep.Baseline || back.Stages[0].New != 1 || back.Stages[0].Known != 2 || back.Stages[0].Suppressed != 1 ||
		!slices.Equal(back.Findings[0].MergedFingerprints, merged.MergedFingerprints) || back.Findings[2].Suppressed == nil {
		t.Errorf("report.json lost triage fields")
	}
	for _, want := range []string{"Baseline `old/report.json`: 1 new, 2 known", "1 suppressed by the policy", "high (new)", "medium (suppressed)"} {
		if !strings.Contains(out.md, want) {
			t.Errorf("summary lacks %q:\n%s", want, out.md)
		}
	}
	// Without a baseline or suppressions, the summary has no such line.
	plain := &pipeline.Report{SchemaVersion: pipeline.SchemaVersion, Status: policies.StatusPassed, Errors: []string{},
		Stages: []pipeline.StageReport{{Name: stages.SCA, Status: policies.StatusPassed}}, Findings: []findings.Finding{mk("govulncheck", "GO-1", findings.SeverityLow, 1)}}
	if md := plain.Markdown(); strings.Contains(md, "Baseline") || strings.Contains(md, "suppress") || strings.Contains(md, "(new)") {
		t.Errorf("plain summary mentions triage:\n%s", md)
	}
}

// In the planted repository govulncheck and osv-scanner both report the
// golang.org/x/text advisories: the report lists each once.
func TestPlantedRepositoryDedupsSCA(t *testing.T) {
	dir := testenv.Dir(t, testenv.PlantedFiles())
	testenv.GoModTidy(t, dir)
	rep := runCode(t, dir, preset(t, "default"), stages.SCA)
	s := stage(t, rep, stages.SCA)
	raw := 0
	for _, tr := range s.Tools {
		raw += tr.Findings
	}
	var x []findings.Finding
	for _, f := range rep.Findings {
		t.Logf("%s %s %s %s also %v", f.Tool, f.RuleID, f.Severity, f.Location.Path, f.AlsoFoundBy)
		if f.RuleID == "GO-2021-0113" || slices.Contains(f.Tags, "GO-2021-0113") {
			x = append(x, f)
		}
	}
	if len(x) != 1 || x[0].Tool != "govulncheck" || x[0].Location.Path != "main.go" || !slices.Contains(x[0].AlsoFoundBy, "osv-scanner") {
		t.Fatalf("GO-2021-0113: %+v, want govulncheck's called copy, also found by osv-scanner", x)
	}
	if s.Findings != len(rep.Findings) || s.Findings >= raw {
		t.Errorf("stage counts %d findings of %d reported by its tools: dedup should have merged some", s.Findings, raw)
	}
	render(t, rep)
}
