package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/stages"
)

// hookRepoWith makes a git repository with one commit (a README) on main,
// stages files in it and makes it the working folder, as pre-commit runs
// hooks from the repository root.
func hookRepoWith(t *testing.T, staged map[string]string) string {
	t.Helper()
	dir := testenv.GitRepo(t, map[string]string{"README.md": "# hooks\n"})
	testenv.Write(t, dir, staged)
	testenv.Git(t, dir, "add", "-A")
	t.Chdir(dir)
	return dir
}

// hook runs `dagsec hook ...` through the command's dispatcher.
func hook(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, stdout, stderr := dagsec(t, append([]string{"hook"}, args...)...)
	return code, stdout + stderr
}

func wantCode(t *testing.T, what string, code, want int, out string) {
	t.Helper()
	if code != want {
		t.Fatalf("%s: exit %d, want %d\n%s", what, code, want, out)
	}
}

func TestHookSecretsFindsStagedSecretWithoutPrintingIt(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	leaky := testenv.LeakyFiles(t)
	hookRepoWith(t, map[string]string{
		"app/settings.py": leaky["app/settings.py"],
		"config/db.env":   leaky["config/db.env"],
	})
	secrets := []string{testenv.AWSKeyID, testenv.DBPassword, "AKIA"}

	// No file arguments: the staged content is scanned.
	code, out := hook(t, "secrets")
	wantCode(t, "secrets on the staged files", code, 1, out)
	for _, want := range []string{"app/settings.py:3:", "config/db.env:1:", "dagsec-database-url-credentials", "value not shown"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("a secret value (%.4s…) was printed:\n%s", s, strings.ReplaceAll(out, s, "<SECRET>"))
		}
	}

	// The files pre-commit passes: only those are scanned.
	code, out = hook(t, "secrets", "app/settings.py")
	wantCode(t, "secrets on app/settings.py", code, 1, out)
	if !strings.Contains(out, "app/settings.py:3: aws-access-token") || strings.Contains(out, "config/db.env") {
		t.Errorf("want only the AWS key of app/settings.py:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("a secret value was printed")
		}
	}
}

func TestHookSecretsCleanStagedFilePasses(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	hookRepoWith(t, testenv.CleanFiles())
	code, out := hook(t, "secrets")
	wantCode(t, "secrets on clean files", code, 0, out)
	code, out = hook(t, "secrets", "main.go", "README.md")
	wantCode(t, "secrets on clean files given", code, 0, out)
}

func TestHookSecretsHonoursGitleaksIgnore(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	leaky := testenv.LeakyFiles(t)
	hookRepoWith(t, map[string]string{
		"app/settings.py": leaky["app/settings.py"],
		".gitleaksignore": "app/settings.py:aws-access-token:3\n",
	})
	code, out := hook(t, "secrets", "app/settings.py")
	wantCode(t, "secrets with the finding in .gitleaksignore", code, 0, out)
}

func TestHookPrivateKey(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	key := testenv.PrivateKeyPEM(t)
	leaky := testenv.LeakyFiles(t)
	hookRepoWith(t, map[string]string{
		"deploy/id_ec.pem": key,
		"app/settings.py":  leaky["app/settings.py"],
	})
	code, out := hook(t, "private-key", "deploy/id_ec.pem")
	wantCode(t, "private-key on a key", code, 1, out)
	if !strings.Contains(out, "deploy/id_ec.pem:1: private-key") {
		t.Errorf("output does not name the key file and line:\n%s", out)
	}
	body := strings.Split(strings.TrimSpace(key), "\n")[1] // a line of the key itself
	if strings.Contains(out, body) {
		t.Errorf("the private key was printed")
	}
	// Only the private-key rule runs: an AWS key is not its business.
	code, out = hook(t, "private-key", "app/settings.py")
	wantCode(t, "private-key on a file without a key", code, 0, out)
	// Staged files, when none are given.
	code, out = hook(t, "private-key")
	wantCode(t, "private-key on the staged files", code, 1, out)
	if strings.Contains(out, "app/settings.py") {
		t.Errorf("the AWS key was reported by the private-key hook:\n%s", out)
	}
}

func TestHookPrivateKeyConfigWithoutTheRuleIsAnError(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	hookRepoWith(t, map[string]string{"deploy/id_ec.pem": testenv.PrivateKeyPEM(t)})
	cfgDir := t.TempDir()
	testenv.Write(t, cfgDir, map[string]string{"only.toml": "title = \"one rule\"\n\n[[rules]]\nid = \"something-else\"\nregex = '''zzz[0-9]{40}'''\n"})
	cfg := filepath.Join(cfgDir, "only.toml")
	code, out := hook(t, "private-key", "--config", cfg, "deploy/id_ec.pem")
	wantCode(t, "private-key with a configuration lacking the rule", code, 2, out)
	if !strings.Contains(out, "private-key rule") {
		t.Errorf("the error does not say the rule is missing:\n%s", out)
	}
}

func TestHookLargeFiles(t *testing.T) {
	hookRepoWith(t, map[string]string{
		"big.bin":   strings.Repeat("x", 600*1024),
		"small.bin": strings.Repeat("y", 100*1024),
	})
	code, out := hook(t, "large-files", "big.bin")
	wantCode(t, "large-files on 600 KB", code, 1, out)
	if !strings.Contains(out, "big.bin: 600 KB, over the 500 KB limit") {
		t.Errorf("output does not name the file and size:\n%s", out)
	}
	code, out = hook(t, "large-files", "small.bin")
	wantCode(t, "large-files on 100 KB", code, 0, out)

	code, out = hook(t, "large-files") // staged files
	wantCode(t, "large-files on the staged files", code, 1, out)
	if strings.Contains(out, "small.bin") {
		t.Errorf("small.bin reported:\n%s", out)
	}
	code, out = hook(t, "large-files", "--max-kb", "700")
	wantCode(t, "large-files --max-kb 700", code, 0, out)
	code, out = hook(t, "large-files", "--max-kb=50", "small.bin")
	wantCode(t, "large-files --max-kb=50", code, 1, out)
}

func TestHookLargeFilesChecksOnlyAddedFilesAtTheirStagedSize(t *testing.T) {
	dir := testenv.GitRepo(t, map[string]string{"old.bin": strings.Repeat("o", 600*1024)})
	t.Chdir(dir)
	// Already committed: not being added.
	testenv.Write(t, dir, map[string]string{"old.bin": strings.Repeat("p", 600*1024)})
	testenv.Git(t, dir, "add", "old.bin")
	code, out := hook(t, "large-files", "old.bin")
	wantCode(t, "large-files on a modified file", code, 0, out)
	code, out = hook(t, "large-files", "--enforce-all", "old.bin")
	wantCode(t, "large-files --enforce-all", code, 1, out)

	// The staged size counts, not the working tree's.
	testenv.Write(t, dir, map[string]string{"new.bin": "small\n"})
	testenv.Git(t, dir, "add", "new.bin")
	testenv.Write(t, dir, map[string]string{"new.bin": strings.Repeat("n", 600*1024)})
	code, out = hook(t, "large-files", "new.bin")
	wantCode(t, "large-files on a small staged file", code, 0, out)

	// An untracked file given by name is being added as it is on disk,
	// with or without --enforce-all; untracked files are never staged
	// ones, so without FILEs they are not looked at.
	testenv.Write(t, dir, map[string]string{"untracked.bin": strings.Repeat("u", 600*1024)})
	for _, args := range [][]string{{"untracked.bin"}, {"--enforce-all", "untracked.bin"}} {
		code, out = hook(t, append([]string{"large-files"}, args...)...)
		wantCode(t, fmt.Sprintf("large-files %v", args), code, 1, out)
		if !strings.Contains(out, "untracked.bin: 600 KB, over the 500 KB limit (untracked: its size on disk)") {
			t.Errorf("large-files %v does not name the untracked file:\n%s", args, out)
		}
	}
	code, out = hook(t, "large-files")
	wantCode(t, "large-files on the staged files", code, 0, out)
}

func TestHookProtectedBranch(t *testing.T) {
	dir := hookRepoWith(t, nil)
	code, out := hook(t, "protected-branch")
	wantCode(t, "protected-branch on main", code, 1, out)
	if !strings.Contains(out, `"main" is a protected branch`) {
		t.Errorf("output does not name the branch:\n%s", out)
	}

	testenv.Git(t, dir, "checkout", "-q", "-b", "feature/x")
	code, out = hook(t, "protected-branch")
	wantCode(t, "protected-branch on feature/x", code, 0, out)
	code, out = hook(t, "protected-branch", "--branch", "feature/*")
	wantCode(t, "protected-branch --branch feature/*", code, 1, out)
	// --branch replaces the defaults.
	testenv.Git(t, dir, "checkout", "-q", "main")
	code, out = hook(t, "protected-branch", "--branch", "release/*", "--branch", "prod")
	wantCode(t, "protected-branch --branch release/* on main", code, 0, out)

	// A detached HEAD is on no branch.
	testenv.Git(t, dir, "checkout", "-q", "--detach")
	code, out = hook(t, "protected-branch")
	wantCode(t, "protected-branch on a detached HEAD", code, 0, out)
}

func TestHookDockerfile(t *testing.T) {
	hookRepoWith(t, map[string]string{
		"Dockerfile":         "FROM python:latest\nWORKDIR /app\nUSER root\nCMD [\"python\", \"app.py\"]\n",
		"svc/api.Dockerfile": testenv.CleanCodeFiles()["Dockerfile"],
		"notes.txt":          "FROM nothing\n",
	})
	code, out := hook(t, "dockerfile", "Dockerfile")
	wantCode(t, "dockerfile with USER root and latest", code, 1, out)
	for _, want := range []string{
		"Dockerfile:3: " + stages.HardeningRootUser + " high (blocks): final stage runs as root: USER root",
		"Dockerfile:1: " + stages.HardeningLatestTag + " medium (warning)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out = hook(t, "dockerfile", "svc/api.Dockerfile")
	wantCode(t, "dockerfile on a hardened Dockerfile", code, 0, out)

	// No files given: the staged Dockerfiles, not notes.txt.
	code, out = hook(t, "dockerfile")
	wantCode(t, "dockerfile on the staged files", code, 1, out)
	if strings.Contains(out, "notes.txt") {
		t.Errorf("notes.txt was checked:\n%s", out)
	}
	// The gate follows the policy: audit only warns, --block-on lowers the bar.
	code, out = hook(t, "dockerfile", "--preset", "audit", "Dockerfile")
	wantCode(t, "dockerfile --preset audit", code, 0, out)
	if !strings.Contains(out, "USER root") {
		t.Errorf("audit does not show the findings as warnings:\n%s", out)
	}
	code, out = hook(t, "dockerfile", "--block-on", "medium", "svc/api.Dockerfile")
	wantCode(t, "dockerfile --block-on medium on a hardened Dockerfile", code, 0, out)
}

func TestHookDockerfileInvalidIsAnError(t *testing.T) {
	hookRepoWith(t, map[string]string{"Dockerfile": "RUN echo before any FROM\n"})
	code, out := hook(t, "dockerfile", "Dockerfile")
	wantCode(t, "dockerfile on an invalid Dockerfile", code, 2, out)
	if !strings.Contains(out, "Dockerfile") {
		t.Errorf("the error does not name the file:\n%s", out)
	}
}

func TestHookInputErrors(t *testing.T) {
	hookRepoWith(t, map[string]string{"a.txt": "a\n"})
	for _, args := range [][]string{
		{},
		{"no-such-hook"},
		{"large-files", "--max-kb", "0"},
		{"large-files", "missing.txt"},
		{"large-files", "--no-such-flag"},
		{"dockerfile", "--block-on", "severe", "a.txt"},
		{"secrets", "--config", "missing.toml", "a.txt"},
	} {
		code, out := hook(t, args...)
		if code != 2 {
			t.Errorf("hook %v: exit %d, want 2\n%s", args, code, out)
		}
	}
	code, out := hook(t, "--help")
	wantCode(t, "hook --help", code, 0, out)

	t.Chdir(t.TempDir()) // not a git repository
	code, out = hook(t, "protected-branch")
	wantCode(t, "protected-branch outside a repository", code, 2, out)
	if !strings.Contains(out, "git repository") {
		t.Errorf("the error does not say why:\n%s", out)
	}
}

func hookNames() []string {
	names := commands().sub("hook").subWords()
	slices.Sort(names)
	return names
}

// preCommitHook is one entry of .pre-commit-hooks.yaml.
type preCommitHook struct {
	ID            string   `yaml:"id"`
	Name          string   `yaml:"name"`
	Description   string   `yaml:"description"`
	RequireSerial bool     `yaml:"require_serial"`
	Entry         string   `yaml:"entry"`
	Language      string   `yaml:"language"`
	Files         string   `yaml:"files"`
	Types         []string `yaml:"types"`
	AlwaysRun     bool     `yaml:"always_run"`
	PassFilenames *bool    `yaml:"pass_filenames"`
	Args          []string `yaml:"args"`
}

func TestHookPreCommitHooksFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var list []preCommitHook
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml: %v", err)
	}
	var ids, names []string
	byID := map[string]preCommitHook{}
	for _, h := range list {
		ids = append(ids, h.ID)
		byID[h.ID] = h
		if h.Language != "golang" {
			t.Errorf("%s: language %q, want golang (pre-commit builds cmd/dagsec)", h.ID, h.Language)
		}
		fields := strings.Fields(h.Entry)
		if len(fields) != 3 || fields[0] != "dagsec" || fields[1] != "hook" {
			t.Errorf("%s: entry %q is not `dagsec hook NAME`", h.ID, h.Entry)
			continue
		}
		name := fields[2]
		names = append(names, name)
		if commands().sub("hook").sub(name) == nil {
			t.Errorf("%s: entry names %q, which is not a dagsec hook (%v)", h.ID, name, hookNames())
		}
		if h.ID != "dagsec-"+name {
			t.Errorf("hook id %q does not match its subcommand %q", h.ID, name)
		}
		// The entry runs through the dispatcher.
		if code, out := hook(t, name, "--help"); code != 0 || !strings.Contains(out, "Usage: dagsec hook") {
			t.Errorf("dagsec hook %s --help: exit %d\n%s", name, code, out)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, hookNames()) {
		t.Errorf("hooks declared %v, subcommands %v", names, hookNames())
	}
	for _, id := range []string{"dagsec-secrets", "dagsec-private-key", "dagsec-large-files", "dagsec-protected-branch", "dagsec-dockerfile", "dagsec-merge-conflict"} {
		if _, ok := byID[id]; !ok {
			t.Errorf("hook %s missing (have %v)", id, ids)
		}
	}
	if pb := byID["dagsec-protected-branch"]; !pb.AlwaysRun || pb.PassFilenames == nil || *pb.PassFilenames {
		t.Errorf("dagsec-protected-branch must have always_run: true and pass_filenames: false")
	}

	// The Dockerfile hook's files regex selects what the dockerfile stage does.
	re, err := regexp.Compile(byID["dagsec-dockerfile"].Files)
	if err != nil || byID["dagsec-dockerfile"].Files == "" {
		t.Fatalf("dagsec-dockerfile files: %q: %v", byID["dagsec-dockerfile"].Files, err)
	}
	for _, p := range []string{"Dockerfile", "app/Dockerfile", "Dockerfile.prod", "a/b/Dockerfile.dev", "api.Dockerfile",
		"x/.Dockerfile", "Containerfile", "c/Containerfile", "Dockerfiles/x", "Dockerfile/x", "notDockerfile", "README.md",
		"x.Dockerfile.bak", "Containerfile.in", "Dockerfile."} {
		stage := slices.ContainsFunc(stages.DockerfilePatterns, func(g string) bool { return stages.MatchGlob(g, p) })
		if got := re.MatchString(p); got != stage {
			t.Errorf("%s: files regex %v, dockerfile stage %v", p, got, stage)
		}
	}
}
