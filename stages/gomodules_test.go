package stages

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// A go.work over some of the source's modules: each module's packages are
// its own (nested modules, ignored folders, tests, tagged files and files
// for another OS left out), workspace modules name their packages so none
// is analysed twice, and a module outside the go.work runs with GOWORK=off.
func TestFindGoModules(t *testing.T) {
	tree := treeProbe{files: map[string]string{
		"go.work":            "go 1.22\n\nuse (\n\t.\n\t./lib\n\t./tools\n\t./tests\n)\n",
		"go.mod":             "module example.com/mono\n",
		"main.go":            "package main\n",
		"cmd/x/x.go":         "package main\n",
		"cmd/x/x_test.go":    "package main\n",
		"internal/_old/y.go": "package old\n",
		".hidden/z.go":       "package z\n",
		"testdata/t/t.go":    "package t\n",
		"win/w_windows.go":   "package win\n",
		"tagged/t.go":        "//go:build ignore\n\npackage tagged\n",
		"lib/go.mod":         "module example.com/mono/lib\n",
		"lib/lib.go":         "package lib\n",
		"lib/arm/a_arm64.go": "package arm\n",
		"tools/go.mod":       "module example.com/mono/tools\n",
		"tools/tools.go":     "//go:build tools\n\npackage tools\n",
		"tests/go.mod":       "module example.com/mono/tests\n",
		"tests/a_test.go":    "package tests\n",
		"other/go.mod":       "module example.com/other\n",
		"other/o.go":         "package other\n",
	}}
	layout, err := FindGoModules(context.Background(), tree)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir, path   string
		packages    []string
		patterns    []string
		gowork, why string
	}{
		{".", "example.com/mono", []string{".", "cmd/x"}, []string{".", "./cmd/x"}, "", ""},
		{"lib", "example.com/mono/lib", []string{".", "arm"}, []string{".", "./arm"}, "", ""},
		{"other", "example.com/other", []string{"."}, []string{"./..."}, "off", ""},
		{"tests", "example.com/mono/tests", nil, nil, "", "only 1 test file(s)"},
		{"tools", "example.com/mono/tools", nil, nil, "", "only 1 file(s) that build only under build tags of their own"},
	}
	if len(layout.Modules) != len(cases) {
		t.Fatalf("%d modules: %+v", len(layout.Modules), layout.Modules)
	}
	for _, tc := range cases {
		m, ok := layout.Module(tc.dir)
		if !ok {
			t.Fatalf("no module %s", tc.dir)
		}
		if m.Path != tc.path || !slices.Equal(m.Packages, tc.packages) || m.GoEnv()["GOWORK"] != tc.gowork {
			t.Errorf("%s: %+v, env %v", tc.dir, m, m.GoEnv())
		}
		if len(m.Packages) > 0 && !slices.Equal(m.GoPatterns(), tc.patterns) {
			t.Errorf("%s: patterns %q, want %q", tc.dir, m.GoPatterns(), tc.patterns)
		}
		if !strings.Contains(m.Empty, tc.why) || (tc.why == "") != (m.Empty == "") {
			t.Errorf("%s: why %q, want %q", tc.dir, m.Empty, tc.why)
		}
	}
	if d := layout.Dirs(); d["example.com/mono/lib"] != "lib" || d["example.com/mono"] != "." {
		t.Errorf("module folders %v", d)
	}

	// The plans: one gosec run per module with packages, each named by
	// its folder, the empty ones skipped with the reason.
	plans, err := PlanStage(context.Background(), SAST, Options{}, treeProbe{files: tree.files, tools: everyTool})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range plans {
		if p.ToolName() == "gosec" {
			got[p.Target] = strings.Join(p.Step.Argv, " ") + p.Skipped
		}
	}
	want := map[string]string{
		".":     "gosec -fmt json -out " + OutputDir + "/gosec.json -no-fail . ./cmd/x",
		"lib":   "gosec -fmt json -out " + OutputDir + "/gosec.json -no-fail . ./arm",
		"other": "gosec -fmt json -out " + OutputDir + "/gosec.json -no-fail ./...",
		"tests": "no Go package to analyse: the module holds only 1 test file(s)",
		"tools": "no Go package to analyse: the module holds only 1 file(s) that build only under build tags of their own or for another OS",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("gosec plan for %s: %q, want %q", k, got[k], v)
		}
	}
}

// A go.work that does not parse is an input error naming the file.
func TestFindGoModulesBadWork(t *testing.T) {
	tree := treeProbe{files: map[string]string{"go.mod": "module a\n", "a.go": "package a\n", "go.work": "go 1.22\nuse (\n"}}
	if _, err := FindGoModules(context.Background(), tree); err == nil || !strings.Contains(err.Error(), "go.work") {
		t.Fatalf("err %v", err)
	}
}
