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
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dagger/dagger/cmd/codegen/introspection"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check" {
		// The SDK's loader prints its debug timings to stdout, and codegen
		// logs every file it writes: the check's own lines are the output.
		out := os.Stdout
		if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			os.Stdout = null
		}
		slog.SetDefault(slog.New(slog.DiscardHandler))
		os.Exit(runCheck(context.Background(), os.Args[2:], out, os.Stderr))
	}
	modDir := flag.String("module", "", "the dependency module's root (the directory of its dagger.json)")
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
	if err := run(context.Background(), *modDir, *as, *core, *out, *typedefs, *libVersion); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, modDir, as, corePath, outPath, typedefsPath, libVersion string) error {
	mc, err := loadModuleContext(modDir)
	if err != nil {
		return err
	}
	if as == "" {
		as = mc.Config.Name
	}
	coreJSON, err := os.ReadFile(corePath)
	if err != nil {
		return err
	}
	mod, err := moduleTypeDefs(ctx, mc, libVersion, coreJSON)
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
	dep := Dependency{Name: as, OriginalName: mc.Config.Name, SourceSubpath: filepath.ToSlash(mc.SourceSubpath)}
	if err := Install(resp.Schema, dep, mod); err != nil {
		return err
	}
	js, err := json.MarshalIndent(resp, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, append(js, '\n'), 0o644)
}
