package examples_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/reports/github"
)

// readmeSnippet is the first yaml block of a README section.
func readmeSnippet(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q", heading)
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatalf("README's %s has no yaml block", heading)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// The example workflow and the README's short one pass actionlint (the
// pinned build, as make test installs it): expressions, contexts, job
// outputs, matrix values, permissions and action inputs all check.
func TestCIGitHubWorkflowPassesActionlint(t *testing.T) {
	actionlint := testenv.Actionlint(t)
	dir := t.TempDir()
	snippet := filepath.Join(dir, "readme-snippet.yml")
	// The README shows the jobs; a workflow needs its triggers too.
	if err := os.WriteFile(snippet, []byte("on: [push, pull_request]\n"+readmeSnippet(t, "### GitHub Actions")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"github/devsecops.yml", snippet} {
		out, err := exec.Command(actionlint, "-no-color", file).CombinedOutput()
		if err != nil {
			t.Errorf("actionlint %s: %v\n%s", file, err, out)
		}
	}
	// actionlint does find problems: a job output naming a step that does
	// not exist.
	bad, err := os.ReadFile("github/devsecops.yml")
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yml")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(bad), "steps.sarif.outputs.files", "steps.nosuchstep.outputs.files", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(actionlint, "-no-color", broken).CombinedOutput(); err == nil || !strings.Contains(string(out), "nosuchstep") {
		t.Errorf("actionlint passed a workflow with a broken job output: %v\n%s", err, out)
	}
}

// Every results*.sarif a run writes reaches code scanning, one upload
// each: the listing step, run here by bash over a folder with three files,
// names them all; the artifact keeps all three; the code-scanning job makes
// one upload-sarif per name. The scan job declares every output dagsec
// writes, for later jobs.
func TestCIGitHubWorkflowUploadsEverySARIF(t *testing.T) {
	_, wf := loadYAML(t, "github/devsecops.yml")
	jobs := mapAt(t, wf["jobs"], "jobs")
	scan := mapAt(t, jobs["dagsec"], "jobs.dagsec")
	steps := ghSteps(t, scan, "jobs.dagsec")

	// The job's outputs: every output github-outputs.txt holds, and the SARIF list.
	outputs := mapAt(t, scan["outputs"], "jobs.dagsec.outputs")
	for name := range github.Outputs(&pipeline.Report{}) {
		if want := "${{ steps.dagsec.outputs." + name + " }}"; outputs[name] != want {
			t.Errorf("jobs.dagsec.outputs.%s = %v, want %s", name, outputs[name], want)
		}
	}
	if outputs["sarif-files"] != "${{ steps.sarif.outputs.files }}" {
		t.Errorf("jobs.dagsec.outputs.sarif-files = %v", outputs["sarif-files"])
	}

	// Run the listing step as the runner would (bash, GITHUB_OUTPUT).
	list := findStep(steps, func(s ghStep) bool { return strings.Contains(s.Run, "results*.sarif") })
	if list < 0 {
		t.Fatal("no step lists dagsec-report/results*.sarif")
	}
	work := t.TempDir()
	written := []string{"results.sarif", "results-2.sarif", "results-3.sarif"}
	for _, f := range append(slices.Clone(written), "summary.md", "report.json") {
		testenv.Write(t, work, map[string]string{"dagsec-report/" + f: "{}"})
	}
	outFile := filepath.Join(work, "github-output")
	cmd := exec.Command("bash", "-e", "-c", steps[list].Run)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+outFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("listing step: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	value, ok := strings.CutPrefix(strings.TrimSpace(string(raw)), "files=")
	if !ok {
		t.Fatalf("listing step wrote %q", raw)
	}
	var files []string
	if err := json.Unmarshal([]byte(value), &files); err != nil {
		t.Fatalf("files=%s is not a JSON list: %v", value, err)
	}
	slices.Sort(files)
	want := []string{"dagsec-report/results-2.sarif", "dagsec-report/results-3.sarif", "dagsec-report/results.sarif"}
	if !slices.Equal(files, want) {
		t.Fatalf("listed %v, want %v", files, want)
	}

	// The artifact keeps every listed file, under the same names.
	keep := steps[findStep(steps, func(s ghStep) bool { return actionName(s.Uses) == "actions/upload-artifact" })]
	pattern := str(keep.With["path"])
	for _, f := range files {
		if ok, _ := filepath.Match(pattern, f); !ok {
			t.Errorf("artifact path %q does not keep %s", pattern, f)
		}
	}

	// One upload-sarif per listed file.
	cs := mapAt(t, jobs["code-scanning"], "jobs.code-scanning")
	if cs["needs"] != "dagsec" || !strings.Contains(str(cs["if"]), "always()") {
		t.Errorf("code-scanning job: needs %v, if %v; want needs dagsec, if always()", cs["needs"], cs["if"])
	}
	matrix := mapAt(t, mapAt(t, cs["strategy"], "strategy")["matrix"], "strategy.matrix")
	if matrix["sarif"] != "${{ fromJSON(needs.dagsec.outputs.sarif-files) }}" {
		t.Errorf("matrix.sarif = %v, want the scan job's sarif-files", matrix["sarif"])
	}
	csSteps := ghSteps(t, cs, "jobs.code-scanning")
	get := findStep(csSteps, func(s ghStep) bool { return actionName(s.Uses) == "actions/download-artifact" })
	up := findStep(csSteps, func(s ghStep) bool { return actionName(s.Uses) == "github/codeql-action/upload-sarif" })
	if get < 0 || up < get || csSteps[get].With["name"] != keep.With["name"] || csSteps[get].With["path"] != "dagsec-report" {
		t.Fatalf("code-scanning job does not fetch the artifact into dagsec-report before uploading: %+v", csSteps)
	}
	if csSteps[up].With["sarif_file"] != "${{ matrix.sarif }}" || csSteps[up].With["category"] != nil {
		t.Errorf("upload-sarif with %v, want sarif_file: ${{ matrix.sarif }} and no category", csSteps[up].With)
	}
}

// The README's short snippets are pinned as the examples are: actions by
// commit with their tag, the Docker images by full version, the Dagger CLI
// by its release checksum.
func TestReadmeSnippetsArePinned(t *testing.T) {
	gh := readmeSnippet(t, "### GitHub Actions")
	uses := regexp.MustCompile(`uses: (\S+)(.*)`).FindAllStringSubmatch(gh, -1)
	if len(uses) < 3 {
		t.Fatalf("README's GitHub snippet has %d actions", len(uses))
	}
	for _, u := range uses {
		if !pinnedUses.MatchString(u[1]) || !tagComment.MatchString(strings.TrimSpace(u[2])) {
			t.Errorf("README: %s %s is not pinned by commit with its tag", u[1], u[2])
		}
	}
	gl := readmeSnippet(t, "### GitLab CI")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  image: docker:27\.\d+\.\d+$`),
		regexp.MustCompile(`services: \[docker:27\.\d+\.\d+-dind\]`),
		regexp.MustCompile(`DAGGER_SHA256: "[0-9a-f]{64}"`),
		regexp.MustCompile(`sha256sum -c`),
	} {
		if !want.MatchString(gl) {
			t.Errorf("README's GitLab snippet lacks %s:\n%s", want, gl)
		}
	}
	if strings.Contains(gl, "install.sh |") {
		t.Error("README's GitLab snippet pipes an unpinned install script into sh")
	}
}
