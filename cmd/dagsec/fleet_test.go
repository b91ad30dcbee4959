package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

// xssFile is a file name shaped as markup: gitleaks reports its path, so
// the dashboards show real tool output that would run script if it were
// not escaped.
const xssFile = `config/<img src=x onerror="document.body.setAttribute('data-xss','1')">.env`

// fleetRepos plants the three repositories of the issue: a clean one, a
// vulnerable one (leaked secrets, a Dockerfile on latest as root), and one
// whose clone fails (a branch it does not have). It returns the list file.
func fleetRepos(t *testing.T) string {
	t.Helper()
	clean := testenv.GitRepo(t, testenv.CleanFiles())
	leaky := testenv.LeakyFiles(t)
	leaky[xssFile] = "DATABASE_URL=" + testenv.DatabaseURL + "\n"
	leaky["Dockerfile"] = "FROM python:latest\nCMD [\"python\"]\n"
	vuln := testenv.GitRepo(t, leaky)
	list := filepath.Join(t.TempDir(), "repos.txt")
	body := "# the fleet\n" + clean + " clean\n" + vuln + "@main vulnerable\n\n" + clean + "@no-such-branch broken\n"
	if err := os.WriteFile(list, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return list
}

func readFleet(t *testing.T, dir string) *fleet.Report {
	t.Helper()
	hr, err := fleet.LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	return hr.Fleet
}

// comparable is a fleet.json without what differs from one run to the
// next (times) or between a merge and a whole run (the shards).
func comparable(t *testing.T, dir string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, fleet.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"started_at", "finished_at", "duration_ms", "shard", "merged"} {
		delete(m, k)
	}
	for _, r := range m["repos"].([]any) {
		delete(r.(map[string]any), "duration_ms")
	}
	return m
}

func TestFleetOfThreeRepositories(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	list := fleetRepos(t)
	tmp := t.TempDir()
	whole := filepath.Join(tmp, "whole")
	code, stdout, stderr := dagsec(t, "fleet", "--repos", list, "--stages", "secrets,dockerfile", "--jobs", "2", "--out", whole)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (the worst verdict: a repository errored)\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	fr := readFleet(t, whole)

	// Per-repository verdicts, in the list's order.
	want := map[string]policies.Status{"clean": policies.StatusPassed, "vulnerable": policies.StatusBlocked, "broken": policies.StatusError}
	var names []string
	for _, r := range fr.Repos {
		names = append(names, r.Name)
		if r.Status != want[r.Name] {
			t.Errorf("%s: %s, want %s (error %q)", r.Name, r.Status, want[r.Name], r.Error)
		}
		rep, err := pipeline.ReadReportFile(filepath.Join(whole, r.Dir, "report.json"))
		if err != nil {
			t.Fatalf("%s's report folder: %v", r.Name, err)
		}
		if rep.Status != r.Status || !reflect.DeepEqual(rep.Counts, r.Counts) {
			t.Errorf("%s: fleet.json says %s %v, its report.json %s %v", r.Name, r.Status, r.Counts, rep.Status, rep.Counts)
		}
		for _, f := range []string{"report.html", "summary.md", "results.sarif", "junit.xml"} {
			if _, err := os.Stat(filepath.Join(whole, r.Dir, f)); err != nil {
				t.Errorf("%s: %v", r.Name, err)
			}
		}
	}
	if !slices.Equal(names, []string{"clean", "vulnerable", "broken"}) {
		t.Errorf("repositories %v, want the list's order", names)
	}
	broken := fr.Repos[2]
	if !strings.Contains(broken.Error, "no-such-branch") || broken.ExitCode != 2 {
		t.Errorf("broken: error %q exit %d; want the clone's failure, exit 2", broken.Error, broken.ExitCode)
	}
	vuln := fr.Repos[1]
	if vuln.Stages["secrets"] != policies.StatusBlocked || vuln.Stages["dockerfile"] == "" || vuln.Blocking == 0 {
		t.Errorf("vulnerable: stages %v, blocking %d", vuln.Stages, vuln.Blocking)
	}

	// The roll-up, counted by hand from the verdicts above.
	ru := fr.Rollup
	if ru.Repos != 3 || ru.Passed != 1 || ru.Warned != 0 || ru.Blocked != 1 || ru.Error != 1 || ru.Skipped != 0 {
		t.Errorf("roll-up %+v, want 3 repositories: 1 passed, 1 blocked, 1 error", ru)
	}
	if !slices.Equal(ru.ErrorRepos, []string{"broken"}) || !slices.Equal(ru.BlockedRepos, []string{"vulnerable"}) {
		t.Errorf("roll-up names error %v, blocked %v", ru.ErrorRepos, ru.BlockedRepos)
	}
	sum := findings.CountBySeverity(nil)
	for _, r := range fr.Repos {
		for s, n := range r.Counts {
			sum[s] += n
		}
	}
	if !reflect.DeepEqual(ru.Findings, sum) || sum["high"] == 0 {
		t.Errorf("roll-up findings %v, the repositories' sum %v", ru.Findings, sum)
	}
	if fr.Status != policies.StatusError || fr.ExitCode != 2 {
		t.Errorf("fleet %s exit %d, want error 2", fr.Status, fr.ExitCode)
	}
	for _, line := range []string{"broken: error (exit 2): clone ", "vulnerable: blocked (exit 1)", "clean: passed (exit 0)", "fleet error (exit 2)"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, stdout)
		}
	}
	if strings.Contains(stdout+stderr, testenv.AWSKeyID) || strings.Contains(stdout+stderr, testenv.DBPassword) {
		t.Errorf("a secret value was printed")
	}

	// Two shards merged are the whole.
	s1, s2, merged := filepath.Join(tmp, "s1"), filepath.Join(tmp, "s2"), filepath.Join(tmp, "merged")
	for _, c := range []struct {
		shard, out string
		code       int
		repos      []string
	}{{"1/2", s1, 2, []string{"clean", "broken"}}, {"2/2", s2, 1, []string{"vulnerable"}}} {
		code, stdout, stderr := dagsec(t, "fleet", "--repos", list, "--stages", "secrets,dockerfile", "--shard", c.shard, "--out", c.out)
		if code != c.code {
			t.Fatalf("shard %s: exit %d, want %d\n%s%s", c.shard, code, c.code, stdout, stderr)
		}
		var got []string
		for _, r := range readFleet(t, c.out).Repos {
			got = append(got, r.Name)
		}
		if !slices.Equal(got, c.repos) {
			t.Errorf("shard %s scanned %v, want %v", c.shard, got, c.repos)
		}
	}
	code, stdout, stderr = dagsec(t, "fleet", "merge", "--out", merged, s2, s1)
	if code != 2 {
		t.Fatalf("merge: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	if a, b := comparable(t, whole), comparable(t, merged); !reflect.DeepEqual(a, b) {
		ja, _ := json.MarshalIndent(a, "", " ")
		jb, _ := json.MarshalIndent(b, "", " ")
		t.Errorf("merged shards differ from the whole fleet:\nwhole:  %s\nmerged: %s", ja, jb)
	}
	for _, r := range fr.Repos {
		a, err1 := pipeline.ReadReportFile(filepath.Join(whole, r.Dir, "report.json"))
		b, err2 := pipeline.ReadReportFile(filepath.Join(merged, r.Dir, "report.json"))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", r.Name, err1, err2)
		}
		if !reflect.DeepEqual(fingerprints(a), fingerprints(b)) {
			t.Errorf("%s: the merged report folder has other findings", r.Name)
		}
	}
	if m := readFleet(t, merged); !slices.Equal(m.Merged, []string{"1/2", "2/2"}) {
		t.Errorf("merged from %v", m.Merged)
	}

	// A merge missing a shard, or given one twice, fails closed.
	for _, args := range [][]string{{s1}, {s1, s1}} {
		code, _, stderr := dagsec(t, append([]string{"fleet", "merge", "--out", filepath.Join(tmp, "bad")}, args...)...)
		if code != 2 || !regexp.MustCompile(`shard 2/2 missing|given twice`).MatchString(stderr) {
			t.Errorf("merge %v: exit %d, %s; want 2 naming the shard", args, code, stderr)
		}
	}

	// The dashboards open in a real browser with no console message; the
	// markup in a file name stays text.
	for _, page := range []string{filepath.Join(whole, "fleet.html"), filepath.Join(whole, "vulnerable", "report.html"), filepath.Join(merged, "fleet.html")} {
		p := testenv.Browse(t, page, "")
		if len(p.Console) > 0 || !strings.Contains(p.DOM, `data-ready="1"`) {
			t.Errorf("%s: console %v; ready %v", page, p.Console, strings.Contains(p.DOM, `data-ready="1"`))
		}
		if regexp.MustCompile(`<body[^>]*data-xss`).MatchString(p.DOM) || strings.Contains(p.DOM, "<img") {
			t.Errorf("%s: a file name's markup ran or became an element", page)
		}
		if !strings.Contains(p.DOM, "&lt;img src=x onerror=") {
			t.Errorf("%s does not show the file name as text", page)
		}
	}
	p := testenv.Browse(t, filepath.Join(whole, "fleet.html"), "repo=vulnerable&stage=dockerfile")
	for _, row := range regexp.MustCompile(`<tr class="finding"[^>]*>`).FindAllString(p.DOM, -1) {
		shown := !strings.Contains(row, `hidden=""`)
		if mine := strings.Contains(row, `data-repo="vulnerable"`) && strings.Contains(row, `data-stage="dockerfile"`); shown != mine {
			t.Errorf("filter repo=vulnerable&stage=dockerfile: row %s shown=%v", row, shown)
		}
	}
	testenv.Screenshot(t, filepath.Join(whole, "fleet.html"), "fleet.png")
	testenv.Screenshot(t, filepath.Join(whole, "vulnerable", "report.html"), "report.png")
}

func fingerprints(rep *pipeline.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, f.Fingerprint)
	}
	slices.Sort(out)
	return out
}

// The fleet exits with its worst repository's verdict.
func TestFleetExitCodeIsTheWorstVerdict(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	clean := testenv.GitRepo(t, testenv.CleanFiles())
	vuln := testenv.GitRepo(t, testenv.LeakyFiles(t))
	root := testenv.GitRepo(t, map[string]string{"Dockerfile": "FROM python:latest\nCMD [\"python\"]\n"})
	for _, c := range []struct {
		name, stages string
		repos        []string
		want         int
	}{
		{"all clean", "secrets", []string{clean}, 0},
		{"one blocked", "secrets", []string{clean, vuln + " vuln"}, 1},
		{"one not cloned", "secrets", []string{clean, vuln + " vuln", clean + "@nope broken"}, 2},
		{"a missing folder", "secrets", []string{clean, filepath.Join(t.TempDir(), "gone")}, 2},
		{"nothing to scan", "dockerfile", []string{clean}, 3},
		{"blocked over nothing scanned", "dockerfile", []string{clean, root + " root"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			list := filepath.Join(t.TempDir(), "repos.txt")
			if err := os.WriteFile(list, []byte(strings.Join(c.repos, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "fleet")
			code, stdout, stderr := dagsec(t, "fleet", "-q", "--repos", list, "--stages", c.stages, "--out", out)
			if code != c.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.want, stdout, stderr)
			}
			if fr := readFleet(t, out); fr.ExitCode != c.want || len(fr.Repos) != len(c.repos) {
				t.Errorf("fleet.json: exit_code %d, %d repositories", fr.ExitCode, len(fr.Repos))
			}
		})
	}
}

func TestFleetBadInput(t *testing.T) {
	dir := t.TempDir()
	dup := filepath.Join(dir, "dup.txt")
	os.WriteFile(dup, []byte("/a x\n/b x\n"), 0o644)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# nothing\n"), 0o644)
	cred := filepath.Join(dir, "cred.txt")
	os.WriteFile(cred, []byte("/a\nhttps://ci:xxxxxxxx@git.example.com/acme/api.git@main\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fleet"}, "--repos FILE"},
		{[]string{"fleet", "--repos", dup}, "dup.txt:2: name \"x\" is already used on line 1"},
		{[]string{"fleet", "--repos", empty}, "no repositories"},
		{[]string{"fleet", "--repos", cred}, `cred.txt:2: "https://ci:***@git.example.com/acme/api.git@main": a repository URL holds a credential`},
		{[]string{"fleet", "--repos", dup, "--shard", "3/2"}, "want i/n"},
		{[]string{"fleet", "--repos", dup, "--stages", "build"}, "not a code stage"},
		{[]string{"fleet", "merge"}, "SHARD_DIR"},
		{[]string{"fleet", "merge", dir}, "fleet.json"},
	} {
		code, _, stderr := dagsec(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("dagsec %v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
		if strings.Contains(stderr, "xxxxxxxx") {
			t.Errorf("dagsec %v printed a secret: %s", c.args, stderr)
		}
	}
}

// report.html with --history charts the repository's saved runs.
func TestReportHTMLWithHistory(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	repo := testenv.GitRepo(t, testenv.LeakyFiles(t))
	hist := t.TempDir()
	for _, run := range []string{"run-1", "run-2"} {
		if code, stdout, stderr := dagsec(t, "scan", "-q", "--stages", "secrets", "--out", filepath.Join(hist, run), repo); code != 1 {
			t.Fatalf("scan: exit %d\n%s%s", code, stdout, stderr)
		}
	}
	out := t.TempDir()
	code, stdout, stderr := dagsec(t, "report", "--format", "html", "--history", hist, "--out", out, filepath.Join(hist, "run-2"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	page := filepath.Join(out, "report.html")
	p := testenv.Browse(t, page, "")
	if len(p.Console) > 0 || !strings.Contains(p.DOM, `data-ready="1"`) {
		t.Errorf("console %v", p.Console)
	}
	// Two runs: each chart's lines have a point per run.
	if n := strings.Count(p.DOM, "<circle"); n != 2*4+2*0+2*1 {
		t.Errorf("%d points, want 10 (4 severities and coverage over 2 runs; nothing remediated)", n)
	}
	if !strings.Contains(p.DOM, "Mean time to remediate") || !strings.Contains(p.DOM, `id="targets"`) {
		t.Errorf("no MTTR chart or targets")
	}
}
