package main

// `schemagen check` replays, offline, what a v0.21.8 engine and CLI do with
// a Go module before any of its functions runs, and fails on what would
// break `dagger call`:
//  1. load the context the way the engine does (modcontext.go) and size it;
//  2. every local import of every Go file in it resolves inside it;
//  3. the SDK's typedefs pass (core/sdk/go_sdk.go: generate-typedefs on the
//     context without generated bindings) registers the module with the
//     stand-in engine; the CLI's rules apply to the result (cli.go);
//  4. the documented commands exist (docs.go);
//  5. the SDK's runtime build: codegen generate-module with its post
//     commands (go get dagger.io/dagger, go mod tidy), then
//     `go build -ldflags "-s -w" .` in the source folder.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dagger/dagger/cmd/codegen/generator"
	gogenerator "github.com/dagger/dagger/cmd/codegen/generator/go"
	"github.com/dagger/dagger/cmd/codegen/introspection"
	"golang.org/x/mod/modfile"
)

// CheckOptions configures Check.
type CheckOptions struct {
	ModDir     string // the module's root (its dagger.json)
	CoreJSON   []byte // the core API's introspection
	LibVersion string // dagger.io/dagger version the runtime build gets
	Docs       []string
	// Work is where the context is materialised; Check creates it.
	Work string
	// NoBuild skips the runtime build (codegen, tidy, go build).
	NoBuild bool
	// Log gets progress lines.
	Log io.Writer
}

// CheckResult is what Check found.
type CheckResult struct {
	Context  ContextStats
	Include  []string
	Usage    []string
	Commands int
	Problems []Problem
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schemagen check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modDir := fs.String("module", ".", "the module's root (the directory of its dagger.json)")
	core := fs.String("core", "", "introspection JSON of the core API")
	lib := fs.String("lib-version", "v0.21.8", "dagger.io/dagger version of the runtime build, as the engine passes it")
	docs := fs.String("docs", "", "comma-separated files (relative to -module) whose `dagger call` commands must be valid")
	keep := fs.String("work", "", "materialise the context here and keep it (default: a temporary folder)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *core == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	coreJSON, err := os.ReadFile(*core)
	if err != nil {
		fmt.Fprintln(stderr, "check-module:", err)
		return 2
	}
	work := *keep
	if work == "" {
		if work, err = os.MkdirTemp("", "check-module-"); err != nil {
			fmt.Fprintln(stderr, "check-module:", err)
			return 2
		}
		defer os.RemoveAll(work)
	}
	opts := CheckOptions{ModDir: *modDir, CoreJSON: coreJSON, LibVersion: *lib, Work: work, Log: stdout}
	if *docs != "" {
		opts.Docs = strings.Split(*docs, ",")
	}
	res, err := Check(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, "check-module:", err)
		return 2
	}
	if len(res.Problems) > 0 {
		fmt.Fprintf(stderr, "check-module: %d problem(s) would break the module on a v0.21.8 engine or CLI:\n", len(res.Problems))
		for _, p := range res.Problems {
			fmt.Fprintln(stderr, "  "+p.String())
		}
		return 1
	}
	fmt.Fprintln(stdout, "check-module: the module loads, and every function and documented command is callable")
	return 0
}

// Check runs every step; an error means the check itself could not run.
func Check(ctx context.Context, o CheckOptions) (*CheckResult, error) {
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "check-module: "+format+"\n", args...)
		}
	}
	mc, err := loadModuleContext(o.ModDir)
	if err != nil {
		return nil, err
	}
	res := &CheckResult{Include: mc.Include}
	ctxDir := filepath.Join(o.Work, "context")
	if res.Context, err = mc.Materialise(ctx, ctxDir); err != nil {
		return nil, fmt.Errorf("materialising the context: %w", err)
	}
	logf("module context: %d files, %d bytes (host.directory include: %s)", res.Context.Files, res.Context.Bytes, strings.Join(mc.Include, " "))

	// 2. Imports, with the file that makes each one needed.
	probs, err := missingImports(ctxDir, mc.SourceSubpath)
	if err != nil {
		return nil, err
	}
	res.Problems = append(res.Problems, probs...)

	// 3. Typedefs, on a pristine copy: the engine runs this pass on the
	// context as loaded, before the runtime build changes go.mod.
	tdDir := filepath.Join(o.Work, "typedefs")
	if err := copyTree(ctxDir, tdDir); err != nil {
		return nil, err
	}
	mod, tdErr := typeDefsIn(ctx, tdDir, mc.SourceSubpath, mc.Config.Name, "", o.CoreJSON)
	if tdErr != nil {
		res.Problems = append(res.Problems, Problem{"", "the SDK's typedefs pass failed: " + tdErr.Error()})
	} else {
		var resp introspection.Response
		if err := json.Unmarshal(o.CoreJSON, &resp); err != nil {
			return nil, fmt.Errorf("core introspection: %w", err)
		}
		model, err := newCLIModel(mod, mc.Config.Name, filepath.ToSlash(mc.SourceSubpath), resp.Schema)
		if err != nil {
			return nil, err
		}
		res.Problems = append(res.Problems, model.Problems()...)
		res.Usage = model.Usage()
		for _, u := range res.Usage {
			logf("%s", u)
		}
		// 4. Documented commands.
		var dp []Problem
		res.Commands, dp, err = model.CheckDocs(mc.Root, o.Docs)
		if err != nil {
			return nil, err
		}
		res.Problems = append(res.Problems, dp...)
		if len(o.Docs) > 0 {
			logf("%d documented dagger commands in %s", res.Commands, strings.Join(o.Docs, ", "))
		}
	}

	// 5. The runtime build.
	if o.NoBuild {
		return res, nil
	}
	if out, err := generateModule(ctx, ctxDir, mc, o.LibVersion, o.CoreJSON); err != nil {
		res.Problems = append(res.Problems, Problem{"", fmt.Sprintf("the SDK's codegen (generate-module, go mod tidy) failed in the context: %v\n%s", err, tail(out, 30))})
		return res, nil
	}
	logf("codegen and go mod tidy: ok")
	build := exec.CommandContext(ctx, "go", "build", "-ldflags", "-s -w", "-o", filepath.Join(o.Work, "runtime"), ".")
	build.Dir, build.Env = filepath.Join(ctxDir, mc.SourceSubpath), goEnv()
	if out, err := build.CombinedOutput(); err != nil {
		res.Problems = append(res.Problems, Problem{"", fmt.Sprintf("go build in the context failed: %v\n%s", err, tail(out, 30))})
	} else {
		logf("go build: ok")
	}
	return res, nil
}

// goEnv is the caller's environment without settings the engine's SDK
// container does not have (a workspace outside the context).
func goEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GOWORK=")
	})
}

func tail(out []byte, lines int) string {
	ls := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	for i := range ls {
		ls[i] = "    " + ls[i]
	}
	return strings.Join(ls, "\n")
}

// generateModule is `codegen generate-module` (cmd/codegen/codegen.go
// Generate) on the context: the generator's passes, each overlaid, with
// its post commands run in the module's source folder.
func generateModule(ctx context.Context, ctxDir string, mc *ModuleContext, libVersion string, coreJSON []byte) ([]byte, error) {
	var resp introspection.Response
	if err := json.Unmarshal(coreJSON, &resp); err != nil {
		return nil, fmt.Errorf("core introspection: %w", err)
	}
	generator.SetSchemaParents(resp.Schema)
	parent, err := filepath.Rel(mc.SourceSubpath, ".")
	if err != nil {
		return nil, err
	}
	// The engine removes the committed bindings first.
	srcDir := filepath.Join(ctxDir, mc.SourceSubpath)
	for _, p := range []string{"dagger.gen.go", "internal"} {
		if err := os.RemoveAll(filepath.Join(srcDir, p)); err != nil {
			return nil, err
		}
	}
	g := &gogenerator.GoGenerator{Config: generator.Config{
		Lang:              generator.SDKLangGo,
		OutputDir:         ctxDir,
		IntrospectionJSON: string(coreJSON),
		ModuleConfig: &generator.ModuleGeneratorConfig{
			ModuleName:       mc.Config.Name,
			ModuleSourcePath: mc.SourceSubpath,
			ModuleParentPath: parent,
			LibVersion:       libVersion,
		},
	}}
	var out bytes.Buffer
	for pass := 0; ; pass++ {
		if pass > 5 {
			return out.Bytes(), fmt.Errorf("module generation did not settle")
		}
		st, err := g.GenerateModule(ctx, resp.Schema, resp.SchemaVersion)
		if err != nil {
			return out.Bytes(), err
		}
		if err := generator.Overlay(ctx, st.Overlay, ctxDir); err != nil {
			return out.Bytes(), err
		}
		for _, cmd := range st.PostCommands {
			if cmd.Dir == "" {
				cmd.Dir = srcDir
			}
			cmd.Env = goEnv()
			cmd.Stdout, cmd.Stderr = &out, &out
			fmt.Fprintf(&out, "$ %s\n", strings.Join(cmd.Args, " "))
			if err := cmd.Run(); err != nil {
				return out.Bytes(), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
			}
		}
		if !st.NeedRegenerate {
			return out.Bytes(), nil
		}
	}
}

// missingImports finds Go files in the context that import a package of a
// module whose go.mod is in the context (or that a replace points into it)
// when the package's folder has no Go files there: go mod tidy would look
// for it on the module proxy and fail. Tidy reads test files too, of the
// main module and of replaced local modules, and files of every build tag
// but ignore.
func missingImports(ctxDir, srcSubpath string) ([]Problem, error) {
	mods := map[string]string{} // module path → folder, relative to ctxDir
	var goFiles []string
	err := filepath.WalkDir(ctxDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ctxDir, p)
		if d.IsDir() {
			if n := d.Name(); rel != "." && rel != srcSubpath && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, "_") || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.Name() == "go.mod":
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if path := modfile.ModulePath(data); path != "" {
				mods[path] = filepath.Dir(rel)
			}
		case strings.HasSuffix(d.Name(), ".go"):
			goFiles = append(goFiles, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var probs []Problem
	// The source folder's replaces must land on a go.mod in the context.
	if data, err := os.ReadFile(filepath.Join(ctxDir, srcSubpath, "go.mod")); err == nil {
		mf, err := modfile.ParseLax("go.mod", data, nil)
		if err != nil {
			return nil, err
		}
		for _, r := range mf.Replace {
			if !modfile.IsDirectoryPath(r.New.Path) {
				continue
			}
			dir := filepath.Join(srcSubpath, r.New.Path)
			if _, err := os.Stat(filepath.Join(ctxDir, dir, "go.mod")); err != nil {
				probs = append(probs, Problem{filepath.Join(srcSubpath, "go.mod"), fmt.Sprintf(
					"replace %s => %s: the context has no %s (add it to dagger.json's include)", r.Old.Path, r.New.Path, filepath.Join(dir, "go.mod"))})
			}
		}
	}
	hasGo := map[string]bool{}
	for _, f := range goFiles {
		hasGo[filepath.Dir(f)] = true
	}
	fset := token.NewFileSet()
	for _, f := range goFiles {
		file, err := parser.ParseFile(fset, filepath.Join(ctxDir, f), nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if ignoredFile(file.Comments) {
			continue
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			dir, ok := localPackageDir(mods, path)
			if !ok || hasGo[dir] {
				continue
			}
			probs = append(probs, Problem{fmt.Sprintf("%s:%d", filepath.ToSlash(f), fset.Position(imp.Pos()).Line), fmt.Sprintf(
				"imports %s, whose folder %s is not in the module's context: add it to dagger.json's include, or exclude this file (e.g. \"!**/*_test.go\")",
				path, filepath.ToSlash(dir))})
		}
	}
	return probs, nil
}

// localPackageDir maps an import path to its folder in the context when its
// module is there (the longest matching module path wins).
func localPackageDir(mods map[string]string, path string) (string, bool) {
	best := ""
	for m := range mods {
		if (path == m || strings.HasPrefix(path, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best == "" {
		return "", false
	}
	return filepath.Join(mods[best], strings.TrimPrefix(strings.TrimPrefix(path, best), "/")), true
}

// ignoredFile is a `//go:build ignore` file, which tidy skips (it takes
// every other tag and its negation as satisfied).
func ignoredFile(comments []*ast.CommentGroup) bool {
	for _, g := range comments {
		for _, c := range g.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if tag, ok := expr.(*constraint.TagExpr); err == nil && ok && tag.Tag == "ignore" {
				return true
			}
		}
	}
	return false
}
