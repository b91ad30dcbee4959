package stages

import (
	"context"
	"path"
	"time"
)

// withGoModCache lets syft read the licenses of Go dependencies that are
// not vendored: a `go mod download` in each Go module without a vendor
// folder fills the Go module cache first (the host's GOMODCACHE, or the
// module's go-mod cache volume), and syft's golang cataloger searches it
// (read only). A module whose license it still cannot read stays
// license-unknown.
func withGoModCache(ctx context.Context, st *Step, opts Options, probe Probe) error {
	layout, err := FindGoModules(ctx, probe)
	if err != nil {
		return err
	}
	var prep []Step
	for _, m := range layout.Modules {
		vendored, err := probe.Exists(ctx, path.Join(m.Dir, "vendor", "modules.txt"))
		if err != nil {
			return err
		}
		if vendored {
			continue // syft reads vendor/ itself
		}
		p := toolStep(Licenses, "go", m.Dir, opts, 10*time.Minute)
		p.Name = "licenses/go-mod-download"
		if m.Dir != "." {
			p.Name += ":" + m.Dir
		}
		p.Argv = []string{"go", "mod", "download"}
		p.UsesGo, p.Env = true, m.GoEnv()
		p.OKCodes = []int{0}
		prep = append(prep, p)
	}
	if len(prep) == 0 {
		return nil
	}
	st.Prepare = prep
	st.GoModCache = true
	st.Env["SYFT_GOLANG_SEARCH_LOCAL_MOD_CACHE_LICENSES"] = "true"
	st.Env["SYFT_GOLANG_LOCAL_MOD_CACHE_DIR"] = GoModCacheDir
	return nil
}
