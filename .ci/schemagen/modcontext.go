package main

// The files a Dagger v0.21.8 engine loads of a local module, replayed on disk.
// The engine (core/schema/modulesource.go, loadModuleSourceContext) asks the
// caller's host for the context directory (the git root above dagger.json)
// through host.directory with these include patterns, in this order:
// dagger.json, the source folder (or "*" when it is "."), then dagger.json's
// include list rebased onto the context, "!" exclusions kept; and with
// gitignore on. host.directory (core/schema/host.go) cleans each pattern, and
// the CLI's filesync walks with moby/patternmatcher include rules
// (internal/fsutil/filter.go) and drops gitignored files
// (util/fsxutil/gitignore_mark_fs.go). The same library versions run here:
// patternmatcher v0.6.1 and the engine's own gitignore matcher.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dagger/dagger/util/fsxutil"
	"github.com/moby/patternmatcher"
)

// daggerJSON is the part of dagger.json that decides what the engine loads.
type daggerJSON struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	SDK    struct {
		Source string `json:"source"`
	} `json:"sdk"`
	Include []string `json:"include"`
}

// ModuleContext is a module as the engine finds it on the caller's host.
type ModuleContext struct {
	// Root is the context directory: the git root above dagger.json, or
	// dagger.json's folder when there is none.
	Root string
	// ModSubpath is dagger.json's folder and SourceSubpath the module's
	// source folder, both relative to Root.
	ModSubpath, SourceSubpath string
	Config                    daggerJSON
	// Include is what the engine passes host.directory, in order.
	Include []string
}

// ContextStats sizes a materialised context.
type ContextStats struct {
	Files int
	Bytes int64
}

// loadModuleContext reads dagger.json in modDir and works out the include
// patterns the engine would load the module with.
func loadModuleContext(modDir string) (*ModuleContext, error) {
	modDir, err := filepath.Abs(modDir)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(modDir, "dagger.json"))
	if err != nil {
		return nil, err
	}
	mc := &ModuleContext{}
	if err := json.Unmarshal(raw, &mc.Config); err != nil {
		return nil, fmt.Errorf("dagger.json: %w", err)
	}
	if mc.Config.SDK.Source != "go" {
		return nil, fmt.Errorf("dagger.json: only Go SDK modules are supported, not %q", mc.Config.SDK.Source)
	}
	mc.Root = findGitRoot(modDir)
	if mc.ModSubpath, err = filepath.Rel(mc.Root, modDir); err != nil {
		return nil, err
	}
	// loadModuleSourceContext: an sdk without source means the module root.
	mc.SourceSubpath = mc.ModSubpath
	if mc.Config.Source != "" {
		mc.SourceSubpath = filepath.Join(mc.ModSubpath, mc.Config.Source)
	}
	include := []string{mc.ModSubpath + "/dagger.json"}
	if mc.SourceSubpath == "." {
		include = append(include, "*")
	} else {
		include = append(include, mc.SourceSubpath)
	}
	// rebasePatterns: relative to dagger.json, then to the context.
	for _, p := range mc.Config.Include {
		neg := strings.HasPrefix(p, "!")
		rel := filepath.Join(mc.ModSubpath, strings.TrimPrefix(p, "!"))
		if !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("dagger.json: include/exclude path %q escapes context", rel)
		}
		if neg {
			rel = "!" + rel
		}
		include = append(include, rel)
	}
	mc.Include = hostDirectoryIncludes(include)
	return mc, nil
}

// findGitRoot is the nearest folder at or above dir holding .git (the
// engine's FindUp), else dir.
func findGitRoot(dir string) string {
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}

// hostDirectoryIncludes is host.directory's cleaning of include patterns
// for a path that is its own git root: non-local ones are dropped, "."
// becomes "*".
func hostDirectoryIncludes(in []string) []string {
	var out []string
	for _, p := range in {
		p, neg := strings.CutPrefix(p, "!")
		if !filepath.IsLocal(p) {
			continue
		}
		p = filepath.Join(".", p)
		if p == "." {
			p = "*"
		}
		if neg {
			p = "!" + p
		}
		out = append(out, p)
	}
	return out
}

// Files lists, sorted, the files (and symlinks) of Root the engine would
// load: matched by the include patterns the way the filesync walk matches
// them, and not gitignored.
func (mc *ModuleContext) Files(ctx context.Context) ([]string, error) {
	include, err := patternmatcher.New(mc.Include)
	if err != nil {
		return nil, fmt.Errorf("include patterns %q: %w", mc.Include, err)
	}
	ignored := fsxutil.NewGitIgnoreMatcher(hostFS{root: mc.Root})
	type parent struct {
		prefix string
		info   patternmatcher.MatchInfo
	}
	var parents []parent
	var out []string
	err = filepath.WalkDir(mc.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p == mc.Root {
			return nil
		}
		rel, err := filepath.Rel(mc.Root, p)
		if err != nil {
			return err
		}
		for len(parents) > 0 && !strings.HasPrefix(rel, parents[len(parents)-1].prefix) {
			parents = parents[:len(parents)-1]
		}
		var up patternmatcher.MatchInfo
		if len(parents) > 0 {
			up = parents[len(parents)-1].info
		}
		// filterFS.Walk: a folder's result carries over to what is in it,
		// so "dir" includes dir/** and a later "!dir/x" takes x out.
		m, info, err := include.MatchesUsingParentResults(rel, up)
		if err != nil {
			return fmt.Errorf("matching %s: %w", rel, err)
		}
		if d.IsDir() {
			parents = append(parents, parent{prefix: rel + string(filepath.Separator), info: info})
			return nil
		}
		if !m {
			return nil
		}
		gi, err := ignored.Matches(rel, false)
		if err != nil {
			return fmt.Errorf("gitignore rules for %s: %w", rel, err)
		}
		if !gi {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// Materialise copies the files the engine would load into dst (which must
// not exist yet) and sizes them.
func (mc *ModuleContext) Materialise(ctx context.Context, dst string) (ContextStats, error) {
	var st ContextStats
	files, err := mc.Files(ctx)
	if err != nil {
		return st, err
	}
	for _, rel := range files {
		src, to := filepath.Join(mc.Root, rel), filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return st, err
		}
		fi, err := os.Lstat(src)
		if err != nil {
			return st, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err != nil {
				return st, err
			}
			if err := os.Symlink(target, to); err != nil {
				return st, err
			}
		} else if fi.Mode().IsRegular() {
			if err := copyFile(src, to, fi.Mode().Perm()); err != nil {
				return st, err
			}
			st.Bytes += fi.Size()
		} else {
			continue
		}
		st.Files++
	}
	return st, nil
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyTree copies a materialised context (regular files and symlinks).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(p, to, fi.Mode().Perm())
		}
		return nil
	})
}

// hostFS is the part of the engine's fsutil.FS its gitignore matcher uses:
// Open, for the .gitignore files.
type hostFS struct{ root string }

func (h hostFS) Open(p string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(h.root, p))
}

func (h hostFS) Walk(context.Context, string, fs.WalkDirFunc) error {
	return errors.New("schemagen: the gitignore matcher does not walk")
}
