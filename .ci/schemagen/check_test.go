package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// coreJSON reads the v0.21.8 core introspection from the shared folder.
func coreJSON(t *testing.T) []byte {
	t.Helper()
	shared := os.Getenv("DAGSEC_SHARED")
	if shared == "" {
		shared = "../../../shared"
	}
	data, err := os.ReadFile(filepath.Join(shared, "dagger", "introspection-v0.21.8.json"))
	if err != nil {
		t.Fatalf("the core introspection (set DAGSEC_SHARED): %v", err)
	}
	return data
}

// repoCopy copies this repository's files as git lists them (tracked and
// untracked, not ignored) into a folder of its own: a checkout without .git.
func repoCopy(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		fi, err := os.Lstat(filepath.Join(root, rel))
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := copyFile(filepath.Join(root, rel), filepath.Join(dst, rel), fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func editDaggerJSON(t *testing.T, dir string, edit func(include []string) []string) {
	t.Helper()
	p := filepath.Join(dir, "dagger.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var include []string
	for _, v := range cfg["include"].([]any) {
		include = append(include, v.(string))
	}
	cfg["include"] = edit(include)
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func addModuleFile(t *testing.T, dir, code string) {
	t.Helper()
	src := "package main\n\nimport \"context\"\n\nvar _ context.Context\n\n" + code
	if err := os.WriteFile(filepath.Join(dir, ".dagger", "zz_extra.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Each defect the module had on a real engine, and the ones like it, makes
// the check fail with a message that names it; the unchanged repository
// passes. The runtime build (codegen, tidy, go build) runs where the
// defect is in the context; .ci/check-module runs all of it on main.
func TestCheckFindsEachDefect(t *testing.T) {
	core := coreJSON(t)
	cases := []struct {
		name    string
		mutate  func(t *testing.T, dir string)
		noBuild bool
		want    []string // every one must be in some problem
	}{
		{
			name:    "unchanged",
			mutate:  func(*testing.T, string) {},
			noBuild: true,
		},
		{
			name: "test helper package left out of include",
			mutate: func(t *testing.T, dir string) {
				editDaggerJSON(t, dir, func(inc []string) []string {
					return slices.DeleteFunc(inc, func(p string) bool { return strings.HasPrefix(p, "!") })
				})
			},
			want: []string{
				"imports github.com/dagsec/dagsec/internal/testenv, whose folder internal/testenv is not in the module's context",
				"go mod tidy",
			},
		},
		{
			name: "a root package the module imports left out",
			mutate: func(t *testing.T, dir string) {
				editDaggerJSON(t, dir, func(inc []string) []string {
					return slices.DeleteFunc(inc, func(p string) bool { return p == "sarifio/**" })
				})
			},
			noBuild: true,
			want:    []string{"imports github.com/dagsec/dagsec/sarifio, whose folder sarifio is not in the module's context"},
		},
		{
			name: "a function named pipeline",
			mutate: func(t *testing.T, dir string) {
				addModuleFile(t, dir, "// Pipeline runs.\nfunc (m *Dagsec) Pipeline() string { return \"\" }\n")
			},
			noBuild: true,
			want:    []string{`.dagger/zz_extra.go:8: function "pipeline" is served as Query.pipeline, which the v0.21.8 CLI hides`},
		},
		{
			name: "a function named like a core Query field",
			mutate: func(t *testing.T, dir string) {
				addModuleFile(t, dir, "// Container runs.\nfunc (m *Dagsec) Container() string { return \"\" }\n")
			},
			noBuild: true,
			want:    []string{`function "container" collides with the core API's Query.container`},
		},
		{
			name: "a []*Report argument",
			mutate: func(t *testing.T, dir string) {
				addModuleFile(t, dir, "// Gate gates.\nfunc (m *Dagsec) Gate(ctx context.Context, reports []*Report) error { return nil }\n")
			},
			noBuild: true,
			want: []string{"Dagsec.gate argument reports ([Report!]!): the CLI cannot set lists of the module's own Report objects from a flag; " +
				"required, so `dagger call` skips the whole function"},
		},
		{
			name: "an optional argument of the module's own type",
			mutate: func(t *testing.T, dir string) {
				addModuleFile(t, dir, "// Gate gates.\nfunc (m *Dagsec) Gate(ctx context.Context,\n\t// +optional\n\tprevious *Report) error { return nil }\n")
			},
			noBuild: true,
			want:    []string{"Dagsec.gate argument previous (Report): the CLI cannot set the module's own Report objects from a flag; optional"},
		},
		{
			name: "a documented command naming a missing function or flag",
			mutate: func(t *testing.T, dir string) {
				doc := "```sh\ndagger call pipeline --source=. check\ndagger call scan --source=. --polcy=p.yaml check\n" +
					"dagger call scan --source=. directory exprt --path=x\n```\n"
				if err := os.WriteFile(filepath.Join(dir, "DOC.md"), []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			noBuild: true,
			want: []string{
				"DOC.md:2: `dagger call pipeline --source=. check`: Dagsec has no function \"pipeline\"",
				"DOC.md:3: `dagger call scan --source=. --polcy=p.yaml check`: Dagsec.scan has no flag --polcy",
				"DOC.md:4: `dagger call scan --source=. directory exprt --path=x`: Directory has no function \"exprt\"",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := repoCopy(t)
			tc.mutate(t, dir)
			var docs []string
			if _, err := os.Stat(filepath.Join(dir, "DOC.md")); err == nil {
				docs = []string{"DOC.md"}
			}
			var log bytes.Buffer
			res, err := Check(context.Background(), CheckOptions{
				ModDir: dir, CoreJSON: core, LibVersion: "v0.21.8", Docs: docs,
				Work: t.TempDir(), NoBuild: tc.noBuild, Log: &log,
			})
			if err != nil {
				t.Fatalf("check did not run: %v\n%s", err, log.String())
			}
			var got []string
			for _, p := range res.Problems {
				got = append(got, p.String())
			}
			if len(tc.want) == 0 && len(got) > 0 {
				t.Fatalf("unexpected problems:\n%s", strings.Join(got, "\n"))
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem says %q; got:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if tc.name == "unchanged" {
				if res.Context.Files == 0 || res.Context.Bytes == 0 {
					t.Errorf("context sized %+v", res.Context)
				}
				if !strings.Contains(log.String(), "dagger call ci ") || !strings.Contains(log.String(), "dagger call deploy ") {
					t.Errorf("the log does not list ci's and deploy's flags:\n%s", log.String())
				}
			}
		})
	}
}
