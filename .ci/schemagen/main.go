// Command schemagen writes, without a Dagger engine, the GraphQL
// introspection a Dagger v0.21.8 engine serves to a module that depends on a
// Go module: the core API plus the dependency's types. `codegen
// generate-module --introspection-json-path` turns it into the depending
// module's bindings, as `dagger develop` would.
//
// It runs the Go SDK's own typedefs pass over the dependency's source (the
// pass needs an engine only to turn its builder calls into a module ID; a
// small in-memory fake answers those), then installs the typedefs into the
// core introspection following the engine's code. See README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dagger/dagger/cmd/codegen/introspection"
)

func main() {
	modDir := flag.String("module", "", "the dependency module's root (the directory of its dagger.json)")
	ctxDir := flag.String("context", "", "its context directory (default: -module)")
	as := flag.String("as", "", "the name the depending module gives it (default: its own name)")
	core := flag.String("core", "", "introspection JSON of the core API")
	out := flag.String("out", "", "where to write the merged introspection JSON")
	typedefs := flag.String("typedefs", "", "also write the module's typedefs here, as JSON (for review)")
	// The engine passes its SDK version, so the pass first runs `go get
	// dagger.io/dagger@<v> github.com/dagger/querybuilder`, which resolves
	// querybuilder's latest version: a module-list lookup some proxies
	// refuse. Modules whose go.mod already has querybuilder (all generated
	// ones) load without it, so it is off by default.
	libVersion := flag.String("lib-version", "", "if set, `go get` this dagger.io/dagger version in the scratch copy first, as the engine does")
	flag.Parse()
	if *modDir == "" || *core == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if *ctxDir == "" {
		*ctxDir = *modDir
	}
	if err := run(context.Background(), *modDir, *ctxDir, *as, *core, *out, *typedefs, *libVersion); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, modDir, ctxDir, as, corePath, outPath, typedefsPath, libVersion string) error {
	var cfg struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		SDK    struct {
			Source string `json:"source"`
		} `json:"sdk"`
		Include []string `json:"include"`
	}
	raw, err := os.ReadFile(filepath.Join(modDir, "dagger.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("dagger.json: %w", err)
	}
	if cfg.SDK.Source != "go" {
		return fmt.Errorf("dagger.json: only Go SDK modules are supported, not %q", cfg.SDK.Source)
	}
	// Paths in dagger.json are relative to it; the engine's are relative to
	// the context directory.
	rootRel, err := filepath.Rel(ctxDir, modDir)
	if err != nil {
		return err
	}
	srcSubpath := filepath.ToSlash(filepath.Join(rootRel, cfg.Source))
	var include []string
	for _, p := range cfg.Include {
		include = append(include, filepath.ToSlash(filepath.Join(rootRel, p)))
	}
	if as == "" {
		as = cfg.Name
	}

	coreJSON, err := os.ReadFile(corePath)
	if err != nil {
		return err
	}
	mod, err := moduleTypeDefs(ctx, ctxDir, srcSubpath, include, cfg.Name, libVersion, coreJSON)
	if err != nil {
		return err
	}
	if typedefsPath != "" {
		js, err := json.MarshalIndent(mod, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(typedefsPath, append(js, '\n'), 0o644); err != nil {
			return err
		}
	}

	var resp introspection.Response
	if err := json.Unmarshal(coreJSON, &resp); err != nil {
		return fmt.Errorf("core introspection: %w", err)
	}
	dep := Dependency{Name: as, OriginalName: cfg.Name, SourceSubpath: srcSubpath}
	if err := Install(resp.Schema, dep, mod); err != nil {
		return err
	}
	js, err := json.MarshalIndent(resp, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, append(js, '\n'), 0o644)
}
