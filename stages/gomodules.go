package stages

import (
	"bytes"
	"context"
	"fmt"
	"go/build"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"
)

// GoModule is a Go module of the source as the Go analysers (gosec,
// govulncheck) see it: its packages are what `./...` in its folder matches.
type GoModule struct {
	// Dir is the module's folder relative to the source ("." for the root).
	Dir string
	// Path is the module path its go.mod declares ("" when go.mod has none).
	Path string
	// Packages are the package folders, relative to Dir ("." for Dir), that
	// hold a non-test Go file building on Linux, sorted. Nested modules,
	// testdata, vendor and folders starting with . or _ are not part of it.
	Packages []string
	// Work is the go.work that governs the module ("" for none): the Go
	// command finds it in the module's folder or above.
	Work string
	// InWork says whether that go.work uses the module; a module outside
	// its go.work is analysed with GOWORK=off.
	InWork bool
	// Empty explains an empty Packages (only tests, or only files that
	// build under tags of their own), for the report.
	Empty string
	// Reads and ReadsExcept are what a Go analyser of the module reads of
	// the source (Step.Reads): its folder without the modules nested in
	// it, the folders its replace directives name, and in a workspace the
	// go.work files and every module the workspace uses.
	Reads, ReadsExcept []string
	// replaces are the local folders the module's go.mod replaces others
	// with, relative to the source.
	replaces []string
}

// GoLayout is every Go module of the source.
type GoLayout struct {
	Modules []GoModule
}

// Module returns the module at dir.
func (l GoLayout) Module(dir string) (GoModule, bool) {
	for _, m := range l.Modules {
		if m.Dir == dir {
			return m, true
		}
	}
	return GoModule{}, false
}

// Dirs maps each local module path to its folder, for placing positions
// that govulncheck reports relative to the module that owns them.
func (l GoLayout) Dirs() map[string]string {
	out := map[string]string{}
	for _, m := range l.Modules {
		if m.Path != "" {
			out[m.Path] = m.Dir
		}
	}
	return out
}

// buildArches are the architectures a file may build for: the analysers
// run on Linux, on the engine's or the host's architecture.
var buildArches = []string{"amd64", "arm64"}

// goReleaseTags are the go1.N tags of the Go the analysers are built with.
var goReleaseTags = func() []string {
	var out []string
	for i := 1; i <= 26; i++ {
		out = append(out, fmt.Sprintf("go1.%d", i))
	}
	return out
}()

// RunProbe is a probe for one run: the source's Go modules, which sast,
// sca, licenses and sast's coverage each need, are read once.
type RunProbe struct {
	Probe
	goOnce   sync.Once
	goLayout GoLayout
	goErr    error
}

// NewRunProbe wraps the runner's probe for one run over an unchanging
// source.
func NewRunProbe(p Probe) *RunProbe { return &RunProbe{Probe: p} }

// FindGoModules reads the source's Go modules from its go.mod and go.work
// files and Go files, through the probe (so both runners see the same);
// once a run through a RunProbe. The layout is shared: read it, never
// change it.
func FindGoModules(ctx context.Context, probe Probe) (GoLayout, error) {
	if rp, ok := probe.(*RunProbe); ok {
		rp.goOnce.Do(func() { rp.goLayout, rp.goErr = findGoModules(ctx, rp.Probe) })
		return rp.goLayout, rp.goErr
	}
	return findGoModules(ctx, probe)
}

func findGoModules(ctx context.Context, probe Probe) (GoLayout, error) {
	mods, err := FindFiles(ctx, probe, goModPatterns...)
	if err != nil {
		return GoLayout{}, err
	}
	if len(mods) == 0 {
		return GoLayout{}, nil
	}
	works, err := FindFiles(ctx, probe, "go.work", "**/go.work")
	if err != nil {
		return GoLayout{}, err
	}
	goFiles, err := FindFiles(ctx, probe, "**/*.go")
	if err != nil {
		return GoLayout{}, err
	}
	dirs := Dirs(mods)
	uses := map[string][]string{} // go.work → folders it uses, relative to the source
	for _, w := range works {
		data, err := probe.ReadFile(ctx, w)
		if err != nil {
			return GoLayout{}, fmt.Errorf("reading %s: %w", w, err)
		}
		wf, err := modfile.ParseWork(w, data, nil)
		if err != nil {
			return GoLayout{}, fmt.Errorf("%w", err) // names the file and line
		}
		for _, u := range wf.Use {
			uses[w] = append(uses[w], path.Clean(path.Join(path.Dir(w), u.Path)))
		}
	}
	layout := GoLayout{}
	for _, dir := range dirs {
		m := GoModule{Dir: dir}
		data, err := probe.ReadFile(ctx, path.Join(dir, "go.mod"))
		if err != nil {
			return GoLayout{}, fmt.Errorf("reading %s: %w", path.Join(dir, "go.mod"), err)
		}
		m.Path = modfile.ModulePath(data)
		m.Work = nearestWork(dir, works)
		m.InWork = m.Work != "" && slices.Contains(uses[m.Work], dir)
		if m.Packages, m.Empty, err = modulePackages(ctx, probe, dir, dirs, goFiles); err != nil {
			return GoLayout{}, err
		}
		if mf, err := modfile.ParseLax(path.Join(dir, "go.mod"), data, nil); err == nil {
			for _, r := range mf.Replace {
				if modfile.IsDirectoryPath(r.New.Path) {
					if rel, err := CleanRel(path.Join(dir, r.New.Path)); err == nil {
						m.replaces = append(m.replaces, rel)
					}
				}
			}
		}
		layout.Modules = append(layout.Modules, m)
	}
	for i := range layout.Modules {
		layout.Modules[i].Reads, layout.Modules[i].ReadsExcept = layout.reads(layout.Modules[i], uses)
	}
	return layout, nil
}

// reads is what a Go analyser of m reads: m's folder and its local
// replaces, or in a workspace the go.work files and every used module's;
// without the modules nested in those folders that are not read as well.
func (l GoLayout) reads(m GoModule, uses map[string][]string) (reads, except []string) {
	add := func(p string) {
		if !slices.Contains(reads, p) {
			reads = append(reads, p)
		}
	}
	add(m.Dir)
	for _, r := range m.replaces {
		add(r)
	}
	if m.InWork {
		add(m.Work)
		add(m.Work + ".sum")
		for _, u := range uses[m.Work] {
			add(u)
			if o, ok := l.Module(u); ok {
				for _, r := range o.replaces {
					add(r)
				}
			}
		}
	}
	for _, o := range l.Modules {
		if slices.Contains(reads, o.Dir) {
			continue
		}
		for _, r := range reads {
			if _, under := within(r, o.Dir); under && r != o.Dir {
				except = append(except, o.Dir)
				break
			}
		}
	}
	slices.Sort(reads)
	slices.Sort(except)
	return reads, except
}

// nearestWork is the go.work in dir or the closest folder above it.
func nearestWork(dir string, works []string) string {
	for d := dir; ; d = path.Dir(d) {
		w := path.Join(d, "go.work")
		if slices.Contains(works, w) {
			return w
		}
		if d == "." || d == "/" {
			return ""
		}
	}
}

// modulePackages lists the module's package folders that hold a non-test
// file building on Linux, and says why there are none.
func modulePackages(ctx context.Context, probe Probe, dir string, modDirs, goFiles []string) ([]string, string, error) {
	byPkg := map[string][]string{} // package folder (relative to dir) → its non-test files
	tests := 0
	for _, f := range goFiles {
		rel, ok := within(dir, f)
		if !ok || ownedByNested(dir, f, modDirs) || ignoredByGo(rel) {
			continue
		}
		if strings.HasSuffix(f, "_test.go") {
			tests++
			continue
		}
		byPkg[path.Dir(rel)] = append(byPkg[path.Dir(rel)], f)
	}
	var pkgs []string
	tagged := 0
	for _, pkg := range sortedKeys(byPkg) {
		ok, err := anyBuilds(ctx, probe, byPkg[pkg])
		if err != nil {
			return nil, "", err
		}
		if ok {
			pkgs = append(pkgs, pkg)
		} else {
			tagged += len(byPkg[pkg])
		}
	}
	if len(pkgs) > 0 {
		return pkgs, "", nil
	}
	var why []string
	if tests > 0 {
		why = append(why, fmt.Sprintf("%d test file(s)", tests))
	}
	if tagged > 0 {
		why = append(why, fmt.Sprintf("%d file(s) that build only under build tags of their own or for another OS", tagged))
	}
	if len(why) == 0 {
		return nil, "no Go package to analyse: the module has no Go files", nil
	}
	return nil, "no Go package to analyse: the module holds only " + strings.Join(why, " and "), nil
}

// within returns f relative to dir when f is inside it.
func within(dir, f string) (string, bool) {
	if dir == "." {
		return f, true
	}
	rel, ok := strings.CutPrefix(f, dir+"/")
	return rel, ok
}

// ownedByNested is true when f belongs to a module nested in dir.
func ownedByNested(dir, f string, modDirs []string) bool {
	for _, d := range modDirs {
		if d == dir {
			continue
		}
		if _, under := within(dir, d); !under {
			continue
		}
		if _, in := within(d, f); in {
			return true
		}
	}
	return false
}

// ignoredByGo is a path the go command leaves out of ./...: under a folder
// whose name starts with . or _ (testdata and vendor are already out).
func ignoredByGo(rel string) bool {
	els := strings.Split(rel, "/")
	for _, el := range els[:len(els)-1] {
		if strings.HasPrefix(el, ".") || strings.HasPrefix(el, "_") {
			return true
		}
	}
	return false
}

// anyBuilds reports whether one of the files builds on Linux for one of
// buildArches with only the standard tags (no custom ones such as tools or
// ignore), as go/build decides from file names and //go:build lines.
func anyBuilds(ctx context.Context, probe Probe, files []string) (bool, error) {
	for _, f := range files {
		for _, arch := range buildArches {
			ok, err := buildsOn(ctx, probe, f, arch)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
	}
	return false, nil
}

func buildsOn(ctx context.Context, probe Probe, f, arch string) (bool, error) {
	bc := build.Context{
		GOOS: "linux", GOARCH: arch, Compiler: "gc", CgoEnabled: true,
		ReleaseTags: goReleaseTags,
		JoinPath:    path.Join,
		OpenFile: func(p string) (io.ReadCloser, error) {
			data, err := probe.ReadFile(ctx, p)
			if err != nil {
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		},
	}
	ok, err := bc.MatchFile(path.Dir(f), path.Base(f))
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", f, err)
	}
	return ok, nil
}

// GoPatterns are the package patterns to give a Go analyser for the
// module: ./... alone, except in a workspace, where ./... in a module's
// folder also matches the workspace modules below it: there each package
// folder is named, so every package is analysed once, by its own module.
func (m GoModule) GoPatterns() []string {
	if !m.InWork {
		return []string{"./..."}
	}
	out := make([]string, 0, len(m.Packages))
	for _, p := range m.Packages {
		if p == "." {
			out = append(out, ".")
		} else {
			out = append(out, "./"+p)
		}
	}
	return out
}

// GoEnv is the environment a Go analyser needs for the module: a module
// below a go.work that does not use it is analysed on its own.
func (m GoModule) GoEnv() map[string]string {
	if m.Work != "" && !m.InWork {
		return map[string]string{"GOWORK": "off"}
	}
	return nil
}
