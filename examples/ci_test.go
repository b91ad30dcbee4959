package examples_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The CI examples are documentation users copy: these tests keep them valid
// YAML with the steps the README promises, actions pinned by commit and the
// Dagger version the module is built for.

var (
	pinnedUses = regexp.MustCompile(`^[a-z0-9-]+/[a-z0-9._-]+(/[a-z0-9._/-]+)?@[0-9a-f]{40}$`)
	tagComment = regexp.MustCompile(`^# v\d+\.\d+\.\d+$`)
)

// daggerVersion is the engine version dagger.json pins, without the "v".
func daggerVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../dagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var mod struct {
		EngineVersion string `json:"engineVersion"`
	}
	if err := json.Unmarshal(data, &mod); err != nil {
		t.Fatal(err)
	}
	if mod.EngineVersion != "v0.21.8" {
		t.Errorf("dagger.json engineVersion %q; the examples pin 0.21.8", mod.EngineVersion)
	}
	return strings.TrimPrefix(mod.EngineVersion, "v")
}

// loadYAML parses a file into a node tree (comments kept) and into plain values.
func loadYAML(t *testing.T, path string) (*yaml.Node, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(m) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return &doc, m
}

func mapAt(t *testing.T, v any, where string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want a mapping, got %T", where, v)
	}
	return m
}

func listAt(t *testing.T, v any, where string) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: want a list, got %T", where, v)
	}
	return l
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// usesNodes finds every `uses:` value in the tree with its line comment.
func usesNodes(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "uses" && n.Content[i+1].Kind == yaml.ScalarNode {
				out = append(out, n.Content[i+1])
			}
		}
	}
	for _, c := range n.Content {
		out = append(out, usesNodes(c)...)
	}
	return out
}

// ghStep is a workflow step in the shape the tests read.
type ghStep struct {
	Name string
	Uses string
	If   string
	Run  string
	With map[string]any
	Env  map[string]any
}

func ghSteps(t *testing.T, job map[string]any, where string) []ghStep {
	t.Helper()
	var out []ghStep
	for i, s := range listAt(t, job["steps"], where+".steps") {
		m := mapAt(t, s, fmt.Sprintf("%s.steps[%d]", where, i))
		st := ghStep{Name: str(m["name"]), Uses: str(m["uses"]), If: str(m["if"]), Run: str(m["run"])}
		if w, ok := m["with"].(map[string]any); ok {
			st.With = w
		}
		if e, ok := m["env"].(map[string]any); ok {
			st.Env = e
		}
		out = append(out, st)
	}
	return out
}

func actionName(uses string) string { name, _, _ := strings.Cut(uses, "@"); return name }

func findStep(steps []ghStep, pred func(ghStep) bool) int {
	return slices.IndexFunc(steps, pred)
}

func TestCIGitHubWorkflow(t *testing.T) {
	version := daggerVersion(t)
	doc, wf := loadYAML(t, "github/devsecops.yml")

	// Every action is pinned by a full commit, with its release tag in a comment.
	uses := usesNodes(doc)
	if len(uses) == 0 {
		t.Fatal("no uses: steps")
	}
	for _, u := range uses {
		if !pinnedUses.MatchString(u.Value) {
			t.Errorf("line %d: %s is not pinned by a 40-hex commit", u.Line, u.Value)
		}
		if !tagComment.MatchString(u.LineComment) {
			t.Errorf("line %d: %s has no `# vX.Y.Z` tag comment (got %q)", u.Line, u.Value, u.LineComment)
		}
	}
	// One commit per action across the file.
	pins := map[string]string{}
	for _, u := range uses {
		name, sha, _ := strings.Cut(u.Value, "@")
		name = strings.Join(strings.SplitN(name, "/", 3)[:2], "/")
		if prev, ok := pins[name]; ok && prev != sha {
			t.Errorf("%s is pinned to two commits", name)
		}
		pins[name] = sha
	}

	on := mapAt(t, wf["on"], "on")
	push := mapAt(t, on["push"], "on.push")
	if b := listAt(t, push["branches"], "on.push.branches"); len(b) != 1 || b[0] != "main" {
		t.Errorf("on.push.branches = %v, want [main]", b)
	}
	if _, ok := on["pull_request"]; !ok {
		t.Errorf("no pull_request trigger")
	}
	// Least privilege: read by default, each job adds what it needs.
	for where, want := range map[string]map[string]any{
		"permissions":                    {"contents": "read"},
		"jobs.dagsec.permissions":        {"contents": "read"},
		"jobs.code-scanning.permissions": {"contents": "read", "security-events": "write", "actions": "read"},
		"jobs.deploy.permissions":        {"contents": "read"},
	} {
		var v any = wf
		for _, k := range strings.Split(where, ".") {
			v = mapAt(t, v, where)[k]
		}
		if got := mapAt(t, v, where); !maps.Equal(got, want) {
			t.Errorf("%s = %v, want %v", where, got, want)
		}
	}

	jobs := mapAt(t, wf["jobs"], "jobs")
	scan := mapAt(t, jobs["dagsec"], "jobs.dagsec")
	steps := ghSteps(t, scan, "jobs.dagsec")

	checkout := findStep(steps, func(s ghStep) bool { return actionName(s.Uses) == "actions/checkout" })
	if checkout < 0 || str(steps[checkout].With["fetch-depth"]) != "0" {
		t.Fatalf("no checkout step with fetch-depth: 0")
	}
	dagger := findStep(steps, func(s ghStep) bool { return actionName(s.Uses) == "dagger/dagger-for-github" })
	if dagger < checkout {
		t.Fatalf("no Dagger step after the checkout")
	}
	d := steps[dagger]
	if str(d.With["version"]) != version {
		t.Errorf("Dagger step version %q, want %q (dagger.json)", d.With["version"], version)
	}
	if d.With["verb"] != "call" {
		t.Errorf("Dagger step verb %v, want call", d.With["verb"])
	}
	wantArgs := "ci --source=. --branch=${{ github.ref_name }} directory export --path=dagsec-report"
	if d.With["args"] != wantArgs {
		t.Errorf("Dagger step args %q, want %q", d.With["args"], wantArgs)
	}
	if d.If != "" {
		t.Errorf("the pipeline step must always run, has if: %s", d.If)
	}

	// SARIF: listed and kept for the code-scanning job even when the gate
	// blocks (TestCIGitHubWorkflowUploadsEverySARIF runs the listing).
	sarif := findStep(steps, func(s ghStep) bool { return strings.Contains(s.Run, "dagsec-report/results*.sarif") })
	keep := findStep(steps, func(s ghStep) bool { return actionName(s.Uses) == "actions/upload-artifact" })
	if sarif < dagger || keep < sarif || !strings.Contains(steps[sarif].If, "always()") || !strings.Contains(steps[keep].If, "always()") {
		t.Fatalf("no SARIF listing and artifact upload after the pipeline, both if: always()")
	}

	summary := findStep(steps, func(s ghStep) bool {
		return strings.Contains(s.Run, "dagsec-report/summary.md") && strings.Contains(s.Run, "$GITHUB_STEP_SUMMARY")
	})
	if summary < dagger || !strings.Contains(steps[summary].If, "always()") {
		t.Errorf("no job summary step (summary.md >> $GITHUB_STEP_SUMMARY, if: always()) after the pipeline")
	}
	annotations := findStep(steps, func(s ghStep) bool {
		return strings.Contains(s.Run, "cat dagsec-report/github-annotations.txt") &&
			strings.Contains(s.Run, `cat dagsec-report/github-outputs.txt >> "$GITHUB_OUTPUT"`)
	})
	if annotations < dagger || !strings.Contains(steps[annotations].If, "always()") {
		t.Errorf("no annotations and outputs step (github-annotations.txt, github-outputs.txt) after the pipeline")
	}

	gate := findStep(steps, func(s ghStep) bool {
		return strings.Contains(s.Run, `jq -e '.exit_code == 0' dagsec-report/report.json`)
	})
	switch {
	case gate < 0:
		t.Errorf("no step fails the job on the report's exit code")
	case gate != len(steps)-1:
		t.Errorf("the gate step is not last: the report must be published first")
	case steps[gate].If != "":
		t.Errorf("the gate step runs conditionally: %s", steps[gate].If)
	}

	// The production job: main only, after the scan, the registry password
	// from a secret as a Dagger secret.
	deploy := mapAt(t, jobs["deploy"], "jobs.deploy")
	if cond := str(deploy["if"]); !strings.Contains(cond, "refs/heads/main") || !strings.Contains(cond, "push") {
		t.Errorf("deploy if: %q, want pushes to main only", cond)
	}
	if cond := str(deploy["if"]); !strings.Contains(cond, "needs.dagsec.outputs.passed == 'true'") {
		t.Errorf("deploy if: %q does not read the scan job's verdict", cond)
	}
	if deploy["needs"] != "dagsec" {
		t.Errorf("deploy needs %v, want dagsec", deploy["needs"])
	}
	dsteps := ghSteps(t, deploy, "jobs.deploy")
	dd := findStep(dsteps, func(s ghStep) bool { return actionName(s.Uses) == "dagger/dagger-for-github" })
	if dd < 0 {
		t.Fatal("deploy job has no Dagger step")
	}
	args := str(dsteps[dd].With["args"])
	for _, want := range []string{"ci --source=. --branch=${{ github.ref_name }}", "--deploy-prod-publish=", "--registry-password=env:REGISTRY_TOKEN", "directory export --path=dagsec-report"} {
		if !strings.Contains(args, want) {
			t.Errorf("deploy args lack %q: %s", want, args)
		}
	}
	if dsteps[dd].Env["REGISTRY_TOKEN"] != "${{ secrets.REGISTRY_TOKEN }}" {
		t.Errorf("REGISTRY_TOKEN does not come from secrets: %v", dsteps[dd].Env)
	}
	if str(dsteps[dd].With["version"]) != version {
		t.Errorf("deploy Dagger version %v, want %s", dsteps[dd].With["version"], version)
	}
	if last := dsteps[len(dsteps)-1]; !strings.Contains(last.Run, "jq -e") || !strings.Contains(last.Run, `"production"`) {
		t.Errorf("the deploy job does not end with a gate on the production stage")
	}
}

// gitlabJob resolves a job's `extends` (hidden jobs, deep-merged as GitLab does).
func gitlabJob(t *testing.T, ci map[string]any, name string) map[string]any {
	t.Helper()
	job := mapAt(t, ci[name], name)
	var bases []string
	switch e := job["extends"].(type) {
	case nil:
	case string:
		bases = []string{e}
	case []any:
		for _, b := range e {
			bases = append(bases, str(b))
		}
	default:
		t.Fatalf("%s: extends %T", name, e)
	}
	merged := map[string]any{}
	for _, b := range bases {
		deepMerge(merged, gitlabJob(t, ci, b))
	}
	deepMerge(merged, job)
	delete(merged, "extends")
	return merged
}

func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				deepMerge(dm, sm)
				continue
			}
			cp := map[string]any{}
			deepMerge(cp, sm)
			dst[k] = cp
			continue
		}
		dst[k] = v
	}
}

func lines(t *testing.T, v any, where string) []string {
	t.Helper()
	var out []string
	for _, l := range listAt(t, v, where) {
		out = append(out, str(l))
	}
	return out
}

func TestCIGitLabPipeline(t *testing.T) {
	version := daggerVersion(t)
	_, ci := loadYAML(t, "gitlab/.gitlab-ci.yml")
	job := gitlabJob(t, ci, "dagsec")

	// Docker-in-Docker: a pinned Docker 27 client and service, reached as
	// GitLab documents it (TLS on 2376, or plain on 2375).
	image := str(job["image"])
	if !regexp.MustCompile(`^docker:27\.\d+\.\d+$`).MatchString(image) {
		t.Errorf("image %q, want a pinned docker:27.x.y", image)
	}
	var service map[string]any
	for i, s := range listAt(t, job["services"], "dagsec.services") {
		switch s := s.(type) {
		case string:
			if strings.Contains(s, "dind") {
				service = map[string]any{"name": s}
			}
		case map[string]any:
			if strings.Contains(str(s["name"]), "dind") {
				service = s
			}
		default:
			t.Fatalf("services[%d]: %T", i, s)
		}
	}
	if service == nil {
		t.Fatal("no docker:dind service")
	}
	if want := image + "-dind"; service["name"] != want {
		t.Errorf("dind service %v, want %s (same Docker release as the image)", service["name"], want)
	}
	if a := service["alias"]; a != nil && a != "docker" {
		t.Errorf("dind alias %v: DOCKER_HOST names docker", a)
	}
	vars := mapAt(t, job["variables"], "dagsec.variables")
	switch host, certs := str(vars["DOCKER_HOST"]), str(vars["DOCKER_TLS_CERTDIR"]); {
	case host == "tcp://docker:2376" && certs == "/certs":
		if str(vars["DOCKER_TLS_VERIFY"]) != "1" || str(vars["DOCKER_CERT_PATH"]) != "/certs/client" {
			t.Errorf("TLS dind needs DOCKER_TLS_VERIFY 1 and DOCKER_CERT_PATH /certs/client: %v", vars)
		}
	case host == "tcp://docker:2375" && certs == "":
	default:
		t.Errorf("DOCKER_HOST %q with DOCKER_TLS_CERTDIR %q is not a documented dind setup", host, certs)
	}
	if str(vars["GIT_DEPTH"]) != "0" {
		t.Errorf("GIT_DEPTH %v, want 0 (full history)", vars["GIT_DEPTH"])
	}

	// The Dagger CLI: the pinned version, checked against its checksum.
	if str(vars["DAGGER_VERSION"]) != version {
		t.Errorf("DAGGER_VERSION %v, want %s (dagger.json)", vars["DAGGER_VERSION"], version)
	}
	before := strings.Join(lines(t, job["before_script"], "dagsec.before_script"), "\n")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(str(vars["DAGGER_SHA256"])) ||
		!strings.Contains(before, "sha256sum -c") || !strings.Contains(before, "dagger_v${DAGGER_VERSION}_linux_amd64.tar.gz") {
		t.Errorf("before_script does not install the Dagger release binary checked by its SHA-256:\n%s", before)
	}

	script := lines(t, job["script"], "dagsec.script")
	call := slices.IndexFunc(script, func(l string) bool {
		return strings.HasPrefix(l, "dagger call ci --source=. ") && strings.HasSuffix(l, " directory export --path=dagsec-report")
	})
	gate := slices.IndexFunc(script, func(l string) bool { return strings.Contains(l, `jq -e '.exit_code == 0' dagsec-report/report.json`) })
	if call < 0 {
		t.Errorf("script does not run the pipeline and export dagsec-report: %q", script)
	}
	if gate < call || gate != len(script)-1 {
		t.Errorf("script does not end by failing on the report's exit code: %q", script)
	}

	artifacts := mapAt(t, job["artifacts"], "dagsec.artifacts")
	if artifacts["when"] != "always" {
		t.Errorf("artifacts when %v, want always", artifacts["when"])
	}
	if p := lines(t, artifacts["paths"], "dagsec.artifacts.paths"); !slices.Contains(p, "dagsec-report/") {
		t.Errorf("artifacts paths %v lack dagsec-report/", p)
	}
	reports := mapAt(t, artifacts["reports"], "dagsec.artifacts.reports")
	want := map[string]any{
		"sast":                "dagsec-report/gl-sast-report.json",
		"secret_detection":    "dagsec-report/gl-secret-detection-report.json",
		"dependency_scanning": "dagsec-report/gl-dependency-scanning-report.json",
		"container_scanning":  "dagsec-report/gl-container-scanning-report.json",
		"dast":                "dagsec-report/gl-dast-report.json",
		"codequality":         "dagsec-report/gl-code-quality-report.json",
		"junit":               "dagsec-report/junit.xml",
	}
	for k, v := range want {
		if reports[k] != v {
			t.Errorf("artifacts:reports:%s = %v, want %s", k, reports[k], v)
		}
	}
	for k := range reports {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected artifacts:reports:%s", k)
		}
	}

	// The production job: default branch only, after the scan.
	deploy := gitlabJob(t, ci, "deploy-production")
	dscript := strings.Join(lines(t, deploy["script"], "deploy-production.script"), "\n")
	for _, w := range []string{"--deploy-prod-publish=", "--registry-password=env:REGISTRY_TOKEN", `"production"`} {
		if !strings.Contains(dscript, w) {
			t.Errorf("deploy-production script lacks %q", w)
		}
	}
	rules := listAt(t, deploy["rules"], "deploy-production.rules")
	if len(rules) != 1 || !strings.Contains(str(mapAt(t, rules[0], "rule")["if"]), "$CI_DEFAULT_BRANCH") {
		t.Errorf("deploy-production rules %v, want the default branch only", rules)
	}
}
