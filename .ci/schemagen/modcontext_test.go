package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The files the engine loads: dagger.json, the source folder, the include
// patterns in order with "!" exclusions overriding earlier includes, and
// nothing .gitignore drops; paths are relative to the git root above
// dagger.json.
func TestModuleContextFiles(t *testing.T) {
	common := map[string]string{
		".git/HEAD":                "ref: refs/heads/main\n",
		".gitignore":               "bin/\n*.log\n!keep.log\n",
		"README.md":                "x",
		"other/x.go":               "package other",
		"bin/tool":                 "binary",
		"pkg/a.go":                 "package pkg",
		"pkg/a_test.go":            "package pkg",
		"pkg/testdata/in.json":     "{}",
		"pkg/debug.log":            "log",
		"pkg/keep.log":             "log",
		"pkg/sub/.gitignore":       "gen.go\n",
		"pkg/sub/gen.go":           "package sub",
		"pkg/sub/b.go":             "package sub",
		"lib/c.go":                 "package lib",
		"lib/secret.txt":           "s",
		"mod/dagger.json":          "",
		"mod/.dagger/main.go":      "package main",
		"mod/.dagger/main_test.go": "package main",
		"mod/pkg/d.go":             "package pkg",
	}
	cases := []struct {
		name, modDir, config string
		want                 []string
	}{
		{
			name:   "includes, exclusions, gitignore",
			modDir: ".",
			config: `{"name":"m","sdk":{"source":"go"},"source":"mod/.dagger","include":["pkg/**","!**/*_test.go","!**/testdata/**","lib","!lib/secret.txt"]}`,
			want:   []string{"dagger.json", "lib/c.go", "mod/.dagger/main.go", "pkg/a.go", "pkg/keep.log", "pkg/sub/.gitignore", "pkg/sub/b.go"},
		},
		{
			// The source folder comes first, so the exclusion narrows it.
			name:   "an exclusion narrows only the patterns before it",
			modDir: ".",
			config: `{"name":"m","sdk":{"source":"go"},"source":"mod/.dagger","include":["!**/*_test.go","pkg/**"]}`,
			want: []string{"dagger.json", "mod/.dagger/main.go", "pkg/a.go", "pkg/a_test.go",
				"pkg/keep.log", "pkg/sub/.gitignore", "pkg/sub/b.go", "pkg/testdata/in.json"},
		},
		{
			name:   "dagger.json below the git root: patterns are rebased",
			modDir: "mod",
			config: `{"name":"m","sdk":{"source":"go"},"source":".dagger","include":["pkg/**","../lib/**"]}`,
			want:   []string{"lib/c.go", "lib/secret.txt", "mod/.dagger/main.go", "mod/.dagger/main_test.go", "mod/dagger.json", "mod/pkg/d.go"},
		},
		{
			name:   "source at the module root loads the root's files",
			modDir: "mod",
			config: `{"name":"m","sdk":{"source":"go"}}`,
			want:   []string{"mod/.dagger/main.go", "mod/.dagger/main_test.go", "mod/dagger.json", "mod/pkg/d.go"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, common)
			writeTree(t, root, map[string]string{filepath.Join(tc.modDir, "dagger.json"): tc.config})
			mc, err := loadModuleContext(filepath.Join(root, tc.modDir))
			if err != nil {
				t.Fatal(err)
			}
			got, err := mc.Files(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("files:\n got %q\nwant %q\n(include %q)", got, tc.want, mc.Include)
			}
			dst := filepath.Join(t.TempDir(), "ctx")
			st, err := mc.Materialise(context.Background(), dst)
			if err != nil {
				t.Fatal(err)
			}
			if st.Files != len(tc.want) {
				t.Errorf("materialised %d files, want %d", st.Files, len(tc.want))
			}
			for _, f := range tc.want {
				if _, err := os.Stat(filepath.Join(dst, f)); err != nil {
					t.Errorf("materialised context lacks %s", f)
				}
			}
		})
	}
}

func TestModuleContextRefusesEscapes(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{".git/HEAD": "", "dagger.json": `{"name":"m","sdk":{"source":"go"},"include":["../outside/**"]}`})
	if _, err := loadModuleContext(root); err == nil {
		t.Fatal("an include escaping the context was accepted")
	}
}
