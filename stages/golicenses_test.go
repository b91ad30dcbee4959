package stages

import (
	"slices"
	"testing"
)

// syft reads Go licenses from the module cache a `go mod download` per
// non-vendored module fills; a vendored module needs none.
func TestLicensesDownloadGoModulesForSyft(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		prep  []string // prepare steps' names
	}{
		{"no Go", map[string]string{"requirements.txt": "flask==2.0\n"}, nil},
		{"one module", map[string]string{"go.mod": "module a\n", "main.go": "package main\n"}, []string{"licenses/go-mod-download"}},
		{"vendored", map[string]string{"go.mod": "module a\n", "main.go": "package main\n", "vendor/modules.txt": "# x v1\n"}, nil},
		{"two modules, one vendored", map[string]string{"go.mod": "module a\n", "main.go": "package main\n",
			"tools/go.mod": "module t\n", "tools/t.go": "package t\n", "tools/vendor/modules.txt": "\n"}, []string{"licenses/go-mod-download"}},
		{"nested module", map[string]string{"go.mod": "module a\n", "a.go": "package a\n", "svc/go.mod": "module s\n", "svc/s.go": "package s\n"},
			[]string{"licenses/go-mod-download", "licenses/go-mod-download:svc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := planned(t, Licenses, Options{}, treeProbe{files: tt.files, tools: everyTool})["licenses/syft"].Step
			var names []string
			for _, p := range st.Prepare {
				names = append(names, p.Name)
				if p.Tool != "go" || !slices.Equal(p.Argv, []string{"go", "mod", "download"}) || !p.UsesGo {
					t.Errorf("prepare step %+v", p)
				}
			}
			if !slices.Equal(names, tt.prep) {
				t.Errorf("prepare steps %v, want %v", names, tt.prep)
			}
			search := st.Env["SYFT_GOLANG_SEARCH_LOCAL_MOD_CACHE_LICENSES"]
			if want := len(tt.prep) > 0; st.GoModCache != want || (search == "true") != want ||
				(want && st.Env["SYFT_GOLANG_LOCAL_MOD_CACHE_DIR"] != GoModCacheDir) {
				t.Errorf("GoModCache %v, search %q, dir %q", st.GoModCache, search, st.Env["SYFT_GOLANG_LOCAL_MOD_CACHE_DIR"])
			}
		})
	}
}
